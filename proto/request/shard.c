/*
 * shard.c - `shard`, `axis`, `split` and `stride`: the part of a tensor a
 * training framework's rank holds, for the three conventions the frameworks
 * use (docs/PROTOCOL.md has the table):
 *
 * - array_split: numpy.array_split (numpy/lib/_shape_base_impl.py:
 *   `Neach_section, extras = divmod(Ntotal, Nsections)`, the first `extras`
 *   sections one longer);
 * - chunk: torch.chunk, which DTensor's Shard(dim) follows (and so FSDP2 and
 *   torchtitan). aten/src/ATen/native/TensorShape.cpp `chunk`:
 *   `split_size = (dim_size + chunks - 1) / chunks`, then split by that size,
 *   so trailing chunks are short or missing; DTensor fills missing ones with
 *   empty tensors, and torch/distributed/tensor/placement_types.py
 *   `Shard.local_shard_size_and_offset` gives rank r the size
 *   `min(n, r*c + c) - r*c` at offset r*c, or size 0 at offset n past the end;
 * - even: Megatron-LM, megatron/core/tensor_parallel/layers.py
 *   `_initialize_affine_weight_cpu`: `per_partition_per_stride_size =
 *   divide(per_partition_size, stride)` (divide() asserts divisibility, and
 *   per_partition_size is itself divide(n, world)), `weight_list =
 *   torch.split(master_weight, per_partition_per_stride_size, dim)`,
 *   `my_weight_list = weight_list[rank::world_size]`, concatenated: the axis
 *   is cut into stride*world equal pieces and rank r gets pieces r, r+W, ...
 *
 * Only Megatron defines a stride, so stride > 1 needs split=even. Several
 * shards are applied in the order given, each to the part the earlier ones
 * left (DTensor's left-to-right order over the mesh dimensions): on distinct
 * axes that is a 2-D mesh; on one axis it is a shard of a shard, e.g. FSDP2
 * over tensor-parallel rows (torchtitan's _StridedShard + Shard on one dim).
 * A strided shard must be the last on its axis: its part is not contiguous.
 */
#include "base/names_internal.h"
#include "base/text_internal.h"
#include "glorot_proto.h"
#include "request/request_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ---- parsing: comma-separated lists ---------------------------------------------- */

static const char *example_of(const char *key)
{
    return strcmp(key, "shard") == 0   ? "shard=1/4 or shard=1/4,0/2"
           : strcmp(key, "axis") == 0  ? "axis=0 or axis=0,1"
           : strcmp(key, "split") == 0 ? "split=chunk or split=chunk,even"
                                       : "stride=3 or stride=1,3";
}

/* Call fn for each comma-separated item of v; *count receives how many. */
static gp_code each_item(gp_request *r, const char *key, const char *v, size_t n, gpi_item_fn fn,
                         size_t *count, gp_error *err)
{
    if (n == 0)
        return gp_fail(err, GP_EPARAM, key, "%s: is empty; give one value, or one per shard: %s",
                       key, example_of(key));
    gp_code rc = gpi_each_item(r, v, n, GP_MAX_RANK, fn, count, err);
    if (rc == GP_OK && *count > GP_MAX_RANK)
        return gp_fail(err, GP_EPARAM, key, "%s: more than %d values (one per shard)", key,
                       GP_MAX_RANK);
    return rc;
}

/* Plain decimal digits, value <= UINT64_MAX. 0 or -1. */
static int parse_count(const char *s, size_t n, uint64_t *out)
{
    return gp_parse_u64(s, n, 0, UINT64_MAX, 0, out) == GP_U64_OK ? 0 : -1;
}

