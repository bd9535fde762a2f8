/*
 * test_client_fake.c - libglorot-client and the glorot command against a
 * scripted raw-socket server on loopback, for what a healthy glorotd never
 * does: answers cut after N body bytes, 503 with Retry-After, silent or
 * stalled connections, lying headers, corrupted bytes.
 *
 * The server is a thread in the test process. It serves one connection at a
 * time, always with "Connection: close"; connection i gets script[i] (the
 * last entry repeats), and every request line and head is recorded, so tests
 * can count attempts and see what each asked for. Answers carry a strong
 * ETag; an R_PARTIAL answer honours "Range: bytes=N-" with the matching
 * If-Range by sending 206 and the rest of the body. Nothing depends on
 * timing: cuts are by byte count, and a stalled connection stays open until
 * the client gives up.
 */
#include "../support/harness.h"
#include "glorot/client.h"
#include "glorot_proto.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FAKE_SCRIPT_MAX 8
#define FAKE_LOG_MAX 16
#define ALL UINT64_MAX

typedef enum {
    R_BODY,    /* 200 with the Glorot-* headers and the body (maybe cut or corrupted) */
    R_ERROR,   /* status with a text body */
    R_CLOSE,   /* read the request, close without a word */
    R_STALL,   /* read the request, send nothing, wait until the client leaves */
    R_PARTIAL, /* like R_BODY, but 206 and the rest from N for "Range: bytes=N-" + If-Range */
} reply_kind;

typedef struct {
    reply_kind kind;
    int status;           /* R_ERROR */
    char body[256];       /* R_ERROR */
    char headers[256];    /* extra header lines, each ending in \r\n */
    uint64_t cut_after;   /* R_BODY: body bytes sent before closing (ALL = all) */
    int stall_after_cut;  /* R_BODY: after the cut, wait instead of closing */
    long flip;            /* R_BODY: body byte to corrupt, -1 = none */
    char drop_header[24]; /* R_BODY: a Glorot-* header to leave out */
    char override[64];    /* R_BODY: replace a header line (same name) */
    long range_shift;     /* R_PARTIAL: added to the start its Content-Range names */
    long force_from;      /* R_PARTIAL: answer 206 from here whatever was asked (-1 = no) */
} fake_reply;

typedef struct {
    int listen_fd;
    int port;
    char url[64];
    pthread_t thread;
    fake_reply script[FAKE_SCRIPT_MAX];
    size_t script_len;
    unsigned char *body; /* what a 200 serves */
    size_t body_len;
    char glorot[1024]; /* its Glorot-* header lines */
    pthread_mutex_t lock;
    size_t connections;
    char requests[FAKE_LOG_MAX][512];
    char heads[FAKE_LOG_MAX][2048]; /* each request's whole head */
    int stop;
} fake_server;

#define FAKE_ETAG "\"fake-etag-1\""

/* ---- the server ------------------------------------------------------------ */

static int fake_stopping(fake_server *f)
{
    pthread_mutex_lock(&f->lock);
    int stop = f->stop;
    pthread_mutex_unlock(&f->lock);
    return stop;
}

static void send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* Read until the blank line; record the request line. */
static int read_request(fake_server *f, int fd, size_t index)
{
    char buf[4096];
    size_t used = 0;
    while (used < sizeof buf - 1) {
        ssize_t n = recv(fd, buf + used, sizeof buf - 1 - used, 0);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        buf[used] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            break;
    }
    size_t line = strcspn(buf, "\r\n");
    if (index < FAKE_LOG_MAX) {
        if (line >= sizeof f->requests[0])
            line = sizeof f->requests[0] - 1;
        pthread_mutex_lock(&f->lock);
        memcpy(f->requests[index], buf, line);
        f->requests[index][line] = '\0';
        size_t head = used < sizeof f->heads[0] ? used : sizeof f->heads[0] - 1;
        memcpy(f->heads[index], buf, head);
        f->heads[index][head] = '\0';
        pthread_mutex_unlock(&f->lock);
    }
    return 0;
}

/* Wait until the client closes its end (or the test ends). */
static void wait_for_client(fake_server *f, int fd)
{
    char sink[256];
    while (!fake_stopping(f)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) > 0 && recv(fd, sink, sizeof sink, 0) <= 0)
            return;
    }
}

static void header_block(const fake_server *f, const fake_reply *r, char *out, size_t size)
{
    char glorot[1024];
    const char *line = f->glorot;
    size_t used = 0;
    size_t name_len = strcspn(r->override, ":");
    glorot[0] = '\0';
    while (*line != '\0') {
        size_t len = strcspn(line, "\n") + 1;
        int dropped =
            r->drop_header[0] && strncmp(line, r->drop_header, strlen(r->drop_header)) == 0;
        int replaced = r->override[0] && strncmp(line, r->override, name_len + 1) == 0;
        if (replaced)
            used += (size_t)snprintf(glorot + used, sizeof glorot - used, "%s\r\n", r->override);
        else if (!dropped)
            used += (size_t)snprintf(glorot + used, sizeof glorot - used, "%.*s", (int)len, line);
        line += len;
    }
    int has_length = r->override[0] && strncmp(r->override, "Content-Length:", 15) == 0;
    char length[80];
    if (has_length)
        snprintf(length, sizeof length, "%s\r\n", r->override);
    else
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", f->body_len);
    snprintf(out, size,
             "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n"
             "%s%s%s\r\n",
             length, glorot, r->headers);
}

