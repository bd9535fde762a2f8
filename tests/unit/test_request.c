/*
 * test_request.c - gp_request_init / set / set_seed / finish: every default,
 * every accepted form, every rejected form, and the cross-field checks.
 *
 * Expected doubles (gains, limits) and canonical gain texts were computed
 * independently with Python: float(text), math.sqrt, repr() without a
 * trailing ".0", packed with struct '<d'.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "glorot_proto.h"

#define U64_MAX_TEXT "18446744073709551615"
#define P2(k) (1ULL << (k))

static uint64_t bits_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static int printable(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s < 0x20 || *s > 0x7e)
            return 0;
    return 1;
}

/* A message that is printable, non-trivial and was not cut by the buffer. */
static void expect_clean_error(const gp_error *err, const char *label)
{
    cr_expect(printable(err->message), "%s: message not printable", label);
    cr_expect(printable(err->param), "%s: param not printable", label);
    cr_expect(strlen(err->message) > 10, "%s: message too short: %s", label, err->message);
    cr_expect(strlen(err->message) < sizeof err->message - 1, "%s: message truncated: %s", label,
              err->message);
}

static gp_code set_str(gp_request *r, const char *k, const char *v, gp_error *err)
{
    return gp_request_set(r, k, strlen(k), v, strlen(v), err);
}

/* ---- defaults ------------------------------------------------------------------ */

Test(request, defaults)
{
    gp_request r;
    memset(&r, 0xa5, sizeof r);
    gp_request_init(&r);
    cr_expect_eq(r.rank, 0);
    cr_expect_eq(bits_of(r.gain), bits_of(1.0));
    cr_expect_str_eq(r.gain_spec, "1");
    cr_expect_eq(r.dtype, GP_FLOAT32);
    cr_expect_eq(r.seed, 0);
    cr_expect_eq(r.seed_set, 0);
    cr_expect_eq(r.algorithm, GP_ALG_CHACHA20);
    cr_expect_eq(r.call, 1);
    cr_expect_eq(r.fan, GP_FAN_MLX);
    cr_expect_eq(r.fan_in_override, 0);
    cr_expect_eq(r.fan_out_override, 0);
    cr_expect_str_eq(r.name, GP_DEFAULT_NAME);
    cr_expect_eq(r.name_len, strlen(GP_DEFAULT_NAME));
    cr_expect_eq(r.format, GP_FORMAT_RAW);
    cr_expect_eq(r.format_set, 0);
    cr_expect_eq(r.set_mask, 0);
    cr_expect_eq(r.finished, 0);
}

Test(request, finish_with_only_a_shape_resolves_defaults)
{
    gp_request r;
    gp_error err = {0};
    gp_request_init(&r);
    cr_assert_eq(set_str(&r, "shape", "3,5", &err), GP_OK);
    cr_assert_eq(gp_request_finish(&r, NULL, &err), GP_OK, "%s", err.message);
    cr_expect_eq(r.finished, 1);
    cr_expect_eq(r.numel, 15);
    cr_expect_eq(r.nbytes, 60);
    cr_expect_eq(r.fan_in, 5);
    cr_expect_eq(r.fan_out, 3);
    cr_expect_eq(bits_of(r.limit), 0x3febb67ae8584caaULL); /* sqrt(6/8) */
    cr_expect_eq(r.call, 1);
    cr_expect_eq(r.seed_set, 0);
    cr_expect_eq(err.code, GP_OK);
}

Test(request, set_seed_marks_the_seed)
{
    gp_request r;
    gp_request_init(&r);
    gp_request_set_seed(&r, 18446744073709551615ULL);
    cr_expect_eq(r.seed, 18446744073709551615ULL);
    cr_expect_eq(r.seed_set, 1);
}

/* ---- accepted forms ------------------------------------------------------------ */

typedef enum {
    F_SHAPE,
    F_DTYPE,
    F_SEED,
    F_ALGORITHM,
    F_CALL,
    F_FAN,
    F_FAN_IN,
    F_FAN_OUT,
    F_NAME,
    F_FORMAT
} field;

typedef struct {
    char key[16];
    char value[64];
    field field;
    uint64_t want; /* numeric fields and enums; rank for F_SHAPE */
    uint64_t dims[GP_MAX_RANK];
} valid_case;

ParameterizedTestParameters(request, valid)
{
    static valid_case cases[] = {
        {"shape", "256,512", F_SHAPE, 2, {256, 512}},
        {"shape", "1,1", F_SHAPE, 2, {1, 1}},
        {"shape", "64,3,7,7", F_SHAPE, 4, {64, 3, 7, 7}},
        {"shape", "2,3,4,5,6,7,8,9", F_SHAPE, 8, {2, 3, 4, 5, 6, 7, 8, 9}},
        {"shape", U64_MAX_TEXT ",1", F_SHAPE, 2, {18446744073709551615ULL, 1}},
        {"shape", "007,010", F_SHAPE, 2, {7, 10}},
        {"dtype", "float32", F_DTYPE, GP_FLOAT32, {0}},
        {"dtype", "float16", F_DTYPE, GP_FLOAT16, {0}},
        {"dtype", "bfloat16", F_DTYPE, GP_BFLOAT16, {0}},
        {"dtype", "float64", F_DTYPE, GP_FLOAT64, {0}},
        {"seed", "0", F_SEED, 0, {0}},
        {"seed", "42", F_SEED, 42, {0}},
        {"seed", "00042", F_SEED, 42, {0}},
        {"seed", "9223372036854775808", F_SEED, P2(63), {0}},
        {"seed", U64_MAX_TEXT, F_SEED, 18446744073709551615ULL, {0}},
        {"algorithm", "chacha20", F_ALGORITHM, GP_ALG_CHACHA20, {0}},
        {"algorithm", "mlx", F_ALGORITHM, GP_ALG_MLX, {0}},
        {"algorithm", "mlx-seeded", F_ALGORITHM, GP_ALG_MLX_SEEDED, {0}},
        {"call", "1", F_CALL, 1, {0}},
        {"call", "7", F_CALL, 7, {0}},
        {"call", "1000000", F_CALL, GP_MAX_CALL, {0}},
        {"fan", "mlx", F_FAN, GP_FAN_MLX, {0}},
        {"fan", "torch", F_FAN, GP_FAN_TORCH, {0}},
        {"fan", "keras", F_FAN, GP_FAN_KERAS, {0}},
        {"fan", "jax", F_FAN, GP_FAN_KERAS, {0}},
        {"fan_in", "1", F_FAN_IN, 1, {0}},
        {"fan_in", U64_MAX_TEXT, F_FAN_IN, 18446744073709551615ULL, {0}},
        {"fan_out", "7", F_FAN_OUT, 7, {0}},
        {"fan_out", U64_MAX_TEXT, F_FAN_OUT, 18446744073709551615ULL, {0}},
        {"name", "weight", F_NAME, 0, {0}},
        {"name", "w", F_NAME, 0, {0}},
        {"name", "layers.0.attn.q_proj.weight", F_NAME, 0, {0}},
        {"name", "a b/\"c\"\\d", F_NAME, 0, {0}},
        {"name", "\xc3\xa9", F_NAME, 0, {0}},         /* U+00E9 */
        {"name", "\xc2\x80", F_NAME, 0, {0}},         /* U+0080, not a C0 control */
        {"name", "\xe2\x82\xac", F_NAME, 0, {0}},     /* U+20AC */
        {"name", "\xef\xbf\xbf", F_NAME, 0, {0}},     /* U+FFFF */
        {"name", "\xf0\x9d\x84\x9e", F_NAME, 0, {0}}, /* U+1D11E */
        {"name", "\xf4\x8f\xbf\xbf", F_NAME, 0, {0}}, /* U+10FFFF */
        {"format", "raw", F_FORMAT, GP_FORMAT_RAW, {0}},
        {"format", "npy", F_FORMAT, GP_FORMAT_NPY, {0}},
        {"format", "safetensors", F_FORMAT, GP_FORMAT_SAFETENSORS, {0}},
        {"format", "json", F_FORMAT, GP_FORMAT_JSON, {0}},
    };
    return cr_make_param_array(valid_case, cases, sizeof cases / sizeof cases[0]);
}

