/*
 * test_mlx.c - the mlx and mlx-seeded generators against every row of
 * tests/data/mlx_glorot.tsv (copied from /work/shared/vectors/: tensors MLX
 * itself produced on CPU), bit for bit, plus gp_gen_init's refusals.
 *
 * Requests are built by hand (no request.c): limit = gain*sqrt(6/(fan_in+fan_out))
 * in double with MLX's fans fan_in = shape[-1]*rf, fan_out = shape[0]*rf,
 * rf = prod(shape[1:-1]).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_internal.h"
#include "tsv.h"

#define GLOROT_ROWS 90
#define MAX_ELEMS 128

/* ---- requests by hand ---------------------------------------------------- */

/* MLX: fan_in = shape[-1]*rf, fan_out = shape[0]*rf, rf = prod(shape[1:-1]). */
static double mlx_limit(const uint64_t *shape, size_t rank, double gain)
{
    uint64_t rf = 1;

    for (size_t i = 1; i + 1 < rank; i++)
        rf *= shape[i];
    return gain * sqrt(6.0 / (double)((shape[rank - 1] + shape[0]) * rf));
}

static gp_dtype parse_dtype(const char *s)
{
    if (strcmp(s, "float32") == 0)
        return GP_FLOAT32;
    if (strcmp(s, "float16") == 0)
        return GP_FLOAT16;
    cr_assert_str_eq(s, "bfloat16");
    return GP_BFLOAT16;
}

/* ---- every row of mlx_glorot.tsv ----------------------------------------- */

typedef struct {
    int row;
} row_case;

static void free_cases(struct criterion_test_params *p)
{
    cr_free(p->params);
}

ParameterizedTestParameters(mlx_glorot, row)
{
    row_case *c = cr_malloc(GLOROT_ROWS * sizeof *c);

    for (int i = 0; i < GLOROT_ROWS; i++)
        c[i].row = i;
    return cr_make_param_array(row_case, c, GLOROT_ROWS, free_cases);
}

/* Expected bits of the row's values column, in order. */
static size_t parse_values(const char *s, uint32_t *out)
{
    size_t n = 0;

    while (*s != '\0') {
        char *end;
        cr_assert(n < MAX_ELEMS);
        out[n++] = (uint32_t)strtoul(s, &end, 16);
        cr_assert(end != s, "bad value list");
        s = end;
        while (*s == ' ')
            s++;
    }
    return n;
}

