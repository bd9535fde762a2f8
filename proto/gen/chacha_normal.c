/*
 * chacha_normal.c - chacha20 v1, the normal family: 64-bit word -> standard
 * normal z by inverse CDF, and truncated_normal by exact inverse-CDF
 * sampling between the bounds (docs/ALGORITHM.md section 3.7, frozen).
 *
 * Only IEEE-754 basic operations (+ - * / sqrt, each rounded on its own, no
 * FMA: -ffp-contract=off) and exact bit manipulation; no libm. The inverse
 * CDF is Wichura's AS241 (PPND16, Applied Statistics 37(3), 1988), its
 * coefficients as printed in the paper (checked against the Fortran of
 * cran/swdpwr src/ppnd16.f); its tail needs ln, which is ours (gpi_log
 * below), and truncated_normal needs Phi, built here from our own exp.
 * tests/py/ref_chacha_normal.py reproduces every step bit for bit.
 */
#include "gen/chacha_normal.h"

#include <math.h>

#include "gen/gen_internal.h"

#define M63 UINT64_C(0x7FFFFFFFFFFFFFFF)
#define CHUNK 512 /* elements per stack chunk */

/* ---- constants (section 3.7.1) ------------------------------------------- */

static const double LN2_HI = 0x1.62e42p-1;          /* ln 2 to 21 bits: k * LN2_HI is exact */
static const double LN2_LO = 0x1.fdf473de6af28p-22; /* RNE(ln 2 - LN2_HI) */
static const double INV_LN2 = 0x1.71547652b82fep+0;
static const double INV_SQRT_2PI = 0x1.9884533d43651p-2;
#define SQRT2_MANT UINT64_C(0x6A09E667F3BCD) /* mantissa of RNE(sqrt 2) */

/* 2 / (2j + 1), j = 1 .. 11: the atanh series of ln. */
static const double LOG_C[11] = {2.0 / 3,  2.0 / 5,  2.0 / 7,  2.0 / 9,  2.0 / 11, 2.0 / 13,
                                 2.0 / 15, 2.0 / 17, 2.0 / 19, 2.0 / 21, 2.0 / 23};
/* 1 / j!, j = 0 .. 14: the Taylor series of exp. */
static const double EXP_C[15] = {1.0,
                                 1.0,
                                 1.0 / 2,
                                 1.0 / 6,
                                 1.0 / 24,
                                 1.0 / 120,
                                 1.0 / 720,
                                 1.0 / 5040,
                                 1.0 / 40320,
                                 1.0 / 362880,
                                 1.0 / 3628800,
                                 1.0 / 39916800,
                                 1.0 / 479001600,
                                 1.0 / 6227020800,
                                 1.0 / 87178291200};

/* AS241: numerator and denominator coefficients, lowest degree first. */
static const double AS_A[8] = {3.3871328727963666080e+00, 1.3314166789178437745e+02,
                               1.9715909503065514427e+03, 1.3731693765509461125e+04,
                               4.5921953931549871457e+04, 6.7265770927008700853e+04,
                               3.3430575583588128105e+04, 2.5090809287301226727e+03};
static const double AS_B[8] = {1.0,
                               4.2313330701600911252e+01,
                               6.8718700749205790830e+02,
                               5.3941960214247511077e+03,
                               2.1213794301586595867e+04,
                               3.9307895800092710610e+04,
                               2.8729085735721942674e+04,
                               5.2264952788528545610e+03};
static const double AS_C[8] = {1.42343711074968357734e+00, 4.63033784615654529590e+00,
                               5.76949722146069140550e+00, 3.64784832476320460504e+00,
                               1.27045825245236838258e+00, 2.41780725177450611770e-01,
                               2.27238449892691845833e-02, 7.74545014278341407640e-04};
static const double AS_D[8] = {1.0,
                               2.05319162663775882187e+00,
                               1.67638483018380384940e+00,
                               6.89767334985100004550e-01,
                               1.48103976427480074590e-01,
                               1.51986665636164571966e-02,
                               5.47593808499534494600e-04,
                               1.05075007164441684324e-09};
static const double AS_E[8] = {6.65790464350110377720e+00, 5.46378491116411436990e+00,
                               1.78482653991729133580e+00, 2.96560571828504891230e-01,
                               2.65321895265761230930e-02, 1.24266094738807843860e-03,
                               2.71155556874348757815e-05, 2.01033439929228813265e-07};
static const double AS_F[8] = {1.0,
                               5.99832206555887937690e-01,
                               1.36929880922735805310e-01,
                               1.48753612908506148525e-02,
                               7.86869131145613259100e-04,
                               1.84631831751005468180e-05,
                               1.42151175831644588870e-07,
                               2.04426310338993978564e-15};

