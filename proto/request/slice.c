/*
 * slice.c - the part of a tensor a request selects: `slice` (numpy start:stop
 * per axis, no steps; an axis may list several equally long, evenly spaced
 * pieces, "0:2;4:6", which is how a strided shard is written back), or the
 * shards of shard.c, resolved by gp_request_finish into per-axis pieces of
 * the full shape.
 *
 * Parsing happens in gp_request_set (the shape may not be known yet), so the
 * parsers keep the text's meaning (a negative index, an omitted bound);
 * gpi_resolve_part applies it to the shape. A one-piece axis is clamped
 * exactly as numpy clamps it (PySlice_AdjustIndices with step 1), so `slice=`
 * always means what the same text between numpy's brackets means, including
 * an empty selection: numpy gives an array with a zero dimension, and so does
 * glorotd.
 */
#include "base/text_internal.h"
#include "glorot_proto.h"
#include "request/request_internal.h"

#include <inttypes.h>
#include <string.h>

#define INDEX_MAX INT64_MAX /* |index| <= 2^63-1, so GP_SLICE_OMITTED never parses */

/* ---- parsing -------------------------------------------------------------- */

int gpi_parse_index(const char *s, size_t n, int64_t *out)
{
    size_t neg = n > 0 && s[0] == '-';
    uint64_t v = 0;
    if (gp_parse_u64(s + neg, n - neg, 0, INDEX_MAX, 0, &v) != GP_U64_OK)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* One piece, "start:stop" with either side empty. */
static gp_code slice_piece(const char *s, size_t n, size_t axis, int64_t *from, int64_t *to,
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
    if ((left > 0 && gpi_parse_index(s, left, from) != 0) ||
        (right > 0 && gpi_parse_index(colon + 1, right, to) != 0))
        return gp_fail(err, GP_EPARAM, "slice",
                       "slice: axis %zu \"%s\": start and stop must be integers (negative "
                       "counts from the end, |index| < 2^63) or empty",
                       axis, gpi_quote(s, n).text);
    return GP_OK;
}

/* The pieces of one axis after the first, "a:b;c:d;...": explicit bounds
 * >= 0, all as long as the first (> 0), each starting the same distance after
 * the one before, never overlapping it. */
static gp_code more_pieces(const char *s, size_t n, size_t axis, int64_t from, int64_t to,
                           uint64_t *pieces, uint64_t *step, gp_error *err)
{
    int64_t prev = from;
    *pieces = 1;
    *step = 0;
    for (size_t start = 0; start <= n;) {
        const char *semi = memchr(s + start, ';', n - start);
        size_t end = semi ? (size_t)(semi - s) : n;
        int64_t a = 0, b = 0;
        gp_code rc = slice_piece(s + start, end - start, axis, &a, &b, err);
        if (rc != GP_OK)
            return rc;
        /* signs first: an omitted bound is INT64_MIN, and no difference may overflow */
        if (from < 0 || to < 0 || a < 0 || b < 0 || to <= from || b - a != to - from)
            return gp_fail(err, GP_EPARAM, "slice",
                           "slice: axis %zu lists several pieces; each must be start:stop with "
                           "0 <= start < stop and all of the same length",
                           axis);
        if (a - prev < to - from || (*pieces > 1 && (uint64_t)(a - prev) != *step))
            return gp_fail(err, GP_EPARAM, "slice",
                           "slice: axis %zu: pieces must be in increasing order, evenly "
                           "spaced and must not overlap (what a strided shard gives)",
                           axis);
        if (++*pieces > GP_MAX_STRIDE)
            return gp_fail(err, GP_EPARAM, "slice", "slice: axis %zu has more than %d pieces", axis,
                           GP_MAX_STRIDE);
        *step = (uint64_t)(a - prev);
        prev = a;
        start = end + 1;
    }
    return GP_OK;
}

static gp_code slice_axis(gp_request *r, size_t axis, const char *s, size_t n, gp_error *err)
{
    const char *semi = memchr(s, ';', n);
    size_t first = semi ? (size_t)(semi - s) : n;
    gp_code rc = slice_piece(s, first, axis, &r->slice_from[axis], &r->slice_to[axis], err);
    r->slice_pieces[axis] = 1;
    r->slice_step[axis] = 0;
    if (rc != GP_OK || semi == NULL)
        return rc;
    return more_pieces(semi + 1, n - first - 1, axis, r->slice_from[axis], r->slice_to[axis],
                       &r->slice_pieces[axis], &r->slice_step[axis], err);
}

gp_code gpi_set_slice(gp_request *r, const char *v, size_t n, gp_error *err)
{
    gp_request t = *r; /* a value that fails leaves r untouched */
    size_t axes = 0;
    if (n == 0)
        return gp_fail(err, GP_EPARAM, "slice",
                       "slice: is empty; expected start:stop per axis, e.g. 0:128,:");
    gp_code rc = gpi_each_item(&t, v, n, GP_MAX_RANK, slice_axis, &axes, err);
    if (rc != GP_OK)
        return rc;
    if (axes > GP_MAX_RANK)
        return gp_fail(err, GP_EPARAM, "slice", "slice: more than %d axes", GP_MAX_RANK);
    t.slice_axes = axes;
    *r = t;
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

static gp_code resolve_pieces(gp_request *r, size_t i, gp_error *err)
{
    uint64_t len = (uint64_t)(r->slice_to[i] - r->slice_from[i]), step = r->slice_step[i];
    uint64_t count = r->slice_pieces[i], last = (uint64_t)r->slice_from[i], end;
    if (gpi_mul_u64(count - 1, step, &end) != 0 || gpi_add_u64(last, end, &last) != 0 ||
        gpi_add_u64(last, len, &end) != 0 || end > r->shape[i])
        return gp_fail(err, GP_EPARAM, "slice",
                       "slice: the pieces of axis %zu run past its %" PRIu64
                       " elements; listed pieces are not clamped",
                       i, r->shape[i]);
    r->part_start[i] = (uint64_t)r->slice_from[i];
    r->piece_len[i] = len;
    r->piece_count[i] = count;
    r->piece_step[i] = step;
    return GP_OK;
}

static gp_code resolve_slice(gp_request *r, gp_error *err)
{
    if (r->slice_axes > r->rank)
        return gp_fail(err, GP_EPARAM, "slice",
                       "slice: names %zu axes but the shape has %zu dimensions", r->slice_axes,
                       r->rank);
    for (size_t i = 0; i < r->slice_axes; i++) {
        if (r->slice_pieces[i] > 1) {
            gp_code rc = resolve_pieces(r, i, err);
            if (rc != GP_OK)
                return rc;
            continue;
        }
        uint64_t len = r->shape[i];
        uint64_t start = clamp_bound(r->slice_from[i], len, 0);
        uint64_t stop = clamp_bound(r->slice_to[i], len, len);
        r->part_start[i] = start;
        r->piece_len[i] = stop > start ? stop - start : 0; /* numpy: an empty axis */
    }
    return GP_OK;
}

/* One description per set of elements: adjacent pieces are one piece, an
 * empty axis is one empty piece, and an empty part starts at 0 everywhere. */
static void normalise(gp_request *r)
{
    uint64_t numel = 1;
    for (size_t i = 0; i < r->rank; i++) {
        if (r->piece_len[i] == 0 || r->piece_step[i] == r->piece_len[i]) {
            r->piece_len[i] *= r->piece_count[i]; /* <= shape[i]: the pieces lie in the axis */
            r->piece_count[i] = 1;
        }
        if (r->piece_count[i] == 1)
            r->piece_step[i] = 0;
        r->out_shape[i] = r->piece_count[i] * r->piece_len[i];
        numel *= r->out_shape[i]; /* <= the full numel, which fits */
    }
    for (size_t i = 0; numel == 0 && i < r->rank; i++) {
        r->part_start[i] = 0;
        r->piece_len[i] = r->out_shape[i];
        r->piece_count[i] = 1;
        r->piece_step[i] = 0;
    }
    r->out_numel = numel;
}

static size_t part_text_len(const gp_request *r);

gp_code gpi_resolve_part(gp_request *r, const int given[3], gp_error *err)
{
    gp_code rc = GP_OK;
    if (r->slice_axes > 0 && r->shard_count > 0)
        return gp_fail(err, GP_EPARAM, "shard",
                       "shard: cannot be combined with slice; give one of them");
    static const char *const needs_shard[] = {"axis", "split", "stride"};
    for (size_t k = 0; k < 3; k++)
        if (given[k] && r->shard_count == 0)
            return gp_fail(err, GP_EPARAM, needs_shard[k], "%s: only applies together with shard",
                           needs_shard[k]);
    for (size_t i = 0; i < r->rank; i++) {
        r->part_start[i] = 0;
        r->piece_len[i] = r->shape[i];
        r->piece_count[i] = 1;
        r->piece_step[i] = 0;
    }
    if (r->slice_axes > 0)
        rc = resolve_slice(r, err);
    else if (r->shard_count > 0)
        rc = gpi_resolve_shards(r, err);
    if (rc != GP_OK)
        return rc;
    normalise(r);
    r->partial = 0;
    for (size_t i = 0; i < r->rank; i++) {
        r->part_stop[i] =
            r->part_start[i] + (r->piece_count[i] - 1) * r->piece_step[i] + r->piece_len[i];
        if (r->part_start[i] != 0 || r->out_shape[i] != r->shape[i])
            r->partial = 1;
    }
    r->out_nbytes = r->out_numel * gp_dtype_size(r->dtype); /* <= the full nbytes */
    if (part_text_len(r) >= GP_PART_TEXT_MAX)
        return gp_fail(err, GP_EPARAM, r->shard_count > 0 ? "stride" : "slice",
                       "%s: the part has too many pieces to describe in %d characters; use "
                       "fewer strided axes or a smaller stride",
                       r->shard_count > 0 ? "stride" : "slice", GP_PART_TEXT_MAX - 1);
    return GP_OK;
}

/* ---- text ------------------------------------------------------------------------ */

static size_t digits(uint64_t v)
{
    size_t n = 1;
    for (; v >= 10; v /= 10)
        n++;
    return n;
}

/* The length of gp_part_text's text, computed without writing it. */
static size_t part_text_len(const gp_request *r)
{
    size_t len = r->rank > 0 ? r->rank - 1 : 0;
    for (size_t i = 0; i < r->rank; i++)
        for (uint64_t j = 0; j < r->piece_count[i]; j++) {
            uint64_t a = r->part_start[i] + j * r->piece_step[i];
            len += (j > 0) + digits(a) + 1 + digits(a + r->piece_len[i]);
        }
    return len;
}

size_t gp_part_text(const gp_request *r, char *out, size_t size)
{
    unsigned char mem[GP_PART_TEXT_MAX];
    gpi_text t;
    gpi_text_init(&t, mem, sizeof mem);
    for (size_t i = 0; i < r->rank; i++) {
        if (i > 0)
            gpi_text_str(&t, ",");
        for (uint64_t j = 0; j < r->piece_count[i]; j++) {
            uint64_t a = r->part_start[i] + j * r->piece_step[i];
            if (j > 0)
                gpi_text_str(&t, ";");
            gpi_text_u64(&t, a);
            gpi_text_str(&t, ":");
            gpi_text_u64(&t, a + r->piece_len[i]);
        }
    }
    gpi_text_export(&t, out, size); /* a finished request's text always fits mem */
    return part_text_len(r);
}
