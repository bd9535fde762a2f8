/*
 * tensor.h - what the tensor endpoints share (GET/HEAD/POST /v1/glorot_uniform
 * in stream.c, byte ranges in range.c, /v1/digest in digest.c): the request
 * built from the query, the JSON body and Accept, its canonical form and
 * ETag, and the headers that describe an answer.
 */
#ifndef GLOROTD_TENSOR_H
#define GLOROTD_TENSOR_H

#include "server.h"

/* One resolved tensor request. */
typedef struct {
    gp_request r;                     /* finished, seed set */
    int negotiated;                   /* the format came from Accept: Vary: Accept */
    int seed_drawn;                   /* the server drew the seed: Cache-Control: no-store */
    char etag[GP_ETAG_MAX];           /* strong, quoted */
    char canonical[GP_CANONICAL_MAX]; /* gp_canonical */
} gd_tensor;
/* gd_tensor_init clears up to offsetof(gd_tensor, etag): the two text
 * buffers stay last. */
_Static_assert(offsetof(gd_tensor, canonical) == offsetof(gd_tensor, etag) + GP_ETAG_MAX &&
                   sizeof(gd_tensor) - offsetof(gd_tensor, canonical) - GP_CANONICAL_MAX <
                       _Alignof(gd_tensor),
               "gd_tensor: etag and canonical must be its last fields");

/* ---- tensor.c ---- */

/* Build t for this request: query parameters, the POST body (req->upload),
 * Accept negotiation, a drawn seed when none was given, gp_request_finish
 * with the server's caps (--max-elements on the part sent,
 * --max-json-elements for json), canonical form and ETag. Returns 0, or -1
 * with e filled (400, 406, 413, 422, 500). */
int gd_tensor_build(struct MHD_Connection *c, gd_req *req, gd_tensor *t, gd_error *e);

/* The steps of gd_tensor_build that need no connection (the fuzzers in
 * tests/fuzz drive them directly). gd_tensor_init: t empty, defaults set.
 * gd_tensor_negotiate: unless `format` was given, the format from an Accept
 * value (NULL = none); 406 when nothing fits. gd_tensor_finish: draw a seed
 * if none was given, gp_request_finish under cfg's caps (the json cap
 * among them), canonical form and ETag. Both return 0, or -1 with e filled. */
void gd_tensor_init(gd_tensor *t);
/* The initializer a path names (NULL: /v1/digest, where `init` decides, or
 * glorot_uniform by default): set it unless the request gave `init`, which
 * must then name the same one (400 otherwise). Returns 0 or -1. */
int gd_tensor_path_init(gd_tensor *t, const char *init, gd_error *e);
int gd_tensor_negotiate(gd_tensor *t, const char *accept, gd_error *e);
int gd_tensor_finish(gd_tensor *t, const gd_config *cfg, gd_error *e);

/* Add the headers every answer about t carries, 200, 206, 304 and HEAD alike:
 * Glorot-* (seed, algorithm, dtype, full shape, fans, limit, gain, name,
 * format, call, slice, canonical), ETag, Cache-Control, Vary (when the
 * format was negotiated). with_content adds Content-Type,
 * Content-Disposition and Accept-Ranges (bytes for binary formats, none for
 * json). Returns 0, or -1 when MHD cannot add one. */
int gd_tensor_headers(struct MHD_Response *resp, const gd_tensor *t, int with_content);

/* Every value of request header `name` (case-insensitive), for headers that
 * may come in several lines. fn returns nonzero to stop. Returns the number
 * of values seen. */
size_t gd_header_values(struct MHD_Connection *c, const char *name,
                        int (*fn)(void *user, const char *value, size_t len), void *user);

/* A gp_elements_fn that adds the elements to /metrics under r's algorithm
 * and dtype: give it to gp_body_elements_each / gp_batch_elements_each
 * after each read. user is unused. */
void gd_count_elements(void *user, const gp_request *r, uint64_t elements);

/* ---- range.c ---- */

/* How a GET of a binary body answers its Range / If-Range headers. */
typedef struct {
    unsigned status; /* 200, 206 or 416 */
    uint64_t first;  /* 206: first body byte sent */
    uint64_t length; /* bytes sent (200: size) */
    uint64_t size;   /* the whole body */
} gd_range_plan;

/* Decide from Range and If-Range: HEAD, and ranged = 0 (json bodies, POST
 * of one tensor), always get 200; otherwise one satisfiable range -> 206,
 * none -> 416, several or an invalid header or an If-Range other than etag
 * -> 200. */
void gd_range_plan_for(struct MHD_Connection *c, const gd_req *req, const char *etag, int ranged,
                       uint64_t size, gd_range_plan *plan);

/* Add Content-Range for a 206. Returns 0 or -1. */
int gd_range_headers(struct MHD_Response *resp, const gd_range_plan *plan);

/* Queue the 416 answer: a JSON error body (range_not_satisfiable, param
 * Range) with Content-Range: bytes (star)/size. No ETag or Cache-Control: an
 * error is not the representation. */
enum MHD_Result gd_range_reply_416(struct MHD_Connection *c, gd_req *req, uint64_t size);

/* ---- stream.c ---- */

/* What stream.c needs to answer: the body is req->body, or req->batch when
 * that is set (batch.c). */
typedef struct {
    uint64_t size;    /* the whole body, GP_SIZE_UNKNOWN for json */
    const char *etag; /* strong, quoted: If-None-Match and If-Range */
    int ranged;       /* Range is honoured (binary body, a method that may range) */
    /* Add the answer's headers (with_content: Content-Type and the like too). */
    int (*headers)(struct MHD_Response *resp, const void *ctx, int with_content);
    const void *ctx;
    size_t ctx_size; /* bytes of *ctx: a digest job keeps a copy (at most a gd_tensor) */
    /* The digest cache key of this representation (jobs.h), or NULL when
     * Want-Repr-Digest / Want-Content-Digest are not answered (a json batch,
     * which can only be produced once). */
    const char *digest_key;
} gd_answer;

/* If-None-Match (304 / 412 for POST), then Range (206, 416), then the
 * streamed (or, up to a pooled buffer, whole) 200/206; HEAD gets the headers
 * only. Want-Repr-Digest / Want-Content-Digest add Repr-Digest /
 * Content-Digest (RFC 9530), which need a pass over the bytes first: on a
 * digest thread (jobs.h) unless cached or small. Shared by
 * /v1/glorot_uniform and /v1/batch. */
enum MHD_Result gd_stream_answer(struct MHD_Connection *c, gd_req *req, const gd_answer *a);

#endif