static gp_code shard_item(gp_request *r, size_t k, const char *v, size_t n, gp_error *err)
{
    const char *slash = memchr(v, '/', n);
    uint64_t rank = 0, world = 0;
    size_t left = slash ? (size_t)(slash - v) : 0;
    if (slash == NULL || parse_count(v, left, &rank) != 0 ||
        parse_count(slash + 1, n - left - 1, &world) != 0)
        return gp_fail(err, GP_EPARAM, "shard",
                       "shard: \"%s\" is not RANK/WORLD with decimal integers, e.g. 0/8 (several: "
                       "0/8,1/2)",
                       gpi_quote(v, n).text);
    if (world == 0 || rank >= world)
        return gp_fail(err, GP_EPARAM, "shard",
                       "shard: \"%s\": WORLD must be >= 1 and RANK in 0..WORLD-1",
                       gpi_quote(v, n).text);
    r->shard_rank[k] = rank;
    r->shard_world[k] = world;
    return GP_OK;
}

static gp_code axis_item(gp_request *r, size_t k, const char *v, size_t n, gp_error *err)
{
    int64_t axis = 0;
    if (gpi_parse_index(v, n, &axis) != 0 || axis < -GP_MAX_RANK || axis >= GP_MAX_RANK)
        return gp_fail(err, GP_EPARAM, "axis",
                       "axis: \"%s\" is not an integer in -%d..%d (negative counts from the end)",
                       gpi_quote(v, n).text, GP_MAX_RANK, GP_MAX_RANK - 1);
    r->shard_axis[k] = axis;
    return GP_OK;
}

static gp_code split_item(gp_request *r, size_t k, const char *v, size_t n, gp_error *err)
{
    int x = 0;
    gp_code rc = gpi_parse_name(GP_NAMES_SPLIT, "split", v, n, &x, err);
    if (rc == GP_OK)
        r->shard_split[k] = (gp_split)x;
    return rc;
}

static gp_code stride_item(gp_request *r, size_t k, const char *v, size_t n, gp_error *err)
{
    uint64_t s = 0;
    if (parse_count(v, n, &s) != 0 || s < 1 || s > GP_MAX_STRIDE)
        return gp_fail(err, GP_EPARAM, "stride", "stride: \"%s\" is not an integer in 1..%d",
                       gpi_quote(v, n).text, GP_MAX_STRIDE);
    r->shard_stride[k] = s;
    return GP_OK;
}

/* A list parsed into a copy, so a value that fails leaves r untouched; its
 * length goes to the size_t at count_offset in the request. */
static gp_code set_list(gp_request *r, const char *key, const char *v, size_t n, gpi_item_fn fn,
                        size_t count_offset, gp_error *err)
{
    gp_request t = *r;
    size_t count = 0;
    gp_code rc = each_item(&t, key, v, n, fn, &count, err);
    if (rc != GP_OK)
        return rc;
    memcpy((char *)&t + count_offset, &count, sizeof count);
    *r = t;
    return GP_OK;
}

gp_code gpi_set_shard(gp_request *r, const char *v, size_t n, gp_error *err)
{
    return set_list(r, "shard", v, n, shard_item, offsetof(gp_request, shard_count), err);
}

gp_code gpi_set_axis(gp_request *r, const char *v, size_t n, gp_error *err)
{
    return set_list(r, "axis", v, n, axis_item, offsetof(gp_request, axis_count), err);
}

gp_code gpi_set_split(gp_request *r, const char *v, size_t n, gp_error *err)
{
    return set_list(r, "split", v, n, split_item, offsetof(gp_request, split_count), err);
}

gp_code gpi_set_stride(gp_request *r, const char *v, size_t n, gp_error *err)
{
    return set_list(r, "stride", v, n, stride_item, offsetof(gp_request, stride_count), err);
}

/* ---- resolution ------------------------------------------------------------------------ */

