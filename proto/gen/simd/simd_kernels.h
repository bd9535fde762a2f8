/*
 * simd_kernels.h - private to proto/gen/simd/simd_*.c: the vector kernels, written
 * once over a small set of lane operations that each including file defines
 * for its instruction set (simd_avx2.c: 8 lanes, simd_avx512.c: 16 lanes).
 *
 * Every kernel performs exactly the operations of the scalar reference, lane
 * by lane: the same integer arithmetic, and the same IEEE float/double
 * operations in the same order, each rounded on its own (no FMA). So the
 * bytes are identical; tests/unit/test_simd.c checks every path.
 *
 * The includer defines, for a vector of VW 32-bit lanes:
 *   vu, vf, vd                 integer, float and double vector types
 *   V_LOAD(p) V_STORE(p, v)    unaligned 32-bit lanes (little-endian)
 *   V_STORE16(p, v)            low 16 bits of each lane, VW * 2 bytes
 *   V_SET1(x) V_LANES()        broadcast; (0, 1, ..., VW-1)
 *   V_ADD V_SUB V_XOR V_AND V_OR
 *   V_SRL(v, n) V_SLL(v, n) V_ROTL(v, n)     constant n
 *   V_ROT16(v) V_ROT8(v)                      rotations ChaCha20 uses
 *   V_SRLV(v, c) V_SLLV(v, c)                 per-lane counts (>= 32 gives 0)
 *   V_SEL_GT(a, b, x, y)      (int32)a > (int32)b ? x : y
 *   V_CARRY(s, k)             (uint32)s < (uint32)k ? 1 : 0
 *   VF_FROM_I32(v) VF_FROM_U32(v) VF_CAST(v) VF_BITS(f) VF_SET1 VF_ADD VF_SUB VF_MUL VF_MIN
 *   VF_TRUNC_I32(f)           float -> int32, truncating (used on exact integers)
 *   VQ_SRL(v, n) VQ_ONE_BITS  logical shift of 64-bit lanes; 64-bit 0x3FF0000000000000
 *   VD_CAST(v) VD_BITS(d) VD_SET1 VD_ADD VD_SUB VD_MUL
 *   V_TRANSPOSE16(x, y)       16 vectors x[r] = word r of VW consecutive
 *                             blocks -> y[k], the k-th VW words of the
 *                             blocks' bytes in order
 *   TF_GROUP                  Threefry vectors kept in flight per pass
 *   SIMD_FN(name)             the kernel's symbol name
 */
#ifndef GLOROT_SIMD_KERNELS_H
#define GLOROT_SIMD_KERNELS_H

#include "gen/gen_internal.h"

/* ---- float16 / bfloat16 in integer lanes (half.c, lane by lane) ---------- */

/* |f| below 2^-14 (a = its bits without the sign) rounded to a multiple of
 * 2^-24, ties to even, as a float: |f| + 0.75 lies in [0.5, 1), where the
 * ulp is 2^-24 and 0.75 is an even multiple of it, so the addition rounds
 * exactly as float16 subnormals do; subtracting 0.75 is exact. */
static inline vf v_f16_tiny(vu a)
{
    vf m = VF_SET1(0.75f);

    return VF_SUB(VF_ADD(VF_CAST(a), m), m);
}

/* float32 bits -> float16 bits in the low 16 bits (to_f16 in half.c): the
 * normal range by integer rounding, subnormals (and the carry into the
 * smallest normal, 0x400) as v_f16_tiny * 2^24, an exact integer. */
static inline vu v_to_f16(vu x)
{
    vu sign = V_AND(V_SRL(x, 16), V_SET1(0x8000u));
    vu a = V_AND(x, V_SET1(0x7FFFFFFFu));
    vu nan = V_OR(V_OR(sign, V_SET1(0x7E00u)), V_AND(V_SRL(a, 13), V_SET1(0x3FFu)));
    /* normal: shift_rne(a - rebias, 13) */
    vu nv = V_SUB(a, V_SET1(0x38000000u));
    vu norm = V_SRL(V_ADD(V_ADD(nv, V_SET1(0xFFFu)), V_AND(V_SRL(nv, 13), V_SET1(1))), 13);
    vu sub = VF_TRUNC_I32(VF_MUL(v_f16_tiny(a), VF_SET1(0x1p24f)));
    vu r = V_SEL_GT(a, V_SET1(0x38800000u - 1u), norm, sub);

    r = V_SEL_GT(a, V_SET1(0x477FF000u - 1u), V_SET1(0x7C00u), r);
    return V_SEL_GT(a, V_SET1(0x7F800000u), nan, V_OR(sign, r));
}

