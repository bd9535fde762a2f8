/*
 * request.c - a glorot_request is validated by the proto library, exactly as
 * the server will validate it, before anything is sent.
 */
#include "client_internal.h"

#include <stdio.h>
#include <string.h>

void glorot_request_init(glorot_request *req)
{
    memset(req, 0, sizeof *req);
}

enum field_kind { F_SHAPE, F_SEED, F_CALL, F_FAN_IN, F_FAN_OUT, F_SHARD, F_AXIS, F_TEXT };

typedef struct {
    char key[12];
    enum field_kind kind;
    size_t text_offset; /* F_TEXT: where the pointer lives in glorot_request */
} field;

static const field fields[] = {
    {"shape", F_SHAPE, 0},
    {"seed", F_SEED, 0},
    {"call", F_CALL, 0},
    {"fan_in", F_FAN_IN, 0},
    {"fan_out", F_FAN_OUT, 0},
    {"gain", F_TEXT, offsetof(glorot_request, gain)},
    {"dtype", F_TEXT, offsetof(glorot_request, dtype)},
    {"algorithm", F_TEXT, offsetof(glorot_request, algorithm)},
    {"fan", F_TEXT, offsetof(glorot_request, fan)},
    {"name", F_TEXT, offsetof(glorot_request, name)},
    {"format", F_TEXT, offsetof(glorot_request, format)},
    {"slice", F_TEXT, offsetof(glorot_request, slice)},
    {"init", F_TEXT, offsetof(glorot_request, init)},
    {"mode", F_TEXT, offsetof(glorot_request, mode)},
    {"low", F_TEXT, offsetof(glorot_request, low)},
    {"high", F_TEXT, offsetof(glorot_request, high)},
    {"mean", F_TEXT, offsetof(glorot_request, mean)},
    {"std", F_TEXT, offsetof(glorot_request, std)},
    {"a", F_TEXT, offsetof(glorot_request, a)},
    {"b", F_TEXT, offsetof(glorot_request, b)},
    {"value", F_TEXT, offsetof(glorot_request, value)},
    {"shard", F_SHARD, 0},
    {"axis", F_AXIS, 0},
    {"split", F_TEXT, offsetof(glorot_request, split)},
    {"stride", F_TEXT, offsetof(glorot_request, stride)},
};

static const field *find_field(const char *key)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(fields[i].key, key) == 0)
            return &fields[i];
    return NULL;
}

static glorot_code gp_set(gp_request *r, const char *key, const char *value, glorot_error *err)
{
    gp_error gerr = {0};
    if (gp_request_set(r, key, strlen(key), value, strlen(value), &gerr) != GP_OK)
        return glorotp_from_gp(err, &gerr);
    return GLOROT_OK;
}

static void u64_text(uint64_t v, char out[24])
{
    snprintf(out, 24, "%llu", (unsigned long long)v);
}

glorot_code glorot_request_set(glorot_request *req, const char *key, const char *value,
                               glorot_error *err)
{
    const field *f = find_field(key);
    if (f == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, key, "unknown parameter '%s'", key);
    gp_request scratch;
    gp_request_init(&scratch);
    glorot_code rc = gp_set(&scratch, key, value, err);
    if (rc != GLOROT_OK)
        return rc;
    switch (f->kind) {
    case F_SHAPE:
        req->rank = scratch.rank;
        memcpy(req->shape, scratch.shape, sizeof req->shape);
        break;
    case F_SEED:
        req->seed = scratch.seed;
        req->seed_set = 1;
        break;
    case F_CALL:
        req->call = scratch.call;
        break;
    case F_FAN_IN:
        req->fan_in = scratch.fan_in_override;
        break;
    case F_FAN_OUT:
        req->fan_out = scratch.fan_out_override;
        break;
    case F_SHARD: /* one shard in the numeric fields, several as text */
        req->shard_rank = scratch.shard_count == 1 ? scratch.shard_rank[0] : 0;
        req->shard_world = scratch.shard_count == 1 ? scratch.shard_world[0] : 0;
        req->shard_spec = scratch.shard_count == 1 ? NULL : value;
        break;
    case F_AXIS:
        req->axis = scratch.axis_count == 1 ? scratch.shard_axis[0] : 0;
        req->axis_spec = scratch.axis_count == 1 ? NULL : value;
        break;
    case F_TEXT:
        memcpy((char *)req + f->text_offset, &value, sizeof value);
        break;
    }
    return GLOROT_OK;
}

