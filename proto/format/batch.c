/*
 * batch.c - a whole model in one answer: the safetensors file (or json
 * array) of a parsed manifest (manifest.c).
 *
 * safetensors: le64 N, N bytes of JSON header (padded with spaces to a
 * multiple of 8), then every tensor's bytes back to back in manifest order.
 * The header holds each tensor's dtype, shape of the part sent and
 * data_offsets, and a __metadata__ object of strings: format ("pt", for
 * transformers' loader; see format_internal.h), generator, tensors
 * (the count) and, per tensor, "glorot.<index>" = its canonical form (the
 * query that asks /v1/glorot_uniform for exactly its bytes). Every offset is
 * known before any value is generated, so any byte range is produced
 * directly: a binary search finds the tensor, a gp_body (raw) for it - the
 * one cached at a time - produces its bytes.
 *
 * json: "[" obj0 "," obj1 ... "]\n", each object the per-tensor KServe json
 * body of format=json, streamed front to back.
 *
 * Memory per batch: one record (a finished gp_request) per tensor, the
 * header, and one gp_body.
 */
#include "format/body_internal.h"
#include "format/format_internal.h"
#include "request/batch_internal.h"
#include "request/request_internal.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Bump when the answer's bytes change for the same manifest (2: the
 * metadata's "format":"pt"). */
#define ETAG_LAYOUT "glorotd-batch-etag-2"
/* A tensor's header entry: its canonical form in the metadata, its escaped
 * name twice at most (key, canonical), shape, offsets and punctuation. */
#define ENTRY_MAX (GP_CANONICAL_MAX + 6 * GP_MAX_NAME + GP_MAX_RANK * 21 + 128)

/* ---- the safetensors header ----------------------------------------------- */

static gp_code metadata(gpi_text *t, const gp_batch *b, gp_error *err)
{
    gpi_text_str(t, "\"__metadata__\":{");
    gpi_text_str(t, GPI_ST_FORMAT_PT);
    gpi_text_str(t, ",\"generator\":\"glorotd\",\"tensors\":\"");
    gpi_text_u64(t, b->count);
    gpi_text_str(t, "\"");
    for (size_t i = 0; i < b->count; i++) {
        char canon[GP_CANONICAL_MAX];
        gp_code rc = gp_canonical(&b->tensors[i].r, canon, sizeof canon, err);
        if (rc != GP_OK)
            return rc;
        gpi_text_str(t, ",\"glorot.");
        gpi_text_u64(t, i);
        gpi_text_str(t, "\":\"");
        gpi_text_str(t, canon); /* printable ASCII without '"' or '\' */
        gpi_text_str(t, "\"");
    }
    gpi_text_str(t, "}");
    return GP_OK;
}

static gp_code entry(gpi_text *t, const gpi_batch_tensor *x, gp_error *err)
{
    gpi_text_str(t, ",");
    return gpi_safetensors_entry(t, &x->r, x->offset, err);
}

static gp_code build_header(gp_batch *b, gp_error *err)
{
    if (b->count > (SIZE_MAX - 4096) / ENTRY_MAX)
        return gp_fail(err, GP_ELIMIT, "tensors", "too many tensors for one header");
    size_t cap = 4096 + b->count * ENTRY_MAX;
    b->header = malloc(cap);
    if (b->header == NULL)
        return gp_fail(err, GP_ENOMEM, "", "out of memory for a %zu-byte header", cap);
    gpi_text t;
    gpi_text_init(&t, b->header + 8, cap - 8);
    gpi_text_str(&t, "{");
    gp_code rc = metadata(&t, b, err);
    for (size_t i = 0; rc == GP_OK && i < b->count; i++)
        rc = entry(&t, &b->tensors[i], err);
    if (rc != GP_OK)
        return rc;
    b->header_len = gpi_safetensors_finish(&t, b->header);
    if (b->header_len == 0)
        return gp_fail(err, GP_EINTERNAL, "", "batch header does not fit in %zu bytes", cap);
    unsigned char *shrunk = realloc(b->header, b->header_len);
    if (shrunk != NULL)
        b->header = shrunk;
    return GP_OK;
}

