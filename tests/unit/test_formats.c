/*
 * test_formats.c - the body encoders (npy, safetensors, json), the shortest
 * decimals behind json, Accept negotiation and download file names.
 *
 * Expected npy headers come from numpy 1.24 (np.lib.format); the decimal
 * checks use their own exact rounding-interval test, not the code under test.
 */
#include "format/body_internal.h"
#include "format/format_internal.h"
#include "glorot_proto.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------- */

static void set(gp_request *r, const char *key, const char *value)
{
    gp_error err = {0};
    gp_code rc = gp_request_set(r, key, strlen(key), value, strlen(value), &err);
    cr_assert_eq(rc, GP_OK, "%s=%s: %s", key, value, err.message);
}

/* A finished request; extra is "key=value" pairs separated by '&' (or ""). */
static void make_req(gp_request *r, const char *shape, const char *dtype, const char *format,
                     const char *extra)
{
    gp_request_init(r);
    set(r, "shape", shape);
    set(r, "dtype", dtype);
    set(r, "format", format);
    char copy[256];
    snprintf(copy, sizeof copy, "%s", extra);
    for (char *kv = copy; *kv != '\0';) {
        char *amp = strchr(kv, '&');
        if (amp != NULL)
            *amp = '\0';
        char *eq = strchr(kv, '=');
        cr_assert_not_null(eq);
        *eq = '\0';
        set(r, kv, eq + 1);
        kv = amp != NULL ? amp + 1 : kv + strlen(kv);
    }
    if (!r->seed_set)
        gp_request_set_seed(r, 42);
    gp_error err = {0};
    cr_assert_eq(gp_request_finish(r, NULL, &err), GP_OK, "%s", err.message);
}

static void make_body(gp_body *b, const char *shape, const char *dtype, const char *format,
                      const char *extra)
{
    gp_request r;
    make_req(&r, shape, dtype, format, extra);
    gp_error err = {0};
    cr_assert_eq(gp_body_init(b, &r, &err), GP_OK, "%s", err.message);
}

/* The whole body, read sequentially chunk bytes at a time (malloc, NUL-terminated). */
static char *read_all(gp_body *b, size_t chunk, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap + 1);
    char *buf = malloc(chunk);
    cr_assert(out != NULL && buf != NULL);
    size_t got;
    while ((got = gp_body_read(b, n, buf, chunk)) > 0) {
        if (n + got > cap) {
            cap *= 2;
            out = realloc(out, cap + 1);
            cr_assert_not_null(out);
        }
        memcpy(out + n, buf, got);
        n += got;
    }
    free(buf);
    out[n] = '\0';
    *len = n;
    return out;
}

static uint64_t le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ---- npy ----------------------------------------------------------------- */

struct npy_case {
    char shape[48];
    char dtype[12];
    char dict[200]; /* numpy's dict text, before padding */
    size_t total;   /* numpy's whole header length */
};

static struct npy_case npy_cases[] = {
    {"256,512", "float32", "{'descr': '<f4', 'fortran_order': False, 'shape': (256, 512), }", 128},
    {"3,4", "float16", "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 4), }", 128},
    {"2,3,4", "float64", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4), }", 128},
    {"1,2,3,4", "bfloat16", "{'descr': '<V2', 'fortran_order': False, 'shape': (1, 2, 3, 4), }",
     128},
    {"7,1,1,1,1", "float32", "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 1, 1, 1, 1), }",
     128},
    {"2,2,2,2,2,2", "float16",
     "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2, 2, 2, 2, 2), }", 128},
    {"10,20,30,40,50,60,70", "float32",
     "{'descr': '<f4', 'fortran_order': False, 'shape': (10, 20, 30, 40, 50, 60, 70), }", 128},
    {"1,1,1,1,1,1,1,1", "float64",
     "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1), }", 128},
    {"4294967296,1000", "float32",
     "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 1000), }", 128},
    {"2305843009213693951,1", "float64",
     "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693951, 1), }", 128},
    {"1,2305843009213693951", "float64",
     "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2305843009213693951), }", 128},
};

static void check_npy(const gp_body *b, const char *dict, size_t total)
{
    const unsigned char *h = b->header;
    size_t dl = strlen(dict);
    cr_assert_eq(b->header_len, total);
    cr_assert_eq(total % 64, 0);
    cr_assert_eq(memcmp(h, "\x93NUMPY\x01\x00", 8), 0, "magic and version 1.0");
    cr_assert_eq(le(h + 8, 2), total - 10, "length field");
    cr_assert_eq(memcmp(h + 10, dict, dl), 0, "dict: %.*s", (int)dl, (const char *)h + 10);
    for (size_t i = 10 + dl; i < total - 1; i++)
        cr_assert_eq(h[i], ' ', "padding byte %zu", i);
    cr_assert_eq(h[total - 1], '\n');
    /* MLX's loader reads the descr at dict[11..14) and 'T'/'F' at dict[34]. */
    cr_assert_eq(memcmp(h + 10 + 11, dict + 11, 3), 0);
    cr_assert_eq(h[10 + 34], 'F');
}

ParameterizedTestParameters(npy, header)
{
    return cr_make_param_array(struct npy_case, npy_cases, sizeof npy_cases / sizeof npy_cases[0]);
}

ParameterizedTest(struct npy_case *c, npy, header)
{
    gp_body b;
    make_body(&b, c->shape, c->dtype, "npy", "");
    check_npy(&b, c->dict, c->total);
    cr_assert_eq(b.data_offset, c->total);
    cr_assert_eq(gp_body_size(&b), c->total + b.req.nbytes);
}

