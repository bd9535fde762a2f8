/*
 * transfer.c - one logical download made of one or more HTTP attempts.
 *
 * Each attempt is a fresh GET. Bytes are handed to the sink exactly once, in
 * order: `delivered` counts what the sink has taken across attempts, `pos`
 * is the body offset of the next byte of the current answer. An attempt after
 * a broken one asks for the rest only when it can: a binary body whose first
 * answer carried a strong ETag gets "Range: bytes=N-" and "If-Range: ETAG"
 * (attempt_start()), and a 206 answer starts at byte N. When the server
 * answers 200 instead (it ignored the range, or the ETag changed), or for
 * json, the answer starts at 0 and what was already delivered is skipped:
 * the body is a pure function of the request and seed, so the skipped bytes
 * equal the delivered ones.
 *
 * The first 200 answer fixes the seed (drawn by the server when the caller
 * gave none); later attempts ask for it explicitly, so they produce the same
 * bytes, and their Glorot-* headers are checked against the same request.
 */
#include "client_internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ERROR_BODY_MAX 65536
#define CURL_BUFFER 131072

typedef struct {
    glorot_client *c;
    glorotp_job *job;
    /* across attempts */
    uint64_t delivered;
    uint64_t expected;                   /* exact body size, GP_SIZE_UNKNOWN until known */
    int accepted;                        /* tensor jobs: a 200 answer fixed the seed;
                                            resumable jobs: a 200 answer fixed the ETag */
    int answered;                        /* job->answer holds the first accepted answer's headers */
    glorotp_verifier *verifier;          /* NULL without verification */
    char etag[GLOROTP_HEADER_VALUE_MAX]; /* a 200 answer's strong ETag, "" if none */
    /* Verifying tensor downloads ask for Repr-Digest (RFC 9530): the SHA-256
     * of every byte handed to the sink, checked at the end against the
     * field of the answers (the same on 200 and 206). */
    int want_digest;
    crypto_hash_sha256_state sha;
    char repr_digest[GLOROTP_HEADER_VALUE_MAX]; /* the first answer's field, "" if none */
    /* the current attempt */
    uint64_t range_from;              /* asked for bytes range_from.. (0: the whole body) */
    struct curl_slist *range_headers; /* the client's headers plus Content-Type (POST),
                                         Range and If-Range; NULL when none is added */
    glorotp_headers h;
    int streaming; /* this answer's body goes to the sink */
    uint64_t pos;
    glorotp_str errbody;
    glorot_error stop; /* why a callback stopped libcurl */
} xfer;

/* The body byte the next attempt asks to start at: what was delivered, when
 * an accepted binary answer named a strong ETag; else 0 (the whole body). */