/* truncated_normal (section 3.7.4) */
#define Q_ZERO 37.5     /* Q(x) is taken as 0 from here on (Q(37.5) ~ 4e-309) */
#define SERIES_MAX 2.5  /* Phi - 1/2 by its Taylor series below, Laplace's fraction above */
#define SERIES_TERMS 60 /* terms after the first */
#define CF_DEPTH 200
#define FAR 37.0    /* nearer bound beyond 37 sigma: the far-tail law */
#define SCALED 20.0 /* one-sided from 20 sigma: tail masses kept times 2^SCALE */
#define SCALE 600

/* ---- bits -> probability ------------------------------------------------- */

/* RNE_f64(2x + 1) * 2^-65 for x < 2^63: two exact halves, one rounding. */
static inline double odd65(uint64_t x)
{
    uint64_t n = 2 * x + 1;
    double hi = (double)(uint32_t)(n >> 32) * 0x1p32;

    return (hi + (double)(uint32_t)n) * 0x1p-65;
}

/* ---- ln and exp from basic operations ------------------------------------ */

/* ln(x * 2^kadj) for finite x > 0, subnormals included. x = 2^k * m with m in
 * [sqrt(2)/2, sqrt(2)); ln m = 2 atanh(s), s = (m - 1) / (m + 1). */
static double gpi_log(double x, int kadj)
{
    uint64_t b = gpi_f64_bits(x), mant;
    int k = kadj;
    double m, f, s, w, p, lnm, kd;

    if (b < UINT64_C(0x0010000000000000)) {
        b = gpi_f64_bits(x * 0x1p64);
        k -= 64;
    }
    k += (int)(b >> 52) - 1023;
    mant = b & UINT64_C(0xFFFFFFFFFFFFF);
    if (mant >= SQRT2_MANT) {
        m = gpi_f64_from_bits(mant | UINT64_C(0x3FE0000000000000));
        k += 1;
    } else {
        m = gpi_f64_from_bits(mant | UINT64_C(0x3FF0000000000000));
    }
    f = m - 1.0;
    s = f / (2.0 + f);
    w = s * s;
    p = LOG_C[10];
    for (int j = 9; j >= 0; j--)
        p = p * w + LOG_C[j];
    lnm = (s + s) + s * (w * p);
    kd = (double)k;
    return kd * LN2_HI + (kd * LN2_LO + lnm);
}

/* e^y for y <= 0; 0 below -708 and for NaN. e^y = 2^-n e^r, |r| <= ln2/2. */
static double gpi_exp(double y)
{
    int n;
    double nd, r, p;

    if (!(y >= -708.0))
        return 0.0;
    n = (int)(0.5 - y * INV_LN2); /* truncation of a positive value */
    nd = (double)n;
    r = (y + nd * LN2_HI) + nd * LN2_LO;
    p = EXP_C[14];
    for (int j = 13; j >= 0; j--)
        p = p * r + EXP_C[j];
    return p * gpi_f64_from_bits((uint64_t)(1023 - n) << 52);
}

/* ---- AS241 --------------------------------------------------------------- */

static inline double horner7(const double c[8], double r)
{
    double p = c[7];

    for (int k = 6; k >= 0; k--)
        p = p * r + c[k];
    return p;
}

/* Phi^-1(1/2 + d) for |d| <= 0.425. */
static double as241_body(double d)
{
    double r = 0.180625 - d * d;

    return d * horner7(AS_A, r) / horner7(AS_B, r);
}

/* Q^-1(q 2^kadj) (= Phi^-1(1 - q 2^kadj)) for q 2^kadj <= 0.075; q <= 0 is
 * taken as 2^-1074. */
static double as241_tail(double q, int kadj)
{
    double r;

    if (!(q > 0.0))
        q = 0x1p-1074;
    r = sqrt(-gpi_log(q, kadj));
    if (r <= 5.0) {
        r = r - 1.6;
        return horner7(AS_C, r) / horner7(AS_D, r);
    }
    r = r - 5.0;
    return horner7(AS_E, r) / horner7(AS_F, r);
}

double gpi_chacha_tail(double q, int kadj)
{
    return as241_tail(q, kadj);
}

double gpi_chacha_std_normal(uint64_t u)
{
    uint64_t v = u & M63;
    double c = odd65(v ^ M63); /* 1/2 - p, p the lower-tail probability of -|z| */
    double t = c <= 0.425 ? as241_body(c) : as241_tail(odd65(v), 0);

    return (u >> 63) != 0 ? -t : t;
}

/* ---- Phi from basic operations ------------------------------------------- */

