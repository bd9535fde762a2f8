/*
 * gen.c - gp_gen_init / gp_gen_fill: validate what the generators read from
 * a finished request, derive keys and dtype-rounded constants once, and
 * dispatch fills to the chacha20 or mlx generator.
 */
#include "gen/chacha_normal.h"
#include "gen/gen_internal.h"
#include "gen/mlx_normal.h"

#include <math.h>
#include <stdlib.h>

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

/* The normal family keeps its constants in gp_gen's private dist_state. */
_Static_assert(sizeof(gpi_mlx_dist) <= sizeof(((gp_gen *)0)->dist_state), "mlx constants fit");

const gpi_mlx_dist *gpi_gen_mlx_dist_state(const gp_gen *g)
{
    return (const gpi_mlx_dist *)(const void *)&g->dist_state;
}

_Static_assert(sizeof(gpi_chacha_dist) <= sizeof(((gp_gen *)0)->dist_state),
               "chacha20 constants fit");

const gpi_chacha_dist *gpi_gen_chacha_dist_state(const gp_gen *g)
{
    return (const gpi_chacha_dist *)(const void *)&g->dist_state;
}

/* chacha20 v1's normal family (docs/ALGORITHM.md 3.7): mean + std * z, for
 * glorot_normal and he_normal with mean 0. */
static gp_code gpi_gen_chacha_dist(gp_gen *g, const gp_request *r, gp_error *err)
{
    gpi_chacha_dist d;
    gp_code rc = gpi_chacha_dist_init(&d, r->dist == GP_DIST_TRUNCATED_NORMAL, r->dtype,
                                      r->dist_mean, r->dist_std, r->dist_a, r->dist_b, err);
    if (rc != GP_OK) {
        if (err != NULL && !r->dist_has_mean && strcmp(err->param, "std") == 0)
            memcpy(err->param, "gain", sizeof "gain"); /* glorot_normal, he_normal */
        return rc;
    }
    memcpy(&g->dist_state, &d, sizeof d);
    return GP_OK;
}

/* MLX's kinds: glorot_normal and he_normal call mx.random.normal without loc;
 * nn.init.normal passes loc; truncated_normal is its own composite. */
static gp_code gpi_gen_mlx_dist(gp_gen *g, const gp_request *r, gp_error *err)
{
    gpi_mlx_kind kind = r->dist == GP_DIST_TRUNCATED_NORMAL ? GPI_MLX_TRUNCATED
                        : r->dist_has_mean                  ? GPI_MLX_NORMAL
                                                            : GPI_MLX_NORMAL_NOLOC;
    gpi_mlx_dist d;
    gp_code rc =
        gpi_mlx_dist_init(&d, kind, r->dtype, r->dist_mean, r->dist_std, r->dist_a, r->dist_b, err);
    if (rc == GP_OK)
        memcpy(&g->dist_state, &d, sizeof d);
    return rc;
}

/* The parameter a uniform range is blamed on: gain where fans set it. */
static const char *range_param(const gp_request *r)
{
    return r->init == GP_INIT_UNIFORM ? "high" : "gain";
}

/* The uniform bounds: (-limit, limit) for glorot_uniform and he_uniform,
 * (low, high) for uniform; each must stay finite through float32 and the
 * dtype (float64: the doubles themselves, finite by check_common). */
static gp_code uniform_bounds(const gp_request *r, double *lo, double *hi, gp_error *err)
{
    *lo = r->init == GP_INIT_UNIFORM ? r->dist_low : -r->limit;
    *hi = r->init == GP_INIT_UNIFORM ? r->dist_high : r->limit;
    if (!isfinite(*lo) || !isfinite(*hi))
        return gp_fail(err, GP_EPARAM, range_param(r), "the bounds must be finite numbers");
    if (r->dtype == GP_FLOAT64)
        return GP_OK;
    if (!(fabs(*lo) < FLT_MAX) || !(fabs(*hi) < FLT_MAX) ||
        isinf(gpi_round_dtype(r->dtype, (float)*lo)) ||
        isinf(gpi_round_dtype(r->dtype, (float)*hi)))
        return gp_fail(err, GP_EUNSUPPORTED, range_param(r), "the bounds %g, %g do not fit in %s",
                       *lo, *hi, gp_dtype_name(r->dtype));
    return GP_OK;
}

/* chacha20 uniform (docs/ALGORITHM.md): x in (-1, 1) times the half width,
 * plus the midpoint when it is not 0. For (-L, L) the half width is L
 * itself, so the bytes are glorot_uniform's for that limit. */
static gp_code init_chacha_uniform(gp_gen *g, const gp_request *r, gp_error *err)
{
    double lo, hi;
    gp_code rc = uniform_bounds(r, &lo, &hi, err);
    if (rc != GP_OK)
        return rc;
    g->limit = lo == -hi ? hi : hi / 2.0 - lo / 2.0;
    g->mid = lo == -hi ? 0.0 : lo / 2.0 + hi / 2.0;
    g->limit_f32 = (float)g->limit;
    g->mid_f32 = (float)g->mid;
    return GP_OK;
}

