/*
 * body_internal.h - the per-format encoders behind gp_body (private to proto/).
 *
 * A binary format fills b->header / b->header_len; body.c serves
 * header ++ data with random access. JSON is a sequential text stream.
 */
#ifndef GLOROT_BODY_INTERNAL_H
#define GLOROT_BODY_INTERNAL_H

#include "glorot_proto.h"

/* Body elements [first, first + count) of the part b holds, little-endian,
 * into out (count * dtype size bytes). first + count <= b->req.out_numel. */
void gpi_body_fill(const gp_body *b, uint64_t first, size_t count, void *out);

/* How many elements of es bytes start in data bytes [start, end). */
uint64_t gpi_element_starts(uint64_t start, uint64_t end, uint64_t es);

/* Serve bytes [offset, offset + len) of header ++ data, clipped to size:
 * the header part is copied, the data part comes from data(ctx, pos, out, n)
 * with pos relative to the start of the data. Returns the bytes written. */
typedef size_t (*gpi_data_fn)(void *ctx, uint64_t pos, unsigned char *out, size_t n);
size_t gpi_read_prefixed(const unsigned char *header, uint64_t header_len, uint64_t size,
                         uint64_t offset, unsigned char *out, size_t len, gpi_data_fn data,
                         void *ctx);

gp_code gpi_npy_header(gp_body *b, gp_error *err);
gp_code gpi_safetensors_header(gp_body *b, gp_error *err);

gp_code gpi_json_init(gp_body *b, gp_error *err);
size_t gpi_json_read(gp_body *b, uint64_t offset, void *buf, size_t len);

#endif