/* Shapes the request parser does not allow (rank 1, huge ranks), built by hand
 * (the header describes out_shape: the part of the tensor that is sent). */
Test(npy, header_hand_built)
{
    static gp_body b;
    memset(&b, 0, sizeof b);
    b.req.dtype = GP_FLOAT16;
    b.req.rank = 1;
    b.req.out_shape[0] = 3;
    cr_assert_eq(gpi_npy_header(&b, NULL), GP_OK);
    check_npy(&b, "{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }", 128);

    memset(&b, 0, sizeof b);
    b.req.dtype = GP_FLOAT32;
    b.req.rank = 8;
    for (size_t i = 0; i < 8; i++)
        b.req.out_shape[i] = UINT64_MAX;
    cr_assert_eq(gpi_npy_header(&b, NULL), GP_OK);
    check_npy(&b,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, "
              "18446744073709551615, 18446744073709551615, 18446744073709551615, "
              "18446744073709551615, 18446744073709551615, 18446744073709551615, "
              "18446744073709551615), }",
              256);

    memset(&b, 0, sizeof b);
    b.req.dtype = GP_FLOAT64;
    b.req.rank = 8;
    for (size_t i = 0; i < 8; i++)
        b.req.out_shape[i] = 123456789012u;
    cr_assert_eq(gpi_npy_header(&b, NULL), GP_OK);
    check_npy(&b,
              "{'descr': '<f8', 'fortran_order': False, 'shape': (123456789012, 123456789012, "
              "123456789012, 123456789012, 123456789012, 123456789012, 123456789012, "
              "123456789012), }",
              192);

    /* dict + '\n' already ends on a multiple of 64: numpy still pads 64 spaces */
    memset(&b, 0, sizeof b);
    b.req.dtype = GP_FLOAT32;
    b.req.rank = 6;
    b.req.out_shape[0] = 1;
    for (size_t i = 1; i < 6; i++)
        b.req.out_shape[i] = 9999999999999999999u;
    cr_assert_eq(gpi_npy_header(&b, NULL), GP_OK);
    check_npy(&b,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 9999999999999999999, "
              "9999999999999999999, 9999999999999999999, 9999999999999999999, "
              "9999999999999999999), }",
              256);
}

Test(npy, body_is_header_then_raw)
{
    gp_body npy, raw;
    make_body(&npy, "5,7", "bfloat16", "npy", "seed=9");
    make_body(&raw, "5,7", "bfloat16", "raw", "seed=9");
    size_t nl, rl;
    char *n = read_all(&npy, 13, &nl);
    char *r = read_all(&raw, 13, &rl);
    cr_assert_eq(nl, 128 + rl);
    cr_assert_eq(memcmp(n + 128, r, rl), 0);
    free(n);
    free(r);
}

/* ---- safetensors ------------------------------------------------------------ */

static const char *st_text(const gp_body *b, size_t *n)
{
    *n = (size_t)le(b->header, 8);
    cr_assert_eq(b->header_len, 8 + *n);
    cr_assert_eq(*n % 8, 0, "header padded to a multiple of 8");
    cr_assert_eq(b->header[8], '{');
    return (const char *)b->header + 8;
}

/* The JSON text without the padding, which must be spaces after the final '}'. */
static void st_expect(const gp_body *b, const char *expected)
{
    size_t n;
    const char *t = st_text(b, &n);
    size_t el = strlen(expected);
    cr_assert(el <= n && n - el < 8, "json %zu bytes, header %zu", el, n);
    cr_assert_eq(memcmp(t, expected, el), 0, "got %.*s", (int)n, t);
    for (size_t i = el; i < n; i++)
        cr_assert_eq(t[i], ' ');
}

Test(safetensors, header_exact)
{
    gp_body b;
    make_body(&b, "2,3", "float32", "safetensors", "seed=42");
    char limit[40];
    snprintf(limit, sizeof limit, "%.17g", b.req.limit);
    char expected[1024];
    snprintf(expected, sizeof expected,
             "{\"__metadata__\":{\"format\":\"pt\",\"seed\":\"42\",\"algorithm\":\"chacha20\","
             "\"version\":\"1\","
             "\"gain\":\"1\",\"limit\":\"%s\",\"fan_in\":\"3\",\"fan_out\":\"2\",\"fan\":\"mlx\","
             "\"dtype\":\"float32\",\"generator\":\"glorotd\"},"
             "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}",
             limit);
    st_expect(&b, expected);
    cr_assert_eq(gp_body_size(&b), b.header_len + 24);
}

struct st_case {
    char shape[32];
    char dtype[12];
    char extra[96];
    char tensor[200]; /* expected text after the metadata's "}," */
};

static struct st_case st_cases[] = {
    {"4,4", "float16", "name=w",
     "\"w\":{\"dtype\":\"F16\",\"shape\":[4,4],\"data_offsets\":[0,32]}}"},
    {"3,5,7", "bfloat16", "name=layers.0.attn",
     "\"layers.0.attn\":{\"dtype\":\"BF16\",\"shape\":[3,5,7],\"data_offsets\":[0,210]}}"},
    {"2,2", "float64", "name=a\"b\\c/\xc3\xa9\xf0\x9f\x98\x80",
     "\"a\\\"b\\\\c/\xc3\xa9\xf0\x9f\x98\x80\":{\"dtype\":\"F64\",\"shape\":[2,2],"
     "\"data_offsets\":[0,32]}}"},
    {"1,1,1,1,1,1,1,9", "float32", "",
     "\"weight\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,9],\"data_offsets\":[0,36]}}"},
};

