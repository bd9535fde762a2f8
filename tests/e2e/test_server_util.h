/*
 * test_server_util.h - helpers shared by the end-to-end tests
 * (tests/e2e/test_server_*.c, and the client tests' shared daemon): a daemon
 * shared by every test of a binary, raw-socket HTTP for cases curl cannot
 * produce, JSON error checks and the expected bytes computed in-process by
 * the core library.
 *
 * Header-only (static functions): each e2e binary is one test file plus
 * tests/support, so there is no other place to share code between them.
 */
#ifndef GLOROT_TEST_SERVER_UTIL_H
#define GLOROT_TEST_SERVER_UTIL_H

#include "../support/harness.h"
#include "glorot_proto.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- the shared daemon ------------------------------------------------------
 * Started in the criterion runner (PRE_ALL) before the tests are spawned;
 * tests find it through the environment, which the test processes inherit. */

static th_daemon ts_shared __attribute__((unused));

static inline void ts_shared_start(const char *const extra[])
{
    if (th_daemon_start(&ts_shared, extra) != 0) {
        fprintf(stderr, "test: cannot start the shared glorotd\n");
        exit(3);
    }
    char pid[24], port[16], log[192];
    snprintf(pid, sizeof pid, "%d", (int)ts_shared.pid);
    snprintf(port, sizeof port, "%d", ts_shared.port);
    snprintf(log, sizeof log, "%s/daemon.log", ts_shared.dir);
    setenv("TS_URL", ts_shared.base_url, 1);
    setenv("TS_PORT", port, 1);
    setenv("TS_PID", pid, 1);
    setenv("TS_LOG", log, 1);
}

/* Stop it; a daemon that does not exit 0 (a crash, or a leak report under
 * ASan) fails the whole binary. */
static inline void ts_shared_stop(void)
{
    char log[192];
    snprintf(log, sizeof log, "%s/daemon.log", ts_shared.dir);
    int rc = th_daemon_signal_wait(&ts_shared, SIGTERM);
    if (rc != 0) {
        unsigned char *text = th_read_file(log, NULL);
        fprintf(stderr, "test: the shared glorotd exited with %d; its log:\n%s\n", rc,
                text ? (char *)text : "(none)");
        free(text);
        th_daemon_stop(&ts_shared);
        exit(4);
    }
    th_daemon_stop(&ts_shared);
}

static inline const char *ts_url(void)
{
    return th_env("TS_URL");
}

static inline int ts_port(void)
{
    return (int)th_number(th_env("TS_PORT"));
}

/* base URL + path into out. */
static inline const char *ts_make_url(char *out, size_t size, const char *base, const char *path)
{
    snprintf(out, size, "%s%s", base, path);
    return out;
}

/* ---- JSON checks ---------------------------------------------------------- */

/* Assert r is an error reply: status, Content-Type application/json and a body
 * {"error": {"code": code, "message": non-empty, "param": param}}. */
static inline void ts_assert_error(const th_response *r, int status, const char *code,
                                   const char *param)
{
    cr_assert_eq(r->status, status, "status %d, expected %d; body: %s", r->status, status,
                 (const char *)r->body);
    char ct[128];
    cr_assert_eq(th_header(r, "Content-Type", ct, sizeof ct), 0, "no Content-Type");
    cr_assert_str_eq(ct, "application/json");
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)r->body, r->body_len, 0, &jerr);
    cr_assert_not_null(doc, "error body is not JSON: %s", (const char *)r->body);
    const char *got_code = NULL, *got_msg = NULL, *got_param = NULL;
    int rc = json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:{s:s, s:s, s:s}}", "error", "code",
                            &got_code, "message", &got_msg, "param", &got_param);
    cr_assert_eq(rc, 0, "error body has the wrong shape (%s): %s", jerr.text,
                 (const char *)r->body);
    cr_expect_str_eq(got_code, code, "code: %s", (const char *)r->body);
    cr_expect_str_eq(got_param, param, "param: %s", (const char *)r->body);
    cr_expect_gt(strlen(got_msg), 10, "message too short: %s", got_msg);
    json_decref(doc);
}

/* Case-insensitive substring search (strcasestr is a GNU extension). */
static inline const char *ts_find_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay != '\0'; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

/* A daemon log to quote when a raw read fails (set by tests that own a daemon). */
static char ts_diag_log[192] __attribute__((unused));

/* The log's text for a failure message ("" when none); leaks on purpose: the
 * test is failing and about to end. */
static inline const char *ts_diag(void)
{
    if (ts_diag_log[0] == '\0')
        return "";
    unsigned char *text = th_read_file(ts_diag_log, NULL);
    return text ? (const char *)text : "";
}

/* ---- raw sockets ---------------------------------------------------------- */

static inline int ts_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    struct timeval tv = {30, 0}; /* bounds every read: a hung daemon fails the test */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %s", strerror(errno));
    return fd;
}

static inline void ts_send(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        cr_assert_gt(n, 0, "send: %s", strerror(errno));
        data += n;
        len -= (size_t)n;
    }
}

static inline void ts_send_str(int fd, const char *text)
{
    ts_send(fd, text, strlen(text));
}

/* Read exactly len bytes (fails the test on EOF, error or the 30 s timeout). */
static inline void ts_recv_exact(int fd, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        cr_assert_gt(n, 0, "recv: %s\n%s", n == 0 ? "connection closed early" : strerror(errno),
                     ts_diag());
        p += n;
        len -= (size_t)n;
    }
}