static void serve_body(fake_server *f, int fd, const fake_reply *r)
{
    char head[2048];
    header_block(f, r, head, sizeof head);
    send_all(fd, head, strlen(head));
    size_t n = r->cut_after < f->body_len ? (size_t)r->cut_after : f->body_len;
    if (r->flip >= 0 && (size_t)r->flip < n) {
        unsigned char *copy = malloc(n);
        memcpy(copy, f->body, n);
        copy[r->flip] ^= 0x01;
        send_all(fd, copy, n);
        free(copy);
    } else {
        send_all(fd, f->body, n);
    }
    if (r->stall_after_cut)
        wait_for_client(f, fd);
}

/* The N of "Range: bytes=N-" when If-Range names our ETag; -1 otherwise. */
static long asked_from(const char *head)
{
    static const char pattern[] = "\r\nRange: bytes=";
    const char *range = strstr(head, pattern);
    const char *if_range = strstr(head, "\r\nIf-Range: " FAKE_ETAG "\r\n");
    if (range == NULL || if_range == NULL)
        return -1;
    return strtol(range + sizeof pattern - 1, NULL, 10);
}

static void serve_partial(fake_server *f, int fd, const fake_reply *r, size_t index)
{
    long from = r->force_from >= 0 ? r->force_from
                                   : asked_from(index < FAKE_LOG_MAX ? f->heads[index] : "");
    if (from < 0 || (size_t)from >= f->body_len) {
        serve_body(f, fd, r);
        return;
    }
    char head[2048], length[64];
    fake_reply whole = *r;
    snprintf(length, sizeof length, "Content-Length: %zu", f->body_len - (size_t)from);
    snprintf(whole.override, sizeof whole.override, "%s", r->override[0] ? r->override : length);
    header_block(f, &whole, head, sizeof head);
    char *status_end = strstr(head, "\r\n");
    char range[96];
    snprintf(range, sizeof range,
             "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %ld-%zu/%zu",
             from + r->range_shift, f->body_len - 1, f->body_len);
    send_all(fd, range, strlen(range));
    send_all(fd, status_end, strlen(status_end));
    size_t n = f->body_len - (size_t)from;
    if (r->cut_after < n)
        n = (size_t)r->cut_after;
    send_all(fd, f->body + from, n);
}

static void serve_error(int fd, const fake_reply *r)
{
    char head[1024];
    snprintf(head, sizeof head,
             "HTTP/1.1 %d Error\r\nConnection: close\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n%s\r\n",
             r->status, strlen(r->body), r->headers);
    send_all(fd, head, strlen(head));
    send_all(fd, r->body, strlen(r->body));
}

static void serve(fake_server *f, int fd, size_t index)
{
    const fake_reply *r = &f->script[index < f->script_len ? index : f->script_len - 1];
    if (read_request(f, fd, index) != 0)
        return;
    switch (r->kind) {
    case R_BODY:
        serve_body(f, fd, r);
        break;
    case R_ERROR:
        serve_error(fd, r);
        break;
    case R_CLOSE:
        break;
    case R_STALL:
        wait_for_client(f, fd);
        break;
    case R_PARTIAL:
        serve_partial(f, fd, r, index);
        break;
    }
}

static void *fake_main(void *arg)
{
    fake_server *f = arg;
    while (!fake_stopping(f)) {
        struct pollfd p = {f->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&f->lock);
        size_t index = f->connections++;
        pthread_mutex_unlock(&f->lock);
        serve(f, fd, index);
        shutdown(fd, SHUT_WR);
        close(fd);
    }
    return NULL;
}

/* ---- set-up ---------------------------------------------------------------- */

static void glorot_headers(fake_server *f, const glorot_meta *m)
{
    char shape[200] = "";
    size_t used = 0;
    for (size_t i = 0; i < m->rank; i++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%llu", i ? "," : "",
                                 (unsigned long long)m->shape[i]);
    snprintf(f->glorot, sizeof f->glorot,
             "Glorot-Seed: %llu\r\nGlorot-Algorithm: %s\r\nGlorot-Dtype: %s\r\n"
             "Glorot-Shape: %s\r\nGlorot-Fan-In: %llu\r\nGlorot-Fan-Out: %llu\r\n"
             "Glorot-Limit: %.17g\r\nGlorot-Gain: %s\r\nGlorot-Name: weight\r\n"
             "Glorot-Format: %s\r\nETag: " FAKE_ETAG "\r\n",
             (unsigned long long)m->seed, m->algorithm, m->dtype, shape,
             (unsigned long long)m->fan_in, (unsigned long long)m->fan_out, m->limit, m->gain,
             m->format);
}