ParameterizedTestParameters(safetensors, tensor_entry)
{
    return cr_make_param_array(struct st_case, st_cases, sizeof st_cases / sizeof st_cases[0]);
}

ParameterizedTest(struct st_case *c, safetensors, tensor_entry)
{
    gp_body b;
    make_body(&b, c->shape, c->dtype, "safetensors", c->extra);
    size_t n;
    const char *t = st_text(&b, &n);
    const char *end = memchr(t, '}', n); /* metadata values hold no '}' */
    cr_assert_not_null(end);
    size_t tl = strlen(c->tensor);
    cr_assert_eq(end[1], ',');
    cr_assert_eq(memcmp(end + 2, c->tensor, tl), 0, "got %.*s", (int)n, t);
    for (const char *p = end + 2 + tl; p < t + n; p++)
        cr_assert_eq(*p, ' ');
}

Test(safetensors, mlx_seeded_records_call)
{
    gp_body b;
    make_body(&b, "8,8", "float16", "safetensors", "algorithm=mlx-seeded&call=3&seed=5");
    size_t n;
    const char *t = st_text(&b, &n);
    char copy[GP_HEADER_MAX + 1];
    memcpy(copy, t, n);
    copy[n] = '\0';
    cr_assert_not_null(
        strstr(copy, "\"algorithm\":\"mlx-seeded\",\"version\":\"1\",\"call\":\"3\","), "%s", copy);
}

Test(safetensors, reserved_name)
{
    gp_request r;
    make_req(&r, "2,2", "float32", "safetensors", "name=__metadata__");
    gp_body b;
    gp_error err = {0};
    cr_assert_eq(gp_body_init(&b, &r, &err), GP_EPARAM);
    cr_assert_str_eq(err.param, "name");
    cr_assert_not_null(strstr(err.message, "__metadata__"));
    make_req(&r, "2,2", "float32", "safetensors", "name=__metadata__x");
    cr_assert_eq(gp_body_init(&b, &r, NULL), GP_OK);
}

/* ---- JSON string escaping ---------------------------------------------------- */

struct esc_case {
    char in[16];
    size_t in_len;
    char out[48]; /* "" = GP_EPARAM */
};

