/*
 * names.c - the wire names of the enumerations, one table each: what
 * gp_*_name prints, what the request parser accepts, what its error messages
 * list, and what /v1/info lists, with whatever else belongs to one value
 * (a dtype's size, a format's media type and file extension, an
 * algorithm's frozen version).
 */
#include "base/names_internal.h"
#include "base/text_internal.h"
#include "glorot_proto.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int value;
    int alias;              /* accepted on input only; names an earlier row's value */
    const char *note;       /* said in brackets after the name in "use ..." lists */
    size_t size;            /* dtype: bytes per element */
    const char *tags[3];    /* dtype: as npy, safetensors and KServe name it (gp_dtype_tag) */
    const char *media_type; /* format: Content-Type */
    const char *extension;  /* format: file name extension */
    int version;            /* algorithm: frozen version */
} name_row;

static const name_row dtypes[] = {
    /* npy: numpy's descr (bfloat16, which numpy lacks, as 2 opaque bytes);
     * safetensors: its dtype; KServe / Triton v2: its datatype. */
    {"float32", GP_FLOAT32, .size = 4, .tags = {"<f4", "F32", "FP32"}},
    {"float16", GP_FLOAT16, .size = 2, .tags = {"<f2", "F16", "FP16"}},
    {"bfloat16", GP_BFLOAT16, .size = 2, .tags = {"<V2", "BF16", "BF16"}},
    {"float64", GP_FLOAT64, .size = 8, .tags = {"<f8", "F64", "FP64"}},
};

static const name_row algorithms[] = {
    {"chacha20", GP_ALG_CHACHA20, .version = GP_CHACHA20_VERSION},
    {"mlx", GP_ALG_MLX, .version = GP_MLX_VERSION},
    {"mlx-seeded", GP_ALG_MLX_SEEDED, .version = GP_MLX_VERSION},
};

static const name_row fans[] = {
    {.name = "mlx", .value = GP_FAN_MLX},
    {.name = "torch", .value = GP_FAN_TORCH},
    {.name = "keras", .value = GP_FAN_KERAS},
    {"jax", GP_FAN_KERAS, .alias = 1},
};

static const name_row formats[] = {
    {"raw", GP_FORMAT_RAW, .media_type = "application/octet-stream", .extension = ".bin"},
    {"npy", GP_FORMAT_NPY, .media_type = "application/x-npy", .extension = ".npy"},
    {"safetensors", GP_FORMAT_SAFETENSORS, .media_type = "application/vnd.safetensors",
     .extension = ".safetensors"},
    {"json", GP_FORMAT_JSON, .media_type = "application/json", .extension = ".json"},
};

static const name_row splits[] = {
    {"array_split", GP_SPLIT_ARRAY_SPLIT, .note = "numpy"},
    {"chunk", GP_SPLIT_CHUNK, .note = "torch.chunk, DTensor"},
    {"even", GP_SPLIT_EVEN, .note = "Megatron-LM"},
};

static const name_row dists[] = {
    {.name = "uniform", .value = GP_DIST_UNIFORM},
    {.name = "normal", .value = GP_DIST_NORMAL},
    {.name = "truncated_normal", .value = GP_DIST_TRUNCATED_NORMAL},
    {.name = "constant", .value = GP_DIST_CONSTANT},
    {.name = "identity", .value = GP_DIST_IDENTITY},
};

static const name_row modes[] = {
    {.name = "fan_in", .value = GP_MODE_FAN_IN},
    {.name = "fan_out", .value = GP_MODE_FAN_OUT},
};

#define ROWS(t)                                                                                    \
    {                                                                                              \
        t, sizeof t / sizeof t[0]                                                                  \
    }
static const struct {
    const name_row *rows;
    size_t count;
} tables[] = {
    [GP_NAMES_DTYPE] = ROWS(dtypes), [GP_NAMES_ALGORITHM] = ROWS(algorithms),
    [GP_NAMES_FAN] = ROWS(fans),     [GP_NAMES_FORMAT] = ROWS(formats),
    [GP_NAMES_SPLIT] = ROWS(splits), [GP_NAMES_DIST] = ROWS(dists),
    [GP_NAMES_MODE] = ROWS(modes),
};
#undef ROWS

static size_t table_of(gp_names_of which)
{
    return (size_t)which < sizeof tables / sizeof tables[0] ? (size_t)which : GP_NAMES_DTYPE;
}

/* The canonical row of value; the first row (the default) for a value
 * outside the enumeration. */
static const name_row *row_of(gp_names_of which, int value)
{
    size_t t = table_of(which);
    for (size_t i = 0; i < tables[t].count; i++)
        if (tables[t].rows[i].value == value && !tables[t].rows[i].alias)
            return &tables[t].rows[i];
    return &tables[t].rows[0];
}

