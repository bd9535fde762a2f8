/*
 * test_digest_jobs.c - no request holds a worker thread (issue 17, 3) and
 * RFC 9530 digest fields (issue 17, 2), on live daemons:
 *  - while clients ask for 16 GiB digests (65536x65536 float32) on a daemon
 *    with --threads 2, /healthz and a 16x16 tensor answer at once, digests
 *    beyond --max-digest-jobs get 503 busy with Retry-After, and closing the
 *    digest clients stops their jobs;
 *  - SIGTERM during a digest: the client gets 503 shutting_down and the
 *    daemon exits 0 well within --shutdown-grace;
 *  - Repr-Digest and Content-Digest on 200, 206 and HEAD (and /v1/digest's
 *    repr_digest) against Python's hashlib (tests/py/check_digests.py).
 * A 16 GiB digest never completes here (not even without sanitizers): the
 * tests end every one by a hang-up or a stop signal, so they stay quick
 * under ASan too. Times are generous bounds, never the thing measured.
 */
#include "test_ops_util.h"

#include <poll.h>

#define HUGE_DIGEST "/v1/digest?shape=65536,65536&dtype=float32&seed="

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_get(int fd, const char *path, int close_after)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path,
             close_after ? "Connection: close\r\n" : "");
    ts_send_str(fd, req);
}

/* 1 when fd has an answer (or EOF) to read within ms. */
static int readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
}

/* One small GET on a fresh connection, timed from connect to the last body
 * byte. Checks the status and the body length. */
static long long probe(int port, const char *path, long long want_len)
{
    long long t0 = now_ms();
    int fd = ts_connect(port);
    send_get(fd, path, 1);
    ts_head h;
    ts_read_response(fd, &h);
    long long took = now_ms() - t0;
    close(fd);
    cr_assert_eq(h.status, 200, "%s: %s", path, h.head);
    cr_assert_eq(h.content_length, want_len, "%s", path);
    return took;
}

/* A sample of /metrics, -1 when absent. */
static double metric(const th_daemon *d, const char *series)
{
    th_response r = {0};
    char url[160];
    snprintf(url, sizeof url, "%s/metrics", d->base_url);
    const char *args[] = {url, NULL};
    cr_assert_eq(th_curl(&r, args), 0);
    cr_assert_eq(r.status, 200);
    double v = ops_metric((const char *)r.body, series);
    th_response_free(&r);
    return v;
}

/* Poll /metrics until series == want; returns the milliseconds it took, or
 * fails after limit_ms. */
static long long wait_metric(const th_daemon *d, const char *series, double want, long limit_ms)
{
    long long t0 = now_ms();
    double v;
    while ((v = metric(d, series)) != want) {
        cr_assert_lt(now_ms() - t0, limit_ms, "%s stayed %g, want %g", series, v, want);
        ops_sleep_ms(20);
    }
    return now_ms() - t0;
}

static void start(th_daemon *d, const char *const extra[])
{
    cr_assert_eq(th_daemon_start(d, extra), 0, "cannot start glorotd");
    char log[192];
    snprintf(log, sizeof log, "%s/daemon.log", d->dir);
    setenv("TS_LOG", log, 1); /* quoted by failing raw reads */
}

/* Send four huge digest requests; return after the two beyond the cap
 * answered 503 busy. running[] gets the two connections still waiting. */
static void four_digests(const th_daemon *d, int running[2])
{
    int fds[4], answered[4] = {0}, n_busy = 0, n_running = 0;
    for (int i = 0; i < 4; i++) {
        char path[128];
        snprintf(path, sizeof path, HUGE_DIGEST "%d", i + 1);
        fds[i] = ts_connect(d->port);
        send_get(fds[i], path, 0);
    }
    /* Admission is first come, first served: two run, two are refused at once. */
    for (long long t0 = now_ms(); n_busy < 2;) {
        cr_assert_lt(now_ms() - t0, 20000, "no two 503 busy answers within 20 s");
        for (int i = 0; i < 4; i++) {
            if (answered[i] || !readable(fds[i], 10))
                continue;
            ts_head h;
            ts_read_response(fds[i], &h);
            ts_assert_raw_error(&h, 503, "busy", "");
            char retry[16];
            cr_expect_eq(ts_head_header(&h, "Retry-After", retry, sizeof retry), 0, "%s", h.head);
            answered[i] = 1;
            n_busy++;
            close(fds[i]);
        }
    }
    for (int i = 0; i < 4; i++)
        if (!answered[i])
            running[n_running++] = fds[i];
    cr_assert_eq(n_running, 2);
}

/* Five probes of each path: every one within 1 s (a held thread took 10.9 s
 * in the issue, and would take minutes here), the best within 100 ms (the
 * issue's figure; one quick answer in five cannot be luck on a starved
 * daemon). */
static void expect_prompt(int port, const char *path, long long len)
{
    long long best = 1000000, worst = 0;
    for (int i = 0; i < 5; i++) {
        long long t = probe(port, path, len);
        best = t < best ? t : best;
        worst = t > worst ? t : worst;
    }
    fprintf(stderr, "  %s during two 16 GiB digests: best %lld ms, worst %lld ms\n", path, best,
            worst);
    cr_expect_lt(worst, 1000, "%s took %lld ms", path, worst);
    cr_expect_lt(best, 100, "%s: best of 5 took %lld ms", path, best);
}