static struct esc_case esc_cases[] = {
    {"plain", 5, "\"plain\""},
    {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
    {"\n\r\t\x01\x1f\x7f", 6, "\"\\n\\r\\t\\u0001\\u001f\\u007f\""},
    {"a\0b", 3, "\"a\\u0000b\""},
    {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
    {"\xc0\x80", 2, ""},         /* overlong NUL */
    {"\xed\xa0\x80", 3, ""},     /* surrogate */
    {"\xf4\x90\x80\x80", 4, ""}, /* above U+10FFFF */
    {"\xe2\x82", 2, ""},         /* truncated */
    {"\x80", 1, ""},             /* lone continuation */
    {"\xff", 1, ""},
};

ParameterizedTestParameters(json_string, escape)
{
    return cr_make_param_array(struct esc_case, esc_cases, sizeof esc_cases / sizeof esc_cases[0]);
}

ParameterizedTest(struct esc_case *c, json_string, escape)
{
    unsigned char mem[64];
    gpi_text t;
    gpi_text_init(&t, mem, sizeof mem);
    gp_error err = {0};
    gp_code rc = gpi_text_json_string(&t, c->in, c->in_len, "name", &err);
    if (c->out[0] == '\0') {
        cr_assert_eq(rc, GP_EPARAM);
        cr_assert_str_eq(err.param, "name");
        return;
    }
    cr_assert_eq(rc, GP_OK);
    cr_assert_eq(t.len, strlen(c->out));
    cr_assert_eq(memcmp(mem, c->out, t.len), 0, "got %.*s", (int)t.len, (char *)mem);
}

Test(json_string, bounded)
{
    unsigned char mem[8];
    gpi_text t;
    gpi_text_init(&t, mem, sizeof mem);
    cr_assert_eq(gpi_text_json_string(&t, "abcdefgh", 8, "name", NULL), GP_OK);
    cr_assert(t.overflow);
    cr_assert_leq(t.len, sizeof mem);
}

/* ---- exact rounding intervals (independent of format_number.c) ------------- */

typedef struct {
    unsigned e_bits, m_bits;
} small_fmt;

static const small_fmt F16 = {5, 10}, BF16 = {8, 7};

/* Value of a positive finite pattern. */
static double small_value(uint16_t h, small_fmt f)
{
    int bias = (1 << (f.e_bits - 1)) - 1;
    unsigned e = h >> f.m_bits, m = h & ((1u << f.m_bits) - 1);
    if (e == 0)
        return ldexp(m, 1 - bias - (int)f.m_bits);
    return ldexp((double)((1u << f.m_bits) + m), (int)e - bias - (int)f.m_bits);
}

/* Does d round (to nearest, ties to even) to pattern h? h finite, nonzero. */
static int rounds_to(uint16_t h, double d, small_fmt f)
{
    unsigned sign_shift = f.e_bits + f.m_bits;
    uint16_t mag = h & (uint16_t)((1u << sign_shift) - 1);
    uint16_t inf = (uint16_t)(((1u << f.e_bits) - 1) << f.m_bits);
    if (d == 0.0 || (signbit(d) != 0) != ((h >> sign_shift) != 0))
        return 0;
    double a = fabs(d), v = small_value(mag, f);
    double down = small_value((uint16_t)(mag - 1), f);
    double up = mag + 1 == inf ? ldexp(1, 1 << (f.e_bits - 1)) : small_value(mag + 1, f);
    double lo = (down + v) / 2, hi = (v + up) / 2; /* exact in double */
    int even = (mag & 1) == 0;
    return (a > lo || (a == lo && even)) && (a < hi || (a == hi && even));
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return 0;
    if (*s == '.') {
        if (*++s < '0' || *s > '9')
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (*s < '0' || *s > '9')
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* ---- shortest decimals -------------------------------------------------------- */

static void check_small_shortest(gp_dtype d, small_fmt f, uint16_t h)
{
    unsigned char le16[2] = {(unsigned char)h, (unsigned char)(h >> 8)};
    char text[GPI_NUMBER_MAX];
    size_t n = gpi_shortest(d, le16, text);
    cr_assert_eq(n, strlen(text));
    uint16_t mag = h & (uint16_t)((1u << (f.e_bits + f.m_bits)) - 1);
    uint16_t inf = (uint16_t)(((1u << f.e_bits) - 1) << f.m_bits);
    if (mag >= inf) {
        cr_assert_str_eq(text, "null", "0x%04x", h);
        return;
    }
    if (mag == 0) {
        cr_assert_str_eq(text, h == 0 ? "0" : "-0.0");
        return;
    }
    cr_assert(is_json_number(text), "0x%04x: %s", h, text);
    cr_assert(rounds_to(h, strtod(text, NULL), f), "0x%04x: %s does not read back", h, text);
    for (int p = 1; p <= 17; p++) {
        char s[40];
        snprintf(s, sizeof s, "%.*g", p, small_value(mag, f) * (h != mag ? -1 : 1));
        if (rounds_to(h, strtod(s, NULL), f)) {
            cr_assert_str_eq(text, s, "0x%04x: a shorter text reads back", h);
            return;
        }
    }
    cr_assert_fail("0x%04x: no precision reads back", h);
}

Test(shortest, float16_exhaustive)
{
    for (uint32_t h = 0; h <= 0xFFFF; h++)
        check_small_shortest(GP_FLOAT16, F16, (uint16_t)h);
}

Test(shortest, bfloat16_exhaustive)
{
    for (uint32_t h = 0; h <= 0xFFFF; h++)
        check_small_shortest(GP_BFLOAT16, BF16, (uint16_t)h);
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s ^ (*s >> 29);
}

static void check_f32_shortest(uint32_t bits)
{
    unsigned char e[4] = {(unsigned char)bits, (unsigned char)(bits >> 8),
                          (unsigned char)(bits >> 16), (unsigned char)(bits >> 24)};
    float f;
    memcpy(&f, &bits, sizeof f);
    char text[GPI_NUMBER_MAX];
    gpi_shortest(GP_FLOAT32, e, text);
    if (!isfinite(f) || f == 0.0f)
        return; /* covered by specials */
    cr_assert(is_json_number(text), "%s", text);
    float back = strtof(text, NULL);
    cr_assert_eq(memcmp(&back, &f, sizeof f), 0, "0x%08x: %s", bits, text);
    for (int p = 1; p <= 9; p++) {
        char s[40];
        snprintf(s, sizeof s, "%.*g", p, (double)f);
        float g = strtof(s, NULL);
        if (memcmp(&g, &f, sizeof f) == 0) {
            cr_assert_str_eq(text, s, "0x%08x", bits);
            return;
        }
    }
    cr_assert_fail("0x%08x: nine digits do not read back", bits);
}

Test(shortest, float32_many)
{
    static const uint32_t special[] = {0x00000001, 0x007fffff, 0x00800000, 0x3f800000,
                                       0x3dcccccd, 0x7f7fffff, 0xff7fffff, 0x80000001,
                                       0x3eaaaaab, 0x4b800000, 0x33800000, 0x3f7fffff};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        check_f32_shortest(special[i]);
    uint64_t s = 1;
    for (int i = 0; i < 200000; i++)
        check_f32_shortest((uint32_t)lcg(&s));
    /* values like the generators': uniform in (-1, 1) */
    for (int i = 0; i < 100000; i++) {
        float f = (float)((double)(lcg(&s) >> 11) * 0x1p-53 * 2.0 - 1.0);
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        check_f32_shortest(b);
    }
}

static void check_f64_shortest(uint64_t bits)
{
    unsigned char e[8];
    for (int i = 0; i < 8; i++)
        e[i] = (unsigned char)(bits >> (8 * i));
    double d;
    memcpy(&d, &bits, sizeof d);
    if (!isfinite(d) || d == 0.0)
        return;
    char text[GPI_NUMBER_MAX];
    gpi_shortest(GP_FLOAT64, e, text);
    cr_assert(is_json_number(text), "%s", text);
    double back = strtod(text, NULL);
    cr_assert_eq(memcmp(&back, &d, sizeof d), 0, "%s", text);
    for (int p = 1; p <= 17; p++) {
        char s[40];
        snprintf(s, sizeof s, "%.*g", p, d);
        double g = strtod(s, NULL);
        if (memcmp(&g, &d, sizeof d) == 0) {
            cr_assert_str_eq(text, s);
            return;
        }
    }
    cr_assert_fail("17 digits do not read back");
}

Test(shortest, float64_many)
{
    static const uint64_t special[] = {1,
                                       0x000fffffffffffffu,
                                       0x0010000000000000u,
                                       0x3ff0000000000000u,
                                       0x3fb999999999999au,
                                       0x7fefffffffffffffu,
                                       0x8000000000000001u};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        check_f64_shortest(special[i]);
    uint64_t s = 7;
    for (int i = 0; i < 100000; i++)
        check_f64_shortest(lcg(&s));
    for (int i = 0; i < 50000; i++) {
        double d = (double)(lcg(&s) >> 11) * 0x1p-53 * 2.0 - 1.0;
        uint64_t b;
        memcpy(&b, &d, sizeof b);
        check_f64_shortest(b);
    }
}

Test(shortest, specials)
{
    struct {
        gp_dtype d;
        unsigned char b[8];
        char text[8];
    } cases[] = {
        {GP_FLOAT32, {0, 0, 0, 0}, "0"},
        {GP_FLOAT32, {0, 0, 0, 0x80}, "-0.0"},
        {GP_FLOAT32, {0, 0, 0x80, 0x7f}, "null"},
        {GP_FLOAT32, {0, 0, 0xc0, 0xff}, "null"},
        {GP_FLOAT64, {0, 0, 0, 0, 0, 0, 0, 0x80}, "-0.0"},
        {GP_FLOAT64, {0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, "1"},
        {GP_FLOAT32, {0, 0, 0, 0x3f}, "0.5"},
        {GP_FLOAT16, {0, 0x3c}, "1"},
        {GP_BFLOAT16, {0xcd, 0x3d}, "0.1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[GPI_NUMBER_MAX];
        gpi_shortest(cases[i].d, cases[i].b, text);
        cr_assert_str_eq(text, cases[i].text, "case %zu", i);
    }
}

/* ---- half / bfloat16 conversions ------------------------------------------- */

static void check_small_conversions(small_fmt f, double (*to)(uint16_t), uint16_t (*from)(double))
{
    uint16_t inf = (uint16_t)(((1u << f.e_bits) - 1) << f.m_bits);
    uint16_t sign = (uint16_t)(1u << (f.e_bits + f.m_bits));
    for (uint16_t mag = 1; mag < inf; mag++) {
        double v = small_value(mag, f);
        cr_assert_eq(to(mag), v);
        cr_assert_eq(to((uint16_t)(mag | sign)), -v);
        cr_assert_eq(from(v), mag);
        cr_assert_eq(from(-v), (uint16_t)(mag | sign));
        double down = small_value((uint16_t)(mag - 1), f);
        double lo = (down + v) / 2;
        uint16_t even = (mag & 1) == 0 ? mag : (uint16_t)(mag - 1);
        cr_assert_eq(from(lo), even, "tie below 0x%04x", mag);
        cr_assert_eq(from(nextafter(lo, INFINITY)), mag);
        cr_assert_eq(from(nextafter(lo, 0)), (uint16_t)(mag - 1));
    }
    uint16_t max = (uint16_t)(inf - 1);
    double top = ldexp(1, 1 << (f.e_bits - 1));
    double hi = (small_value(max, f) + top) / 2;
    cr_assert_eq(from(hi), inf, "the tie above the largest value overflows");
    cr_assert_eq(from(nextafter(hi, 0)), max);
    cr_assert_eq(from(1e300), inf);
    cr_assert_eq(from(-INFINITY), (uint16_t)(inf | sign));
    cr_assert_eq(from(0x1p-1074), 0);
    cr_assert_eq(from(-0.0), sign);
    uint16_t nan = from(NAN);
    cr_assert((nan & inf) == inf && (nan & (inf - 1) & ~inf) != 0, "NaN stays NaN");
    cr_assert(isnan(to(nan)));
    cr_assert(isinf(to(inf)));
}

Test(convert, float16)
{
    cr_assert_eq(gpi_f16_to_double(0x3c00), 1.0);
    cr_assert_eq(gpi_f16_to_double(0x7bff), 65504.0);
    cr_assert_eq(gpi_f16_to_double(0x0001), 0x1p-24);
    cr_assert_eq(gpi_f16_to_double(0x0400), 0x1p-14);
    check_small_conversions(F16, gpi_f16_to_double, gpi_f16_from_double);
}

Test(convert, bfloat16)
{
    cr_assert_eq(gpi_bf16_to_double(0x3f80), 1.0);
    cr_assert_eq(gpi_bf16_to_double(0x7f7f), 0x1.fep127);
    cr_assert_eq(gpi_bf16_to_double(0x0001), 0x1p-133);
    cr_assert_eq(gpi_bf16_to_double(0x0080), 0x1p-126);
    check_small_conversions(BF16, gpi_bf16_to_double, gpi_bf16_from_double);
}

/* Rounding straight from double differs from going through float32. */
Test(convert, no_double_rounding)
{
    /* 1 + 2^-8 + 2^-30: float32 rounds it to 1 + 2^-8, a bfloat16 tie that goes
     * down to 1; from double it is above the tie and goes up. */
    double d = 1.0 + 0x1p-8 + 0x1p-30;
    cr_assert_eq(gpi_bf16_from_double(d), 0x3f81);
    double h = 1.0 + 0x1p-11 + 0x1p-40;
    cr_assert_eq(gpi_f16_from_double(h), 0x3c01);
}

/* ---- json body ------------------------------------------------------------------ */

struct json_case {
    char shape[16];
    char dtype[12];
    char extra[64];
};

static struct json_case json_cases[] = {
    {"33,17", "float32", "seed=42"},
    {"33,17", "float16", "seed=1"},
    {"33,17", "bfloat16", "seed=2"},
    {"33,17", "float64", "seed=3"},
    {"9,7,3", "float16", "algorithm=mlx&seed=4"},
    {"64,2", "bfloat16", "algorithm=mlx-seeded&call=2&seed=5&name=q\"k"},
    {"1,1", "float32", "gain=relu"},
};

ParameterizedTestParameters(json, stream)
{
    return cr_make_param_array(struct json_case, json_cases,
                               sizeof json_cases / sizeof json_cases[0]);
}

/* Does text (one JSON number) give back the element's bits? */
static int number_matches(gp_dtype d, const char *text, const unsigned char *elem)
{
    uint64_t bits = le(elem, gp_dtype_size(d));
    double v = strtod(text, NULL);
    switch (d) {
    case GP_FLOAT32: {
        float f = strtof(text, NULL);
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        return b == bits;
    }
    case GP_FLOAT64:
        return memcmp(&v, &bits, sizeof v) == 0;
    case GP_FLOAT16:
    case GP_BFLOAT16:
        if ((bits & 0x7FFF) == 0)
            return v == 0.0 && (signbit(v) != 0) == (bits >> 15 != 0);
        return rounds_to((uint16_t)bits, v, d == GP_FLOAT16 ? F16 : BF16);
    }
    return 0;
}

static void check_json_numbers(const char *text, const gp_body *raw)
{
    size_t rl;
    gp_body copy = *raw;
    char *bytes = read_all(&copy, 4096, &rl);
    size_t es = gp_dtype_size(raw->req.dtype);
    const char *p = strstr(text, "\"data\":[");
    cr_assert_not_null(p);
    p += strlen("\"data\":[");
    for (size_t i = 0; i < raw->req.numel; i++) {
        char num[GPI_NUMBER_MAX];
        size_t n = strcspn(p, ",]");
        cr_assert(n > 0 && n < sizeof num, "element %zu", i);
        memcpy(num, p, n);
        num[n] = '\0';
        cr_assert(is_json_number(num), "element %zu: %s", i, num);
        cr_assert(number_matches(raw->req.dtype, num, (unsigned char *)bytes + i * es),
                  "element %zu: %s", i, num);
        p += n;
        cr_assert_eq(*p, i + 1 < raw->req.numel ? ',' : ']');
        p++;
    }
    cr_assert_str_eq(p, "}\n");
    free(bytes);
}

ParameterizedTest(struct json_case *c, json, stream)
{
    static const size_t chunks[] = {1, 7, 4096};
    char *first = NULL;
    size_t first_len = 0;
    for (size_t k = 0; k < 3; k++) {
        gp_body b;
        make_body(&b, c->shape, c->dtype, "json", c->extra);
        cr_assert_eq(gp_body_size(&b), GP_SIZE_UNKNOWN);
        size_t n;
        char *text = read_all(&b, chunks[k], &n);
        cr_assert_eq(gp_body_read(&b, n, text, 1), 0, "nothing after the end");
        if (first == NULL) {
            first = text;
            first_len = n;
            continue;
        }
        cr_assert_eq(n, first_len, "chunk %zu", chunks[k]);
        cr_assert_eq(memcmp(text, first, n), 0, "chunk %zu", chunks[k]);
        free(text);
    }
    gp_body raw;
    make_body(&raw, c->shape, c->dtype, "raw", c->extra);
    check_json_numbers(first, &raw);
    free(first);
}

Test(json, preamble_exact)
{
    gp_body b;
    make_body(&b, "3,2", "bfloat16", "json", "seed=18446744073709551615&name=w1&fan=torch");
    size_t n;
    char *text = read_all(&b, 100, &n);
    char expected[512];
    snprintf(expected, sizeof expected,
             "{\"name\":\"w1\",\"shape\":[3,2],\"datatype\":\"BF16\",\"parameters\":{"
             "\"seed\":\"18446744073709551615\",\"algorithm\":\"chacha20\",\"version\":1,"
             "\"gain\":\"1\",\"limit\":%.17g,\"fan_in\":2,\"fan_out\":3,\"fan\":\"torch\"},"
             "\"data\":[",
             b.req.limit);
    cr_assert_eq(strncmp(text, expected, strlen(expected)), 0, "got %s", text);
    free(text);
}

Test(json, mlx_seeded_records_call)
{
    gp_body b;
    make_body(&b, "2,2", "float32", "json", "algorithm=mlx-seeded&call=7");
    size_t n;
    char *text = read_all(&b, 64, &n);
    cr_assert_not_null(strstr(text, "\"algorithm\":\"mlx-seeded\",\"version\":1,\"call\":7,"));
    free(text);
}

Test(json, reads_are_sequential)
{
    gp_body b;
    make_body(&b, "4,4", "float32", "json", "");
    char buf[32];
    cr_assert_eq(gp_body_read(&b, 5, buf, sizeof buf), 0, "cannot start past 0");
    cr_assert_eq(gp_body_read(&b, 0, buf, 10), 10);
    cr_assert_eq(gp_body_read(&b, 0, buf, 10), 0, "cannot go back");
    cr_assert_eq(gp_body_read(&b, 10, buf, 10), 10);
    cr_assert_eq(gp_body_read(&b, 20, buf, 0), 0);
}

/* ---- negotiation ------------------------------------------------------------- */

#define NEG_ERR (-1)

struct neg_case {
    char accept[120];
    int want; /* a gp_format, or NEG_ERR */
};

static struct neg_case neg_cases[] = {
    {"", GP_FORMAT_RAW},
    {"   ", GP_FORMAT_RAW},
    {" , ,", GP_FORMAT_RAW},
    {"*/*", GP_FORMAT_RAW},
    {"application/*", GP_FORMAT_RAW},
    {"application/octet-stream", GP_FORMAT_RAW},
    {"application/json", GP_FORMAT_JSON},
    {"APPLICATION/JSON", GP_FORMAT_JSON},
    {"application/json; charset=utf-8", GP_FORMAT_JSON},
    {"application/x-npy", GP_FORMAT_NPY},
    {"Application/X-NPY", GP_FORMAT_NPY},
    {"application/vnd.safetensors", GP_FORMAT_SAFETENSORS},
    {"application/octet-stream;format=safetensors", GP_FORMAT_SAFETENSORS},
    {"application/octet-stream ; format = \"safetensors\"", GP_FORMAT_SAFETENSORS},
    {"application/octet-stream;FORMAT=SafeTensors", GP_FORMAT_SAFETENSORS},
    {"application/octet-stream;format=\"safe\\tensors\"", GP_FORMAT_SAFETENSORS},
    {"application/octet-stream;q=0, application/octet-stream;format=safetensors",
     GP_FORMAT_SAFETENSORS},
    {"application/octet-stream;q=0", NEG_ERR},
    {"application/octet-stream;q=0, application/*;q=0.5", GP_FORMAT_NPY},
    {"application/json;q=0.5, application/x-npy;q=0.9", GP_FORMAT_NPY},
    {"application/json, application/x-npy", GP_FORMAT_NPY},
    {"application/json,application/vnd.safetensors", GP_FORMAT_SAFETENSORS},
    {"application/json;q=1, */*;q=0.1", GP_FORMAT_JSON},
    {"*/*;q=0.1, application/json", GP_FORMAT_JSON},
    {"*/*;q=0, application/x-npy;q=0.001", GP_FORMAT_NPY},
    {"application/*;q=0, application/json", GP_FORMAT_JSON},
    {"application/*;q=0.2, */*;q=0.9", GP_FORMAT_RAW},
    {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", GP_FORMAT_RAW},
    {"text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", GP_FORMAT_RAW},
    {"application/json;q=.5, application/x-npy;q=0.4", GP_FORMAT_JSON},
    {"application/json;q=1.000", GP_FORMAT_JSON},
    {"application/json;Q=0.7, application/x-npy;q=0.6", GP_FORMAT_JSON},
    {"application/json;;q=0.5, application/x-npy;q=0.4", GP_FORMAT_JSON},
    {"application/json;q=0.5;level=1, application/x-npy;q=0.4", GP_FORMAT_JSON},
    {"application/json;q=0.5, application/json;q=0.9, application/x-npy;q=0.8", GP_FORMAT_JSON},
    {"application/vnd.safetensors;q=0.5, application/octet-stream;format=safetensors;q=0.9, "
     "application/json;q=0.8",
     GP_FORMAT_SAFETENSORS},
    {"application/json\t,\tapplication/x-npy;q=0.5", GP_FORMAT_JSON},
    {"application/x-npy;q=0.3,,,application/json;q=0.2", GP_FORMAT_NPY},
    {"*", GP_FORMAT_RAW},
    /* nothing acceptable */
    {"text/html", NEG_ERR},
    {"text/*", NEG_ERR},
    {"text/html, */*;q=0", NEG_ERR},
    {"application/json;q=0", NEG_ERR},
    {"application/json;q=0.", NEG_ERR},
    {"application/json;q=0.000", NEG_ERR},
    {"*/*;q=0", NEG_ERR},
    {"application/json;format=json", NEG_ERR},
    {"*/*;format=safetensors", NEG_ERR},
    {"application/*;format=safetensors", NEG_ERR},
    {"application/octet-stream;format=npy", NEG_ERR},
    /* malformed */
    {"application", NEG_ERR},
    {"application/", NEG_ERR},
    {"/json", NEG_ERR},
    {"*/json", NEG_ERR},
    {"application/json;q=1.0001", NEG_ERR},
    {"application/json;q=2", NEG_ERR},
    {"application/json;q=abc", NEG_ERR},
    {"application/json;q=", NEG_ERR},
    {"application/json;q=.", NEG_ERR},
    {"application/json;q=-1", NEG_ERR},
    {"application/json;foo", NEG_ERR},
    {"application/json;foo=\"unterminated", NEG_ERR},
    {"application/json;foo=\"bad\\", NEG_ERR},
    {"application/json junk", NEG_ERR},
    {"application/json/x", NEG_ERR},
    {"application/json, text/html(", NEG_ERR},
    {"app lication/json", NEG_ERR},
    {"application/json;q=0.5 0.6", NEG_ERR},
};

ParameterizedTestParameters(negotiate, table)
{
    return cr_make_param_array(struct neg_case, neg_cases, sizeof neg_cases / sizeof neg_cases[0]);
}

ParameterizedTest(struct neg_case *c, negotiate, table)
{
    gp_format f = GP_FORMAT_JSON;
    gp_error err = {0};
    gp_code rc = gp_format_negotiate(c->accept, &f, &err);
    if (c->want == NEG_ERR) {
        cr_assert_eq(rc, GP_EPARAM, "Accept: %s gave %s", c->accept, gp_format_name(f));
        cr_assert_str_eq(err.param, "Accept");
        cr_assert_neq(err.message[0], '\0');
        return;
    }
    cr_assert_eq(rc, GP_OK, "Accept: %s: %s", c->accept, err.message);
    cr_assert_eq(f, (gp_format)c->want, "Accept: %s gave %s", c->accept, gp_format_name(f));
}

Test(negotiate, null_is_raw)
{
    gp_format f = GP_FORMAT_JSON;
    cr_assert_eq(gp_format_negotiate(NULL, &f, NULL), GP_OK);
    cr_assert_eq(f, GP_FORMAT_RAW);
}

/* The offers, built from the format table: the whole text, as sent since 0.1. */
Test(negotiate, offered_text)
{
    gp_format f;
    gp_error err = {0};
    cr_assert_eq(gp_format_negotiate("text/html", &f, &err), GP_EPARAM);
    cr_assert_str_eq(err.message, "no acceptable format; offered: application/octet-stream, "
                                  "application/x-npy, application/vnd.safetensors, "
                                  "application/octet-stream;format=safetensors, application/json");
}

Test(negotiate, messages)
{
    gp_format f;
    gp_error err = {0};
    gp_format_negotiate("text/html", &f, &err);
    cr_assert_not_null(strstr(err.message, "offered: application/octet-stream, "
                                           "application/x-npy, application/vnd.safetensors"));
    cr_assert_not_null(strstr(err.message, "application/json"));
    memset(&err, 0, sizeof err);
    gp_format_negotiate("application/json, text", &f, &err);
    cr_assert_not_null(strstr(err.message, "malformed media range at byte 18"), "%s", err.message);
}

Test(negotiate, length_cap)
{
    static char accept[4098];
    memset(accept, ' ', sizeof accept - 1);
    memcpy(accept + 4096 - 16, "application/json", 16);
    accept[4096] = '\0';
    gp_format f;
    cr_assert_eq(gp_format_negotiate(accept, &f, NULL), GP_OK, "4096 bytes are allowed");
    cr_assert_eq(f, GP_FORMAT_JSON);
    accept[4096] = ' ';
    accept[4097] = '\0';
    gp_error err = {0};
    cr_assert_eq(gp_format_negotiate(accept, &f, &err), GP_EPARAM);
    cr_assert_str_eq(err.param, "Accept");
    cr_assert_not_null(strstr(err.message, "longer than 4096"));
}

/* ---- file names ---------------------------------------------------------------- */

struct fn_case {
    char shape[32];
    char dtype[12];
    char format[12];
    char seed[24];
    char want[80];
};

static struct fn_case fn_cases[] = {
    {"256,512", "float32", "npy", "42", "glorot_256x512_float32_seed42.npy"},
    {"2,3,4", "bfloat16", "raw", "0", "glorot_2x3x4_bfloat16_seed0.bin"},
    {"1,1,1,1,1,1,1,1", "float64", "safetensors", "18446744073709551615",
     "glorot_1x1x1x1x1x1x1x1_float64_seed18446744073709551615.safetensors"},
    {"10,3", "float16", "json", "7", "glorot_10x3_float16_seed7.json"},
};

ParameterizedTestParameters(filename, table)
{
    return cr_make_param_array(struct fn_case, fn_cases, sizeof fn_cases / sizeof fn_cases[0]);
}

ParameterizedTest(struct fn_case *c, filename, table)
{
    gp_request r;
    char extra[40];
    snprintf(extra, sizeof extra, "seed=%s", c->seed);
    make_req(&r, c->shape, c->dtype, c->format, extra);
    char out[128];
    cr_assert_eq(gp_filename(&r, out, sizeof out), strlen(c->want));
    cr_assert_str_eq(out, c->want);
}

Test(filename, truncates)
{
    gp_request r;
    make_req(&r, "256,512", "float32", "npy", "seed=42");
    const char *full = "glorot_256x512_float32_seed42.npy";
    char out[10];
    memset(out, 'z', sizeof out);
    cr_assert_eq(gp_filename(&r, out, sizeof out), strlen(full));
    cr_assert_str_eq(out, "glorot_25");
    cr_assert_eq(gp_filename(&r, NULL, 0), strlen(full));
    char one[1] = {'z'};
    cr_assert_eq(gp_filename(&r, one, 1), strlen(full));
    cr_assert_eq(one[0], '\0');
}

/* ---- decimal text (gp_u64_text) ------------------------------------------------------------ */

/* Against snprintf, table first, then a sweep of magnitudes and paddings. */
Test(u64_text, matches_snprintf)
{
    static const struct {
        uint64_t v;
        unsigned min;
        const char *want;
    } cases[] = {
        {0, 1, "0"},
        {0, 0, "0"},
        {7, 3, "007"},
        {999, 3, "999"},
        {1000, 3, "1000"},
        {42, 0, "42"},
        {UINT64_MAX, 1, "18446744073709551615"},
        {5, 25, "00000000000000000005"}, /* padding stops at 20 digits */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[GP_U64_TEXT_MAX];
        size_t n = gp_u64_text(cases[i].v, cases[i].min, out);
        cr_expect_str_eq(out, cases[i].want, "case %zu", i);
        cr_expect_eq(n, strlen(cases[i].want), "case %zu", i);
    }
    uint64_t v = 1;
    for (int k = 0; k < 64; k++, v = v * 3 + 1) {
        for (unsigned min = 0; min <= 20; min++) {
            char out[GP_U64_TEXT_MAX], want[32];
            snprintf(want, sizeof want, "%0*llu", (int)min, (unsigned long long)v);
            cr_assert_eq(gp_u64_text(v, min, out), strlen(want));
            cr_assert_str_eq(out, want, "v=%llu min=%u", (unsigned long long)v, min);
        }
    }
}
