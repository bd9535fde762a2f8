/*
 * test_ops_limits.c - glorotd's limits on a live daemon answer as
 * docs/OPERATIONS.md says (429, 503 busy, connections closed at accept, 431,
 * 414, 413), and while one client is refused another is served.
 *
 * 127.0.0.1 and 127.0.0.2 are two clients: both are loopback on Linux.
 */
#include "test_ops_util.h"

static void expect_retry_after(const th_response *r)
{
    char v[32];
    cr_assert_eq(th_header(r, "Retry-After", v, sizeof v), 0, "no Retry-After: %s", r->headers);
    cr_expect_str_eq(v, "1");
    cr_assert_eq(th_header(r, "X-Request-Id", v, sizeof v), 0, "no X-Request-Id on an error");
}

/* One client at its request cap gets 429; another client, and probes, are served. */
Test(ops_limits, per_client_requests_429)
{
    th_daemon d;
    static const char *const extra[] = {"--max-requests-per-ip", "1", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    ts_head h;
    int held = ops_hold_download(d.port, "127.0.0.1", OPS_BIG_QUERY, &h);

    th_response r;
    ops_get(&r, d.base_url, "/v1/glorot_uniform?shape=4,4&seed=1", NULL);
    ts_assert_error(&r, 429, "too_many_requests", "");
    expect_retry_after(&r);
    th_response_free(&r);
    ops_get(&r, d.base_url, "/v1/info", NULL);
    cr_expect_eq(r.status, 429, "every counted route shares the cap");
    th_response_free(&r);

    static const char *const other[] = {"--interface", "127.0.0.2", NULL};
    ops_get(&r, d.base_url, "/v1/glorot_uniform?shape=4,4&seed=1", other);
    cr_expect_eq(r.status, 200, "another client is served: %s", (const char *)r.body);
    cr_expect_eq(r.body_len, 64);
    th_response_free(&r);
    ops_get(&r, d.base_url, "/healthz", NULL);
    cr_expect_eq(r.status, 200, "probes are never capped");
    th_response_free(&r);

    char *text = ops_scrape(&d, "127.0.0.1", NULL);
    cr_expect_eq(ops_metric(text, "glorotd_limited_requests_total{reason=\"per_ip\"}"), 2, "%s",
                 text);
    cr_expect_eq(ops_metric(text, "glorotd_requests_total{endpoint=\"/v1/glorot_uniform\","
                                  "status=\"429\"}"),
                 1);
    free(text);

    /* Once the held download ends, the client is served again. */
    close(held);
    int status = 0;
    for (int tries = 0; tries < 1500 && status != 200; tries++) {
        ops_get(&r, d.base_url, "/v1/glorot_uniform?shape=4,4&seed=1", NULL);
        status = r.status;
        th_response_free(&r);
        if (status != 200)
            ops_sleep_ms(20);
    }
    cr_expect_eq(status, 200, "the cap was not released");
    cr_expect_eq(th_daemon_stop(&d), 0);
}

/* At the global cap: 503 busy with Retry-After for everyone; /metrics still answers. */
Test(ops_limits, global_requests_503)
{
    th_daemon d;
    static const char *const extra[] = {"--max-requests", "1", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    ts_head h;
    int held = ops_hold_download(d.port, "127.0.0.1", OPS_BIG_QUERY, &h);
    static const char *const other[] = {"--interface", "127.0.0.2", NULL};
    th_response r;
    ops_get(&r, d.base_url, "/v1/glorot_uniform?shape=4,4&seed=1", other);
    ts_assert_error(&r, 503, "busy", "");
    expect_retry_after(&r);
    char conn[16];
    cr_assert_eq(th_header(&r, "Connection", conn, sizeof conn), 0);
    cr_expect_str_eq(conn, "close");
    th_response_free(&r);
    ops_get(&r, d.base_url, "/readyz", other);
    cr_expect_eq(r.status, 200, "busy is not unready");
    th_response_free(&r);
    char *text = ops_scrape(&d, "127.0.0.2", NULL);
    cr_expect_eq(ops_metric(text, "glorotd_limited_requests_total{reason=\"busy\"}"), 1, "%s",
                 text);
    cr_expect_eq(ops_metric(text, "glorotd_downloads_in_flight"), 1, "%s", text);
    free(text);
    close(held);
    cr_expect_eq(th_daemon_stop(&d), 0);
}

/* A client at --max-connections-per-ip: its next connection is closed at
 * accept and counted; other clients connect as usual. */
Test(ops_limits, per_client_connections)
{
    th_daemon d;
    static const char *const extra[] = {"--max-connections-per-ip", "2", "--threads", "1", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    int fds[2];
    ts_head h;
    for (int i = 0; i < 2; i++) {
        fds[i] = ops_connect_from(d.port, "127.0.0.1");
        cr_assert_geq(fds[i], 0);
        ts_send_str(fds[i], "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        ts_read_response(fds[i], &h); /* answered: the daemon has counted it */
        cr_assert_eq(h.status, 200);
    }
    int third = ops_connect_from(d.port, "127.0.0.1"); /* the kernel accepts it ... */
    cr_assert_geq(third, 0);
    ts_send_str(third, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert(ts_closed(third), "... glorotd closes it without an answer");
    close(third);

    char *text = ops_scrape(&d, "127.0.0.2", NULL);
    cr_expect_eq(ops_metric(text, "glorotd_rejected_connections_total{reason=\"per_ip\"}"), 1, "%s",
                 text);
    cr_expect_eq(ops_metric(text, "glorotd_open_connections"), 3, "two held + this scrape: %s",
                 text);
    free(text);

    /* the held connections still work */
    ts_send_str(fds[1], "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    ts_read_response(fds[1], &h);
    cr_expect_eq(h.status, 200);
    close(fds[0]);
    int served = 0;
    for (int tries = 0; tries < 1500 && !served; tries++) {
        int fd = ops_connect_from(d.port, "127.0.0.1");
        cr_assert_geq(fd, 0);
        ts_send_str(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        char c;
        served = recv(fd, &c, 1, MSG_PEEK) == 1;
        close(fd);
        if (!served)
            ops_sleep_ms(20);
    }
    cr_expect(served, "a slot freed by a close is not reused");
    close(fds[1]);
    cr_expect_eq(th_daemon_stop(&d), 0);
}

/* Oversized request lines, headers and bodies, and too many elements; the
 * daemon serves the next request. */
typedef struct {
    char label[24];
    int kind; /* 0 header, 1 url, 2 body, 3 elements, 4 json elements */
    int status;
    char code[24];
} lcase;

ParameterizedTestParameters(ops_limits, sizes)
{
    static lcase cases[] = {
        {"header", 0, 431, ""},
        {"url", 1, 414, ""},
        {"body", 2, 413, "body_too_large"},
        {"elements", 3, 413, "too_large"},
        {"json elements", 4, 413, "too_large"},
    };
    return cr_make_param_array(lcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(lcase *c, ops_limits, sizes)
{
    th_daemon d;
    static const char *const extra[] = {"--max-header-bytes",
                                        "8192",
                                        "--max-body-bytes",
                                        "64",
                                        "--max-elements",
                                        "1000",
                                        "--max-json-elements",
                                        "10",
                                        NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    static char big[12000];
    memset(big, 'a', sizeof big - 1);
    char header[12100], url[12200];
    snprintf(header, sizeof header, "X-Big: %s", big);
    snprintf(url, sizeof url, "%s/v1/glorot_uniform?shape=2,2&name=%s", d.base_url, big);
    const char *body =
        "{\"shape\": [2, 2], \"seed\": 1, \"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaa\"}";
    th_response r;
    if (c->kind == 0) {
        const char *const args[] = {"-H", header, url, NULL};
        snprintf(url, sizeof url, "%s/healthz", d.base_url);
        cr_assert_eq(th_curl(&r, args), 0);
    } else if (c->kind == 1) {
        const char *const args[] = {url, NULL};
        cr_assert_eq(th_curl(&r, args), 0);
    } else if (c->kind == 2) {
        snprintf(url, sizeof url, "%s/v1/glorot_uniform", d.base_url);
        const char *const args[] = {"-H", "Content-Type: application/json", "--data", body, url,
                                    NULL};
        cr_assert_eq(th_curl(&r, args), 0);
    } else {
        snprintf(url, sizeof url, "%s/v1/glorot_uniform?shape=%s", d.base_url,
                 c->kind == 3 ? "40,30" : "4,3&format=json");
        const char *const args[] = {url, NULL};
        cr_assert_eq(th_curl(&r, args), 0);
    }
    if (c->code[0] != '\0')
        ts_assert_error(&r, c->status, c->code, c->kind == 2 ? "" : "shape");
    else
        cr_assert_eq(r.status, c->status, "%s: %d", c->label, r.status);
    th_response_free(&r);
    ops_get(&r, d.base_url, "/v1/glorot_uniform?shape=4,4&seed=1", NULL);
    cr_expect_eq(r.status, 200, "%s: the next request is served", c->label);
    cr_expect_eq(r.body_len, 64);
    th_response_free(&r);
    cr_expect_eq(th_daemon_stop(&d), 0);
}
