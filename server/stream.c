/*
 * stream.c - GET/HEAD/POST /v1/glorot_uniform: the request (tensor.c), then
 * If-None-Match (304 without generating anything), byte ranges (range.c:
 * 206 or 416), then gp_body_read output streamed block by block. The tensor
 * is never held: MHD's response buffer (GD_STREAM_BLOCK bytes) is filled by
 * the content reader on demand. HEAD gets the headers of the GET, its
 * Content-Length included, and the content reader never runs.
 */
#include "pool.h"
#include "tensor.h"

#include <string.h>

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
        gd_fail(&e, 412, "precondition_failed", "If-None-Match",
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

static void count_batch_elements(void *user, const gp_request *r, uint64_t elements)
{
    (void)user;
    stats_add_generated(r->algorithm, r->dtype, elements);
}

/* Body bytes [at, at + max) of the answer, a tensor's (req->body) or a
 * batch's (req->batch), timed and counted for /metrics: a batch's elements
 * under each tensor's own algorithm and dtype. */
static size_t answer_read(gd_req *req, uint64_t at, char *buf, size_t max)
{
    uint64_t t0 = stats_now_ns();
    if (req->batch != NULL) {
        const gp_request *r0 = gp_batch_tensor(req->batch, 0); /* one algorithm per batch */
        size_t n = gp_batch_read(req->batch, at, buf, max);
        stats_add_generation_ns(r0->algorithm, stats_now_ns() - t0);
        gp_batch_elements_each(req->batch, at, n, count_batch_elements, NULL);
        return n;
    }
    size_t n = gp_body_read(&req->body, at, buf, max);
    stats_add_generation_ns(req->body.req.algorithm, stats_now_ns() - t0);
    gd_tensor_count(&req->body, at, n, &req->json_counted);
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

/* Create the streaming response. The caller has already counted it in
 * srv->inflight; from here on free_body undoes that. */
static struct MHD_Response *make_stream(gd_req *req, const gd_answer *a, const gd_range_plan *plan,
                                        gd_error *e)
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
        gd_fail(e, 500, "out_of_memory", "", "cannot allocate the response");
        return NULL;
    }
    atomic_fetch_add(&req->refs, 1);
    req->streaming = 1;
    if (a->headers(resp, a->ctx, 1) != 0 ||
        (plan->status == 206 && gd_range_headers(resp, plan) != 0) ||
        (req->is_head && size == GP_SIZE_UNKNOWN && bodiless_unknown_length(resp) != 0)) {
        MHD_destroy_response(resp);
        req->streaming = 0;
        gd_fail(e, 500, "internal", "", "cannot add the response headers");
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
    gd_answer a = {gp_body_size(&req->body), t.etag, t.r.format != GP_FORMAT_JSON && !req->is_post,
                   tensor_headers, &t};
    return gd_stream_answer(c, req, &a);
}

enum MHD_Result gd_stream_answer(struct MHD_Connection *c, gd_req *req, const gd_answer *a)
{
    gd_error e = {0};
    if (none_match(c, a->etag))
        return not_modified(c, req, a);
    gd_range_plan plan;
    gd_range_plan_for(c, req, a->etag, a->ranged, a->size, &plan);
    if (plan.status == 416)
        return gd_range_reply_416(c, req, plan.size);
    /* Count first, then look at the flag: main sets the flag, then waits for
     * the count, so one of the two always sees the other. */
    atomic_fetch_add(&req->srv->inflight, 1);
    if (atomic_load(&req->srv->shutting_down)) {
        atomic_fetch_sub(&req->srv->inflight, 1);
        gd_fail(&e, 503, "shutting_down", "", "the server is shutting down; retry later");
        return gd_reply_error(c, req, &e, NULL);
    }
    struct MHD_Response *resp = make_stream(req, a, &plan, &e);
    if (resp == NULL)
        return gd_reply_error(c, req, &e, NULL);
    return gd_queue(c, req, plan.status, resp, 0);
}
