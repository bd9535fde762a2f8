/*
 * slice.c - the part of a tensor a request selects: `slice` (numpy start:stop
 * per axis, no steps), `shard` + `axis` (numpy.array_split), resolved by
 * gp_request_finish into per-axis [start, stop) bounds of the full shape.
 *
 * Parsing happens in gp_request_set (the shape may not be known yet), so the
 * parsers keep the text's meaning (a negative index, an omitted bound);
 * gpi_resolve_part applies it to the shape. Bounds are clamped exactly as
 * numpy clamps them (PySlice_AdjustIndices with step 1), so `slice=` always
 * means what the same text between numpy's brackets means; a part with no
 * elements is refused, since a tensor with a zero dimension is of no use.
 */
#include "format_internal.h"
#include "glorot_proto.h"
#include "request_internal.h"

#include <inttypes.h>
#include <string.h>

#define INDEX_MAX INT64_MAX /* |index| <= 2^63-1, so GP_SLICE_OMITTED never parses */

/* ---- parsing -------------------------------------------------------------- */

/* An optional '-' then decimal digits, |value| <= INDEX_MAX. 0 or -1. */
static int parse_index(const char *s, size_t n, int64_t *out)
{
    int neg = n > 0 && s[0] == '-';
    size_t i = neg ? 1 : 0;
    uint64_t v = 0;
    if (i == n)
        return -1;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (INDEX_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* One axis, "start:stop" with either side empty. */
static gp_code slice_axis(const char *s, size_t n, size_t axis, int64_t *from, int64_t *to,
                          gp_error *err)
{
    const char *colon = memchr(s, ':', n);
    if (n == 0)
        return gp_fail(err, GP_EPARAM, "slice",
                       "slice: axis %zu is empty; write ':' for a whole axis", axis);
    if (colon == NULL)
        return gp_fail(err, GP_EPARAM, "slice",
                       "slice: axis %zu \"%s\" is an index, not a range; write start:stop "
                       "(e.g. 3:4 keeps the axis)",
                       axis, gpi_quote(s, n).text);
    size_t left = (size_t)(colon - s), right = n - left - 1;
    if (memchr(colon + 1, ':', right) != NULL)
        return gp_fail(err, GP_EPARAM, "slice",
                       "slice: axis %zu \"%s\" has a step; only start:stop is supported", axis,
                       gpi_quote(s, n).text);
    *from = GP_SLICE_OMITTED;
    *to = GP_SLICE_OMITTED;
    if ((left > 0 && parse_index(s, left, from) != 0) ||
        (right > 0 && parse_index(colon + 1, right, to) != 0))
        return gp_fail(err, GP_EPARAM, "slice",
                       "slice: axis %zu \"%s\": start and stop must be integers (negative "
                       "counts from the end, |index| < 2^63) or empty",
                       axis, gpi_quote(s, n).text);
    return GP_OK;
}

gp_code gpi_set_slice(gp_request *r, const char *v, size_t n, gp_error *err)
{
    int64_t from[GP_MAX_RANK], to[GP_MAX_RANK];
    size_t axes = 0, start = 0;
    if (n == 0)
        return gp_fail(err, GP_EPARAM, "slice",
                       "slice: is empty; expected start:stop per axis, e.g. 0:128,:");
    for (;;) {
        const char *comma = memchr(v + start, ',', n - start);
        size_t end = comma ? (size_t)(comma - v) : n;
        if (axes == GP_MAX_RANK)
            return gp_fail(err, GP_EPARAM, "slice", "slice: more than %d axes", GP_MAX_RANK);
        gp_code rc = slice_axis(v + start, end - start, axes, &from[axes], &to[axes], err);
        if (rc != GP_OK)
            return rc;
        axes++;
        if (comma == NULL)
            break;
        start = end + 1;
    }
    memcpy(r->slice_from, from, axes * sizeof from[0]);
    memcpy(r->slice_to, to, axes * sizeof to[0]);
    r->slice_axes = axes;
    return GP_OK;
}

/* Plain decimal digits, value <= UINT64_MAX. 0 or -1. */
static int parse_count(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

gp_code gpi_set_shard(gp_request *r, const char *v, size_t n, gp_error *err)
{
    const char *slash = memchr(v, '/', n);
    uint64_t rank = 0, world = 0;
    size_t left = slash ? (size_t)(slash - v) : 0;
    if (slash == NULL || parse_count(v, left, &rank) != 0 ||
        parse_count(slash + 1, n - left - 1, &world) != 0)
        return gp_fail(err, GP_EPARAM, "shard",
                       "shard: \"%s\" is not RANK/WORLD with decimal integers, e.g. 0/8",
                       gpi_quote(v, n).text);
    if (world == 0 || rank >= world)
        return gp_fail(err, GP_EPARAM, "shard",
                       "shard: \"%s\": WORLD must be >= 1 and RANK in 0..WORLD-1",
                       gpi_quote(v, n).text);
    r->shard_rank = rank;
    r->shard_world = world;
    return GP_OK;
}

gp_code gpi_set_axis(gp_request *r, const char *v, size_t n, gp_error *err)
{
    int64_t axis = 0;
    if (parse_index(v, n, &axis) != 0 || axis < -GP_MAX_RANK || axis >= GP_MAX_RANK)
        return gp_fail(err, GP_EPARAM, "axis",
                       "axis: \"%s\" is not an integer in -%d..%d (negative counts from the end)",
                       gpi_quote(v, n).text, GP_MAX_RANK, GP_MAX_RANK - 1);
    r->shard_axis = axis;
    return GP_OK;
}

/* ---- resolution ------------------------------------------------------------- */

/* numpy's clamping of one bound (step 1): negative counts from the end, then
 * the result is limited to [0, len]. */
static uint64_t clamp_bound(int64_t index, uint64_t len, uint64_t omitted)
{
    if (index == GP_SLICE_OMITTED)
        return omitted;
    if (index >= 0)
        return (uint64_t)index < len ? (uint64_t)index : len;
    uint64_t back = (uint64_t)(-(index + 1)) + 1; /* |index| without overflow */
    return back < len ? len - back : 0;
}

static gp_code resolve_slice(gp_request *r, gp_error *err)
{
    if (r->slice_axes > r->rank)
        return gp_fail(err, GP_EPARAM, "slice",
                       "slice: names %zu axes but the shape has %zu dimensions", r->slice_axes,
                       r->rank);
    for (size_t i = 0; i < r->slice_axes; i++) {
        uint64_t len = r->shape[i];
        uint64_t start = clamp_bound(r->slice_from[i], len, 0);
        uint64_t stop = clamp_bound(r->slice_to[i], len, len);
        if (stop <= start)
            return gp_fail(err, GP_EPARAM, "slice",
                           "slice: axis %zu selects no elements (resolved to %" PRIu64 ":%" PRIu64
                           " of %" PRIu64 "); every axis must keep at least one",
                           i, start, stop, len);
        r->part_start[i] = start;
        r->part_stop[i] = stop;
    }
    return GP_OK;
}

/* numpy.array_split: the first len % world parts get one element more. */
static gp_code resolve_shard(gp_request *r, gp_error *err)
{
    int64_t rank = (int64_t)r->rank;
    int64_t axis = r->shard_axis;
    if (axis < -rank || axis >= rank)
        return gp_fail(err, GP_EPARAM, "axis",
                       "axis: %" PRId64 " is out of range for %zu dimensions (use -%zu..%zu)", axis,
                       r->rank, r->rank, r->rank - 1);
    size_t a = (size_t)(axis < 0 ? axis + rank : axis);
    uint64_t len = r->shape[a], world = r->shard_world, k = r->shard_rank;
    uint64_t base = len / world, extra = len % world;
    uint64_t count = base + (k < extra ? 1 : 0);
    if (count == 0)
        return gp_fail(err, GP_EPARAM, "shard",
                       "shard: part %" PRIu64 " of %" PRIu64 " along axis %zu is empty (the axis "
                       "has %" PRIu64 " elements); use at most %" PRIu64 " parts",
                       k, world, a, len, len);
    r->part_start[a] = k * base + (k < extra ? k : extra);
    r->part_stop[a] = r->part_start[a] + count;
    return GP_OK;
}

gp_code gpi_resolve_part(gp_request *r, int axis_given, gp_error *err)
{
    gp_code rc = GP_OK;
    if (r->slice_axes > 0 && r->shard_world > 0)
        return gp_fail(err, GP_EPARAM, "shard",
                       "shard: cannot be combined with slice; give one of them");
    if (axis_given && r->shard_world == 0)
        return gp_fail(err, GP_EPARAM, "axis", "axis: only applies together with shard");
    for (size_t i = 0; i < r->rank; i++) {
        r->part_start[i] = 0;
        r->part_stop[i] = r->shape[i];
    }
    if (r->slice_axes > 0)
        rc = resolve_slice(r, err);
    else if (r->shard_world > 0)
        rc = resolve_shard(r, err);
    if (rc != GP_OK)
        return rc;
    uint64_t numel = 1;
    r->partial = 0;
    for (size_t i = 0; i < r->rank; i++) {
        r->out_shape[i] = r->part_stop[i] - r->part_start[i];
        numel *= r->out_shape[i]; /* <= the full numel, which fits */
        if (r->out_shape[i] != r->shape[i])
            r->partial = 1;
    }
    r->out_numel = numel;
    r->out_nbytes = numel * gp_dtype_size(r->dtype); /* <= the full nbytes */
    return GP_OK;
}

/* ---- text ------------------------------------------------------------------------ */

size_t gp_part_text(const gp_request *r, char *out, size_t size)
{
    unsigned char mem[GP_PART_TEXT_MAX];
    gpi_text t;
    gpi_text_init(&t, mem, sizeof mem);
    for (size_t i = 0; i < r->rank; i++) {
        if (i > 0)
            gpi_text_str(&t, ",");
        gpi_text_u64(&t, r->part_start[i]);
        gpi_text_str(&t, ":");
        gpi_text_u64(&t, r->part_stop[i]);
    }
    return gpi_text_export(&t, out, size);
}
