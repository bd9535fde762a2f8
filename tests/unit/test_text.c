/*
 * test_text.c - the text toolkit (proto/base/text.c): the one integer parser
 * as each caller configures it (the server's flags and Content-Length, the
 * client's header fields, the request parameters and slice indices), the
 * one UTF-8 check as both of its callers see it (name= and JSON strings),
 * and the shape joiner in its three styles.
 *
 * The server and client rows are the tables that tested gd_parse_u64
 * (tests/unit/server/test_server_units.c) and glorotp_parse_u64
 * (tests/unit/client/test_client_units.c) before both became gp_parse_u64.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <string.h>

#include "../../client/lib/client_internal.h" /* GLOROTP_U64_LEN */
#include "base/text_internal.h"
#include "glorot_proto.h"
#include "request/request_internal.h"

/* ---- gp_parse_u64 as the server calls it (was gd_parse_u64) -------------------- */

typedef struct {
    char text[32];
    uint64_t min, max;
    int ok;
    uint64_t value;
} ncase;

ParameterizedTestParameters(text, server_u64)
{
    static ncase cases[] = {
        {"0", 0, 10, 1, 0},
        {"10", 0, 10, 1, 10},
        {"11", 0, 10, 0, 0},
        {"1", 2, 10, 0, 0},
        {"18446744073709551615", 0, UINT64_MAX, 1, UINT64_MAX},
        {"18446744073709551616", 0, UINT64_MAX, 0, 0},
        {"99999999999999999999999", 0, UINT64_MAX, 0, 0},
        {"007", 0, 10, 1, 7},
        {"", 0, 10, 0, 0},
        {"+1", 0, 10, 0, 0},
        {"-1", 0, 10, 0, 0},
        {" 1", 0, 10, 0, 0},
        {"1 ", 0, 10, 0, 0},
        {"1x", 0, 10, 0, 0},
        {"0x1", 0, 10, 0, 0},
        {"1e3", 0, 10000, 0, 0},
    };
    return cr_make_param_array(ncase, cases, sizeof cases / sizeof cases[0]);
}

/* server/config.c and server/http.c: NUL-terminated text, any length. */
ParameterizedTest(ncase *c, text, server_u64)
{
    uint64_t v = 12345;
    int rc = gp_parse_u64(c->text, strlen(c->text), c->min, c->max, 0, &v) == GP_U64_OK ? 0 : -1;
    cr_assert_eq(rc == 0, c->ok, "'%s'", c->text);
    if (c->ok)
        cr_assert_eq(v, c->value, "'%s'", c->text);
    else
        cr_assert_eq(v, 12345, "'%s' wrote the output on failure", c->text);
}

/* ---- gp_parse_u64 as the client calls it (was glorotp_parse_u64) --------------- */

typedef struct {
    char text[32];
    uint64_t max;
    int ok;
    uint64_t value;
} u64_case;

ParameterizedTestParameters(text, client_u64)
{
    static u64_case cases[] = {
        {"0", UINT64_MAX, 1, 0},
        {"18446744073709551615", UINT64_MAX, 1, UINT64_MAX},
        {"18446744073709551616", UINT64_MAX, 0, 0},
        {"007", 10, 1, 7},
        {"11", 10, 0, 0},
        {"5", 3, 0, 0},
        {"", UINT64_MAX, 0, 0},
        {" 1", UINT64_MAX, 0, 0},
        {"1 ", UINT64_MAX, 0, 0},
        {"+1", UINT64_MAX, 0, 0},
        {"-1", UINT64_MAX, 0, 0},
        {"0x10", UINT64_MAX, 0, 0},
        {"000000000000000000001", UINT64_MAX, 0, 0},
    };
    return cr_make_param_array(u64_case, cases, sizeof cases / sizeof cases[0]);
}

/* client/lib: header fields, at most GLOROTP_U64_LEN characters. */
ParameterizedTest(u64_case *uc, text, client_u64)
{
    uint64_t v = 12345;
    int rc = gp_parse_u64(uc->text, strlen(uc->text), 0, uc->max, GLOROTP_U64_LEN, &v) == GP_U64_OK
                 ? 0
                 : -1;
    cr_expect_eq(rc == 0, uc->ok, "'%s'", uc->text);
    cr_expect_eq(v, uc->ok ? uc->value : 12345, "'%s'", uc->text);
}

