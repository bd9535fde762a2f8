/*
 * format_json.c - the tensor as a KServe / Triton v2 JSON tensor, streamed.
 *
 *   {"name":"weight","shape":[256,512],"datatype":"FP32",
 *    "parameters":{"seed":"42","algorithm":"chacha20","version":1,"gain":"1",
 *    "limit":0.088...,"fan_in":512,"fan_out":256,"fan":"mlx"},
 *   "data":[0.0123,-0.04,...]}
 *
 * The text is produced in pieces into b->pending: first everything up to
 * "data":[, then batches of elements, then the closing "]}\n". Nothing is
 * allocated; the total length is not known until the end (the server sends
 * it chunked). Each number is the shortest text that reads back to the same
 * value in the tensor's dtype (gpi_shortest).
 */
#include "format/body_internal.h"
#include "format/format_internal.h"
#include "request/request_internal.h"

#include <string.h>

#define JSON_BATCH 64 /* elements generated and printed per refill */
_Static_assert(GP_HEADER_MAX >= 8 + JSON_BATCH * GPI_NUMBER_MAX, "a batch must fit in pending");

static void param_str(gpi_text *t, const char *key, const char *value)
{
    gpi_text_str(t, ",\"");
    gpi_text_str(t, key);
    gpi_text_str(t, "\":\"");
    gpi_text_str(t, value); /* our own names and gain_spec: plain ASCII */
    gpi_text_str(t, "\"");
}

static void param_u64(gpi_text *t, const char *key, uint64_t value)
{
    gpi_text_str(t, ",\"");
    gpi_text_str(t, key);
    gpi_text_str(t, "\":");
    gpi_text_u64(t, value);
}

static void json_parameters(gpi_text *t, const gp_request *r)
{
    gpi_text_str(t, "\"parameters\":{\"seed\":\"");
    gpi_text_u64(t, r->seed); /* a string: a u64 does not survive a double */
    gpi_text_str(t, "\"");
    param_str(t, "algorithm", gp_algorithm_name(r->algorithm));
    param_u64(t, "version", (unsigned)gp_algorithm_version(r->algorithm));
    if (r->algorithm == GP_ALG_MLX_SEEDED)
        param_u64(t, "call", r->call);
    if (gpi_init_has_fans(r)) {
        param_str(t, "gain", r->gain_spec);
        if (r->dist == GP_DIST_UNIFORM) {
            gpi_text_str(t, ",\"limit\":");
            gpi_text_g17(t, r->limit);
        }
        param_u64(t, "fan_in", r->fan_in);
        param_u64(t, "fan_out", r->fan_out);
        param_str(t, "fan", gp_fan_name(r->fan));
    }
    if (r->init != GP_INIT_GLOROT_UNIFORM) {
        char dist[GP_DIST_TEXT_MAX];
        gp_dist_text(r, dist, sizeof dist);
        param_str(t, "init", r->init_as);
        param_str(t, "distribution", dist);
    }
    if (r->partial) {
        char part[GP_PART_TEXT_MAX];
        gp_part_text(r, part, sizeof part);
        param_str(t, "slice", part);
    }
    gpi_text_str(t, "}");
}

gp_code gpi_json_init(gp_body *b, gp_error *err)
{
    const gp_request *r = &b->req;
    gpi_text t;
    gpi_text_init(&t, b->pending, sizeof b->pending);
    gpi_text_str(&t, "{\"name\":");
    gp_code rc = gpi_text_json_string(&t, r->name, r->name_len, "name", err);
    if (rc != GP_OK)
        return rc;
    gpi_text_str(&t, ",\"shape\":");
    gpi_text_shape(&t, r->out_shape, r->rank, GPI_SHAPE_JSON);
    gpi_text_str(&t, ",\"datatype\":\"");
    gpi_text_str(&t, gp_dtype_tag(r->dtype, GP_TAG_KSERVE));
    gpi_text_str(&t, "\",");
    json_parameters(&t, r);
    gpi_text_str(&t, ",\"data\":[");
    if (t.overflow)
        return gp_fail(err, GP_EINTERNAL, "", "json preamble does not fit in %d bytes",
                       GP_HEADER_MAX);
    b->pending_len = t.len;
    b->pending_pos = 0;
    b->json_next = 0;
    b->json_produced = 0;
    b->json_done = 0;
    return GP_OK;
}

/* Refill b->pending with the next batch of elements, or the closing text.
 * Returns 0 when there is nothing left. */
static int json_refill(gp_body *b)
{
    gpi_text t;
    gpi_text_init(&t, b->pending, sizeof b->pending);
    uint64_t left = b->req.out_numel - b->json_next;
    if (left == 0) {
        if (b->json_done)
            return 0;
        gpi_text_str(&t, "]}\n");
        b->json_done = 1;
    } else {
        unsigned char values[JSON_BATCH * 8];
        size_t es = gp_dtype_size(b->gen.dtype);
        size_t count = left < JSON_BATCH ? (size_t)left : JSON_BATCH;
        gpi_body_fill(b, b->json_next, count, values);
        for (size_t i = 0; i < count; i++) {
            char num[GPI_NUMBER_MAX];
            size_t n = gpi_shortest(b->gen.dtype, values + i * es, num);
            if (b->json_next + i > 0)
                gpi_text_str(&t, ",");
            gpi_text_mem(&t, num, n);
        }
        b->json_next += count;
    }
    b->pending_len = t.len;
    b->pending_pos = 0;
    return 1;
}

size_t gpi_json_read(gp_body *b, uint64_t offset, void *buf, size_t len)
{
    if (offset != b->json_produced)
        return 0; /* json is sequential: only the next byte can be asked for */
    unsigned char *out = buf;
    size_t done = 0;
    while (done < len) {
        if (b->pending_pos == b->pending_len && !json_refill(b))
            break;
        size_t n = b->pending_len - b->pending_pos;
        if (n > len - done)
            n = len - done;
        memcpy(out + done, b->pending + b->pending_pos, n);
        b->pending_pos += n;
        done += n;
    }
    b->json_produced += done;
    return done;
}
