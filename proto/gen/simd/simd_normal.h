/*
 * simd_normal.h - private to proto/gen/simd/simd_normal_*.c: MLX's normal family
 * (mlx_normal.c) on NW lanes, written once over lane operations each
 * including file defines for its instruction set.
 *
 * Every lane performs the scalar reference's operations in the same order,
 * each rounded on its own: the same float32 and double multiplies and adds,
 * fused multiply-adds exactly where MLX calls fma (one rounding, as fmaf),
 * the same dtype roundings. So the bytes equal gpi_mlx_dist_values_scalar;
 * tests/unit/test_mlx_normal.c checks every level. A vector whose logf input
 * leaves the positive normal floats (only t = 0, from a truncated draw of
 * exactly +-1) is handed to the scalar reference whole.
 *
 * The includer defines, for NW float lanes:
 *   nvf nvu                       float and 32-bit integer vectors
 *   NV_LOAD(p) NV_SET1(x) NV_SUB
 *   NV_ANY_GEU(a, b)              any lane (uint32)a >= (uint32)b
 *   NF_FROM_U32(v)                RNE_f32 of uint32 lanes
 *   NF_CAST(v) NF_BITS(f) NF_SET1 NF_ADD NF_MUL
 *   NF_MIN(a, b) NF_MAX(a, b)     a < b ? a : b, a > b ? a : b (x86 minps/maxps)
 *   NF_FMA(a, b, c) NF_FNMA(a, b, c)   a * b + c, -(a * b) + c, one rounding
 *   NF_SEL_GT(a, b, x, y) NF_ANY_GT(a, b)    a > b ? x : y; any lane a > b
 *   NF_ROUND_F16(f) NF_ROUND_BF16(f)         RNE to the dtype, kept as float
 *   NF_STORE32(p, f) NF_STORE_F16(p, f) NF_STORE_BF16(p, f)   little-endian
 *   NG                            vectors per group (interleaved chains)
 *   n_logf_core(ix, out)          glibc logf of NG vectors of positive normal
 *                                 floats (bits ix[j]) into out[j]
 *   NFN(name)                     the kernel's symbol name
 */
#ifndef GLOROT_SIMD_NORMAL_H
#define GLOROT_SIMD_NORMAL_H

#include "gen/gen_internal.h"
#include "gen/mlx_normal.h"

#define N_INLINE static inline __attribute__((always_inline))

/* The constants of one distribution, broadcast once per call. */
typedef struct {
    nvf upper, range, lo, scale, loc, std_t, clip_lo, clip_hi;
} n_consts;

/* ---- erfinv (mlx_math.c), NG vectors at a time ------------------------------
 * Each step is written for the NG vectors of a group in turn, so their
 * chains interleave: one vector's erfinv is ~40 dependent operations, which
 * alone leaves the FP units idle most of the time. */

#define FOR_G _Pragma("GCC unroll 4") for (int j = 0; j < NG; j++)

static const float n_tail_c[9] = {3.03697567e-10f, 2.93243101e-8f,  1.22150334e-6f,
                                  2.84108955e-5f,  3.93552968e-4f,  3.02698812e-3f,
                                  4.83185798e-3f,  -2.64646143e-1f, 8.40016484e-1f};
static const float n_body_c[10] = {5.43877832e-9f,  1.43285448e-7f,  1.22774793e-6f, 1.12963626e-7f,
                                   -5.61530760e-5f, -1.47697632e-4f, 2.31468678e-3f, 1.15392581e-2f,
                                   -2.32015476e-1f, 8.86226892e-1f};

/* Horner with one rounding per step (MLX's fma), coefficients c[0..nc). */
N_INLINE void n_horner(const float *c, int nc, const nvf *t, nvf *p)
{
    FOR_G p[j] = NF_SET1(c[0]);
    _Pragma("GCC unroll 10") for (int k = 1; k < nc; k++) FOR_G p[j] =
        NF_FMA(p[j], t[j], NF_SET1(c[k]));
}

/* MLX erfinv of a[0..NG). With check, *special is set when a lane's logf
 * input is not a positive normal float (the group is then redone by the
 * scalar code); the normal kinds skip it: |a| <= 1 - 2^-24 there, so
 * t >= 2^-23 - 2^-48. t <= 1 makes log(t) <= 0, so |log t| > 6.125 is
 * log t < -6.125 (|a| > 0.9989): the tail polynomial only when a lane
 * needs it. */
N_INLINE void n_erfinv(const nvf *a, nvf *out, int check, int *special)
{
    nvu ix[NG];
    nvf lt[NG], p[NG], q[NG], thresh = NF_SET1(-6.125f);
    int tail = 0;

    FOR_G
    {
        /* fma(a, 0 - a, 1) = 1 - a * a rounded once = fnmadd(a, a, 1) */
        ix[j] = NF_BITS(NF_FNMA(a[j], a[j], NF_SET1(1.0f)));
        if (check)
            *special |= NV_ANY_GEU(NV_SUB(ix[j], NV_SET1(0x00800000u)), NV_SET1(0x7f000000u));
    }
    n_logf_core(ix, lt);
    n_horner(n_body_c, 10, lt, p);
    FOR_G tail |= NF_ANY_GT(thresh, lt[j]);
    if (tail) {
        n_horner(n_tail_c, 9, lt, q);
        FOR_G p[j] = NF_SEL_GT(thresh, lt[j], q[j], p[j]);
    }
    FOR_G out[j] = NF_MUL(a[j], p[j]);
}

