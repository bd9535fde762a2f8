/*
 * simd_avx2.c - the kernels of simd_kernels.h on 8 lanes of AVX2: rotates as
 * shifts (byte shuffles for 8, 16 and 24), uint32 -> float in two exact halves,
 * compares and blends. Compiled for any x86-64 host; cpu.c calls it only
 * where the CPU has AVX2.
 */
#include "gen/gen_internal.h"

#ifdef GPI_HAVE_X86_SIMD

#pragma GCC push_options
#pragma GCC target("avx2")

#include <immintrin.h>

typedef __m256i vu;
typedef __m256 vf;
typedef __m256d vd;

#define VW 8
/* 64 Threefry counters in flight: their 16 vectors fill the 16 ymm registers,
 * so key constants and a few state vectors live on the stack. Still faster
 * than 4 (32 counters, no state spilled) by ~15%: the loads go to the load
 * ports, idle here, and the scheduler finds more independent ops for the
 * three vector ALU ports. 16 (all 128 counters) spills too much and is ~25%
 * slower (bench_kernels threefry, pinned). */
#define TF_GROUP 8
#define SIMD_FN(name) avx2_##name

#define V_LOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define V_STORE(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
#define V_STORE16(p, v) _mm_storeu_si128((__m128i *)(void *)(p), pack16(v))
#define V_SET1(x) _mm256_set1_epi32((int)(uint32_t)(x))
#define V_LANES() _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
#define V_ADD(a, b) _mm256_add_epi32((a), (b))
#define V_SUB(a, b) _mm256_sub_epi32((a), (b))
#define V_XOR(a, b) _mm256_xor_si256((a), (b))
#define V_AND(a, b) _mm256_and_si256((a), (b))
#define V_OR(a, b) _mm256_or_si256((a), (b))
#define V_SRL(v, n) _mm256_srli_epi32((v), (n))
#define V_SLL(v, n) _mm256_slli_epi32((v), (n))
#define V_ROTL(v, n) rotl((v), (n))
#define V_ROT16(v) _mm256_shuffle_epi8((v), rot16_mask())
#define V_ROT8(v) _mm256_shuffle_epi8((v), rot8_mask())
#define V_SRLV(v, c) _mm256_srlv_epi32((v), (c))
#define V_SLLV(v, c) _mm256_sllv_epi32((v), (c))
#define V_SEL_GT(a, b, x, y) _mm256_blendv_epi8((y), (x), _mm256_cmpgt_epi32((a), (b)))
#define V_CARRY(s, k) _mm256_and_si256(ltu32((s), (k)), V_SET1(1))
#define VF_FROM_I32(v) _mm256_cvtepi32_ps(v)
#define VF_FROM_U32(v) from_u32(v)
#define VF_TRUNC_I32(f) _mm256_cvttps_epi32(f)
#define VF_CAST(v) _mm256_castsi256_ps(v)
#define VF_BITS(f) _mm256_castps_si256(f)
#define VF_SET1(x) _mm256_set1_ps(x)
#define VF_ADD(a, b) _mm256_add_ps((a), (b))
#define VF_SUB(a, b) _mm256_sub_ps((a), (b))
#define VF_MUL(a, b) _mm256_mul_ps((a), (b))
#define VF_MIN(a, b) _mm256_min_ps((a), (b))
#define VQ_SRL(v, n) _mm256_srli_epi64((v), (n))
#define VQ_ONE_BITS _mm256_set1_epi64x(0x3FF0000000000000)
#define VD_CAST(v) _mm256_castsi256_pd(v)
#define VD_BITS(d) _mm256_castpd_si256(d)
#define VD_SET1(x) _mm256_set1_pd(x)
#define VD_ADD(a, b) _mm256_add_pd((a), (b))
#define VD_SUB(a, b) _mm256_sub_pd((a), (b))
#define VD_MUL(a, b) _mm256_mul_pd((a), (b))

static inline __m256i rot16_mask(void)
{
    return _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7,
                            4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}

static inline __m256i rot8_mask(void)
{
    return _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2, 7, 4,
                            5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
}

static inline __m256i rot24_mask(void)
{
    return _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6,
                            7, 4, 9, 10, 11, 8, 13, 14, 15, 12);
}