static gp_code check_counts(const gp_request *r, gp_error *err)
{
    size_t k = r->shard_count;
    if (r->axis_count == 0 && k > 1)
        return gp_fail(err, GP_EPARAM, "axis",
                       "axis: is required when shard names %zu parts: one axis per shard, e.g. "
                       "axis=0,1",
                       k);
    if (r->axis_count != 0 && r->axis_count != k)
        return gp_fail(err, GP_EPARAM, "axis",
                       "axis: gives %zu axes for %zu shards; give one per shard", r->axis_count, k);
    if (r->split_count > 1 && r->split_count != k)
        return gp_fail(err, GP_EPARAM, "split",
                       "split: gives %zu values for %zu shards; give one for all or one per shard",
                       r->split_count, k);
    if (r->stride_count > 1 && r->stride_count != k)
        return gp_fail(err, GP_EPARAM, "stride",
                       "stride: gives %zu values for %zu shards; give one for all or one per shard",
                       r->stride_count, k);
    return GP_OK;
}

/* Shard k's settings, defaults filled in and its axis made non-negative. */
typedef struct {
    uint64_t rank, world, stride;
    gp_split split;
    size_t axis;
} shard_spec;

static gp_code spec_of(const gp_request *r, size_t k, shard_spec *s, gp_error *err)
{
    int64_t rank = (int64_t)r->rank, axis = r->axis_count ? r->shard_axis[k] : 0;
    if (axis < -rank || axis >= rank)
        return gp_fail(err, GP_EPARAM, "axis",
                       "axis: %" PRId64 " is out of range for %zu dimensions (use -%zu..%zu)", axis,
                       r->rank, r->rank, r->rank - 1);
    s->axis = (size_t)(axis < 0 ? axis + rank : axis);
    s->rank = r->shard_rank[k];
    s->world = r->shard_world[k];
    s->split =
        r->split_count == 0 ? GP_SPLIT_ARRAY_SPLIT : r->shard_split[r->split_count == 1 ? 0 : k];
    s->stride = r->stride_count == 0 ? 1 : r->shard_stride[r->stride_count == 1 ? 0 : k];
    return GP_OK;
}

/* Megatron: the axis (n elements) in stride * world equal pieces; rank r
 * takes pieces r, r + world, ... (stride of them). */
static gp_code split_even(gp_request *r, const shard_spec *s, gp_error *err)
{
    uint64_t n = r->piece_len[s->axis], parts = 0;
    if (gpi_mul_u64(s->world, s->stride, &parts) != 0 || n % parts != 0) {
        if (s->stride == 1)
            return gp_fail(err, GP_EPARAM, "shard",
                           "shard: split=even needs WORLD to divide the axis (Megatron-LM's rule): "
                           "axis %zu has %" PRIu64 " elements and WORLD is %" PRIu64
                           "; use split=chunk or split=array_split",
                           s->axis, n, s->world);
        return gp_fail(err, GP_EPARAM, "stride",
                       "stride: split=even needs WORLD x stride to divide the axis (Megatron-LM's "
                       "rule): axis %zu has %" PRIu64 " elements, %" PRIu64 " x %" PRIu64
                       " does not divide it",
                       s->axis, n, s->world, s->stride);
    }
    uint64_t len = n / parts;
    r->part_start[s->axis] += s->rank * len;
    r->piece_len[s->axis] = len;
    r->piece_count[s->axis] = s->stride;
    r->piece_step[s->axis] = s->world * len;
    return GP_OK;
}

/* numpy.array_split or torch.chunk: one contiguous part of the axis. */
static void split_contiguous(gp_request *r, const shard_spec *s)
{
    uint64_t n = r->piece_len[s->axis], off, count;
    if (s->split == GP_SPLIT_CHUNK) {
        uint64_t c = n / s->world + (n % s->world != 0), at;
        /* rank * c <= n + world - 1; past n (or overflowing) means empty, at n */
        off = gpi_mul_u64(s->rank, c, &at) != 0 || at > n ? n : at;
        count = n - off < c ? n - off : c;
    } else {
        uint64_t base = n / s->world, extra = n % s->world;
        off = s->rank * base + (s->rank < extra ? s->rank : extra);
        count = base + (s->rank < extra ? 1 : 0);
    }
    r->part_start[s->axis] += off;
    r->piece_len[s->axis] = count;
}

