/*
 * client_internal.h - shared by the files of libglorot-client (prefix glorotp_).
 *
 * The pieces that need no socket (request resolution, query building, header
 * parsing, answer checks, error bodies, verification, back-off) are plain
 * functions over buffers so tests can drive them directly; transfer.c is the
 * only file that talks to libcurl for tensors.
 */
#ifndef GLOROT_CLIENT_INTERNAL_H
#define GLOROT_CLIENT_INTERNAL_H

#include "glorot/client.h"
#include "glorot_proto.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors (error.c) ----------------------------------------------------- */

/* Record an error (first error wins; err may be NULL). Returns code. */
glorot_code glorotp_fail(glorot_error *err, glorot_code code, const char *param, const char *fmt,
                         ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Carry a proto error over: GP_ENOMEM -> GLOROT_E_NOMEM, GP_EINTERNAL ->
 * GLOROT_E_INTERNAL, everything else -> GLOROT_E_INVALID (found locally). */
glorot_code glorotp_from_gp(glorot_error *err, const gp_error *gerr);

/* Copy a whole error over another (used to keep the last attempt's reason). */
void glorotp_error_set(glorot_error *dst, const glorot_error *src);

/* curl_global_init and gp_init, once per process. Returns GLOROT_OK or
 * GLOROT_E_INTERNAL with err set. */
glorot_code glorotp_global_init(glorot_error *err);

/* ---- growable text (str.c) ------------------------------------------------ */

typedef struct {
    char *data; /* NUL-terminated when not NULL */
    size_t len;
    size_t cap;
    size_t max; /* refuse to grow past this many bytes (0 = SIZE_MAX / 2) */
} glorotp_str;

void glorotp_str_init(glorotp_str *s, size_t max);
void glorotp_str_free(glorotp_str *s);
/* Append; returns 0, or -1 when out of memory or past s->max (s unchanged). */
int glorotp_str_add(glorotp_str *s, const char *text, size_t len);
int glorotp_str_adds(glorotp_str *s, const char *text);
int glorotp_str_addu64(glorotp_str *s, uint64_t v);
/* Append text percent-encoded for a query value (RFC 3986 unreserved kept). */
int glorotp_str_add_escaped(glorotp_str *s, const char *text, size_t len);

/* ---- numbers and text: proto's (glorot_proto.h) -------------------------------- */

/* Integers are gp_parse_u64 with max_len GLOROTP_U64_LEN: number fields the
 * client reads (status code, Content-Length, Content-Range, Retry-After,
 * Glorot-Seed) hold at most 20 characters, leading zeros included, as they
 * always did. Reals (Glorot-Limit) are gp_parse_real, shapes gp_shape_text. */
#define GLOROTP_U64_LEN 20

/* ---- requests (request.c) --------------------------------------------------- */

/* Validate req through the proto library exactly as the server would and
 * resolve it (fans, sizes, limit). Without a seed, r->seed_set stays 0. */
glorot_code glorotp_resolve(const glorot_request *req, gp_request *r, glorot_error *err);

/* The body's exact size for a resolved request (seed 0 stands in for an
 * unset seed); GP_SIZE_UNKNOWN for json. */
glorot_code glorotp_body_size(const gp_request *r, uint64_t *size, glorot_error *err);

/* Query string for GET /v1/glorot_uniform from the caller's request and its
 * resolved form: every enum explicit, gain and name as the caller wrote them,
 * the seed when known (r->seed_set). Returns 0 or -1 (no memory). */
int glorotp_build_query(const glorot_request *req, const gp_request *r, glorotp_str *out);

/* Describe a resolved request (with its seed) in meta; size = body bytes. */
void glorotp_meta_fill(const gp_request *r, uint64_t size, glorot_meta *meta);

/* ---- answers (answer.c) ------------------------------------------------------- */

enum {
    GLOROTP_H_SEED,
    GLOROTP_H_ALGORITHM,
    GLOROTP_H_DTYPE,
    GLOROTP_H_SHAPE,
    GLOROTP_H_FAN_IN,
    GLOROTP_H_FAN_OUT,
    GLOROTP_H_LIMIT,
    GLOROTP_H_GAIN,
    GLOROTP_H_FORMAT,
    GLOROTP_H_CALL,
    GLOROTP_H_CONTENT_LENGTH,
    GLOROTP_H_RETRY_AFTER,
    GLOROTP_H_SLICE,
    GLOROTP_H_ETAG,
    GLOROTP_H_CONTENT_RANGE,
    GLOROTP_H_REPR_DIGEST,
    GLOROTP_H_INIT,
    GLOROTP_H_DISTRIBUTION,
    GLOROTP_H_COUNT
};

#define GLOROTP_HEADER_VALUE_MAX 1024 /* a Glorot-Slice of 8 axes or several pieces */

/* The headers of one answer that the client cares about. */
typedef struct {
    long status; /* from the status line, 0 before it */
    int done;    /* the blank line ending the block was seen */
    int bad;     /* a header of interest was repeated or too long */
    char bad_name[32];
    unsigned char seen[GLOROTP_H_COUNT];
    char value[GLOROTP_H_COUNT][GLOROTP_HEADER_VALUE_MAX];
} glorotp_headers;

void glorotp_headers_reset(glorotp_headers *h);

/* Feed one raw header line as libcurl delivers it (with its CRLF). A status
 * line starts a new block (redirects, 100 Continue); the empty line ends it.
 * Returns 1 when this line ended the block, 0 otherwise. */
int glorotp_header_line(glorotp_headers *h, const char *line, size_t len);

/* Check a 200 or 206 answer's Glorot-* headers against the resolved request r
 * (Glorot-Slice, when present, against the part r resolves to).
 * Glorot-Seed is required and must match a seed that was asked for; every
 * other header, when present, must agree with what r computes. On success
 * *seed holds the answer's seed. GLOROT_E_PROTOCOL otherwise. */
glorot_code glorotp_check_answer(const glorotp_headers *h, const gp_request *r, uint64_t *seed,
                                 glorot_error *err);

/* Content-Length, when present and well-formed: 1 and *len; 0 when absent;
 * -1 when malformed. */
int glorotp_content_length(const glorotp_headers *h, uint64_t *len);

/* Content-Range of a 206, "bytes FIRST-LAST/SIZE" exactly: 1 with the three
 * numbers; 0 when absent; -1 when malformed (or LAST < FIRST, LAST >= SIZE). */
int glorotp_content_range(const glorotp_headers *h, uint64_t *first, uint64_t *last,
                          uint64_t *size);

/* Retry-After in milliseconds (delta-seconds only), capped; -1 if absent or
 * not delta-seconds. */
long glorotp_retry_after_ms(const glorotp_headers *h, long cap_ms);

/* Turn an error answer into err: GLOROT_E_HTTP with http_status and, when
 * the body is {"error": {"code", "message", "param"}}, the server's words. */
glorot_code glorotp_http_error(long status, const char *body, size_t len, glorot_error *err);

/* ---- verification (verify.c) ------------------------------------------------- */

#define GLOROTP_SAMPLE_COUNT 4096

typedef struct {
    glorot_verify mode;
    gp_body body; /* the expected answer, for a finished request with its seed */
    uint64_t numel;
    uint64_t data_offset; /* where element bytes start (after a format header) */
    size_t elem_size;
    uint64_t samples; /* sample mode: how many strided samples */
    uint64_t stride;  /* sample mode: elements per sample slot */
    unsigned char scratch[16384];
} glorotp_verifier;

/* Prepare to check an answer to r (finished, seed set). */
glorot_code glorotp_verify_init(glorotp_verifier *v, glorot_verify mode, const gp_request *r,
                                glorot_error *err);

/* Check body bytes [offset, offset + len). Chunks must arrive in order (json
 * needs it). GLOROT_E_VERIFY naming the first differing byte. */
glorot_code glorotp_verify_chunk(glorotp_verifier *v, uint64_t offset, const unsigned char *data,
                                 size_t len, glorot_error *err);

/* Sample slot k's element index (0 <= k < v->samples): one element in each
 * stride-wide slot, at a position scrambled by k. Exposed for tests. */
uint64_t glorotp_sample_index(const glorotp_verifier *v, uint64_t k);

/* ---- the client and its transfers (client.c, transfer.c) --------------------- */

typedef struct glorotp_settings {
    long connect_timeout_ms;
    long timeout_ms;
    long idle_timeout_ms;
    int retries;
    long retry_base_ms;
    long retry_max_ms;
    glorot_verify verify;
} glorotp_settings;

/* Back-off before retry number attempt (0 = first retry): base * 2^attempt,
 * capped, then scaled into [1/2, 1] by jitter in [0, 1]. */
long glorotp_backoff_ms(const glorotp_settings *s, unsigned attempt, double jitter);

/* The handle behind glorot_client (client.c). */
struct glorot_client {
    CURL *curl;     /* reused between calls: keeps the connection alive */
    char *base_url; /* without a trailing '/' */
    char *token;    /* wiped on free */
    char *ca_file;
    char *user_agent;
    struct curl_slist *headers; /* Authorization (wiped on free) */
    glorotp_settings s;
    char errbuf[CURL_ERROR_SIZE];
};

#define GLOROTP_PATH_MAX 48

/* "/v1/<init>": where a finished request is fetched. */
void glorotp_tensor_path(const gp_request *r, char out[GLOROTP_PATH_MAX]);

/* What a transfer asks for and where the bytes go. */
typedef struct {
    const char *path;                /* "/v1/glorot_uniform", "/v1/info", "/healthz" */
    char path_buf[GLOROTP_PATH_MAX]; /* tensor transfers: path points here (/v1/<init>) */
    const glorot_request *req;       /* tensor transfers: the caller's request, else NULL */
    gp_request resolved;   /* tensor transfers: finished; seed set from the first answer */
    int single_attempt;    /* health checks: no retries */
    int digest;            /* /v1/digest: req's query, a JSON answer (no Glorot-* checks) */
    const char *query;     /* other jobs: appended after '?' to the path; NULL = none */
    const char *post_body; /* POST these post_len bytes as application/json; NULL = GET */
    size_t post_len;
    int resumable;           /* other jobs (/v1/batch): the first 200 answer's ETag fixes the
                                body; broken answers resume with Range + If-Range, and a later
                                200 with another ETag is a protocol error */
    glorotp_headers *answer; /* may be NULL: the headers of the first accepted 200 answer,
                                copied before the sink sees any byte */
    uint64_t capacity;       /* refuse answers longer than this (GLOROT_E_BUFFER) */
    /* sink: return nonzero to stop with GLOROT_E_ABORTED */
    int (*sink)(void *user, uint64_t offset, const void *data, size_t len);
    void *sink_user;
} glorotp_job;

/* Run job with retries; on GLOROT_OK, meta (tensor jobs, may be NULL) says
 * what arrived and *delivered (may be NULL) how many bytes the sink took. */
glorot_code glorotp_transfer(struct glorot_client *c, glorotp_job *job, glorot_meta *meta,
                             uint64_t *delivered, glorot_error *err);

#endif
