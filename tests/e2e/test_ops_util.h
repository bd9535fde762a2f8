/*
 * test_ops_util.h - helpers for the operations tests (tests/e2e/test_ops_*.c)
 * on top of test_server_util.h: connections from another loopback address
 * (127.0.0.2 is a second "client" on Linux), downloads held open, /metrics
 * values, bounded waits, and a daemon's log.
 *
 * Header-only, like test_server_util.h.
 */
#ifndef GLOROT_TEST_OPS_UTIL_H
#define GLOROT_TEST_OPS_UTIL_H

#include "test_server_util.h"

#include <arpa/inet.h>
#include <criterion/parameterized.h>
#include <sys/wait.h>

/* A download of 32 MiB of float32: far beyond socket buffers, so a reader that
 * stops reading keeps it in progress. */
#define OPS_BIG_QUERY "shape=4096,2048&seed=31337"

static inline void ops_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A TCP connection to 127.0.0.1:port from the local address `from`
 * ("127.0.0.1", "127.0.0.2"); -1 with errno when connect fails. */
static inline int ops_connect_from(int port, const char *from)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in local = {0};
    local.sin_family = AF_INET;
    cr_assert_eq(inet_pton(AF_INET, from, &local.sin_addr), 1);
    cr_assert_eq(bind(fd, (struct sockaddr *)&local, sizeof local), 0, "bind %s: %s", from,
                 strerror(errno));
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* Start GET /v1/glorot_uniform?query from `from` and read only the head: the
 * download stays in progress until the socket is read or closed. */
static inline int ops_hold_download(int port, const char *from, const char *query, ts_head *h)
{
    int fd = ops_connect_from(port, from);
    cr_assert_geq(fd, 0, "connect: %s", strerror(errno));
    char req[512];
    snprintf(req, sizeof req, "GET /v1/glorot_uniform?%s HTTP/1.1\r\nHost: t\r\n\r\n", query);
    ts_send_str(fd, req);
    ts_read_head(fd, h);
    cr_assert_eq(h->status, 200, "%s", h->head);
    return fd;
}

/* GET base+path with curl (extra args before the URL may be NULL-terminated
 * list, or NULL). */
static inline void ops_get(th_response *r, const char *base, const char *path,
                           const char *const extra[])
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *args[24];
    size_t n = 0;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 20; i++)
        args[n++] = extra[i];
    args[n++] = url;
    args[n] = NULL;
    cr_assert_eq(th_curl(r, args), 0, "curl did not run for %s", url);
}

/* The value of the sample `series` ("glorotd_ready" or
 * "glorotd_requests_total{endpoint=\"/healthz\",status=\"200\"}") in an
 * exposition text; -1 when absent. */
static inline double ops_metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    return -1;
}

/* The daemon's log so far (malloc'd). */
static inline char *ops_log(const th_daemon *d)
{
    char path[192];
    snprintf(path, sizeof path, "%s/daemon.log", d->dir);
    char *text = (char *)th_read_file(path, NULL);
    cr_assert_not_null(text, "no log at %s", path);
    return text;
}

/* Wait (bounded, 30 s) until the daemon's log contains needle. */
static inline void ops_wait_log(const th_daemon *d, const char *needle)
{
    for (int waited = 0; waited < 30000; waited += 20) {
        char *text = ops_log(d);
        int found = strstr(text, needle) != NULL;
        free(text);
        if (found)
            return;
        ops_sleep_ms(20);
    }
    char *text = ops_log(d);
    cr_assert_fail("log never said '%s':\n%s", needle, text);
}

/* The current /metrics text of a daemon (malloc'd), fetched from `from`. */
static inline char *ops_scrape(const th_daemon *d, const char *from, const char *const auth[])
{
    const char *extra[8];
    size_t n = 0;
    extra[n++] = "--interface";
    extra[n++] = from;
    for (size_t i = 0; auth != NULL && auth[i] != NULL && n < 7; i++)
        extra[n++] = auth[i];
    extra[n] = NULL;
    th_response r;
    ops_get(&r, d->base_url, "/metrics", extra);
    cr_assert_eq(r.status, 200, "/metrics: %d %s", r.status, (const char *)r.body);
    char *text = (char *)r.body;
    r.body = NULL;
    th_response_free(&r);
    return text;
}

/* Scrape until `series` has `want` (bounded, 30 s): connections closed by a
 * client are noticed by the daemon a moment later. Returns the last text. */
static inline char *ops_scrape_until(const th_daemon *d, const char *series, double want,
                                     int *scrapes)
{
    for (int waited = 0;; waited += 20) {
        char *text = ops_scrape(d, "127.0.0.1", NULL);
        (*scrapes)++;
        if (ops_metric(text, series) == want || waited >= 30000)
            return text;
        free(text);
        ops_sleep_ms(20);
    }
}

/* Run argv with stderr captured; returns the exit status, *err the stderr
 * text (malloc'd) and *out the stdout text (malloc'd, may be NULL). */
static inline int ops_run(const char *const argv[], char **out, char **err)
{
    char out_path[] = "/tmp/glorot-ops-out-XXXXXX", err_path[] = "/tmp/glorot-ops-err-XXXXXX";
    int ofd = mkstemp(out_path), efd = mkstemp(err_path);
    cr_assert(ofd >= 0 && efd >= 0);
    close(ofd);
    int saved = dup(2);
    dup2(efd, 2);
    int rc = th_run(argv, out_path, 30);
    dup2(saved, 2);
    close(saved);
    close(efd);
    *err = (char *)th_read_file(err_path, NULL);
    if (out != NULL)
        *out = (char *)th_read_file(out_path, NULL);
    unlink(out_path);
    unlink(err_path);
    cr_assert_not_null(*err);
    return rc;
}

#endif