gp_code gpi_resolve_shards(gp_request *r, gp_error *err)
{
    gp_code rc = check_counts(r, err);
    for (size_t k = 0; rc == GP_OK && k < r->shard_count; k++) {
        shard_spec s;
        if ((rc = spec_of(r, k, &s, err)) != GP_OK)
            return rc;
        if (r->piece_count[s.axis] > 1)
            return gp_fail(err, GP_EPARAM, "shard",
                           "shard: shard %zu splits axis %zu again after a strided shard cut it "
                           "into pieces; a strided shard must be the last on its axis",
                           k, s.axis);
        if (s.stride > 1 && s.split != GP_SPLIT_EVEN)
            return gp_fail(err, GP_EPARAM, "stride",
                           "stride: %" PRIu64 " needs split=even; only Megatron-LM's even split "
                           "defines a stride (numpy.array_split and torch.chunk have none)",
                           s.stride);
        if (s.split == GP_SPLIT_EVEN)
            rc = split_even(r, &s, err);
        else
            split_contiguous(r, &s);
    }
    return rc;
}

/* ---- the Glorot-Shard text --------------------------------------------------------------- */

size_t gp_shard_text(const gp_request *r, char *out, size_t size)
{
    unsigned char mem[GP_SHARD_TEXT_MAX];
    gpi_text t;
    gpi_text_init(&t, mem, sizeof mem);
    for (size_t k = 0; k < r->shard_count; k++) {
        shard_spec s;
        if (spec_of(r, k, &s, NULL) != GP_OK)
            break; /* not finished: nothing more to say */
        if (k > 0)
            gpi_text_str(&t, ", ");
        gpi_text_u64(&t, s.rank);
        gpi_text_str(&t, "/");
        gpi_text_u64(&t, s.world);
        gpi_text_str(&t, "; axis=");
        gpi_text_u64(&t, s.axis);
        gpi_text_str(&t, "; split=");
        gpi_text_str(&t, gp_split_name(s.split));
        gpi_text_str(&t, "; stride=");
        gpi_text_u64(&t, s.stride);
    }
    return gpi_text_export(&t, out, size);
}

/* ---- the JSON forms: {"rank", "world", "axis", "split", "stride"} or a list ---------------- */

#define SHARD_KEYS "rank, world, axis, split, stride"

typedef struct {
    char shard[GP_MAX_RANK * 44], axis[GP_MAX_RANK * 22], split[GP_MAX_RANK * 13],
        stride[GP_MAX_RANK * 22];
    size_t shard_len, axis_len, split_len, stride_len;
    size_t with_axis, with_split, with_stride;
} shard_texts;

static void append(char *buf, size_t cap, size_t *len, size_t k, const char *text)
{
    int n = snprintf(buf + *len, cap - *len, "%s%s", k > 0 ? "," : "", text);
    if (n > 0 && (size_t)n < cap - *len)
        *len += (size_t)n;
}

static gp_code object_fail(gp_error *err, size_t k, size_t count, const char *what)
{
    if (count == 1)
        return gp_fail(err, GP_EPARAM, "shard", "shard: %s", what);
    return gp_fail(err, GP_EPARAM, "shard", "shard[%zu]: %s", k, what);
}

static gp_code check_object_keys(json_t *o, size_t k, size_t count, gp_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        static const char *const keys[] = {"rank", "world", "axis", "split", "stride"};
        int known = 0;
        for (size_t i = 0; i < 5; i++)
            known |= strcmp(keys[i], key) == 0;
        if (!known) {
            char what[128];
            snprintf(what, sizeof what, "unknown key \"%s\"; known keys: " SHARD_KEYS,
                     gpi_quote(key, strlen(key)).text);
            return object_fail(err, k, count, what);
        }
    }
    return GP_OK;
}