/* The tensor every test asks for: 300 x 200 float32 (240000 bytes). */
static void test_request(glorot_request *req, int with_seed)
{
    glorot_error err = {0};
    glorot_request_init(req);
    cr_assert_eq(glorot_request_set(req, "shape", "300,200", &err), GLOROT_OK);
    if (with_seed)
        cr_assert_eq(glorot_request_set(req, "seed", "77", &err), GLOROT_OK);
}

static void fake_start(fake_server *f, const fake_reply *script, size_t n)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    cr_assert(n >= 1 && n <= FAKE_SCRIPT_MAX);
    memcpy(f->script, script, n * sizeof *script);
    f->script_len = n;

    glorot_request req;
    glorot_meta meta;
    glorot_error err = {0};
    test_request(&req, 1);
    f->body_len = 300 * 200 * 4;
    f->body = malloc(f->body_len);
    cr_assert_eq(glorot_generate(&req, f->body, f->body_len, &meta, &err), GLOROT_OK);
    glorot_headers(f, &meta);

    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(bind(f->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(f->listen_fd, (struct sockaddr *)&a, &alen), 0);
    cr_assert_eq(listen(f->listen_fd, 8), 0);
    f->port = ntohs(a.sin_port);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->port);
    cr_assert_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static size_t fake_stop(fake_server *f)
{
    pthread_mutex_lock(&f->lock);
    f->stop = 1;
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    free(f->body);
    pthread_mutex_destroy(&f->lock);
    return f->connections;
}

static glorot_client *fake_client(const fake_server *f, glorot_verify verify, int retries,
                                  long timeout_ms)
{
    glorot_options o = {0};
    glorot_error err = {0};
    o.verify = verify;
    o.retries = retries;
    o.retry_base_ms = 5;
    o.retry_max_ms = 50;
    o.timeout_ms = timeout_ms;
    glorot_client *c = glorot_client_new(f->url, &o, &err);
    cr_assert_not_null(c, "%s", err.message);
    return c;
}

static const fake_reply FULL = {R_BODY, 0, "", "", ALL, 0, -1, "", "", 0, -1};

static fake_reply cut(uint64_t n)
{
    fake_reply r = FULL;
    r.cut_after = n;
    return r;
}

static fake_reply error_reply(int status, const char *body, const char *headers)
{
    fake_reply r = {R_ERROR, status, "", "", ALL, 0, -1, "", "", 0, -1};
    snprintf(r.body, sizeof r.body, "%s", body);
    snprintf(r.headers, sizeof r.headers, "%s", headers);
    return r;
}

typedef struct {
    unsigned char *data;
    size_t len, cap;
    int out_of_order;
    int abort_at_call; /* 0 = never */
    int calls;
} collected;

static int collect(void *user, uint64_t offset, const void *data, size_t len)
{
    collected *c = user;
    if (++c->calls == c->abort_at_call)
        return 1;
    if (offset != c->len)
        c->out_of_order = 1;
    if (c->len + len > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 65536;
        while (cap < c->len + len)
            cap *= 2;
        c->data = realloc(c->data, cap);
        c->cap = cap;
    }
    memcpy(c->data + c->len, data, len);
    c->len += len;
    return 0;
}

/* ---- resumption after a broken answer -------------------------------------- */

typedef struct {
    uint64_t cut;
    int seeded; /* the caller gave the seed */
    int stream; /* callback rather than buffer */
    glorot_verify verify;
} resume_case;

