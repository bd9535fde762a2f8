/*
 * mlx_normal.h - private to proto/: MLX's normal family on its CPU backend,
 * bit for bit: nn.init.glorot_normal / he_normal (mx.random.normal without
 * loc), nn.init.normal (with loc) and mean + std * mx.random.truncated_normal,
 * in float32, float16 and bfloat16. Word i of MLX's RandomBits stream
 * (threefry.c, gpi_mlx_words) gives element i; nothing else is random.
 *
 * Matched against ml-explore/mlx commit 846d176227a0 (v0.32.1-26): the op
 * order of mlx/random.cpp normal() and truncated_normal(), the bindings in
 * python/src/random.cpp (Python floats become float32 scalars, then the
 * dtype), the CPU erfinv / erf / exp of mlx/backend/cpu/simd/math.h (the
 * scalar base_simd.h path x86-64 builds run) and glibc 2.36's logf, which
 * that erfinv calls. docs/ALGORITHM.md has the formulas.
 */
#ifndef GLOROT_MLX_NORMAL_H
#define GLOROT_MLX_NORMAL_H

#include <stddef.h>
#include <stdint.h>

#include "glorot_proto.h"

/* ---- mlx_math.c: the float32 functions MLX's normal family runs ----------- */

/* glibc 2.36 logf (sysdeps/ieee754/flt-32/e_logf.c), same result for every
 * float32 input, with no libm call. */
float gpi_mlx_logf(float x);

/* Its data, for the vector kernels: for a positive normal float x with bits
 * ix, tmp = ix - GPI_LOGF_OFF, i = (tmp >> 19) % 16, k = (int32_t)tmp >> 23,
 * z = float(ix - (tmp & 0xff800000)) as a double, then in double
 * r = z * invc[i] - 1, y0 = logc[i] + k * LN2, r2 = r * r,
 * y = A1 * r + A2, y = A0 * r2 + y, y = y * r2 + (y0 + r), logf = (float)y.
 * Fusing any of the five a * b + c (glibc's FMA build may) gives the same
 * float for every positive input: checked exhaustively (mlx_math.c). */
#define GPI_LOGF_OFF 0x3f330000u
#define GPI_LOGF_N 16
#define GPI_LOGF_LN2 0x1.62e42fefa39efp-1
#define GPI_LOGF_A0 (-0x1.00ea348b88334p-2)
#define GPI_LOGF_A1 0x1.5575b0be00b6ap-2
#define GPI_LOGF_A2 (-0x1.ffffef20a4123p-2)
extern const double gpi_logf_invc[GPI_LOGF_N];
extern const double gpi_logf_logc[GPI_LOGF_N];
/* MLX's erfinv (math.h, the N == 1 branch): fmaf and gpi_mlx_logf. */
float gpi_mlx_erfinv(float a);
/* MLX's exp (math.h): its own polynomial, not libm's. */
float gpi_mlx_exp(float x);
/* MLX's erf on one float32 value, before the dtype rounding (RNE_T(erf) =
 * RNE_T of this, as RNE is symmetric in sign). */
float gpi_mlx_erf(float x);

/* ---- mlx_normal.c: word -> value ----------------------------------------- */

typedef enum {
    GPI_MLX_NORMAL_NOLOC, /* glorot_normal, he_normal: normal(scale=std), loc is std::nullopt */
    GPI_MLX_NORMAL,       /* nn.init.normal: normal(scale=std, loc=mean), loc always added */
    GPI_MLX_TRUNCATED     /* mean + std * truncated_normal((a-mean)/std, (b-mean)/std) */
} gpi_mlx_kind;

/* Plain data: the request's constants rounded as MLX rounds them, each held
 * as the float32 value of its dtype value. Filled by gpi_mlx_dist_init. */
typedef struct gpi_mlx_dist {
    gpi_mlx_kind kind;
    gp_dtype dtype;
    /* The uniform draw u = RNE_T(RNE_T(range * RNE_T(min(w * 2^-32, upper))) + lo):
     * normal: float32 on [nextafter(-1, 0), 1); truncated: dtype on [erf(lower/sqrt2),
     * erf(upper/sqrt2)). */
    float upper, range, lo;
    /* normal: RNE_T(sqrt2_T * std_T), the applied scale; truncated: sqrt2_T. */
    float scale;
    /* normal: loc_T (GPI_MLX_NORMAL only); truncated: mean_T. */
    float loc;
    /* truncated only: std_T and the clip bounds lower_t, upper_t. */
    float std_t, clip_lo, clip_hi;
} gpi_mlx_dist;

/* Prepare the constants for kind in dtype (GP_FLOAT32, GP_FLOAT16 or
 * GP_BFLOAT16). mean, std, a, b are the request's doubles: std already
 * computed in double for glorot/he (gain * sqrt(2 / (fan_in + fan_out)),
 * gain / sqrt(fan)); mean is ignored for GPI_MLX_NORMAL_NOLOC, a and b (the
 * absolute bounds) are used only for GPI_MLX_TRUNCATED, which computes
 * lower = (a - mean) / std and upper = (b - mean) / std in double as
 * Python does. Returns GP_OK; GP_EPARAM for a non-finite input or std == 0
 * with truncated; GP_EUNSUPPORTED when a constant is not finite in float32
 * or the dtype (std overflows float16, a bound (a - mean) / std overflows).
 * err->param names the request parameter: "gain" for the std of
 * GPI_MLX_NORMAL_NOLOC, else "std", "mean", "a", "b". d is written only on
 * success. */
gp_code gpi_mlx_dist_init(gpi_mlx_dist *d, gpi_mlx_kind kind, gp_dtype dtype, double mean,
                          double std, double a, double b, gp_error *err);

/* Elements for n words (w[k] = MLX word of element k), stored as n
 * little-endian dtype values at dst (n * 4 or n * 2 bytes). Element k
 * depends only on w[k]. Uses the active vector kernels (cpu.c); every level
 * gives the same bytes. The kernels take groups of 64 (avx512) or 32 (avx2)
 * elements and leave the rest to the scalar code (~30 ns an element), so
 * callers pass whole batches (GPI_TF_BATCH = 128 words). Thread-safe: d is
 * only read. */
void gpi_mlx_dist_values(const gpi_mlx_dist *d, const uint32_t *w, size_t n, unsigned char *dst);

/* The scalar reference for elements [from, n): what every vector kernel
 * must equal. Vector kernels finish their tails with it. */
void gpi_mlx_dist_values_scalar(const gpi_mlx_dist *d, const uint32_t *w, size_t from, size_t n,
                                unsigned char *dst);

#endif /* GLOROT_MLX_NORMAL_H */
