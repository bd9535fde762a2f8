/*
 * test_ops_metrics.c - /metrics values after a known sequence of requests
 * (exact), request ids in responses and log lines, and JSON log lines that
 * parse, on live daemons.
 */
#include "test_ops_util.h"

/* One request of the known sequence. */
typedef struct {
    const char *path;
    const char *method; /* "GET", "HEAD", "POST" */
    int status;
} step;

static size_t run_step(const th_daemon *d, const step *s)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", d->base_url, s->path);
    th_response r;
    if (strcmp(s->method, "HEAD") == 0) {
        const char *const args[] = {"-I", url, NULL};
        cr_assert_eq(th_curl(&r, args), 0);
    } else if (strcmp(s->method, "POST") == 0) {
        const char *const args[] = {"-H",     "Content-Type: application/json",
                                    "--data", "{\"shape\": [2, 3], \"seed\": 4}",
                                    url,      NULL};
        cr_assert_eq(th_curl(&r, args), 0);
    } else {
        const char *const args[] = {url, NULL};
        cr_assert_eq(th_curl(&r, args), 0);
    }
    cr_assert_eq(r.status, s->status, "%s %s: %d %s", s->method, s->path, r.status,
                 (const char *)r.body);
    size_t len = strcmp(s->method, "HEAD") == 0 ? 0 : r.body_len;
    th_response_free(&r);
    return len;
}

static void expect_metric(const char *text, const char *series, double want)
{
    double got = ops_metric(text, series);
    cr_expect_eq(got, want, "%s: %g, expected %g", series, got, want);
}

