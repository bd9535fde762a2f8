/*
 * stream.c - GET/HEAD/POST /v1/glorot_uniform: the request (tensor.c), then
 * If-None-Match (304 without generating anything), byte ranges (range.c:
 * 206 or 416), then gp_body_read output streamed block by block. The tensor
 * is never held: MHD's response buffer (GD_STREAM_BLOCK bytes) is filled by
 * the content reader on demand. HEAD gets the headers of the GET, its
 * Content-Length included, and the content reader never runs.
 */
#include "jobs.h"
#include "pool.h"
#include "tensor.h"

#include <stdio.h>
#include <string.h>

/* Bytes hashed on the request thread before an answer with digest fields;
 * more go to a digest thread (jobs.h). The bound of a body generated whole. */
#define DIGEST_INLINE_MAX GD_STREAM_BLOCK

/* ---- If-None-Match ---------------------------------------------------------- */

typedef struct {
    const char *etag;
    int match;
} none_match_ctx;

static int check_none_match(void *user, const char *value, size_t len)
{
    none_match_ctx *m = user;
    m->match |= gp_etag_none_match(value, len, m->etag);
    return m->match;
}

static int none_match(struct MHD_Connection *c, const char *etag)
{
    none_match_ctx m = {etag, 0};
    gd_header_values(c, MHD_HTTP_HEADER_IF_NONE_MATCH, check_none_match, &m);
    return m.match;
}

static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    (void)pos;
    (void)buf;
    (void)max;
    return MHD_CONTENT_READER_END_OF_STREAM;
}

/* A bodiless answer (HEAD, 304) of unknown length: libmicrohttpd 0.9.75
 * would announce chunked framing and then send the last chunk, "0\r\n\r\n",
 * which the client reads as the start of the next answer. Without chunking
 * (and so with Connection: close) nothing follows the headers. */
static int bodiless_unknown_length(struct MHD_Response *resp)
{
    return MHD_set_response_options(resp, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END) == MHD_YES
               ? 0
               : -1;
}

/* The client has these bytes: 304 for GET and HEAD, 412 for POST (RFC 9110
 * 13.1.2). Nothing is generated. A 304 may only carry the Content-Length of
 * the 200 (RFC 9110 8.6), so the response is sized like it; MHD sends no
 * body with a 304 and never calls no_body. */
static enum MHD_Result not_modified(struct MHD_Connection *c, gd_req *req, const gd_answer *a)
{
    if (req->is_post) {
        gd_error e = {0};
        gd_fail(&e, GD_ERR_PRECONDITION_FAILED, "If-None-Match",
                "If-None-Match matches this tensor's ETag; a POST is answered 412 (use GET or "
                "HEAD for a 304)");
        return gd_reply_error(c, req, &e, NULL);
    }
    uint64_t size = a->size;
    struct MHD_Response *resp = MHD_create_response_from_callback(
        size == GP_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN : size, 64, no_body, NULL, NULL);
    if (resp == NULL)
        return MHD_NO;
    if (a->headers(resp, a->ctx, 0) != 0 ||
        (size == GP_SIZE_UNKNOWN && bodiless_unknown_length(resp) != 0)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return gd_queue(c, req, MHD_HTTP_NOT_MODIFIED, resp, 0);
}

/* ---- the stream ----------------------------------------------------------------- */

/* Body bytes [at, at + max) of the answer, a tensor's (req->body) or a
 * batch's (req->batch), timed and counted for /metrics: a batch's elements
 * under each tensor's own algorithm and dtype. */
static size_t answer_read(gd_req *req, uint64_t at, char *buf, size_t max)
{
    uint64_t t0 = gd_stats_now_ns();
    if (req->batch != NULL) {
        const gp_request *r0 = gp_batch_tensor(req->batch, 0); /* one algorithm per batch */
        size_t n = gp_batch_read(req->batch, at, buf, max);
        gd_stats_add_generation_ns(r0->algorithm, gd_stats_now_ns() - t0);
        gp_batch_elements_each(req->batch, at, n, gd_count_elements, NULL);
        return n;
    }
    size_t n = gp_body_read(&req->body, at, buf, max);
    gd_stats_add_generation_ns(req->body.req.algorithm, gd_stats_now_ns() - t0);
    gp_body_elements_each(&req->body, at, n, gd_count_elements, NULL);
    return n;
}

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    gd_req *req = cls;
    if (req->is_head || pos >= req->body_length)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (max > req->body_length - pos)
        max = (size_t)(req->body_length - pos);
    size_t n = answer_read(req, req->body_first + pos, buf, max);
    if (n == 0)
        return req->body_length == GP_SIZE_UNKNOWN ? MHD_CONTENT_READER_END_OF_STREAM
                                                   : MHD_CONTENT_READER_END_WITH_ERROR;
    req->streamed = pos + n;
    return (ssize_t)n;
}