static uint64_t attempt_start(const xfer *x)
{
    if (!x->accepted || x->etag[0] != '"' || x->expected == GP_SIZE_UNKNOWN ||
        x->delivered >= x->expected)
        return 0;
    return x->delivered;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

long glorotp_backoff_ms(const glorotp_settings *s, unsigned attempt, double jitter)
{
    long delay = s->retry_base_ms;
    for (unsigned i = 0; i < attempt && delay < s->retry_max_ms; i++)
        delay = delay > s->retry_max_ms / 2 ? s->retry_max_ms : delay * 2;
    if (delay > s->retry_max_ms)
        delay = s->retry_max_ms;
    if (jitter < 0)
        jitter = 0;
    if (jitter > 1)
        jitter = 1;
    return delay / 2 + (long)((double)(delay - delay / 2) * jitter);
}

/* ---- accepting an answer ------------------------------------------------------- */

/* A tensor download (not /v1/digest, /v1/info or /healthz). */
static int is_tensor(const xfer *x)
{
    return x->job->req != NULL && !x->job->digest;
}

/* The first 200 answer to a tensor request: fix the seed, the size, the verifier. */
static glorot_code accept_tensor(xfer *x, uint64_t seed)
{
    gp_request *r = &x->job->resolved;
    if (!r->seed_set)
        gp_request_set_seed(r, seed);
    glorot_code rc = glorotp_body_size(r, &x->expected, &x->stop);
    if (rc != GLOROT_OK || x->c->s.verify == GLOROT_VERIFY_NONE)
        return rc;
    x->verifier = malloc(sizeof *x->verifier);
    if (x->verifier == NULL)
        return glorotp_fail(&x->stop, GLOROT_E_NOMEM, "", "out of memory for verification");
    return glorotp_verify_init(x->verifier, x->c->s.verify, r, &x->stop);
}

static glorot_code check_size(xfer *x)
{
    uint64_t announced = 0;
    int cl = glorotp_content_length(&x->h, &announced);
    uint64_t capacity = x->job->capacity;
    if (cl < 0)
        return glorotp_fail(&x->stop, GLOROT_E_PROTOCOL, "", "malformed Content-Length '%s'",
                            x->h.value[GLOROTP_H_CONTENT_LENGTH]);
    if (cl > 0 && !is_tensor(x))
        x->expected = announced;
    if (cl > 0 && announced > capacity)
        return glorotp_fail(&x->stop, GLOROT_E_BUFFER, "",
                            "the server announced %llu bytes; the buffer holds %llu",
                            (unsigned long long)announced, (unsigned long long)capacity);
    if (cl > 0 && announced != x->expected)
        return glorotp_fail(&x->stop, GLOROT_E_PROTOCOL, "",
                            "the server announced %llu bytes; the request means %llu",
                            (unsigned long long)announced, (unsigned long long)x->expected);
    if (x->expected != GP_SIZE_UNKNOWN && x->expected > capacity)
        return glorotp_fail(&x->stop, GLOROT_E_BUFFER, "",
                            "the answer is %llu bytes; the buffer holds %llu",
                            (unsigned long long)x->expected, (unsigned long long)capacity);
    return GLOROT_OK;
}

/* Keep a 200 answer's ETag for If-Range, when it is a strong one that can
 * go back in a header line (printable ASCII). */
static void keep_etag(xfer *x)
{
    const char *v = x->h.value[GLOROTP_H_ETAG];
    size_t n = strlen(v);
    if (x->etag[0] != '\0' || !x->h.seen[GLOROTP_H_ETAG] || n < 2 || v[0] != '"' || v[n - 1] != '"')
        return;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x21 || v[i] > 0x7e)
            return;
    memcpy(x->etag, v, n + 1);
}

/* A 206 answer to "Range: bytes=N-": exactly the rest of the same body. */
static glorot_code start_partial(xfer *x)
{
    uint64_t first = 0, last = 0, size = 0, announced = 0, seed = 0;
    const char *etag = x->h.value[GLOROTP_H_ETAG];
    if (x->range_from == 0 || !x->accepted)
        return glorotp_fail(&x->stop, GLOROT_E_PROTOCOL, "",
                            "the server answered 206 to a request without a range");
    if (glorotp_content_range(&x->h, &first, &last, &size) != 1 || first != x->range_from ||
        size != x->expected || last != size - 1)
        return glorotp_fail(&x->stop, GLOROT_E_PROTOCOL, "",
                            "the server's Content-Range '%s' is not bytes %llu-%llu/%llu",
                            x->h.value[GLOROTP_H_CONTENT_RANGE], (unsigned long long)x->range_from,
                            (unsigned long long)(x->expected - 1), (unsigned long long)x->expected);
    if (x->h.seen[GLOROTP_H_ETAG] && strcmp(etag, x->etag) != 0)
        return glorotp_fail(&x->stop, GLOROT_E_PROTOCOL, "",
                            "the 206 answer's ETag %s is not the first answer's %s", etag, x->etag);
    int cl = glorotp_content_length(&x->h, &announced);
    if (cl < 0 || (cl > 0 && announced != size - first))
        return glorotp_fail(
            &x->stop, GLOROT_E_PROTOCOL, "", "the 206 answer's Content-Length '%s' is not %llu",
            x->h.value[GLOROTP_H_CONTENT_LENGTH], (unsigned long long)(size - first));
    if (is_tensor(x)) {
        glorot_code rc = glorotp_check_answer(&x->h, &x->job->resolved, &seed, &x->stop);
        if (rc != GLOROT_OK)
            return rc;
    }
    x->pos = first;
    x->streaming = 1;
    return GLOROT_OK;
}

/* A 200 answer to a resumable job: the first fixes the ETag (and so the body);
 * a later one must name the same, or its bytes may differ from those delivered. */
