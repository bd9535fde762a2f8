/*
 * body.c - a response body as a random-access byte sequence: an optional
 * format header followed by the tensor's little-endian values.
 *
 * Binary formats (raw, npy, safetensors) are header ++ data, so any byte
 * range can be produced directly: that is what streaming, byte ranges and
 * resumed downloads are built on. Partial elements at either end of a range
 * are generated into a small scratch value and copied.
 *
 * The data of a slice or shard are runs of consecutive elements of the full
 * tensor: one piece of the innermost partial axis with every whole axis
 * inside it makes one run (a strided shard has several pieces on an axis,
 * so several runs per row). A byte offset maps to a body element, that to
 * its run and the run's multi-index to a flat index in the full tensor, so
 * any range of a part is produced directly too, at a cost in proportion to
 * its length. The whole tensor is a single run; an empty part has none.
 */
#include "format/body_internal.h"
#include "glorot_proto.h"

#include <stddef.h>
#include <string.h>

static int axis_whole(const gp_request *r, size_t i)
{
    return r->part_start[i] == 0 && r->piece_count[i] == 1 && r->piece_len[i] == r->shape[i];
}

static void plan_runs(gp_body *b)
{
    const gp_request *r = &b->req;
    uint64_t stride = 1;
    for (size_t i = r->rank; i-- > 0;) {
        b->stride[i] = stride;
        stride *= r->shape[i]; /* ends at numel, which fits */
    }
    size_t k = r->rank - 1;
    while (k > 0 && axis_whole(r, k))
        k--;
    b->run_axis = k;
    b->run_len = r->piece_len[k] * b->stride[k]; /* 0 for an empty part: never read */
}

/* Position in the full tensor of element j (0-based) of the part along axis i. */
static uint64_t axis_coord(const gp_request *r, size_t i, uint64_t j)
{
    uint64_t piece = j / r->piece_len[i];
    return r->part_start[i] + piece * r->piece_step[i] + j % r->piece_len[i];
}

/* Flat index in the full tensor of body element o; *left = elements from
 * there to the end of its run. o < out_numel, so no length is 0. */
static uint64_t flat_index(const gp_body *b, uint64_t o, uint64_t *left)
{
    const gp_request *r = &b->req;
    size_t k = b->run_axis;
    uint64_t run = o / b->run_len, within = o % b->run_len;
    uint64_t piece = run % r->piece_count[k];
    uint64_t flat = (r->part_start[k] + piece * r->piece_step[k]) * b->stride[k] + within;
    run /= r->piece_count[k];
    for (size_t i = k; i-- > 0;) {
        flat += axis_coord(r, i, run % r->out_shape[i]) * b->stride[i];
        run /= r->out_shape[i];
    }
    *left = b->run_len - within;
    return flat;
}

void gpi_body_fill(const gp_body *b, uint64_t first, size_t count, void *out)
{
    unsigned char *p = out;
    size_t es = gp_dtype_size(b->gen.dtype);
    while (count > 0) {
        uint64_t left;
        uint64_t flat = flat_index(b, first, &left);
        size_t n = left < count ? (size_t)left : count;
        gp_gen_fill(&b->gen, flat, n, p);
        p += n * es;
        first += n;
        count -= n;
    }
}

/* gp_body_init clears up to offsetof(gp_body, header): the buffers must be
 * the last fields, or a field added after them would start uncleared. */
_Static_assert(offsetof(gp_body, pending) == offsetof(gp_body, header) + GP_HEADER_MAX &&
                   sizeof(gp_body) - offsetof(gp_body, pending) - GP_HEADER_MAX < _Alignof(gp_body),
               "gp_body: header and pending must be its last fields");