static uint64_t field_value(const gp_request *r, field f)
{
    switch (f) {
    case F_SHAPE:
        return r->rank;
    case F_DTYPE:
        return r->dtype;
    case F_SEED:
        return r->seed;
    case F_ALGORITHM:
        return r->algorithm;
    case F_CALL:
        return r->call;
    case F_FAN:
        return r->fan;
    case F_FAN_IN:
        return r->fan_in_override;
    case F_FAN_OUT:
        return r->fan_out_override;
    case F_FORMAT:
        return r->format;
    case F_NAME:
        break;
    }
    return 0;
}

ParameterizedTest(valid_case *c, request, valid)
{
    gp_request r;
    gp_error err = {0};
    gp_request_init(&r);
    gp_code rc = set_str(&r, c->key, c->value, &err);
    cr_assert_eq(rc, GP_OK, "%s=%s: %s", c->key, c->value, err.message);
    cr_expect_eq(err.code, GP_OK);
    cr_expect_neq(r.set_mask, 0, "%s: set_mask not updated", c->key);
    if (c->field == F_NAME) {
        cr_expect_eq(r.name_len, strlen(c->value));
        cr_expect_str_eq(r.name, c->value);
        return;
    }
    cr_expect_eq(field_value(&r, c->field), c->want, "%s=%s", c->key, c->value);
    if (c->field == F_SHAPE)
        for (size_t i = 0; i < c->want; i++)
            cr_expect_eq(r.shape[i], c->dims[i], "%s dim %zu", c->value, i);
    cr_expect_eq(r.seed_set, c->field == F_SEED);
    cr_expect_eq(r.format_set, c->field == F_FORMAT);
}

Test(request, name_of_exactly_256_bytes_is_accepted)
{
    char name[GP_MAX_NAME];
    gp_request r;
    gp_error err = {0};
    memset(name, 'n', sizeof name);
    name[0] = '\xc3'; /* a two-byte character keeps it valid and exercises byte counting */
    name[1] = '\xa9';
    gp_request_init(&r);
    cr_assert_eq(gp_request_set(&r, "name", 4, name, sizeof name, &err), GP_OK, "%s", err.message);
    cr_expect_eq(r.name_len, GP_MAX_NAME);
    cr_expect_eq(r.name[GP_MAX_NAME], '\0');
    cr_expect_eq(memcmp(r.name, name, sizeof name), 0);
}

Test(request, name_of_257_bytes_is_rejected)
{
    char name[GP_MAX_NAME + 1];
    gp_request r;
    gp_error err = {0};
    memset(name, 'n', sizeof name);
    gp_request_init(&r);
    cr_assert_eq(gp_request_set(&r, "name", 4, name, sizeof name, &err), GP_EPARAM);
    cr_expect_str_eq(err.param, "name");
    cr_expect(strstr(err.message, "257 bytes") != NULL, "%s", err.message);
    cr_expect_str_eq(r.name, GP_DEFAULT_NAME);
}

/* ---- gain ---------------------------------------------------------------------- */

typedef struct {
    char value[64];
    uint64_t bits;
    char spec[48];
} gain_case;

static gain_case gain_cases[] = {
    /* calculate_gain names, evaluated as PyTorch does */
    {"linear", 0x3ff0000000000000ULL, "linear"},
    {"conv1d", 0x3ff0000000000000ULL, "conv1d"},
    {"conv2d", 0x3ff0000000000000ULL, "conv2d"},
    {"conv3d", 0x3ff0000000000000ULL, "conv3d"},
    {"conv_transpose1d", 0x3ff0000000000000ULL, "conv_transpose1d"},
    {"conv_transpose2d", 0x3ff0000000000000ULL, "conv_transpose2d"},
    {"conv_transpose3d", 0x3ff0000000000000ULL, "conv_transpose3d"},
    {"sigmoid", 0x3ff0000000000000ULL, "sigmoid"},
    {"tanh", 0x3ffaaaaaaaaaaaabULL, "tanh"},
    {"relu", 0x3ff6a09e667f3bcdULL, "relu"},
    {"selu", 0x3fe8000000000000ULL, "selu"},
    {"leaky_relu", 0x3ff6a05442aad7e4ULL, "leaky_relu"},
    {"leaky_relu:0.2", 0x3ff63021484ae2bbULL, "leaky_relu:0.2"},
    {"leaky_relu:0.20", 0x3ff63021484ae2bbULL, "leaky_relu:0.2"},
    {"leaky_relu:-0.5", 0x3ff43d136248490fULL, "leaky_relu:-0.5"},
    {"leaky_relu:0", 0x3ff6a09e667f3bcdULL, "leaky_relu:0"},
    {"leaky_relu:-0", 0x3ff6a09e667f3bcdULL, "leaky_relu:-0"},
    {"leaky_relu:1e200", 0x0000000000000000ULL, "leaky_relu:1e+200"},
    {"leaky_relu:.01", 0x3ff6a05442aad7e4ULL, "leaky_relu:0.01"},
    {"leaky_relu:1", 0x3ff0000000000000ULL, "leaky_relu:1"},
    {"leaky_relu:100", 0x3f8cf62e69d07080ULL, "leaky_relu:100"},
    {"leaky_relu:-1e-3", 0x3ff6a09da8af4315ULL, "leaky_relu:-0.001"},
    /* numbers: shortest text that reads back as the same double */
    {"1", 0x3ff0000000000000ULL, "1"},
    {"1.0", 0x3ff0000000000000ULL, "1"},
    {"0.5", 0x3fe0000000000000ULL, "0.5"},
    {"0.50", 0x3fe0000000000000ULL, "0.5"},
    {".5", 0x3fe0000000000000ULL, "0.5"},
    {"5.", 0x4014000000000000ULL, "5"},
    {"1.4142135623730951", 0x3ff6a09e667f3bcdULL, "1.4142135623730951"},
    {"1.41421356237309504880", 0x3ff6a09e667f3bcdULL, "1.4142135623730951"},
    {"1e2", 0x4059000000000000ULL, "100"},
    {"1e+2", 0x4059000000000000ULL, "100"},
    {"2.5E-3", 0x3f647ae147ae147bULL, "0.0025"},
    {"1e16", 0x4341c37937e08000ULL, "1e+16"},
    {"1e15", 0x430c6bf526340000ULL, "1000000000000000"},
    {"123456789012345678", 0x437b69b4ba630f35ULL, "1.2345678901234568e+17"},
    {"0.0001", 0x3f1a36e2eb1c432dULL, "0.0001"},
    {"1e-4", 0x3f1a36e2eb1c432dULL, "0.0001"},
    {"0.00001", 0x3ee4f8b588e368f1ULL, "1e-05"},
    {"1e-400", 0x0000000000000000ULL, "0"},
    {"5e-324", 0x0000000000000001ULL, "5e-324"},
    {"0", 0x0000000000000000ULL, "0"},
    {"0.1", 0x3fb999999999999aULL, "0.1"},
    {"0.30000000000000004", 0x3fd3333333333334ULL, "0.30000000000000004"},
    {"1.7976931348623157e308", 0x7fefffffffffffffULL, "1.7976931348623157e+308"},
    {"00042", 0x4045000000000000ULL, "42"},
    {"1.5e-7", 0x3e8421f5f40d8376ULL, "1.5e-07"},
    {"1e100", 0x54b249ad2594c37dULL, "1e+100"},
    {"9007199254740993", 0x4340000000000000ULL, "9007199254740992"},
    {"123.456e-300", 0x0214ab5dddb7065bULL, "1.23456e-298"},
};