/* Offsets of every tensor, the total, and the caps on it. */
static gp_code layout(gp_batch *b, const gp_batch_limits *lim, gp_error *err)
{
    uint64_t off = 0, elements = 0;
    for (size_t i = 0; i < b->count; i++) {
        b->tensors[i].offset = off;
        if (gpi_add_u64(off, b->tensors[i].r.out_nbytes, &off) != 0 ||
            gpi_add_u64(elements, b->tensors[i].r.out_numel, &elements) != 0)
            return gp_fail(err, GP_ELIMIT, "tensors", "the batch's size overflows 64 bits");
    }
    b->data_bytes = off;
    if (b->format == GP_FORMAT_JSON) {
        b->size = GP_SIZE_UNKNOWN;
        if (lim && lim->max_json_elements != 0 && elements > lim->max_json_elements)
            return gp_fail(err, GP_ELIMIT, "format",
                           "format=json is limited to %" PRIu64 " elements in all (this batch has "
                           "%" PRIu64 "); use safetensors",
                           lim->max_json_elements, elements);
        return GP_OK;
    }
    gp_code rc = build_header(b, err);
    if (rc != GP_OK)
        return rc;
    if (gpi_add_u64(b->header_len, off, &b->size) != 0)
        return gp_fail(err, GP_ELIMIT, "tensors", "the batch's size overflows 64 bits");
    if (lim && lim->max_bytes != 0 && b->size > lim->max_bytes)
        return gp_fail(err, GP_ELIMIT, "tensors",
                       "the batch is %" PRIu64 " bytes, more than this server's cap of %" PRIu64
                       " (--max-batch-bytes)",
                       b->size, lim->max_bytes);
    return GP_OK;
}

static gp_code make_etag(gp_batch *b, gp_error *err)
{
    static const char hex[] = "0123456789abcdef";
    crypto_generichash_state st;
    unsigned char h[16];
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)ETAG_LAYOUT, strlen(ETAG_LAYOUT));
    const char *f = gp_format_name(b->format);
    crypto_generichash_update(&st, (const unsigned char *)f, strlen(f) + 1);
    for (size_t i = 0; i < b->count; i++) {
        char canon[GP_CANONICAL_MAX];
        unsigned char v = (unsigned char)gp_algorithm_version(b->tensors[i].r.algorithm);
        gp_code rc = gp_canonical(&b->tensors[i].r, canon, sizeof canon, err);
        if (rc != GP_OK)
            return rc;
        crypto_generichash_update(&st, (const unsigned char *)canon, strlen(canon) + 1);
        crypto_generichash_update(&st, &v, 1);
    }
    crypto_generichash_final(&st, h, sizeof h);
    b->etag[0] = '"';
    for (size_t i = 0; i < sizeof h; i++) {
        b->etag[1 + 2 * i] = hex[h[i] >> 4];
        b->etag[2 + 2 * i] = hex[h[i] & 15];
    }
    b->etag[1 + 2 * sizeof h] = '"';
    b->etag[2 + 2 * sizeof h] = '\0';
    return GP_OK;
}

/* ---- public API -------------------------------------------------------------- */

gp_code gp_batch_parse(const char *buf, size_t len, gp_format format, const gp_batch_limits *lim,
                       gp_batch **out, gp_error *err)
{
    *out = NULL;
    if (format != GP_FORMAT_SAFETENSORS && format != GP_FORMAT_JSON)
        return gp_fail(err, GP_EUNSUPPORTED, "format",
                       "format: a batch is answered as safetensors or json, not %s",
                       gp_format_name(format));
    if (gp_init() != 0)
        return gp_fail(err, GP_EINTERNAL, "", "libsodium cannot be initialised");
    gp_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return gp_fail(err, GP_ENOMEM, "", "out of memory for a batch");
    b->format = format;
    gp_code rc = gpi_manifest_parse(b, buf, len, lim, err);
    if (rc == GP_OK)
        rc = layout(b, lim, err);
    if (rc == GP_OK)
        rc = make_etag(b, err);
    if (rc != GP_OK) {
        gp_batch_free(b);
        return rc;
    }
    b->punct[0] = '[';
    b->punct_len = 1;
    *out = b;
    return GP_OK;
}

void gp_batch_free(gp_batch *b)
{
    if (b == NULL)
        return;
    free(b->tensors);
    free(b->header);
    free(b);
}

uint64_t gp_batch_size(const gp_batch *b)
{
    return b->size;
}

size_t gp_batch_count(const gp_batch *b)
{
    return b->count;
}

const gp_request *gp_batch_tensor(const gp_batch *b, size_t i)
{
    return i < b->count ? &b->tensors[i].r : NULL;
}

gp_format gp_batch_format(const gp_batch *b)
{
    return b->format;
}

const char *gp_batch_etag(const gp_batch *b)
{
    return b->etag;
}

/* ---- reading ----------------------------------------------------------------- */

