/*
 * format_internal.h - helpers shared by the format encoders (private to proto/).
 *
 * A bounded text builder (never grows, remembers overflow), JSON string
 * escaping, and the exact number conversions behind the json format: half
 * and bfloat16 to and from double, and the shortest decimal that reads back
 * to the same value in the tensor's dtype.
 */
#ifndef GLOROT_FORMAT_INTERNAL_H
#define GLOROT_FORMAT_INTERNAL_H

#include "glorot_proto.h"

#include <stddef.h>
#include <stdint.h>

/* Text written into caller memory. Once an append does not fit, `overflow`
 * is set, len stops growing and later appends do nothing. */
typedef struct {
    unsigned char *p;
    size_t cap;
    size_t len;
    int overflow;
} gpi_text;

void gpi_text_init(gpi_text *t, void *mem, size_t cap);
void gpi_text_mem(gpi_text *t, const void *s, size_t n);
void gpi_text_str(gpi_text *t, const char *s);
void gpi_text_u64(gpi_text *t, uint64_t v);
void gpi_text_spaces(gpi_text *t, size_t n);
/* Copy the text to out as a NUL-terminated string, truncated to size - 1
 * bytes (snprintf-like); returns the text's length. */
size_t gpi_text_export(const gpi_text *t, char *out, size_t size);
/* "%.17g" of a finite double: reads back as exactly the same double. */
void gpi_text_g17(gpi_text *t, double v);
/* s[0..n) as a quoted JSON string. GP_EPARAM (param `param`) when s is not
 * valid UTF-8; escapes '"', '\\' and every control character. */
gp_code gpi_text_json_string(gpi_text *t, const char *s, size_t n, const char *param,
                             gp_error *err);

/* safetensors: the dtype tag ("F32", "F16", "BF16", "F64") and one tensor's
 * header entry, "NAME":{"dtype","shape","data_offsets":[offset, offset+bytes]},
 * describing the part r sends. GP_EPARAM when the name is not valid UTF-8. */
const char *gpi_safetensors_dtype(gp_dtype d);
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
gp_code gpi_safetensors_entry(gpi_text *t, const gp_request *r, uint64_t offset, gp_error *err);
/* Close a safetensors header whose JSON t was written at header + 8: the
 * closing brace, spaces to the 8-byte alignment, and the little-endian
 * length in header[0..8). Returns the header's whole length, or 0 when t
 * overflowed its buffer. One tensor (format_safetensors.c) and a batch
 * (batch.c) finish their headers here. */
size_t gpi_safetensors_finish(gpi_text *t, unsigned char *header);

/* Algorithm version for the metadata of every format. */
unsigned gpi_algorithm_version(gp_algorithm a);

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