ParameterizedTestParameters(fake, resumes_identically)
{
    static resume_case cases[] = {
        {0, 1, 0, GLOROT_VERIFY_NONE},      {1, 1, 1, GLOROT_VERIFY_FULL},
        {4097, 0, 1, GLOROT_VERIFY_SAMPLE}, {120000, 0, 0, GLOROT_VERIFY_FULL},
        {239999, 1, 1, GLOROT_VERIFY_NONE}, {65536, 0, 1, GLOROT_VERIFY_NONE},
    };
    return cr_make_param_array(resume_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(resume_case *rc, fake, resumes_identically)
{
    fake_server f;
    fake_reply script[] = {cut(rc->cut), FULL};
    fake_start(&f, script, 2);
    glorot_client *c = fake_client(&f, rc->verify, 3, 20000);
    glorot_request req;
    glorot_error err = {0};
    glorot_meta meta;
    test_request(&req, rc->seeded);
    collected got = {0};
    unsigned char *buf = malloc(f.body_len);
    glorot_code code = rc->stream ? glorot_fetch_stream(c, &req, collect, &got, &meta, &err)
                                  : glorot_fetch(c, &req, buf, f.body_len, &meta, &err);
    cr_assert_eq(code, GLOROT_OK, "%s", err.message);
    const unsigned char *result = rc->stream ? got.data : buf;
    if (rc->stream) {
        cr_expect_not(got.out_of_order);
        cr_assert_eq(got.len, f.body_len, "each byte exactly once");
    }
    cr_expect_arr_eq(result, f.body, f.body_len, "resumed bytes differ from an unbroken answer");
    cr_expect_eq(meta.seed, 77);
    cr_expect_eq(meta.size, f.body_len);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 2);
    cr_expect(strstr(f.requests[1], "seed=77") != NULL,
              "the retry must ask for the first answer's seed: %s", f.requests[1]);
    if (!rc->seeded)
        cr_expect(strstr(f.requests[0], "seed=") == NULL, "%s", f.requests[0]);
    free(got.data);
    free(buf);
}

/* ---- resumption with byte ranges (206) ------------------------------------------ */

static fake_reply partial(uint64_t cut_after)
{
    fake_reply r = FULL;
    r.kind = R_PARTIAL;
    r.cut_after = cut_after;
    r.force_from = -1;
    return r;
}

ParameterizedTestParameters(fake, resumes_with_a_range)
{
    static resume_case real[] = {
        {1, 1, 0, GLOROT_VERIFY_NONE},
        {4097, 0, 1, GLOROT_VERIFY_FULL},
        {120000, 1, 1, GLOROT_VERIFY_SAMPLE},
        {239999, 0, 0, GLOROT_VERIFY_FULL},
    };
    return cr_make_param_array(resume_case, real, sizeof real / sizeof real[0]);
}

ParameterizedTest(resume_case *rc, fake, resumes_with_a_range)
{
    fake_server f;
    fake_reply script[] = {cut(rc->cut), partial(ALL)};
    fake_start(&f, script, 2);
    glorot_client *c = fake_client(&f, rc->verify, 3, 20000);
    glorot_request req;
    glorot_error err = {0};
    glorot_meta meta;
    test_request(&req, rc->seeded);
    collected got = {0};
    unsigned char *buf = malloc(f.body_len);
    glorot_code code = rc->stream ? glorot_fetch_stream(c, &req, collect, &got, &meta, &err)
                                  : glorot_fetch(c, &req, buf, f.body_len, &meta, &err);
    cr_assert_eq(code, GLOROT_OK, "%s", err.message);
    const unsigned char *result = rc->stream ? got.data : buf;
    if (rc->stream)
        cr_assert_eq(got.len, f.body_len, "each byte exactly once");
    cr_expect_arr_eq(result, f.body, f.body_len, "bytes differ from an unbroken answer");
    cr_expect_eq(meta.size, f.body_len);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 2);
    char want[64];
    snprintf(want, sizeof want, "\r\nRange: bytes=%llu-\r\n", (unsigned long long)rc->cut);
    cr_expect(strstr(f.heads[1], want) != NULL, "the retry must ask for the rest: %s", f.heads[1]);
    cr_expect(strstr(f.heads[1], "\r\nIf-Range: " FAKE_ETAG "\r\n") != NULL, "%s", f.heads[1]);
    cr_expect(strstr(f.requests[1], "seed=77") != NULL, "%s", f.requests[1]);
    cr_expect(strstr(f.heads[0], "Range:") == NULL, "%s", f.heads[0]);
    free(got.data);
    free(buf);
}

Test(fake, ranges_chain_across_several_breaks)
{
    fake_server f;
    fake_reply script[] = {cut(50000), partial(30000), partial(1), partial(ALL)};
    fake_start(&f, script, 4);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_FULL, 5, 20000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 0);
    collected got = {0};
    cr_assert_eq(glorot_fetch_stream(c, &req, collect, &got, NULL, &err), GLOROT_OK, "%s",
                 err.message);
    cr_assert_eq(got.len, f.body_len);
    cr_expect_not(got.out_of_order);
    cr_expect_arr_eq(got.data, f.body, f.body_len);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 4);
    cr_expect(strstr(f.heads[1], "Range: bytes=50000-") != NULL, "%s", f.heads[1]);
    cr_expect(strstr(f.heads[2], "Range: bytes=80000-") != NULL, "%s", f.heads[2]);
    cr_expect(strstr(f.heads[3], "Range: bytes=80001-") != NULL, "%s", f.heads[3]);
    free(got.data);
}

/* Without an ETag in the first answer the retry asks for everything and skips. */
Test(fake, no_etag_no_range)
{
    fake_server f;
    fake_reply first = cut(70000);
    snprintf(first.drop_header, sizeof first.drop_header, "ETag");
    fake_reply second = partial(ALL);
    snprintf(second.drop_header, sizeof second.drop_header, "ETag");
    fake_reply script[] = {first, second};
    fake_start(&f, script, 2);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_NONE, 3, 20000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    cr_assert_eq(glorot_fetch(c, &req, buf, f.body_len, NULL, &err), GLOROT_OK, "%s", err.message);
    cr_expect_arr_eq(buf, f.body, f.body_len);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 2);
    cr_expect(strstr(f.heads[1], "Range:") == NULL, "%s", f.heads[1]);
    free(buf);
}

typedef struct {
    char label[32];
    long range_shift;
    long force_from; /* on the first answer */
    char override[64];
    glorot_code expected;
    size_t connections;
} bad_partial_case;