/* Make b->cur the body of tensor i in format f. */
static int select_tensor(gp_batch *b, size_t i, gp_format f)
{
    if (b->cur_valid && b->cur_index == i)
        return 0;
    gp_request r = b->tensors[i].r;
    r.format = f;
    b->cur_valid = 0;
    if (gp_body_init(&b->cur, &r, NULL) != GP_OK)
        return -1; /* cannot happen: the request was finished */
    b->cur_index = i;
    b->cur_valid = 1;
    return 0;
}

/* The tensor whose bytes contain data offset pos (pos < data_bytes). */
static size_t find_tensor(const gp_batch *b, uint64_t pos)
{
    size_t lo = 0, hi = b->count; /* tensors[lo].offset <= pos < tensors[hi].offset */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->tensors[mid].offset <= pos)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static size_t read_data(gp_batch *b, uint64_t pos, unsigned char *out, size_t len)
{
    size_t done = 0;
    while (done < len && pos < b->data_bytes) {
        size_t i = find_tensor(b, pos);
        if (select_tensor(b, i, GP_FORMAT_RAW) != 0)
            break;
        size_t n = gp_body_read(&b->cur, pos - b->tensors[i].offset, out + done, len - done);
        if (n == 0)
            break;
        done += n;
        pos += n;
    }
    return done;
}

static size_t read_json(gp_batch *b, uint64_t offset, unsigned char *out, size_t len)
{
    if (offset != b->json_produced)
        return 0;
    size_t done = 0;
    while (done < len) {
        if (b->punct_pos < b->punct_len) {
            out[done++] = (unsigned char)b->punct[b->punct_pos++];
            continue;
        }
        if (b->json_closed)
            break;
        size_t i = b->cur_valid ? b->cur_index : 0;
        if (!b->cur_valid && select_tensor(b, 0, GP_FORMAT_JSON) != 0)
            break;
        size_t n = gp_body_read(&b->cur, b->json_cur_pos, out + done, len - done);
        b->json_cur_pos += n;
        done += n;
        if (n > 0)
            continue;
        b->punct_pos = 0;
        b->punct_len = i + 1 < b->count ? 1 : 2;
        memcpy(b->punct, i + 1 < b->count ? "," : "]\n", b->punct_len);
        if (i + 1 < b->count) {
            b->json_cur_pos = 0;
            if (select_tensor(b, i + 1, GP_FORMAT_JSON) != 0)
                break;
        } else {
            b->json_closed = 1;
        }
    }
    b->json_produced += done;
    return done;
}

static size_t batch_data(void *ctx, uint64_t pos, unsigned char *out, size_t n)
{
    return read_data(ctx, pos, out, n);
}

size_t gp_batch_read(gp_batch *b, uint64_t offset, void *buf, size_t len)
{
    if (b->format == GP_FORMAT_JSON)
        return read_json(b, offset, buf, len);
    return gpi_read_prefixed(b->header, b->header_len, b->size, offset, buf, len, batch_data, b);
}

/* json: the tensors are printed in order, one body at a time (b->cur), so
 * every tensor before the current one is complete and the current one has
 * printed cur.json_next elements. Report what was not reported yet. */
static void json_elements_each(gp_batch *b, gp_elements_fn fn, void *user)
{
    size_t now = b->json_closed ? b->count : b->cur_valid ? b->cur_index : 0;
    for (size_t i = b->json_counted_index; i <= now && i < b->count; i++) {
        uint64_t printed = i < now        ? b->tensors[i].r.out_numel
                           : b->cur_valid ? b->cur.json_next
                                          : 0; /* only the opening bracket so far */
        uint64_t before = i == b->json_counted_index ? b->json_counted_done : 0;
        if (printed > before)
            fn(user, &b->tensors[i].r, printed - before);
        b->json_counted_index = i;
        b->json_counted_done = printed;
    }
}

void gp_batch_elements_each(gp_batch *b, uint64_t pos, size_t n, gp_elements_fn fn, void *user)
{
    if (n == 0)
        return;
    if (b->format == GP_FORMAT_JSON) {
        json_elements_each(b, fn, user);
        return;
    }
    if (pos + n <= b->header_len)
        return;
    uint64_t start = pos > b->header_len ? pos - b->header_len : 0;
    uint64_t end = pos + n - b->header_len;
    for (size_t i = find_tensor(b, start); i < b->count && b->tensors[i].offset < end; i++) {
        uint64_t lo = b->tensors[i].offset, es = gp_dtype_size(b->tensors[i].r.dtype);
        uint64_t hi = lo + b->tensors[i].r.out_nbytes;
        uint64_t s = start > lo ? start - lo : 0, e = (end < hi ? end : hi) - lo;
        uint64_t count = gpi_element_starts(s, e, es);
        if (count > 0)
            fn(user, &b->tensors[i].r, count);
    }
}
