/*
 * test_server_lifecycle.c - glorotd as a process: two daemons agree byte for
 * byte; SIGTERM lets a download in flight finish exactly while new requests
 * get 503 and new connections are refused; the grace period and a second
 * signal bound the wait; a 1 GiB tensor streams in flat memory; settings from
 * the environment; IPv6; connection limit and idle timeout; the log format.
 *
 * Each test starts the daemons it needs (they are the subject here).
 */
#include "test_server_util.h"

#include <fcntl.h>
#include <regex.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

/* ---- helpers ------------------------------------------------------------------ */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void log_path(const th_daemon *d, char *out, size_t size)
{
    snprintf(out, size, "%s/daemon.log", d->dir);
}

/* Poll the daemon's log until it contains needle (bounded: 20 s). */
static void wait_for_log(const th_daemon *d, const char *needle)
{
    char path[192];
    log_path(d, path, sizeof path);
    for (int waited = 0; waited < 20000; waited += 10) {
        unsigned char *text = th_read_file(path, NULL);
        int found = text != NULL && strstr((const char *)text, needle) != NULL;
        free(text);
        if (found)
            return;
        sleep_ms(10);
    }
    cr_assert_fail("the daemon log never showed '%s'", needle);
}

static char *read_log(const th_daemon *d)
{
    char path[192];
    log_path(d, path, sizeof path);
    unsigned char *text = th_read_file(path, NULL);
    cr_assert_not_null(text);
    return (char *)text;
}

/* A /proc/PID/status field in kB ("VmRSS", "VmHWM"). */
static long proc_kb(pid_t pid, const char *field)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    unsigned char *text = th_read_file(path, NULL);
    cr_assert_not_null(text, "cannot read %s", path);
    char pattern[32];
    snprintf(pattern, sizeof pattern, "\n%s:", field);
    const char *p = strstr((const char *)text, pattern);
    cr_assert_not_null(p, "%s has no %s", path, field);
    long kb = strtol(p + strlen(pattern), NULL, 10);
    free(text);
    return kb;
}

/* Open a connection and GET query; returns the fd after reading the head. */
static int start_download(int port, const char *query, ts_head *h)
{
    int fd = ts_connect(port);
    char req[512];
    snprintf(req, sizeof req, "GET /v1/glorot_uniform?%s HTTP/1.1\r\nHost: t\r\n\r\n", query);
    ts_send_str(fd, req);
    ts_read_head(fd, h);
    cr_assert_eq(h->status, 200, "%s%s", h->head, h->body);
    return fd;
}

/* Finished gp_body for pairs (malloc'd). */
static gp_body *expected_body(const ts_pair *pairs, size_t n)
{
    gp_request r;
    gp_error err = {0};
    cr_assert_eq(ts_build(pairs, n, &r, &err), GP_OK, "%s", err.message);
    gp_body *b = malloc(sizeof *b);
    cr_assert_not_null(b);
    cr_assert_eq(gp_body_init(b, &r, &err), GP_OK, "%s", err.message);
    return b;
}

/* Compare n received bytes at offset with the core library's. */
static void check_chunk(gp_body *b, uint64_t offset, const unsigned char *got, size_t n,
                        unsigned char *scratch)
{
    cr_assert_eq(gp_body_read(b, offset, scratch, n), n);
    cr_assert(memcmp(scratch, got, n) == 0, "bytes differ in [%llu, %llu)",
              (unsigned long long)offset, (unsigned long long)(offset + n));
}

#define CHUNK (1 << 20)

/* Read the body of a started download up to `until` bytes (or its end),
 * checking every byte. Returns the number of bytes read; stops early at EOF. */