ParameterizedTestParameters(fake, wrong_partial_answers_rejected)
{
    static bad_partial_case cases[] = {
        {"range starts early", -1, -1, "", GLOROT_E_PROTOCOL, 2},
        {"range starts late", 1, -1, "", GLOROT_E_PROTOCOL, 2},
        {"other etag", 0, -1, "ETag: \"fake-etag-2\"", GLOROT_E_PROTOCOL, 2},
        {"short length", 0, -1, "Content-Length: 10", GLOROT_E_PROTOCOL, 2},
        {"other seed", 0, -1, "Glorot-Seed: 78", GLOROT_E_PROTOCOL, 2},
        {"206 unasked", 0, 100, "", GLOROT_E_PROTOCOL, 1},
    };
    return cr_make_param_array(bad_partial_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_partial_case *bc, fake, wrong_partial_answers_rejected)
{
    fake_server f;
    fake_reply lie = partial(ALL);
    lie.range_shift = bc->range_shift;
    snprintf(lie.override, sizeof lie.override, "%s", bc->override);
    fake_reply first = cut(100000);
    if (bc->force_from >= 0) {
        first = lie;
        first.force_from = bc->force_from;
    }
    fake_reply script[] = {first, lie};
    fake_start(&f, script, 2);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_NONE, 3, 20000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len + 64);
    memset(buf, 0xA5, f.body_len + 64);
    glorot_code code = glorot_fetch(c, &req, buf, f.body_len, NULL, &err);
    cr_expect_eq(code, bc->expected, "%s: %s: %s", bc->label, glorot_strerror(code), err.message);
    for (size_t i = f.body_len; i < f.body_len + 64; i++)
        cr_assert_eq(buf[i], 0xA5, "%s: wrote past the buffer", bc->label);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), bc->connections, "%s: a wrong 206 is not retried", bc->label);
    free(buf);
}

Test(fake, broken_answer_without_retries_is_protocol_error)
{
    fake_server f;
    fake_reply script[] = {cut(1000)};
    fake_start(&f, script, 1);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_NONE, GLOROT_RETRIES_NONE, 20000);
    glorot_request req;
    glorot_error err = {0};
    glorot_meta meta;
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    cr_expect_eq(glorot_fetch(c, &req, buf, f.body_len, &meta, &err), GLOROT_E_PROTOCOL, "%s",
                 err.message);
    cr_expect_eq(meta.size, 0);
    cr_expect_eq(err.http_status, 200);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 1);
    free(buf);
}

Test(fake, every_attempt_broken_gives_up_after_retries)
{
    fake_server f;
    fake_reply script[] = {cut(5000)};
    fake_start(&f, script, 1);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_NONE, 2, 20000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    collected got = {0};
    cr_expect_eq(glorot_fetch_stream(c, &req, collect, &got, NULL, &err), GLOROT_E_PROTOCOL);
    cr_expect(strstr(err.message, "after 3 attempts") != NULL, "%s", err.message);
    cr_expect_eq(got.len, 5000, "the prefix is delivered once, never repeated");
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 3);
    free(got.data);
}

Test(fake, stalled_answer_is_retried_after_idle_timeout)
{
    fake_server f;
    fake_reply stalled = cut(10000);
    stalled.stall_after_cut = 1;
    fake_reply script[] = {stalled, FULL};
    fake_start(&f, script, 2);
    glorot_options o = {0};
    glorot_error err = {0};
    o.idle_timeout_ms = 1000;
    o.retry_base_ms = 5;
    glorot_client *c = glorot_client_new(f.url, &o, &err);
    glorot_request req;
    test_request(&req, 0);
    unsigned char *buf = malloc(f.body_len);
    cr_assert_eq(glorot_fetch(c, &req, buf, f.body_len, NULL, &err), GLOROT_OK, "%s", err.message);
    cr_expect_arr_eq(buf, f.body, f.body_len);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 2);
    free(buf);
}

Test(fake, silent_server_times_out_within_the_deadline)
{
    fake_server f;
    fake_reply stall = {R_STALL, 0, "", "", ALL, 0, -1, "", "", 0, -1};
    fake_start(&f, &stall, 1);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_NONE, 3, 1000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    cr_expect_eq(glorot_fetch(c, &req, buf, f.body_len, NULL, &err), GLOROT_E_TIMEOUT, "%s",
                 err.message);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 1, "no retry once the deadline has passed");
    free(buf);
}

Test(fake, closed_without_answer_is_retried)
{
    fake_server f;
    fake_reply script[] = {{R_CLOSE, 0, "", "", ALL, 0, -1, "", "", 0, -1}, FULL};
    fake_start(&f, script, 2);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_FULL, 3, 20000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    cr_expect_eq(glorot_fetch(c, &req, buf, f.body_len, NULL, &err), GLOROT_OK, "%s", err.message);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 2);
    free(buf);
}

/* ---- status codes ------------------------------------------------------------ */

static const char bad_json[] =
    "{\"error\":{\"code\":\"invalid_parameter\",\"message\":\"shape: too odd\",\"param\":"
    "\"shape\"}}";
static const char busy_json[] =
    "{\"error\":{\"code\":\"shutting_down\",\"message\":\"restarting\",\"param\":\"\"}}";

