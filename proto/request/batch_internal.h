/*
 * batch_internal.h - the gp_batch record shared by manifest.c (parsing the
 * manifest into tensors) and batch.c (layout, reading, ETag). Private to
 * proto/.
 */
#ifndef GLOROT_BATCH_INTERNAL_H
#define GLOROT_BATCH_INTERNAL_H

#include "glorot_proto.h"

typedef struct {
    gp_request r;    /* finished, format raw */
    uint64_t offset; /* where its bytes start, relative to the data */
} gpi_batch_tensor;

struct gp_batch {
    gp_format format;
    size_t count;
    gpi_batch_tensor *tensors; /* count records, manifest order */
    unsigned char *header;     /* safetensors: le64 length ++ JSON, padded to 8 */
    size_t header_len;
    uint64_t data_bytes;
    uint64_t size;
    char etag[GP_ETAG_MAX];
    /* the reader's cache: one body at a time */
    gp_body cur;
    size_t cur_index;
    int cur_valid;
    /* json: sequential state */
    uint64_t json_produced;
    uint64_t json_cur_pos; /* bytes of cur already copied */
    char punct[4];
    size_t punct_len, punct_pos;
    int json_closed;
    /* json: elements already reported by gp_batch_elements_each: all of the
     * tensors before json_counted_index, and json_counted_done of it */
    size_t json_counted_index;
    uint64_t json_counted_done;
};

/* Manifest -> b->tensors (count, records finished); manifest.c. */
gp_code gpi_manifest_parse(gp_batch *b, const char *buf, size_t len, const gp_batch_limits *lim,
                           gp_error *err);

#endif
