/*
 * gen.c - gp_gen_init / gp_gen_fill: validate what the generators read from
 * a finished request, derive keys and dtype-rounded constants once, and
 * dispatch fills to the chacha20 or mlx generator.
 */
#include "gen_internal.h"

#include <math.h>
#include <stdlib.h>

/* Largest value below 1.0 in the dtype, as float32 bits (MLX's clamp). */
#define UPPER_F32 0x3F7FFFFFu  /* 1 - 2^-24 */
#define UPPER_F16 0x3F7FE000u  /* 1 - 2^-11 */
#define UPPER_BF16 0x3F7F0000u /* 1 - 2^-8 */

static float round_to(gp_dtype d, float f)
{
    switch (d) {
    case GP_FLOAT16:
        return gpi_round_f16(f);
    case GP_BFLOAT16:
        return gpi_round_bf16(f);
    case GP_FLOAT32:
    case GP_FLOAT64:
        break;
    }
    return f;
}

static float upper_for(gp_dtype d)
{
    switch (d) {
    case GP_FLOAT16:
        return gpi_f32_from_bits(UPPER_F16);
    case GP_BFLOAT16:
        return gpi_f32_from_bits(UPPER_BF16);
    case GP_FLOAT32:
    case GP_FLOAT64:
        break;
    }
    return gpi_f32_from_bits(UPPER_F32);
}

static int dtype_valid(gp_dtype d)
{
    return d == GP_FLOAT32 || d == GP_FLOAT16 || d == GP_BFLOAT16 || d == GP_FLOAT64;
}

static int algorithm_valid(gp_algorithm a)
{
    return a == GP_ALG_CHACHA20 || a == GP_ALG_MLX || a == GP_ALG_MLX_SEEDED;
}

static gp_code check_common(const gp_request *r, gp_error *err)
{
    if (!dtype_valid(r->dtype))
        return gp_fail(err, GP_EPARAM, "dtype", "unknown dtype %d", (int)r->dtype);
    if (!algorithm_valid(r->algorithm))
        return gp_fail(err, GP_EPARAM, "algorithm", "unknown algorithm %d", (int)r->algorithm);
    if (!isfinite(r->limit))
        return gp_fail(err, GP_EPARAM, "gain", "the Glorot limit must be a finite number, got %g",
                       r->limit);
    if (r->name_len > GP_MAX_NAME)
        return gp_fail(err, GP_EPARAM, "name", "name is longer than %d bytes", GP_MAX_NAME);
    /* Keeps every keystream byte offset (8 bytes per element at most) in u64. */
    if (r->numel > UINT64_MAX / 8)
        return gp_fail(err, GP_ELIMIT, "shape", "too many elements");
    return GP_OK;
}

/* The float32 bound, rejecting limits whose float32 or dtype value is inf. */
static gp_code bound_f32(const gp_request *r, float *out, gp_error *err)
{
    float b;

    if (!(fabs(r->limit) < FLT_MAX))
        return gp_fail(err, GP_EUNSUPPORTED, "gain", "the Glorot limit %g does not fit in %s",
                       r->limit, gp_dtype_name(r->dtype));
    b = (float)r->limit;
    if (isinf(round_to(r->dtype, b)))
        return gp_fail(err, GP_EUNSUPPORTED, "gain", "the Glorot limit %g does not fit in %s",
                       r->limit, gp_dtype_name(r->dtype));
    *out = b;
    return GP_OK;
}

static gp_code init_chacha(gp_gen *g, const gp_request *r, gp_error *err)
{
    if (gp_init() != 0)
        return gp_fail(err, GP_EINTERNAL, "", "libsodium could not be initialised");
    if (r->dtype != GP_FLOAT64) {
        gp_code rc = bound_f32(r, &g->limit_f32, err);
        if (rc != GP_OK)
            return rc;
    }
    gpi_chacha_key(r->seed, r->name, r->name_len, g->chacha_key);
    return GP_OK;
}

static gp_code check_mlx(const gp_request *r, gp_error *err)
{
    if (r->dtype == GP_FLOAT64)
        return gp_fail(err, GP_EUNSUPPORTED, "dtype",
                       "float64 is not available with algorithm %s (MLX has no float64 "
                       "uniform); use float32, float16 or bfloat16, or algorithm chacha20",
                       gp_algorithm_name(r->algorithm));
    if (r->numel > UINT32_MAX)
        return gp_fail(err, GP_EUNSUPPORTED, "shape",
                       "algorithm %s needs fewer than 2^32 elements (32-bit counters)",
                       gp_algorithm_name(r->algorithm));
    if (r->algorithm == GP_ALG_MLX_SEEDED && (r->call < 1 || r->call > GP_MAX_CALL))
        return gp_fail(err, GP_EPARAM, "call", "call must be between 1 and %d", GP_MAX_CALL);
    return GP_OK;
}

/* MLX: bounds double -> float32 -> dtype, range = RNE_T(hi - lo) must be finite. */
static gp_code init_mlx(gp_gen *g, const gp_request *r, gp_error *err)
{
    float b, hi, lo;
    gp_code rc = check_mlx(r, err);

    if (rc == GP_OK)
        rc = bound_f32(r, &b, err);
    if (rc != GP_OK)
        return rc;
    hi = round_to(r->dtype, b);
    lo = round_to(r->dtype, -b);
    g->lo_f32 = lo;
    g->range_f32 = round_to(r->dtype, hi - lo);
    if (isinf(g->range_f32))
        return gp_fail(err, GP_EUNSUPPORTED, "gain", "the Glorot range 2 * %g does not fit in %s",
                       r->limit, gp_dtype_name(r->dtype));
    g->upper_f32 = upper_for(r->dtype);
    if (r->algorithm == GP_ALG_MLX_SEEDED)
        gpi_mlx_seeded_key(r->seed, r->call, g->mlx_key);
    else
        gpi_mlx_key(r->seed, g->mlx_key);
    return GP_OK;
}

gp_code gp_gen_init(gp_gen *g, const gp_request *r, gp_error *err)
{
    gp_code rc;

    if (g == NULL || r == NULL)
        abort();
    memset(g, 0, sizeof *g);
    rc = check_common(r, err);
    if (rc != GP_OK)
        return rc;
    g->algorithm = r->algorithm;
    g->dtype = r->dtype;
    g->numel = r->numel;
    g->limit = r->limit;
    if (r->algorithm == GP_ALG_CHACHA20)
        rc = init_chacha(g, r, err);
    else
        rc = init_mlx(g, r, err);
    if (rc != GP_OK)
        memset(g, 0, sizeof *g);
    return rc;
}

void gp_gen_fill(const gp_gen *g, uint64_t first, size_t count, void *out)
{
    if (g == NULL || (count > 0 && out == NULL))
        abort();
    if (count > g->numel || first > g->numel - count)
        abort(); /* misuse: the caller must stay inside [0, numel) */
    if (count == 0)
        return;
    switch (g->algorithm) {
    case GP_ALG_CHACHA20:
        gpi_chacha_fill(g, first, count, out);
        return;
    case GP_ALG_MLX:
    case GP_ALG_MLX_SEEDED:
        gpi_mlx_fill(g, first, count, out);
        return;
    }
    abort();
}

const char *gp_kernels(void)
{
    return gpi_simd_name(gpi_simd_active());
}