static glorot_code accept_resumable(xfer *x)
{
    const char *etag = x->h.value[GLOROTP_H_ETAG];
    if (x->accepted && x->etag[0] != '\0' && strcmp(etag, x->etag) != 0)
        return glorotp_fail(&x->stop, GLOROT_E_PROTOCOL, "",
                            "the answer's ETag %s is not the first answer's %s", etag, x->etag);
    if (!x->accepted)
        keep_etag(x);
    x->accepted = 1;
    return GLOROT_OK;
}

/* Keep the answer's Repr-Digest (a verifying tensor download); every answer
 * that carries one must carry the same, as it describes the same bytes. */
static glorot_code keep_repr_digest(xfer *x)
{
    const char *v = x->h.value[GLOROTP_H_REPR_DIGEST];
    if (!x->want_digest || !x->h.seen[GLOROTP_H_REPR_DIGEST])
        return GLOROT_OK;
    if (x->repr_digest[0] == '\0') {
        memcpy(x->repr_digest, v, strlen(v) + 1);
        return GLOROT_OK;
    }
    if (strcmp(x->repr_digest, v) != 0)
        return glorotp_fail(&x->stop, GLOROT_E_PROTOCOL, "",
                            "the answer's Repr-Digest %s is not the first answer's %s", v,
                            x->repr_digest);
    return GLOROT_OK;
}

/* Called once the final header block of an attempt is complete. */
static glorot_code start_answer(xfer *x)
{
    glorot_code rc0 = (x->h.status == 200 || x->h.status == 206) && is_tensor(x)
                          ? keep_repr_digest(x)
                          : GLOROT_OK;
    if (rc0 != GLOROT_OK)
        return rc0;
    x->pos = 0;
    x->streaming = 0;
    if (x->h.status == 206 && (is_tensor(x) || x->job->resumable))
        return start_partial(x);
    if (x->h.status != 200)
        return GLOROT_OK;
    if (is_tensor(x)) {
        uint64_t seed;
        glorot_code rc = glorotp_check_answer(&x->h, &x->job->resolved, &seed, &x->stop);
        if (rc == GLOROT_OK && !x->accepted) {
            rc = accept_tensor(x, seed);
            x->accepted = rc == GLOROT_OK;
        }
        if (rc != GLOROT_OK)
            return rc;
        keep_etag(x);
    }
    glorot_code rc = check_size(x);
    if (rc == GLOROT_OK && x->job->resumable)
        rc = accept_resumable(x);
    if (rc == GLOROT_OK && x->job->answer != NULL && !is_tensor(x) && !x->answered) {
        *x->job->answer = x->h;
        x->answered = 1;
    }
    x->streaming = rc == GLOROT_OK;
    return rc;
}

/* ---- libcurl callbacks ------------------------------------------------------------ */

static size_t on_header(char *line, size_t size, size_t count, void *user)
{
    xfer *x = user;
    size_t len = size * count;
    if (glorotp_header_line(&x->h, line, len) == 1 && x->h.status >= 200 &&
        start_answer(x) != GLOROT_OK)
        return 0;
    return len;
}

/* Hand body bytes to the sink, skipping what an earlier attempt delivered. */
static glorot_code take(xfer *x, const unsigned char *data, size_t len)
{
    uint64_t start = x->pos;
    if (len > UINT64_MAX - start)
        return glorotp_fail(&x->stop, GLOROT_E_PROTOCOL, "", "the answer is too long");
    x->pos = start + len;
    if (x->pos <= x->delivered)
        return GLOROT_OK;
    size_t skip = start < x->delivered ? (size_t)(x->delivered - start) : 0;
    uint64_t offset = start + skip;
    data += skip;
    len -= skip;
    if (x->expected != GP_SIZE_UNKNOWN && len > x->expected - offset)
        return glorotp_fail(&x->stop, GLOROT_E_PROTOCOL, "",
                            "the server sent more than the %llu bytes it announced",
                            (unsigned long long)x->expected);
    if (len > x->job->capacity - offset)
        return glorotp_fail(&x->stop, GLOROT_E_BUFFER, "",
                            "the answer is longer than the buffer's %llu bytes",
                            (unsigned long long)x->job->capacity);
    if (x->verifier != NULL) {
        glorot_code rc = glorotp_verify_chunk(x->verifier, offset, data, len, &x->stop);
        if (rc != GLOROT_OK)
            return rc;
    }
    if (x->want_digest)
        crypto_hash_sha256_update(&x->sha, data, len); /* offset == delivered: in order */
    if (x->job->sink(x->job->sink_user, offset, data, len) != 0)
        return glorotp_fail(&x->stop, GLOROT_E_ABORTED, "",
                            "the chunk callback stopped the transfer at byte %llu",
                            (unsigned long long)offset);
    x->delivered += len;
    return GLOROT_OK;
}

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    xfer *x = user;
    size_t len = size * count;
    if (!x->streaming) {
        if (x->errbody.len < ERROR_BODY_MAX)
            (void)glorotp_str_add(&x->errbody, data, len);
        return len;
    }
    return take(x, (const unsigned char *)data, len) == GLOROT_OK ? len : 0;
}

