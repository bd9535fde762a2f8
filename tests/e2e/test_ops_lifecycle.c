/*
 * test_ops_lifecycle.c - readiness, draining and stopping on SIGTERM while
 * downloads run; --check-config; the root rule and the switch to --user
 * (checked in /proc for every thread), on live daemons.
 */
#include "test_ops_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/stat.h>

extern char **environ;

/* Read the rest of a download and compare it with the core library's bytes.
 * Returns the total body length received. */
static uint64_t read_rest_checked(int fd, const ts_head *h, const ts_pair *pairs, size_t n)
{
    gp_request req;
    gp_error err = {0};
    cr_assert_eq(ts_build(pairs, n, &req, &err), GP_OK, "%s", err.message);
    gp_body *b = malloc(sizeof *b);
    cr_assert_not_null(b);
    cr_assert_eq(gp_body_init(b, &req, &err), GP_OK);
    enum { CHUNK = 1 << 16 };
    unsigned char *got = malloc(CHUNK), *want = malloc(CHUNK);
    cr_assert(got != NULL && want != NULL);
    memcpy(got, h->body, h->body_len);
    size_t have = h->body_len;
    uint64_t pos = 0;
    for (;;) {
        if (have > 0) {
            cr_assert_eq(gp_body_read(b, pos, want, have), have);
            cr_assert(memcmp(got, want, have) == 0, "bytes differ near offset %llu",
                      (unsigned long long)pos);
            pos += have;
        }
        ssize_t r = recv(fd, got, CHUNK, 0);
        if (r <= 0)
            break;
        have = (size_t)r;
    }
    free(got);
    free(want);
    free(b);
    return pos;
}

static const ts_pair big_pairs[] = {{"shape", "4096,2048"}, {"seed", "31337"}};

/* SIGTERM with a drain delay: /readyz flips at once, everything else is still
 * served; a second signal ends the drain; new connections are refused; the
 * download in flight completes byte for byte; exit 0. */
