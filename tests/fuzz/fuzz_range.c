/*
 * fuzz_range.c - the Range header parser and the If-None-Match / If-Range
 * matchers. The first 8 bytes give the body size (small sizes favoured), the
 * rest is the header value.
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char etag[] = "\"0123456789abcdef0123456789abcdef\"";

static void check_range(const char *v, size_t n, uint64_t body)
{
    uint64_t first = 7, last = 7;
    switch (gp_range_parse(v, n, body, &first, &last)) {
    case GP_RANGES_ONE:
        FZ_CHECK(first <= last && last < body);
        break;
    case GP_RANGES_MANY:
        FZ_CHECK(body > 0);
        break;
    case GP_RANGES_UNSATISFIABLE:
    case GP_RANGES_IGNORE:
        break;
    default:
        fz_fail("gp_range_parse: unknown result");
    }
}

/* The matchers: If-Range is true only for the exact strong tag between
 * optional spaces; If-None-Match is true for "*" and for the tag itself. */
static void check_matchers(const char *v, size_t n)
{
    size_t a = 0, b = n;
    while (a < b && (v[a] == ' ' || v[a] == '\t'))
        a++;
    while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
        b--;
    int exact = b - a == sizeof etag - 1 && memcmp(v + a, etag, b - a) == 0;
    int if_range = gp_etag_if_range(v, n, etag);
    FZ_CHECK(if_range == 0 || if_range == 1);
    FZ_CHECK(!if_range || exact);
    int none = gp_etag_none_match(v, n, etag);
    FZ_CHECK(none == 0 || none == 1);
    if (exact || (b - a == 1 && v[a] == '*'))
        FZ_CHECK(none == 1);
    FZ_CHECK(gp_etag_if_range(etag, sizeof etag - 1, etag) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t body = 0;
    for (int i = 0; i < 8; i++)
        body = body << 8 | data[i];
    if (data[0] < 0xf0)
        body %= 4096; /* mostly small bodies, where ranges clamp and overlap */
    const char *v = (const char *)data + 8;
    size_t n = size - 8 > FZ_MAX_INPUT ? FZ_MAX_INPUT : size - 8;
    check_range(v, n, body);
    check_matchers(v, n);
    return 0;
}