/* ---- one attempt ------------------------------------------------------------------- */

static int build_url(const xfer *x, glorotp_str *url)
{
    if (glorotp_str_adds(url, x->c->base_url) != 0 || glorotp_str_adds(url, x->job->path) != 0)
        return -1;
    if (x->job->req == NULL)
        return x->job->query == NULL
                   ? 0
                   : glorotp_str_adds(url, "?") | glorotp_str_adds(url, x->job->query);
    glorotp_str query;
    glorotp_str_init(&query, 0);
    int rc = glorotp_build_query(x->job->req, &x->job->resolved, &query);
    if (rc == 0)
        rc = glorotp_str_adds(url, "?") | glorotp_str_add(url, query.data, query.len);
    glorotp_str_free(&query);
    return rc;
}

static CURLcode setup_curl(xfer *x, const char *url, long remaining_ms)
{
    CURL *h = x->c->curl;
    const glorotp_settings *s = &x->c->s;
    long idle_s = (s->idle_timeout_ms + 999) / 1000;
    long connect_ms = s->connect_timeout_ms;
    if (remaining_ms > 0 && connect_ms > remaining_ms)
        connect_ms = remaining_ms;
    curl_easy_reset(h);
    x->c->errbuf[0] = '\0';
    CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url);
    rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->c->errbuf);
    rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, remaining_ms > 0 ? remaining_ms : 0L);
    rc |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    rc |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, idle_s);
    rc |= curl_easy_setopt(h, CURLOPT_USERAGENT, x->c->user_agent);
    rc |= curl_easy_setopt(h, CURLOPT_BUFFERSIZE, (long)CURL_BUFFER);
    rc |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    rc |= curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    rc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    rc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    if (x->job->post_body != NULL) {
        rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->job->post_body);
        rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->job->post_len);
    }
    if (x->range_headers != NULL)
        rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->range_headers);
    else if (x->c->headers != NULL)
        rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->c->headers);
    if (x->c->ca_file != NULL)
        rc |= curl_easy_setopt(h, CURLOPT_CAINFO, x->c->ca_file);
    return rc;
}

static const char *curl_reason(const xfer *x, CURLcode cc)
{
    return x->c->errbuf[0] != '\0' ? x->c->errbuf : curl_easy_strerror(cc);
}

/* Map a libcurl failure; *retry says whether another attempt may help. */
static glorot_code classify(const xfer *x, CURLcode cc, int *retry, glorot_error *err)
{
    const char *why = curl_reason(x, cc);
    *retry = 0;
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        *retry = 1;
        return glorotp_fail(err, GLOROT_E_CONNECT, "", "cannot connect to %s: %s", x->c->base_url,
                            why);
    case CURLE_OPERATION_TIMEDOUT:
        *retry = 1;
        return glorotp_fail(err, GLOROT_E_TIMEOUT, "", "%s", why);
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        *retry = 1;
        if (x->h.done && x->h.status >= 200)
            return glorotp_fail(err, GLOROT_E_PROTOCOL, "",
                                "the connection broke after %llu body bytes: %s",
                                (unsigned long long)x->pos, why);
        return glorotp_fail(err, GLOROT_E_CONNECT, "", "the connection closed before an answer: %s",
                            why);
    case CURLE_OUT_OF_MEMORY:
        return glorotp_fail(err, GLOROT_E_NOMEM, "", "libcurl: %s", why);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return glorotp_fail(err, GLOROT_E_INVALID, "url", "%s", why);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CRL_BADFILE:
        return glorotp_fail(err, GLOROT_E_TLS, "", "%s", why);
    default:
        return glorotp_fail(err, GLOROT_E_PROTOCOL, "", "libcurl: %s", why);
    }
}