Test(digest_jobs, no_request_thread_is_held)
{
    th_daemon d;
    static const char *const extra[] = {"--threads",
                                        "2",
                                        "--max-digest-jobs",
                                        "2",
                                        "--max-elements",
                                        "4294967296",
                                        "--max-requests-per-ip",
                                        "64",
                                        NULL};
    start(&d, extra);
    int running[2];
    four_digests(&d, running);
    wait_metric(&d, "glorotd_digest_jobs_running", 2, 20000);
    expect_prompt(d.port, "/healthz", 15);
    expect_prompt(d.port, "/v1/glorot_uniform?shape=16,16&seed=5", 16 * 16 * 4);
    cr_expect(!readable(running[0], 0) && !readable(running[1], 0), "a 16 GiB digest answered");
    cr_expect_eq(metric(&d, "glorotd_digest_jobs_total{outcome=\"refused\"}"), 2);
    cr_expect_eq(metric(&d, "glorotd_digest_jobs_total{outcome=\"started\"}"), 2);
    /* Clients that hang up end their jobs: both threads are free again. */
    close(running[0]);
    close(running[1]);
    long long took = wait_metric(&d, "glorotd_digest_jobs_running", 0, 20000);
    fprintf(stderr, "  digest jobs stopped %lld ms after their clients hung up\n", took);
    cr_expect_lt(took, 5000);
    cr_expect_eq(metric(&d, "glorotd_downloads_in_flight"), 0, "nothing left counted");
    cr_assert_eq(th_daemon_signal_wait(&d, SIGTERM), 0, "exit status");
    th_daemon_stop(&d);
}

Test(digest_jobs, sigterm_during_a_digest)
{
    th_daemon d;
    static const char *const extra[] = {"--threads", "2", "--shutdown-grace", "20", NULL};
    start(&d, extra);
    int fd = ts_connect(d.port);
    send_get(fd, HUGE_DIGEST "7", 0);
    wait_metric(&d, "glorotd_digest_jobs_running", 1, 20000);
    long long t0 = now_ms();
    kill(d.pid, SIGTERM);
    ts_head h;
    ts_read_response(fd, &h);
    ts_assert_raw_error(&h, 503, "shutting_down", "");
    close(fd);
    cr_assert_eq(th_daemon_signal_wait(&d, 0), 0, "exit status after a stop during a digest");
    long long took = now_ms() - t0;
    fprintf(stderr, "  stopped %lld ms after SIGTERM during a 16 GiB digest\n", took);
    cr_expect_lt(took, 10000, "a digest must not hold the stop to the 20 s grace (%lld ms)", took);
    char *log = ops_log(&d);
    cr_expect(strstr(log, " GET /v1/digest 503 ") != NULL, "%s", log);
    cr_expect(strstr(log, "glorotd: stopped") != NULL, "%s", log);
    free(log);
    th_daemon_stop(&d);
}

/* With every digest thread busy, a tensor asked for with Want-Repr-Digest
 * is still served, without the field (RFC 9530 4: a preference only). */
Test(digest_jobs, busy_digest_threads_do_not_refuse_tensors)
{
    th_daemon d;
    static const char *const extra[] = {"--threads", "2", "--max-digest-jobs", "1", NULL};
    start(&d, extra);
    int fd = ts_connect(d.port);
    send_get(fd, HUGE_DIGEST "8", 0);
    wait_metric(&d, "glorotd_digest_jobs_running", 1, 20000);
    int t = ts_connect(d.port);
    ts_send_str(t, "GET /v1/glorot_uniform?shape=1024,1024&seed=3 HTTP/1.1\r\nHost: x\r\n"
                   "Want-Repr-Digest: sha-256=1\r\nConnection: close\r\n\r\n");
    ts_head h;
    ts_read_head(t, &h);
    char value[128];
    cr_expect_eq(h.status, 200, "%s", h.head);
    cr_expect_neq(ts_head_header(&h, "Repr-Digest", value, sizeof value), 0, "%s", h.head);
    close(t);
    close(fd);
    wait_metric(&d, "glorotd_digest_jobs_running", 0, 20000);
    cr_assert_eq(th_daemon_signal_wait(&d, SIGTERM), 0);
    th_daemon_stop(&d);
}

Test(digest_jobs, digest_fields_match_hashlib)
{
    th_daemon d;
    static const char *const extra[] = {"--threads", "2", NULL};
    start(&d, extra);
    char script[256];
    snprintf(script, sizeof script, "%s/py/check_digests.py", th_env("GLOROT_TESTS"));
    const char *argv[] = {th_env("GLOROT_PYTHON"), script, d.base_url, NULL};
    int rc = th_run(argv, NULL, 240);
    cr_assert_eq(rc, 0, "check_digests.py failed (%d); its messages are above", rc);
    cr_assert_eq(th_daemon_signal_wait(&d, SIGTERM), 0);
    th_daemon_stop(&d);
}