/* ---- dtype rounding and stores ---------------------------------------------- */

N_INLINE nvf n_round(gp_dtype dt, nvf f)
{
    return dt == GP_FLOAT16 ? NF_ROUND_F16(f) : dt == GP_BFLOAT16 ? NF_ROUND_BF16(f) : f;
}

/* y already holds dtype values: the stores only change the encoding. */
N_INLINE void n_store(gp_dtype dt, unsigned char *p, nvf y)
{
    if (dt == GP_FLOAT16)
        NF_STORE_F16(p, y);
    else if (dt == GP_BFLOAT16)
        NF_STORE_BF16(p, y);
    else
        NF_STORE32(p, y);
}

/* ---- NG vectors of elements (mlx_normal.c normal_at / truncated_at) ------------ */

N_INLINE nvf n_uniform(const n_consts *c, const uint32_t *w)
{
    return NF_MIN(NF_MUL(NF_FROM_U32(NV_LOAD(w)), NF_SET1(0x1p-32f)), c->upper);
}

/* normal(): u = min(RNE(w) 2^-32, 1 - 2^-24), s = RNE(2u - (1 - 2^-24)).
 * 2u is exact, so s = min(RNE(RNE(w) 2^-31 - (1 - 2^-24)), 1 - 2^-24): below
 * the clamp the min changes nothing, and at it (RNE(w) = 2^32 - 2^8 or 2^32)
 * both give 1 - 2^-24. */
N_INLINE void n_normal(const n_consts *c, const uint32_t *w, nvf *y, gp_dtype dt, int loc)
{
    nvf s[NG], e[NG], top = NF_SET1(0x1.fffffep-1f);

    FOR_G s[j] = NF_MIN(NF_FMA(NF_FROM_U32(NV_LOAD(w + j * NW)), NF_SET1(0x1p-31f), c->lo), top);
    n_erfinv(s, e, 0, NULL);
    FOR_G
    {
        y[j] = n_round(dt, NF_MUL(c->scale, n_round(dt, e[j])));
        if (loc)
            y[j] = n_round(dt, NF_ADD(c->loc, y[j]));
    }
}

N_INLINE void n_truncated(const n_consts *c, const uint32_t *w, nvf *y, gp_dtype dt, int *special)
{
    nvf e[NG];

    FOR_G
    {
        nvf u = n_round(dt, n_uniform(c, w + j * NW));
        y[j] = n_round(dt, NF_ADD(n_round(dt, NF_MUL(c->range, u)), c->lo));
    }
    n_erfinv(y, e, 1, special);
    FOR_G
    {
        nvf x = n_round(dt, NF_MUL(c->scale, n_round(dt, e[j])));
        x = NF_MAX(NF_MIN(c->clip_hi, x), c->clip_lo);
        x = n_round(dt, NF_MUL(x, c->std_t));
        y[j] = n_round(dt, NF_ADD(x, c->loc));
    }
}

/* Elements [0, n - n % (NG * NW)) for one (kind, dtype), constant after
 * inlining. */
N_INLINE size_t n_run(const gpi_mlx_dist *d, const n_consts *c, const uint32_t *w, size_t n,
                      unsigned char *dst, gpi_mlx_kind kind, gp_dtype dt)
{
    size_t es = dt == GP_FLOAT32 ? 4 : 2, i;

    for (i = 0; i + NG * NW <= n; i += NG * NW) {
        int special = 0;
        nvf y[NG];
        if (kind == GPI_MLX_TRUNCATED)
            n_truncated(c, w + i, y, dt, &special);
        else
            n_normal(c, w + i, y, dt, kind == GPI_MLX_NORMAL);
        if (special)
            gpi_mlx_dist_values_scalar(d, w, i, i + NG * NW, dst);
        else
            FOR_G n_store(dt, dst + (i + (size_t)j * NW) * es, y[j]);
    }
    return i;
}

#define N_RUN_DTYPES(kind)                                                                         \
    (d->dtype == GP_FLOAT16    ? n_run(d, &c, w, n, dst, (kind), GP_FLOAT16)                       \
     : d->dtype == GP_BFLOAT16 ? n_run(d, &c, w, n, dst, (kind), GP_BFLOAT16)                      \
                               : n_run(d, &c, w, n, dst, (kind), GP_FLOAT32))

static size_t NFN(values)(const gpi_mlx_dist *d, const uint32_t *w, size_t n, unsigned char *dst)
{
    n_consts c = {NF_SET1(d->upper), NF_SET1(d->range), NF_SET1(d->lo),      NF_SET1(d->scale),
                  NF_SET1(d->loc),   NF_SET1(d->std_t), NF_SET1(d->clip_lo), NF_SET1(d->clip_hi)};

    switch (d->kind) {
    case GPI_MLX_NORMAL_NOLOC:
        return N_RUN_DTYPES(GPI_MLX_NORMAL_NOLOC);
    case GPI_MLX_NORMAL:
        return N_RUN_DTYPES(GPI_MLX_NORMAL);
    case GPI_MLX_TRUNCATED:
        return N_RUN_DTYPES(GPI_MLX_TRUNCATED);
    }
    return 0;
}

#endif /* GLOROT_SIMD_NORMAL_H */
