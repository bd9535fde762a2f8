/*
 * batch.c - POST (and HEAD) /v1/batch: a JSON manifest in, one safetensors
 * file (or, with format=json, a json array) out. The manifest is parsed by
 * gp_batch_parse (proto/request/manifest.c, proto/format/batch.c); the answer goes through
 * the same If-None-Match / Range / HEAD / streaming path as one tensor
 * (gd_stream_answer).
 */
#include "params.h"
#include "tensor.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    gp_format format;
    int format_set;
    int negotiated;
    gd_error *e;
} batch_query;

static enum MHD_Result on_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                    size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    batch_query *q = cls;
    if (key_size != 6 || memcmp(key, "format", 6) != 0 || q->format_set) {
        gd_fail(q->e, GD_ERR_INVALID_PARAMETER, "",
                "/v1/batch takes one query parameter, "
                "format (safetensors or json); everything else belongs in the manifest");
        return MHD_NO;
    }
    gp_request scratch; /* the one place format names are parsed */
    gp_request_init(&scratch);
    if (gd_params_set(&scratch, "format", 6, value ? value : "", value ? value_size : 0, q->e) != 0)
        return MHD_NO;
    q->format = scratch.format;
    q->format_set = 1;
    return MHD_YES;
}

/* format=... wins; else Accept: application/json gives json, anything else safetensors. */
static int choose_format(struct MHD_Connection *c, batch_query *q)
{
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, on_query_arg, q);
    if (q->e->status != 0)
        return -1;
    if (q->format_set)
        return 0;
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    gp_format f = GP_FORMAT_SAFETENSORS;
    gp_error g = {0};
    q->negotiated = 1;
    if (accept != NULL && gp_format_negotiate(accept, &f, &g) == GP_OK && f == GP_FORMAT_JSON)
        q->format = GP_FORMAT_JSON;
    else
        q->format = GP_FORMAT_SAFETENSORS;
    return 0;
}

typedef struct {
    const gp_batch *b;
    int negotiated;
} batch_ctx;

static int add(struct MHD_Response *resp, const char *name, const char *value)
{
    return MHD_add_response_header(resp, name, value) == MHD_YES ? 0 : -1;
}

static int batch_headers(struct MHD_Response *resp, const void *ctx, int with_content)
{
    const batch_ctx *x = ctx;
    const gp_batch *b = x->b;
    const gp_request *r0 = gp_batch_tensor(b, 0);
    gp_format f = gp_batch_format(b);
    char text[64];
    snprintf(text, sizeof text, "%llu", (unsigned long long)r0->seed);
    int bad = add(resp, "Glorot-Seed", text);
    bad |= add(resp, "Glorot-Algorithm", gp_algorithm_name(r0->algorithm));
    snprintf(text, sizeof text, "%zu", gp_batch_count(b));
    bad |= add(resp, "Glorot-Tensors", text);
    bad |= add(resp, "Glorot-Format", gp_format_name(f));
    bad |= add(resp, MHD_HTTP_HEADER_ETAG, gp_batch_etag(b));
    bad |= add(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "public, max-age=31536000, immutable");
    if (x->negotiated)
        bad |= add(resp, MHD_HTTP_HEADER_VARY, "Accept");
    if (with_content) {
        snprintf(text, sizeof text, "attachment; filename=\"glorot_batch_seed%llu%s\"",
                 (unsigned long long)r0->seed, gp_format_extension(f));
        bad |= add(resp, MHD_HTTP_HEADER_CONTENT_TYPE, gp_format_content_type(f));
        bad |= add(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, text);
        bad |= add(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, f == GP_FORMAT_JSON ? "none" : "bytes");
    }
    return bad ? -1 : 0;
}

enum MHD_Result gd_batch_respond(struct MHD_Connection *c, gd_req *req)
{
    const gd_config *cfg = &req->srv->cfg;
    gd_error e = {0};
    batch_query q = {GP_FORMAT_SAFETENSORS, 0, 0, &e};
    if (req->upload_too_large) {
        gd_fail(&e, GD_ERR_BODY_TOO_LARGE, "",
                "the manifest is larger than the limit of %llu bytes (--max-body-bytes)",
                (unsigned long long)cfg->max_body_bytes);
        return gd_reply_error(c, req, &e, NULL);
    }
    if (choose_format(c, &q) != 0)
        return gd_reply_error(c, req, &e, NULL);
    gp_batch_limits lim = {cfg->max_batch_tensors, cfg->max_batch_bytes, cfg->max_json_elements};
    gp_error g = {0};
    if (gp_batch_parse((const char *)req->upload, req->upload_len, q.format, &lim, &req->batch,
                       &g) != GP_OK) {
        gd_fail_gp(&e, &g);
        return gd_reply_error(c, req, &e, NULL);
    }
    batch_ctx x = {req->batch, q.negotiated};
    char key[GP_ETAG_MAX + 8];
    snprintf(key, sizeof key, "b %s", gp_batch_etag(req->batch));
    /* json: produced once, front to back, so never hashed ahead (no digest fields) */
    gd_answer a = {gp_batch_size(req->batch),
                   gp_batch_etag(req->batch),
                   q.format != GP_FORMAT_JSON,
                   batch_headers,
                   &x,
                   sizeof x,
                   q.format != GP_FORMAT_JSON ? key : NULL};
    return gd_stream_answer(c, req, &a);
}