/* float32 bits -> bfloat16 bits (to_bf16). */
static inline vu v_to_bf16(vu x)
{
    vu hi = V_SRL(x, 16);
    vu nan = V_OR(hi, V_SET1(0x40u));
    vu r = V_SRL(V_ADD(V_ADD(x, V_SET1(0x7FFFu)), V_AND(hi, V_SET1(1))), 16);

    return V_SEL_GT(V_AND(x, V_SET1(0x7FFFFFFFu)), V_SET1(0x7F800000u), nan, r);
}

/* RNE_f16(f) as a float32, without the round trip through 16 bits: normal
 * range: round the float32 bits to 10 mantissa bits (a carry into the
 * exponent is right); below 2^-14: v_f16_tiny. Equal to from_f16(to_f16(f))
 * for every input (tests/unit/test_simd.c). */
static inline vf v_round_f16(vf f)
{
    vu x = VF_BITS(f);
    vu sign = V_AND(x, V_SET1(0x80000000u));
    vu a = V_AND(x, V_SET1(0x7FFFFFFFu));
    vu norm =
        V_AND(V_ADD(V_ADD(a, V_SET1(0xFFFu)), V_AND(V_SRL(a, 13), V_SET1(1))), V_SET1(0xFFFFE000u));
    vu sub = VF_BITS(v_f16_tiny(a));
    vu nan = V_OR(V_AND(a, V_SET1(0xFFFFE000u)), V_SET1(0x00400000u));
    vu r = V_SEL_GT(a, V_SET1(0x38800000u - 1u), norm, sub);

    r = V_SEL_GT(a, V_SET1(0x477FF000u - 1u), V_SET1(0x7F800000u), r);
    r = V_SEL_GT(a, V_SET1(0x7F800000u), nan, r);
    return VF_CAST(V_OR(r, sign));
}

static inline vf v_round_bf16(vf f)
{
    return VF_CAST(V_SLL(v_to_bf16(VF_BITS(f)), 16));
}

static size_t SIMD_FN(half)(gpi_out kind, int round, const float *src, size_t n, void *dst)
{
    unsigned char *d = dst;
    size_t i = 0;

    for (; i + VW <= n; i += VW) {
        vu x = V_LOAD(src + i);
        if (round)
            V_STORE(d + 4 * i, VF_BITS(kind == GPI_OUT_F16 ? v_round_f16(VF_CAST(x))
                                                           : v_round_bf16(VF_CAST(x))));
        else
            V_STORE16(d + 2 * i, kind == GPI_OUT_F16 ? v_to_f16(x) : v_to_bf16(x));
    }
    return i;
}

/* ---- Threefry-2x32-20 (threefry.c tf_block), TF_GROUP * VW counters a pass */

#define TF_ROUND(R)                                                                                \
    _Pragma("GCC unroll 16") for (int j = 0; j < TF_GROUP; j++)                                    \
    {                                                                                              \
        x0[j] = V_ADD(x0[j], x1[j]);                                                               \
        x1[j] = V_XOR(V_ROTL(x1[j], R), x0[j]);                                                    \
    }

#define TF_INJECT(KA, KB)                                                                          \
    _Pragma("GCC unroll 16") for (int j = 0; j < TF_GROUP; j++)                                    \
    {                                                                                              \
        x0[j] = V_ADD(x0[j], KA);                                                                  \
        x1[j] = V_ADD(x1[j], KB);                                                                  \
    }

#define TF_EVEN TF_ROUND(13) TF_ROUND(15) TF_ROUND(26) TF_ROUND(6)
#define TF_ODD TF_ROUND(17) TF_ROUND(29) TF_ROUND(16) TF_ROUND(24)

