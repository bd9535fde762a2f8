/*
 * test_server_pool.c - bodies that fit one pooled buffer are generated
 * whole (stream.c make_whole), larger ones are streamed block by block.
 * Against one daemon: bodies on both sides of the boundary, in every binary
 * format and in byte ranges, equal the core library's bytes; HEAD of a small
 * body sends its length and no body; many small answers in a row through one
 * connection (buffers going back and out again). The pools themselves
 * (server/pool.c) are tested in tests/unit/server/test_pool.c.
 */
#include "test_server_util.h"

#include <criterion/parameterized.h>

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    static const char *const extra[] = {"--threads", "2", NULL};
    ts_shared_start(extra);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    ts_shared_stop();
}

/* ---- against the daemon ------------------------------------------------------------ */

typedef struct {
    char shape[24];
    char dtype[12];
    char format[16];
    char algorithm[12];
    char range[32]; /* "" = whole body */
} body_case;

/* 256x256 float32 = 262144 bytes: whole, with or without an npy header;
 * 260x256 = 266240 and 512x256: streamed; 16x16, 1x1: tiny. */
static body_case body_cases[] = {
    {"1,1", "float32", "raw", "chacha20", ""},
    {"16,16", "float16", "npy", "mlx", ""},
    {"256,256", "float32", "raw", "chacha20", ""},
    {"256,256", "float32", "npy", "mlx", ""},
    {"256,256", "float32", "safetensors", "chacha20", ""},
    {"259,256", "float32", "raw", "mlx", ""},
    {"260,256", "float32", "raw", "chacha20", ""},
    {"260,256", "float32", "npy", "chacha20", ""},
    {"512,256", "bfloat16", "raw", "mlx", ""},
    {"512,256", "float32", "raw", "chacha20", ""},
    {"512,256", "float32", "raw", "chacha20", "bytes=1000-263000"},
    {"512,256", "float64", "npy", "chacha20", "bytes=524000-"},
    {"256,256", "float32", "raw", "mlx", "bytes=7-70000"},
};

ParameterizedTestParameters(server_bodies, equal_core)
{
    return cr_make_param_array(body_case, body_cases, sizeof body_cases / sizeof body_cases[0]);
}

static size_t range_bounds(const char *spec, size_t len, size_t *first)
{
    unsigned long long a = 0, b = 0;
    int n = sscanf(spec, "bytes=%llu-%llu", &a, &b);
    cr_assert(n >= 1);
    if (n == 1 || b >= len)
        b = len - 1;
    *first = (size_t)a;
    return (size_t)(b - a + 1);
}

ParameterizedTest(body_case *c, server_bodies, equal_core)
{
    ts_pair pairs[TS_MAX_PAIRS] = {
        {"shape", ""}, {"dtype", ""}, {"format", ""}, {"algorithm", ""}, {"seed", "77"}};
    snprintf(pairs[0].value, sizeof pairs[0].value, "%s", c->shape);
    snprintf(pairs[1].value, sizeof pairs[1].value, "%s", c->dtype);
    snprintf(pairs[2].value, sizeof pairs[2].value, "%s", c->format);
    snprintf(pairs[3].value, sizeof pairs[3].value, "%s", c->algorithm);
    gp_request r;
    gp_error err = {0};
    cr_assert_eq(ts_build(pairs, TS_MAX_PAIRS, &r, &err), GP_OK, "%s", err.message);
    size_t len, first = 0;
    unsigned char *want = ts_body(&r, &len);
    size_t n = c->range[0] ? range_bounds(c->range, len, &first) : len;

    char q[512], url[640];
    ts_query(pairs, TS_MAX_PAIRS, q, sizeof q);
    snprintf(url, sizeof url, "%s/v1/glorot_uniform%s", ts_url(), q);
    th_response resp;
    const char *const plain[] = {url, NULL};
    const char *const ranged[] = {"-H", "", url, NULL};
    char range_header[64];
    snprintf(range_header, sizeof range_header, "Range: %s", c->range);
    const char *const *args = plain;
    if (c->range[0]) {
        ((const char **)ranged)[1] = range_header;
        args = ranged;
    }
    cr_assert_eq(th_curl(&resp, args), 0);
    cr_assert_eq(resp.status, c->range[0] ? 206 : 200, "status %d%s", resp.status, ts_diag());
    cr_assert_eq(resp.body_len, n, "%zu bytes, want %zu", resp.body_len, n);
    cr_assert_eq(memcmp(resp.body, want + first, n), 0, "%s %s %s %s %s: bytes differ", c->shape,
                 c->dtype, c->format, c->algorithm, c->range);
    th_response_free(&resp);
    free(want);
}

/* HEAD of a body that would be generated whole: the GET's length, no body. */
Test(server_bodies, head_small)
{
    char url[256];
    snprintf(url, sizeof url, "%s/v1/glorot_uniform?shape=16,16&seed=3", ts_url());
    const char *const args[] = {"-I", url, NULL};
    th_response r;
    cr_assert_eq(th_curl(&r, args), 0);
    char cl[32];
    cr_assert_eq(r.status, 200);
    cr_assert_eq(th_header(&r, "Content-Length", cl, sizeof cl), 0);
    cr_expect_str_eq(cl, "1024");
    th_response_free(&r);
}

/* 300 small answers one after another on one keep-alive connection: every
 * pooled buffer goes back and out again, and each answer carries its own
 * seed's bytes. */
Test(server_bodies, many_in_a_row)
{
    int fd = ts_connect(ts_port());
    for (int i = 0; i < 300; i++) {
        char req[128];
        snprintf(req, sizeof req,
                 "GET /v1/glorot_uniform?shape=8,8&seed=%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
        ts_send_str(fd, req);
        ts_head h;
        ts_read_response(fd, &h);
        cr_assert_eq(h.status, 200, "answer %d: %s", i, h.head);

        ts_pair pairs[TS_MAX_PAIRS] = {{"shape", "8,8"}, {"seed", ""}};
        snprintf(pairs[1].value, sizeof pairs[1].value, "%d", i);
        gp_request r;
        gp_error err = {0};
        cr_assert_eq(ts_build(pairs, TS_MAX_PAIRS, &r, &err), GP_OK);
        size_t len;
        unsigned char *want = ts_body(&r, &len);
        cr_assert_eq(h.body_len, len);
        cr_assert_eq(memcmp(h.body, want, len), 0, "answer %d differs", i);
        free(want);
    }
    close(fd);
}
