/*
 * mlx_normal.c - MLX's normal family, word -> value (mlx_normal.h).
 *
 * From ml-explore/mlx 846d176227a0, mlx/random.cpp:
 *   normal(shape, dtype, loc, scale, key):
 *     s = uniform(nextafter(-1f, 0f), 1f, shape, float32, key)
 *     applied = multiply(array(sqrt(2.0), dtype), astype(scale, dtype))
 *     s = multiply(applied, astype(erfinv(s), dtype)); if loc: s = add(loc, s)
 *   truncated_normal(lower, upper, shape, dtype, key):
 *     sqrt2 = array(sqrt(2.0), dtype); lower_t, upper_t = astype(bounds, dtype)
 *     u = uniform(erf(lower_t / sqrt2), erf(upper_t / sqrt2), shape, dtype, key)
 *     maximum(minimum(upper_t, multiply(sqrt2, erfinv(u))), lower_t)
 *   uniform(lo, hi, shape, dtype, key) (as threefry.c):
 *     RNE_T(RNE_T((hi - lo) * RNE_T(min(RNE_f32(w) / 2^32, below_one_T))) + lo)
 * Every op is its own CPU primitive: computed in float32 (MLX's float16 and
 * bfloat16 types convert to float and back), rounded to the dtype after
 * each, never fused. The Python layer (python/src/random.cpp to_array)
 * turns a float into (float)x, then the dtype; array(double, dtype) also
 * goes through float. The composite truncated normal (issue 16) then does
 * `std * x` and `mean + x` with Python floats, i.e. in the dtype.
 */
#include "gen/mlx_normal.h"

#include <float.h>
#include <math.h>

#include "gen/gen_internal.h"

/* ---- constants ------------------------------------------------------------- */

/* A Python float as MLX receives it: (float)x, then the dtype. Fails when
 * either is not finite; what names the value in the message. */
static gp_code scalar_in(double x, gp_dtype dtype, const char *param, const char *what, float *out,
                         gp_error *err)
{
    float f = 0.0f;

    if (!isfinite(x))
        return gp_fail(err, GP_EPARAM, param, "%s must be a finite number", what);
    if (fabs(x) <= (double)FLT_MAX)
        f = gpi_round_dtype(dtype, (float)x);
    if (!(fabs(x) <= (double)FLT_MAX) || isinf(f))
        return gp_fail(err, GP_EUNSUPPORTED, param, "%s = %g does not fit in %s", what, x,
                       gp_dtype_name(dtype));
    *out = f;
    return GP_OK;
}

/* sqrt(2.0) as array(double, dtype) stores it: double -> float -> dtype. */
static float sqrt2_in(gp_dtype dtype)
{
    return gpi_round_dtype(dtype, (float)sqrt(2.0));
}

static gp_code init_normal(gpi_mlx_dist *d, double mean, double std, gp_error *err)
{
    const char *std_name = d->kind == GPI_MLX_NORMAL_NOLOC ? "gain" : "std";
    float std_t;
    gp_code rc = scalar_in(std, d->dtype, std_name, "the standard deviation", &std_t, err);

    if (rc == GP_OK && d->kind == GPI_MLX_NORMAL)
        rc = scalar_in(mean, d->dtype, "mean", "mean", &d->loc, err);
    if (rc != GP_OK)
        return rc;
    d->scale = gpi_round_dtype(d->dtype, sqrt2_in(d->dtype) * std_t);
    if (isinf(d->scale))
        return gp_fail(err, GP_EUNSUPPORTED, std_name, "the scale sqrt(2) * %g does not fit in %s",
                       std, gp_dtype_name(d->dtype));
    /* The float32 uniform: lo = nextafter(-1, 0), range = RNE(1 - lo) = 2. */
    d->upper = gpi_mlx_upper(GP_FLOAT32);
    d->lo = -0x1.fffffep-1f;
    d->range = 1.0f - d->lo;
    return GP_OK;
}

/* erf(bound / sqrt2) in the dtype: the division and erf each rounded. */
static float erf_in(gp_dtype dtype, float bound, float sqrt2)
{
    return gpi_round_dtype(dtype, gpi_mlx_erf(gpi_round_dtype(dtype, bound / sqrt2)));
}

static gp_code init_truncated(gpi_mlx_dist *d, double mean, double std, double a, double b,
                              gp_error *err)
{
    gp_code rc = GP_OK;
    float ea, eb;

    if (!isfinite(a) || !isfinite(b) || !isfinite(mean) || !isfinite(std) || std == 0.0)
        return gp_fail(err, GP_EPARAM,
                       !isfinite(a)   ? "a"
                       : !isfinite(b) ? "b"
                                      : "std",
                       "mean, std, a and b must be finite numbers, std not 0");
    rc = scalar_in((a - mean) / std, d->dtype, "a", "(a - mean) / std", &d->clip_lo, err);
    if (rc == GP_OK)
        rc = scalar_in((b - mean) / std, d->dtype, "b", "(b - mean) / std", &d->clip_hi, err);
    if (rc == GP_OK)
        rc = scalar_in(std, d->dtype, "std", "std", &d->std_t, err);
    if (rc == GP_OK)
        rc = scalar_in(mean, d->dtype, "mean", "mean", &d->loc, err);
    if (rc != GP_OK)
        return rc;
    d->scale = sqrt2_in(d->dtype);
    ea = erf_in(d->dtype, d->clip_lo, d->scale);
    eb = erf_in(d->dtype, d->clip_hi, d->scale);
    d->upper = gpi_mlx_upper(d->dtype);
    d->lo = ea;
    d->range = gpi_round_dtype(d->dtype, eb - ea); /* |erf| <= 1: finite */
    return GP_OK;
}

