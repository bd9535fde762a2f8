/*
 * batch.c - glorot_batch_fetch and glorot_batch_stream: one manifest POSTed
 * to /v1/batch, one safetensors answer taken apart as it arrives.
 *
 * The HTTP side (POST, retries, Range + If-Range resume on the server's
 * ETag) is transfer.c's; this file is the sink. The body arrives in order,
 * each byte once (also across resumed attempts): le64 N, N bytes of JSON
 * header, then the tensors back to back. The header is collected whole,
 * parsed with jansson and checked strictly (known dtypes, sizes equal to
 * shape times element size, offsets contiguous from 0 and ending exactly at
 * the body's Content-Length) before any tensor byte is handed on; buffers
 * are matched to tensors by name and checked at the same moment.
 */
#include "client_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX (64u * 1024u * 1024u)
#define NAME_MAX_BYTES 256
#define NO_BUFFER ((size_t)-1)

typedef struct {
    /* where bytes go: buffers (bufs) or a callback (fn) */
    const glorot_batch_buffer *bufs;
    size_t nbufs;
    unsigned flags;
    glorot_batch_fn fn;
    void *user;
    int json;               /* a json answer: handed over as it comes */
    glorotp_headers answer; /* the accepted answer's headers (transfer.c fills them) */
    /* the safetensors layout */
    unsigned char len8[8];
    uint64_t data_start;   /* 8 + N once the first 8 bytes are in, else 0 */
    unsigned char *header; /* the first data_start bytes of the body, length prefix included */
    int parsed;
    glorot_batch_tensor *tensors;
    size_t count;
    size_t *buf_of; /* per tensor: its buffer's index, or NO_BUFFER */
    size_t cur;     /* the tensor being received */
    uint64_t data_end;
    glorot_error failure; /* why the sink stopped the transfer */
} batch_rx;

void glorot_batch_request_init(glorot_batch_request *breq)
{
    if (breq != NULL)
        memset(breq, 0, sizeof *breq);
}

/* ---- the manifest sent ------------------------------------------------------------ */

static int set_u64(json_t *obj, const char *key, uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? -1
                                   : json_object_set_new(obj, key, json_integer((json_int_t)v));
}

/* The override as the protocol reads it, checked by the proto library
 * exactly as the server will (a scratch request with a shape of 8 axes, so
 * any axis is in range: the manifest's tensors are checked by the server). */
static glorot_code override_request(const glorot_batch_request *breq, gp_request *r,
                                    glorot_error *err)
{
    char text[48];
    const char *shard = breq->shard_spec, *axis = breq->axis_spec;
    gp_request_init(r);
    if (shard == NULL) {
        snprintf(text, sizeof text, "%llu/%llu", (unsigned long long)breq->shard_rank,
                 (unsigned long long)breq->shard_world);
        shard = text;
    }
    const char *keys[] = {"shard", "split", "stride"};
    const char *values[] = {shard, breq->split, breq->stride};
    for (size_t i = 0; i < 3; i++) {
        gp_error g = {0};
        if (values[i] != NULL &&
            gp_request_set(r, keys[i], strlen(keys[i]), values[i], strlen(values[i]), &g) != GP_OK)
            return glorotp_from_gp(err, &g);
    }
    char axis_text[24];
    if (axis == NULL && breq->axis_set) {
        snprintf(axis_text, sizeof axis_text, "%lld", (long long)breq->axis);
        axis = axis_text;
    }
    gp_error g = {0};
    if (axis != NULL && gp_request_set(r, "axis", 4, axis, strlen(axis), &g) != GP_OK)
        return glorotp_from_gp(err, &g);
    if (r->shard_count > 1 && r->axis_count != r->shard_count)
        return glorotp_fail(err, GLOROT_E_INVALID, "axis",
                            "%zu shards need %zu axes (axis_spec \"0,1\")", r->shard_count,
                            r->shard_count);
    if ((r->split_count > 1 && r->split_count != r->shard_count) ||
        (r->stride_count > 1 && r->stride_count != r->shard_count))
        return glorotp_fail(err, GLOROT_E_INVALID, "split",
                            "split and stride take one value for all shards or one per shard");
    return GLOROT_OK;
}

/* Shard k of r as a manifest object {"rank", "world", "axis", "split", "stride"};
 * old_axis (the manifest's, or NULL) when r has no axis. */
