/*
 * format_npy.c - the NumPy .npy header, byte for byte as numpy 1.24 writes it.
 *
 *   "\x93NUMPY" major minor header_len(le16, or le32 in version 2.0)
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (256, 512), }
 *   then spaces and '\n' so the data start at a multiple of 64.
 *
 * Like numpy, the dict is followed by spare spaces for a first axis of up to
 * 21 digits (so a writer could grow the array in place), then the alignment
 * padding. bfloat16 is '<V2', which MLX's loader reads as bfloat16 and numpy
 * loads as 2-byte opaque values.
 */
#include "format/body_internal.h"
#include "format/format_internal.h"

#include <string.h>

#define NPY_ALIGN 64
#define NPY_GROWTH_DIGITS 21 /* numpy's GROWTH_AXIS_MAX_DIGITS */
#define NPY_MAGIC_LEN 8      /* magic string + version bytes */

static size_t decimal_digits(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* The dict text with numpy's growth spaces (no alignment padding yet), for
 * the shape of the part sent. */
static void npy_dict(gpi_text *t, const gp_request *r)
{
    gpi_text_str(t, "{'descr': '");
    gpi_text_str(t, gp_dtype_tag(r->dtype, GP_TAG_NPY));
    gpi_text_str(t, "', 'fortran_order': False, 'shape': ");
    gpi_text_shape(t, r->out_shape, r->rank, GPI_SHAPE_PYTHON);
    gpi_text_str(t, ", }");
    if (r->rank > 0)
        gpi_text_spaces(t, NPY_GROWTH_DIGITS - decimal_digits(r->out_shape[0]));
}

static void put_le(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

gp_code gpi_npy_header(gp_body *b, gp_error *err)
{
    unsigned char dict[GP_HEADER_MAX];
    gpi_text t;
    gpi_text_init(&t, dict, sizeof dict);
    npy_dict(&t, &b->req);
    if (t.overflow)
        return gp_fail(err, GP_EINTERNAL, "", "npy header does not fit in %d bytes", GP_HEADER_MAX);
    size_t text = t.len + 1; /* with the final '\n' */
    size_t len_field = 2;
    size_t pad = NPY_ALIGN - (NPY_MAGIC_LEN + len_field + text) % NPY_ALIGN;
    if (text + pad > 0xFFFF) {
        len_field = 4; /* version 2.0 */
        pad = NPY_ALIGN - (NPY_MAGIC_LEN + len_field + text) % NPY_ALIGN;
    }
    size_t total = NPY_MAGIC_LEN + len_field + text + pad;
    if (total > GP_HEADER_MAX)
        return gp_fail(err, GP_EINTERNAL, "", "npy header does not fit in %d bytes", GP_HEADER_MAX);
    unsigned char *h = b->header;
    memcpy(h, "\x93NUMPY", 6);
    h[6] = len_field == 2 ? 1 : 2;
    h[7] = 0;
    put_le(h + NPY_MAGIC_LEN, text + pad, len_field);
    size_t pos = NPY_MAGIC_LEN + len_field;
    memcpy(h + pos, dict, t.len);
    memset(h + pos + t.len, ' ', pad);
    h[total - 1] = '\n';
    b->header_len = total;
    return GP_OK;
}
