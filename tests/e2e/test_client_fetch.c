/*
 * test_client_fetch.c - libglorot-client against a real glorotd on loopback.
 *
 * Every fetch path (buffer, callback, verified, server-drawn seed) must give
 * the bytes that glorot_generate and the proto library (gp_*) give directly.
 * Also: a too-small buffer is refused before any request reaches the daemon,
 * server errors reach the caller intact, and a daemon killed mid-stream, a
 * closed port and a silent listener each give their own clean error.
 */
#include "glorot/client.h"
#include "glorot_proto.h"
#include "test_server_util.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One daemon for the equality cases, started by the runner before the test
 * processes exist; they find it through the environment. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    ts_shared_start(NULL);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    ts_shared_stop();
}

/* ---- helpers ----------------------------------------------------------------- */

typedef struct {
    char algorithm[16];
    char dtype[12];
    char shape[32];
    char format[16];
    char gain[16];
    uint64_t seed;
    uint64_t call; /* 0 = not given */
} fetch_case;

static void request_from(const fetch_case *fc, glorot_request *req, int with_seed)
{
    glorot_error err = {0};
    char seed[24], call[24];
    glorot_request_init(req);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)fc->seed);
    snprintf(call, sizeof call, "%llu", (unsigned long long)fc->call);
    cr_assert_eq(glorot_request_set(req, "shape", fc->shape, &err), GLOROT_OK, "%s", err.message);
    cr_assert_eq(glorot_request_set(req, "algorithm", fc->algorithm, &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(req, "dtype", fc->dtype, &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(req, "format", fc->format, &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(req, "gain", fc->gain, &err), GLOROT_OK);
    if (with_seed)
        cr_assert_eq(glorot_request_set(req, "seed", seed, &err), GLOROT_OK);
    if (fc->call != 0)
        cr_assert_eq(glorot_request_set(req, "call", call, &err), GLOROT_OK, "%s", err.message);
}

static void gp_set_text(gp_request *r, const char *key, const char *value)
{
    gp_error gerr = {0};
    cr_assert_eq(gp_request_set(r, key, strlen(key), value, strlen(value), &gerr), GP_OK, "%s",
                 gerr.message);
}

/* The bytes straight from the proto library, bypassing libglorot-client. */
static unsigned char *proto_bytes(const fetch_case *fc, uint64_t seed, size_t *len, gp_request *out)
{
    gp_request r;
    gp_error gerr = {0};
    char seed_text[24], call[24];
    gp_request_init(&r);
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
    gp_set_text(&r, "shape", fc->shape);
    gp_set_text(&r, "algorithm", fc->algorithm);
    gp_set_text(&r, "dtype", fc->dtype);
    gp_set_text(&r, "format", fc->format);
    gp_set_text(&r, "gain", fc->gain);
    gp_set_text(&r, "seed", seed_text);
    if (fc->call != 0) {
        snprintf(call, sizeof call, "%llu", (unsigned long long)fc->call);
        gp_set_text(&r, "call", call);
    }
    cr_assert_eq(gp_request_finish(&r, NULL, &gerr), GP_OK, "%s", gerr.message);
    static gp_body body;
    cr_assert_eq(gp_body_init(&body, &r, &gerr), GP_OK, "%s", gerr.message);
    size_t cap = 1 << 16, n = 0, got;
    unsigned char *buf = malloc(cap);
    cr_assert_not_null(buf);
    while ((got = gp_body_read(&body, n, buf + n, cap - n)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
    }
    *len = n;
    *out = r;
    return buf;
}

typedef struct {
    unsigned char *data;
    size_t len, cap;
    size_t calls;
    int out_of_order;
} collected;

static int collect(void *user, uint64_t offset, const void *data, size_t len)
{
    collected *c = user;
    if (offset != c->len)
        c->out_of_order = 1;
    if (c->len + len > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + len)
            cap *= 2;
        c->data = realloc(c->data, cap);
        if (c->data == NULL)
            return 1;
        c->cap = cap;
    }
    memcpy(c->data + c->len, data, len);
    c->len += len;
    c->calls++;
    return 0;
}

static glorot_client *client_for(const char *url, glorot_verify verify)
{
    glorot_options o = {0};
    glorot_error err = {0};
    o.verify = verify;
    o.timeout_ms = 60000;
    o.retry_base_ms = 20;
    glorot_client *c = glorot_client_new(url, &o, &err);
    cr_assert_not_null(c, "%s", err.message);
    return c;
}

static void check_meta(const glorot_meta *m, const gp_request *r, size_t size)
{
    cr_expect_eq(m->seed, r->seed);
    cr_expect_str_eq(m->algorithm, gp_algorithm_name(r->algorithm));
    cr_expect_str_eq(m->dtype, gp_dtype_name(r->dtype));
    cr_expect_str_eq(m->format, gp_format_name(r->format));
    cr_expect_str_eq(m->gain, r->gain_spec);
    cr_expect_eq(m->rank, r->rank);
    cr_expect_arr_eq(m->shape, r->shape, r->rank * sizeof r->shape[0]);
    cr_expect_eq(m->fan_in, r->fan_in);
    cr_expect_eq(m->fan_out, r->fan_out);
    cr_expect(m->limit == r->limit, "limit %.17g != %.17g", m->limit, r->limit);
    cr_expect_eq(m->numel, r->numel);
    cr_expect_eq(m->size, size);
}

/* ---- every fetch path equals local generation ---------------------------------- */

ParameterizedTestParameters(fetch, equals_local)
{
    static fetch_case cases[] = {
        {"chacha20", "float32", "256,512", "raw", "1", 42, 0},
        {"chacha20", "float16", "64,3,3,3", "raw", "relu", 7, 0},
        {"chacha20", "bfloat16", "33,17", "npy", "1.5", 1, 0},
        {"chacha20", "float64", "5,7,11", "safetensors", "1", UINT64_MAX, 0},
        {"chacha20", "float32", "20,30", "json", "0.5", 11, 0},
        {"mlx", "float32", "1000,1000", "raw", "1", 3, 0},
        {"mlx", "float16", "31,29", "raw", "tanh", 123, 0},
        {"mlx", "bfloat16", "16,16,3", "npy", "1", 99, 0},
        {"mlx-seeded", "float32", "64,32", "raw", "1", 5, 3},
    };
    return cr_make_param_array(fetch_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(fetch_case *fc, fetch, equals_local)
{
    gp_request r;
    size_t len;
    unsigned char *want = proto_bytes(fc, fc->seed, &len, &r);
    glorot_request req;
    glorot_error err = {0};
    glorot_meta meta;
    request_from(fc, &req, 1);

    uint64_t size = 0;
    cr_assert_eq(glorot_size(&req, &size, &err), GLOROT_OK, "%s", err.message);
    if (strcmp(fc->format, "json") == 0)
        cr_expect_eq(size, GLOROT_SIZE_UNKNOWN);
    else
        cr_expect_eq(size, len);

    unsigned char *local = malloc(len), *fetched = malloc(len);
    cr_assert(local != NULL && fetched != NULL);
    cr_assert_eq(glorot_generate(&req, local, len, &meta, &err), GLOROT_OK, "%s", err.message);
    cr_expect_arr_eq(local, want, len, "glorot_generate differs from gp_body_read");
    check_meta(&meta, &r, len);

    glorot_client *c = client_for(ts_url(), GLOROT_VERIFY_NONE);
    cr_assert_eq(glorot_fetch(c, &req, fetched, len, &meta, &err), GLOROT_OK, "%s", err.message);
    cr_expect_arr_eq(fetched, want, len, "glorot_fetch differs from local generation");
    check_meta(&meta, &r, len);
    glorot_client_free(c);

    /* callback fetch with full verification */
    collected got = {0};
    c = client_for(ts_url(), GLOROT_VERIFY_FULL);
    cr_assert_eq(glorot_fetch_stream(c, &req, collect, &got, &meta, &err), GLOROT_OK, "%s",
                 err.message);
    cr_expect_not(got.out_of_order);
    cr_assert_eq(got.len, len);
    cr_expect_arr_eq(got.data, want, len, "glorot_fetch_stream differs from local generation");
    glorot_client_free(c);
    free(got.data);

    /* the server draws the seed; sampled verification regenerates with it */
    memset(&got, 0, sizeof got);
    request_from(fc, &req, 0);
    c = client_for(ts_url(), GLOROT_VERIFY_SAMPLE);
    cr_assert_eq(glorot_fetch_stream(c, &req, collect, &got, &meta, &err), GLOROT_OK, "%s",
                 err.message);
    glorot_client_free(c);
    size_t drawn_len;
    unsigned char *drawn = proto_bytes(fc, meta.seed, &drawn_len, &r);
    cr_assert_eq(got.len, drawn_len);
    cr_expect_arr_eq(got.data, drawn, drawn_len, "bytes for the drawn seed %llu differ",
                     (unsigned long long)meta.seed);
    check_meta(&meta, &r, drawn_len);
    free(drawn);
    free(got.data);
    free(local);
    free(fetched);
    free(want);
}

/* ---- a too-small buffer never reaches the daemon --------------------------------- */

static size_t count_requests(const char *dir, const char *needle)
{
    char path[192];
    snprintf(path, sizeof path, "%s/daemon.log", dir);
    unsigned char *log = th_read_file(path, NULL);
    size_t n = 0;
    for (const char *p = (const char *)log; p != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(log);
    return n;
}

Test(fetch, small_buffer_refused_before_transfer)
{
    th_daemon d;
    cr_assert_eq(th_daemon_start(&d, NULL), 0);
    glorot_client *c = client_for(d.base_url, GLOROT_VERIFY_NONE);
    glorot_request req;
    glorot_error err = {0};
    glorot_meta meta;
    glorot_request_init(&req);
    cr_assert_eq(glorot_request_set(&req, "shape", "256,512", &err), GLOROT_OK);
    size_t size = 256 * 512 * 4;
    unsigned char *buf = malloc(size);
    memset(buf, 0xA5, size);

    for (int seeded = 0; seeded < 2; seeded++) {
        req.seed_set = seeded;
        memset(&err, 0, sizeof err);
        cr_expect_eq(glorot_fetch(c, &req, buf, size - 1, &meta, &err), GLOROT_E_BUFFER);
        cr_expect_eq(err.code, GLOROT_E_BUFFER);
        cr_expect_eq(err.http_status, 0);
        cr_expect_eq(meta.size, 0);
    }
    for (size_t i = 0; i < size; i++)
        cr_assert_eq(buf[i], 0xA5, "byte %zu of the canary was written", i);

    /* positive control: a fitting buffer is logged, so the log would show a refused one */
    memset(&err, 0, sizeof err);
    cr_assert_eq(glorot_fetch(c, &req, buf, size, &meta, &err), GLOROT_OK, "%s", err.message);
    for (int waited = 0; waited < 1000 && count_requests(d.dir, "/v1/glorot_uniform") == 0;
         waited++)
        usleep(10000);
    cr_expect_eq(count_requests(d.dir, "/v1/glorot_uniform"), 1,
                 "the daemon saw a request for the refused buffer");
    glorot_client_free(c);
    free(buf);
    th_daemon_stop(&d);
}

/* ---- server errors reach the caller -------------------------------------------- */

Test(fetch, server_errors_surface)
{
    static const char *const extra[] = {"--max-elements", "1000", NULL};
    th_daemon d;
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    glorot_client *c = client_for(d.base_url, GLOROT_VERIFY_NONE);
    glorot_request req;
    glorot_error err = {0};
    glorot_request_init(&req);
    cr_assert_eq(glorot_request_set(&req, "shape", "100,100", &err), GLOROT_OK);
    collected got = {0};
    cr_expect_eq(glorot_fetch_stream(c, &req, collect, &got, NULL, &err), GLOROT_E_HTTP);
    cr_expect_eq(err.http_status, 413);
    cr_expect_str_eq(err.server_code, "too_large");
    cr_expect_str_eq(err.param, "shape");
    cr_expect(strstr(err.message, "1000") != NULL, "message: %s", err.message);
    cr_expect_eq(got.len, 0);
    glorot_client_free(c);

    /* a 404 with an empty param */
    char url[128];
    snprintf(url, sizeof url, "%s/nope", d.base_url);
    c = client_for(url, GLOROT_VERIFY_NONE);
    char *json = (char *)"untouched";
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_info(c, &json, &err), GLOROT_E_HTTP);
    cr_expect_null(json);
    cr_expect_eq(err.http_status, 404);
    cr_expect_str_eq(err.server_code, "not_found");
    cr_expect_str_eq(err.param, "");
    cr_expect(err.message[0] != '\0');
    glorot_client_free(c);

    /* a locally invalid request never leaves the process */
    c = client_for(d.base_url, GLOROT_VERIFY_NONE);
    req.dtype = "float8";
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_fetch_stream(c, &req, collect, &got, NULL, &err), GLOROT_E_INVALID);
    cr_expect_str_eq(err.param, "dtype");
    cr_expect_eq(err.http_status, 0);

    /* health and info on the same daemon */
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_health(c, &err), GLOROT_OK, "%s", err.message);
    cr_expect_eq(glorot_info(c, &json, &err), GLOROT_OK, "%s", err.message);
    cr_expect(json != NULL && strstr(json, "\"max_elements\":1000") != NULL, "%s", json);
    glorot_free(json);
    glorot_client_free(c);
    th_daemon_stop(&d);
}

/* ---- a daemon killed mid-stream ----------------------------------------------- */

typedef struct {
    th_daemon *d;
    uint64_t seen;
    int killed;
} killer;

static int kill_after_first_chunk(void *user, uint64_t offset, const void *data, size_t len)
{
    killer *k = user;
    (void)offset;
    (void)data;
    if (!k->killed) {
        th_daemon_signal_wait(k->d, SIGKILL);
        k->killed = 1;
    }
    k->seen += len;
    return 0;
}

static void kill_midstream(int retries, glorot_code expected)
{
    th_daemon d;
    cr_assert_eq(th_daemon_start(&d, NULL), 0);
    glorot_options o = {0};
    glorot_error err = {0};
    glorot_meta meta;
    o.retries = retries;
    o.retry_base_ms = 10;
    o.timeout_ms = 60000;
    glorot_client *c = glorot_client_new(d.base_url, &o, &err);
    glorot_request req;
    glorot_request_init(&req);
    /* 64 MiB: far more than the socket buffers can hold when the daemon dies */
    cr_assert_eq(glorot_request_set(&req, "shape", "4096,4096", &err), GLOROT_OK);
    killer k = {&d, 0, 0};
    glorot_code rc = glorot_fetch_stream(c, &req, kill_after_first_chunk, &k, &meta, &err);
    cr_expect_eq(rc, expected, "got %s: %s", glorot_strerror(rc), err.message);
    cr_expect_eq(err.code, rc);
    cr_expect(k.killed);
    cr_expect_lt(k.seen, (uint64_t)4096 * 4096 * 4);
    cr_expect_eq(meta.size, 0, "no success metadata after a failure");
    glorot_client_free(c);
    th_daemon_stop(&d);
}

Test(fetch, daemon_killed_midstream_without_retries)
{
    kill_midstream(GLOROT_RETRIES_NONE, GLOROT_E_PROTOCOL);
}

Test(fetch, daemon_killed_midstream_with_retries)
{
    /* the retries find the port closed */
    kill_midstream(2, GLOROT_E_CONNECT);
}

/* ---- unreachable and silent servers ------------------------------------------- */

/* A loopback socket bound to an ephemeral port; listening or not. */
static int loopback_socket(int listening, int *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    if (listening)
        cr_assert_eq(listen(fd, 4), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

Test(fetch, closed_port_is_connect_error)
{
    int port;
    int fd = loopback_socket(0, &port); /* bound, not listening: connections are refused */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    glorot_options o = {0};
    glorot_error err = {0};
    o.retry_base_ms = 5;
    glorot_client *c = glorot_client_new(url, &o, &err);
    glorot_request req;
    glorot_request_init(&req);
    cr_assert_eq(glorot_request_set(&req, "shape", "8,8", &err), GLOROT_OK);
    float buf[64];
    cr_expect_eq(glorot_fetch(c, &req, buf, sizeof buf, NULL, &err), GLOROT_E_CONNECT, "%s",
                 err.message);
    cr_expect(strstr(err.message, "after 4 attempts") != NULL, "%s", err.message);
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_health(c, &err), GLOROT_E_CONNECT);
    glorot_client_free(c);
    close(fd);
}

Test(fetch, silent_listener_times_out)
{
    int port;
    int fd = loopback_socket(1, &port); /* the kernel accepts; nobody ever answers */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    glorot_options o = {0};
    glorot_error err = {0};
    o.timeout_ms = 1000;
    glorot_client *c = glorot_client_new(url, &o, &err);
    glorot_request req;
    glorot_request_init(&req);
    cr_assert_eq(glorot_request_set(&req, "shape", "8,8", &err), GLOROT_OK);
    float buf[64];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_expect_eq(glorot_fetch(c, &req, buf, sizeof buf, NULL, &err), GLOROT_E_TIMEOUT, "%s",
                 err.message);
    double took = seconds_since(&t0);
    cr_expect(took >= 0.9 && took < 10, "took %.3f s for a 1 s timeout", took);
    glorot_client_free(c);
    close(fd);
}

/* ---- distinct clients in distinct threads ------------------------------------- */

typedef struct {
    const char *url;
    unsigned seed;
    glorot_code rc;
    int same;
} worker;

static void *fetch_in_thread(void *arg)
{
    worker *w = arg;
    glorot_error err = {0};
    glorot_options o = {0};
    o.verify = GLOROT_VERIFY_SAMPLE;
    /* every thread makes its first library call at once: global set-up races here */
    glorot_client *c = glorot_client_new(w->url, &o, &err);
    glorot_request req;
    glorot_request_init(&req);
    req.rank = 2;
    req.shape[0] = 300;
    req.shape[1] = 301;
    req.seed = w->seed;
    req.seed_set = 1;
    static const size_t size = 300 * 301 * 4;
    unsigned char *got = malloc(size), *want = malloc(size);
    w->rc = c != NULL && got != NULL && want != NULL ? glorot_fetch(c, &req, got, size, NULL, &err)
                                                     : GLOROT_E_NOMEM;
    if (w->rc == GLOROT_OK && glorot_generate(&req, want, size, NULL, &err) == GLOROT_OK)
        w->same = memcmp(got, want, size) == 0;
    free(got);
    free(want);
    glorot_client_free(c);
    return NULL;
}

Test(fetch, distinct_clients_in_distinct_threads)
{
    pthread_t threads[4];
    worker workers[4];
    for (unsigned i = 0; i < 4; i++) {
        workers[i] = (worker){ts_url(), 100 + i, GLOROT_E_INTERNAL, 0};
        cr_assert_eq(pthread_create(&threads[i], NULL, fetch_in_thread, &workers[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        cr_expect_eq(workers[i].rc, GLOROT_OK, "thread %u: %s", i, glorot_strerror(workers[i].rc));
        cr_expect(workers[i].same, "thread %u got other bytes", i);
    }
}