static uint64_t read_checked(int fd, const ts_head *h, gp_body *b, uint64_t until)
{
    unsigned char *got = malloc(CHUNK), *want = malloc(CHUNK);
    cr_assert(got != NULL && want != NULL);
    uint64_t total = (uint64_t)h->content_length;
    if (until > total)
        until = total;
    uint64_t pos = h->body_len < until ? h->body_len : until;
    check_chunk(b, 0, (const unsigned char *)h->body, (size_t)pos, want);
    while (pos < until) {
        size_t want_n = until - pos < CHUNK ? (size_t)(until - pos) : CHUNK;
        ssize_t n = recv(fd, got, want_n, 0);
        if (n <= 0)
            break;
        check_chunk(b, pos, got, (size_t)n, want);
        pos += (uint64_t)n;
    }
    free(got);
    free(want);
    return pos;
}

/* ---- two daemons ---------------------------------------------------------------- */

Test(lifecycle, two_daemons_same_bytes)
{
    th_daemon a, b;
    static const char *const one[] = {"--threads", "1", NULL};
    cr_assert_eq(th_daemon_start(&a, NULL), 0);
    cr_assert_eq(th_daemon_start(&b, one), 0);
    static const char *const queries[] = {
        "shape=512,256&seed=99&algorithm=chacha20&dtype=float32",
        "shape=64,32,3,3&seed=18446744073709551615&algorithm=mlx&dtype=bfloat16&format=npy",
        "shape=10,10&seed=0&algorithm=mlx-seeded&call=4&format=safetensors",
        "shape=20,30&seed=5&dtype=float64&format=json",
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        char ua[512], ub[512];
        snprintf(ua, sizeof ua, "%s/v1/glorot_uniform?%s", a.base_url, queries[i]);
        snprintf(ub, sizeof ub, "%s/v1/glorot_uniform?%s", b.base_url, queries[i]);
        const char *const aa[] = {ua, NULL}, *const ab[] = {ub, NULL};
        th_response ra, rb;
        cr_assert_eq(th_curl(&ra, aa), 0);
        cr_assert_eq(th_curl(&rb, ab), 0);
        cr_assert_eq(ra.status, 200, "%s: %s", queries[i], (const char *)ra.body);
        cr_assert_eq(rb.status, 200);
        cr_assert_gt(ra.body_len, 0);
        cr_assert_eq(ra.body_len, rb.body_len, "%s", queries[i]);
        cr_assert(memcmp(ra.body, rb.body, ra.body_len) == 0, "%s differs between daemons",
                  queries[i]);
        th_response_free(&ra);
        th_response_free(&rb);
    }
    cr_expect_eq(th_daemon_signal_wait(&a, SIGINT), 0, "SIGINT: exit 0");
    cr_expect_eq(th_daemon_signal_wait(&b, SIGTERM), 0, "SIGTERM: exit 0");
    th_daemon_stop(&a);
    th_daemon_stop(&b);
}

/* ---- graceful stop ------------------------------------------------------------------ */

#define BIG_QUERY "shape=4096,2048&seed=31337" /* 32 MiB of float32: far beyond socket buffers */

