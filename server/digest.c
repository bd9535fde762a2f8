/*
 * digest.c - GET/HEAD/POST /v1/digest: the SHA-256 and length of exactly the
 * bytes the same request to /v1/glorot_uniform would send (format and part
 * included), without sending them.
 *
 *   {"sha256":"<64 hex>","length":524288,"etag":"\"<32 hex>\"",
 *    "canonical":"algorithm=chacha20&...","seed":"42",
 *    "repr_digest":"sha-256=:<base64>:"}
 *
 * repr_digest is the same SHA-256 in the form of the Repr-Digest field (RFC
 * 9530) that Want-Repr-Digest: sha-256=1 gets on the tensor endpoint.
 *
 * The body costs a whole generation. A cached digest (jobs.h) answers at
 * once; a body of at most one stream block is hashed here; anything larger
 * goes to a digest thread while the connection is suspended, so no request
 * thread is held (503 busy above --max-digest-jobs). HEAD of a binary format
 * computes nothing: every field but the hash has a known length, so the
 * Content-Length is exact without it (json's length is only known once
 * printed, so HEAD of a json digest computes it, within --max-json-elements).
 */
#include "jobs.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
/* Bodies up to this size are hashed on the request thread: a job would cost
 * more than the work (the same bound as a body generated whole, stream.c). */
#define INLINE_MAX GD_STREAM_BLOCK

/* The answer's JSON text (malloc'd), or NULL when out of memory. h == NULL:
 * HEAD of a binary format, the hash fields stand in at their exact length. */
static char *digest_json(const gd_tensor *t, const gd_hashes *h, uint64_t length)
{
    static const unsigned char zero[32];
    char seed[24], hex[65], field[GP_DIGEST_FIELD_MAX];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->r.seed);
    const unsigned char *sha = h != NULL ? h->sha256 : zero;
    sodium_bin2hex(hex, sizeof hex, sha, 32);
    gp_digest_field(GP_DIGEST_SHA256, sha, field, sizeof field);
    json_t *doc =
        json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "sha256", hex, "length", (json_int_t)length,
                  "etag", t->etag, "canonical", t->canonical, "seed", seed, "repr_digest", field);
    if (doc == NULL)
        return NULL;
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return text;
}

static enum MHD_Result reply(struct MHD_Connection *c, gd_req *req, const gd_tensor *t,
                             const gd_hashes *h, uint64_t length)
{
    char *text = digest_json(t, h, length);
    if (text == NULL) {
        gd_error e = {0};
        gd_fail(&e, GD_ERR_OUT_OF_MEMORY, "", "cannot build the digest answer");
        return gd_reply_error(c, req, &e, NULL);
    }
    size_t len = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") !=
            MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                t->seed_drawn ? "no-store"
                                              : "public, max-age=31536000, immutable") != MHD_YES ||
        (t->negotiated &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept") != MHD_YES)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return gd_queue(c, req, MHD_HTTP_OK, resp, len);
}

enum MHD_Result gd_digest_finish(struct MHD_Connection *c, gd_req *req, gd_job *j)
{
    if (j->e.status != 0)
        return gd_reply_error(c, req, &j->e, NULL);
    return reply(c, req, &j->ctx.t, &j->full, j->full.length);
}

/* A job that hashes the whole body of t; NULL (with e) when out of memory. */
static gd_job *digest_job(gd_req *req, const gd_tensor *t, gd_error *e)
{
    gp_error g = {0};
    gd_job *j = gd_job_new(req, GD_JOB_DIGEST);
    if (j == NULL) {
        gd_fail(e, GD_ERR_OUT_OF_MEMORY, "", "cannot allocate the digest job");
        return NULL;
    }
    j->ctx.t = *t;
    j->want_full = 1;
    snprintf(j->key, sizeof j->key, "t %s", t->canonical);
    if (gp_body_init(&j->body, &t->r, &g) != GP_OK) {
        gd_fail_gp(e, &g);
        gd_job_free(req);
        return NULL;
    }
    return j;
}

enum MHD_Result gd_digest_respond(struct MHD_Connection *c, gd_req *req)
{
    gd_error e = {0};
    gd_tensor t;
    gp_error g = {0};
    gd_hashes h;
    char key[GD_DIGEST_KEY_MAX];
    if (gd_tensor_build(c, req, &t, &e) != 0)
        return gd_reply_error(c, req, &e, NULL);
    if (gp_body_init(&req->body, &t.r, &g) != GP_OK) {
        gd_fail_gp(&e, &g);
        return gd_reply_error(c, req, &e, NULL);
    }
    uint64_t size = gp_body_size(&req->body);
    snprintf(key, sizeof key, "t %s", t.canonical);
    if (gd_digest_cache_get(key, 0, &h))
        return reply(c, req, &t, &h, h.length);
    if (req->is_head && size != GP_SIZE_UNKNOWN)
        return reply(c, req, &t, NULL, size);
    gd_job *j = digest_job(req, &t, &e);
    if (j == NULL)
        return gd_reply_error(c, req, &e, NULL);
    if (size != GP_SIZE_UNKNOWN && size <= INLINE_MAX) {
        gd_job_run_inline(j);
        enum MHD_Result rc = gd_digest_finish(c, req, j);
        gd_job_free(req);
        return rc;
    }
    if (gd_job_submit(c, req) == 0)
        return MHD_YES; /* answered from gd_job_answer once the job is done */
    gd_job_free(req);
    gd_fail(&e, GD_ERR_BUSY, "", "%u digest jobs are running (--max-digest-jobs); retry later",
            req->srv->cfg.max_digest_jobs);
    return gd_reply_error(c, req, &e, NULL);
}