static gp_code init_chacha(gp_gen *g, const gp_request *r, gp_error *err)
{
    gp_code rc = GP_OK;
    if (gp_init() != 0)
        return gp_fail(err, GP_EINTERNAL, "", "libsodium could not be initialised");
    if (r->dist == GP_DIST_UNIFORM)
        rc = init_chacha_uniform(g, r, err);
    else if (r->dist == GP_DIST_NORMAL || r->dist == GP_DIST_TRUNCATED_NORMAL)
        rc = gpi_gen_chacha_dist(g, r, err);
    gpi_chacha_key(r->seed, r->name, r->name_len, g->chacha_key);
    return rc;
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

/* MLX uniform(low, high): bounds double -> float32 -> dtype, range =
 * RNE_T(hi - lo) must be finite. */
static gp_code init_mlx_uniform(gp_gen *g, const gp_request *r, gp_error *err)
{
    double blo, bhi;
    float hi, lo;
    gp_code rc = uniform_bounds(r, &blo, &bhi, err);

    if (rc != GP_OK)
        return rc;
    hi = gpi_round_dtype(r->dtype, (float)bhi);
    lo = gpi_round_dtype(r->dtype, (float)blo);
    g->lo_f32 = lo;
    g->range_f32 = gpi_round_dtype(r->dtype, hi - lo);
    if (isinf(g->range_f32))
        return gp_fail(err, GP_EUNSUPPORTED, range_param(r),
                       "the range %g - (%g) does not fit in %s", bhi, blo, gp_dtype_name(r->dtype));
    g->upper_f32 = gpi_mlx_upper(r->dtype);
    return GP_OK;
}

static gp_code init_mlx(gp_gen *g, const gp_request *r, gp_error *err)
{
    gp_code rc = check_mlx(r, err);

    if (rc == GP_OK && r->dist == GP_DIST_UNIFORM)
        rc = init_mlx_uniform(g, r, err);
    else if (rc == GP_OK && (r->dist == GP_DIST_NORMAL || r->dist == GP_DIST_TRUNCATED_NORMAL))
        rc = gpi_gen_mlx_dist(g, r, err);
    if (rc != GP_OK)
        return rc;
    if (r->algorithm == GP_ALG_MLX_SEEDED)
        gpi_mlx_seeded_key(r->seed, r->call, g->mlx_key);
    else
        gpi_mlx_key(r->seed, g->mlx_key);
    return GP_OK;
}

/* constant and identity: the one value's bytes, double -> float32 -> dtype
 * (MLX's mx.full / mx.eye through array(float(x))); float64 the double. */
static void init_fill(gp_gen *g, const gp_request *r)
{
    double v = r->dist == GP_DIST_IDENTITY ? 1.0 : r->dist_value;
    float f = (float)v;
    memset(g->fill, 0, sizeof g->fill);
    switch (r->dtype) {
    case GP_FLOAT64:
        gpi_store_le64(g->fill, gpi_f64_bits(v));
        break;
    case GP_FLOAT32:
        gpi_store_le32(g->fill, gpi_f32_bits(f));
        break;
    case GP_FLOAT16:
        gpi_store_le16(g->fill, gpi_f32_to_f16(f));
        break;
    case GP_BFLOAT16:
        gpi_store_le16(g->fill, gpi_f32_to_bf16(f));
        break;
    }
    if (r->dist == GP_DIST_IDENTITY)
        g->cols = r->shape[1];
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
    g->dist = r->dist;
    g->numel = r->numel;
    g->limit = r->limit;
    if (r->dist == GP_DIST_CONSTANT || r->dist == GP_DIST_IDENTITY)
        init_fill(g, r);
    else if (r->algorithm == GP_ALG_CHACHA20)
        rc = init_chacha(g, r, err);
    else
        rc = init_mlx(g, r, err);
    if (rc != GP_OK)
        memset(g, 0, sizeof *g);
    return rc;
}

/* constant: the value everywhere (one element, then doubling copies);
 * identity: zeros, and the value at i = r * cols + r for each row r whose
 * diagonal element falls in [first, first + count). */
static void fill_fixed(const gp_gen *g, uint64_t first, size_t count, unsigned char *out)
{
    size_t es = gp_dtype_size(g->dtype), have = es, total = count * es;
    if (g->dist == GP_DIST_IDENTITY) {
        uint64_t end = first + count, step = g->cols + 1;
        memset(out, 0, total);
        for (uint64_t r = first / g->cols; r < g->cols && r * step < end; r++)
            if (r * step >= first)
                memcpy(out + (size_t)(r * step - first) * es, g->fill, es);
        return;
    }
    memcpy(out, g->fill, es);
    while (have < total) {
        size_t n = have < total - have ? have : total - have;
        memcpy(out + have, out, n);
        have += n;
    }
}

void gp_gen_fill(const gp_gen *g, uint64_t first, size_t count, void *out)
{
    if (g == NULL || (count > 0 && out == NULL))
        abort();
    if (count > g->numel || first > g->numel - count)
        abort(); /* misuse: the caller must stay inside [0, numel) */
    if (count == 0)
        return;
    if (g->dist == GP_DIST_CONSTANT || g->dist == GP_DIST_IDENTITY) {
        fill_fixed(g, first, count, out);
        return;
    }
    switch (g->algorithm) {
    case GP_ALG_CHACHA20:
        if (g->dist == GP_DIST_NORMAL || g->dist == GP_DIST_TRUNCATED_NORMAL)
            gpi_chacha_dist_fill(gpi_gen_chacha_dist_state(g), g->chacha_key, first, count, out);
        else
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
