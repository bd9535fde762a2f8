/*
 * simd_normal_avx512.c - MLX's normal family (simd_normal.h) on 16 float
 * lanes of AVX-512 (F, DQ, as simd_avx512.c): glibc logf's double part in
 * two halves of 8 doubles, its 16-entry tables in two registers each
 * (vpermt2pd), float16 by vcvtps2ph (IEEE round to nearest even).
 * Compiled for any x86-64 host; cpu.c calls it only where the CPU has them.
 */
#include "gen_internal.h"
#include "mlx_normal.h"

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
#define NF_SUB(a, b) _mm512_sub_ps((a), (b))
#define NF_MUL(a, b) _mm512_mul_ps((a), (b))
#define NF_ABS(a) _mm512_abs_ps(a)
#define NF_MIN(a, b) _mm512_min_ps((a), (b))
#define NF_MAX(a, b) _mm512_max_ps((a), (b))
#define NF_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
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

/* The double half of glibc's logf on 8 lanes: z, table index (as 64-bit
 * lanes) and k already extracted. */
static inline __m256 logf_half(__m512d z, __m512i idx, __m512d kd)
{
    const __m512d invc_lo = _mm512_loadu_pd(gpi_logf_invc),
                  invc_hi = _mm512_loadu_pd(gpi_logf_invc + 8);
    const __m512d logc_lo = _mm512_loadu_pd(gpi_logf_logc),
                  logc_hi = _mm512_loadu_pd(gpi_logf_logc + 8);
    __m512d invc = _mm512_permutex2var_pd(invc_lo, idx, invc_hi);
    __m512d logc = _mm512_permutex2var_pd(logc_lo, idx, logc_hi);
    __m512d r = _mm512_sub_pd(_mm512_mul_pd(z, invc), _mm512_set1_pd(1.0));
    __m512d y0 = _mm512_add_pd(logc, _mm512_mul_pd(kd, _mm512_set1_pd(GPI_LOGF_LN2)));
    __m512d r2 = _mm512_mul_pd(r, r);
    __m512d y =
        _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(GPI_LOGF_A1), r), _mm512_set1_pd(GPI_LOGF_A2));

    y = _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(GPI_LOGF_A0), r2), y);
    y = _mm512_add_pd(_mm512_mul_pd(y, r2), _mm512_add_pd(y0, r));
    return _mm512_cvtpd_ps(y);
}

/* glibc logf (mlx_math.c gpi_mlx_logf) of 16 positive normal floats. */
static inline __attribute__((always_inline)) nvf n_logf_core(nvu ix)
{
    nvu tmp = NV_SUB(ix, NV_SET1(GPI_LOGF_OFF));
    nvu idx = NV_AND(NV_SRL(tmp, 19), NV_SET1(15u));
    nvu k = _mm512_srai_epi32(tmp, 23);
    nvf z = NF_CAST(NV_SUB(ix, NV_AND(tmp, NV_SET1(0xff800000u))));
    __m256 lo = logf_half(_mm512_cvtps_pd(_mm512_castps512_ps256(z)),
                          _mm512_cvtepu32_epi64(_mm512_castsi512_si256(idx)),
                          _mm512_cvtepi32_pd(_mm512_castsi512_si256(k)));
    __m256 hi = logf_half(_mm512_cvtps_pd(_mm512_extractf32x8_ps(z, 1)),
                          _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(idx, 1)),
                          _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(k, 1)));

    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}

#include "simd_normal.h"

size_t gpi_avx512_mlx_normal(const struct gpi_mlx_dist *d, const uint32_t *w, size_t n,
                             unsigned char *dst)
{
    return NFN(values)(d, w, n, dst);
}

#pragma GCC pop_options

#endif /* GPI_HAVE_X86_SIMD */