/* Free the attempt's header list; it may hold a copy of the token. */
static void drop_range_headers(xfer *x)
{
    for (struct curl_slist *item = x->range_headers; item != NULL; item = item->next)
        sodium_memzero(item->data, strlen(item->data));
    curl_slist_free_all(x->range_headers);
    x->range_headers = NULL;
}

static int append_line(xfer *x, const char *line)
{
    struct curl_slist *longer = curl_slist_append(x->range_headers, line);
    if (longer == NULL)
        return -1;
    x->range_headers = longer;
    return 0;
}

/* The client's headers plus, for a POST, "Content-Type: application/json"
 * (and an empty Expect: no 100-continue round trip), and for a resumed
 * attempt "Range: bytes=N-" and "If-Range: ETAG". 0 or -1. */
static int build_range_headers(xfer *x)
{
    char line[GLOROTP_HEADER_VALUE_MAX + 40];
    for (const struct curl_slist *item = x->c->headers; item != NULL; item = item->next)
        if (append_line(x, item->data) != 0)
            return -1;
    if (x->job->post_body != NULL &&
        (append_line(x, "Content-Type: application/json") != 0 || append_line(x, "Expect:") != 0))
        return -1;
    if (x->want_digest && append_line(x, "Want-Repr-Digest: sha-256=10") != 0)
        return -1;
    if (x->range_from == 0)
        return 0;
    snprintf(line, sizeof line, "Range: bytes=%llu-", (unsigned long long)x->range_from);
    if (append_line(x, line) != 0)
        return -1;
    snprintf(line, sizeof line, "If-Range: %s", x->etag);
    return append_line(x, line);
}

static void reset_attempt(xfer *x)
{
    glorotp_headers_reset(&x->h);
    x->range_from = attempt_start(x);
    x->streaming = 0;
    x->pos = 0;
    x->errbody.len = 0;
    memset(&x->stop, 0, sizeof x->stop);
    if (!x->accepted)
        x->expected = GP_SIZE_UNKNOWN;
}

static glorot_code finish_attempt(xfer *x, CURLcode cc, int *retry, long *retry_after,
                                  glorot_error *err)
{
    *retry = 0;
    if (x->stop.code != GLOROT_OK) {
        glorotp_error_set(err, &x->stop);
        return x->stop.code;
    }
    if (cc != CURLE_OK)
        return classify(x, cc, retry, err);
    if (x->h.status != 200 && x->h.status != 206) {
        /* glorotd's busy answers: 503 (draining, global cap), 429 (per-client cap). */
        *retry = x->h.status == 503 || x->h.status == 429;
        *retry_after = glorotp_retry_after_ms(&x->h, x->c->s.retry_max_ms);
        return glorotp_http_error(x->h.status, x->errbody.data, x->errbody.len, err);
    }
    if (x->expected != GP_SIZE_UNKNOWN && x->delivered != x->expected) {
        *retry = 1;
        return glorotp_fail(err, GLOROT_E_PROTOCOL, "", "the answer ended after %llu of %llu bytes",
                            (unsigned long long)x->delivered, (unsigned long long)x->expected);
    }
    return GLOROT_OK;
}

static glorot_code attempt(xfer *x, long remaining_ms, int *retry, long *retry_after,
                           glorot_error *err)
{
    glorotp_str url;
    glorotp_str_init(&url, 0);
    reset_attempt(x);
    *retry = 0;
    *retry_after = -1;
    int extra = x->range_from > 0 || x->job->post_body != NULL || x->want_digest;
    if (build_url(x, &url) != 0 || (extra && build_range_headers(x) != 0)) {
        glorotp_str_free(&url);
        drop_range_headers(x);
        return glorotp_fail(err, GLOROT_E_NOMEM, "", "out of memory building the request");
    }
    CURLcode cc = setup_curl(x, url.data, remaining_ms);
    if (cc != CURLE_OK) {
        glorotp_str_free(&url);
        drop_range_headers(x);
        return glorotp_fail(err, GLOROT_E_INTERNAL, "",
                            "libcurl refused an option (is it older than 7.85?)");
    }
    cc = curl_easy_perform(x->c->curl);
    glorotp_str_free(&url);
    drop_range_headers(x);
    glorot_code rc = finish_attempt(x, cc, retry, retry_after, err);
    if (err != NULL && rc != GLOROT_OK && err->http_status == 0)
        err->http_status = (int)x->h.status;
    return rc;
}

