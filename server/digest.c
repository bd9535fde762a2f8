/*
 * digest.c - GET/HEAD/POST /v1/digest: the SHA-256 and length of exactly the
 * bytes the same request to /v1/glorot_uniform would send (format and part
 * included), without sending them.
 *
 *   {"sha256":"<64 hex>","length":524288,"etag":"\"<32 hex>\"",
 *    "canonical":"algorithm=chacha20&...","seed":"42"}
 *
 * The body is produced block by block through gp_body_read into one
 * SHA-256 state, in constant memory; it costs a whole generation, so the
 * same caps apply, and it runs on the connection's worker thread (a stop
 * signal interrupts it with 503). HEAD of a binary format computes nothing:
 * every field but the hash has a known length, so the Content-Length is
 * exact without it (json's length is only known once printed, so HEAD of a
 * json digest computes it, within --max-json-elements).
 */
#include "tensor.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define DIGEST_BLOCK (256 * 1024)
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* Hash the whole body of b. Returns 0, or -1 with e filled (503 when the
 * server starts shutting down, 500 out of memory or a short body). */
static int hash_body(gd_req *req, gp_body *b, char hex[65], uint64_t *length, gd_error *e)
{
    unsigned char *block = malloc(DIGEST_BLOCK), hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    uint64_t pos = 0, json_seen = 0, size = gp_body_size(b);
    size_t n;
    if (block == NULL)
        return gd_fail(e, 500, "out_of_memory", "", "cannot allocate the digest buffer");
    crypto_hash_sha256_init(&st);
    while ((n = gp_body_read(b, pos, block, DIGEST_BLOCK)) > 0) {
        gd_tensor_count(b, pos, n, &json_seen);
        crypto_hash_sha256_update(&st, block, n);
        pos += n;
        if (atomic_load(&req->srv->shutting_down)) {
            free(block);
            return gd_fail(e, 503, "shutting_down", "", "the server is shutting down; retry later");
        }
    }
    free(block);
    if (size != GP_SIZE_UNKNOWN && pos != size)
        return gd_fail(e, 500, "internal", "", "the body ended after %llu of %llu bytes",
                       (unsigned long long)pos, (unsigned long long)size);
    crypto_hash_sha256_final(&st, hash);
    sodium_bin2hex(hex, 65, hash, sizeof hash);
    *length = pos;
    return 0;
}

/* The answer's JSON text (malloc'd), or NULL when out of memory. */
static char *digest_json(const gd_tensor *t, const char *hex, uint64_t length)
{
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->r.seed);
    json_t *doc =
        json_pack("{s:s, s:I, s:s, s:s, s:s}", "sha256", hex, "length", (json_int_t)length, "etag",
                  t->etag, "canonical", t->canonical, "seed", seed);
    if (doc == NULL)
        return NULL;
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return text;
}

static enum MHD_Result reply(struct MHD_Connection *c, gd_req *req, const gd_tensor *t, char *text)
{
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

enum MHD_Result gd_digest_respond(struct MHD_Connection *c, gd_req *req)
{
    gd_error e = {0};
    gd_tensor t;
    gp_error g = {0};
    char hex[65] = ZERO_HASH;
    uint64_t length = 0;
    if (gd_tensor_build(c, req, &t, &e) != 0)
        return gd_reply_error(c, req, &e, NULL);
    if (gp_body_init(&req->body, &t.r, &g) != GP_OK) {
        gd_fail_gp(&e, &g);
        return gd_reply_error(c, req, &e, NULL);
    }
    if (req->is_head && gp_body_size(&req->body) != GP_SIZE_UNKNOWN)
        length = gp_body_size(&req->body);
    else if (hash_body(req, &req->body, hex, &length, &e) != 0)
        return gd_reply_error(c, req, &e, NULL);
    char *text = digest_json(&t, hex, length);
    if (text == NULL) {
        gd_fail(&e, 500, "out_of_memory", "", "cannot build the digest answer");
        return gd_reply_error(c, req, &e, NULL);
    }
    return reply(c, req, &t, text);
}