ParameterizedTestParameters(request, gain)
{
    return cr_make_param_array(gain_case, gain_cases, sizeof gain_cases / sizeof gain_cases[0]);
}

ParameterizedTest(gain_case *c, request, gain)
{
    gp_request r;
    gp_error err = {0};
    gp_request_init(&r);
    cr_assert_eq(set_str(&r, "gain", c->value, &err), GP_OK, "gain=%s: %s", c->value, err.message);
    cr_expect_eq(bits_of(r.gain), c->bits, "gain=%s: got %a", c->value, r.gain);
    cr_expect_str_eq(r.gain_spec, c->spec, "gain=%s", c->value);
}

ParameterizedTestParameters(request, gain_spec_round_trips)
{
    return cr_make_param_array(gain_case, gain_cases, sizeof gain_cases / sizeof gain_cases[0]);
}

/* The canonical text of a number is itself accepted and means the same double. */
ParameterizedTest(gain_case *c, request, gain_spec_round_trips)
{
    gp_request a, b;
    gp_error err = {0};
    gp_request_init(&a);
    gp_request_init(&b);
    cr_assert_eq(set_str(&a, "gain", c->value, &err), GP_OK);
    cr_assert_eq(set_str(&b, "gain", a.gain_spec, &err), GP_OK, "%s: %s", a.gain_spec, err.message);
    cr_expect_eq(bits_of(a.gain), bits_of(b.gain), "%s", c->value);
    cr_expect_str_eq(a.gain_spec, b.gain_spec);
}

/* ---- rejected values ------------------------------------------------------------- */

typedef struct {
    char key[16];
    char value[80];
    size_t len; /* 0: strlen(value); set for values with a NUL inside */
    gp_code code;
    char param[16];
    char msg[72]; /* a substring of the message */
} bad_case;

#define DIGITS65 "11111111111111111111111111111111111111111111111111111111111111111"