static glorot_code check_outline(const glorot_request *req, glorot_error *err)
{
    for (size_t i = 0; i < sizeof req->reserved / sizeof req->reserved[0]; i++)
        if (req->reserved[i] != 0)
            return glorotp_fail(err, GLOROT_E_INVALID, "", "reserved request fields must be zero");
    if (req->rank == 0)
        return glorotp_fail(err, GLOROT_E_INVALID, "shape", "shape is required");
    if (req->rank > GLOROT_MAX_RANK)
        return glorotp_fail(err, GLOROT_E_INVALID, "shape",
                            "shape has %zu dimensions; at most %d are allowed", req->rank,
                            GLOROT_MAX_RANK);
    return GLOROT_OK;
}

static glorot_code set_numbers(const glorot_request *req, gp_request *r, glorot_error *err)
{
    const struct {
        char key[8];
        uint64_t value;
        int given;
    } nums[] = {
        {"seed", req->seed, req->seed_set != 0},
        {"call", req->call, req->call != 0},
        {"fan_in", req->fan_in, req->fan_in != 0},
        {"fan_out", req->fan_out, req->fan_out != 0},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        char text[24];
        if (!nums[i].given)
            continue;
        u64_text(nums[i].value, text);
        glorot_code rc = gp_set(r, nums[i].key, text, err);
        if (rc != GLOROT_OK)
            return rc;
    }
    return GLOROT_OK;
}

/* shard and axis as the text the protocol carries ("3/8", "-1"). */
static void shard_text(const glorot_request *req, char out[48])
{
    snprintf(out, 48, "%llu/%llu", (unsigned long long)req->shard_rank,
             (unsigned long long)req->shard_world);
}

static void axis_text(const glorot_request *req, char out[24])
{
    snprintf(out, 24, "%lld", (long long)req->axis);
}

static int numeric_shard(const glorot_request *req)
{
    return req->shard_world != 0 || req->shard_rank != 0;
}

static glorot_code set_part(const glorot_request *req, gp_request *r, glorot_error *err)
{
    char text[48];
    glorot_code rc = GLOROT_OK;
    if (req->shard_spec != NULL && numeric_shard(req))
        return glorotp_fail(err, GLOROT_E_INVALID, "shard",
                            "give shard_spec or shard_rank/shard_world, not both");
    if (req->axis_spec != NULL && req->axis != 0)
        return glorotp_fail(err, GLOROT_E_INVALID, "axis", "give axis_spec or axis, not both");
    if (req->shard_spec != NULL)
        rc = gp_set(r, "shard", req->shard_spec, err);
    else if (numeric_shard(req)) {
        shard_text(req, text);
        rc = gp_set(r, "shard", text, err);
    }
    if (rc == GLOROT_OK && req->axis_spec != NULL)
        rc = gp_set(r, "axis", req->axis_spec, err);
    else if (rc == GLOROT_OK && req->axis != 0) {
        axis_text(req, text);
        rc = gp_set(r, "axis", text, err);
    }
    return rc;
}

/* The caller's text for key (a F_TEXT field), or NULL. */
static const char *text_field(const glorot_request *req, const char *key)
{
    const field *f = find_field(key);
    const char *value = NULL;
    if (f != NULL && f->kind == F_TEXT)
        memcpy(&value, (const char *)req + f->text_offset, sizeof value);
    return value;
}