Test(ops_metrics, exact_after_known_requests)
{
    th_daemon d;
    cr_assert_eq(th_daemon_start(&d, NULL), 0);
    static const step steps[] = {
        {"/v1/glorot_uniform?shape=16,16&seed=1", "GET", 200},
        {"/v1/glorot_uniform?shape=4,8&seed=2&dtype=float16&algorithm=mlx", "GET", 200},
        {"/v1/glorot_uniform?shape=3,5&seed=3&format=npy", "GET", 200},
        {"/v1/glorot_uniform?shape=16,16&seed=1", "HEAD", 200},
        {"/v1/glorot_uniform?shape=0,1", "GET", 400},
        {"/nope", "GET", 404},
        {"/healthz", "GET", 200},
        {"/healthz", "GET", 200},
        {"/v1/glorot_uniform", "POST", 200},
        {"/readyz", "GET", 200},
    };
    size_t len[sizeof steps / sizeof steps[0]];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        len[i] = run_step(&d, &steps[i]);
    cr_assert_eq(len[0], 1024);
    cr_assert_eq(len[1], 64);
    cr_assert_eq(len[8], 24);

    /* The curl connections above are closed; wait until the daemon has seen it. */
    int scrapes = 0;
    char *text = ops_scrape_until(&d, "glorotd_open_connections", 1, &scrapes);
#define GLOROT "endpoint=\"/v1/glorot_uniform\""
    expect_metric(text, "glorotd_requests_total{" GLOROT ",status=\"200\"}", 5);
    expect_metric(text, "glorotd_requests_total{" GLOROT ",status=\"400\"}", 1);
    expect_metric(text, "glorotd_requests_total{endpoint=\"other\",status=\"404\"}", 1);
    expect_metric(text, "glorotd_requests_total{endpoint=\"/healthz\",status=\"200\"}", 2);
    expect_metric(text, "glorotd_requests_total{endpoint=\"/readyz\",status=\"200\"}", 1);
    expect_metric(text, "glorotd_requests_total{endpoint=\"/metrics\",status=\"200\"}",
                  scrapes > 1 ? scrapes - 1 : -1); /* a scrape never counts itself */
    expect_metric(text, "glorotd_requests_total{endpoint=\"/v1/info\",status=\"200\"}", -1);
    expect_metric(text, "glorotd_response_bytes_total{" GLOROT "}",
                  (double)(len[0] + len[1] + len[2] + len[4] + len[8]));
    expect_metric(text, "glorotd_response_bytes_total{endpoint=\"other\"}", (double)len[5]);
    expect_metric(text, "glorotd_response_bytes_total{endpoint=\"/healthz\"}", 30);
    expect_metric(text, "glorotd_response_bytes_total{endpoint=\"/readyz\"}", 18);
    expect_metric(text, "glorotd_request_duration_seconds_count{" GLOROT "}", 6);
    expect_metric(text, "glorotd_request_duration_seconds_bucket{" GLOROT ",le=\"+Inf\"}", 6);
    expect_metric(text, "glorotd_request_duration_seconds_count{endpoint=\"/healthz\"}", 2);
    /* 16x16 + 3x5 + 2x3 chacha20 float32 elements; HEAD generates nothing */
    expect_metric(text,
                  "glorotd_generated_elements_total{algorithm=\"chacha20\",dtype=\"float32\"}",
                  256 + 15 + 6);
    expect_metric(text, "glorotd_generated_elements_total{algorithm=\"mlx\",dtype=\"float16\"}",
                  32);
    expect_metric(text,
                  "glorotd_generated_elements_total{algorithm=\"chacha20\",dtype=\"float16\"}", 0);
    expect_metric(
        text, "glorotd_generated_elements_total{algorithm=\"mlx-seeded\",dtype=\"float32\"}", 0);
    cr_expect_gt(ops_metric(text, "glorotd_generation_seconds_total{algorithm=\"chacha20\"}"), 0);
    cr_expect_gt(ops_metric(text, "glorotd_generation_seconds_total{algorithm=\"mlx\"}"), 0);
    expect_metric(text, "glorotd_generation_seconds_total{algorithm=\"mlx-seeded\"}", 0);
    expect_metric(text, "glorotd_open_connections", 1);
    expect_metric(text, "glorotd_rejected_connections_total{reason=\"per_ip\"}", 0);
    expect_metric(text, "glorotd_limited_requests_total{reason=\"busy\"}", 0);
    expect_metric(text, "glorotd_downloads_in_flight", 0);
    expect_metric(text, "glorotd_ready", 1);
    char build[96];
    snprintf(build, sizeof build, "glorotd_build_info{version=\"%s\",kernels=\"%s\"}",
             GLOROT_VERSION, gp_kernels());
    expect_metric(text, build, 1);
    /* buckets are cumulative */
    double previous = 0;
    static const char *const bounds[] = {"0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1",
                                         "5",     "10",    "30",   "60",   "300", "+Inf"};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        char series[160];
        snprintf(series, sizeof series,
                 "glorotd_request_duration_seconds_bucket{" GLOROT ",le=\"%s\"}", bounds[i]);
        double v = ops_metric(text, series);
        cr_expect_geq(v, previous, "%s", series);
        previous = v;
    }
    cr_expect(strstr(text, "# TYPE glorotd_request_duration_seconds histogram\n") != NULL);
    free(text);

    th_response r;
    ops_get(&r, d.base_url, "/metrics", NULL);
    char ct[96];
    cr_assert_eq(th_header(&r, "Content-Type", ct, sizeof ct), 0);
    cr_expect_str_eq(ct, "text/plain; version=0.0.4; charset=utf-8");
    th_response_free(&r);
    cr_expect_eq(th_daemon_stop(&d), 0);
}

/* ---- request ids ----------------------------------------------------------------- */

/* A batch counts under /v1/batch, and its elements under each tensor's own
 * dtype (and the manifest's algorithm): one tensor large enough to be
 * streamed block by block, the rest small, four dtypes; and a json batch,
 * whose elements are counted as they are printed. */
