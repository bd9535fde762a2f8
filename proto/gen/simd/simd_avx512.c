/*
 * simd_avx512.c - the kernels of simd_kernels.h on 16 lanes of AVX-512
 * (F, BW, VL, DQ): native rotates (vprold), unsigned conversion, masks.
 * Compiled for any x86-64 host; cpu.c calls it only where the CPU has them.
 */
#include "gen/gen_internal.h"

#ifdef GPI_HAVE_X86_SIMD

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq")

#include <immintrin.h>

typedef __m512i vu;
typedef __m512 vf;
typedef __m512d vd;

#define VW 16
#define TF_GROUP 8 /* 128 counters in flight: 16 of the 32 registers */
#define SIMD_FN(name) avx512_##name

#define V_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define V_STORE(p, v) _mm512_storeu_si512((void *)(p), (v))
#define V_STORE16(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), _mm512_cvtepi32_epi16(v))
#define V_SET1(x) _mm512_set1_epi32((int)(uint32_t)(x))
#define V_LANES() _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define V_ADD(a, b) _mm512_add_epi32((a), (b))
#define V_SUB(a, b) _mm512_sub_epi32((a), (b))
#define V_XOR(a, b) _mm512_xor_si512((a), (b))
#define V_AND(a, b) _mm512_and_si512((a), (b))
#define V_OR(a, b) _mm512_or_si512((a), (b))
#define V_SRL(v, n) _mm512_srli_epi32((v), (n))
#define V_SLL(v, n) _mm512_slli_epi32((v), (n))
#define V_ROTL(v, n) _mm512_rol_epi32((v), (n))
#define V_ROT16(v) _mm512_rol_epi32((v), 16)
#define V_ROT8(v) _mm512_rol_epi32((v), 8)
#define V_SRLV(v, c) _mm512_srlv_epi32((v), (c))
#define V_SLLV(v, c) _mm512_sllv_epi32((v), (c))
#define V_SEL_GT(a, b, x, y) _mm512_mask_blend_epi32(_mm512_cmpgt_epi32_mask((a), (b)), (y), (x))
#define V_CARRY(s, k) _mm512_maskz_mov_epi32(_mm512_cmplt_epu32_mask((s), (k)), V_SET1(1))
#define VF_FROM_I32(v) _mm512_cvtepi32_ps(v)
#define VF_FROM_U32(v) _mm512_cvtepu32_ps(v)
#define VF_TRUNC_I32(f) _mm512_cvttps_epi32(f)
#define VF_CAST(v) _mm512_castsi512_ps(v)
#define VF_BITS(f) _mm512_castps_si512(f)
#define VF_SET1(x) _mm512_set1_ps(x)
#define VF_ADD(a, b) _mm512_add_ps((a), (b))
#define VF_SUB(a, b) _mm512_sub_ps((a), (b))
#define VF_MUL(a, b) _mm512_mul_ps((a), (b))
#define VF_MIN(a, b) _mm512_min_ps((a), (b))
#define VQ_SRL(v, n) _mm512_srli_epi64((v), (n))
#define VQ_ONE_BITS _mm512_set1_epi64(0x3FF0000000000000)
#define VD_CAST(v) _mm512_castsi512_pd(v)
#define VD_BITS(d) _mm512_castpd_si512(d)
#define VD_SET1(x) _mm512_set1_pd(x)
#define VD_ADD(a, b) _mm512_add_pd((a), (b))
#define VD_SUB(a, b) _mm512_sub_pd((a), (b))
#define VD_MUL(a, b) _mm512_mul_pd((a), (b))

/* x[r] = word r of blocks 0..15 -> y[b] = block b: 32-bit, 64-bit and
 * 128-bit interleaves (a 16x16 transpose). */
static inline void transpose16(const vu x[16], vu y[16])
{
    vu t[16], u[16];

    for (int g = 0; g < 4; g++) {
        vu a = x[4 * g], b = x[4 * g + 1], c = x[4 * g + 2], d = x[4 * g + 3];
        vu ab_lo = _mm512_unpacklo_epi32(a, b), ab_hi = _mm512_unpackhi_epi32(a, b);
        vu cd_lo = _mm512_unpacklo_epi32(c, d), cd_hi = _mm512_unpackhi_epi32(c, d);
        /* t[4g + j], 128-bit lane k: words 4g..4g+3 of block 4k + j */
        t[4 * g] = _mm512_unpacklo_epi64(ab_lo, cd_lo);
        t[4 * g + 1] = _mm512_unpackhi_epi64(ab_lo, cd_lo);
        t[4 * g + 2] = _mm512_unpacklo_epi64(ab_hi, cd_hi);
        t[4 * g + 3] = _mm512_unpackhi_epi64(ab_hi, cd_hi);
    }
    for (int j = 0; j < 4; j++) {
        vu s0 = _mm512_shuffle_i32x4(t[j], t[4 + j], 0x88);
        vu s1 = _mm512_shuffle_i32x4(t[j], t[4 + j], 0xDD);
        vu s2 = _mm512_shuffle_i32x4(t[8 + j], t[12 + j], 0x88);
        vu s3 = _mm512_shuffle_i32x4(t[8 + j], t[12 + j], 0xDD);
        u[j] = _mm512_shuffle_i32x4(s0, s2, 0x88);      /* block j */
        u[8 + j] = _mm512_shuffle_i32x4(s0, s2, 0xDD);  /* block 8 + j */
        u[4 + j] = _mm512_shuffle_i32x4(s1, s3, 0x88);  /* block 4 + j */
        u[12 + j] = _mm512_shuffle_i32x4(s1, s3, 0xDD); /* block 12 + j */
    }
    for (int b = 0; b < 16; b++)
        y[b] = u[b];
}

#define V_TRANSPOSE16(x, y) transpose16((x), (y))

#include "gen/simd/simd_kernels.h"

const gpi_kernels gpi_kernels_avx512 = {
    "avx512",    avx512_tf_batch,       avx512_mlx_values, avx512_chacha_blocks,
    avx512_half, gpi_avx512_mlx_normal, gpi_cnormal_avx512};

#pragma GCC pop_options

#endif /* GPI_HAVE_X86_SIMD */