static json_t *shard_object(const gp_request *r, size_t k, json_t *old_axis)
{
    json_t *o = json_object();
    int bad = o == NULL || set_u64(o, "rank", r->shard_rank[k]) != 0 ||
              set_u64(o, "world", r->shard_world[k]) != 0;
    if (!bad && r->axis_count > 0)
        bad = json_object_set_new(o, "axis", json_integer((json_int_t)r->shard_axis[k])) != 0;
    else if (!bad && old_axis != NULL)
        bad = json_object_set(o, "axis", old_axis) != 0;
    if (!bad && r->split_count > 0)
        bad = json_object_set_new(
                  o, "split",
                  json_string(gp_split_name(r->shard_split[r->split_count == 1 ? 0 : k]))) != 0;
    if (!bad && r->stride_count > 0)
        bad = set_u64(o, "stride", r->shard_stride[r->stride_count == 1 ? 0 : k]) != 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The manifest's "shard" replaced by r's shards: one object, or a list. */
static int replace_shard(json_t *root, const gp_request *r)
{
    json_t *old = json_object_get(root, "shard");
    json_t *old_axis = json_is_object(old) ? json_object_get(old, "axis") : NULL;
    if (r->shard_count == 1) {
        json_t *o = shard_object(r, 0, old_axis);
        return o == NULL || json_object_set_new(root, "shard", o) != 0;
    }
    json_t *list = json_array();
    int bad = list == NULL;
    for (size_t k = 0; !bad && k < r->shard_count; k++) {
        json_t *o = shard_object(r, k, NULL);
        bad = o == NULL || json_array_append_new(list, o) != 0;
    }
    if (bad) {
        json_decref(list);
        return 1;
    }
    return json_object_set_new(root, "shard", list) != 0;
}

/* The manifest with breq's shard override, as compact JSON (malloc'ed). */
static glorot_code override_shard(const glorot_batch_request *breq, size_t len, char **out,
                                  glorot_error *err)
{
    gp_request r;
    glorot_code rc = override_request(breq, &r, err);
    if (rc != GLOROT_OK)
        return rc;
    json_error_t jerr;
    json_t *root = json_loadb(breq->manifest, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return glorotp_fail(err, GLOROT_E_INVALID, "manifest",
                            "the manifest is not a JSON object: %s",
                            root == NULL ? jerr.text : "another JSON value");
    }
    int bad = replace_shard(root, &r);
    *out = bad ? NULL : json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (*out == NULL)
        return glorotp_fail(err, bad ? GLOROT_E_INVALID : GLOROT_E_NOMEM, "shard",
                            bad ? "the shard rank and world must be at most 2^63-1"
                                : "out of memory for the manifest");
    return GLOROT_OK;
}

static int has_shard(const glorot_batch_request *breq)
{
    return breq->shard_world != 0 || breq->shard_spec != NULL;
}

/* The checks every batch call makes of breq before anything is sent. */
static glorot_code check_breq(const glorot_batch_request *breq, glorot_error *err)
{
    if (breq == NULL || breq->manifest == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "manifest", "request and manifest are required");
    for (size_t i = 0; i < sizeof breq->reserved / sizeof breq->reserved[0]; i++)
        if (breq->reserved[i] != 0)
            return glorotp_fail(err, GLOROT_E_INVALID, "reserved", "reserved fields must be zero");
    const char *f = breq->format;
    if (f != NULL && strcmp(f, "safetensors") != 0 && strcmp(f, "json") != 0)
        return glorotp_fail(err, GLOROT_E_INVALID, "format",
                            "a batch is safetensors or json, not '%.32s'", f);
    int shard = has_shard(breq);
    if ((breq->axis_set || breq->axis_spec) && !shard)
        return glorotp_fail(err, GLOROT_E_INVALID, "axis", "an axis needs shard_rank/shard_world");
    if ((breq->split || breq->stride) && !shard)
        return glorotp_fail(err, GLOROT_E_INVALID, breq->split ? "split" : "stride",
                            "split and stride need shard_rank/shard_world or shard_spec");
    if (breq->shard_spec != NULL && (breq->shard_world != 0 || breq->shard_rank != 0))
        return glorotp_fail(err, GLOROT_E_INVALID, "shard",
                            "give shard_spec or shard_rank/shard_world, not both");
    if (breq->axis_spec != NULL && breq->axis_set)
        return glorotp_fail(err, GLOROT_E_INVALID, "axis", "give axis_spec or axis, not both");
    return GLOROT_OK;
}

static size_t manifest_len(const glorot_batch_request *breq)
{
    return breq->manifest_len != 0 ? breq->manifest_len : strlen(breq->manifest);
}

glorot_code glorot_batch_manifest(const glorot_batch_request *breq, char **manifest,
                                  glorot_error *err)
{
    if (manifest == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "manifest", "manifest must not be NULL");
    *manifest = NULL;
    glorot_code rc = check_breq(breq, err);
    if (rc != GLOROT_OK)
        return rc;
    size_t len = manifest_len(breq);
    if (has_shard(breq))
        return override_shard(breq, len, manifest, err);
    *manifest = malloc(len + 1);
    if (*manifest == NULL)
        return glorotp_fail(err, GLOROT_E_NOMEM, "", "out of memory for the manifest");
    memcpy(*manifest, breq->manifest, len);
    (*manifest)[len] = '\0';
    return GLOROT_OK;
}

/* Check breq and fill the job's POST body (*owned: a copy to free, or NULL). */
static glorot_code prepare(glorot_client *c, const glorot_batch_request *breq, glorotp_job *job,
                           char **owned, glorot_error *err)
{
    *owned = NULL;
    if (c == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "manifest",
                            "client, request and manifest are required");
    glorot_code rc = check_breq(breq, err);
    if (rc != GLOROT_OK)
        return rc;
    const char *f = breq->format;
    size_t len = manifest_len(breq);
    memset(job, 0, sizeof *job);
    job->path = "/v1/batch";
    job->query = f != NULL && strcmp(f, "json") == 0 ? "format=json" : NULL;
    job->resumable = 1;
    job->capacity = UINT64_MAX;
    job->post_body = breq->manifest;
    job->post_len = len;
    if (!has_shard(breq))
        return GLOROT_OK;
    rc = override_shard(breq, len, owned, err);
    if (rc == GLOROT_OK) {
        job->post_body = *owned;
        job->post_len = strlen(*owned);
    }
    return rc;
}

/* ---- the safetensors header ------------------------------------------------------- */

static glorot_code bad_header(batch_rx *rx, const char *what, const char *name)
{
    return glorotp_fail(&rx->failure, GLOROT_E_PROTOCOL, "",
                        "the batch's safetensors header is malformed: %s%s%.64s%s", what,
                        name[0] ? " (tensor '" : "", name, name[0] ? "')" : "");
}

static int get_u64(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* One "name": {"dtype", "shape", "data_offsets"} entry. */
static glorot_code parse_entry(batch_rx *rx, const char *key, json_t *v, glorot_batch_tensor *t)
{
    const char *dtype = NULL;
    json_t *shape = NULL, *offs = NULL;
    json_error_t jerr;
    size_t klen = strlen(key);
    if (klen == 0 || klen > NAME_MAX_BYTES)
        return bad_header(rx, "a tensor name is empty or longer than 256 bytes", "");
    memcpy(t->name, key, klen + 1);
    if (json_unpack_ex(v, &jerr, JSON_STRICT, "{s:s, s:o, s:o}", "dtype", &dtype, "shape", &shape,
                       "data_offsets", &offs) != 0)
        return bad_header(rx, "an entry is not {dtype, shape, data_offsets}", t->name);
    gp_dtype d;
    if (gp_dtype_from_tag(GP_TAG_SAFETENSORS, dtype, &d) != 0)
        return bad_header(rx, "unknown dtype", t->name);
    snprintf(t->dtype, sizeof t->dtype, "%s", gp_dtype_name(d));
    uint64_t es = gp_dtype_size(d);
    t->rank = json_array_size(shape);
    if (!json_is_array(shape) || t->rank == 0 || t->rank > GLOROT_MAX_RANK)
        return bad_header(rx, "the shape is not an array of 1 to 8 sizes", t->name);
    uint64_t bytes = es, begin = 0, end = 0;
    for (size_t i = 0; i < t->rank; i++) {
        if (get_u64(json_array_get(shape, i), &t->shape[i]) != 0)
            return bad_header(rx, "a shape entry is not a size", t->name);
        if (t->shape[i] != 0 && bytes > UINT64_MAX / t->shape[i])
            return bad_header(rx, "the shape overflows", t->name);
        bytes *= t->shape[i];
    }
    if (json_array_size(offs) != 2 || get_u64(json_array_get(offs, 0), &begin) != 0 ||
        get_u64(json_array_get(offs, 1), &end) != 0 || end < begin || end - begin != bytes)
        return bad_header(rx, "data_offsets are not [begin, begin + shape * element size]",
                          t->name);
    t->offset = begin;
    t->size = bytes;
    return GLOROT_OK;
}

static glorot_code check_metadata(batch_rx *rx, json_t *meta)
{
    const char *k;
    json_t *v;
    if (!json_is_object(meta))
        return bad_header(rx, "__metadata__ is not an object", "");
    json_object_foreach(meta, k, v)
    {
        if (!json_is_string(v))
            return bad_header(rx, "__metadata__ holds a value that is not a string", k);
    }
    return GLOROT_OK;
}

static int by_offset(const void *a, const void *b)
{
    const glorot_batch_tensor *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Entries in data order, contiguous from 0, ending at the body's end. */
static glorot_code check_layout(batch_rx *rx)
{
    uint64_t at = 0, body = 0;
    qsort(rx->tensors, rx->count, sizeof rx->tensors[0], by_offset);
    for (size_t i = 0; i < rx->count; i++) {
        if (rx->tensors[i].offset != at)
            return bad_header(rx, "tensor data is not contiguous from offset 0",
                              rx->tensors[i].name);
        at += rx->tensors[i].size;
        if (at > UINT64_MAX - rx->data_start)
            return bad_header(rx, "the tensors overflow", "");
    }
    rx->data_end = at;
    if (glorotp_content_length(&rx->answer, &body) != 1)
        return glorotp_fail(&rx->failure, GLOROT_E_PROTOCOL, "",
                            "the batch answer has no valid Content-Length");
    if (body != rx->data_start + at)
        return bad_header(rx, "the tensors do not end where the body ends", "");
    return GLOROT_OK;
}

static glorot_code parse_header(batch_rx *rx)
{
    json_error_t jerr;
    const char *key;
    json_t *v;
    glorot_code rc = GLOROT_OK;
    size_t n = 0;
    json_t *root = json_loadb((const char *)rx->header + 8, (size_t)(rx->data_start - 8),
                              JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return bad_header(rx, root == NULL ? jerr.text : "not a JSON object", "");
    }
    rx->count = json_object_size(root) - (json_object_get(root, "__metadata__") != NULL);
    rx->tensors = calloc(rx->count ? rx->count : 1, sizeof *rx->tensors);
    rx->buf_of = calloc(rx->count ? rx->count : 1, sizeof *rx->buf_of);
    if (rx->tensors == NULL || rx->buf_of == NULL)
        rc = glorotp_fail(&rx->failure, GLOROT_E_NOMEM, "", "out of memory for the batch header");
    json_object_foreach(root, key, v)
    {
        if (rc != GLOROT_OK)
            break;
        if (strcmp(key, "__metadata__") == 0)
            rc = check_metadata(rx, v);
        else
            rc = parse_entry(rx, key, v, &rx->tensors[n++]);
    }
    json_decref(root);
    return rc != GLOROT_OK ? rc : check_layout(rx);
}

/* ---- buffers ------------------------------------------------------------------------ */

static size_t find_buffer(const batch_rx *rx, const char *name)
{
    for (size_t j = 0; j < rx->nbufs; j++)
        if (strcmp(rx->bufs[j].name, name) == 0)
            return j;
    return NO_BUFFER;
}

/* Every tensor has a big enough buffer (or may be skipped); every buffer a tensor. */
static glorot_code match_buffers(batch_rx *rx)
{
    for (size_t i = 0; i < rx->count; i++) {
        const glorot_batch_tensor *t = &rx->tensors[i];
        size_t j = rx->buf_of[i] = find_buffer(rx, t->name);
        if (j == NO_BUFFER && !(rx->flags & GLOROT_BATCH_SKIP_UNLISTED))
            return glorotp_fail(&rx->failure, GLOROT_E_BUFFER, "",
                                "tensor %zu '%.64s' (%llu bytes) has no buffer", i, t->name,
                                (unsigned long long)t->size);
        if (j != NO_BUFFER && rx->bufs[j].size < t->size)
            return glorotp_fail(&rx->failure, GLOROT_E_BUFFER, "",
                                "tensor %zu '%.64s' is %llu bytes; buffers[%zu] holds %zu", i,
                                t->name, (unsigned long long)t->size, j, rx->bufs[j].size);
    }
    for (size_t j = 0; j < rx->nbufs; j++) {
        int used = 0;
        for (size_t i = 0; i < rx->count && !used; i++)
            used = rx->buf_of[i] == j;
        if (!used)
            return glorotp_fail(&rx->failure, GLOROT_E_INVALID, "buffers",
                                "buffers[%zu] '%.64s' names no tensor of the answer", j,
                                rx->bufs[j].name);
    }
    return GLOROT_OK;
}

static glorot_code check_buffers(const glorot_batch_buffer *bufs, size_t nbufs, glorot_error *err)
{
    if (bufs == NULL && nbufs != 0)
        return glorotp_fail(err, GLOROT_E_INVALID, "buffers", "buffers is NULL");
    for (size_t j = 0; j < nbufs; j++) {
        if (bufs[j].name == NULL || (bufs[j].buf == NULL && bufs[j].size != 0))
            return glorotp_fail(err, GLOROT_E_INVALID, "buffers",
                                "buffers[%zu] has no name or a NULL buffer", j);
        for (size_t k = 0; k < j; k++)
            if (strcmp(bufs[k].name, bufs[j].name) == 0)
                return glorotp_fail(err, GLOROT_E_INVALID, "buffers",
                                    "buffers[%zu] and buffers[%zu] both name '%.64s'", k, j,
                                    bufs[j].name);
    }
    return GLOROT_OK;
}

/* ---- the sink ------------------------------------------------------------------------ */

static int hand_over(batch_rx *rx, size_t index, uint64_t offset, uint64_t body_offset,
                     const void *data, size_t len)
{
    if (rx->fn != NULL) {
        glorot_batch_chunk ch = {index,  index == GLOROT_BATCH_HEADER ? NULL : &rx->tensors[index],
                                 offset, body_offset,
                                 data,   len};
        return rx->fn(rx->user, &ch);
    }
    size_t j = index == GLOROT_BATCH_HEADER ? NO_BUFFER : rx->buf_of[index];
    if (j != NO_BUFFER)
        memcpy((unsigned char *)rx->bufs[j].buf + offset, data, len);
    return 0;
}

/* The 8-byte length prefix is complete: size the header. */
static glorot_code start_header(batch_rx *rx)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | rx->len8[i];
    if (n < 2 || n > HEADER_MAX)
        return glorotp_fail(&rx->failure, GLOROT_E_PROTOCOL, "",
                            "the batch's safetensors header length %llu is not in 2..%u",
                            (unsigned long long)n, HEADER_MAX);
    rx->header = malloc((size_t)(8 + n));
    if (rx->header == NULL)
        return glorotp_fail(&rx->failure, GLOROT_E_NOMEM, "", "out of memory for the header");
    memcpy(rx->header, rx->len8, 8);
    rx->data_start = 8 + n;
    return GLOROT_OK;
}

/* Header bytes up to data_start; returns how many of len were taken, or -1. */
static int take_header(batch_rx *rx, uint64_t offset, const unsigned char *data, size_t len,
                       size_t *taken)
{
    size_t n;
    if (offset < 8) {
        n = len < 8 - offset ? len : (size_t)(8 - offset);
        memcpy(rx->len8 + offset, data, n);
        *taken = n;
        return offset + n == 8 && start_header(rx) != GLOROT_OK ? -1 : 0;
    }
    n = len < rx->data_start - offset ? len : (size_t)(rx->data_start - offset);
    memcpy(rx->header + offset, data, n);
    *taken = n;
    if (offset + n < rx->data_start)
        return 0;
    if (parse_header(rx) != GLOROT_OK || (rx->fn == NULL && match_buffers(rx) != GLOROT_OK))
        return -1;
    rx->parsed = 1;
    if (hand_over(rx, GLOROT_BATCH_HEADER, 0, 0, rx->header, (size_t)rx->data_start) != 0) {
        glorotp_fail(&rx->failure, GLOROT_E_ABORTED, "",
                     "the chunk callback stopped the batch at its header");
        return -1;
    }
    return 0;
}

/* Tensor bytes at data position pos; returns how many of len were taken, or -1. */
static int take_data(batch_rx *rx, uint64_t pos, const unsigned char *data, size_t len,
                     size_t *taken)
{
    while (rx->cur < rx->count && pos >= rx->tensors[rx->cur].offset + rx->tensors[rx->cur].size)
        rx->cur++;
    if (rx->cur >= rx->count) {
        glorotp_fail(&rx->failure, GLOROT_E_PROTOCOL, "",
                     "the batch answer is longer than its header says");
        return -1;
    }
    const glorot_batch_tensor *t = &rx->tensors[rx->cur];
    uint64_t within = pos - t->offset, left = t->size - within;
    size_t n = len < left ? len : (size_t)left;
    *taken = n;
    if (hand_over(rx, rx->cur, within, rx->data_start + pos, data, n) != 0) {
        glorotp_fail(&rx->failure, GLOROT_E_ABORTED, "",
                     "the chunk callback stopped the batch in tensor %zu '%.64s'", rx->cur,
                     t->name);
        return -1;
    }
    return 0;
}

static int on_bytes(void *user, uint64_t offset, const void *data, size_t len)
{
    batch_rx *rx = user;
    const unsigned char *p = data;
    if (rx->json) {
        glorot_batch_chunk ch = {GLOROT_BATCH_HEADER, NULL, offset, offset, data, len};
        return rx->fn(rx->user, &ch);
    }
    while (len > 0) {
        size_t taken = 0;
        int rc = !rx->parsed ? take_header(rx, offset, p, len, &taken)
                             : take_data(rx, offset - rx->data_start, p, len, &taken);
        if (rc != 0)
            return 1;
        offset += taken;
        p += taken;
        len -= taken;
    }
    return 0;
}

/* ---- the calls ------------------------------------------------------------------------ */

static glorot_code fill_info(batch_rx *rx, uint64_t delivered, glorot_batch_info *info,
                             glorot_error *err)
{
    const glorotp_headers *h = &rx->answer;
    uint64_t seed = 0;
    const char *etag = h->value[GLOROTP_H_ETAG];
    if (!rx->json && (!rx->parsed || delivered != rx->data_start + rx->data_end))
        return glorotp_fail(err, GLOROT_E_PROTOCOL, "",
                            "the batch answer ended after %llu bytes, before its tensors did",
                            (unsigned long long)delivered);
    if (!h->seen[GLOROTP_H_SEED] ||
        gp_parse_u64(h->value[GLOROTP_H_SEED], strlen(h->value[GLOROTP_H_SEED]), 0, UINT64_MAX,
                     GLOROTP_U64_LEN, &seed) != GP_U64_OK ||
        !h->seen[GLOROTP_H_ETAG] || strlen(etag) >= sizeof info->etag)
        return glorotp_fail(err, GLOROT_E_PROTOCOL, "",
                            "the batch answer lacks a valid Glorot-Seed or ETag");
    if (info == NULL)
        return GLOROT_OK;
    info->seed = seed;
    memcpy(info->etag, etag, strlen(etag) + 1);
    info->size = delivered;
    info->header_size = rx->json ? 0 : rx->data_start;
    info->count = rx->count;
    info->tensors = rx->tensors;
    rx->tensors = NULL;
    return GLOROT_OK;
}

static glorot_code run(glorot_client *c, const glorot_batch_request *breq, batch_rx *rx,
                       glorot_batch_info *info, glorot_error *err)
{
    glorotp_job job;
    char *owned = NULL;
    uint64_t delivered = 0;
    glorot_error terr;
    memset(&terr, 0, sizeof terr);
    if (info != NULL)
        memset(info, 0, sizeof *info);
    glorot_code rc = prepare(c, breq, &job, &owned, err);
    if (rc == GLOROT_OK) {
        rx->json = job.query != NULL;
        job.answer = &rx->answer;
        job.sink = on_bytes;
        job.sink_user = rx;
        rc = glorotp_transfer(c, &job, NULL, &delivered, &terr);
        if (rc != GLOROT_OK && rx->failure.code != GLOROT_OK) {
            rx->failure.http_status = terr.http_status;
            terr = rx->failure; /* the sink's reason, not "the callback stopped" */
            rc = terr.code;
        }
        if (rc != GLOROT_OK && err != NULL && err->code == GLOROT_OK)
            glorotp_error_set(err, &terr);
        if (rc == GLOROT_OK)
            rc = fill_info(rx, delivered, info, err);
    }
    free(owned);
    free(rx->header);
    free(rx->tensors);
    free(rx->buf_of);
    return rc;
}

glorot_code glorot_batch_fetch(glorot_client *c, const glorot_batch_request *breq,
                               const glorot_batch_buffer *bufs, size_t nbufs, unsigned flags,
                               glorot_batch_info *info, glorot_error *err)
{
    batch_rx rx;
    memset(&rx, 0, sizeof rx);
    if (info != NULL)
        memset(info, 0, sizeof *info);
    if (breq != NULL && breq->format != NULL && strcmp(breq->format, "safetensors") != 0)
        return glorotp_fail(err, GLOROT_E_INVALID, "format",
                            "glorot_batch_fetch takes safetensors answers only");
    if (flags & ~GLOROT_BATCH_SKIP_UNLISTED)
        return glorotp_fail(err, GLOROT_E_INVALID, "flags", "unknown flags %#x", flags);
    glorot_code rc = check_buffers(bufs, nbufs, err);
    if (rc != GLOROT_OK)
        return rc;
    rx.bufs = bufs;
    rx.nbufs = nbufs;
    rx.flags = flags;
    return run(c, breq, &rx, info, err);
}

glorot_code glorot_batch_stream(glorot_client *c, const glorot_batch_request *breq,
                                glorot_batch_fn fn, void *user, glorot_batch_info *info,
                                glorot_error *err)
{
    batch_rx rx;
    memset(&rx, 0, sizeof rx);
    if (info != NULL)
        memset(info, 0, sizeof *info);
    if (fn == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "a chunk callback is required");
    rx.fn = fn;
    rx.user = user;
    return run(c, breq, &rx, info, err);
}

/* ---- local: the same tensors without a server -------------------------------------- */

/* breq's manifest (with its shard override) parsed by the proto library, as
 * the server does; json only when allow_json (a body to stream, not tensors). */
static glorot_code local_batch(const glorot_batch_request *breq, int allow_json, gp_batch **b,
                               glorot_error *err)
{
    *b = NULL;
    int json = breq != NULL && breq->format != NULL && strcmp(breq->format, "json") == 0;
    if (breq != NULL && breq->format != NULL && strcmp(breq->format, "safetensors") != 0 &&
        !(json && allow_json))
        return glorotp_fail(err, GLOROT_E_INVALID, "format",
                            "local batches are safetensors tensors; json comes from a server");
    char *text = NULL; /* the manifest with the shard override written in, as sent */
    glorot_code rc = glorot_batch_manifest(breq, &text, err);
    if (rc != GLOROT_OK)
        return rc;
    gp_error g = {0};
    if (gp_batch_parse(text, strlen(text), json ? GP_FORMAT_JSON : GP_FORMAT_SAFETENSORS, NULL, b,
                       &g) != GP_OK)
        rc = glorotp_from_gp(err, &g);
    free(text);
    return rc;
}

static void describe_tensor(const gp_request *r, uint64_t offset, glorot_batch_tensor *t)
{
    memcpy(t->name, r->name, r->name_len);
    t->name[r->name_len] = '\0';
    snprintf(t->dtype, sizeof t->dtype, "%s", gp_dtype_name(r->dtype));
    t->rank = r->rank;
    memcpy(t->shape, r->out_shape, sizeof t->shape);
    t->offset = offset;
    t->size = r->out_nbytes;
}

/* The answer's layout from a parsed batch; info->tensors is malloc'ed. */
static glorot_code local_info(gp_batch *b, glorot_batch_info *info, glorot_error *err)
{
    size_t n = gp_batch_count(b);
    uint64_t data = 0;
    memset(info, 0, sizeof *info);
    info->tensors = calloc(n ? n : 1, sizeof *info->tensors);
    if (info->tensors == NULL)
        return glorotp_fail(err, GLOROT_E_NOMEM, "", "out of memory for %zu tensors", n);
    for (size_t i = 0; i < n; i++) {
        describe_tensor(gp_batch_tensor(b, i), data, &info->tensors[i]);
        data += info->tensors[i].size; /* gp_batch_parse checked the sum */
    }
    info->count = n;
    info->seed = n > 0 ? gp_batch_tensor(b, 0)->seed : 0;
    snprintf(info->etag, sizeof info->etag, "%s", gp_batch_etag(b));
    info->size = gp_batch_size(b);
    info->header_size = info->size - data;
    return GLOROT_OK;
}

glorot_code glorot_batch_plan(const glorot_batch_request *breq, glorot_batch_info *info,
                              glorot_error *err)
{
    gp_batch *b = NULL;
    if (info == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "info is required");
    memset(info, 0, sizeof *info);
    glorot_code rc = local_batch(breq, 0, &b, err);
    if (rc == GLOROT_OK)
        rc = local_info(b, info, err);
    gp_batch_free(b);
    return rc;
}

/* Tensor t's bytes straight into buf, from where the answer holds them. */
static glorot_code local_tensor(gp_batch *b, const glorot_batch_info *info,
                                const glorot_batch_tensor *t, void *buf, glorot_error *err)
{
    uint64_t at = info->header_size + t->offset, done = 0;
    while (done < t->size) {
        size_t n =
            gp_batch_read(b, at + done, (unsigned char *)buf + done, (size_t)(t->size - done));
        if (n == 0)
            return glorotp_fail(err, GLOROT_E_INTERNAL, "", "tensor '%.64s' ended early", t->name);
        done += n;
    }
    return GLOROT_OK;
}

glorot_code glorot_batch_generate(const glorot_batch_request *breq, const glorot_batch_buffer *bufs,
                                  size_t nbufs, unsigned flags, glorot_batch_info *info,
                                  glorot_error *err)
{
    gp_batch *b = NULL;
    glorot_batch_info local;
    batch_rx rx;
    memset(&rx, 0, sizeof rx);
    memset(&local, 0, sizeof local);
    if (info != NULL)
        memset(info, 0, sizeof *info);
    if (flags & ~GLOROT_BATCH_SKIP_UNLISTED)
        return glorotp_fail(err, GLOROT_E_INVALID, "flags", "unknown flags %#x", flags);
    glorot_code rc = check_buffers(bufs, nbufs, err);
    if (rc == GLOROT_OK)
        rc = local_batch(breq, 0, &b, err);
    if (rc == GLOROT_OK)
        rc = local_info(b, &local, err);
    if (rc == GLOROT_OK) {
        rx.bufs = bufs;
        rx.nbufs = nbufs;
        rx.flags = flags;
        rx.tensors = local.tensors;
        rx.count = local.count;
        rx.buf_of = calloc(local.count ? local.count : 1, sizeof *rx.buf_of);
        rc = rx.buf_of == NULL ? glorotp_fail(err, GLOROT_E_NOMEM, "", "out of memory")
                               : match_buffers(&rx);
        if (rx.buf_of != NULL && rc != GLOROT_OK && err != NULL && err->code == GLOROT_OK)
            glorotp_error_set(err, &rx.failure);
    }
    for (size_t i = 0; rc == GLOROT_OK && i < local.count; i++)
        if (rx.buf_of[i] != NO_BUFFER)
            rc = local_tensor(b, &local, &local.tensors[i], bufs[rx.buf_of[i]].buf, err);
    free(rx.buf_of);
    gp_batch_free(b);
    if (rc == GLOROT_OK && info != NULL)
        *info = local;
    else
        free(local.tensors);
    return rc;
}

/* ---- local streaming: the whole answer body, as glorot_batch_stream hands it over --- */

#define LOCAL_CHUNK (1u << 20)

/* The bytes [from, to) of the body as chunks of at most LOCAL_CHUNK bytes;
 * to == GP_SIZE_UNKNOWN (json) reads to the end. */
static glorot_code local_chunks(gp_batch *b, glorot_batch_chunk *ch, uint64_t from, uint64_t to,
                                unsigned char *buf, glorot_batch_fn fn, void *user,
                                glorot_error *err)
{
    uint64_t start = ch->offset;
    for (uint64_t at = from; at < to;) {
        size_t want = to - at < LOCAL_CHUNK ? (size_t)(to - at) : LOCAL_CHUNK;
        size_t n = gp_batch_read(b, at, buf, want);
        if (n == 0 && to == GP_SIZE_UNKNOWN)
            return GLOROT_OK;
        if (n == 0)
            return glorotp_fail(err, GLOROT_E_INTERNAL, "", "the batch ended early at byte %llu",
                                (unsigned long long)at);
        ch->offset = start + (at - from);
        ch->body_offset = at;
        ch->data = buf;
        ch->len = n;
        if (fn(user, ch) != 0)
            return glorotp_fail(err, GLOROT_E_ABORTED, "", "the chunk callback stopped the batch");
        at += n;
    }
    return GLOROT_OK;
}

/* The header (or a whole json body), then each tensor split at its boundaries. */
static glorot_code local_stream(gp_batch *b, const glorot_batch_info *local, glorot_batch_fn fn,
                                void *user, uint64_t *size, glorot_error *err)
{
    glorot_code rc = GLOROT_OK;
    unsigned char *buf = malloc(LOCAL_CHUNK);
    glorot_batch_chunk ch = {GLOROT_BATCH_HEADER, NULL, 0, 0, NULL, 0};
    if (buf == NULL)
        return glorotp_fail(err, GLOROT_E_NOMEM, "", "out of memory for the chunk buffer");
    rc = local_chunks(b, &ch, 0, local->header_size, buf, fn, user, err);
    *size = local->header_size == GP_SIZE_UNKNOWN ? ch.body_offset + ch.len : local->size;
    for (size_t i = 0; rc == GLOROT_OK && i < local->count; i++) {
        const glorot_batch_tensor *t = &local->tensors[i];
        uint64_t at = local->header_size + t->offset;
        ch = (glorot_batch_chunk){i, t, 0, 0, NULL, 0};
        rc = local_chunks(b, &ch, at, at + t->size, buf, fn, user, err);
    }
    free(buf);
    return rc;
}

glorot_code glorot_batch_generate_stream(const glorot_batch_request *breq, glorot_batch_fn fn,
                                         void *user, glorot_batch_info *info, glorot_error *err)
{
    gp_batch *b = NULL;
    glorot_batch_info local;
    memset(&local, 0, sizeof local);
    if (info != NULL)
        memset(info, 0, sizeof *info);
    if (fn == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "a chunk callback is required");
    glorot_code rc = local_batch(breq, 1, &b, err);
    int json = rc == GLOROT_OK && breq->format != NULL && strcmp(breq->format, "json") == 0;
    if (rc == GLOROT_OK)
        rc = local_info(b, &local, err);
    if (rc == GLOROT_OK && json) { /* a json body is handed over whole, as from a server */
        free(local.tensors);
        local.tensors = NULL;
        local.count = 0;
        local.header_size = GP_SIZE_UNKNOWN;
    }
    uint64_t size = 0;
    if (rc == GLOROT_OK)
        rc = local_stream(b, &local, fn, user, &size, err);
    gp_batch_free(b);
    if (rc == GLOROT_OK && info != NULL) {
        local.header_size = json ? 0 : local.header_size;
        local.size = size;
        *info = local;
    } else {
        free(local.tensors);
    }
    return rc;
}
