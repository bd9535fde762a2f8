/*
 * test_client_units.c - the socket-free parts of libglorot-client, table by
 * table: header lines, answer checks, error bodies, Retry-After, back-off,
 * query strings, request fields, option and URL checks,
 * sample positions. (The private glorotp_ functions resolve in a static link
 * of libglorot-client.a.)
 */
#include "client_internal.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- header lines ------------------------------------------------------------ */

typedef struct {
    char lines[6][96]; /* "" ends */
    long status;
    int done;
    int bad;
    char seed[24];   /* value of Glorot-Seed, "" = not seen */
    char length[24]; /* value of Content-Length, "" = not seen */
} header_case;

ParameterizedTestParameters(units, header_lines)
{
    static header_case cases[] = {
        {{"HTTP/1.1 200 OK\r\n", "Glorot-Seed: 42\r\n", "Content-Length: 10\r\n", "\r\n", ""},
         200,
         1,
         0,
         "42",
         "10"},
        {{"HTTP/1.1 100 Continue\r\n", "\r\n", "HTTP/1.1 503 Busy\r\n", "Glorot-Seed: 1\r\n",
          "\r\n", ""},
         503,
         1,
         0,
         "1",
         ""},
        {{"HTTP/2 200\r\n", "glorot-seed:\t 9  \r\n", "", ""}, 200, 0, 0, "9", ""},
        {{"HTTP/1.1 200 OK\r\n", "Glorot-Seed: 1\r\n", "GLOROT-SEED: 2\r\n", "\r\n", ""},
         200,
         1,
         1,
         "1",
         ""},
        {{"HTTP/1.1 200 OK\r\n", "X-Other: 5\r\n", "no colon here\r\n", "\r\n", ""},
         200,
         1,
         0,
         "",
         ""},
        {{"HTTP/1.1 2x0 OK\r\n", "\r\n", ""}, 0, 1, 0, "", ""},
        {{"HTTP/1.1 200 OK\r\n", "\r\n", "Glorot-Seed: 5\r\n", "\r\n", ""}, 200, 1, 0, "", ""},
    };
    return cr_make_param_array(header_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(header_case *hc, units, header_lines)
{
    glorotp_headers h;
    glorotp_headers_reset(&h);
    int ends = 0;
    for (size_t i = 0; i < 6 && hc->lines[i][0] != '\0'; i++)
        ends += glorotp_header_line(&h, hc->lines[i], strlen(hc->lines[i]));
    cr_expect_eq(h.status, hc->status);
    cr_expect_eq(h.done, hc->done);
    cr_expect_eq(h.bad, hc->bad);
    cr_expect_leq(ends, 2);
    cr_expect_eq(h.seen[GLOROTP_H_SEED], hc->seed[0] != '\0');
    if (hc->seed[0] != '\0')
        cr_expect_str_eq(h.value[GLOROTP_H_SEED], hc->seed);
    uint64_t len = 0;
    cr_expect_eq(glorotp_content_length(&h, &len), hc->length[0] != '\0' ? 1 : 0);
}

Test(units, overlong_header_is_bad)
{
    glorotp_headers h;
    char line[GLOROTP_HEADER_VALUE_MAX + 64];
    glorotp_headers_reset(&h);
    memset(line, '7', sizeof line);
    memcpy(line, "Glorot-Shape: ", 14);
    glorotp_header_line(&h, "HTTP/1.1 200 OK\r\n", 17);
    glorotp_header_line(&h, line, sizeof line);
    cr_expect(h.bad);
    cr_expect_str_eq(h.bad_name, "Glorot-Shape");
}

/* ---- Retry-After and back-off -------------------------------------------------- */

typedef struct {
    char value[40]; /* "" = absent */
    long cap;
    long expected;
} retry_after_case;

ParameterizedTestParameters(units, retry_after)
{
    static retry_after_case cases[] = {
        {"", 8000, -1},
        {"0", 8000, 0},
        {"3", 8000, 3000},
        {"9", 8000, 8000},
        {"99999999999999999999", 8000, -1},
        {"-1", 8000, -1},
        {"Wed, 21 Oct 2015 07:28:00 GMT", 8000, -1},
        {"2", 1500, 1500},
    };
    return cr_make_param_array(retry_after_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(retry_after_case *rc, units, retry_after)
{
    glorotp_headers h;
    char line[64];
    glorotp_headers_reset(&h);
    glorotp_header_line(&h, "HTTP/1.1 503 Busy\r\n", 19);
    if (rc->value[0] != '\0') {
        snprintf(line, sizeof line, "Retry-After: %s\r\n", rc->value);
        glorotp_header_line(&h, line, strlen(line));
    }
    cr_expect_eq(glorotp_retry_after_ms(&h, rc->cap), rc->expected);
}

typedef struct {
    long base, max;
    unsigned attempt;
    double jitter;
    long expected;
} backoff_case;

ParameterizedTestParameters(units, backoff)
{
    static backoff_case cases[] = {
        {250, 8000, 0, 1.0, 250},   {250, 8000, 0, 0.0, 125},  {250, 8000, 1, 1.0, 500},
        {250, 8000, 3, 1.0, 2000},  {250, 8000, 5, 1.0, 8000}, {250, 8000, 60, 1.0, 8000},
        {250, 8000, 60, 0.0, 4000}, {250, 8000, 2, 0.5, 750},  {10, 15, 4, 1.0, 15},
        {250, 8000, 1, 7.0, 500},   {250, 8000, 1, -3.0, 250},
    };
    return cr_make_param_array(backoff_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(backoff_case *bc, units, backoff)
{
    glorotp_settings s = {0};
    s.retry_base_ms = bc->base;
    s.retry_max_ms = bc->max;
    cr_expect_eq(glorotp_backoff_ms(&s, bc->attempt, bc->jitter), bc->expected);
}

/* ---- error bodies ------------------------------------------------------------- */

typedef struct {
    long status;
    char body[160];
    char message[48];
    char param[16];
    char code[24];
} body_case;

ParameterizedTestParameters(units, http_error)
{
    static body_case cases[] = {
        {400, "{\"error\":{\"code\":\"invalid_parameter\",\"message\":\"m\",\"param\":\"seed\"}}",
         "m", "seed", "invalid_parameter"},
        {404, "{\"error\":{\"code\":\"not_found\",\"message\":\"gone\",\"param\":\"\"},\"x\":1}",
         "gone", "", "not_found"},
        {500, "{\"error\":{\"code\":\"internal\",\"message\":\"no param\"}}", "no param", "",
         "internal"},
        {400, "{\"error\":{\"code\":\"a\",\"code\":\"b\",\"message\":\"dup\"}}",
         "the server answered HTTP 400", "", ""},
        {502, "<html>bad gateway</html>", "the server answered HTTP 502", "", ""},
        {503, "", "the server answered HTTP 503", "", ""},
        {400, "{\"error\":{\"code\":\"x\",\"message\":7}}", "the server answered HTTP 400", "", ""},
        {400, "{\"error\":\"flat\"}", "the server answered HTTP 400", "", ""},
    };
    return cr_make_param_array(body_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(body_case *bc, units, http_error)
{
    glorot_error err = {0};
    cr_expect_eq(glorotp_http_error(bc->status, bc->body, strlen(bc->body), &err), GLOROT_E_HTTP);
    cr_expect_eq(err.code, GLOROT_E_HTTP);
    cr_expect_eq(err.http_status, bc->status);
    cr_expect_str_eq(err.message, bc->message);
    cr_expect_str_eq(err.param, bc->param);
    cr_expect_str_eq(err.server_code, bc->code);
}

Test(units, first_error_wins)
{
    glorot_error err = {0};
    glorotp_fail(&err, GLOROT_E_INVALID, "shape", "first %d", 1);
    glorotp_fail(&err, GLOROT_E_CONNECT, "", "second");
    glorotp_http_error(500, "", 0, &err);
    cr_expect_eq(err.code, GLOROT_E_INVALID);
    cr_expect_str_eq(err.message, "first 1");
    cr_expect_str_eq(err.param, "shape");
    cr_expect_eq(err.http_status, 0);
    cr_expect_eq(glorotp_fail(NULL, GLOROT_E_TLS, NULL, "x"), GLOROT_E_TLS);
}

/* ---- answer checks -------------------------------------------------------------- */

static void resolved(gp_request *r, const char *shape, const char *algorithm, int seeded)
{
    glorot_request req;
    glorot_error err = {0};
    glorot_request_init(&req);
    cr_assert_eq(glorot_request_set(&req, "shape", shape, &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(&req, "algorithm", algorithm, &err), GLOROT_OK);
    if (seeded)
        cr_assert_eq(glorot_request_set(&req, "seed", "5", &err), GLOROT_OK);
    if (strcmp(algorithm, "mlx-seeded") == 0)
        cr_assert_eq(glorot_request_set(&req, "call", "2", &err), GLOROT_OK);
    cr_assert_eq(glorotp_resolve(&req, r, &err), GLOROT_OK, "%s", err.message);
}

static void answer_headers(glorotp_headers *h, const gp_request *r, const char *seed,
                           const char *replace)
{
    char lines[12][240];
    size_t n = 0;
    char shape[200];
    gp_shape_text(r->shape, r->rank, shape, sizeof shape);
    snprintf(lines[n++], sizeof lines[0], "Glorot-Seed: %s", seed);
    snprintf(lines[n++], sizeof lines[0], "Glorot-Algorithm: %s", gp_algorithm_name(r->algorithm));
    snprintf(lines[n++], sizeof lines[0], "Glorot-Dtype: %s", gp_dtype_name(r->dtype));
    snprintf(lines[n++], sizeof lines[0], "Glorot-Shape: %s", shape);
    snprintf(lines[n++], sizeof lines[0], "Glorot-Fan-In: %llu", (unsigned long long)r->fan_in);
    snprintf(lines[n++], sizeof lines[0], "Glorot-Fan-Out: %llu", (unsigned long long)r->fan_out);
    snprintf(lines[n++], sizeof lines[0], "Glorot-Limit: %.17g", r->limit);
    snprintf(lines[n++], sizeof lines[0], "Glorot-Gain: %s", r->gain_spec);
    snprintf(lines[n++], sizeof lines[0], "Glorot-Format: %s", gp_format_name(r->format));
    if (r->algorithm == GP_ALG_MLX_SEEDED)
        snprintf(lines[n++], sizeof lines[0], "Glorot-Call: %llu", (unsigned long long)r->call);
    glorotp_headers_reset(h);
    glorotp_header_line(h, "HTTP/1.1 200 OK", 15);
    size_t name_len = strcspn(replace, ":");
    for (size_t i = 0; i < n; i++) {
        const char *line = lines[i];
        if (replace[0] == '-' && strncmp(line, replace + 1, strlen(replace + 1)) == 0)
            continue;
        if (replace[0] != '\0' && replace[0] != '-' && strncmp(line, replace, name_len + 1) == 0)
            line = replace;
        glorotp_header_line(h, line, strlen(line));
    }
    glorotp_header_line(h, "", 0);
}

typedef struct {
    char algorithm[16];
    int seeded;
    char seed[24];
    char replace[64]; /* "Name: value" replaces that header; "-Name" removes it */
    glorot_code expected;
} answer_case;

ParameterizedTestParameters(units, check_answer)
{
    static answer_case cases[] = {
        {"chacha20", 1, "5", "", GLOROT_OK},
        {"chacha20", 0, "18446744073709551615", "", GLOROT_OK},
        {"chacha20", 1, "6", "", GLOROT_E_PROTOCOL},
        {"chacha20", 0, "18446744073709551616", "", GLOROT_E_PROTOCOL},
        {"chacha20", 0, "+5", "", GLOROT_E_PROTOCOL},
        {"chacha20", 1, "5", "-Glorot-Seed", GLOROT_E_PROTOCOL},
        {"chacha20", 1, "5", "-Glorot-Limit", GLOROT_OK},
        {"chacha20", 1, "5", "-Glorot-Dtype", GLOROT_OK},
        {"chacha20", 1, "5", "Glorot-Dtype: float64", GLOROT_E_PROTOCOL},
        {"chacha20", 1, "5", "Glorot-Format: npy", GLOROT_E_PROTOCOL},
        {"chacha20", 1, "5", "Glorot-Shape: 30,20 ", GLOROT_OK},
        {"chacha20", 1, "5", "Glorot-Shape: 30, 20", GLOROT_E_PROTOCOL},
        {"chacha20", 1, "5", "Glorot-Gain: 2", GLOROT_E_PROTOCOL},
        {"chacha20", 1, "5", "Glorot-Fan-Out: 31", GLOROT_E_PROTOCOL},
        {"chacha20", 1, "5", "Glorot-Fan-In: x", GLOROT_E_PROTOCOL},
        {"chacha20", 1, "5", "Glorot-Limit: 0.35355339059327373", GLOROT_E_PROTOCOL},
        {"chacha20", 1, "5", "Glorot-Limit: 0.3535533905932737x", GLOROT_E_PROTOCOL},
        {"mlx-seeded", 1, "5", "", GLOROT_OK},
        {"mlx-seeded", 1, "5", "Glorot-Call: 3", GLOROT_E_PROTOCOL},
        {"mlx", 1, "5", "Glorot-Algorithm: mlx-seeded", GLOROT_E_PROTOCOL},
    };
    return cr_make_param_array(answer_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(answer_case *ac, units, check_answer)
{
    gp_request r;
    glorotp_headers h;
    glorot_error err = {0};
    uint64_t seed = 0;
    resolved(&r, "30,20", ac->algorithm, ac->seeded);
    answer_headers(&h, &r, ac->seed, ac->replace);
    glorot_code rc = glorotp_check_answer(&h, &r, &seed, &err);
    cr_expect_eq(rc, ac->expected, "%s / %s: %s", ac->seed, ac->replace, err.message);
    if (rc == GLOROT_OK)
        cr_expect_eq(seed, strtoull(ac->seed, NULL, 10));
}

/* ---- requests ----------------------------------------------------------------- */

typedef struct {
    char key[16];
    char value[64];
    glorot_code expected;
    char param[16];
} set_case;

ParameterizedTestParameters(units, request_set)
{
    static set_case cases[] = {
        {"shape", "256,512", GLOROT_OK, ""},
        {"shape", "1,2,3,4,5,6,7,8", GLOROT_OK, ""},
        {"shape", "1,2,3,4,5,6,7,8,9", GLOROT_E_INVALID, "shape"},
        {"shape", "256", GLOROT_OK, ""}, /* rank 1: valid for uniform, normal, ... */
        {"shape", "256,,2", GLOROT_E_INVALID, "shape"},
        {"shape", "256x512", GLOROT_E_INVALID, "shape"},
        {"seed", "18446744073709551615", GLOROT_OK, ""},
        {"seed", "18446744073709551616", GLOROT_E_INVALID, "seed"},
        {"seed", "-1", GLOROT_E_INVALID, "seed"},
        {"dtype", "bfloat16", GLOROT_OK, ""},
        {"dtype", "float8", GLOROT_E_INVALID, "dtype"},
        {"algorithm", "mlx-seeded", GLOROT_OK, ""},
        {"algorithm", "philox", GLOROT_E_INVALID, "algorithm"},
        {"fan", "torch", GLOROT_OK, ""},
        {"gain", "leaky_relu:0.2", GLOROT_OK, ""},
        {"gain", "lots", GLOROT_E_INVALID, "gain"},
        {"call", "0", GLOROT_E_INVALID, "call"},
        {"fan_in", "12", GLOROT_OK, ""},
        {"format", "safetensors", GLOROT_OK, ""},
        {"format", "csv", GLOROT_E_INVALID, "format"},
        {"name", "layer.0.weight", GLOROT_OK, ""},
        {"colour", "red", GLOROT_E_INVALID, "colour"},
    };
    return cr_make_param_array(set_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(set_case *sc, units, request_set)
{
    glorot_request req, before;
    glorot_error err = {0};
    glorot_request_init(&req);
    before = req;
    glorot_code rc = glorot_request_set(&req, sc->key, sc->value, &err);
    cr_expect_eq(rc, sc->expected, "%s=%s: %s", sc->key, sc->value, err.message);
    cr_expect_str_eq(err.param, sc->param);
    if (rc != GLOROT_OK)
        cr_expect_arr_eq(&req, &before, sizeof req, "a rejected value changed the request");
}

Test(units, request_set_fields)
{
    glorot_request req;
    glorot_error err = {0};
    glorot_request_init(&req);
    const char *dtype = "float16";
    cr_assert_eq(glorot_request_set(&req, "shape", "3,4,5", &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(&req, "seed", "9", &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(&req, "dtype", dtype, &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(&req, "fan_out", "7", &err), GLOROT_OK);
    cr_expect_eq(req.rank, 3);
    cr_expect(req.shape[0] == 3 && req.shape[1] == 4 && req.shape[2] == 5);
    cr_expect(req.seed_set && req.seed == 9);
    cr_expect_eq(req.dtype, dtype, "text values are kept by pointer");
    cr_expect_eq(req.fan_out, 7);
}

typedef struct {
    char label[32];
    char shape[32];
    char dtype[12];
    char format[12];
    uint64_t reserved0;
    uint64_t expected_size;
    glorot_code expected;
} size_case;

ParameterizedTestParameters(units, size)
{
    static size_case cases[] = {
        {"f32", "256,512", "float32", "raw", 0, 524288, GLOROT_OK},
        {"f16", "3,5,7", "float16", "raw", 0, 210, GLOROT_OK},
        {"f64", "10,10", "float64", "raw", 0, 800, GLOROT_OK},
        {"json", "10,10", "float32", "json", 0, GLOROT_SIZE_UNKNOWN, GLOROT_OK},
        {"reserved", "10,10", "float32", "raw", 1, 0, GLOROT_E_INVALID},
        {"no shape", "", "float32", "raw", 0, 0, GLOROT_E_INVALID},
    };
    return cr_make_param_array(size_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(size_case *sc, units, size)
{
    glorot_request req;
    glorot_error err = {0};
    uint64_t size = 0;
    glorot_request_init(&req);
    if (sc->shape[0] != '\0')
        cr_assert_eq(glorot_request_set(&req, "shape", sc->shape, &err), GLOROT_OK);
    req.dtype = sc->dtype;
    req.format = sc->format;
    req.reserved[0] = sc->reserved0;
    cr_expect_eq(glorot_size(&req, &size, &err), sc->expected, "%s: %s", sc->label, err.message);
    if (sc->expected == GLOROT_OK)
        cr_expect_eq(size, sc->expected_size, "%s", sc->label);
}

Test(units, npy_size_includes_header)
{
    glorot_request req;
    glorot_error err = {0};
    uint64_t raw = 0, npy = 0;
    glorot_request_init(&req);
    cr_assert_eq(glorot_request_set(&req, "shape", "4,4", &err), GLOROT_OK);
    cr_assert_eq(glorot_size(&req, &raw, &err), GLOROT_OK);
    req.format = "npy";
    cr_assert_eq(glorot_size(&req, &npy, &err), GLOROT_OK);
    cr_expect_eq(raw, 64);
    cr_expect_gt(npy, raw);
    cr_expect_eq((npy - raw) % 16, 0, "npy headers keep the data aligned");
}

Test(units, generate_needs_seed_and_room)
{
    glorot_request req;
    glorot_error err = {0};
    unsigned char buf[64];
    memset(buf, 0x11, sizeof buf);
    glorot_request_init(&req);
    cr_assert_eq(glorot_request_set(&req, "shape", "4,4", &err), GLOROT_OK);
    cr_expect_eq(glorot_generate(&req, buf, sizeof buf, NULL, &err), GLOROT_E_INVALID);
    cr_expect_str_eq(err.param, "seed");
    memset(&err, 0, sizeof err);
    cr_assert_eq(glorot_request_set(&req, "seed", "1", &err), GLOROT_OK);
    cr_expect_eq(glorot_generate(&req, buf, 63, NULL, &err), GLOROT_E_BUFFER);
    for (size_t i = 0; i < sizeof buf; i++)
        cr_assert_eq(buf[i], 0x11);
    req.format = "json";
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_generate(&req, buf, sizeof buf, NULL, &err), GLOROT_E_BUFFER,
                 "json for 16 values does not fit 64 bytes");
}

/* ---- query strings ------------------------------------------------------------- */

Test(units, query_is_explicit_and_escaped)
{
    glorot_request req;
    glorot_error err = {0};
    gp_request r;
    glorotp_str q;
    glorot_request_init(&req);
    cr_assert_eq(glorot_request_set(&req, "shape", "2,3", &err), GLOROT_OK);
    req.gain = "leaky_relu:0.2";
    req.name = "a b&c=d/\xc3\xa9";
    cr_assert_eq(glorotp_resolve(&req, &r, &err), GLOROT_OK, "%s", err.message);
    glorotp_str_init(&q, 0);
    cr_assert_eq(glorotp_build_query(&req, &r, &q), 0);
    cr_expect_str_eq(q.data, "shape=2,3&dtype=float32&algorithm=chacha20&fan=mlx&format=raw&"
                             "gain=leaky_relu%3A0.2&name=a%20b%26c%3Dd%2F%C3%A9");
    glorotp_str_free(&q);

    gp_request_set_seed(&r, 18446744073709551615ull);
    req.fan_in = 3;
    glorotp_str_init(&q, 0);
    cr_assert_eq(glorotp_build_query(&req, &r, &q), 0);
    cr_expect(strstr(q.data, "&seed=18446744073709551615&fan_in=3") != NULL, "%s", q.data);
    glorotp_str_free(&q);
}

Test(units, str_respects_its_cap)
{
    glorotp_str s;
    glorotp_str_init(&s, 8);
    cr_expect_eq(glorotp_str_adds(&s, "12345678"), 0);
    cr_expect_eq(glorotp_str_adds(&s, "9"), -1);
    cr_expect_eq(s.len, 8);
    cr_expect_str_eq(s.data, "12345678");
    glorotp_str_free(&s);
    glorotp_str_init(&s, 0);
    cr_expect_eq(glorotp_str_addu64(&s, 0), 0);
    cr_expect_eq(glorotp_str_addu64(&s, UINT64_MAX), 0);
    cr_expect_str_eq(s.data, "018446744073709551615");
    glorotp_str_free(&s);
}

/* ---- client options ------------------------------------------------------------ */

typedef struct {
    char label[32];
    char url[64];
    long timeout;
    int retries;
    int verify;
    char token[32];
    glorot_code expected;
    char param[16];
} client_case;

ParameterizedTestParameters(units, client_new)
{
    static client_case cases[] = {
        {"plain", "http://127.0.0.1:8080", 0, 0, 0, "", GLOROT_OK, ""},
        {"prefix and slash", "https://example.org/glorot/", 0, 0, 0, "", GLOROT_OK, ""},
        {"upper-case scheme", "HTTP://h", 0, 0, 0, "", GLOROT_OK, ""},
        {"empty", "", 0, 0, 0, "", GLOROT_E_INVALID, "url"},
        {"ftp", "ftp://h/", 0, 0, 0, "", GLOROT_E_INVALID, "url"},
        {"no host", "http:///x", 0, 0, 0, "", GLOROT_E_INVALID, "url"},
        {"only slashes", "http://///", 0, 0, 0, "", GLOROT_E_INVALID, "url"},
        {"query", "http://h/?a=b", 0, 0, 0, "", GLOROT_E_INVALID, "url"},
        {"space", "http://h /", 0, 0, 0, "", GLOROT_E_INVALID, "url"},
        {"newline", "http://h\n", 0, 0, 0, "", GLOROT_E_INVALID, "url"},
        {"negative timeout", "http://h", -1, 0, 0, "", GLOROT_E_INVALID, ""},
        {"retries too many", "http://h", 0, 101, 0, "", GLOROT_E_INVALID, "retries"},
        {"retries -2", "http://h", 0, -2, 0, "", GLOROT_E_INVALID, "retries"},
        {"no retries", "http://h", 0, GLOROT_RETRIES_NONE, 0, "", GLOROT_OK, ""},
        {"verify 9", "http://h", 0, 0, 9, "", GLOROT_E_INVALID, "verify"},
        {"token", "http://h", 0, 0, 0, "abc.def", GLOROT_OK, ""},
        {"token with CRLF", "http://h", 0, 0, 0, "abc\r\nX-Evil: 1", GLOROT_E_INVALID,
         "bearer_token"},
    };
    return cr_make_param_array(client_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(client_case *cc, units, client_new)
{
    glorot_options o = {0};
    glorot_error err = {0};
    o.timeout_ms = cc->timeout;
    o.retries = cc->retries;
    o.verify = (glorot_verify)cc->verify;
    o.bearer_token = cc->token[0] != '\0' ? cc->token : NULL;
    glorot_client *c = glorot_client_new(cc->url, &o, &err);
    cr_expect_eq(err.code, cc->expected, "%s: %s", cc->label, err.message);
    cr_expect_eq(c != NULL, cc->expected == GLOROT_OK, "%s", cc->label);
    cr_expect_str_eq(err.param, cc->param, "%s", cc->label);
    if (c != NULL && cc->expected == GLOROT_OK && strcmp(cc->label, "prefix and slash") == 0)
        cr_expect_str_eq(c->base_url, "https://example.org/glorot");
    glorot_client_free(c);
}

Test(units, client_defaults_and_copies)
{
    char token[] = "tok";
    glorot_options o = {0};
    glorot_error err = {0};
    o.bearer_token = token;
    glorot_client *c = glorot_client_new("http://h", &o, &err);
    cr_assert_not_null(c);
    token[0] = 'X';
    cr_expect_str_eq(c->token, "tok", "the token is copied");
    cr_expect_str_eq(c->headers->data, "Authorization: Bearer tok");
    cr_expect_eq(c->s.retries, 3);
    cr_expect_eq(c->s.connect_timeout_ms, 10000);
    cr_expect_eq(c->s.idle_timeout_ms, 30000);
    cr_expect_eq(c->s.timeout_ms, 0);
    cr_expect_str_eq(c->user_agent, "libglorot-client/" GLOROT_CLIENT_VERSION);
    glorot_client_free(c);
    glorot_client_free(NULL);
}

Test(units, strerror_covers_every_code)
{
    for (int code = GLOROT_OK; code <= GLOROT_E_INTERNAL; code++) {
        const char *text = glorot_strerror((glorot_code)code);
        cr_assert_not_null(text);
        cr_expect_neq(strcmp(text, "unknown error"), 0, "code %d has no text", code);
    }
    cr_expect_str_eq(glorot_strerror((glorot_code)999), "unknown error");
    cr_expect_str_eq(glorot_version(), GLOROT_CLIENT_VERSION);
}

/* ---- sample positions -------------------------------------------------------------- */

Test(units, sample_positions_cover_the_tensor)
{
    static glorotp_verifier v;
    gp_request r;
    glorot_error err = {0};
    resolved(&r, "1000,999", "chacha20", 1);
    cr_assert_eq(glorotp_verify_init(&v, GLOROT_VERIFY_SAMPLE, &r, &err), GLOROT_OK);
    cr_expect_eq(v.samples, GLOROTP_SAMPLE_COUNT);
    uint64_t previous = 0, varied = 0;
    for (uint64_t k = 0; k < v.samples; k++) {
        uint64_t idx = glorotp_sample_index(&v, k);
        cr_assert(idx >= k * v.stride && idx < (k + 1) * v.stride, "slot %llu",
                  (unsigned long long)k);
        cr_assert(k == 0 || idx > previous);
        varied += idx % v.stride != 0;
        previous = idx;
    }
    cr_expect_gt(varied, v.samples / 2, "positions inside the slots vary");

    resolved(&r, "10,10", "chacha20", 1);
    cr_assert_eq(glorotp_verify_init(&v, GLOROT_VERIFY_SAMPLE, &r, &err), GLOROT_OK);
    cr_expect_eq(v.samples, 100, "small tensors are checked element by element");
    cr_expect_eq(v.stride, 1);
}

Test(units, verify_chunk_finds_the_byte)
{
    static glorotp_verifier v;
    gp_request r;
    glorot_error err = {0};
    resolved(&r, "64,64", "mlx", 1);
    unsigned char body[64 * 64 * 4];
    glorot_request req;
    glorot_request_init(&req);
    cr_assert_eq(glorot_request_set(&req, "shape", "64,64", &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(&req, "algorithm", "mlx", &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(&req, "seed", "5", &err), GLOROT_OK);
    cr_assert_eq(glorot_generate(&req, body, sizeof body, NULL, &err), GLOROT_OK);
    cr_assert_eq(glorotp_verify_init(&v, GLOROT_VERIFY_FULL, &r, &err), GLOROT_OK);
    cr_expect_eq(glorotp_verify_chunk(&v, 0, body, 1000, &err), GLOROT_OK);
    cr_expect_eq(glorotp_verify_chunk(&v, 1000, body + 1000, sizeof body - 1000, &err), GLOROT_OK);
    body[9999] ^= 0x80;
    cr_expect_eq(glorotp_verify_chunk(&v, 9000, body + 9000, 2000, &err), GLOROT_E_VERIFY);
    cr_expect(strstr(err.message, "byte 9999 ") != NULL && strstr(err.message, "element 2499"),
              "%s", err.message);
}

/* ---- glorot_describe -------------------------------------------------------------- */

typedef struct {
    char kv[4][2][24]; /* key, value; "" ends */
    glorot_code want;
    char param[16];
    size_t rank;
    uint64_t out[3]; /* the part's shape */
    uint64_t size;
} describe_case;

ParameterizedTestParameters(units, describe)
{
    static describe_case cases[] = {
        {{{"shape", "10,6"}, {"seed", "3"}, {"", ""}}, GLOROT_OK, "", 2, {10, 6}, 240},
        {{{"shape", "10,6"}, {"shard", "3/4"}, {"dtype", "bfloat16"}, {"", ""}},
         GLOROT_OK,
         "",
         2,
         {2, 6},
         24},
        {{{"shape", "10,6,4"}, {"slice", ":,1:3"}, {"dtype", "float64"}, {"", ""}},
         GLOROT_OK,
         "",
         3,
         {10, 2, 4},
         640},
        {{{"shape", "10,6"}, {"format", "json"}, {"", ""}},
         GLOROT_OK,
         "",
         2,
         {10, 6},
         GLOROT_SIZE_UNKNOWN},
        {{{"shape", "10,6"}, {"shard", "1/2"}, {"slice", "0:1"}, {"", ""}},
         GLOROT_E_INVALID,
         "shard",
         0,
         {0},
         0},
        {{{"seed", "1"}, {"", ""}}, GLOROT_E_INVALID, "shape", 0, {0}, 0},
    };
    return cr_make_param_array(describe_case, cases, sizeof cases / sizeof cases[0]);
}

/* The part and size without generating; the same meta glorot_generate reports. */
ParameterizedTest(describe_case *dc, units, describe)
{
    glorot_request req;
    glorot_request_init(&req);
    glorot_error err = {0};
    for (size_t i = 0; i < 4 && dc->kv[i][0][0]; i++)
        cr_assert_eq(glorot_request_set(&req, dc->kv[i][0], dc->kv[i][1], &err), GLOROT_OK);
    glorot_meta meta;
    cr_assert_eq(glorot_describe(&req, &meta, &err), dc->want, "%s", err.message);
    cr_expect_str_eq(err.param, dc->param, "%s", err.message);
    if (dc->want != GLOROT_OK)
        return;
    cr_expect_eq(meta.rank, dc->rank);
    for (size_t i = 0; i < dc->rank; i++)
        cr_expect_eq(meta.part_stop[i] - meta.part_start[i], dc->out[i], "axis %zu", i);
    cr_expect_eq(meta.size, dc->size);
    if (dc->size == GLOROT_SIZE_UNKNOWN || !req.seed_set)
        return;
    unsigned char buf[640];
    glorot_meta made;
    cr_assert_eq(glorot_generate(&req, buf, sizeof buf, &made, &err), GLOROT_OK, "%s", err.message);
    cr_expect_arr_eq(&made, &meta, sizeof meta, "describe and generate disagree");
}

Test(units, describe_needs_its_arguments)
{
    glorot_request req;
    glorot_request_init(&req);
    glorot_meta meta;
    glorot_error err = {0};
    cr_expect_eq(glorot_describe(NULL, &meta, &err), GLOROT_E_INVALID);
    cr_expect_eq(glorot_describe(&req, NULL, NULL), GLOROT_E_INVALID);
}