static glorot_code set_texts(const glorot_request *req, gp_request *r, glorot_error *err)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *value;
        if (fields[i].kind != F_TEXT)
            continue;
        memcpy(&value, (const char *)req + fields[i].text_offset, sizeof value);
        if (value == NULL)
            continue;
        glorot_code rc = gp_set(r, fields[i].key, value, err);
        if (rc != GLOROT_OK)
            return rc;
    }
    return GLOROT_OK;
}

glorot_code glorotp_resolve(const glorot_request *req, gp_request *r, glorot_error *err)
{
    glorot_code rc = check_outline(req, err);
    if (rc != GLOROT_OK)
        return rc;
    gp_request_init(r);
    char shape[GLOROT_MAX_RANK * 21 + 1];
    gp_shape_text(req->shape, req->rank, shape, sizeof shape);
    rc = gp_set(r, "shape", shape, err);
    if (rc == GLOROT_OK)
        rc = set_texts(req, r, err);
    if (rc == GLOROT_OK)
        rc = set_numbers(req, r, err);
    if (rc == GLOROT_OK)
        rc = set_part(req, r, err);
    if (rc != GLOROT_OK)
        return rc;
    gp_error gerr = {0};
    if (gp_request_finish(r, NULL, &gerr) != GP_OK)
        return glorotp_from_gp(err, &gerr);
    return GLOROT_OK;
}

glorot_code glorotp_body_size(const gp_request *r, uint64_t *size, glorot_error *err)
{
    gp_request sized = *r;
    if (!sized.seed_set)
        gp_request_set_seed(&sized, 0);
    gp_body body;
    gp_error gerr = {0};
    if (gp_body_init(&body, &sized, &gerr) != GP_OK)
        return glorotp_from_gp(err, &gerr);
    *size = gp_body_size(&body);
    return GLOROT_OK;
}

glorot_code glorot_size(const glorot_request *req, uint64_t *size, glorot_error *err)
{
    gp_request r;
    glorot_code rc = glorotp_resolve(req, &r, err);
    if (rc != GLOROT_OK)
        return rc;
    rc = glorotp_body_size(&r, size, err);
    if (rc == GLOROT_OK && *size == GP_SIZE_UNKNOWN)
        *size = GLOROT_SIZE_UNKNOWN;
    return rc;
}

glorot_code glorot_describe(const glorot_request *req, glorot_meta *meta, glorot_error *err)
{
    gp_request r;
    uint64_t size = 0;
    if (meta != NULL)
        memset(meta, 0, sizeof *meta);
    if (req == NULL || meta == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "a request and a meta are required");
    glorot_code rc = glorotp_resolve(req, &r, err);
    if (rc == GLOROT_OK)
        rc = glorotp_body_size(&r, &size, err);
    if (rc != GLOROT_OK)
        return rc;
    /* an unset seed stays 0 here: the server draws it at fetch time */
    glorotp_meta_fill(&r, size == GP_SIZE_UNKNOWN ? GLOROT_SIZE_UNKNOWN : size, meta);
    return GLOROT_OK;
}

static int add_pair(glorotp_str *q, const char *key, const char *value, int escape)
{
    if (q->len > 0 && glorotp_str_adds(q, "&") != 0)
        return -1;
    if (glorotp_str_adds(q, key) != 0 || glorotp_str_adds(q, "=") != 0)
        return -1;
    return escape ? glorotp_str_add_escaped(q, value, strlen(value)) : glorotp_str_adds(q, value);
}

static int add_number(glorotp_str *q, const char *key, uint64_t value)
{
    char text[24];
    u64_text(value, text);
    return add_pair(q, key, text, 0);
}

