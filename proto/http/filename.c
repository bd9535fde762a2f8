/*
 * filename.c - the download name for Content-Disposition:
 * "glorot_256x512_float32_seed42.npy", and for a slice or shard
 * "glorot_256x512_float32_seed42_slice0-128x0-512.npy" (so the parts of one
 * tensor never overwrite each other; the pieces of a strided shard are joined
 * by '_': "slice0-2_4-6x0-16"). Built only from numbers and our own
 * ASCII names, so it needs no quoting or escaping.
 */
#include "base/text_internal.h"

/* "glorot_" + dims + "_" + dtype + "_seed" + u64 + "_slice" + bounds + extension */
#define NAME_MAX_LEN (7 + GP_MAX_RANK * 21 + 1 + 8 + 5 + 20 + 6 + GP_PART_TEXT_MAX + 16)

size_t gp_filename(const gp_request *r, char *out, size_t size)
{
    unsigned char mem[NAME_MAX_LEN];
    gpi_text t;
    gpi_text_init(&t, mem, sizeof mem);
    gpi_text_str(&t, "glorot_");
    if (r->rank == 0)
        gpi_text_str(&t, "scalar");
    for (size_t i = 0; i < r->rank; i++) {
        if (i > 0)
            gpi_text_str(&t, "x");
        gpi_text_u64(&t, r->shape[i]);
    }
    gpi_text_str(&t, "_");
    gpi_text_str(&t, gp_dtype_name(r->dtype));
    gpi_text_str(&t, "_seed");
    gpi_text_u64(&t, r->seed);
    for (size_t i = 0; r->partial && i < r->rank; i++) {
        gpi_text_str(&t, i == 0 ? "_slice" : "x");
        for (uint64_t j = 0; j < r->piece_count[i]; j++) {
            uint64_t a = r->part_start[i] + j * r->piece_step[i];
            if (j > 0)
                gpi_text_str(&t, "_");
            gpi_text_u64(&t, a);
            gpi_text_str(&t, "-");
            gpi_text_u64(&t, a + r->piece_len[i]);
        }
    }
    gpi_text_str(&t, gp_format_extension(r->format));
    return gpi_text_export(&t, out, size);
}