static uint32_t element_bits(const unsigned char *p, gp_dtype d)
{
    return d == GP_FLOAT32 ? gpi_load_le32(p) : (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static void row_request(char **f, gp_request *r)
{
    uint64_t shape[GP_MAX_RANK];
    size_t rank = parse_shape(f[3], shape);

    memset(r, 0, sizeof *r);
    if (strcmp(f[0], "seeded") == 0) {
        r->algorithm = GP_ALG_MLX_SEEDED;
        r->call = strtoull(f[1], NULL, 10);
    } else {
        cr_assert_str_eq(f[0], "key");
        r->algorithm = GP_ALG_MLX;
    }
    r->seed = strtoull(f[2], NULL, 10);
    r->dtype = parse_dtype(f[5]);
    r->numel = 1;
    for (size_t i = 0; i < rank; i++)
        r->numel *= shape[i];
    r->limit = mlx_limit(shape, rank, strtod(f[4], NULL));
}

ParameterizedTest(row_case *c, mlx_glorot, row)
{
    char line[LINE_MAX_LEN], *f[8];
    uint32_t want[MAX_ELEMS];
    unsigned char out[MAX_ELEMS * 4];
    gp_request r;
    gp_gen g;
    gp_error err = {0};
    size_t esize;

    data_row("mlx_glorot.tsv", (size_t)c->row, line, sizeof line);
    cr_assert_eq(fields(line, f, 8), 7);
    row_request(f, &r);
    cr_assert_eq(parse_values(f[6], want), r.numel, "row %d: value count", c->row);
    cr_assert_eq(gp_gen_init(&g, &r, &err), GP_OK, "row %d: %s", c->row, err.message);
    esize = gp_dtype_size(r.dtype);
    gp_gen_fill(&g, 0, (size_t)r.numel, out);
    for (size_t i = 0; i < r.numel; i++) {
        uint32_t got = element_bits(out + i * esize, r.dtype);
        cr_expect_eq(got, want[i],
                     "row %d (%s seed %s call %s shape %s gain %s %s) element %zu: "
                     "%X, want %X",
                     c->row, f[0], f[2], f[1], f[3], f[4], f[5], i, got, want[i]);
    }
}

Test(mlx_glorot, file_complete)
{
    cr_assert_eq(data_rows("mlx_glorot.tsv"), GLOROT_ROWS);
}

/* ---- what gp_gen_init refuses ---------------------------------------------- */

typedef struct {
    char what[48];
    gp_algorithm algorithm;
    gp_dtype dtype;
    uint64_t numel;
    double limit;
    uint64_t call;
    gp_code code;
    char param[16];
} init_case;

static init_case init_cases[] = {
    {"float64 with mlx", GP_ALG_MLX, GP_FLOAT64, 4, 0.5, 0, GP_EUNSUPPORTED, "dtype"},
    {"float64 with mlx-seeded", GP_ALG_MLX_SEEDED, GP_FLOAT64, 4, 0.5, 1, GP_EUNSUPPORTED, "dtype"},
    {"2^32 elements", GP_ALG_MLX, GP_FLOAT32, UINT64_C(1) << 32, 0.5, 0, GP_EUNSUPPORTED, "shape"},
    {"2^32-1 elements", GP_ALG_MLX, GP_FLOAT32, UINT32_MAX, 0.5, 0, GP_OK, ""},
    {"call 0", GP_ALG_MLX_SEEDED, GP_FLOAT32, 4, 0.5, 0, GP_EPARAM, "call"},
    {"call above max", GP_ALG_MLX_SEEDED, GP_FLOAT32, 4, 0.5, GP_MAX_CALL + 1, GP_EPARAM, "call"},
    {"call at max", GP_ALG_MLX_SEEDED, GP_FLOAT32, 4, 0.5, GP_MAX_CALL, GP_OK, ""},
    {"NaN limit", GP_ALG_MLX, GP_FLOAT32, 4, NAN, 0, GP_EPARAM, "gain"},
    {"infinite limit", GP_ALG_MLX, GP_FLOAT32, 4, INFINITY, 0, GP_EPARAM, "gain"},
    {"limit beyond float32", GP_ALG_MLX, GP_FLOAT32, 4, 1e39, 0, GP_EUNSUPPORTED, "gain"},
    {"range 2*limit beyond float32", GP_ALG_MLX, GP_FLOAT32, 4, 2e38, 0, GP_EUNSUPPORTED, "gain"},
    {"float16 bound overflows", GP_ALG_MLX, GP_FLOAT16, 4, 70000.0, 0, GP_EUNSUPPORTED, "gain"},
    {"float16 range overflows", GP_ALG_MLX, GP_FLOAT16, 4, 40000.0, 0, GP_EUNSUPPORTED, "gain"},
    {"float16 range fits", GP_ALG_MLX, GP_FLOAT16, 4, 30000.0, 0, GP_OK, ""},
    {"bfloat16 range overflows", GP_ALG_MLX, GP_BFLOAT16, 4, 3e38, 0, GP_EUNSUPPORTED, "gain"},
    {"zero elements", GP_ALG_MLX, GP_BFLOAT16, 0, 0.5, 0, GP_OK, ""},
    {"unknown dtype", GP_ALG_MLX, (gp_dtype)9, 4, 0.5, 0, GP_EPARAM, "dtype"},
};

ParameterizedTestParameters(mlx_init, refusals)
{
    return cr_make_param_array(init_case, init_cases, sizeof init_cases / sizeof init_cases[0]);
}

ParameterizedTest(init_case *c, mlx_init, refusals)
{
    gp_request r;
    gp_gen g;
    gp_error err = {0};
    gp_code rc;

    memset(&r, 0, sizeof r);
    r.algorithm = c->algorithm;
    r.dtype = c->dtype;
    r.numel = c->numel;
    r.limit = c->limit;
    r.call = c->call;
    rc = gp_gen_init(&g, &r, &err);
    cr_expect_eq(rc, c->code, "%s: code %d (%s)", c->what, (int)rc, err.message);
    cr_expect_str_eq(err.param, c->param, "%s", c->what);
    if (c->code != GP_OK)
        cr_expect(err.message[0] != '\0', "%s: no message", c->what);
}

/* A 16-bit tensor near the float16 range limit still matches the formula. */
Test(mlx_init, float16_large_bound_values_finite)
{
    gp_request r;
    gp_gen g;
    unsigned char out[2 * 1000];

    memset(&r, 0, sizeof r);
    r.algorithm = GP_ALG_MLX;
    r.dtype = GP_FLOAT16;
    r.numel = 1000;
    r.limit = 30000.0;
    cr_assert_eq(gp_gen_init(&g, &r, NULL), GP_OK);
    gp_gen_fill(&g, 0, 1000, out);
    for (size_t i = 0; i < 1000; i++) {
        float v = gpi_f16_to_f32((uint16_t)(out[2 * i] | out[2 * i + 1] << 8));
        cr_expect(isfinite(v) && v >= -30000.0f && v <= 30000.0f, "element %zu = %g", i, v);
    }
}

/* ---- the clamp below 1 ------------------------------------------------------ */

/* Words high enough that MLX's clamp u = min(u, upper_T) decides the value:
 * RNE_f32(w) * 2^-32 would round to 1.0 in the dtype (w >= 0xFFFFFF80 for
 * float32, >= 0xFFF00000 for float16, >= 0xFF800000 for bfloat16). Found by
 * searching key(seed) streams of 1000 words; shape (10, 100). */
typedef struct {
    uint64_t seed;
    size_t index;
    gp_dtype dtype;
    uint32_t min_word;
} clamp_case;

static clamp_case clamp_cases[] = {
    {75694, 705, GP_FLOAT32, 0xFFFFFF80u}, {116057, 518, GP_FLOAT32, 0xFFFFFF80u},
    {1, 782, GP_FLOAT16, 0xFFF00000u},     {7, 380, GP_FLOAT16, 0xFFF00000u},
    {0, 415, GP_BFLOAT16, 0xFF800000u},    {0, 851, GP_BFLOAT16, 0xFF800000u},
};

ParameterizedTestParameters(mlx_clamp, top_words)
{
    return cr_make_param_array(clamp_case, clamp_cases, sizeof clamp_cases / sizeof clamp_cases[0]);
}

static float dtype_round(gp_dtype d, float f)
{
    return d == GP_FLOAT16 ? gpi_round_f16(f) : d == GP_BFLOAT16 ? gpi_round_bf16(f) : f;
}

/* Expected: u = upper_T exactly; RNE_T(RNE_T(range * u) + lo). Products and
 * sums of these floats are exact in double, so one rounding each. */
ParameterizedTest(clamp_case *c, mlx_clamp, top_words)
{
    static const uint32_t upper_bits[] = {0x3F7FFFFFu, 0x3F7FE000u, 0x3F7F0000u};
    const uint64_t shape[2] = {10, 100};
    gp_request r;
    gp_gen g;
    uint32_t key[2], w;
    unsigned char out[4];
    float hi, lo, range, p, v, u = gpi_f32_from_bits(upper_bits[c->dtype]);
    uint32_t want, got;

    memset(&r, 0, sizeof r);
    r.algorithm = GP_ALG_MLX;
    r.dtype = c->dtype;
    r.seed = c->seed;
    r.numel = 1000;
    r.limit = mlx_limit(shape, 2, 1.0);
    gpi_mlx_key(c->seed, key);
    gpi_mlx_words(key, 1000, c->index, 1, &w);
    cr_assert(w >= c->min_word, "word %08X does not reach the clamp", w);

    hi = dtype_round(c->dtype, (float)r.limit);
    lo = -hi;
    range = dtype_round(c->dtype, (float)((double)hi - (double)lo));
    p = dtype_round(c->dtype, (float)((double)range * (double)u));
    v = dtype_round(c->dtype, (float)((double)p + (double)lo));
    cr_assert(v < hi);
    want = c->dtype == GP_FLOAT32   ? gpi_f32_bits(v)
           : c->dtype == GP_FLOAT16 ? gpi_f32_to_f16(v)
                                    : gpi_f32_to_bf16(v);

    cr_assert_eq(gp_gen_init(&g, &r, NULL), GP_OK);
    gp_gen_fill(&g, c->index, 1, out);
    got = c->dtype == GP_FLOAT32 ? gpi_load_le32(out) : (uint32_t)(out[0] | out[1] << 8);
    cr_expect_eq(got, want, "%s seed %llu element %zu (word %08X): %X, want %X",
                 gp_dtype_name(c->dtype), (unsigned long long)c->seed, c->index, w, got, want);
}