static void SIMD_FN(tf_batch)(const uint32_t key[2], uint32_t b0, uint32_t b1, uint32_t *o0,
                              uint32_t *o1)
{
    uint32_t k0s = key[0], k1s = key[1], k2s = k0s ^ k1s ^ 0x1BD11BDAu;
    vu k0 = V_SET1(k0s), k1 = V_SET1(k1s), k2 = V_SET1(k2s);
    vu k2_1 = V_SET1(k2s + 1u), k0_2 = V_SET1(k0s + 2u), k1_3 = V_SET1(k1s + 3u);
    vu k2_4 = V_SET1(k2s + 4u), k0_5 = V_SET1(k0s + 5u);
    vu c0 = V_ADD(V_SET1(b0), V_LANES()), c1 = V_ADD(V_SET1(b1), V_LANES());

    for (uint32_t base = 0; base < GPI_TF_BATCH; base += TF_GROUP * VW) {
        vu x0[TF_GROUP], x1[TF_GROUP];
        _Pragma("GCC unroll 16") for (int j = 0; j < TF_GROUP; j++)
        {
            vu off = V_SET1(base + (uint32_t)j * VW);
            x0[j] = V_ADD(V_ADD(c0, off), k0);
            x1[j] = V_ADD(V_ADD(c1, off), k1);
        }
        TF_EVEN TF_INJECT(k1, k2_1);
        TF_ODD TF_INJECT(k2, k0_2);
        TF_EVEN TF_INJECT(k0, k1_3);
        TF_ODD TF_INJECT(k1, k2_4);
        TF_EVEN TF_INJECT(k2, k0_5);
        _Pragma("GCC unroll 16") for (int j = 0; j < TF_GROUP; j++)
        {
            V_STORE(o0 + base + (uint32_t)j * VW, x0[j]);
            V_STORE(o1 + base + (uint32_t)j * VW, x1[j]);
        }
    }
}

/* ---- MLX values (threefry.c emit_f32 / emit_half) ------------------------- */

static inline vf v_mlx_uniform(vu w, vf upper)
{
    return VF_MIN(VF_MUL(VF_FROM_U32(w), VF_SET1(0x1p-32f)), upper);
}

static size_t SIMD_FN(mlx_values)(const gpi_values *v, const uint32_t *w, size_t n,
                                  unsigned char *dst)
{
    vf upper = VF_SET1(v->upper), range = VF_SET1(v->range), lo = VF_SET1(v->lo);
    size_t i = 0;

    if (v->out == GPI_OUT_F32) {
        for (; i + VW <= n; i += VW) {
            vf u = v_mlx_uniform(V_LOAD(w + i), upper);
            V_STORE(dst + 4 * i, VF_BITS(VF_ADD(VF_MUL(range, u), lo)));
        }
    } else if (v->out == GPI_OUT_F16) {
        for (; i + VW <= n; i += VW) {
            vf u = v_round_f16(v_mlx_uniform(V_LOAD(w + i), upper));
            vf p = v_round_f16(VF_MUL(range, u));
            V_STORE16(dst + 2 * i, v_to_f16(VF_BITS(VF_ADD(p, lo))));
        }
    } else if (v->out == GPI_OUT_BF16) {
        for (; i + VW <= n; i += VW) {
            vf u = v_round_bf16(v_mlx_uniform(V_LOAD(w + i), upper));
            vf p = v_round_bf16(VF_MUL(range, u));
            V_STORE16(dst + 2 * i, v_to_bf16(VF_BITS(VF_ADD(p, lo))));
        }
    }
    return i;
}

/* ---- ChaCha20 (original: 64-bit block counter in words 12-13, zero nonce) - */

#define QR(a, b, c, d)                                                                             \
    do {                                                                                           \
        x[a] = V_ADD(x[a], x[b]);                                                                  \
        x[d] = V_ROT16(V_XOR(x[d], x[a]));                                                         \
        x[c] = V_ADD(x[c], x[d]);                                                                  \
        x[b] = V_ROTL(V_XOR(x[b], x[c]), 12);                                                      \
        x[a] = V_ADD(x[a], x[b]);                                                                  \
        x[d] = V_ROT8(V_XOR(x[d], x[a]));                                                          \
        x[c] = V_ADD(x[c], x[d]);                                                                  \
        x[b] = V_ROTL(V_XOR(x[b], x[c]), 7);                                                       \
    } while (0)

/* VW blocks from block `block` on: y[k] = the k-th VW words of their bytes.
 * The input words are broadcast again for the final addition rather than
 * kept in a second array of 16 vectors: GCC copied that array into the
 * state with rep movsq, ~10% of the AVX2 keystream in perf. */
