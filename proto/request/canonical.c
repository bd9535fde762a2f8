/*
 * canonical.c - the canonical form of a request, its ETag, and the entity-tag
 * conditions of RFC 9110 (If-None-Match, If-Range).
 *
 * The canonical form is the query string that asks for exactly the same
 * bytes with every parameter spelled out and resolved: defaults written,
 * the server-drawn seed included, the gain in its canonical text, the fans
 * as used, a shard as the slice it resolves to (and no slice at all when the
 * part is the whole tensor). Equal canonical forms mean equal bytes, so a
 * hash of it (with the algorithm's frozen version and the encoders' layout
 * version) is a strong ETag that costs nothing to compute: no tensor byte is
 * generated to answer a conditional request.
 */
#include "base/text_internal.h"
#include "glorot_proto.h"
#include "request/request_internal.h"

#include <sodium.h>
#include <string.h>

/* Bump when any encoder's bytes change for the same request (a header
 * layout, a metadata key): every ETag changes with it, so no cache can pair
 * an old body with a new ETag. 2: safetensors metadata gained "format":"pt". */
#define ETAG_LAYOUT "glorotd-etag-2"
#define ETAG_BYTES 16

static int keep_plain(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == ',' || c == ':';
}

static void put_escaped(gpi_text *t, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0;
    while (i < n) {
        size_t plain = i;
        while (plain < n && keep_plain((unsigned char)s[plain]))
            plain++;
        gpi_text_mem(t, s + i, plain - i); /* a run of plain bytes in one copy */
        if (plain == n)
            return;
        unsigned char c = (unsigned char)s[plain];
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
        gpi_text_mem(t, esc, sizeof esc);
        i = plain + 1;
    }
}

static void put_key(gpi_text *t, const char *key)
{
    if (t->len > 0)
        gpi_text_str(t, "&");
    gpi_text_str(t, key);
    gpi_text_str(t, "=");
}

static void put_text(gpi_text *t, const char *key, const char *value, size_t n)
{
    put_key(t, key);
    put_escaped(t, value, n);
}

static void put_str(gpi_text *t, const char *key, const char *value)
{
    put_text(t, key, value, strlen(value));
}

static void put_u64(gpi_text *t, const char *key, uint64_t value)
{
    put_key(t, key);
    gpi_text_u64(t, value);
}

static void put_shape(gpi_text *t, const gp_request *r)
{
    put_key(t, "shape");
    gpi_text_shape(t, r->shape, r->rank, GPI_SHAPE_PLAIN);
}

static void put_slice(gpi_text *t, const gp_request *r)
{
    char part[GP_PART_TEXT_MAX];
    size_t n = gp_part_text(r, part, sizeof part);
    put_text(t, "slice", part, n);
}

/* An initializer's own parameter, when it takes key. */
static void put_param(gpi_text *t, const gp_request *r, const char *key)
{
    char text[GPI_PARAM_TEXT_MAX];
    if (gpi_init_param_text(r, key, text))
        put_str(t, key, text);
}

/* Keys in alphabetical order. glorot_uniform, the first initializer, leaves
 * `init` out, so its forms (and ETags) are those it always had. */
static void build(gpi_text *t, const gp_request *r)
{
    int fans = gpi_init_has_fans(r);
    put_param(t, r, "a");
    put_str(t, "algorithm", gp_algorithm_name(r->algorithm));
    put_param(t, r, "b");
    if (r->algorithm == GP_ALG_MLX_SEEDED)
        put_u64(t, "call", r->call);
    put_str(t, "dtype", gp_dtype_name(r->dtype));
    if (fans) {
        put_str(t, "fan", gp_fan_name(r->fan));
        put_u64(t, "fan_in", r->fan_in);
        put_u64(t, "fan_out", r->fan_out);
    }
    put_str(t, "format", gp_format_name(r->format));
    put_param(t, r, "gain");
    put_param(t, r, "high");
    if (strcmp(r->init_as, "glorot_uniform") != 0)
        put_str(t, "init", r->init_as);
    put_param(t, r, "low");
    put_param(t, r, "mean");
    put_param(t, r, "mode");
    put_text(t, "name", r->name, r->name_len);
    put_u64(t, "seed", r->seed);
    put_shape(t, r);
    if (r->partial)
        put_slice(t, r);
    put_param(t, r, "std");
    put_param(t, r, "value");
}

