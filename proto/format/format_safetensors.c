/*
 * format_safetensors.c - the safetensors header.
 *
 *   N (le64) then N bytes of JSON:
 *   {"__metadata__":{"format":"pt","seed":"42",...},"weight":{"dtype":"F32",
 *    "shape":[256,512],
 *    "data_offsets":[0,524288]}}
 *   padded with trailing spaces so N, and so the data offset 8 + N, is a
 *   multiple of 8.
 *
 * The spec's rules hold by construction: the JSON starts with '{', metadata
 * values are strings, the one tensor covers the whole byte buffer, and a
 * tensor named "__metadata__" (which would duplicate the key) is refused.
 */
#include "format/body_internal.h"
#include "format/format_internal.h"
#include "request/request_internal.h"

#include <string.h>

#define ST_ALIGN 8

static void meta_key(gpi_text *t, const char *key, int first)
{
    gpi_text_str(t, first ? "\"" : ",\"");
    gpi_text_str(t, key);
    gpi_text_str(t, "\":\"");
}

static void meta_str(gpi_text *t, const char *key, const char *value, int first)
{
    meta_key(t, key, first);
    gpi_text_str(t, value); /* our own names: plain ASCII, nothing to escape */
    gpi_text_str(t, "\"");
}

static void meta_u64(gpi_text *t, const char *key, uint64_t value)
{
    meta_key(t, key, 0);
    gpi_text_u64(t, value);
    gpi_text_str(t, "\"");
}

static void st_metadata(gpi_text *t, const gp_request *r)
{
    gpi_text_str(t, "\"__metadata__\":{");
    gpi_text_str(t, GPI_ST_FORMAT_PT);
    meta_key(t, "seed", 0);
    gpi_text_u64(t, r->seed);
    gpi_text_str(t, "\"");
    meta_str(t, "algorithm", gp_algorithm_name(r->algorithm), 0);
    meta_u64(t, "version", (unsigned)gp_algorithm_version(r->algorithm));
    if (r->algorithm == GP_ALG_MLX_SEEDED)
        meta_u64(t, "call", r->call);
    if (gpi_init_has_fans(r)) {
        meta_str(t, "gain", r->gain_spec, 0);
        if (r->dist == GP_DIST_UNIFORM) {
            meta_key(t, "limit", 0);
            gpi_text_g17(t, r->limit);
            gpi_text_str(t, "\"");
        }
        meta_u64(t, "fan_in", r->fan_in);
        meta_u64(t, "fan_out", r->fan_out);
        meta_str(t, "fan", gp_fan_name(r->fan), 0);
    }
    if (r->init != GP_INIT_GLOROT_UNIFORM) {
        char dist[GP_DIST_TEXT_MAX];
        gp_dist_text(r, dist, sizeof dist);
        meta_str(t, "init", r->init_as, 0);
        meta_str(t, "distribution", dist, 0);
    }
    meta_str(t, "dtype", gp_dtype_name(r->dtype), 0);
    meta_str(t, "generator", "glorotd", 0);
    if (r->partial) {
        char part[GP_PART_TEXT_MAX];
        gp_part_text(r, part, sizeof part);
        meta_str(t, "slice", part, 0);
    }
    gpi_text_str(t, "}");
}

gp_code gpi_safetensors_entry(gpi_text *t, const gp_request *r, uint64_t offset, gp_error *err)
{
    gp_code rc = gpi_text_json_string(t, r->name, r->name_len, "name", err);
    if (rc != GP_OK)
        return rc;
    gpi_text_str(t, ":{\"dtype\":\"");
    gpi_text_str(t, gp_dtype_tag(r->dtype, GP_TAG_SAFETENSORS));
    gpi_text_str(t, "\",\"shape\":");
    gpi_text_shape(t, r->out_shape, r->rank, GPI_SHAPE_JSON);
    gpi_text_str(t, ",\"data_offsets\":[");
    gpi_text_u64(t, offset);
    gpi_text_str(t, ",");
    gpi_text_u64(t, offset + r->out_nbytes);
    gpi_text_str(t, "]}");
    return GP_OK;
}

gp_code gpi_safetensors_header(gp_body *b, gp_error *err)
{
    const gp_request *r = &b->req;
    if (r->name_len == strlen("__metadata__") && memcmp(r->name, "__metadata__", r->name_len) == 0)
        return gp_fail(err, GP_EPARAM, "name",
                       "name=__metadata__ is reserved by safetensors; choose another name");
    gpi_text t;
    gpi_text_init(&t, b->header + 8, sizeof b->header - 8);
    gpi_text_str(&t, "{");
    st_metadata(&t, r);
    gpi_text_str(&t, ",");
    gp_code rc = gpi_safetensors_entry(&t, r, 0, err);
    if (rc != GP_OK)
        return rc;
    b->header_len = gpi_safetensors_finish(&t, b->header);
    if (b->header_len == 0)
        return gp_fail(err, GP_EINTERNAL, "", "safetensors header does not fit in %d bytes",
                       GP_HEADER_MAX);
    return GP_OK;
}

size_t gpi_safetensors_finish(gpi_text *t, unsigned char *header)
{
    gpi_text_str(t, "}");
    if (t->len % ST_ALIGN != 0)
        gpi_text_spaces(t, ST_ALIGN - t->len % ST_ALIGN);
    if (t->overflow)
        return 0;
    for (size_t i = 0; i < 8; i++)
        header[i] = (unsigned char)((uint64_t)t->len >> (8 * i));
    return 8 + t->len;
}