gp_code gpi_mlx_dist_init(gpi_mlx_dist *d, gpi_mlx_kind kind, gp_dtype dtype, double mean,
                          double std, double a, double b, gp_error *err)
{
    gpi_mlx_dist t = {0};
    gp_code rc;

    if (dtype != GP_FLOAT32 && dtype != GP_FLOAT16 && dtype != GP_BFLOAT16)
        return gp_fail(err, GP_EUNSUPPORTED, "dtype", "MLX's normal family has no %s here",
                       gp_dtype_name(dtype));
    t.kind = kind;
    t.dtype = dtype;
    switch (kind) {
    case GPI_MLX_NORMAL_NOLOC:
    case GPI_MLX_NORMAL:
        rc = init_normal(&t, mean, std, err);
        break;
    case GPI_MLX_TRUNCATED:
        rc = init_truncated(&t, mean, std, a, b, err);
        break;
    default:
        return gp_fail(err, GP_EINTERNAL, "", "unknown normal kind %d", (int)kind);
    }
    if (rc == GP_OK)
        *d = t;
    return rc;
}

/* ---- values ---------------------------------------------------------------- */

/* The dtype's uniform draw for word w (threefry.c emit_f32 / emit_half). */
static float uniform_at(const gpi_mlx_dist *d, uint32_t w)
{
    float u = gpi_round_dtype(d->dtype, gpi_mlx_uniform(w, d->upper));

    return gpi_round_dtype(d->dtype, gpi_round_dtype(d->dtype, d->range * u) + d->lo);
}

/* normal(): the uniform is float32 whatever the dtype. */
static float normal_at(const gpi_mlx_dist *d, uint32_t w)
{
    float p = d->range * gpi_mlx_uniform(w, d->upper); /* 2u: exact */
    float s = p + d->lo;
    float y;

    y = gpi_round_dtype(d->dtype, d->scale * gpi_round_dtype(d->dtype, gpi_mlx_erfinv(s)));
    if (d->kind == GPI_MLX_NORMAL)
        y = gpi_round_dtype(d->dtype, d->loc + y);
    return y;
}

/* MLX minimum(a, b) and maximum(a, b) on CPU: a NaN in a wins, else a < b ? a : b. */
static float mlx_min(float a, float b)
{
    return isnan(a) ? a : a < b ? a : b;
}

static float mlx_max(float a, float b)
{
    return isnan(a) ? a : a > b ? a : b;
}

static float truncated_at(const gpi_mlx_dist *d, uint32_t w)
{
    float u = uniform_at(d, w);
    float x = gpi_round_dtype(d->dtype, d->scale * gpi_round_dtype(d->dtype, gpi_mlx_erfinv(u)));

    x = mlx_max(mlx_min(d->clip_hi, x), d->clip_lo);
    x = gpi_round_dtype(d->dtype, x * d->std_t);
    return gpi_round_dtype(d->dtype, x + d->loc);
}

static void store(gp_dtype dtype, float v, unsigned char *p)
{
    switch (dtype) {
    case GP_FLOAT16:
        gpi_store_le16(p, gpi_f32_to_f16(v));
        break;
    case GP_BFLOAT16:
        gpi_store_le16(p, gpi_f32_to_bf16(v));
        break;
    case GP_FLOAT32:
    case GP_FLOAT64:
        gpi_store_le32(p, gpi_f32_bits(v));
        break;
    }
}

void gpi_mlx_dist_values_scalar(const gpi_mlx_dist *d, const uint32_t *w, size_t from, size_t n,
                                unsigned char *dst)
{
    size_t es = d->dtype == GP_FLOAT32 ? 4 : 2;

    for (size_t i = from; i < n; i++) {
        float v = d->kind == GPI_MLX_TRUNCATED ? truncated_at(d, w[i]) : normal_at(d, w[i]);
        store(d->dtype, v, dst + i * es);
    }
}

void gpi_mlx_dist_values(const gpi_mlx_dist *d, const uint32_t *w, size_t n, unsigned char *dst)
{
    const gpi_kernels *k = gpi_kernels_active();
    size_t done = k->mlx_normal != NULL ? k->mlx_normal(d, w, n, dst) : 0;

    gpi_mlx_dist_values_scalar(d, w, done, n, dst);
}
