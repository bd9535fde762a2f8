/*
 * format_internal.h - helpers shared by the format encoders (private to proto/).
 *
 * The safetensors header pieces and the exact number
 * conversions behind the json format: half and bfloat16 to and from double,
 * and the shortest decimal that reads back to the same value in the tensor's
 * dtype. The bounded text builder they write with (gpi_text) and JSON string
 * escaping are in base/text_internal.h, included here.
 */
#ifndef GLOROT_FORMAT_INTERNAL_H
#define GLOROT_FORMAT_INTERNAL_H

#include "base/text_internal.h"
#include "glorot_proto.h"

#include <stddef.h>
#include <stdint.h>

/* The first __metadata__ entry of every safetensors answer, one tensor or a
 * batch. transformers' load_state_dict (src/transformers/modeling_utils.py)
 * refuses a file whose metadata lacks it:
 *   if metadata is not None and metadata.get("format") not in
 *           ["pt", "tf", "flax", "mlx"]:
 *       raise OSError(f"The safetensors archive passed at {checkpoint_file}
 *                     does not contain the valid metadata. ...")
 * "pt": the tensors are in PyTorch's layout (row-major, out x in), which is
 * glorotd's; transformers' TF loader reads "pt" files as from_pt. */
#define GPI_ST_FORMAT_PT "\"format\":\"pt\""
/* safetensors: one tensor's header entry, "NAME":{"dtype","shape",
 * "data_offsets":[offset, offset+bytes]}, describing the part r sends (the
 * dtype as gp_dtype_tag names it). GP_EPARAM when the name is not valid UTF-8. */
gp_code gpi_safetensors_entry(gpi_text *t, const gp_request *r, uint64_t offset, gp_error *err);
/* Close a safetensors header whose JSON t was written at header + 8: the
 * closing brace, spaces to the 8-byte alignment, and the little-endian
 * length in header[0..8). Returns the header's whole length, or 0 when t
 * overflowed its buffer. One tensor (format_safetensors.c) and a batch
 * (batch.c) finish their headers here. */
size_t gpi_safetensors_finish(gpi_text *t, unsigned char *header);

/* IEEE binary16 and bfloat16 <-> double. From double rounds to nearest,
 * ties to even, directly (no intermediate float32), with overflow to
 * infinity and gradual underflow; NaN stays NaN. */
double gpi_f16_to_double(uint16_t h);
double gpi_bf16_to_double(uint16_t h);
uint16_t gpi_f16_from_double(double d);
uint16_t gpi_bf16_from_double(double d);

#define GPI_NUMBER_MAX 32 /* longest text gpi_shortest writes, with its NUL */

/* The shortest "%.{p}g" text (p = 1, 2, ...) of one little-endian element of
 * dtype d whose value, read back (strtof / strtod, or strtod then rounded to
 * half or bfloat16), has the same bits. +0 is "0", -0 is "-0.0" (so JSON
 * readers that turn integers into ints keep the sign), a non-finite value is
 * "null". Writes a NUL-terminated string to out; returns its length. */
size_t gpi_shortest(gp_dtype d, const unsigned char *elem, char out[GPI_NUMBER_MAX]);

#endif