Test(fake, unavailable_is_retried_honouring_retry_after)
{
    fake_server f;
    fake_reply script[] = {error_reply(503, busy_json, "Retry-After: 1\r\n"),
                           error_reply(503, busy_json, ""), FULL};
    fake_start(&f, script, 3);
    glorot_options o = {0};
    glorot_error err = {0};
    o.retry_base_ms = 5; /* back-off alone would wait milliseconds */
    glorot_client *c = glorot_client_new(f.url, &o, &err);
    glorot_request req;
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_expect_eq(glorot_fetch(c, &req, buf, f.body_len, NULL, &err), GLOROT_OK, "%s", err.message);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect_geq(waited, 1.0, "Retry-After: 1 was not honoured (%.3f s)", waited);
    cr_expect_arr_eq(buf, f.body, f.body_len);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 3);
    free(buf);
}

Test(fake, retry_after_is_capped)
{
    fake_server f;
    fake_reply script[] = {error_reply(503, busy_json, "Retry-After: 3600\r\n"), FULL};
    fake_start(&f, script, 2);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_NONE, 3, 20000); /* cap 50 ms */
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    cr_expect_eq(glorot_fetch(c, &req, buf, f.body_len, NULL, &err), GLOROT_OK, "%s", err.message);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 2);
    free(buf);
}

static const char too_many_json[] =
    "{\"error\":{\"code\":\"too_many_requests\",\"message\":\"slow down\",\"param\":\"\"}}";

Test(fake, too_many_requests_is_retried)
{
    fake_server f;
    fake_reply script[] = {error_reply(429, too_many_json, "Retry-After: 0\r\n"), FULL};
    fake_start(&f, script, 2);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_NONE, 3, 20000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    cr_expect_eq(glorot_fetch(c, &req, buf, f.body_len, NULL, &err), GLOROT_OK, "%s", err.message);
    cr_expect_arr_eq(buf, f.body, f.body_len);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 2);
    free(buf);
}

Test(fake, unavailable_until_retries_run_out)
{
    fake_server f;
    fake_reply script[] = {error_reply(503, busy_json, "Retry-After: 0\r\n")};
    fake_start(&f, script, 1);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_NONE, 2, 20000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    cr_expect_eq(glorot_fetch(c, &req, buf, f.body_len, NULL, &err), GLOROT_E_HTTP);
    cr_expect_eq(err.http_status, 503);
    cr_expect_str_eq(err.server_code, "shutting_down");
    cr_expect(strncmp(err.message, "restarting", 10) == 0, "%s", err.message);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 3);
    free(buf);
}

typedef struct {
    int status;
    char body[160];
    char message[48];
    char param[16];
    char code[24];
} status_case;