static void free_body(void *cls)
{
    gd_req *req = cls;
    atomic_fetch_sub(&req->srv->inflight, 1);
    gd_req_release(req);
}

/* ---- bodies of one block: generated at once into a pooled buffer ------------ */

/* MHD callocs a streamed response's buffer per response (a 1 KiB answer
 * cleared 256 KiB: 16% of the daemon's time under wrk) and sends its headers
 * and body in two calls. A body that fits one pooled buffer is generated
 * whole and given to MHD as a buffer: one writev, nothing allocated. */
typedef struct {
    gd_req *req;
    unsigned char data[];
} whole_buf;

#define WHOLE_MAX (GD_BUFPOOL_SIZE - sizeof(whole_buf))

static void free_whole(void *cls)
{
    whole_buf *w = cls;
    free_body(w->req);
    gd_pool_put(&gd_buffers, w);
}

static struct MHD_Response *make_whole(gd_req *req)
{
    size_t len = (size_t)req->body_length;
    whole_buf *w = gd_pool_get(&gd_buffers);
    if (w == NULL)
        return NULL;
    w->req = req;
    size_t n = answer_read(req, req->body_first, (char *)w->data, len);
    struct MHD_Response *resp =
        n == len
            ? MHD_create_response_from_buffer_with_free_callback_cls(len, w->data, free_whole, w)
            : NULL;
    if (resp == NULL) {
        gd_pool_put(&gd_buffers, w);
        return NULL;
    }
    req->streamed = n;
    return resp;
}

/* ---- digest fields (RFC 9530) ------------------------------------------------------ */

static const unsigned char *hash_of(const gd_hashes *h, gp_digest_alg alg)
{
    return alg == GP_DIGEST_SHA512 ? h->sha512 : h->sha256;
}

static int add_digest(struct MHD_Response *resp, const char *name, gp_digest_alg alg,
                      const gd_hashes *h)
{
    char value[GP_DIGEST_FIELD_MAX];
    if (gp_digest_field(alg, hash_of(h, alg), value, sizeof value) == 0)
        return -1;
    return MHD_add_response_header(resp, name, value) == MHD_YES ? 0 : -1;
}

/* Repr-Digest: the whole representation, on 200, 206 and HEAD alike.
 * Content-Digest: the content of this message (RFC 9530 2), so the part's
 * bytes on a 206 and the whole on a 200; never on HEAD, which has no
 * content (its Want-Content-Digest was dropped before any hashing). */
static int digest_headers(struct MHD_Response *resp, const gd_digests *d, unsigned status)
{
    int bad = 0;
    if (d->repr != GP_DIGEST_NONE)
        bad |= add_digest(resp, "Repr-Digest", d->repr, &d->full);
    if (d->content != GP_DIGEST_NONE)
        bad |= add_digest(resp, "Content-Digest", d->content, status == 206 ? &d->part : &d->full);
    return bad;
}

static int add_want(void *user, const char *value, size_t len)
{
    gp_want_digest_add(user, value, len);
    return 0;
}

/* The algorithm a Want-* field asks for (every line of it), or none. */
static gp_digest_alg wanted(struct MHD_Connection *c, const char *field)
{
    gp_want_digest w;
    gp_want_digest_init(&w);
    gd_header_values(c, field, add_want, &w);
    return gp_want_digest_choice(&w);
}

