/*
 * chacha_normal.h - private to proto/: chacha20 v1, the normal family
 * (normal, glorot_normal, he_normal, truncated_normal). docs/ALGORITHM.md
 * section 3.7 is the frozen definition; tests/py/ref_chacha_normal.py is the
 * independent reference.
 *
 * Element i uses the little-endian u64 at keystream bytes 8i..8i+7 (any
 * dtype). u -> z is an inverse-CDF computation from IEEE basic operations
 * only (AS241 with our own log; no libm, no FMA), so the bits are the same
 * on every host. value_d = mean + std * z in double (truncated: clamped to
 * [a, b]); float64 value_d, float32 RNE_f32(value_d), float16 / bfloat16
 * RNE_T(RNE_f32(value_d)).
 */
#ifndef GLOROT_CHACHA_NORMAL_H
#define GLOROT_CHACHA_NORMAL_H

#include <stddef.h>
#include <stdint.h>

#include "glorot_proto.h"

/* One request's distribution and its precomputed constants. Filled by
 * gpi_chacha_dist_init; read-only afterwards (share it between threads). */
typedef struct gpi_chacha_dist {
    int truncated;
    gp_dtype dtype;
    double mean, std, a, b;
    /* truncated_normal (section 3.7.4): the standardised bounds after the
     * mirror (flip), then the tail masses */
    int flip, far, kadj;
    double alpha;
    double da, w;        /* Phi(alpha) - 1/2 and Phi(beta) - Phi(alpha) */
    double ws, tbs, las; /* w, Q(beta), Phi(alpha), times 2^-kadj */
    double c0, c1;       /* far-tail law: e^(-(beta^2 - alpha^2)/2) and 1 - c0 */
} gpi_chacha_dist;

/* Set up d for normal(mean, std) (truncated == 0; a, b ignored) or
 * truncated_normal(mean, std, a, b) with absolute bounds a < b, for dtype.
 * GP_EPARAM (param "mean", "std", "a" or "b") for a non-finite value, std <= 0
 * or a >= b; GP_EUNSUPPORTED when a value could round to infinity in dtype:
 * normal: mean +- std * GPI_CHACHA_ZMAX (param "std"); truncated: a or b
 * (param "a" / "b"). */
gp_code gpi_chacha_dist_init(gpi_chacha_dist *d, int truncated, gp_dtype dtype, double mean,
                             double std, double a, double b, gp_error *err);

/* The largest |z| gpi_chacha_std_normal returns (u = 0 and u = 2^63). */
#define GPI_CHACHA_ZMAX 0x1.24f82aa55eb15p+3 /* 9.155293772686074 */

/* The standard normal z of one 64-bit word u (section 3.7.2). Never 0,
 * |z| <= GPI_CHACHA_ZMAX, z(u ^ 2^63) == -z(u). */
double gpi_chacha_std_normal(uint64_t u);

/* as241_tail(q, kadj) of section 3.7.2: Q^-1(q 2^kadj) (q <= 0 is taken as
 * 2^-1074). For the vector kernels' rare lanes (subnormal q). */
double gpi_chacha_tail(double q, int kadj);

/* value_d of one word: mean + std * z (truncated: its own z, then clamped to
 * [a, b]). */
double gpi_chacha_dist_value(const gpi_chacha_dist *d, uint64_t u);

/* n elements from 8n keystream bytes (element k uses ks[8k .. 8k+7]) -> n
 * values of d->dtype, little-endian, in dst (n * gp_dtype_size bytes; must
 * not overlap ks). Uses the active vector kernels where they exist; the
 * bytes are those of the scalar definition. */
void gpi_chacha_dist_values(const gpi_chacha_dist *d, const unsigned char *ks, size_t n,
                            unsigned char *dst);

/* Elements [first, first + count) of the tensor keyed by key (K of section
 * 3.1): the keystream in stack-sized chunks, then gpi_chacha_dist_values.
 * first + count must not exceed 2^61 (the caller's numel bound). */
void gpi_chacha_dist_fill(const gpi_chacha_dist *d, const unsigned char key[32], uint64_t first,
                          size_t count, unsigned char *out);

#endif /* GLOROT_CHACHA_NORMAL_H */