ParameterizedTestParameters(fake, error_status_not_retried)
{
    static status_case cases[] = {
        {400, "", "shape: too odd", "shape", "invalid_parameter"},
        {404, "{\"error\":{\"code\":\"not_found\",\"message\":\"gone\",\"param\":\"\"}}", "gone",
         "", "not_found"},
        {500, "{\"error\":{\"code\":\"internal\",\"message\":\"oops\"}}", "oops", "", "internal"},
        {413, "not json at all", "the server answered HTTP 413", "", ""},
        {422, "{\"error\":{\"code\":1,\"message\":\"wrong types\"}}",
         "the server answered HTTP 422", "", ""},
        {502, "", "the server answered HTTP 502", "", ""},
    };
    snprintf(cases[0].body, sizeof cases[0].body, "%s", bad_json);
    return cr_make_param_array(status_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(status_case *sc, fake, error_status_not_retried)
{
    fake_server f;
    fake_reply script[] = {error_reply(sc->status, sc->body, ""), FULL};
    fake_start(&f, script, 2);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_NONE, 3, 20000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    cr_expect_eq(glorot_fetch(c, &req, buf, f.body_len, NULL, &err), GLOROT_E_HTTP);
    cr_expect_eq(err.http_status, sc->status);
    cr_expect_str_eq(err.message, sc->message);
    cr_expect_str_eq(err.param, sc->param);
    cr_expect_str_eq(err.server_code, sc->code);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 1);
    free(buf);
}

/* ---- answers that disagree with the request ------------------------------------ */

typedef struct {
    char label[32];
    char drop[24];
    char override[64];
    long flip;
    glorot_verify verify;
    glorot_code expected;
} lie_case;

ParameterizedTestParameters(fake, lying_answer_rejected)
{
    static lie_case cases[] = {
        {"no seed", "Glorot-Seed", "", -1, GLOROT_VERIFY_NONE, GLOROT_E_PROTOCOL},
        {"other seed", "", "Glorot-Seed: 78", -1, GLOROT_VERIFY_NONE, GLOROT_E_PROTOCOL},
        {"bad seed", "", "Glorot-Seed: 7x", -1, GLOROT_VERIFY_NONE, GLOROT_E_PROTOCOL},
        {"dtype", "", "Glorot-Dtype: float16", -1, GLOROT_VERIFY_NONE, GLOROT_E_PROTOCOL},
        {"shape", "", "Glorot-Shape: 200,300", -1, GLOROT_VERIFY_NONE, GLOROT_E_PROTOCOL},
        {"limit", "", "Glorot-Limit: 0.1", -1, GLOROT_VERIFY_NONE, GLOROT_E_PROTOCOL},
        {"fan", "", "Glorot-Fan-In: 3", -1, GLOROT_VERIFY_NONE, GLOROT_E_PROTOCOL},
        {"algorithm", "", "Glorot-Algorithm: mlx", -1, GLOROT_VERIFY_NONE, GLOROT_E_PROTOCOL},
        {"short length", "", "Content-Length: 239996", -1, GLOROT_VERIFY_NONE, GLOROT_E_PROTOCOL},
        {"bad length", "", "Content-Length: 12ab", -1, GLOROT_VERIFY_NONE, GLOROT_E_PROTOCOL},
        {"length over buffer", "", "Content-Length: 240004", -1, GLOROT_VERIFY_NONE,
         GLOROT_E_BUFFER},
        {"flip, full", "", "", 123457, GLOROT_VERIFY_FULL, GLOROT_E_VERIFY},
        {"flip first, sample", "", "", 0, GLOROT_VERIFY_SAMPLE, GLOROT_E_VERIFY},
        {"flip last, sample", "", "", 239999, GLOROT_VERIFY_SAMPLE, GLOROT_E_VERIFY},
        {"flip, unverified", "", "", 123457, GLOROT_VERIFY_NONE, GLOROT_OK},
    };
    return cr_make_param_array(lie_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(lie_case *lc, fake, lying_answer_rejected)
{
    fake_server f;
    fake_reply lie = FULL;
    snprintf(lie.drop_header, sizeof lie.drop_header, "%s", lc->drop);
    snprintf(lie.override, sizeof lie.override, "%s", lc->override);
    lie.flip = lc->flip;
    fake_start(&f, &lie, 1);
    glorot_client *c = fake_client(&f, lc->verify, 3, 20000);
    glorot_request req;
    glorot_error err = {0};
    glorot_meta meta;
    test_request(&req, 1);
    /* a canary beyond the buffer the library is told about */
    unsigned char *buf = malloc(f.body_len + 64);
    memset(buf, 0xA5, f.body_len + 64);
    glorot_code code = glorot_fetch(c, &req, buf, f.body_len, &meta, &err);
    cr_expect_eq(code, lc->expected, "%s: got %s: %s", lc->label, glorot_strerror(code),
                 err.message);
    for (size_t i = f.body_len; i < f.body_len + 64; i++)
        cr_assert_eq(buf[i], 0xA5, "%s: wrote past the buffer", lc->label);
    if (code != GLOROT_OK)
        cr_expect_eq(meta.size, 0);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 1, "%s: a disagreeing answer is not retried", lc->label);
    free(buf);
}

/* ---- Repr-Digest (RFC 9530) ------------------------------------------------------ */

typedef struct {
    char label[32];
    int digest; /* 0 the body's, 1 another's, 2 malformed, 3 none, 4 sha-512 only */
    glorot_verify verify;
    glorot_code expected;
} repr_case;

ParameterizedTestParameters(fake, repr_digest_checked_when_verifying)
{
    static repr_case cases[] = {
        {"right, sample", 0, GLOROT_VERIFY_SAMPLE, GLOROT_OK},
        {"right, full", 0, GLOROT_VERIFY_FULL, GLOROT_OK},
        {"wrong, sample", 1, GLOROT_VERIFY_SAMPLE, GLOROT_E_VERIFY},
        {"wrong, full", 1, GLOROT_VERIFY_FULL, GLOROT_E_VERIFY},
        {"wrong, unverified", 1, GLOROT_VERIFY_NONE, GLOROT_OK},
        {"malformed", 2, GLOROT_VERIFY_SAMPLE, GLOROT_E_PROTOCOL},
        {"absent", 3, GLOROT_VERIFY_SAMPLE, GLOROT_OK},
        {"another algorithm", 4, GLOROT_VERIFY_SAMPLE, GLOROT_OK},
    };
    return cr_make_param_array(repr_case, cases, sizeof cases / sizeof cases[0]);
}

/* The body is right in every case, so sample and full verification pass:
 * only the Repr-Digest check can fail "wrong". A verifying client asks for
 * the field; an unverified one does not. */
ParameterizedTest(repr_case *rc, fake, repr_digest_checked_when_verifying)
{
    fake_server f;
    fake_reply r = FULL;
    fake_start(&f, &r, 1);
    unsigned char hash[32];
    char value[GP_DIGEST_FIELD_MAX];
    crypto_hash_sha256(hash, f.body, f.body_len);
    hash[0] ^= rc->digest == 1 ? 1 : 0;
    gp_digest_field(GP_DIGEST_SHA256, hash, value, sizeof value);
    const char *line = rc->digest <= 1   ? value
                       : rc->digest == 2 ? "sha-256=:not base64:"
                       : rc->digest == 4 ? "sha-512=:AAAA:"
                                         : NULL;
    pthread_mutex_lock(&f.lock); /* the server reads its script per connection */
    if (line != NULL)
        snprintf(f.script[0].headers, sizeof f.script[0].headers, "Repr-Digest: %s\r\n", line);
    pthread_mutex_unlock(&f.lock);
    glorot_client *c = fake_client(&f, rc->verify, 0, 20000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    glorot_code code = glorot_fetch(c, &req, buf, f.body_len, NULL, &err);
    cr_expect_eq(code, rc->expected, "%s: got %s: %s", rc->label, glorot_strerror(code),
                 err.message);
    if (code == GLOROT_E_VERIFY)
        cr_expect(strstr(err.message, "Repr-Digest") != NULL, "%s", err.message);
    pthread_mutex_lock(&f.lock);
    int asked = strstr(f.heads[0], "\r\nWant-Repr-Digest: sha-256=10\r\n") != NULL;
    pthread_mutex_unlock(&f.lock);
    cr_expect_eq(asked, rc->verify != GLOROT_VERIFY_NONE, "%s: Want-Repr-Digest sent: %d",
                 rc->label, asked);
    glorot_client_free(c);
    fake_stop(&f);
    free(buf);
}

/* ---- the caller's side -------------------------------------------------------- */

Test(fake, callback_abort_stops_without_retry)
{
    fake_server f;
    fake_start(&f, &FULL, 1);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_NONE, 3, 20000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    collected got = {0};
    got.abort_at_call = 2;
    cr_expect_eq(glorot_fetch_stream(c, &req, collect, &got, NULL, &err), GLOROT_E_ABORTED);
    cr_expect_eq(got.calls, 2);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 1);
    free(got.data);
}

Test(fake, small_buffer_makes_no_connection)
{
    fake_server f;
    fake_start(&f, &FULL, 1);
    glorot_client *c = fake_client(&f, GLOROT_VERIFY_NONE, 3, 20000);
    glorot_request req;
    glorot_error err = {0};
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    memset(buf, 0x5A, f.body_len);
    cr_expect_eq(glorot_fetch(c, &req, buf, f.body_len - 1, NULL, &err), GLOROT_E_BUFFER);
    for (size_t i = 0; i < f.body_len; i++)
        cr_assert_eq(buf[i], 0x5A);
    /* the control: a fitting buffer does connect */
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_fetch(c, &req, buf, f.body_len, NULL, &err), GLOROT_OK, "%s", err.message);
    glorot_client_free(c);
    cr_expect_eq(fake_stop(&f), 1);
    free(buf);
}

Test(fake, bearer_token_and_user_agent_are_sent)
{
    fake_server f;
    fake_start(&f, &FULL, 1);
    glorot_options o = {0};
    glorot_error err = {0};
    o.bearer_token = "s3cret-token";
    o.user_agent = "probe/1";
    glorot_client *c = glorot_client_new(f.url, &o, &err);
    cr_assert_not_null(c);
    glorot_request req;
    test_request(&req, 1);
    unsigned char *buf = malloc(f.body_len);
    cr_expect_eq(glorot_fetch(c, &req, buf, f.body_len, NULL, &err), GLOROT_OK, "%s", err.message);
    glorot_client_free(c);
    fake_stop(&f);
    cr_expect(strncmp(f.requests[0], "GET /v1/glorot_uniform?shape=300,200&", 37) == 0, "%s",
              f.requests[0]);
    free(buf);
}

/* ---- the glorot command against the fake server --------------------------------- */

typedef struct {
    char label[32];
    fake_reply reply;
    int exit_code;
} cli_case;

ParameterizedTestParameters(fake, cli_exit_codes)
{
    static cli_case cases[] = {
        {"ok", {R_BODY, 0, "", "", ALL, 0, -1, "", "", 0, -1}, 0},
        {"corrupted", {R_BODY, 0, "", "", ALL, 0, 0, "", "", 0, -1}, 6},
        {"400", {R_ERROR, 400, "", "", ALL, 0, -1, "", "", 0, -1}, 3},
        {"503", {R_ERROR, 503, "", "Retry-After: 0\r\n", ALL, 0, -1, "", "", 0, -1}, 4},
        {"broken", {R_BODY, 0, "", "", 1000, 0, -1, "", "", 0, -1}, 4},
    };
    snprintf(cases[2].reply.body, sizeof cases[2].reply.body, "%s", bad_json);
    snprintf(cases[3].reply.body, sizeof cases[3].reply.body, "%s", busy_json);
    return cr_make_param_array(cli_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(cli_case *cc, fake, cli_exit_codes)
{
    fake_server f;
    fake_start(&f, &cc->reply, 1);
    char dir[] = "/tmp/glorot-cli-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char out[64];
    snprintf(out, sizeof out, "%s/w.bin", dir);
    const char *argv[] = {
        th_env("GLOROT_BIN"), "fetch", "--url", f.url, "--shape", "300,200", "--seed", "77",
        "--retries",          "1",     "-o",    out,   NULL};
    int code = th_run(argv, NULL, 60);
    cr_expect_eq(code, cc->exit_code, "%s: exit %d", cc->label, code);
    size_t len = 0;
    unsigned char *file = th_read_file(out, &len);
    if (cc->exit_code == 0) {
        cr_assert_not_null(file);
        cr_expect_eq(len, f.body_len);
        cr_expect_arr_eq(file, f.body, f.body_len);
    } else {
        cr_expect_null(file, "%s: a failed fetch left %s", cc->label, out);
    }
    free(file);
    unlink(out);
    cr_expect_eq(rmdir(dir), 0, "%s: a temporary file was left behind", cc->label);
    fake_stop(&f);
}