/* ---- gp_parse_u64: every status, and where the callers differ -------------------- */

typedef struct {
    char text[40];
    uint64_t min, max;
    size_t max_len;
    gp_u64_status want;
    uint64_t value;
} status_case;

ParameterizedTestParameters(text, u64_status)
{
    static status_case cases[] = {
        {"", 0, UINT64_MAX, 0, GP_U64_EMPTY, 0},
        {"", 0, UINT64_MAX, 20, GP_U64_EMPTY, 0},
        {"12a", 0, UINT64_MAX, 0, GP_U64_SYNTAX, 0},
        /* a bad byte wins over size: request.c says "not a plain decimal integer" */
        {"99999999999999999999999x", 0, UINT64_MAX, 0, GP_U64_SYNTAX, 0},
        {"000000000000000000000000x", 0, UINT64_MAX, 20, GP_U64_SYNTAX, 0},
        {"+5", 0, UINT64_MAX, 0, GP_U64_SYNTAX, 0},
        {"5\n", 0, UINT64_MAX, 0, GP_U64_SYNTAX, 0},
        /* leading zeros: any number of them without max_len (server, request) */
        {"000000000000000000000000000000005", 0, UINT64_MAX, 0, GP_U64_OK, 5},
        {"000000000000000000005", 0, UINT64_MAX, 21, GP_U64_OK, 5},
        {"000000000000000000005", 0, UINT64_MAX, 20, GP_U64_LONG, 0},
        {"00000000000000000005", 0, UINT64_MAX, 20, GP_U64_OK, 5},
        /* digits only but too many: LONG is checked before the value */
        {"99999999999999999999999", 0, UINT64_MAX, 20, GP_U64_LONG, 0},
        {"99999999999999999999999", 0, UINT64_MAX, 0, GP_U64_RANGE, 0},
        {"18446744073709551616", 0, UINT64_MAX, 0, GP_U64_RANGE, 0},
        {"18446744073709551615", 0, UINT64_MAX, 0, GP_U64_OK, UINT64_MAX},
        /* min and max are inclusive (request.c: call in 1..1000000) */
        {"0", 1, 1000000, 0, GP_U64_RANGE, 0},
        {"1", 1, 1000000, 0, GP_U64_OK, 1},
        {"1000000", 1, 1000000, 0, GP_U64_OK, 1000000},
        {"1000001", 1, 1000000, 0, GP_U64_RANGE, 0},
        {"0000001", 1, 1000000, 0, GP_U64_OK, 1},
        /* slice indices: |index| <= 2^63-1 */
        {"9223372036854775807", 0, INT64_MAX, 0, GP_U64_OK, INT64_MAX},
        {"9223372036854775808", 0, INT64_MAX, 0, GP_U64_RANGE, 0},
        {"9", 0, 0, 0, GP_U64_RANGE, 0},
        {"0", 0, 0, 0, GP_U64_OK, 0},
    };
    return cr_make_param_array(status_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(status_case *c, text, u64_status)
{
    uint64_t v = 12345;
    gp_u64_status st = gp_parse_u64(c->text, strlen(c->text), c->min, c->max, c->max_len, &v);
    cr_assert_eq(st, c->want, "'%s': status %d, expected %d", c->text, (int)st, (int)c->want);
    cr_assert_eq(v, st == GP_U64_OK ? c->value : 12345, "'%s'", c->text);
}

Test(text, u64_reads_only_n_bytes)
{
    uint64_t v = 0;
    cr_assert_eq(gp_parse_u64("123456", 3, 0, UINT64_MAX, 0, &v), GP_U64_OK);
    cr_assert_eq(v, 123);
    cr_assert_eq(gp_parse_u64(NULL, 0, 0, UINT64_MAX, 0, &v), GP_U64_EMPTY);
}

/* ---- gpi_parse_index (slice, axis): a '-' and then gp_parse_u64 ------------------ */

typedef struct {
    char text[32];
    int ok;
    int64_t value;
} index_case;

ParameterizedTestParameters(text, index)
{
    static index_case cases[] = {
        {"0", 1, 0},
        {"-0", 1, 0},
        {"17", 1, 17},
        {"-17", 1, -17},
        {"007", 1, 7},
        {"9223372036854775807", 1, INT64_MAX},
        {"-9223372036854775807", 1, -INT64_MAX},
        {"9223372036854775808", 0, 0},
        {"-9223372036854775808", 0, 0},
        {"", 0, 0},
        {"-", 0, 0},
        {"--1", 0, 0},
        {"+1", 0, 0},
        {" 1", 0, 0},
        {"1-", 0, 0},
    };
    return cr_make_param_array(index_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(index_case *c, text, index)
{
    int64_t v = 12345;
    int rc = gpi_parse_index(c->text, strlen(c->text), &v);
    cr_assert_eq(rc == 0, c->ok, "'%s'", c->text);
    cr_assert_eq(v, c->ok ? c->value : 12345, "'%s'", c->text);
}

/* ---- UTF-8: gpi_utf8_sequence, name= and JSON strings agree ------------------------ */

typedef struct {
    char label[32];
    unsigned char bytes[8];
    size_t n;
    size_t want; /* gpi_utf8_sequence(bytes, n) */
} utf8_case;

ParameterizedTestParameters(text, utf8)
{
    static utf8_case cases[] = {
        {"ascii", {'a'}, 1, 1},
        {"U+0080", {0xc2, 0x80}, 2, 2},
        {"U+07FF", {0xdf, 0xbf}, 2, 2},
        {"U+0800", {0xe0, 0xa0, 0x80}, 3, 3},
        {"U+D7FF", {0xed, 0x9f, 0xbf}, 3, 3},
        {"U+E000", {0xee, 0x80, 0x80}, 3, 3},
        {"U+FFFF", {0xef, 0xbf, 0xbf}, 3, 3},
        {"U+10000", {0xf0, 0x90, 0x80, 0x80}, 4, 4},
        {"U+10FFFF", {0xf4, 0x8f, 0xbf, 0xbf}, 4, 4},
        {"lone continuation", {0x80}, 1, 0},
        {"overlong 2-byte C0", {0xc0, 0x80}, 2, 0},
        {"overlong 2-byte C1", {0xc1, 0xbf}, 2, 0},
        {"overlong 3-byte", {0xe0, 0x9f, 0xbf}, 3, 0},
        {"overlong 4-byte", {0xf0, 0x8f, 0xbf, 0xbf}, 4, 0},
        {"surrogate D800", {0xed, 0xa0, 0x80}, 3, 0},
        {"surrogate DFFF", {0xed, 0xbf, 0xbf}, 3, 0},
        {"above U+10FFFF", {0xf4, 0x90, 0x80, 0x80}, 4, 0},
        {"F5 lead", {0xf5, 0x80, 0x80, 0x80}, 4, 0},
        {"FF", {0xff}, 1, 0},
        {"truncated 2", {0xc2}, 1, 0},
        {"truncated 3", {0xe2, 0x82}, 2, 0},
        {"truncated 4", {0xf0, 0x9f, 0x98}, 3, 0},
        {"bad 3rd byte", {0xe2, 0x82, 0x41}, 3, 0},
        {"bad 4th byte", {0xf0, 0x9f, 0x98, 0xc0}, 4, 0},
    };
    return cr_make_param_array(utf8_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(utf8_case *c, text, utf8)
{
    cr_assert_eq(gpi_utf8_sequence(c->bytes, c->n), c->want, "%s", c->label);

    /* name= (request.c) accepts exactly the well-formed ones */
    gp_request r;
    gp_error err;
    gp_request_init(&r);
    gp_code rc = gp_request_set(&r, "name", 4, (const char *)c->bytes, c->n, &err);
    cr_assert_eq(rc == GP_OK, c->want == c->n, "%s: name= %s", c->label, err.message);

    /* and so does a JSON string (format_json.c, format_safetensors.c) */
    unsigned char mem[64];
    gpi_text t;
    gpi_text_init(&t, mem, sizeof mem);
    rc = gpi_text_json_string(&t, (const char *)c->bytes, c->n, "name", &err);
    cr_assert_eq(rc == GP_OK, c->want == c->n, "%s: JSON string", c->label);
}

/* ---- shapes -------------------------------------------------------------------------- */

typedef struct {
    uint64_t dims[GP_MAX_RANK];
    size_t rank;
    gpi_shape_style style;
    char want[GP_SHAPE_TEXT_MAX + 2];
} shape_case;

ParameterizedTestParameters(text, shape)
{
    static shape_case cases[] = {
        {{256, 512}, 2, GPI_SHAPE_PLAIN, "256,512"},
        {{7}, 1, GPI_SHAPE_PLAIN, "7"},
        {{0}, 0, GPI_SHAPE_PLAIN, ""},
        {{1, UINT64_MAX, 7}, 3, GPI_SHAPE_PLAIN, "1,18446744073709551615,7"},
        {{256, 512}, 2, GPI_SHAPE_JSON, "[256,512]"},
        {{7}, 1, GPI_SHAPE_JSON, "[7]"},
        {{0}, 0, GPI_SHAPE_JSON, "[]"},
        {{0, 3}, 2, GPI_SHAPE_JSON, "[0,3]"},
        {{256, 512}, 2, GPI_SHAPE_PYTHON, "(256, 512)"},
        {{1, 2, 3}, 3, GPI_SHAPE_PYTHON, "(1, 2, 3)"},
        {{7}, 1, GPI_SHAPE_PYTHON, "(7,)"},
        {{0}, 0, GPI_SHAPE_PYTHON, "()"},
        {{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX,
          UINT64_MAX},
         8,
         GPI_SHAPE_PLAIN,
         "18446744073709551615,18446744073709551615,18446744073709551615,18446744073709551615,"
         "18446744073709551615,18446744073709551615,18446744073709551615,18446744073709551615"},
    };
    return cr_make_param_array(shape_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(shape_case *c, text, shape)
{
    unsigned char mem[256];
    char out[256];
    gpi_text t;
    gpi_text_init(&t, mem, sizeof mem);
    gpi_text_shape(&t, c->dims, c->rank, c->style);
    cr_assert_eq(t.overflow, 0);
    gpi_text_export(&t, out, sizeof out);
    cr_assert_str_eq(out, c->want);
    if (c->style != GPI_SHAPE_PLAIN)
        return;
    char text[GP_SHAPE_TEXT_MAX];
    cr_assert_eq(gp_shape_text(c->dims, c->rank, text, sizeof text), strlen(c->want));
    cr_assert_str_eq(text, c->want);
}

/* Was units/shape_format (glorotp_format_shape) in tests/unit/client/test_client_units.c. */
Test(text, shape_format)
{
    uint64_t shape[] = {1, UINT64_MAX, 7};
    char text[200];
    gp_shape_text(shape, 3, text, sizeof text);
    cr_expect_str_eq(text, "1,18446744073709551615,7");
    gp_shape_text(shape, 3, text, 4);
    cr_expect_str_eq(text, "1,1", "truncated, still terminated");
}

Test(text, shape_text_size_zero_writes_nothing)
{
    uint64_t shape[] = {12, 34};
    char text[4] = "xyz";
    cr_assert_eq(gp_shape_text(shape, 2, text, 0), 5);
    cr_assert_str_eq(text, "xyz");
}

/* ---- quoting ---------------------------------------------------------------------------- */

Test(text, quote)
{
    cr_assert_str_eq(gpi_quote("ab\"c\\\x01\xff", 7).text, "ab\\x22c\\x5c\\x01\\xff");
    char many[100];
    memset(many, 'a', sizeof many);
    gpi_quoted q = gpi_quote(many, sizeof many);
    cr_assert_eq(strlen(q.text), GPI_QUOTE_MAX + 3);
    cr_assert_str_eq(q.text + GPI_QUOTE_MAX, "...");
}

/* Was units/parse_double_is_exact_and_strict (gp_parse_real) in
 * tests/unit/client/test_client_units.c: the client reads Glorot-Limit with it. */
Test(text, parse_real_is_exact_and_strict)
{
    double v = 0;
    cr_expect_eq(gp_parse_real("0.54772255750516607", 19, &v), 0);
    cr_expect(v == 0.54772255750516607);
    cr_expect_eq(gp_parse_real("1e-3", 4, &v), 0);
    cr_expect(v == 1e-3);
    cr_expect_eq(gp_parse_real("0.5x", 4, &v), -1);
    cr_expect_eq(gp_parse_real(" 0.5", 4, &v), -1);
    cr_expect_eq(gp_parse_real("", 0, &v), -1);
    cr_expect_eq(gp_parse_real("0.5", 2, &v), 0, "only len bytes are read");
    cr_expect(v == 0.0);
}
