/*
 * filename.c - the download name for Content-Disposition:
 * "glorot_256x512_float32_seed42.npy", and for a slice or shard
 * "glorot_256x512_float32_seed42_slice0-128x0-512.npy" (so the parts of one
 * tensor never overwrite each other). Built only from numbers and our own
 * ASCII names, so it needs no quoting or escaping.
 */
#include "glorot_proto.h"

#include <string.h>

typedef struct {
    char *out;
    size_t size;
    size_t len; /* full length, even past size */
} name_builder;

static void add(name_builder *nb, const char *s, size_t n)
{
    if (nb->size > 0 && nb->len < nb->size - 1) {
        size_t room = nb->size - 1 - nb->len;
        memcpy(nb->out + nb->len, s, n < room ? n : room);
    }
    nb->len += n;
}

static void add_str(name_builder *nb, const char *s)
{
    add(nb, s, strlen(s));
}

static void add_u64(name_builder *nb, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n] = (char)('0' + v % 10);
        v /= 10;
        n++;
    } while (v != 0);
    add(nb, digits + sizeof digits - n, n);
}

size_t gp_filename(const gp_request *r, char *out, size_t size)
{
    name_builder nb = {out, size, 0};
    add_str(&nb, "glorot_");
    if (r->rank == 0)
        add_str(&nb, "scalar");
    for (size_t i = 0; i < r->rank; i++) {
        if (i > 0)
            add_str(&nb, "x");
        add_u64(&nb, r->shape[i]);
    }
    add_str(&nb, "_");
    add_str(&nb, gp_dtype_name(r->dtype));
    add_str(&nb, "_seed");
    add_u64(&nb, r->seed);
    for (size_t i = 0; r->partial && i < r->rank; i++) {
        add_str(&nb, i == 0 ? "_slice" : "x");
        add_u64(&nb, r->part_start[i]);
        add_str(&nb, "-");
        add_u64(&nb, r->part_stop[i]);
    }
    add_str(&nb, gp_format_extension(r->format));
    if (size > 0)
        out[nb.len < size ? nb.len : size - 1] = '\0';
    return nb.len;
}