/* *h = Phi(x) - 1/2 and *q = Q(x) = 1 - Phi(x) for x >= 0 (or +inf). */
static void phi_hq(double x, double *h, double *q)
{
    double phi;

    if (!(x < Q_ZERO)) {
        *h = 0.5;
        *q = 0.0;
        return;
    }
    phi = gpi_exp(-(0.5 * (x * x))) * INV_SQRT_2PI;
    if (x < SERIES_MAX) {
        /* Phi(x) - 1/2 = phi(x) * sum x^(2n+1) / (1 * 3 * ... * (2n+1)) */
        double xx = x * x, term = x, s = x;
        for (int n = 1; n <= SERIES_TERMS; n++) {
            term = term * xx / (double)(2 * n + 1);
            s = s + term;
        }
        *h = phi * s;
        *q = 0.5 - *h;
    } else {
        /* Q(x) = phi(x) / (x + 1/(x + 2/(x + 3/(x + ...)))) */
        double t = x;
        for (int k = CF_DEPTH; k >= 1; k--)
            t = x + (double)k / t;
        *q = phi / t;
        *h = 0.5 - *q;
    }
}

/* ---- set-up -------------------------------------------------------------- */

/* RNE_T(RNE_f32(x)) (float64: x) is finite. */
static int finite_in(gp_dtype dtype, double x)
{
    float f = (float)x;

    switch (dtype) {
    case GP_FLOAT64:
        return isfinite(x);
    case GP_FLOAT32:
        return isfinite(f);
    case GP_FLOAT16:
        return (gpi_f32_to_f16(f) & 0x7C00u) != 0x7C00u;
    case GP_BFLOAT16:
        return (gpi_f32_to_bf16(f) & 0x7F80u) != 0x7F80u;
    }
    return 0;
}

static void trunc_init(gpi_chacha_dist *d)
{
    double al = (d->a - d->mean) / d->std, be = (d->b - d->mean) / d->std;
    double ha, ta, hb, tb, la = 0.0, scale = 1.0;

    d->flip = be <= 0.0;
    if (d->flip) {
        double t = al;
        al = -be;
        be = -t;
    }
    d->alpha = al;
    d->far = al > FAR;
    d->kadj = 0;
    if (al >= 0.0) {
        phi_hq(al, &ha, &ta);
        phi_hq(be, &hb, &tb);
        d->da = ha;
        d->w = ta - tb;
    } else {
        phi_hq(-al, &ha, &la);
        phi_hq(be, &hb, &tb);
        d->da = -ha;
        d->w = hb + ha;
    }
    if (al >= SCALED) {
        scale = 0x1p600;
        d->kadj = -SCALE;
    }
    d->ws = d->w * scale;
    d->tbs = tb * scale;
    d->las = la * scale;
    d->c0 = 0.0;
    d->c1 = 1.0;
    if (d->far) {
        d->c0 = gpi_exp(-(0.5 * ((be - al) * (be + al))));
        d->c1 = 1.0 - d->c0;
    }
}

gp_code gpi_chacha_dist_init(gpi_chacha_dist *d, int truncated, gp_dtype dtype, double mean,
                             double std, double a, double b, gp_error *err)
{
    memset(d, 0, sizeof *d);
    if (!isfinite(mean))
        return gp_fail(err, GP_EPARAM, "mean", "mean must be a finite number");
    if (!isfinite(std) || !(std > 0.0))
        return gp_fail(err, GP_EPARAM, "std", "std must be a finite number > 0");
    d->truncated = truncated != 0;
    d->dtype = dtype;
    d->mean = mean;
    d->std = std;
    if (!d->truncated) {
        double zs = std * GPI_CHACHA_ZMAX;
        if (!finite_in(dtype, mean + zs) || !finite_in(dtype, mean - zs))
            return gp_fail(err, GP_EUNSUPPORTED, "std", "mean +- %.17g * std overflows %s",
                           GPI_CHACHA_ZMAX, gp_dtype_name(dtype));
        return GP_OK;
    }
    if (!isfinite(a))
        return gp_fail(err, GP_EPARAM, "a", "a must be a finite number");
    if (!isfinite(b))
        return gp_fail(err, GP_EPARAM, "b", "b must be a finite number");
    if (!(a < b))
        return gp_fail(err, GP_EPARAM, "b", "b must be greater than a");
    if (!finite_in(dtype, a))
        return gp_fail(err, GP_EUNSUPPORTED, "a", "a overflows %s", gp_dtype_name(dtype));
    if (!finite_in(dtype, b))
        return gp_fail(err, GP_EUNSUPPORTED, "b", "b overflows %s", gp_dtype_name(dtype));
    d->a = a;
    d->b = b;
    trunc_init(d);
    return GP_OK;
}

/* ---- values -------------------------------------------------------------- */