/* ---- the retry loop -------------------------------------------------------------- */

static long delay_before(const xfer *x, unsigned retry_number, long retry_after)
{
    if (retry_after >= 0)
        return retry_after;
    double jitter = (double)randombytes_uniform(1001) / 1000.0;
    return glorotp_backoff_ms(&x->c->s, retry_number, jitter);
}

static void note_attempts(glorot_error *err, unsigned attempts)
{
    if (attempts < 2)
        return;
    size_t len = strlen(err->message);
    snprintf(err->message + len, sizeof err->message - len, " (after %u attempts)", attempts);
}

static glorot_code run(xfer *x, glorot_error *last)
{
    const glorotp_settings *s = &x->c->s;
    long deadline = s->timeout_ms > 0 ? now_ms() + s->timeout_ms : 0;
    unsigned max_attempts = x->job->single_attempt ? 1u : (unsigned)s->retries + 1u;
    for (unsigned n = 1;; n++) {
        long remaining = deadline ? deadline - now_ms() : 0;
        if (deadline && remaining <= 0) {
            if (last->code == GLOROT_OK)
                glorotp_fail(last, GLOROT_E_TIMEOUT, "", "timed out after %ld ms", s->timeout_ms);
            return last->code;
        }
        memset(last, 0, sizeof *last);
        int retry;
        long retry_after;
        glorot_code rc = attempt(x, remaining, &retry, &retry_after, last);
        if (rc == GLOROT_OK || !retry || n >= max_attempts) {
            note_attempts(last, n);
            return rc;
        }
        long delay = delay_before(x, n - 1, retry_after);
        if (deadline && now_ms() + delay >= deadline) {
            note_attempts(last, n);
            return rc;
        }
        sleep_ms(delay);
    }
}

/* The end of a verifying download: the bytes received against the answers'
 * Repr-Digest, when they sent a sha-256 one. */
static glorot_code check_repr_digest(xfer *x, glorot_error *err)
{
    unsigned char want[crypto_hash_sha256_BYTES], got[crypto_hash_sha256_BYTES];
    char field[GP_DIGEST_FIELD_MAX];
    crypto_hash_sha256_final(&x->sha, got);
    if (x->repr_digest[0] == '\0')
        return GLOROT_OK; /* an older server, or one that ignored the preference */
    int found =
        gp_digest_field_find(x->repr_digest, strlen(x->repr_digest), GP_DIGEST_SHA256, want);
    if (found < 0)
        return glorotp_fail(err, GLOROT_E_PROTOCOL, "", "malformed Repr-Digest '%s'",
                            x->repr_digest);
    if (found == 1 && sodium_memcmp(want, got, sizeof got) != 0) {
        gp_digest_field(GP_DIGEST_SHA256, got, field, sizeof field);
        return glorotp_fail(err, GLOROT_E_VERIFY, "",
                            "the %llu bytes received hash to %s; the server's Repr-Digest is %s",
                            (unsigned long long)x->delivered, field, x->repr_digest);
    }
    return GLOROT_OK;
}

glorot_code glorotp_transfer(glorot_client *c, glorotp_job *job, glorot_meta *meta,
                             uint64_t *delivered, glorot_error *err)
{
    xfer x;
    memset(&x, 0, sizeof x);
    x.c = c;
    x.job = job;
    x.expected = GP_SIZE_UNKNOWN;
    x.want_digest = is_tensor(&x) && c->s.verify != GLOROT_VERIFY_NONE;
    crypto_hash_sha256_init(&x.sha);
    glorotp_str_init(&x.errbody, ERROR_BODY_MAX + CURL_BUFFER);
    glorot_error last;
    memset(&last, 0, sizeof last);
    glorot_code rc = run(&x, &last);
    if (rc == GLOROT_OK && x.want_digest)
        rc = check_repr_digest(&x, &last);
    glorotp_str_free(&x.errbody);
    free(x.verifier);
    if (rc != GLOROT_OK) {
        if (err != NULL && err->code == GLOROT_OK)
            *err = last;
        return rc;
    }
    if (job->req != NULL && !job->digest)
        glorotp_meta_fill(&job->resolved, x.delivered, meta);
    if (delivered != NULL)
        *delivered = x.delivered;
    return GLOROT_OK;
}
