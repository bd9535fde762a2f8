/*
 * test_names.c - the enumeration tables (proto/base/names.c): every name
 * round-trips name -> value -> name, the canonical names come in value order,
 * aliases parse to a value printed under its canonical name, and the lists
 * that error messages quote are the ones the protocol documents.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <string.h>

#include "base/names_internal.h"
#include "glorot_proto.h"

typedef struct {
    gp_names_of which;
    size_t canonical; /* names that are not aliases */
    char list[128];   /* gpi_names_text with notes */
} ncase;

ParameterizedTestParameters(names, tables)
{
    static ncase cases[] = {
        {GP_NAMES_DTYPE, 4, "float32, float16, bfloat16 or float64"},
        {GP_NAMES_ALGORITHM, 3, "chacha20, mlx or mlx-seeded"},
        {GP_NAMES_FAN, 3, "mlx, torch or keras (alias jax)"},
        {GP_NAMES_FORMAT, 4, "raw, npy, safetensors or json"},
        {GP_NAMES_SPLIT, 3,
         "array_split (numpy), chunk (torch.chunk, DTensor) or even (Megatron-LM)"},
        {GP_NAMES_DIST, 5, "uniform, normal, truncated_normal, constant or identity"},
        {GP_NAMES_MODE, 2, "fan_in or fan_out"},
    };
    return cr_make_param_array(ncase, cases, sizeof cases / sizeof cases[0]);
}

/* The gp_*_name function of which, for value v. */
static const char *printed(gp_names_of which, int v)
{
    switch (which) {
    case GP_NAMES_DTYPE:
        return gp_dtype_name((gp_dtype)v);
    case GP_NAMES_ALGORITHM:
        return gp_algorithm_name((gp_algorithm)v);
    case GP_NAMES_FAN:
        return gp_fan_name((gp_fan)v);
    case GP_NAMES_FORMAT:
        return gp_format_name((gp_format)v);
    case GP_NAMES_SPLIT:
        return gp_split_name((gp_split)v);
    case GP_NAMES_DIST:
        return gp_dist_name((gp_dist)v);
    case GP_NAMES_MODE:
        break;
    }
    return gp_mode_name((gp_mode)v);
}

ParameterizedTest(ncase *c, names, tables)
{
    size_t i, canonical = 0;
    const char *name;
    int value, alias;
    for (i = 0; (name = gp_name_at(c->which, i, &value, &alias)) != NULL; i++) {
        int parsed = -1;
        cr_assert_eq(gp_name_value(c->which, name, strlen(name), &parsed), 0, "%s", name);
        cr_expect_eq(parsed, value, "%s", name);
        if (alias) {
            cr_expect_geq(i, c->canonical, "alias %s before a canonical name", name);
            cr_expect_str_neq(printed(c->which, value), name);
            continue;
        }
        cr_expect_eq(value, (int)i, "%s is not in value order", name);
        cr_expect_str_eq(printed(c->which, value), name);
        canonical++;
    }
    cr_expect_eq(canonical, c->canonical);
    cr_expect_eq(printed(c->which, (int)canonical), printed(c->which, 0), "default for bad value");
    int untouched = 77;
    cr_expect_eq(gp_name_value(c->which, "nope", 4, &untouched), -1);
    cr_expect_eq(untouched, 77);
    char text[GPI_NAMES_TEXT_MAX];
    cr_expect_str_eq(gpi_names_text(c->which, 1, text, sizeof text), c->list);
}

Test(names, per_value_columns)
{
    cr_expect_eq(gp_dtype_size(GP_FLOAT32), 4);
    cr_expect_eq(gp_dtype_size(GP_FLOAT16), 2);
    cr_expect_eq(gp_dtype_size(GP_BFLOAT16), 2);
    cr_expect_eq(gp_dtype_size(GP_FLOAT64), 8);
    cr_expect_str_eq(gp_format_content_type(GP_FORMAT_RAW), "application/octet-stream");
    cr_expect_str_eq(gp_format_content_type(GP_FORMAT_NPY), "application/x-npy");
    cr_expect_str_eq(gp_format_content_type(GP_FORMAT_SAFETENSORS), "application/vnd.safetensors");
    cr_expect_str_eq(gp_format_content_type(GP_FORMAT_JSON), "application/json");
    cr_expect_str_eq(gp_format_extension(GP_FORMAT_RAW), ".bin");
    cr_expect_str_eq(gp_format_extension(GP_FORMAT_SAFETENSORS), ".safetensors");
    cr_expect_eq(gp_algorithm_version(GP_ALG_CHACHA20), GP_CHACHA20_VERSION);
    cr_expect_eq(gp_algorithm_version(GP_ALG_MLX_SEEDED), GP_MLX_VERSION);
}

Test(names, list_without_notes)
{
    char text[GPI_NAMES_TEXT_MAX];
    cr_expect_str_eq(gpi_names_text(GP_NAMES_SPLIT, 0, text, sizeof text),
                     "array_split, chunk or even");
}

Test(names, parse_error_message)
{
    gp_error err = {0};
    int v = 0;
    cr_assert_eq(gpi_parse_name(GP_NAMES_FAN, "fan", "Torch", 5, &v, &err), GP_EPARAM);
    cr_expect_str_eq(err.param, "fan");
    cr_expect_str_eq(err.message, "fan: \"Torch\" is not supported; use mlx, torch or keras "
                                  "(alias jax)");
}

/* Each format's name for each dtype (as numpy 1.24, safetensors and the
 * KServe v2 protocol write them), and back. */
typedef struct {
    gp_dtype dtype;
    char npy[8], safetensors[8], kserve[8];
} tag_case;

ParameterizedTestParameters(names, dtype_tags)
{
    static tag_case cases[] = {
        {GP_FLOAT32, "<f4", "F32", "FP32"},
        {GP_FLOAT16, "<f2", "F16", "FP16"},
        {GP_BFLOAT16, "<V2", "BF16", "BF16"},
        {GP_FLOAT64, "<f8", "F64", "FP64"},
    };
    return cr_make_param_array(tag_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(tag_case *c, names, dtype_tags)
{
    const gp_dtype_tag_of formats[] = {GP_TAG_NPY, GP_TAG_SAFETENSORS, GP_TAG_KSERVE};
    const char *want[] = {c->npy, c->safetensors, c->kserve};
    for (size_t k = 0; k < 3; k++) {
        gp_dtype back = GP_FLOAT32;
        cr_expect_str_eq(gp_dtype_tag(c->dtype, formats[k]), want[k]);
        cr_expect_eq(gp_dtype_from_tag(formats[k], want[k], &back), 0);
        cr_expect_eq(back, c->dtype, "%s", want[k]);
    }
}

Test(names, unknown_dtype_tag)
{
    gp_dtype d = GP_FLOAT16;
    cr_expect_eq(gp_dtype_from_tag(GP_TAG_SAFETENSORS, "F8_E4M3", &d), -1);
    cr_expect_eq(gp_dtype_from_tag(GP_TAG_SAFETENSORS, "f32", &d), -1);
    cr_expect_eq(d, GP_FLOAT16);
}