/* AVX2 has no rotate: shift, shift, or (three ops on the shift ports), except
 * for whole bytes, where one byte shuffle does it (Threefry's 16 and 24,
 * ChaCha20's 16 and 8). n is a constant at every use, so the switch folds. */
static inline __attribute__((always_inline)) __m256i rotl(__m256i v, int n)
{
    switch (n) {
    case 8:
        return _mm256_shuffle_epi8(v, rot8_mask());
    case 16:
        return _mm256_shuffle_epi8(v, rot16_mask());
    case 24:
        return _mm256_shuffle_epi8(v, rot24_mask());
    default:
        return _mm256_or_si256(_mm256_slli_epi32(v, n), _mm256_srli_epi32(v, 32 - n));
    }
}

/* Unsigned a < b: flip the sign bits, then a signed compare. */
static inline __m256i ltu32(__m256i a, __m256i b)
{
    __m256i flip = _mm256_set1_epi32(INT32_MIN);

    return _mm256_cmpgt_epi32(_mm256_xor_si256(b, flip), _mm256_xor_si256(a, flip));
}

/* RNE_f32(w) for uint32 w: hi * 2^16 and lo are exact, so their sum is
 * rounded once, exactly like the scalar conversion. */
static inline __m256 from_u32(__m256i w)
{
    __m256 hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(w, 16));
    __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(w, _mm256_set1_epi32(0xFFFF)));

    return _mm256_add_ps(_mm256_mul_ps(hi, _mm256_set1_ps(65536.0f)), lo);
}

/* Low 16 bits of 8 lanes (each <= 0xFFFF) -> 8 uint16. */
static inline __m128i pack16(__m256i v)
{
    __m256i p = _mm256_packus_epi32(v, v); /* per 128-bit half: lanes 0-3, 0-3 | 4-7, 4-7 */

    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(p, 0x08));
}

/* One 8x8 transpose of 32-bit words: x[r] = word r of blocks 0..7 ->
 * out[b] = those 8 words of block b. */
static inline void transpose8(const vu x[8], vu out[8])
{
    vu t[8];

    for (int g = 0; g < 2; g++) {
        vu a = x[4 * g], b = x[4 * g + 1], c = x[4 * g + 2], d = x[4 * g + 3];
        vu ab_lo = _mm256_unpacklo_epi32(a, b), ab_hi = _mm256_unpackhi_epi32(a, b);
        vu cd_lo = _mm256_unpacklo_epi32(c, d), cd_hi = _mm256_unpackhi_epi32(c, d);
        /* t[4g + j], 128-bit half k: words 4g..4g+3 of block 4k + j */
        t[4 * g] = _mm256_unpacklo_epi64(ab_lo, cd_lo);
        t[4 * g + 1] = _mm256_unpackhi_epi64(ab_lo, cd_lo);
        t[4 * g + 2] = _mm256_unpacklo_epi64(ab_hi, cd_hi);
        t[4 * g + 3] = _mm256_unpackhi_epi64(ab_hi, cd_hi);
    }
    for (int j = 0; j < 4; j++) {
        out[j] = _mm256_permute2x128_si256(t[j], t[4 + j], 0x20);     /* block j */
        out[4 + j] = _mm256_permute2x128_si256(t[j], t[4 + j], 0x31); /* block 4 + j */
    }
}

/* x[r] = word r of blocks 0..7 (16 words each) -> block b's words 0-7 in
 * y[2b], words 8-15 in y[2b + 1]: two 8x8 transposes. */
static inline void transpose16(const vu x[16], vu y[16])
{
    vu lo[8], hi[8];

    transpose8(x, lo);
    transpose8(x + 8, hi);
    for (int b = 0; b < 8; b++) {
        y[2 * b] = lo[b];
        y[2 * b + 1] = hi[b];
    }
}

#define V_TRANSPOSE16(x, y) transpose16((x), (y))

#include "gen/simd/simd_kernels.h"

const gpi_kernels gpi_kernels_avx2 = {
    "avx2",    avx2_tf_batch,       avx2_mlx_values, avx2_chacha_blocks,
    avx2_half, gpi_avx2_mlx_normal, gpi_cnormal_avx2};

#pragma GCC pop_options

#endif /* GPI_HAVE_X86_SIMD */