Test(lifecycle, sigterm_finishes_download)
{
    th_daemon d;
    static const char *const extra[] = {"--shutdown-grace", "60", "--threads", "2", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    log_path(&d, ts_diag_log, sizeof ts_diag_log);

    /* A: a keep-alive connection that has finished one request. */
    int a = ts_connect(d.port);
    ts_head h;
    ts_send_str(a, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    ts_read_response(a, &h);
    cr_assert_eq(h.status, 200);

    /* B: a download in flight (we have its head and stop reading). */
    ts_head bh;
    int b = start_download(d.port, BIG_QUERY, &bh);
    cr_assert_eq(bh.content_length, 4096LL * 2048 * 4);

    kill(d.pid, SIGTERM);
    wait_for_log(&d, "SIGTERM received: shutting down, 1 download(s) in flight");

    /* A new request on A: 503 shutting_down, then the connection closes. */
    ts_send_str(a, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    ts_read_response(a, &h);
    ts_assert_raw_error(&h, 503, "shutting_down", "");
    char conn[32];
    cr_assert_eq(ts_head_header(&h, "Connection", conn, sizeof conn), 0);
    cr_expect_str_eq(conn, "close");
    cr_assert(ts_closed(a));
    close(a);

    /* New connections are refused. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)d.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_neq(connect(c, (struct sockaddr *)&sa, sizeof sa), 0, "connected after SIGTERM");
    cr_expect_eq(errno, ECONNREFUSED);
    close(c);

    /* B completes with the exact bytes; then the daemon exits 0. */
    gp_body *want = expected_body((const ts_pair[]){{"shape", "4096,2048"}, {"seed", "31337"}}, 2);
    uint64_t got = read_checked(b, &bh, want, UINT64_MAX);
    cr_assert_eq(got, (uint64_t)bh.content_length, "download cut at %llu bytes",
                 (unsigned long long)got);
    close(b);
    free(want);
    cr_assert_eq(th_daemon_signal_wait(&d, 0), 0, "exit status after a graceful stop");
    char *text = read_log(&d);
    cr_expect(strstr(text, " GET /v1/glorot_uniform 200 33554432 ") != NULL,
              "access log lacks the full download: %s", text);
    cr_expect(strstr(text, "glorotd: stopped") != NULL, "%s", text);
    free(text);
    th_daemon_stop(&d);
}

/* A reader that never finishes cannot hold the daemon past --shutdown-grace. */
Test(lifecycle, grace_period_bounds_the_wait)
{
    th_daemon d;
    static const char *const extra[] = {"--shutdown-grace", "1", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    ts_head h;
    int b = start_download(d.port, BIG_QUERY, &h);
    cr_assert_eq(th_daemon_signal_wait(&d, SIGTERM), 0); /* bounded by the harness: 30 s */
    char *text = read_log(&d);
    cr_expect(strstr(text, "grace period over: closing 1 download(s)") != NULL, "%s", text);
    free(text);
    gp_body *want = expected_body((const ts_pair[]){{"shape", "4096,2048"}, {"seed", "31337"}}, 2);
    uint64_t got = read_checked(b, &h, want, UINT64_MAX);
    cr_expect_lt(got, (uint64_t)h.content_length, "the download cannot have completed");
    free(want);
    close(b);
    th_daemon_stop(&d);
}

/* A second signal ends the grace period at once. */
Test(lifecycle, second_signal_stops_now)
{
    th_daemon d;
    static const char *const extra[] = {"--shutdown-grace", "3600", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    ts_head h;
    int b = start_download(d.port, BIG_QUERY, &h);
    kill(d.pid, SIGTERM);
    wait_for_log(&d, "SIGTERM received");
    cr_assert_eq(th_daemon_signal_wait(&d, SIGINT), 0);
    char *text = read_log(&d);
    cr_expect(strstr(text, "second signal: closing 1 download(s) now") != NULL, "%s", text);
    free(text);
    close(b);
    th_daemon_stop(&d);
}

/* ---- memory ---------------------------------------------------------------------- */

/* 1 GiB of float32 streams through a daemon whose memory stays flat. */
Test(lifecycle, one_gib_flat_memory)
{
    th_daemon d;
    cr_assert_eq(th_daemon_start(&d, NULL), 0);
    /* warm up: first request allocates what every request needs */
    ts_head h;
    int w = start_download(d.port, "shape=256,256&seed=1", &h);
    close(w);
    long rss0 = proc_kb(d.pid, "VmRSS"), hwm0 = proc_kb(d.pid, "VmHWM");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int fd = start_download(d.port, "shape=16384,16384&seed=7&dtype=float32", &h);
    cr_assert_eq(h.content_length, 1LL << 30);
    gp_body *want = expected_body((const ts_pair[]){{"shape", "16384,16384"}, {"seed", "7"}}, 2);
    uint64_t got = read_checked(fd, &h, want, UINT64_MAX);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_eq(got, 1ULL << 30);
    long rss1 = proc_kb(d.pid, "VmRSS"), hwm1 = proc_kb(d.pid, "VmHWM");
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr,
            "one_gib_flat_memory: VmRSS %ld -> %ld kB, VmHWM %ld -> %ld kB (growth %ld kB); "
            "1 GiB in %.2f s (%.0f MiB/s, checked byte for byte)\n",
            rss0, rss1, hwm0, hwm1, hwm1 - hwm0, secs, 1024.0 / secs);
    cr_expect_lt(hwm1 - hwm0, 64 * 1024, "peak memory grew by %ld kB", hwm1 - hwm0);
    free(want);
    close(fd);
    cr_expect_eq(th_daemon_stop(&d), 0);
}

/* ---- settings ---------------------------------------------------------------------- */

static pid_t spawn_daemon(const char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "spawn: %s", strerror(rc));
    return pid;
}

static int wait_port_file(const char *path)
{
    for (int waited = 0; waited < 20000; waited += 10) {
        unsigned char *text = th_read_file(path, NULL);
        if (text != NULL) {
            size_t n = strlen((const char *)text);
            int port = (int)th_number((const char *)text);
            cr_assert(n > 1 && text[n - 1] == '\n', "port file is not 'PORT\\n': %s", text);
            free(text);
            return port;
        }
        sleep_ms(10);
    }
    cr_assert_fail("no port file %s", path);
    return -1;
}

/* GLOROTD_* variables configure the daemon; a flag beats its variable. */
Test(lifecycle, environment_settings)
{
    char dir[] = "/tmp/glorot-env-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char port_file[64], log[64];
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    setenv("GLOROTD_LISTEN", "127.0.0.1:0", 1);
    setenv("GLOROTD_PORT_FILE", port_file, 1);
    setenv("GLOROTD_MAX_CONNECTIONS", "55", 1);
    setenv("GLOROTD_MAX_JSON_ELEMENTS", "1234", 1);
    setenv("GLOROTD_TIMEOUT", "bogus", 1); /* never parsed: the flag wins */
    setenv("GLOROTD_ALLOW_ROOT", "1", 1);  /* the tests may run as root */
    setenv("GLOROT_SIMD", "scalar", 1);    /* caps the kernels, whatever the CPU */
    const char *const argv[] = {th_env("GLOROTD_BIN"), "--timeout", "9", NULL};
    pid_t pid = spawn_daemon(argv, log);
    int port = wait_port_file(port_file);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/info", port);
    const char *const args[] = {url, NULL};
    th_response r;
    cr_assert_eq(th_curl(&r, args), 0);
    cr_assert_eq(r.status, 200);
    const char *body = (const char *)r.body;
    cr_expect(strstr(body, "\"max_connections\":55") != NULL, "%s", body);
    cr_expect(strstr(body, "\"max_json_elements\":1234") != NULL, "%s", body);
    cr_expect(strstr(body, "\"timeout_seconds\":9") != NULL, "%s", body);
    cr_expect(strstr(body, "\"kernels\":\"scalar\"") != NULL, "%s", body);
    th_response_free(&r);
    kill(pid, SIGTERM);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink(port_file);
    unlink(log);
    rmdir(dir);
}

static int ipv6_loopback_usable(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in6 sa = {0};
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

Test(lifecycle, ipv6_listen)
{
    if (!ipv6_loopback_usable())
        cr_skip_test("this machine has no IPv6 loopback (::1)");
    th_daemon d;
    static const char *const extra[] = {"--listen", "[::1]:0", NULL}; /* the later flag wins */
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    char url[96];
    snprintf(url, sizeof url, "http://[::1]:%d/v1/glorot_uniform?shape=2,2&seed=1", d.port);
    const char *const args[] = {"-g", url, NULL};
    th_response r;
    cr_assert_eq(th_curl(&r, args), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 16);
    th_response_free(&r);
    char *text = read_log(&d);
    char want[64];
    snprintf(want, sizeof want, "listening on [::1]:%d (", d.port);
    cr_expect(strstr(text, want) != NULL, "%s", text);
    cr_expect(strstr(text, " ::1 GET /v1/glorot_uniform 200 16 ") != NULL, "%s", text);
    free(text);
    cr_expect_eq(th_daemon_stop(&d), 0);
}

/* --timeout closes a connection that sends nothing (0.9.75 has no default). */
Test(lifecycle, idle_timeout)
{
    th_daemon d;
    static const char *const extra[] = {"--timeout", "1", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    int fd = ts_connect(d.port); /* reads give up after 30 s */
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "idle connection not closed (%zd, %s)", n,
              strerror(errno));
    close(fd);
    cr_expect_eq(th_daemon_stop(&d), 0);
}

/* With --max-connections 2 a third connection waits until one closes. */
Test(lifecycle, connection_limit)
{
    th_daemon d;
    static const char *const extra[] = {"--max-connections", "2", "--threads", "1", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    int fds[2];
    ts_head h;
    for (int i = 0; i < 2; i++) {
        fds[i] = ts_connect(d.port);
        ts_send_str(fds[i], "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        ts_read_response(fds[i], &h);
        cr_assert_eq(h.status, 200);
    }
    int third = ts_connect(d.port); /* the kernel queues it */
    ts_send_str(third, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    struct timeval brief = {0, 300 * 1000};
    setsockopt(third, SOL_SOCKET, SO_RCVTIMEO, &brief, sizeof brief);
    char c;
    ssize_t n = recv(third, &c, 1, MSG_PEEK);
    cr_assert(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
              "a third connection was served past --max-connections 2");
    close(fds[0]);
    struct timeval longer = {30, 0};
    setsockopt(third, SOL_SOCKET, SO_RCVTIMEO, &longer, sizeof longer);
    ts_read_response(third, &h);
    cr_assert_eq(h.status, 200);
    close(third);
    close(fds[1]);
    cr_expect_eq(th_daemon_stop(&d), 0);
}

/* ---- the log ------------------------------------------------------------------------- */

static int matches(const char *text, const char *pattern)
{
    regex_t re;
    cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
    int ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

Test(lifecycle, log_lines)
{
    th_daemon d;
    static const char *const extra[] = {"--threads", "3", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    char url[256];
    snprintf(url, sizeof url, "%s/v1/glorot_uniform?shape=2,3&seed=1&name=a%%0Ab", d.base_url);
    const char *const ok[] = {url, NULL};
    th_response r;
    cr_assert_eq(th_curl(&r, ok), 0);
    cr_assert_eq(r.status, 400, "newline in name: %s", (const char *)r.body);
    th_response_free(&r);
    snprintf(url, sizeof url, "%s/v1/glorot_uniform?shape=2,3&seed=1", d.base_url);
    cr_assert_eq(th_curl(&r, ok), 0);
    cr_assert_eq(r.status, 200);
    th_response_free(&r);
    snprintf(url, sizeof url, "%s/no%%0Awhere", d.base_url);
    cr_assert_eq(th_curl(&r, ok), 0);
    cr_assert_eq(r.status, 404);
    th_response_free(&r);
    cr_assert_eq(th_daemon_signal_wait(&d, SIGTERM), 0);
    char *text = read_log(&d);
    char want[128];
    snprintf(want, sizeof want,
             "^glorotd " GLOROT_VERSION " listening on 127\\.0\\.0\\.1:%d "
             "\\(3 threads, (scalar|avx2|avx512) kernels\\)$",
             d.port);
    cr_expect(matches(text, want), "startup line: %s", text);
#define TS_TIME "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"
    cr_expect(matches(text, "^" TS_TIME " 127\\.0\\.0\\.1 GET /v1/glorot_uniform 400 [0-9]+ "
                            "[0-9]+\\.[0-9]{3}ms [0-9a-f]{32}$"),
              "%s", text);
    cr_expect(matches(text, "^" TS_TIME " 127\\.0\\.0\\.1 GET /v1/glorot_uniform 200 24 "
                            "[0-9]+\\.[0-9]{3}ms [0-9a-f]{32}$"),
              "%s", text);
    /* a decoded newline in the path is escaped, never a line break */
    cr_expect(matches(text, "^" TS_TIME " 127\\.0\\.0\\.1 GET /no\\\\x0awhere 404 [0-9]+ "), "%s",
              text);
    cr_expect(matches(text, "^" TS_TIME " glorotd: SIGTERM received"), "%s", text);
    cr_expect(matches(text, "^" TS_TIME " glorotd: stopped$"), "%s", text);
    free(text);
    th_daemon_stop(&d);
}