static int add_part(const glorot_request *req, glorotp_str *q)
{
    char text[48];
    int bad = 0;
    if (req->slice != NULL)
        bad |= add_pair(q, "slice", req->slice, 1);
    if (req->shard_spec != NULL)
        bad |= add_pair(q, "shard", req->shard_spec, 1);
    else if (numeric_shard(req)) {
        shard_text(req, text);
        bad |= add_pair(q, "shard", text, 0);
    }
    if (req->axis_spec != NULL)
        bad |= add_pair(q, "axis", req->axis_spec, 1);
    else if (req->axis != 0) {
        axis_text(req, text);
        bad |= add_pair(q, "axis", text, 0);
    }
    if (req->split != NULL)
        bad |= add_pair(q, "split", req->split, 1);
    if (req->stride != NULL)
        bad |= add_pair(q, "stride", req->stride, 1);
    return bad;
}

void glorotp_tensor_path(const gp_request *r, char out[GLOROTP_PATH_MAX])
{
    snprintf(out, GLOROTP_PATH_MAX, "/v1/%s", r->init_as);
}

int glorotp_build_query(const glorot_request *req, const gp_request *r, glorotp_str *q)
{
    char shape[GLOROT_MAX_RANK * 21 + 1];
    gp_shape_text(r->shape, r->rank, shape, sizeof shape);
    int bad = add_pair(q, "shape", shape, 0);
    bad |= add_pair(q, "dtype", gp_dtype_name(r->dtype), 0);
    bad |= add_pair(q, "algorithm", gp_algorithm_name(r->algorithm), 0);
    const gp_init_info *in = gp_init_find(r->init_as, strlen(r->init_as));
    if (in != NULL && in->fans) /* initializers without fans refuse `fan` */
        bad |= add_pair(q, "fan", gp_fan_name(r->fan), 0);
    bad |= add_pair(q, "format", gp_format_name(r->format), 0);
    if (req->init != NULL)
        bad |= add_pair(q, "init", req->init, 1);
    const char *key;
    for (size_t i = 0; (key = gp_init_param(i)) != NULL; i++) {
        const char *v = text_field(req, key);
        if (v != NULL)
            bad |= add_pair(q, key, v, 1);
    }
    if (req->name != NULL)
        bad |= add_pair(q, "name", req->name, 1);
    if (r->seed_set)
        bad |= add_number(q, "seed", r->seed);
    if (req->call != 0)
        bad |= add_number(q, "call", req->call);
    if (req->fan_in != 0)
        bad |= add_number(q, "fan_in", req->fan_in);
    if (req->fan_out != 0)
        bad |= add_number(q, "fan_out", req->fan_out);
    return bad != 0 || add_part(req, q) != 0 ? -1 : 0;
}

void glorotp_meta_fill(const gp_request *r, uint64_t size, glorot_meta *meta)
{
    if (meta == NULL)
        return;
    memset(meta, 0, sizeof *meta);
    meta->seed = r->seed;
    snprintf(meta->algorithm, sizeof meta->algorithm, "%s", gp_algorithm_name(r->algorithm));
    snprintf(meta->dtype, sizeof meta->dtype, "%s", gp_dtype_name(r->dtype));
    snprintf(meta->format, sizeof meta->format, "%s", gp_format_name(r->format));
    snprintf(meta->gain, sizeof meta->gain, "%s", r->gain_spec);
    meta->rank = r->rank;
    memcpy(meta->shape, r->shape, sizeof meta->shape);
    meta->fan_in = r->fan_in;
    meta->fan_out = r->fan_out;
    meta->limit = r->limit;
    meta->call = r->algorithm == GP_ALG_MLX_SEEDED ? r->call : 0;
    meta->numel = r->out_numel;
    meta->size = size;
    memcpy(meta->part_start, r->part_start, sizeof meta->part_start);
    memcpy(meta->part_stop, r->part_stop, sizeof meta->part_stop);
    snprintf(meta->init, sizeof meta->init, "%s", r->init_as);
    gp_dist_text(r, meta->distribution, sizeof meta->distribution);
}
