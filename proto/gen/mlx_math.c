/*
 * mlx_math.c - the float32 functions behind MLX's normal family on CPU, bit
 * for bit: glibc's logf, and MLX's erfinv, erf and exp. No libm call except
 * fmaf (a correctly rounded operation, the same on every host).
 *
 * MLX (ml-explore/mlx 846d176227a0, mlx/backend/cpu/simd/math.h) evaluates
 * these through Simd<T, 1> on x86-64 Linux (base_simd.h: max_size = 1), so
 * its `log` is std::log(float) = glibc's logf and its `fma` is std::fma =
 * fmaf. The official MLX x86-64 builds link glibc 2.36 (Debian 12) or later;
 * logf has not changed since 2.28.
 */
#include "gen/mlx_normal.h"

#include <math.h>

#include "gen/gen_internal.h"

/* ---- logf: glibc 2.36 sysdeps/ieee754/flt-32/e_logf.c, e_logf_data.c -----
 *
 * x = 2^k z with z in [0x3f330000, 2 * 0x3f330000) as float bits; the top
 * 4 mantissa bits of z pick c, log(x) = log1p(z/c - 1) + log(c) + k ln2,
 * log1p by a degree-4 polynomial, all in double, rounded once to float.
 *
 * FMA: x86-64 glibc picks __logf_fma (the same C compiled with -mfma -mavx2,
 * so GCC may contract the five a*b+c below) on CPUs with FMA and AVX2, and
 * __logf_sse2 (no contraction) elsewhere. The final float does not depend on
 * it: evaluated with each of the 2^5 choices of plain or fused for the five
 * sites, every float32 in (0, 1] and every positive finite float (first and
 * third choice sets) gave the same float as this CPU's logf (FMA variant),
 * and __logf_sse2 (GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA) agreed on
 * every positive finite float too. So the plain double operations below,
 * compiled with -ffp-contract=off, equal glibc on every x86-64 CPU; the
 * vector kernels (simd_normal_*.c) fuse all five, which gives the same
 * floats. tests/unit/test_mlx_normal.c checks both on every float32 in
 * (0, 1], the only inputs the normal family has (t = 1 - a^2). */

/* {1/c, log(c)} per subinterval, from e_logf_data.c, as two arrays so the
 * vector kernels can load each into registers. */
const double gpi_logf_invc[GPI_LOGF_N] = {
    0x1.661ec79f8f3bep+0, 0x1.571ed4aaf883dp+0,
    0x1.49539f0f010bp+0,  0x1.3c995b0b80385p+0,
    0x1.30d190c8864a5p+0, 0x1.25e227b0b8eap+0,
    0x1.1bb4a4a1a343fp+0, 0x1.12358f08ae5bap+0,
    0x1.0953f419900a7p+0, 0x1p+0,
    0x1.e608cfd9a47acp-1, 0x1.ca4b31f026aap-1,
    0x1.b2036576afce6p-1, 0x1.9c2d163a1aa2dp-1,
    0x1.886e6037841edp-1, 0x1.767dcf5534862p-1,
};
const double gpi_logf_logc[GPI_LOGF_N] = {
    -0x1.57bf7808caadep-2, -0x1.2bef0a7c06ddbp-2,
    -0x1.01eae7f513a67p-2, -0x1.b31d8a68224e9p-3,
    -0x1.6574f0ac07758p-3, -0x1.1aa2bc79c81p-3,
    -0x1.a4e76ce8c0e5ep-4, -0x1.1973c5a611cccp-4,
    -0x1.252f438e10c1ep-5, 0x0p+0,
    0x1.aa5aa5df25984p-5,  0x1.c5e53aa362eb4p-4,
    0x1.526e57720db08p-3,  0x1.bc2860d22477p-3,
    0x1.1058bc8a07ee1p-2,  0x1.4043057b6ee09p-2,
};

/* What glibc returns outside the normal positive range (its __math_divzerof
 * and __math_invalidf give -inf and (x - x) / (x - x)). Subnormals are
 * scaled into the normal range: *ix is updated and 0 is returned. */
static int logf_special(float x, uint32_t *ix, float *out)
{
    if (*ix * 2u == 0) {
        *out = -INFINITY;
        return 1;
    }
    if (*ix == 0x7f800000u) {
        *out = x;
        return 1;
    }
    if ((*ix & 0x80000000u) || *ix * 2u >= 0xff000000u) {
        *out = (x - x) / (x - x);
        return 1;
    }
    *ix = gpi_f32_bits(x * 0x1p23f) - (23u << 23);
    return 0;
}