/* Create the streaming response. The caller has already counted it in
 * srv->inflight; from here on free_body undoes that. d: digest fields to
 * add, NULL for none. */
static struct MHD_Response *make_stream(gd_req *req, const gd_answer *a, const gd_range_plan *plan,
                                        const gd_digests *d, gd_error *e)
{
    uint64_t size = a->size;
    req->body_first = plan->first;
    req->body_length = size == GP_SIZE_UNKNOWN ? GP_SIZE_UNKNOWN : plan->length;
    int whole = !req->is_head && req->body_length <= WHOLE_MAX; /* json: GP_SIZE_UNKNOWN */
    struct MHD_Response *resp =
        whole ? make_whole(req)
              : MHD_create_response_from_callback(size == GP_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN
                                                                          : plan->length,
                                                  GD_STREAM_BLOCK, read_body, req, free_body);
    if (resp == NULL) {
        atomic_fetch_sub(&req->srv->inflight, 1);
        gd_fail(e, GD_ERR_OUT_OF_MEMORY, "", "cannot allocate the response");
        return NULL;
    }
    atomic_fetch_add(&req->refs, 1);
    req->streaming = 1;
    if (a->headers(resp, a->ctx, 1) != 0 ||
        (d != NULL && digest_headers(resp, d, plan->status) != 0) ||
        (plan->status == 206 && gd_range_headers(resp, plan) != 0) ||
        (req->is_head && size == GP_SIZE_UNKNOWN && bodiless_unknown_length(resp) != 0)) {
        MHD_destroy_response(resp);
        req->streaming = 0;
        gd_fail(e, GD_ERR_INTERNAL, "", "cannot add the response headers");
        return NULL;
    }
    return resp;
}

static int tensor_headers(struct MHD_Response *resp, const void *ctx, int with_content)
{
    return gd_tensor_headers(resp, ctx, with_content);
}

enum MHD_Result gd_stream_respond(struct MHD_Connection *c, gd_req *req)
{
    gd_error e = {0};
    gd_tensor t;
    if (gd_tensor_build(c, req, &t, &e) != 0)
        return gd_reply_error(c, req, &e, NULL);
    gp_error g = {0};
    if (gp_body_init(&req->body, &t.r, &g) != GP_OK) { /* headers and keys: no elements yet */
        gd_fail_gp(&e, &g);
        return gd_reply_error(c, req, &e, NULL);
    }
    char key[GD_DIGEST_KEY_MAX];
    snprintf(key, sizeof key, "t %s", t.canonical);
    gd_answer a = {gp_body_size(&req->body),
                   t.etag,
                   t.r.format != GP_FORMAT_JSON && !req->is_post,
                   tensor_headers,
                   &t,
                   sizeof t,
                   key};
    return gd_stream_answer(c, req, &a);
}

/* Count, check the stop flag, create and queue the 200/206 (d: digest
 * fields, NULL for none). */
static enum MHD_Result start_stream(struct MHD_Connection *c, gd_req *req, const gd_answer *a,
                                    const gd_range_plan *plan, const gd_digests *d)
{
    gd_error e = {0};
    /* Count first, then look at the flag: main sets the flag, then waits for
     * the count, so one of the two always sees the other. */
    atomic_fetch_add(&req->srv->inflight, 1);
    if (atomic_load(&req->srv->shutting_down)) {
        atomic_fetch_sub(&req->srv->inflight, 1);
        gd_fail_plain(&e, GD_ERR_SHUTTING_DOWN, "");
        return gd_reply_error(c, req, &e, NULL);
    }
    struct MHD_Response *resp = make_stream(req, a, plan, d, &e);
    if (resp == NULL)
        return gd_reply_error(c, req, &e, NULL);
    return gd_queue(c, req, plan->status, resp, 0);
}

enum MHD_Result gd_stream_finish(struct MHD_Connection *c, gd_req *req, gd_job *j)
{
    if (j->e.status != 0)
        return gd_reply_error(c, req, &j->e, NULL);
    if (j->want_full)
        j->d.full = j->full;
    j->d.part = j->part;
    return start_stream(c, req, &j->a, &j->plan, &j->d);
}