Test(ops_metrics, batch_counts_each_tensor_under_its_dtype)
{
    th_daemon d;
    cr_assert_eq(th_daemon_start(&d, NULL), 0);
    static const char *const manifests[] = {
        "{\"seed\": \"5\", \"tensors\": [{\"name\": \"big\", \"shape\": [300, 300]},"
        " {\"name\": \"b\", \"shape\": [10, 7], \"dtype\": \"bfloat16\"},"
        " {\"name\": \"c\", \"shape\": [9, 4], \"dtype\": \"float64\"},"
        " {\"name\": \"h\", \"shape\": [5, 3], \"dtype\": \"float16\"},"
        " {\"name\": \"s\", \"shape\": [3, 3]}]}",
        "{\"seed\": \"6\", \"algorithm\": \"mlx\", \"dtype\": \"float16\","
        " \"tensors\": [{\"name\": \"m\", \"shape\": [4, 6]}]}",
        "{\"seed\": \"7\", \"algorithm\": \"mlx\", \"tensors\": [{\"name\": \"j\","
        " \"shape\": [3, 4]}, {\"name\": \"k\", \"shape\": [2, 2]}]}",
    };
    char url[256], json_url[280];
    size_t bytes = 0;
    snprintf(url, sizeof url, "%s/v1/batch", d.base_url);
    snprintf(json_url, sizeof json_url, "%s?format=json", url);
    for (size_t i = 0; i < sizeof manifests / sizeof manifests[0]; i++) {
        th_response r;
        const char *const args[] = {"-H",         "Content-Type: application/json", "--data",
                                    manifests[i], i == 2 ? json_url : url,          NULL};
        cr_assert_eq(th_curl(&r, args), 0);
        cr_assert_eq(r.status, 200, "%s", (const char *)r.body);
        bytes += r.body_len;
        th_response_free(&r);
    }
    int scrapes = 0;
    char *text = ops_scrape_until(&d, "glorotd_open_connections", 1, &scrapes);
    expect_metric(text, "glorotd_requests_total{endpoint=\"/v1/batch\",status=\"200\"}", 3);
    expect_metric(text, "glorotd_response_bytes_total{endpoint=\"/v1/batch\"}", (double)bytes);
    expect_metric(text, "glorotd_request_duration_seconds_count{endpoint=\"/v1/batch\"}", 3);
    cr_expect(strstr(text, "endpoint=\"/v1/glorot_uniform\"") == NULL,
              "a batch is not a /v1/glorot_uniform request");
    static const struct {
        char series[96];
        double want;
    } elements[] = {
        {"{algorithm=\"chacha20\",dtype=\"float32\"}", 90000 + 9},
        {"{algorithm=\"chacha20\",dtype=\"bfloat16\"}", 70},
        {"{algorithm=\"chacha20\",dtype=\"float64\"}", 36},
        {"{algorithm=\"chacha20\",dtype=\"float16\"}", 15},
        {"{algorithm=\"mlx\",dtype=\"float16\"}", 24},
        {"{algorithm=\"mlx\",dtype=\"float32\"}", 12 + 4}, /* the json batch */
    };
    for (size_t i = 0; i < sizeof elements / sizeof elements[0]; i++) {
        char series[160];
        snprintf(series, sizeof series, "glorotd_generated_elements_total%.95s",
                 elements[i].series);
        expect_metric(text, series, elements[i].want);
    }
    free(text);
    cr_assert_eq(th_daemon_stop(&d), 0);
}

static void ids_setup(void)
{
    ts_shared_start(NULL);
}

static void ids_teardown(void)
{
    ts_shared_stop();
}

typedef struct {
    char path[48];
    char given[160]; /* "" = no X-Request-Id header */
    int kept;
    int status;
} icase;