float gpi_mlx_logf(float x)
{
    uint32_t ix = gpi_f32_bits(x), tmp, iz;
    double z, r, r2, y, y0, invc, logc;
    int32_t k;
    unsigned i;
    float special;

    if (ix == 0x3f800000u)
        return 0.0f;
    if (ix - 0x00800000u >= 0x7f800000u - 0x00800000u && logf_special(x, &ix, &special))
        return special;
    tmp = ix - GPI_LOGF_OFF;
    i = (tmp >> (23 - 4)) % GPI_LOGF_N;
    k = (int32_t)tmp >> 23; /* arithmetic shift, as glibc (GCC defines it) */
    iz = ix - (tmp & 0xff800000u);
    invc = gpi_logf_invc[i];
    logc = gpi_logf_logc[i];
    z = (double)gpi_f32_from_bits(iz);
    r = z * invc - 1.0;
    y0 = logc + (double)k * GPI_LOGF_LN2;
    r2 = r * r;
    y = GPI_LOGF_A1 * r + GPI_LOGF_A2;
    y = GPI_LOGF_A0 * r2 + y;
    y = y * r2 + (y0 + r);
    return (float)y;
}

/* ---- MLX math.h ------------------------------------------------------------ */

/* erfinv's two polynomials in t = log(1 - a^2), Horner with fmaf. */
static float erfinv_tail(float t)
{
    float p = 3.03697567e-10f;
    p = fmaf(p, t, 2.93243101e-8f);
    p = fmaf(p, t, 1.22150334e-6f);
    p = fmaf(p, t, 2.84108955e-5f);
    p = fmaf(p, t, 3.93552968e-4f);
    p = fmaf(p, t, 3.02698812e-3f);
    p = fmaf(p, t, 4.83185798e-3f);
    p = fmaf(p, t, -2.64646143e-1f);
    return fmaf(p, t, 8.40016484e-1f);
}

static float erfinv_body(float t)
{
    float p = 5.43877832e-9f;
    p = fmaf(p, t, 1.43285448e-7f);
    p = fmaf(p, t, 1.22774793e-6f);
    p = fmaf(p, t, 1.12963626e-7f);
    p = fmaf(p, t, -5.61530760e-5f);
    p = fmaf(p, t, -1.47697632e-4f);
    p = fmaf(p, t, 2.31468678e-3f);
    p = fmaf(p, t, 1.15392581e-2f);
    p = fmaf(p, t, -2.32015476e-1f);
    return fmaf(p, t, 8.86226892e-1f);
}

/* t = fma(a, 0 - a, 1); t = log(t); a * (|t| > 6.125 ? lhs(t) : rhs(t)).
 * a = +-1 gives t = -inf and lhs(-inf) = +inf (eight fmas), so erfinv(+-1)
 * = +-inf; the truncated normal's clip turns that into its bound. */
float gpi_mlx_erfinv(float a)
{
    float t = gpi_mlx_logf(fmaf(a, 0.0f - a, 1.0f));

    return fabsf(t) > 6.125f ? a * erfinv_tail(t) : a * erfinv_body(t);
}

/* exp(x) = 2^ipart * 2^fpart, ipart = floor(x / ln2 + 0.5) (x + 0.5 is a
 * double in MLX: float + double literal), 2^fpart by a Cephes polynomial,
 * 2^ipart built as float bits ((ipart + 127) << 23: ipart = -127 gives the
 * bits of +0). NaN stays, x > 88 is inf, x < -88 is 0, as MLX's selects. */
float gpi_mlx_exp(float x)
{
    float y, ipart, fpart, p;

    if (isnan(x))
        return x;
    if (x > 88.0f)
        return INFINITY;
    if (x < -88.0f)
        return 0.0f;
    y = x * 1.442695f;
    ipart = (float)floor((double)y + 0.5);
    fpart = y - ipart;
    p = 1.535336188319500e-4f;
    p = fmaf(p, fpart, 1.339887440266574e-3f);
    p = fmaf(p, fpart, 9.618437357674640e-3f);
    p = fmaf(p, fpart, 5.550332471162809e-2f);
    p = fmaf(p, fpart, 2.402264791363012e-1f);
    p = fmaf(p, fpart, 6.931472028550421e-1f);
    p = fmaf(p, fpart, 1.000000000000000f);
    return gpi_f32_from_bits((uint32_t)((int32_t)ipart + 127) << 23) * p;
}

/* Abramowitz-Stegun 7.1.26 as PyTorch's vectorised erf: t = 1 / (1 + p|x|),
 * 1 - (a1 t + ... + a5 t^5) e^{-x^2}, sign restored by x > 0 (so erf(0) and
 * erf(-0) are -(1 - r), as in MLX). */
float gpi_mlx_erf(float x)
{
    float t = 1.0f / fmaf(0.3275911f, fabsf(x), 1.0f);
    float r = fmaf(1.061405429f, t, -1.453152027f);
    float e, result;

    r = fmaf(r, t, 1.421413741f);
    r = fmaf(r, t, -0.284496736f);
    r = fmaf(r, t, 0.254829592f);
    e = -gpi_mlx_exp(-x * x);
    result = fmaf(e * t, r, 1.0f);
    return x > 0.0f ? result : -result;
}