const char *gp_name_at(gp_names_of which, size_t i, int *value, int *alias)
{
    size_t t = table_of(which);
    if (i >= tables[t].count)
        return NULL;
    if (value != NULL)
        *value = tables[t].rows[i].value;
    if (alias != NULL)
        *alias = tables[t].rows[i].alias;
    return tables[t].rows[i].name;
}

int gp_name_value(gp_names_of which, const char *s, size_t n, int *value)
{
    size_t t = table_of(which);
    for (size_t i = 0; i < tables[t].count; i++) {
        const char *name = tables[t].rows[i].name;
        if (strlen(name) == n && memcmp(name, s, n) == 0) {
            *value = tables[t].rows[i].value;
            return 0;
        }
    }
    return -1;
}

const char *gpi_list_sep(size_t i, size_t count)
{
    return i == 0 ? "" : i + 1 == count ? " or " : ", ";
}

/* " (note, alias x)" for row r: what follows its name in a list. */
static size_t row_extras(size_t t, const name_row *r, int notes, char *out, size_t cap)
{
    size_t len = 0;
    int n = 0;
    const char *open = " (";
    if (notes && r->note != NULL) {
        n = snprintf(out, cap, "%s%s", open, r->note);
        len += n > 0 ? (size_t)n : 0;
        open = ", ";
    }
    for (size_t i = 0; i < tables[t].count; i++) {
        const name_row *a = &tables[t].rows[i];
        if (!a->alias || a->value != r->value || len >= cap)
            continue;
        n = snprintf(out + len, cap - len, "%salias %s", open, a->name);
        len += n > 0 ? (size_t)n : 0;
        open = ", ";
    }
    if (len > 0 && len < cap) {
        n = snprintf(out + len, cap - len, ")");
        len += n > 0 ? (size_t)n : 0;
    }
    return len;
}

const char *gpi_names_text(gp_names_of which, int notes, char *out, size_t cap)
{
    size_t t = table_of(which), canonical = 0, len = 0;
    char extras[64];
    out[0] = '\0';
    for (size_t i = 0; i < tables[t].count; i++)
        canonical += !tables[t].rows[i].alias;
    for (size_t i = 0, k = 0; i < tables[t].count && len < cap; i++) {
        const name_row *r = &tables[t].rows[i];
        if (r->alias)
            continue;
        extras[0] = '\0';
        row_extras(t, r, notes, extras, sizeof extras);
        int n =
            snprintf(out + len, cap - len, "%s%s%s", gpi_list_sep(k++, canonical), r->name, extras);
        len += n > 0 ? (size_t)n : 0;
    }
    return out;
}

gp_code gpi_parse_name(gp_names_of which, const char *key, const char *v, size_t n, int *out,
                       gp_error *err)
{
    char allowed[GPI_NAMES_TEXT_MAX];
    if (gp_name_value(which, v, n, out) == 0)
        return GP_OK;
    return gp_fail(err, GP_EPARAM, key, "%s: \"%s\" is not supported; use %s", key,
                   gpi_quote(v, n).text, gpi_names_text(which, 1, allowed, sizeof allowed));
}

const char *gp_dtype_name(gp_dtype d)
{
    return row_of(GP_NAMES_DTYPE, (int)d)->name;
}

size_t gp_dtype_size(gp_dtype d)
{
    return row_of(GP_NAMES_DTYPE, (int)d)->size;
}

const char *gp_dtype_tag(gp_dtype d, gp_dtype_tag_of format)
{
    return row_of(GP_NAMES_DTYPE, (int)d)->tags[format];
}

int gp_dtype_from_tag(gp_dtype_tag_of format, const char *tag, gp_dtype *out)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(tag, dtypes[i].tags[format]) == 0) {
            *out = (gp_dtype)dtypes[i].value;
            return 0;
        }
    return -1;
}

const char *gp_algorithm_name(gp_algorithm a)
{
    return row_of(GP_NAMES_ALGORITHM, (int)a)->name;
}

int gp_algorithm_version(gp_algorithm a)
{
    return row_of(GP_NAMES_ALGORITHM, (int)a)->version;
}

const char *gp_fan_name(gp_fan f)
{
    return row_of(GP_NAMES_FAN, (int)f)->name;
}

const char *gp_format_name(gp_format f)
{
    return row_of(GP_NAMES_FORMAT, (int)f)->name;
}

const char *gp_format_content_type(gp_format f)
{
    return row_of(GP_NAMES_FORMAT, (int)f)->media_type;
}

const char *gp_format_extension(gp_format f)
{
    return row_of(GP_NAMES_FORMAT, (int)f)->extension;
}

const char *gp_split_name(gp_split s)
{
    return row_of(GP_NAMES_SPLIT, (int)s)->name;
}

const char *gp_dist_name(gp_dist d)
{
    return row_of(GP_NAMES_DIST, (int)d)->name;
}

const char *gp_mode_name(gp_mode m)
{
    return row_of(GP_NAMES_MODE, (int)m)->name;
}