Test(ops_lifecycle, drain_then_stop_during_download)
{
    th_daemon d;
    static const char *const extra[] = {"--drain-delay", "3600", "--shutdown-grace", "120", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    snprintf(ts_diag_log, sizeof ts_diag_log, "%s/daemon.log", d.dir);
    th_response r;
    ops_get(&r, d.base_url, "/readyz", NULL);
    cr_assert_eq(r.status, 200);
    cr_expect_str_eq((const char *)r.body, "{\"status\":\"ready\"}");
    th_response_free(&r);

    int a = ops_connect_from(d.port, "127.0.0.1"); /* keep-alive, one request done */
    ts_head h;
    ts_send_str(a, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    ts_read_response(a, &h);
    cr_assert_eq(h.status, 200);
    ts_head bh;
    int b = ops_hold_download(d.port, "127.0.0.1", OPS_BIG_QUERY, &bh);
    cr_assert_eq(bh.content_length, 4096LL * 2048 * 4);

    kill(d.pid, SIGTERM);
    ops_wait_log(&d, "SIGTERM received: draining for 3600 s (/readyz answers 503), 1 download(s)");
    ops_get(&r, d.base_url, "/readyz", NULL);
    cr_expect_eq(r.status, 503, "readyz during the drain");
    cr_expect_str_eq((const char *)r.body, "{\"status\":\"draining\"}");
    th_response_free(&r);
    ops_get(&r, d.base_url, "/healthz", NULL);
    cr_expect_eq(r.status, 200, "alive while draining");
    th_response_free(&r);
    ops_get(&r, d.base_url, "/v1/glorot_uniform?shape=4,4&seed=1", NULL);
    cr_expect_eq(r.status, 200, "new connections are served while draining");
    cr_expect_eq(r.body_len, 64);
    th_response_free(&r);
    ts_send_str(a, "GET /v1/glorot_uniform?shape=2,2&seed=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    ts_read_response(a, &h);
    cr_expect_eq(h.status, 200, "open connections are served while draining");
    char *text = ops_scrape(&d, "127.0.0.1", NULL);
    cr_expect_eq(ops_metric(text, "glorotd_ready"), 0, "%s", text);
    cr_expect_eq(ops_metric(text, "glorotd_downloads_in_flight"), 1, "%s", text);
    free(text);

    kill(d.pid, SIGTERM); /* ends the drain delay */
    ops_wait_log(&d, "another signal: drain delay cut short");
    ops_wait_log(&d, "drain over: shutting down, 1 download(s) in flight (grace 120 s)");
    int refused = 0;
    for (int tries = 0; tries < 1500 && !refused; tries++) {
        int fd = ops_connect_from(d.port, "127.0.0.1");
        refused = fd < 0 && errno == ECONNREFUSED;
        if (fd >= 0)
            close(fd);
        if (!refused)
            ops_sleep_ms(20);
    }
    cr_expect(refused, "new connections still accepted after the drain");
    ts_send_str(a, "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n");
    ts_read_response(a, &h);
    ts_assert_raw_error(&h, 503, "shutting_down", "");
    cr_expect(ts_closed(a));
    close(a);

    uint64_t got = read_rest_checked(b, &bh, big_pairs, 2);
    cr_expect_eq(got, (uint64_t)bh.content_length, "download cut at %llu bytes",
                 (unsigned long long)got);
    close(b);
    cr_assert_eq(th_daemon_signal_wait(&d, 0), 0, "exit status after draining");
    text = ops_log(&d);
    cr_expect(strstr(text, " GET /v1/glorot_uniform 200 33554432 ") != NULL, "%s", text);
    cr_expect(strstr(text, "glorotd: stopped") != NULL, "%s", text);
    free(text);
    th_daemon_stop(&d);
}

/* Without a second signal the drain delay ends by itself. */
Test(ops_lifecycle, drain_delay_ends_by_itself)
{
    th_daemon d;
    static const char *const extra[] = {"--drain-delay", "1", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    cr_assert_eq(th_daemon_signal_wait(&d, SIGTERM), 0);
    char *text = ops_log(&d);
    const char *drain = strstr(text, "SIGTERM received: draining for 1 s");
    const char *over = strstr(text, "drain over: shutting down, 0 download(s)");
    cr_expect(drain != NULL && over != NULL && drain < over, "%s", text);
    cr_expect(strstr(text, "cut short") == NULL, "%s", text);
    free(text);
    th_daemon_stop(&d);
}

/* ---- --check-config ------------------------------------------------------------------ */

typedef struct {
    char label[32];
    char args[4][40];
    char env[48];
    int exit_code;
    char out[2][64]; /* pieces of stdout (exit 0) */
    char err[48];    /* piece of stderr (exit 2) */
} ccase;

ParameterizedTestParameters(ops_lifecycle, check_config)
{
    static ccase cases[] = {
        {"defaults",
         {""},
         "",
         0,
         {"--listen                  127.0.0.1:8080  (default)", "settings OK"},
         ""},
        {"env and flags",
         {"--max-requests-per-ip", "3", "--log-format=json"},
         "GLOROTD_MAX_REQUESTS=9",
         0,
         {"--max-requests            9  (GLOROTD_MAX_REQUESTS)",
          "--max-requests-per-ip     3  (--max-requests-per-ip)"},
         ""},
        {"tokens", {"--token-file", "TOKENS"}, "", 0, {"tokens: 2 (values not shown)", ""}, ""},
        {"bad variable", {""}, "GLOROTD_DRAIN_DELAY=soon", 2, {"", ""}, "GLOROTD_DRAIN_DELAY"},
        {"bad token file", {"--token-file", "/nonexistent/tokens"}, "", 2, {"", ""}, "cannot open"},
        {"unknown user", {"--user", "no-such-user-x1"}, "", 2, {"", ""}, "no-such-user-x1"},
    };
    return cr_make_param_array(ccase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(ccase *c, ops_lifecycle, check_config)
{
    char dir[] = "/tmp/glorot-check-XXXXXX", tokens[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(tokens, sizeof tokens, "%s/tokens", dir);
    FILE *f = fopen(tokens, "w");
    cr_assert_not_null(f);
    fputs("check-config-token-1111111\ncheck-config-token-2222222\n", f);
    fclose(f);
    chmod(tokens, 0600);
    const char *argv[12];
    size_t n = 0;
    argv[n++] = th_env("GLOROTD_BIN");
    argv[n++] = "--check-config";
    if (geteuid() == 0 && strcmp(c->label, "unknown user") != 0)
        argv[n++] = "--allow-root";
    for (size_t i = 0; i < 4 && c->args[i][0] != '\0'; i++)
        argv[n++] = strcmp(c->args[i], "TOKENS") == 0 ? tokens : c->args[i];
    argv[n] = NULL;
    if (c->env[0] != '\0')
        putenv(c->env);
    char *out, *err;
    int rc = ops_run(argv, &out, &err);
    cr_assert_eq(rc, c->exit_code, "%s: exit %d: %s%s", c->label, rc, out, err);
    for (size_t i = 0; i < 2; i++)
        cr_expect(strstr(out, c->out[i]) != NULL, "%s: no '%s' in:\n%s", c->label, c->out[i], out);
    cr_expect(strstr(err, c->err) != NULL, "%s: %s", c->label, err);
    cr_expect(strstr(out, "check-config-token") == NULL, "a token printed:\n%s", out);
    free(out);
    free(err);
    unlink(tokens);
    rmdir(dir);
}

/* --check-config does not bind: it succeeds on a port that is in use. */
Test(ops_lifecycle, check_config_does_not_bind)
{
    th_daemon d;
    cr_assert_eq(th_daemon_start(&d, NULL), 0);
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", d.port);
    const char *const argv[] = {
        th_env("GLOROTD_BIN"), "--check-config", "--allow-root", "--listen", listen, NULL};
    char *out, *err;
    cr_expect_eq(ops_run(argv, &out, &err), 0, "%s", err);
    free(out);
    free(err);
    cr_expect_eq(th_daemon_stop(&d), 0);
}

/* ---- privileges ------------------------------------------------------------------------ */

Test(ops_lifecycle, root_refused)
{
    if (geteuid() != 0)
        cr_skip_test("runs as root only (the tests are not root here)");
    const char *const argv[] = {th_env("GLOROTD_BIN"), "--listen", "127.0.0.1:0", NULL};
    char *err;
    cr_assert_eq(ops_run(argv, NULL, &err), 2, "%s", err);
    cr_expect(strstr(err, "glorotd: refusing to run as root") != NULL, "%s", err);
    free(err);
    setenv("GLOROTD_ALLOW_ROOT", "0", 1);
    const char *const again[] = {th_env("GLOROTD_BIN"), "--listen", "127.0.0.1:0", NULL};
    cr_assert_eq(ops_run(again, NULL, &err), 2, "GLOROTD_ALLOW_ROOT=0: %s", err);
    free(err);
}

/* A free port below 1024 (only root may bind it). */
static int free_privileged_port(void)
{
    for (int port = 600; port < 1024; port++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
        if (ok)
            return port;
    }
    cr_assert_fail("no free port below 1024");
    return -1;
}

/* "Uid:" or "Gid:" line of a /proc status file: the four ids. */
static void proc_ids(const char *status_path, const char *key, unsigned ids[4])
{
    char *text = (char *)th_read_file(status_path, NULL);
    cr_assert_not_null(text, "%s", status_path);
    const char *p = strstr(text, key);
    cr_assert_not_null(p, "%s: no %s", status_path, key);
    cr_assert_eq(sscanf(p + strlen(key), "%u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]), 4);
    free(text);
}

/* Bind a privileged port as root, then run as nobody: every thread's real,
 * effective, saved and filesystem ids are nobody's, no supplementary group
 * but its own, no capabilities; it serves, and stops with exit 0. */
Test(ops_lifecycle, user_drops_root)
{
    if (geteuid() != 0)
        cr_skip_test("runs as root only (the tests are not root here)");
    const struct passwd *pw = getpwnam("nobody");
    cr_assert_not_null(pw, "no user nobody");
    unsigned uid = pw->pw_uid, gid = pw->pw_gid;
    char dir[] = "/tmp/glorot-user-XXXXXX", port_file[64], log[64], listen[32];
    cr_assert_not_null(mkdtemp(dir));
    chmod(dir, 0777); /* the port file is written after the switch */
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    int port = free_privileged_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    const char *const argv[] = {
        th_env("GLOROTD_BIN"), "--listen", listen, "--port-file", port_file, "--user", "nobody",
        "--threads",           "2",        NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    th_daemon d = {0};
    cr_assert_eq(posix_spawn(&d.pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    unsigned char *text = NULL;
    for (int waited = 0; waited < 20000 && text == NULL; waited += 10) {
        text = th_read_file(port_file, NULL);
        if (text == NULL)
            ops_sleep_ms(10);
    }
    cr_assert_not_null(text, "no port file; log:\n%s", th_read_file(log, NULL));
    cr_expect_eq(th_number((const char *)text), port);
    free(text);

    char task_dir[64];
    snprintf(task_dir, sizeof task_dir, "/proc/%d/task", (int)d.pid);
    DIR *tasks = opendir(task_dir);
    cr_assert_not_null(tasks);
    int threads = 0;
    for (struct dirent *e; (e = readdir(tasks)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char status[400];
        snprintf(status, sizeof status, "%s/%s/status", task_dir, e->d_name);
        unsigned ids[4];
        proc_ids(status, "\nUid:", ids);
        for (int i = 0; i < 4; i++)
            cr_expect_eq(ids[i], uid, "thread %s uid[%d] = %u", e->d_name, i, ids[i]);
        proc_ids(status, "\nGid:", ids);
        for (int i = 0; i < 4; i++)
            cr_expect_eq(ids[i], gid, "thread %s gid[%d] = %u", e->d_name, i, ids[i]);
        char *st = (char *)th_read_file(status, NULL);
        char groups[64];
        snprintf(groups, sizeof groups, "\nGroups:\t%u \n", gid);
        cr_expect(strstr(st, groups) != NULL, "supplementary groups: %s", st);
        cr_expect(strstr(st, "\nCapEff:\t0000000000000000\n") != NULL, "capabilities: %s", st);
        free(st);
        threads++;
    }
    closedir(tasks);
    cr_expect_geq(threads, 3, "main + 2 workers");

    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    th_response r;
    ops_get(&r, base, "/v1/glorot_uniform?shape=4,4&seed=1", NULL);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, 64);
    th_response_free(&r);
    cr_expect_eq(th_daemon_signal_wait(&d, SIGTERM), 0);
    unlink(port_file);
    unlink(log);
    rmdir(dir);
}
