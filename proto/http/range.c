/*
 * range.c - the HTTP Range header (RFC 9110 14.1.2) against a body of known
 * size. Pure: a buffer and a length in, a verdict out.
 *
 *   Range = range-unit "=" range-set          unit "bytes", any letter case
 *   range-set = 1#range-spec                  OWS around commas, empty elements ok
 *   range-spec = first-pos "-" [ last-pos ]  /  "-" suffix-length
 *
 * Anything else (another unit, a malformed spec, last-pos < first-pos) makes
 * the whole header invalid, and an invalid Range is ignored (RFC 9110 14.2:
 * the whole body is sent). Numbers saturate at 2^64-1, which is past the end
 * of any body, so a huge first-pos is simply unsatisfiable.
 */
#include "glorot_proto.h"

#include <string.h>

typedef struct {
    int suffix;    /* "-n" */
    int has_last;  /* "a-b" rather than "a-" */
    uint64_t a, b; /* first-pos and last-pos, or the suffix length in a */
} range_spec;

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits at s[*i..), at least one, saturating. 0 or -1. */
static int digits(const char *s, size_t n, size_t *i, uint64_t *out)
{
    uint64_t v = 0;
    size_t start = *i;
    for (; *i < n && is_digit(s[*i]); (*i)++) {
        uint64_t d = (uint64_t)(s[*i] - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    return *i > start ? 0 : -1;
}

/* One non-empty list element (already trimmed). 0 or -1 (invalid). */
static int parse_spec(const char *s, size_t n, range_spec *r)
{
    size_t i = 0;
    memset(r, 0, sizeof *r);
    if (s[0] == '-') {
        i = 1;
        r->suffix = 1;
        return digits(s, n, &i, &r->a) == 0 && i == n ? 0 : -1;
    }
    if (digits(s, n, &i, &r->a) != 0 || i == n || s[i] != '-')
        return -1;
    i++;
    if (i == n)
        return 0;
    r->has_last = 1;
    if (digits(s, n, &i, &r->b) != 0 || i != n || r->b < r->a)
        return -1;
    return 0;
}

/* The bytes spec selects of a body of size bytes; 0, or -1 when none. */
static int satisfy(const range_spec *r, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (size == 0)
        return -1;
    if (r->suffix) {
        if (r->a == 0)
            return -1;
        *first = r->a < size ? size - r->a : 0;
        *last = size - 1;
        return 0;
    }
    if (r->a >= size)
        return -1;
    *first = r->a;
    *last = r->has_last && r->b < size - 1 ? r->b : size - 1;
    return 0;
}

static int is_bytes_unit(const char *s, size_t n)
{
    static const char unit[] = "bytes";
    if (n != sizeof unit - 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
        if (c != unit[i])
            return 0;
    }
    return 1;
}

typedef struct {
    size_t specs, satisfiable;
    uint64_t first, last; /* of the last satisfiable spec */
} range_scan;

/* Every list element of the range set [p, end). 0, or -1 when one is invalid. */
static int scan_set(const char *p, const char *end, uint64_t size, range_scan *sc)
{
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        while (p < stop && is_ows(*p))
            p++;
        size_t n = (size_t)(stop - p);
        while (n > 0 && is_ows(p[n - 1]))
            n--;
        range_spec r;
        if (n > 0 && parse_spec(p, n, &r) != 0)
            return -1;
        if (n > 0)
            sc->specs++;
        if (n > 0 && satisfy(&r, size, &sc->first, &sc->last) == 0)
            sc->satisfiable++;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

gp_ranges gp_range_parse(const char *value, size_t len, uint64_t size, uint64_t *first,
                         uint64_t *last)
{
    if (value == NULL)
        return GP_RANGES_IGNORE;
    while (len > 0 && is_ows(value[0])) {
        value++;
        len--;
    }
    while (len > 0 && is_ows(value[len - 1]))
        len--;
    const char *eq = len > 0 ? memchr(value, '=', len) : NULL;
    if (eq == NULL || !is_bytes_unit(value, (size_t)(eq - value)))
        return GP_RANGES_IGNORE;
    range_scan sc = {0, 0, 0, 0};
    if (scan_set(eq + 1, value + len, size, &sc) != 0 || sc.specs == 0)
        return GP_RANGES_IGNORE;
    if (sc.satisfiable == 0)
        return GP_RANGES_UNSATISFIABLE;
    if (sc.specs > 1)
        return GP_RANGES_MANY;
    *first = sc.first;
    *last = sc.last;
    return GP_RANGES_ONE;
}