gp_code gp_body_init(gp_body *b, const gp_request *r, gp_error *err)
{
    if (!r->finished)
        return gp_fail(err, GP_EINTERNAL, "", "request used before gp_request_finish");
    memset(b, 0, offsetof(gp_body, header)); /* the 8 KiB of buffers: see gp_body */
    b->req = *r;
    b->format = r->format;
    gp_code rc = gp_gen_init(&b->gen, r, err);
    if (rc != GP_OK)
        return rc;
    plan_runs(b);
    switch (b->format) {
    case GP_FORMAT_RAW:
        rc = GP_OK;
        break;
    case GP_FORMAT_NPY:
        rc = gpi_npy_header(b, err);
        break;
    case GP_FORMAT_SAFETENSORS:
        rc = gpi_safetensors_header(b, err);
        break;
    case GP_FORMAT_JSON:
        rc = gpi_json_init(b, err);
        break;
    }
    if (rc != GP_OK)
        return rc;
    if (b->format == GP_FORMAT_JSON) {
        b->size = GP_SIZE_UNKNOWN;
        return GP_OK;
    }
    b->data_offset = b->header_len;
    b->size = b->data_offset + r->out_nbytes;
    return GP_OK;
}

uint64_t gp_body_size(const gp_body *b)
{
    return b->size;
}

/* Copy bytes [from, from + len) of element `index` (0 <= from < es). */
static size_t copy_partial(const gp_body *b, uint64_t index, size_t from, size_t len,
                           unsigned char *out)
{
    unsigned char one[8];
    size_t es = gp_dtype_size(b->gen.dtype);
    gpi_body_fill(b, index, 1, one);
    if (len > es - from)
        len = es - from;
    memcpy(out, one + from, len);
    return len;
}

/* Tensor bytes [pos, pos + len) relative to the start of the data. */
static void read_data(const gp_body *b, uint64_t pos, unsigned char *out, size_t len)
{
    size_t es = gp_dtype_size(b->gen.dtype);
    uint64_t index = pos / es;
    size_t skew = (size_t)(pos % es);
    if (skew != 0) {
        size_t n = copy_partial(b, index, skew, len, out);
        out += n;
        len -= n;
        index++;
    }
    size_t whole = len / es;
    if (whole > 0)
        gpi_body_fill(b, index, whole, out);
    out += whole * es;
    len -= whole * es;
    if (len > 0)
        copy_partial(b, index + whole, 0, len, out);
}

size_t gpi_read_prefixed(const unsigned char *header, uint64_t header_len, uint64_t size,
                         uint64_t offset, unsigned char *out, size_t len, gpi_data_fn data,
                         void *ctx)
{
    if (offset >= size)
        return 0;
    if (len > size - offset)
        len = (size_t)(size - offset);
    size_t done = 0;
    if (offset < header_len) {
        size_t n = (size_t)(header_len - offset);
        if (n > len)
            n = len;
        memcpy(out, header + offset, n);
        done = n;
    }
    if (done < len)
        done += data(ctx, offset + done - header_len, out + done, len - done);
    return done;
}

static size_t body_data(void *ctx, uint64_t pos, unsigned char *out, size_t n)
{
    read_data(ctx, pos, out, n);
    return n;
}

size_t gp_body_read(gp_body *b, uint64_t offset, void *buf, size_t len)
{
    if (b->format == GP_FORMAT_JSON)
        return gpi_json_read(b, offset, buf, len);
    return gpi_read_prefixed(b->header, b->data_offset, b->size, offset, buf, len, body_data, b);
}

uint64_t gpi_element_starts(uint64_t start, uint64_t end, uint64_t es)
{
    return (end + es - 1) / es - (start + es - 1) / es;
}

void gp_body_elements_each(gp_body *b, uint64_t pos, size_t n, gp_elements_fn fn, void *user)
{
    uint64_t count;
    if (b->format == GP_FORMAT_JSON) {
        count = b->json_next - b->json_counted;
        b->json_counted = b->json_next;
    } else {
        uint64_t es = gp_dtype_size(b->req.dtype), lo = b->data_offset;
        uint64_t start = pos > lo ? pos - lo : 0;
        uint64_t end = pos + n > lo ? pos + n - lo : 0;
        count = gpi_element_starts(start, end, es);
    }
    if (count > 0)
        fn(user, &b->req, count);
}