/* Shard k of count as the texts of the query keys. */
static gp_code one_object(json_t *o, size_t k, size_t count, shard_texts *t, gp_error *err)
{
    char text[48], names[GPI_NAMES_TEXT_MAX];
    if (!json_is_object(o))
        return object_fail(err, k, count,
                           "must be an object {\"rank\": R, \"world\": W, \"axis\": A, \"split\": "
                           "S, \"stride\": N} (or a list of them)");
    gp_code rc = check_object_keys(o, k, count, err);
    if (rc != GP_OK)
        return rc;
    json_t *rank = json_object_get(o, "rank"), *world = json_object_get(o, "world");
    json_t *axis = json_object_get(o, "axis"), *split = json_object_get(o, "split");
    json_t *stride = json_object_get(o, "stride");
    if (!json_is_integer(rank) || !json_is_integer(world) || (axis && !json_is_integer(axis)) ||
        (stride && !json_is_integer(stride)) || (split && !json_is_string(split)))
        return object_fail(err, k, count,
                           "rank and world (and axis and stride, if given) must be integers, "
                           "split a string");
    snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
             json_integer_value(rank), json_integer_value(world));
    append(t->shard, sizeof t->shard, &t->shard_len, k, text);
    snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, axis ? json_integer_value(axis) : 0);
    append(t->axis, sizeof t->axis, &t->axis_len, k, text);
    if (split && (json_string_length(split) > 11 || strchr(json_string_value(split), ',')))
        return gp_fail(err, GP_EPARAM, "split", "split: \"%s\" is not supported; use %s",
                       gpi_quote(json_string_value(split), json_string_length(split)).text,
                       gpi_names_text(GP_NAMES_SPLIT, 0, names, sizeof names));
    append(t->split, sizeof t->split, &t->split_len, k,
           split ? json_string_value(split) : "array_split");
    snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, stride ? json_integer_value(stride) : 1);
    append(t->stride, sizeof t->stride, &t->stride_len, k, text);
    t->with_axis += axis != NULL;
    t->with_split += split != NULL;
    t->with_stride += stride != NULL;
    return GP_OK;
}

static gp_code set_text(gp_request *r, const char *key, const char *text, size_t len, gp_error *err)
{
    return gp_request_set(r, key, strlen(key), text, len, err);
}

gp_code gpi_set_shard_json(gp_request *r, json_t *v, gp_error *err)
{
    shard_texts t;
    memset(&t, 0, sizeof t);
    size_t count = json_is_array(v) ? json_array_size(v) : 1;
    if (json_is_string(v))
        return set_text(r, "shard", json_string_value(v), json_string_length(v), err);
    if (json_is_array(v) && (count == 0 || count > GP_MAX_RANK))
        return gp_fail(err, GP_EPARAM, "shard", "shard: a list of 1 to %d shard objects",
                       GP_MAX_RANK);
    for (size_t k = 0; k < count; k++) {
        gp_code rc = one_object(json_is_array(v) ? json_array_get(v, k) : v, k, count, &t, err);
        if (rc != GP_OK)
            return rc;
    }
    if (t.with_axis != 0 && t.with_axis != count)
        return gp_fail(err, GP_EPARAM, "axis",
                       "axis: give it in every shard object of the list, or in none");
    gp_code rc = set_text(r, "shard", t.shard, t.shard_len, err);
    if (rc == GP_OK && t.with_axis > 0)
        rc = set_text(r, "axis", t.axis, t.axis_len, err);
    if (rc == GP_OK && t.with_split > 0)
        rc = set_text(r, "split", t.split, t.split_len, err);
    if (rc == GP_OK && t.with_stride > 0)
        rc = set_text(r, "stride", t.stride, t.stride_len, err);
    return rc;
}

gp_code gp_request_set_shard_json(gp_request *r, const char *json, size_t len, gp_error *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        return gp_fail(err, GP_EPARAM, "shard", "shard: invalid JSON: %.120s", jerr.text);
    gp_code rc = gpi_set_shard_json(r, v, err);
    json_decref(v);
    return rc;
}