ParameterizedTestParameters(ops_metrics, request_ids)
{
    static icase cases[] = {
        {"/v1/glorot_uniform?shape=2,2&seed=1", "", 0, 200},
        {"/v1/glorot_uniform?shape=2,2&seed=1", "trace-7f3a9c.01:span/2", 1, 200},
        {"/v1/glorot_uniform?shape=2,2&seed=1", "123e4567-e89b-12d3-a456-426614174000", 1, 200},
        {"/v1/glorot_uniform?shape=x", "err-id-42", 1, 400},
        {"/missing", "not/found@1", 1, 404},
        {"/healthz", "with space", 0, 200},
        {"/healthz", "semi;colon", 0, 200},
        {"/healthz",
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
         0, 200}, /* 129 */
    };
    return cr_make_param_array(icase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(icase *c, ops_metrics, request_ids, .init = ids_setup, .fini = ids_teardown)
{
    char header[200];
    snprintf(header, sizeof header, "X-Request-Id: %s", c->given);
    const char *const with[] = {"-H", header, NULL};
    th_response r;
    ops_get(&r, ts_url(), c->path, c->given[0] != '\0' ? with : NULL);
    cr_assert_eq(r.status, c->status, "%s", (const char *)r.body);
    char id[160];
    cr_assert_eq(th_header(&r, "X-Request-Id", id, sizeof id), 0, "no X-Request-Id: %s", r.headers);
    if (c->kept) {
        cr_expect_str_eq(id, c->given);
    } else {
        cr_expect_eq(strlen(id), 32, "%s", id);
        cr_expect_eq(strspn(id, "0123456789abcdef"), 32, "%s", id);
    }
    th_response_free(&r);
    /* the access line of this request carries the same id */
    char needle[200];
    snprintf(needle, sizeof needle, "ms %s\n", id);
    th_daemon view = {0};
    snprintf(view.dir, sizeof view.dir, "%s", ts_shared.dir);
    ops_wait_log(&view, needle);
}

/* ---- JSON log lines ---------------------------------------------------------------- */

Test(ops_metrics, json_log_lines)
{
    th_daemon d;
    static const char *const extra[] = {"--log-format", "json", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    th_response r;
    static const char *const traced[] = {"-H", "X-Request-Id: trace-json-1", NULL};
    ops_get(&r, d.base_url, "/v1/glorot_uniform?shape=8,8&seed=5", traced);
    cr_assert_eq(r.status, 200);
    th_response_free(&r);
    ops_get(&r, d.base_url, "/bad%22path%0A", NULL);
    cr_assert_eq(r.status, 404);
    char id404[64];
    cr_assert_eq(th_header(&r, "X-Request-Id", id404, sizeof id404), 0);
    th_response_free(&r);
    cr_assert_eq(th_daemon_signal_wait(&d, SIGTERM), 0);

    char *text = ops_log(&d);
    size_t lines = 0, access = 0;
    int saw_start = 0, saw_stopped = 0, saw_200 = 0, saw_404 = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), lines++) {
        json_error_t jerr;
        json_t *doc = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
        cr_assert_not_null(doc, "not JSON (%s): %s", jerr.text, line);
        const char *ts, *event;
        cr_assert_eq(json_unpack(doc, "{s:s, s:s}", "ts", &ts, "event", &event), 0, "%s", line);
        cr_expect_eq(strlen(ts), 24, "%s", line);
        if (strcmp(event, "access") == 0) {
            const char *remote, *method, *path, *rid;
            json_int_t status, bytes;
            double ms;
            cr_assert_eq(json_unpack_ex(doc, &jerr, JSON_STRICT,
                                        "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:f, s:s}", "ts", &ts,
                                        "event", &event, "remote", &remote, "method", &method,
                                        "path", &path, "status", &status, "bytes", &bytes,
                                        "duration_ms", &ms, "request_id", &rid),
                         0, "%s: %s", jerr.text, line);
            cr_expect_str_eq(remote, "127.0.0.1");
            cr_expect_str_eq(method, "GET");
            if (status == 200) {
                saw_200 = 1;
                cr_expect_str_eq(path, "/v1/glorot_uniform");
                cr_expect_eq(bytes, 256);
                cr_expect_str_eq(rid, "trace-json-1");
            } else {
                saw_404 = 1;
                cr_expect_eq(status, 404);
                cr_expect_str_eq(path, "/bad\"path\\x0a", "decoded, then escaped: %s", line);
                cr_expect_str_eq(rid, id404);
            }
            access++;
        } else {
            const char *message;
            cr_assert_eq(json_unpack(doc, "{s:s}", "message", &message), 0, "%s", line);
            saw_start |= strcmp(event, "start") == 0 && strstr(message, "listening on") != NULL;
            saw_stopped |= strcmp(event, "note") == 0 && strcmp(message, "stopped") == 0;
        }
        json_decref(doc);
    }
    cr_expect_eq(access, 2);
    cr_expect(saw_start && saw_stopped && saw_200 && saw_404, "%zu lines", lines);
    free(text);
    th_daemon_stop(&d);
}
