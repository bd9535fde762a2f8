/*
 * simd_normal_avx512.c - MLX's normal family (simd_normal.h) on 16 float
 * lanes of AVX-512 (F, DQ, as simd_avx512.c): glibc logf's double part in
 * two halves of 8 doubles, its 16-entry tables in two registers each
 * (vpermt2pd), float16 by vcvtps2ph (IEEE round to nearest even).
 * Compiled for any x86-64 host; cpu.c calls it only where the CPU has them.
 */
#include "gen/gen_internal.h"
#include "gen/mlx_normal.h"

#ifdef GPI_HAVE_X86_SIMD

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq")

#include <immintrin.h>

typedef __m512 nvf;
typedef __m512i nvu;

#define NW 16
#define NFN(name) avx512_normal_##name

#define NV_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define NV_SET1(x) _mm512_set1_epi32((int)(uint32_t)(x))
#define NV_SUB(a, b) _mm512_sub_epi32((a), (b))
#define NV_AND(a, b) _mm512_and_si512((a), (b))
#define NV_SRL(v, n) _mm512_srli_epi32((v), (n))
#define NV_ANY_GEU(a, b) (_mm512_cmpge_epu32_mask((a), (b)) != 0)
#define NF_FROM_U32(v) _mm512_cvtepu32_ps(v)
#define NF_CAST(v) _mm512_castsi512_ps(v)
#define NF_BITS(f) _mm512_castps_si512(f)
#define NF_SET1(x) _mm512_set1_ps(x)
#define NF_ADD(a, b) _mm512_add_ps((a), (b))
#define NF_MUL(a, b) _mm512_mul_ps((a), (b))
#define NF_MIN(a, b) _mm512_min_ps((a), (b))
#define NF_MAX(a, b) _mm512_max_ps((a), (b))
#define NF_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define NF_FNMA(a, b, c) _mm512_fnmadd_ps((a), (b), (c))
#define NF_SEL_GT(a, b, x, y)                                                                      \
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask((a), (b), _CMP_GT_OQ), (y), (x))
#define NF_ANY_GT(a, b) (_mm512_cmp_ps_mask((a), (b), _CMP_GT_OQ) != 0)
#define F16_RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define NF_ROUND_F16(f) _mm512_cvtph_ps(_mm512_cvtps_ph((f), F16_RNE))
#define NF_ROUND_BF16(f) NF_CAST(bf16_bits(NF_BITS(f)))
#define NF_STORE32(p, f) _mm512_storeu_ps((void *)(p), (f))
#define NF_STORE_F16(p, f)                                                                         \
    _mm256_storeu_si256((__m256i *)(void *)(p), _mm512_cvtps_ph((f), F16_RNE))
#define NF_STORE_BF16(p, f)                                                                        \
    _mm256_storeu_si256((__m256i *)(void *)(p), _mm512_cvtepi32_epi16(NV_SRL(NF_BITS(f), 16)))

/* RNE to bfloat16 of finite float bits, as half.c to_bf16, low half zeroed. */
static inline nvu bf16_bits(nvu x)
{
    nvu r =
        _mm512_add_epi32(_mm512_add_epi32(x, NV_SET1(0x7FFFu)), NV_AND(NV_SRL(x, 16), NV_SET1(1u)));

    return NV_AND(r, NV_SET1(0xFFFF0000u));
}

#define NG 4 /* vectors per group: 4 x 16 lanes, 8 chains of 8 doubles */
#define FOR_H _Pragma("GCC unroll 8") for (int h = 0; h < 2 * NG; h++)

/* glibc logf (mlx_math.c gpi_mlx_logf) of NG vectors of positive normal
 * floats: the integer part per 16 lanes, the double part in halves of 8
 * (h = 2j low, 2j + 1 high), step by step across all of them. */
static inline __attribute__((always_inline)) void n_logf_core(const nvu *ix, nvf *out)
{
    const __m512d invc_lo = _mm512_loadu_pd(gpi_logf_invc);
    const __m512d invc_hi = _mm512_loadu_pd(gpi_logf_invc + 8);
    const __m512d logc_lo = _mm512_loadu_pd(gpi_logf_logc);
    const __m512d logc_hi = _mm512_loadu_pd(gpi_logf_logc + 8);
    __m512d z[2 * NG], kd[2 * NG], invc[2 * NG], logc[2 * NG], r[2 * NG], r2[2 * NG], y[2 * NG];
    __m512i idx[2 * NG];

    _Pragma("GCC unroll 4") for (int j = 0; j < NG; j++)
    {
        nvu tmp = NV_SUB(ix[j], NV_SET1(GPI_LOGF_OFF));
        nvu i32 = NV_SRL(tmp, 19); /* vpermt2pd reads its low 4 bits only */
        nvu k = _mm512_srai_epi32(tmp, 23);
        nvf zf = NF_CAST(NV_SUB(ix[j], NV_AND(tmp, NV_SET1(0xff800000u))));
        z[2 * j] = _mm512_cvtps_pd(_mm512_castps512_ps256(zf));
        z[2 * j + 1] = _mm512_cvtps_pd(_mm512_extractf32x8_ps(zf, 1));
        idx[2 * j] = _mm512_cvtepu32_epi64(_mm512_castsi512_si256(i32));
        idx[2 * j + 1] = _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(i32, 1));
        kd[2 * j] = _mm512_cvtepi32_pd(_mm512_castsi512_si256(k));
        kd[2 * j + 1] = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(k, 1));
    }
    FOR_H
    {
        invc[h] = _mm512_permutex2var_pd(invc_lo, idx[h], invc_hi);
        logc[h] = _mm512_permutex2var_pd(logc_lo, idx[h], logc_hi);
    }
    /* The five a * b + c fused (see mlx_normal.h: same float as plain). */
    FOR_H r[h] = _mm512_fmsub_pd(z[h], invc[h], _mm512_set1_pd(1.0));
    FOR_H logc[h] = _mm512_fmadd_pd(kd[h], _mm512_set1_pd(GPI_LOGF_LN2), logc[h]);
    FOR_H r2[h] = _mm512_mul_pd(r[h], r[h]);
    FOR_H y[h] = _mm512_fmadd_pd(_mm512_set1_pd(GPI_LOGF_A1), r[h], _mm512_set1_pd(GPI_LOGF_A2));
    FOR_H y[h] = _mm512_fmadd_pd(_mm512_set1_pd(GPI_LOGF_A0), r2[h], y[h]);
    FOR_H y[h] = _mm512_fmadd_pd(y[h], r2[h], _mm512_add_pd(logc[h], r[h]));
    _Pragma("GCC unroll 4") for (int j = 0; j < NG; j++) out[j] = _mm512_insertf32x8(
        _mm512_castps256_ps512(_mm512_cvtpd_ps(y[2 * j])), _mm512_cvtpd_ps(y[2 * j + 1]), 1);
}

#include "gen/simd/simd_normal.h"

size_t gpi_avx512_mlx_normal(const struct gpi_mlx_dist *d, const uint32_t *w, size_t n,
                             unsigned char *dst)
{
    return NFN(values)(d, w, n, dst);
}

#pragma GCC pop_options

#endif /* GPI_HAVE_X86_SIMD */