typedef struct {
    int status;
    char head[8192];          /* status line + headers, NUL-terminated */
    long long content_length; /* -1 when absent */
    char body[8192];          /* first part of the body read with the head */
    size_t body_len;
} ts_head;

/* Read the status line and headers (plus whatever body bytes came along). */
static inline void ts_read_head(int fd, ts_head *h)
{
    memset(h, 0, sizeof *h);
    char buf[sizeof h->head + sizeof h->body];
    size_t used = 0;
    char *end = NULL;
    while (end == NULL) {
        cr_assert_lt(used, sizeof h->head - 1, "response head too long");
        ssize_t n = recv(fd, buf + used, sizeof h->head - 1 - used, 0);
        cr_assert_gt(n, 0, "recv head: %s\n%s", n == 0 ? "closed" : strerror(errno), ts_diag());
        used += (size_t)n;
        buf[used] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - buf) + 4;
    memcpy(h->head, buf, head_len);
    h->head[head_len] = '\0';
    h->body_len = used - head_len;
    memcpy(h->body, buf + head_len, h->body_len);
    cr_assert_eq(sscanf(h->head, "HTTP/1.%*d %d", &h->status), 1, "bad status line: %s", h->head);
    h->content_length = -1;
    const char *cl = ts_find_ci(h->head, "\r\nContent-Length:");
    if (cl != NULL)
        h->content_length = th_number(cl + 17);
}

/* Value of a header in a raw head, copied into out; 0 if found. */
static inline int ts_head_header(const ts_head *h, const char *name, char *out, size_t size)
{
    char pattern[96];
    snprintf(pattern, sizeof pattern, "\r\n%s:", name);
    const char *p = ts_find_ci(h->head, pattern);
    if (p == NULL)
        return -1;
    p += strlen(pattern);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r\n");
    if (n >= size)
        n = size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* Read a whole small response whose body has a Content-Length. Body into
 * h->body (NUL-terminated). */
static inline void ts_read_response(int fd, ts_head *h)
{
    ts_read_head(fd, h);
    cr_assert_geq(h->content_length, 0, "no Content-Length: %s", h->head);
    cr_assert_lt(h->content_length, (long long)sizeof h->body, "body too large for the helper");
    size_t want = (size_t)h->content_length;
    if (h->body_len < want)
        ts_recv_exact(fd, h->body + h->body_len, want - h->body_len);
    h->body_len = want;
    h->body[want] = '\0';
}

/* Assert a raw response is a JSON error with this status/code/param. */
static inline void ts_assert_raw_error(const ts_head *h, int status, const char *code,
                                       const char *param)
{
    th_response r = {0};
    r.status = h->status;
    r.headers = (char *)h->head;
    r.body = (unsigned char *)h->body;
    r.body_len = h->body_len;
    ts_assert_error(&r, status, code, param);
}

/* 1 when the peer has closed the connection (reads EOF or reset). */
static inline int ts_closed(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* ---- expected bytes --------------------------------------------------------- */

/* One request as (key, value) pairs, as a test table holds it. */
#define TS_MAX_PAIRS 12
typedef struct {
    char key[16];
    char value[64];
} ts_pair;

/* Build and finish a gp_request from pairs (the same calls the server makes).
 * Returns GP_OK or the error. */
static inline gp_code ts_build(const ts_pair *pairs, size_t n, gp_request *r, gp_error *err)
{
    gp_request_init(r);
    for (size_t i = 0; i < n && pairs[i].key[0] != '\0'; i++) {
        gp_code rc = gp_request_set(r, pairs[i].key, strlen(pairs[i].key), pairs[i].value,
                                    strlen(pairs[i].value), err);
        if (rc != GP_OK)
            return rc;
    }
    return gp_request_finish(r, NULL, err);
}

/* The whole body for a finished request (malloc'd). */
static inline unsigned char *ts_body(const gp_request *r, size_t *len)
{
    gp_body *b = malloc(sizeof *b);
    gp_error err = {0};
    cr_assert_not_null(b);
    cr_assert_eq(gp_body_init(b, r, &err), GP_OK, "gp_body_init: %s", err.message);
    size_t cap = 1 << 16, used = 0;
    unsigned char *out = malloc(cap);
    cr_assert_not_null(out);
    for (;;) {
        if (cap - used < 65536) {
            cap *= 2;
            out = realloc(out, cap);
            cr_assert_not_null(out);
        }
        size_t n = gp_body_read(b, used, out + used, cap - used);
        if (n == 0)
            break;
        used += n;
    }
    free(b);
    *len = used;
    return out;
}

/* Percent-encode a query value (RFC 3986 unreserved kept). */
static inline void ts_query_escape(const char *in, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0' && o + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || *p == ',' || *p == ':') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

/* "?k=v&k=v" for pairs. */
static inline void ts_query(const ts_pair *pairs, size_t n, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && pairs[i].key[0] != '\0'; i++) {
        char v[200];
        ts_query_escape(pairs[i].value, v, sizeof v);
        int m = snprintf(out + used, size - used, "%c%s=%s", i ? '&' : '?', pairs[i].key, v);
        cr_assert(m > 0 && (size_t)m < size - used, "query too long");
        used += (size_t)m;
    }
}

#endif