ParameterizedTestParameters(request, bad)
{
    static bad_case cases[] = {
        /* shape */
        {"shape", "", 0, GP_EPARAM, "shape", "is empty"},
        {"shape", "256,512,", 0, GP_EPARAM, "shape", "dimension 3 is empty"},
        {"shape", ",256,512", 0, GP_EPARAM, "shape", "dimension 1 is empty"},
        {"shape", "256,,512", 0, GP_EPARAM, "shape", "dimension 2 is empty"},
        {"shape", ",", 0, GP_EPARAM, "shape", "dimension 1 is empty"},
        {"shape", "256, 512", 0, GP_EPARAM, "shape", "dimension 2 \" 512\" is not a plain"},
        {"shape", " 256,512", 0, GP_EPARAM, "shape", "not a plain decimal integer"},
        {"shape", "256,512 ", 0, GP_EPARAM, "shape", "not a plain decimal integer"},
        {"shape", "+1,2", 0, GP_EPARAM, "shape", "not a plain decimal integer"},
        {"shape", "-1,2", 0, GP_EPARAM, "shape", "not a plain decimal integer"},
        {"shape", "1.0,2", 0, GP_EPARAM, "shape", "not a plain decimal integer"},
        {"shape", "1e3,2", 0, GP_EPARAM, "shape", "not a plain decimal integer"},
        {"shape", "0x10,2", 0, GP_EPARAM, "shape", "not a plain decimal integer"},
        {"shape", "256x512", 0, GP_EPARAM, "shape", "not a plain decimal integer"},
        {"shape", "[256,512]", 0, GP_EPARAM, "shape", "not a plain decimal integer"},
        {"shape", "256;512", 0, GP_EPARAM, "shape", "not a plain decimal integer"},
        {"shape", "0,5", 0, GP_EPARAM, "shape", "dimension 1 is 0"},
        {"shape", "5,0", 0, GP_EPARAM, "shape", "dimension 2 is 0"},
        {"shape", "5,000", 0, GP_EPARAM, "shape", "dimension 2 is 0"},
        {"shape", "1,2,3,4,5,6,7,8,9", 0, GP_EPARAM, "shape", "more than 8 dimensions"},
        {"shape", "18446744073709551616,1", 0, GP_EPARAM, "shape", "dimension 1 is larger than"},
        {"shape", "1,99999999999999999999999", 0, GP_EPARAM, "shape", "dimension 2 is larger"},
        {"shape", "1\0,2", 4, GP_EPARAM, "shape", "NUL byte"},
        /* gain */
        {"gain", "", 0, GP_EPARAM, "gain", "is empty"},
        {"gain", "-1", 0, GP_EPARAM, "gain", "is negative"},
        {"gain", "-0", 0, GP_EPARAM, "gain", "is negative"},
        {"gain", "+1", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", "0x1p3", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", "NaN", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", "Infinity", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", "inf", 0, GP_EPARAM, "gain", "not a known nonlinearity"},
        {"gain", "nan", 0, GP_EPARAM, "gain", "not a known nonlinearity"},
        {"gain", "e5", 0, GP_EPARAM, "gain", "not a known nonlinearity"},
        {"gain", "1e999", 0, GP_EPARAM, "gain", "too large"},
        {"gain", "1.5.2", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", "1e", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", "1e+", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", ".", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", ".e1", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", " 1", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", "1 ", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", "1,5", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", "1_000", 0, GP_EPARAM, "gain", "not a plain decimal number"},
        {"gain", "\xd9\xa1", 0, GP_EPARAM, "gain", "\"\\xd9\\xa1\" is not a plain"},
        {"gain", DIGITS65, 0, GP_EPARAM, "gain", "longer than 64 characters"},
        {"gain", "RELU", 0, GP_EPARAM, "gain", "leaky_relu[:SLOPE]"},
        {"gain", "relu ", 0, GP_EPARAM, "gain", "not a known nonlinearity"},
        {"gain", "relu:0.2", 0, GP_EPARAM, "gain", "not a known nonlinearity"},
        {"gain", "leaky_relux", 0, GP_EPARAM, "gain", "not a known nonlinearity"},
        {"gain", "leaky_relu:", 0, GP_EPARAM, "gain", "needs a slope"},
        {"gain", "leaky_relu:abc", 0, GP_EPARAM, "gain", "slope \"abc\" is not a finite"},
        {"gain", "leaky_relu:1e999", 0, GP_EPARAM, "gain", "slope \"1e999\" is not a finite"},
        {"gain", "leaky_relu:inf", 0, GP_EPARAM, "gain", "is not a finite"},
        {"gain", "leaky_relu:+1", 0, GP_EPARAM, "gain", "is not a finite"},
        {"gain", "leaky_relu:--1", 0, GP_EPARAM, "gain", "is not a finite"},
        {"gain", "leaky_relu: 0.2", 0, GP_EPARAM, "gain", "is not a finite"},
        {"gain", "leaky_relu:0.2x", 0, GP_EPARAM, "gain", "is not a finite"},
        {"gain", "leaky_relu:" DIGITS65, 0, GP_EPARAM, "gain", "at most 64 characters"},
        {"gain", "1\0", 2, GP_EPARAM, "gain", "NUL byte"},
        /* dtype */
        {"dtype", "float8", 0, GP_EPARAM, "dtype",
         "\"float8\" is not supported; use float32, float16, bfloat16 or float64"},
        {"dtype", "FLOAT32", 0, GP_EPARAM, "dtype", "is not supported"},
        {"dtype", "float32 ", 0, GP_EPARAM, "dtype", "is not supported"},
        {"dtype", "", 0, GP_EPARAM, "dtype", "\"\" is not supported"},
        {"dtype", "f32", 0, GP_EPARAM, "dtype", "is not supported"},
        {"dtype", "half", 0, GP_EPARAM, "dtype", "is not supported"},
        {"dtype", "float32\0", 8, GP_EPARAM, "dtype", "NUL byte"},
        /* seed */
        {"seed", "", 0, GP_EPARAM, "seed", "is empty"},
        {"seed", "-1", 0, GP_EPARAM, "seed", "\"-1\" is not a plain decimal integer"},
        {"seed", "1e3", 0, GP_EPARAM, "seed", "not a plain decimal integer"},
        {"seed", " 1", 0, GP_EPARAM, "seed", "not a plain decimal integer"},
        {"seed", "1 ", 0, GP_EPARAM, "seed", "not a plain decimal integer"},
        {"seed", "42.0", 0, GP_EPARAM, "seed", "not a plain decimal integer"},
        {"seed", "4.2e1", 0, GP_EPARAM, "seed", "not a plain decimal integer"},
        {"seed", "+1", 0, GP_EPARAM, "seed", "not a plain decimal integer"},
        {"seed", "0x10", 0, GP_EPARAM, "seed", "not a plain decimal integer"},
        {"seed", "abc", 0, GP_EPARAM, "seed", "not a plain decimal integer"},
        {"seed", "18446744073709551616", 0, GP_EPARAM, "seed",
         "out of range; allowed 0..18446744073709551615"},
        {"seed", "99999999999999999999", 0, GP_EPARAM, "seed", "out of range"},
        {"seed", "0000018446744073709551616", 0, GP_EPARAM, "seed", "out of range"},
        {"seed", "1\0", 2, GP_EPARAM, "seed", "NUL byte"},
        /* algorithm */
        {"algorithm", "MLX", 0, GP_EPARAM, "algorithm", "use chacha20, mlx or mlx-seeded"},
        {"algorithm", "chacha", 0, GP_EPARAM, "algorithm", "is not supported"},
        {"algorithm", "mlx_seeded", 0, GP_EPARAM, "algorithm", "is not supported"},
        {"algorithm", "threefry", 0, GP_EPARAM, "algorithm", "is not supported"},
        {"algorithm", "", 0, GP_EPARAM, "algorithm", "is not supported"},
        /* call */
        {"call", "0", 0, GP_EPARAM, "call", "out of range; allowed 1..1000000"},
        {"call", "1000001", 0, GP_EPARAM, "call", "out of range"},
        {"call", "18446744073709551616", 0, GP_EPARAM, "call", "out of range"},
        {"call", "-1", 0, GP_EPARAM, "call", "not a plain decimal integer"},
        {"call", "1.5", 0, GP_EPARAM, "call", "not a plain decimal integer"},
        {"call", "", 0, GP_EPARAM, "call", "is empty"},
        /* fan */
        {"fan", "pytorch", 0, GP_EPARAM, "fan", "use mlx, torch or keras"},
        {"fan", "Torch", 0, GP_EPARAM, "fan", "is not supported"},
        {"fan", "flax", 0, GP_EPARAM, "fan", "is not supported"},
        {"fan", "", 0, GP_EPARAM, "fan", "is not supported"},
        /* fan_in, fan_out */
        {"fan_in", "0", 0, GP_EPARAM, "fan_in", "out of range; allowed 1..18446744073709551615"},
        {"fan_in", "-5", 0, GP_EPARAM, "fan_in", "not a plain decimal integer"},
        {"fan_in", "1.5", 0, GP_EPARAM, "fan_in", "not a plain decimal integer"},
        {"fan_in", "", 0, GP_EPARAM, "fan_in", "is empty"},
        {"fan_in", "18446744073709551616", 0, GP_EPARAM, "fan_in", "out of range"},
        {"fan_out", "0", 0, GP_EPARAM, "fan_out", "out of range"},
        {"fan_out", "x", 0, GP_EPARAM, "fan_out", "not a plain decimal integer"},
        {"fan_out", "18446744073709551616", 0, GP_EPARAM, "fan_out", "out of range"},
        /* name */
        {"name", "", 0, GP_EPARAM, "name", "is 0 bytes; allowed 1..256"},
        {"name", "a\tb", 0, GP_EPARAM, "name", "control character 0x09 at byte 1"},
        {"name", "a\nb", 0, GP_EPARAM, "name", "control character 0x0a"},
        {"name", "\x7f", 0, GP_EPARAM, "name", "control character 0x7f"},
        {"name", "\x1b[31m", 0, GP_EPARAM, "name", "control character 0x1b"},
        {"name", "a\0b", 3, GP_EPARAM, "name", "NUL byte"},
        {"name", "\xc0\xaf", 0, GP_EPARAM, "name", "invalid UTF-8 at byte 0"}, /* overlong */
        {"name", "ab\xc1\xbf", 0, GP_EPARAM, "name", "invalid UTF-8 at byte 2"},
        {"name", "\xe0\x80\xaf", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\xe0\x9f\xbf", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\xf0\x80\x80\xaf", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\xf0\x8f\xbf\xbf", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\xed\xa0\x80", 0, GP_EPARAM, "name", "invalid UTF-8"},     /* U+D800 */
        {"name", "\xed\xbf\xbf", 0, GP_EPARAM, "name", "invalid UTF-8"},     /* U+DFFF */
        {"name", "\xf4\x90\x80\x80", 0, GP_EPARAM, "name", "invalid UTF-8"}, /* U+110000 */
        {"name", "\xf5\x80\x80\x80", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\xf8\x88\x80\x80\x80", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\xff", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\xfe", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\x80", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "abc\xc3", 0, GP_EPARAM, "name", "invalid UTF-8 at byte 3"},
        {"name", "\xe2\x82", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\xf0\x9d\x84", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\xc3\x28", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\xe2\x28\xa1", 0, GP_EPARAM, "name", "invalid UTF-8"},
        {"name", "\xe2\x82\x28", 0, GP_EPARAM, "name", "invalid UTF-8"},
        /* format */
        {"format", "NPY", 0, GP_EPARAM, "format", "use raw, npy, safetensors or json"},
        {"format", "numpy", 0, GP_EPARAM, "format", "is not supported"},
        {"format", "bin", 0, GP_EPARAM, "format", "is not supported"},
        {"format", "safetensor", 0, GP_EPARAM, "format", "is not supported"},
        {"format", "", 0, GP_EPARAM, "format", "is not supported"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_case *c, request, bad)
{
    gp_request r, before;
    gp_error err = {0};
    size_t len = c->len ? c->len : strlen(c->value);
    gp_request_init(&r);
    before = r;
    gp_code rc = gp_request_set(&r, c->key, strlen(c->key), c->value, len, &err);
    cr_assert_eq(rc, c->code, "%s=%s: code %d (%s)", c->key, c->value, rc, err.message);
    cr_expect_eq(err.code, c->code);
    cr_expect_str_eq(err.param, c->param, "%s=%s", c->key, c->value);
    cr_expect(strstr(err.message, c->msg) != NULL, "%s: message \"%s\" lacks \"%s\"", c->key,
              err.message, c->msg);
    cr_expect(strncmp(err.message, c->key, strlen(c->key)) == 0, "message names the key: %s",
              err.message);
    expect_clean_error(&err, c->key);
    cr_expect_eq(memcmp(&r, &before, sizeof r), 0, "%s: a failed set changed the request", c->key);
}

Test(request, bad_value_without_error_struct)
{
    gp_request r;
    gp_request_init(&r);
    cr_expect_eq(set_str(&r, "seed", "-1", NULL), GP_EPARAM);
    cr_expect_eq(set_str(&r, "nope", "1", NULL), GP_EPARAM);
    cr_expect_eq(r.seed_set, 0);
}

/* ---- repeated keys --------------------------------------------------------------- */

typedef struct {
    char key[16];
    char first[24];
    char second[24];
} repeat_case;

ParameterizedTestParameters(request, repeated)
{
    static repeat_case cases[] = {
        {"shape", "3,5", "4,6"},
        {"gain", "1", "2"},
        {"dtype", "float16", "float32"},
        {"seed", "1", "2"},
        {"algorithm", "mlx", "mlx"},
        {"call", "2", "3"},
        {"fan", "torch", "keras"},
        {"fan_in", "5", "6"},
        {"fan_out", "5", "6"},
        {"name", "a", "b"},
        {"format", "npy", "json"},
        /* the rest of the keys, the initializers' own parameters among them */
        {"slice", "0:1", "0:2"},
        {"shard", "0/2", "1/2"},
        {"axis", "0", "1"},
        {"split", "chunk", "even"},
        {"stride", "1", "2"},
        {"init", "normal", "uniform"},
        {"mode", "fan_in", "fan_out"},
        {"low", "0", "1"},
        {"high", "1", "2"},
        {"mean", "0", "1"},
        {"std", "1", "2"},
        {"a", "-1", "-2"},
        {"b", "1", "2"},
        {"value", "0", "1"},
    };
    return cr_make_param_array(repeat_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(repeat_case *c, request, repeated)
{
    gp_request r, after_first;
    gp_error err = {0};
    gp_request_init(&r);
    cr_assert_eq(set_str(&r, c->key, c->first, &err), GP_OK, "%s", err.message);
    after_first = r;
    cr_assert_eq(set_str(&r, c->key, c->second, &err), GP_EPARAM);
    cr_expect_str_eq(err.param, c->key);
    cr_expect(strstr(err.message, "given more than once") != NULL, "%s", err.message);
    expect_clean_error(&err, c->key);
    cr_expect_eq(memcmp(&r, &after_first, sizeof r), 0, "%s: the repeat changed the request",
                 c->key);
}

/* A rejected value does not count as given: the request is already failed,
 * and the caller sees the first error, not a confusing "given twice". */
Test(request, rejected_value_does_not_count_as_given)
{
    gp_request r;
    gp_error err = {0};
    gp_request_init(&r);
    cr_assert_eq(set_str(&r, "seed", "x", &err), GP_EPARAM);
    gp_error err2 = {0};
    cr_expect_eq(set_str(&r, "seed", "7", &err2), GP_OK, "%s", err2.message);
    cr_expect_eq(r.seed, 7);
}

/* ---- unknown keys ------------------------------------------------------------------- */

typedef struct {
    char key[48];
    size_t len; /* 0: strlen(key) */
    char param[32];
} unknown_case;

ParameterizedTestParameters(request, unknown)
{
    static unknown_case cases[] = {
        {"Shape", 0, "Shape"},
        {"SHAPE", 0, "SHAPE"},
        {"shapes", 0, "shapes"},
        {"shap", 0, "shap"},
        {"", 0, ""},
        {"seed ", 0, "seed "},
        {" seed", 0, " seed"},
        {"fan-in", 0, "fan-in"},
        {"fanin", 0, "fanin"},
        {"weights", 0, "weights"},
        {"size", 0, "size"},
        {"modes", 0, "modes"},
        {"\xff\xfe", 0, "\\xff\\xfe"},
        {"a\0b", 3, "a\\x00b"},
        {"shape\0", 6, "shape\\x00"},
        {"na\"me", 0, "na\\x22me"},
        {"a\\b", 0, "a\\x5cb"},
        {"abcdefghijklmnopqrstuvwxyz0123456789ABCD", 0, "abcdefghijklmnopqrstuvwx..."},
        {"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 0, "\\xff\\xff\\xff\\xff\\xff\\xff..."},
    };
    return cr_make_param_array(unknown_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(unknown_case *c, request, unknown)
{
    gp_request r, before;
    gp_error err = {0};
    size_t len = c->len ? c->len : strlen(c->key);
    gp_request_init(&r);
    before = r;
    cr_assert_eq(gp_request_set(&r, c->key, len, "1", 1, &err), GP_EPARAM);
    cr_expect_str_eq(err.param, c->param);
    cr_expect(strstr(err.message, "unknown parameter") != NULL, "%s", err.message);
    cr_expect(strstr(err.message, "known parameters: shape, gain, dtype, seed, algorithm, call, "
                                  "fan, fan_in, fan_out, name, format") != NULL,
              "%s", err.message);
    expect_clean_error(&err, c->param);
    cr_expect_eq(memcmp(&r, &before, sizeof r), 0);
}

/* ---- binary junk --------------------------------------------------------------------- */

static const char *const all_keys[] = {"shape", "gain",   "dtype",   "seed", "algorithm", "call",
                                       "fan",   "fan_in", "fan_out", "name", "format"};
#define KEY_COUNT (sizeof all_keys / sizeof all_keys[0])

static void check_junk(const char *key, size_t klen, const char *v, size_t n)
{
    gp_request r, before;
    gp_error err = {0};
    gp_request_init(&r);
    before = r;
    gp_code rc = gp_request_set(&r, key, klen, v, n, &err);
    if (rc == GP_OK)
        return;
    cr_assert_eq(rc, GP_EPARAM, "key %.*s: code %d", (int)klen, key, rc);
    cr_assert(printable(err.message) && printable(err.param), "key %.*s: unprintable error",
              (int)klen, key);
    cr_assert(err.message[0] != '\0');
    cr_assert_eq(memcmp(&r, &before, sizeof r), 0);
}

/* Every single byte, and byte,byte, as the value of every key and as a key. */
Test(request, every_byte_gives_a_printable_error)
{
    for (unsigned b = 0; b < 256; b++) {
        char one = (char)b, three[3] = {(char)b, ',', (char)b};
        for (size_t k = 0; k < KEY_COUNT; k++) {
            check_junk(all_keys[k], strlen(all_keys[k]), &one, 1);
            check_junk(all_keys[k], strlen(all_keys[k]), three, 3);
        }
        check_junk(&one, 1, "1", 1);
        check_junk(three, 3, "1", 1);
    }
}

/* Long junk: the echo is bounded and the message is never cut mid-way. */
Test(request, long_junk_is_quoted_briefly)
{
    static char junk[10000];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(0x80 + i % 128);
    for (size_t k = 0; k < KEY_COUNT; k++) {
        gp_request r;
        gp_error err = {0};
        gp_request_init(&r);
        cr_assert_eq(gp_request_set(&r, all_keys[k], strlen(all_keys[k]), junk, sizeof junk, &err),
                     GP_EPARAM, "%s", all_keys[k]);
        expect_clean_error(&err, all_keys[k]);
        cr_expect_str_eq(err.param, all_keys[k]);
    }
    gp_request r;
    gp_error err = {0};
    gp_request_init(&r);
    cr_assert_eq(gp_request_set(&r, junk, sizeof junk, "1", 1, &err), GP_EPARAM);
    expect_clean_error(&err, "long key");
    cr_expect(strstr(err.message, "...") != NULL, "%s", err.message);
    cr_expect_lt(strlen(err.param), sizeof err.param);
}

/* ---- gp_request_finish --------------------------------------------------------------- */

typedef struct {
    char label[48];
    char kv[6][2][48]; /* (key, value) pairs, ending at the first empty key */
    uint64_t max_elements, max_bytes;
    gp_code code;
    char param[16];
    char msg[80];
    uint64_t numel, nbytes, fan_in, fan_out, limit_bits, call;
} finish_case;

#define SQRT_6_8 0x3febb67ae8584caaULL /* limit of (3,5) with gain 1 */

ParameterizedTestParameters(request, finish)
{
    static finish_case cases[] = {
        {.label = "3x5",
         .kv = {{"shape", "3,5"}},
         .numel = 15,
         .nbytes = 60,
         .fan_in = 5,
         .fan_out = 3,
         .limit_bits = SQRT_6_8,
         .call = 1},
        {.label = "no shape", .code = GP_EPARAM, .param = "shape", .msg = "is required"},
        {.label = "no shape, other keys",
         .kv = {{"dtype", "float16"}, {"seed", "1"}},
         .code = GP_EPARAM,
         .param = "shape",
         .msg = "is required"},
        /* overflow of the element and byte counts */
        {.label = "numel 2^64",
         .kv = {{"shape", "4294967296,4294967296"}},
         .code = GP_EPARAM,
         .param = "shape",
         .msg = "element count overflows"},
        {.label = "numel 2^64 in rank 8",
         .kv = {{"shape", "256,256,256,256,256,256,256,256"}},
         .code = GP_EPARAM,
         .param = "shape",
         .msg = "element count overflows"},
        {.label = "bytes 2^64 float32",
         .kv = {{"shape", "2305843009213693952,2"}},
         .code = GP_EPARAM,
         .param = "shape",
         .msg = "byte count"},
        {.label = "bytes 2^63 float16",
         .kv = {{"shape", "2305843009213693952,2"}, {"dtype", "float16"}},
         .numel = P2(62),
         .nbytes = P2(63),
         .fan_in = 2,
         .fan_out = P2(61),
         .limit_bits = 0x3e1bb67ae8584caaULL,
         .call = 1},
        {.label = "bytes 2^64 float64",
         .kv = {{"shape", "1152921504606846976,2"}, {"dtype", "float64"}},
         .code = GP_EPARAM,
         .param = "shape",
         .msg = "byte count"},
        /* caps: exactly at the cap passes, one over fails */
        {.label = "elements at cap",
         .kv = {{"shape", "3,5"}},
         .max_elements = 15,
         .numel = 15,
         .nbytes = 60,
         .fan_in = 5,
         .fan_out = 3,
         .limit_bits = SQRT_6_8,
         .call = 1},
        {.label = "elements cap+1",
         .kv = {{"shape", "3,5"}},
         .max_elements = 14,
         .code = GP_ELIMIT,
         .param = "shape",
         .msg = "15 elements exceed this server's cap of 14"},
        {.label = "elements 16 over 15",
         .kv = {{"shape", "4,4"}},
         .max_elements = 15,
         .code = GP_ELIMIT,
         .param = "shape",
         .msg = "cap of 15"},
        {.label = "bytes at cap float32",
         .kv = {{"shape", "3,5"}},
         .max_bytes = 60,
         .numel = 15,
         .nbytes = 60,
         .fan_in = 5,
         .fan_out = 3,
         .limit_bits = SQRT_6_8,
         .call = 1},
        {.label = "bytes cap+1 float32",
         .kv = {{"shape", "3,5"}},
         .max_bytes = 59,
         .code = GP_ELIMIT,
         .param = "shape",
         .msg = "60 bytes of float32 exceed"},
        {.label = "bytes at cap float16",
         .kv = {{"shape", "3,5"}, {"dtype", "float16"}},
         .max_bytes = 30,
         .numel = 15,
         .nbytes = 30,
         .fan_in = 5,
         .fan_out = 3,
         .limit_bits = SQRT_6_8,
         .call = 1},
        {.label = "bytes cap+1 float16",
         .kv = {{"shape", "3,5"}, {"dtype", "float16"}},
         .max_bytes = 29,
         .code = GP_ELIMIT,
         .param = "shape",
         .msg = "cap of 29 bytes"},
        {.label = "bytes at cap bfloat16",
         .kv = {{"shape", "3,5"}, {"dtype", "bfloat16"}},
         .max_bytes = 30,
         .numel = 15,
         .nbytes = 30,
         .fan_in = 5,
         .fan_out = 3,
         .limit_bits = SQRT_6_8,
         .call = 1},
        {.label = "bytes at cap float64",
         .kv = {{"shape", "3,5"}, {"dtype", "float64"}},
         .max_bytes = 120,
         .numel = 15,
         .nbytes = 120,
         .fan_in = 5,
         .fan_out = 3,
         .limit_bits = SQRT_6_8,
         .call = 1},
        {.label = "bytes cap+1 float64",
         .kv = {{"shape", "3,5"}, {"dtype", "float64"}},
         .max_bytes = 119,
         .code = GP_ELIMIT,
         .param = "shape",
         .msg = "120 bytes of float64"},
        {.label = "both caps at limit",
         .kv = {{"shape", "3,5"}},
         .max_elements = 15,
         .max_bytes = 60,
         .numel = 15,
         .nbytes = 60,
         .fan_in = 5,
         .fan_out = 3,
         .limit_bits = SQRT_6_8,
         .call = 1},
        /* MLX has no float64 */
        {.label = "float64 mlx",
         .kv = {{"shape", "3,5"}, {"dtype", "float64"}, {"algorithm", "mlx"}},
         .code = GP_EUNSUPPORTED,
         .param = "dtype",
         .msg = "MLX has no float64"},
        {.label = "float64 mlx-seeded",
         .kv = {{"shape", "3,5"}, {"algorithm", "mlx-seeded"}, {"dtype", "float64"}},
         .code = GP_EUNSUPPORTED,
         .param = "dtype",
         .msg = "float64 is not available"},
        {.label = "float64 chacha20",
         .kv = {{"shape", "3,5"}, {"dtype", "float64"}, {"algorithm", "chacha20"}},
         .numel = 15,
         .nbytes = 120,
         .fan_in = 5,
         .fan_out = 3,
         .limit_bits = SQRT_6_8,
         .call = 1},
        {.label = "float64 mlx is 422 before a cap's 413",
         .kv = {{"shape", "3,5"}, {"dtype", "float64"}, {"algorithm", "mlx"}},
         .max_elements = 1,
         .code = GP_EUNSUPPORTED,
         .param = "dtype",
         .msg = "MLX"},
        /* call only with mlx-seeded */
        {.label = "call alone",
         .kv = {{"shape", "3,5"}, {"call", "5"}},
         .code = GP_EPARAM,
         .param = "call",
         .msg = "only applies to algorithm=mlx-seeded"},
        {.label = "call with mlx",
         .kv = {{"shape", "3,5"}, {"call", "5"}, {"algorithm", "mlx"}},
         .code = GP_EPARAM,
         .param = "call",
         .msg = "(algorithm is mlx)"},
        {.label = "call with chacha20",
         .kv = {{"algorithm", "chacha20"}, {"call", "1"}, {"shape", "3,5"}},
         .code = GP_EPARAM,
         .param = "call",
         .msg = "mlx-seeded"},
        {.label = "call with mlx-seeded",
         .kv = {{"shape", "3,5"}, {"call", "5"}, {"algorithm", "mlx-seeded"}},
         .numel = 15,
         .nbytes = 60,
         .fan_in = 5,
         .fan_out = 3,
         .limit_bits = SQRT_6_8,
         .call = 5},
        {.label = "mlx-seeded default call",
         .kv = {{"shape", "3,5"}, {"algorithm", "mlx-seeded"}},
         .numel = 15,
         .nbytes = 60,
         .fan_in = 5,
         .fan_out = 3,
         .limit_bits = SQRT_6_8,
         .call = 1},
        /* MLX counters are 32-bit */
        {.label = "mlx 2^32-1 elements",
         .kv = {{"shape", "65535,65537"}, {"algorithm", "mlx"}},
         .numel = 4294967295ULL,
         .nbytes = 17179869180ULL,
         .fan_in = 65537,
         .fan_out = 65535,
         .limit_bits = 0x3f7bb67ae8584caaULL,
         .call = 1},
        {.label = "mlx 2^32 elements",
         .kv = {{"shape", "65536,65536"}, {"algorithm", "mlx"}},
         .code = GP_EUNSUPPORTED,
         .param = "shape",
         .msg = "4294967296 elements exceed"},
        {.label = "mlx-seeded 2^32 elements",
         .kv = {{"shape", "65536,65536"}, {"algorithm", "mlx-seeded"}, {"dtype", "float16"}},
         .code = GP_EUNSUPPORTED,
         .param = "shape",
         .msg = "32-bit counters"},
        {.label = "chacha20 2^32 elements",
         .kv = {{"shape", "65536,65536"}},
         .numel = P2(32),
         .nbytes = P2(34),
         .fan_in = 65536,
         .fan_out = 65536,
         .limit_bits = 0x3f7bb67ae8584caaULL,
         .call = 1},
        /* conventions and overrides */
        {.label = "torch conv",
         .kv = {{"shape", "64,3,7,7"}, {"fan", "torch"}},
         .numel = 9408,
         .nbytes = 37632,
         .fan_in = 147,
         .fan_out = 3136,
         .limit_bits = 0x3fa5e36164cd9c64ULL,
         .call = 1},
        {.label = "jax conv",
         .kv = {{"shape", "64,3,7,7"}, {"fan", "jax"}},
         .numel = 9408,
         .nbytes = 37632,
         .fan_in = 1344,
         .fan_out = 1344,
         .limit_bits = 0x3fa83091e6a7f7e6ULL,
         .call = 1},
        {.label = "fan_in override",
         .kv = {{"shape", "3,5"}, {"fan_in", "10"}},
         .numel = 15,
         .nbytes = 60,
         .fan_in = 10,
         .fan_out = 3,
         .limit_bits = 0x3fe5bd5e3a5fed8eULL,
         .call = 1},
        {.label = "fan_out override",
         .kv = {{"shape", "3,5"}, {"fan_out", "10"}},
         .numel = 15,
         .nbytes = 60,
         .fan_in = 5,
         .fan_out = 10,
         .limit_bits = 0x3fe43d136248490fULL,
         .call = 1},
        {.label = "both overrides",
         .kv = {{"fan_out", "1"}, {"shape", "3,5"}, {"fan_in", "1"}, {"fan", "torch"}},
         .numel = 15,
         .nbytes = 60,
         .fan_in = 1,
         .fan_out = 1,
         .limit_bits = 0x3ffbb67ae8584caaULL,
         .call = 1},
        {.label = "override sum 2^64-1",
         .kv = {{"shape", "3,5"},
                {"fan_in", "9223372036854775808"},
                {"fan_out", "9223372036854775807"}},
         .numel = 15,
         .nbytes = 60,
         .fan_in = P2(63),
         .fan_out = P2(63) - 1,
         .limit_bits = 0x3e03988e1409212eULL,
         .call = 1},
        {.label = "override sum overflows",
         .kv = {{"shape", "3,5"}, {"fan_in", U64_MAX_TEXT}, {"fan_out", "1"}},
         .code = GP_EPARAM,
         .param = "fan_out",
         .msg = "fan_in + fan_out overflows"},
        {.label = "fan_in override overflows computed fan_out",
         .kv = {{"shape", "3,5"}, {"fan_in", U64_MAX_TEXT}},
         .code = GP_EPARAM,
         .param = "fan_in",
         .msg = "overflows"},
        /* the limit must survive double -> float32 -> dtype; (3,3) makes limit == gain */
        {.label = "gain 0",
         .kv = {{"shape", "3,3"}, {"gain", "0"}},
         .numel = 9,
         .nbytes = 36,
         .fan_in = 3,
         .fan_out = 3,
         .limit_bits = 0,
         .call = 1},
        {.label = "float16 65519",
         .kv = {{"shape", "3,3"}, {"gain", "65519"}, {"dtype", "float16"}},
         .numel = 9,
         .nbytes = 18,
         .fan_in = 3,
         .fan_out = 3,
         .limit_bits = 0x40effde000000000ULL,
         .call = 1},
        {.label = "float16 65519.998 (float32 rounds down)",
         .kv = {{"shape", "3,3"}, {"gain", "65519.998"}, {"dtype", "float16"}},
         .numel = 9,
         .nbytes = 18,
         .fan_in = 3,
         .fan_out = 3,
         .limit_bits = 0x40effdffef9db22dULL,
         .call = 1},
        {.label = "float16 65519.9990234375 (float32 ties up)",
         .kv = {{"shape", "3,3"}, {"gain", "65519.9990234375"}, {"dtype", "float16"}},
         .code = GP_EPARAM,
         .param = "gain",
         .msg = "not a finite float16 value"},
        {.label = "float16 65520",
         .kv = {{"shape", "3,3"}, {"gain", "65520"}, {"dtype", "float16"}},
         .code = GP_EPARAM,
         .param = "gain",
         .msg = "gain: 65520 gives a limit"},
        {.label = "float32 65520",
         .kv = {{"shape", "3,3"}, {"gain", "65520"}},
         .numel = 9,
         .nbytes = 36,
         .fan_in = 3,
         .fan_out = 3,
         .limit_bits = 0x40effe0000000000ULL,
         .call = 1},
        {.label = "bfloat16 max",
         .kv = {{"shape", "3,3"}, {"gain", "3.3895313892515355e38"}, {"dtype", "bfloat16"}},
         .numel = 9,
         .nbytes = 18,
         .fan_in = 3,
         .fan_out = 3,
         .limit_bits = 0x47efe00000000000ULL,
         .call = 1},
        {.label = "bfloat16 largest float32 below the tie",
         .kv = {{"shape", "3,3"}, {"gain", "3.396177326406364e38"}, {"dtype", "bfloat16"}},
         .numel = 9,
         .nbytes = 18,
         .fan_in = 3,
         .fan_out = 3,
         .limit_bits = 0x47efefffe0000000ULL,
         .call = 1},
        {.label = "bfloat16 tie rounds to inf",
         .kv = {{"shape", "3,3"}, {"gain", "3.39617752923046e38"}, {"dtype", "bfloat16"}},
         .code = GP_EPARAM,
         .param = "gain",
         .msg = "not a finite bfloat16 value"},
        {.label = "float32 max",
         .kv = {{"shape", "3,3"}, {"gain", "3.4028234663852886e38"}},
         .numel = 9,
         .nbytes = 36,
         .fan_in = 3,
         .fan_out = 3,
         .limit_bits = 0x47efffffe0000000ULL,
         .call = 1},
        {.label = "float32 rounds down to max",
         .kv = {{"shape", "3,3"}, {"gain", "3.4028235170913126e38"}},
         .numel = 9,
         .nbytes = 36,
         .fan_in = 3,
         .fan_out = 3,
         .limit_bits = 0x47efffffe8000000ULL,
         .call = 1},
        {.label = "float32 tie rounds to inf",
         .kv = {{"shape", "3,3"}, {"gain", "3.4028235677973366e38"}},
         .code = GP_EPARAM,
         .param = "gain",
         .msg = "not a finite float32 value"},
        {.label = "float64 1e300",
         .kv = {{"shape", "3,3"}, {"gain", "1e300"}, {"dtype", "float64"}},
         .numel = 9,
         .nbytes = 72,
         .fan_in = 3,
         .fan_out = 3,
         .limit_bits = 0x7e37e43c8800759cULL,
         .call = 1},
        {.label = "float32 1e300",
         .kv = {{"shape", "3,3"}, {"gain", "1e300"}},
         .code = GP_EPARAM,
         .param = "gain",
         .msg = "use a smaller gain"},
        {.label = "float64 limit overflows double",
         .kv = {{"shape", "1,1"}, {"gain", "1.5e308"}, {"dtype", "float64"}},
         .code = GP_EPARAM,
         .param = "gain",
         .msg = "not a finite float64 value"},
        /* the first problem in the documented order wins */
        {.label = "400 call before 422 float64",
         .kv = {{"shape", "3,5"}, {"dtype", "float64"}, {"algorithm", "mlx"}, {"call", "2"}},
         .code = GP_EPARAM,
         .param = "call",
         .msg = "mlx-seeded"},
        {.label = "400 gain before 413 cap",
         .kv = {{"shape", "3,3"}, {"gain", "1e300"}},
         .max_elements = 1,
         .code = GP_EPARAM,
         .param = "gain",
         .msg = "smaller gain"},
    };
    return cr_make_param_array(finish_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(finish_case *c, request, finish)
{
    gp_request r, before;
    gp_error err = {0};
    gp_limits lim = {c->max_elements, c->max_bytes, 0};
    gp_request_init(&r);
    for (size_t i = 0; i < 6 && c->kv[i][0][0] != '\0'; i++)
        cr_assert_eq(set_str(&r, c->kv[i][0], c->kv[i][1], &err), GP_OK, "%s: %s=%s: %s", c->label,
                     c->kv[i][0], c->kv[i][1], err.message);
    before = r;
    gp_code rc = gp_request_finish(&r, &lim, &err);
    cr_assert_eq(rc, c->code, "%s: code %d (%s)", c->label, rc, err.message);
    if (c->code != GP_OK) {
        cr_expect_eq(err.code, c->code);
        cr_expect_str_eq(err.param, c->param, "%s", c->label);
        cr_expect(strstr(err.message, c->msg) != NULL, "%s: \"%s\" lacks \"%s\"", c->label,
                  err.message, c->msg);
        expect_clean_error(&err, c->label);
        cr_expect_eq(memcmp(&r, &before, sizeof r), 0, "%s: failed finish changed r", c->label);
        return;
    }
    cr_expect_eq(r.finished, 1, "%s", c->label);
    cr_expect_eq(r.numel, c->numel, "%s: numel %llu", c->label, (unsigned long long)r.numel);
    cr_expect_eq(r.nbytes, c->nbytes, "%s: nbytes %llu", c->label, (unsigned long long)r.nbytes);
    cr_expect_eq(r.fan_in, c->fan_in, "%s: fan_in", c->label);
    cr_expect_eq(r.fan_out, c->fan_out, "%s: fan_out", c->label);
    cr_expect_eq(bits_of(r.limit), c->limit_bits, "%s: limit %a", c->label, r.limit);
    cr_expect_eq(r.call, c->call, "%s: call", c->label);
}

Test(request, finish_without_limits_or_error_struct)
{
    gp_request r;
    gp_request_init(&r);
    cr_expect_eq(gp_request_finish(&r, NULL, NULL), GP_EPARAM);
    cr_assert_eq(set_str(&r, "shape", "4294967296,4294967296", NULL), GP_OK);
    cr_expect_eq(gp_request_finish(&r, NULL, NULL), GP_EPARAM);
}

Test(request, set_after_finish_is_misuse, .signal = SIGABRT)
{
    gp_request r;
    gp_request_init(&r);
    set_str(&r, "shape", "3,5", NULL);
    cr_assert_eq(gp_request_finish(&r, NULL, NULL), GP_OK);
    set_str(&r, "seed", "1", NULL);
}