/* The truncated z of one word (section 3.7.4). */
static double trunc_z(const gpi_chacha_dist *d, uint64_t u)
{
    uint64_t v = u & M63;
    double small = odd65(v), big = 0.5 + odd65(v ^ M63);
    int lower = (u >> 63) != 0;
    double pl, pu, z;

    if (d->flip)
        lower = !lower;
    pl = lower ? small : big; /* p */
    pu = lower ? big : small; /* 1 - p */
    if (d->far) {
        double g = d->c0 + pu * d->c1, e2;
        if (!(g > 0.0))
            g = 0x1p-1074;
        e2 = -gpi_log(g, 0);
        e2 = e2 + e2;
        z = d->alpha + e2 / (d->alpha + sqrt(d->alpha * d->alpha + e2));
    } else {
        double dd = d->da + pl * d->w;
        if (dd > 0.425)
            z = as241_tail(d->tbs + pu * d->ws, d->kadj);
        else if (dd < -0.425)
            z = -as241_tail(d->las + pl * d->ws, d->kadj);
        else
            z = as241_body(dd);
    }
    return d->flip ? -z : z;
}

double gpi_chacha_dist_value(const gpi_chacha_dist *d, uint64_t u)
{
    double v;

    if (!d->truncated)
        return d->mean + d->std * gpi_chacha_std_normal(u);
    v = d->mean + d->std * trunc_z(d, u);
    if (!(v >= d->a)) /* also NaN, which cannot happen, to a */
        v = d->a;
    if (!(v <= d->b))
        v = d->b;
    return v;
}

/* value_d (float32: RNE_f32(value_d)) of n <= CHUNK words: the vector
 * kernel where there is one, the scalar code for the rest;
 * the same bits either way. */
static void values_d(const gpi_chacha_dist *d, const unsigned char *ks, size_t n, double *vd,
                     float *f)
{
    const gpi_kernels *kern = gpi_kernels_active();
    size_t k = 0;

    if (kern->cnormal != NULL)
        k = kern->cnormal(d, ks, n, f != NULL, f != NULL ? (void *)f : (void *)vd);
    for (; k < n; k++) {
        double v = gpi_chacha_dist_value(d, gpi_load_le64(ks + 8 * k));
        if (f != NULL)
            f[k] = (float)v;
        else
            vd[k] = v;
    }
}

/* Little-endian stores; on a little-endian host that is the memory image. */
static void store_f64(const double *v, size_t n, unsigned char *dst)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, v, 8 * n);
#else
    for (size_t k = 0; k < n; k++)
        gpi_store_le64(dst + 8 * k, gpi_f64_bits(v[k]));
#endif
}

static void store_f32(const float *v, size_t n, unsigned char *dst)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, v, 4 * n);
#else
    for (size_t k = 0; k < n; k++)
        gpi_store_le32(dst + 4 * k, gpi_f32_bits(v[k]));
#endif
}

/* float16 / bfloat16 bits of n floats: the active set's vector rounding
 * (equal to half.c's on every input, tests/unit/test_simd.c), half.c for
 * the rest. */
static void store_half(gp_dtype dtype, const float *f, size_t n, unsigned char *dst)
{
    const gpi_kernels *kern = gpi_kernels_active();
    gpi_out kind = dtype == GP_FLOAT16 ? GPI_OUT_F16 : GPI_OUT_BF16;
    size_t k = kern->half != NULL ? kern->half(kind, 0, f, n, dst) : 0;

    gpi_store_half_n(dtype, f + k, n - k, dst + 2 * k);
}

void gpi_chacha_dist_values(const gpi_chacha_dist *d, const unsigned char *ks, size_t n,
                            unsigned char *dst)
{
    double vd[CHUNK];
    float f[CHUNK];

    while (n > 0) {
        size_t m = n < CHUNK ? n : CHUNK;
        if (d->dtype == GP_FLOAT64) {
            values_d(d, ks, m, vd, NULL);
            store_f64(vd, m, dst);
        } else {
            values_d(d, ks, m, vd, f);
            if (d->dtype == GP_FLOAT32)
                store_f32(f, m, dst);
            else
                store_half(d->dtype, f, m, dst);
        }
        ks += 8 * m;
        dst += m * gp_dtype_size(d->dtype);
        n -= m;
    }
}

void gpi_chacha_dist_fill(const gpi_chacha_dist *d, const unsigned char key[32], uint64_t first,
                          size_t count, unsigned char *out)
{
    unsigned char ks[8 * CHUNK];
    size_t esize = gp_dtype_size(d->dtype);

    while (count > 0) {
        size_t m = count < CHUNK ? count : CHUNK;
        gpi_chacha_keystream(key, first * 8, 8 * m, ks);
        gpi_chacha_dist_values(d, ks, m, out);
        first += m;
        count -= m;
        out += m * esize;
    }
}