static inline void v_chacha(const uint32_t in[12], uint64_t block, vu y[16])
{
    vu x[16];
    vu lanes = V_LANES();
    vu ctr_lo = V_ADD(V_SET1((uint32_t)block), lanes);
    vu ctr_hi = V_ADD(V_SET1((uint32_t)(block >> 32)), V_CARRY(ctr_lo, lanes));

    for (int i = 0; i < 12; i++)
        x[i] = V_SET1(in[i]);
    x[12] = ctr_lo;
    x[13] = ctr_hi;
    x[14] = x[15] = V_SET1(0);
    for (int r = 0; r < 10; r++) {
        QR(0, 4, 8, 12);
        QR(1, 5, 9, 13);
        QR(2, 6, 10, 14);
        QR(3, 7, 11, 15);
        QR(0, 5, 10, 15);
        QR(1, 6, 11, 12);
        QR(2, 7, 8, 13);
        QR(3, 4, 9, 14);
    }
    for (int i = 0; i < 12; i++)
        x[i] = V_ADD(x[i], V_SET1(in[i]));
    x[12] = V_ADD(x[12], ctr_lo);
    x[13] = V_ADD(x[13], ctr_hi); /* words 14 and 15 add the zero nonce */
    V_TRANSPOSE16(x, y);
}

/* chacha.c gpi_chacha_f32: (2 * (w >> 8) + 1 - 2^24) * 2^-24, times L. */
static inline vf v_chacha_f32(vu w, vf L)
{
    vu m = V_ADD(V_SLL(V_SRL(w, 8), 1), V_SET1(1u - 0x1000000u));

    return VF_MUL(VF_MUL(VF_FROM_I32(m), VF_SET1(0x1p-24f)), L);
}

/* gpi_chacha_f64 on 64-bit lanes: the exact x = (2m + 1 - 2^52) * 2^-52 for
 * m = w >> 12 is built without an int64 conversion: d = 1 + m * 2^-52 (bits),
 * 2d is exact, 2d - 3 is exact (Sterbenz), + 2^-52 is exact (x is
 * representable), so x * limit is the scalar product. */
static inline vu v_chacha_f64(vu w, vd limit)
{
    vd d = VD_CAST(V_OR(VQ_SRL(w, 12), VQ_ONE_BITS));
    vd x = VD_ADD(VD_SUB(VD_MUL(d, VD_SET1(2.0)), VD_SET1(3.0)), VD_SET1(0x1p-52));

    return VD_BITS(VD_MUL(x, limit));
}

static void v_chacha_store(const gpi_values *v, const vu y[16], unsigned char *dst)
{
    vf L = VF_SET1(v->limit_f32);
    vd limit = VD_SET1(v->limit);

    switch (v->out) {
    case GPI_OUT_RAW:
        for (int k = 0; k < 16; k++)
            V_STORE(dst + 4 * VW * k, y[k]);
        break;
    case GPI_OUT_F32:
        for (int k = 0; k < 16; k++)
            V_STORE(dst + 4 * VW * k, VF_BITS(v_chacha_f32(y[k], L)));
        break;
    case GPI_OUT_F16:
        for (int k = 0; k < 16; k++)
            V_STORE16(dst + 2 * VW * k, v_to_f16(VF_BITS(v_chacha_f32(y[k], L))));
        break;
    case GPI_OUT_BF16:
        for (int k = 0; k < 16; k++)
            V_STORE16(dst + 2 * VW * k, v_to_bf16(VF_BITS(v_chacha_f32(y[k], L))));
        break;
    case GPI_OUT_F64:
        for (int k = 0; k < 16; k++)
            V_STORE(dst + 4 * VW * k, v_chacha_f64(y[k], limit));
        break;
    }
}

static size_t SIMD_FN(chacha_blocks)(const unsigned char key[32], uint64_t block, size_t nblocks,
                                     const gpi_values *v, unsigned char *dst)
{
    uint32_t in[12] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u};
    size_t per_block = v->out == GPI_OUT_F16 || v->out == GPI_OUT_BF16 ? 32 : 64;
    size_t done = 0;
    vu y[16];

    for (int i = 0; i < 8; i++)
        in[4 + i] = gpi_load_le32(key + 4 * i);
    for (; done + VW <= nblocks; done += VW) {
        v_chacha(in, block + done, y);
        v_chacha_store(v, y, dst + done * per_block);
    }
    return done;
}

#endif /* GLOROT_SIMD_KERNELS_H */