gp_code gp_canonical(const gp_request *r, char *out, size_t size, gp_error *err)
{
    if (!r->finished || !r->seed_set)
        return gp_fail(err, GP_EINTERNAL, "",
                       "canonical form of a request that is not finished or has no seed");
    gpi_text t;
    gpi_text_init(&t, out, size);
    build(&t, r);
    gpi_text_mem(&t, "", 1);
    if (t.overflow)
        return gp_fail(err, GP_EINTERNAL, "", "canonical form does not fit in %zu bytes", size);
    return GP_OK;
}

gp_code gp_etag(const gp_request *r, const char *canonical, char out[GP_ETAG_MAX], gp_error *err)
{
    char own[GP_CANONICAL_MAX];
    const char *text = canonical;
    if (text == NULL) {
        gp_code rc = gp_canonical(r, own, sizeof own, err);
        if (rc != GP_OK)
            return rc;
        text = own;
    }
    unsigned char hash[ETAG_BYTES];
    crypto_generichash_state st;
    char version[24];
    gpi_text v;
    gpi_text_init(&v, version, sizeof version);
    gpi_text_u64(&v, (unsigned)gp_algorithm_version(r->algorithm));
    crypto_generichash_init(&st, NULL, 0, sizeof hash);
    crypto_generichash_update(&st, (const unsigned char *)ETAG_LAYOUT "\n", sizeof ETAG_LAYOUT);
    crypto_generichash_update(&st, (const unsigned char *)gp_algorithm_name(r->algorithm),
                              strlen(gp_algorithm_name(r->algorithm)));
    crypto_generichash_update(&st, (const unsigned char *)" ", 1);
    crypto_generichash_update(&st, (const unsigned char *)version, v.len);
    crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
    crypto_generichash_update(&st, (const unsigned char *)text, strlen(text));
    crypto_generichash_final(&st, hash, sizeof hash);
    out[0] = '"';
    sodium_bin2hex(out + 1, 2 * ETAG_BYTES + 1, hash, sizeof hash);
    out[1 + 2 * ETAG_BYTES] = '"';
    out[2 + 2 * ETAG_BYTES] = '\0';
    return GP_OK;
}

/* ---- conditions ------------------------------------------------------------------ */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* etagc = "!" / %x23-7E / obs-text (RFC 9110 8.8.3) */
static int is_etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/* One entity-tag at s[*i..): [W/] DQUOTE *etagc DQUOTE. On success *i is
 * past it and [*tag, *tag + *tag_len) is the quoted opaque tag. 0 or -1. */
static int entity_tag(const char *s, size_t n, size_t *i, const char **tag, size_t *tag_len,
                      int *weak)
{
    size_t p = *i;
    *weak = n - p >= 2 && s[p] == 'W' && s[p + 1] == '/';
    if (*weak)
        p += 2;
    if (p >= n || s[p] != '"')
        return -1;
    size_t start = p++;
    while (p < n && is_etagc((unsigned char)s[p]))
        p++;
    if (p >= n || s[p] != '"')
        return -1;
    p++;
    *tag = s + start;
    *tag_len = p - start;
    *i = p;
    return 0;
}

static size_t skip_ows(const char *s, size_t n, size_t i)
{
    while (i < n && is_ows(s[i]))
        i++;
    return i;
}

int gp_etag_none_match(const char *value, size_t len, const char *etag)
{
    if (value == NULL)
        return 0;
    size_t i = skip_ows(value, len, 0), want = strlen(etag);
    while (len > i && is_ows(value[len - 1]))
        len--;
    if (len - i == 1 && value[i] == '*')
        return 1;
    int found = 0, any = 0;
    while (i < len) {
        const char *tag;
        size_t tag_len;
        int weak;
        if (value[i] == ',') { /* empty list element */
            i = skip_ows(value, len, i + 1);
            continue;
        }
        if (entity_tag(value, len, &i, &tag, &tag_len, &weak) != 0)
            return 0;
        any = 1;
        found |= tag_len == want && memcmp(tag, etag, want) == 0;
        i = skip_ows(value, len, i);
        if (i < len && value[i] != ',')
            return 0;
    }
    return any && found;
}

int gp_etag_if_range(const char *value, size_t len, const char *etag)
{
    if (value == NULL)
        return 0;
    size_t i = skip_ows(value, len, 0), want = strlen(etag);
    while (len > i && is_ows(value[len - 1]))
        len--;
    return len - i == want && memcmp(value + i, etag, want) == 0;
}