/* A job for the digests d still needs: the whole when want_full, the 206's
 * part when its Content-Digest is asked for. NULL when out of memory. */
static gd_job *stream_job(gd_req *req, const gd_answer *a, const gd_range_plan *plan,
                          const gd_digests *d, int want_full)
{
    gp_error g = {0};
    gd_job *j = gd_job_new(req, GD_JOB_STREAM);
    if (j == NULL)
        return NULL;
    j->from_batch = req->batch != NULL;
    /* A tensor's own encoder: json can only be produced once, front to back,
     * and req->body must stay fresh for the answer. */
    if (!j->from_batch && gp_body_init(&j->body, &req->body.req, &g) != GP_OK) {
        gd_job_free(req);
        return NULL;
    }
    j->want_full = want_full;
    j->want512 = d->repr == GP_DIGEST_SHA512 || d->content == GP_DIGEST_SHA512;
    if (d->content != GP_DIGEST_NONE && plan->status == 206) {
        j->part_first = plan->first;
        j->part_length = plan->length;
    }
    snprintf(j->key, sizeof j->key, "%s", a->digest_key);
    memcpy(j->ctx.raw, a->ctx, a->ctx_size);
    j->a = *a;
    j->a.ctx = j->ctx.raw;
    j->plan = *plan;
    j->d = *d;
    return j;
}

/* An answer with Repr-Digest / Content-Digest: from the cache, hashed here
 * when small, else on a digest thread while the connection is suspended.
 * With every digest thread busy the answer goes out without the fields:
 * they are only a preference (RFC 9530 4: "It is not a protocol error if
 * preferences are ignored"). */
static enum MHD_Result with_digests(struct MHD_Connection *c, gd_req *req, const gd_answer *a,
                                    const gd_range_plan *plan, gd_digests *d)
{
    int need512 = d->repr == GP_DIGEST_SHA512 || d->content == GP_DIGEST_SHA512;
    int part = d->content != GP_DIGEST_NONE && plan->status == 206;
    int full = d->repr != GP_DIGEST_NONE || (d->content != GP_DIGEST_NONE && plan->status != 206);
    if (full && gd_digest_cache_get(a->digest_key, need512, &d->full))
        full = 0;
    if (!full && !part)
        return start_stream(c, req, a, plan, d);
    gd_job *j = stream_job(req, a, plan, d, full);
    if (j == NULL) {
        gd_error e = {0};
        gd_fail(&e, GD_ERR_OUT_OF_MEMORY, "", "cannot allocate the digest job");
        return gd_reply_error(c, req, &e, NULL);
    }
    uint64_t bytes = full ? a->size : plan->length; /* json: GP_SIZE_UNKNOWN, large */
    if (bytes <= DIGEST_INLINE_MAX) {
        gd_job_run_inline(j);
        enum MHD_Result rc = gd_stream_finish(c, req, j);
        gd_job_free(req);
        return rc;
    }
    if (gd_job_submit(c, req) == 0)
        return MHD_YES; /* gd_stream_finish once the digests are known */
    gd_job_free(req);
    return start_stream(c, req, a, plan, NULL);
}

enum MHD_Result gd_stream_answer(struct MHD_Connection *c, gd_req *req, const gd_answer *a)
{
    if (none_match(c, a->etag))
        return not_modified(c, req, a);
    gd_range_plan plan;
    gd_range_plan_for(c, req, a->etag, a->ranged, a->size, &plan);
    if (plan.status == 416)
        return gd_range_reply_416(c, req, plan.size);
    gd_digests d;
    memset(&d, 0, sizeof d);
    if (a->digest_key != NULL) { /* without the request fields nothing is hashed */
        d.repr = wanted(c, "Want-Repr-Digest");
        d.content = req->is_head ? GP_DIGEST_NONE : wanted(c, "Want-Content-Digest");
    }
    if (d.repr != GP_DIGEST_NONE || d.content != GP_DIGEST_NONE)
        return with_digests(c, req, a, &plan, &d);
    return start_stream(c, req, a, &plan, NULL);
}
