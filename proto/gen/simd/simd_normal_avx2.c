/*
 * simd_normal_avx2.c - MLX's normal family (simd_normal.h) on 8 float lanes
 * of AVX2 with FMA (MLX's fma is one rounding, as vfmadd) and F16C
 * (vcvtps2ph: IEEE round to nearest even): glibc logf's double part in two
 * halves of 4 doubles, its tables by gather. Compiled for any x86-64 host;
 * cpu.c calls it only where the CPU has AVX2, FMA and F16C.
 */
#include "gen/gen_internal.h"
#include "gen/mlx_normal.h"

#ifdef GPI_HAVE_X86_SIMD

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

#include <immintrin.h>

typedef __m256 nvf;
typedef __m256i nvu;

#define NW 8
#define NFN(name) avx2_normal_##name

#define NV_LOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define NV_SET1(x) _mm256_set1_epi32((int)(uint32_t)(x))
#define NV_SUB(a, b) _mm256_sub_epi32((a), (b))
#define NV_AND(a, b) _mm256_and_si256((a), (b))
#define NV_SRL(v, n) _mm256_srli_epi32((v), (n))
#define NV_ANY_GEU(a, b) any_geu((a), (b))
#define NF_FROM_U32(v) from_u32(v)
#define NF_CAST(v) _mm256_castsi256_ps(v)
#define NF_BITS(f) _mm256_castps_si256(f)
#define NF_SET1(x) _mm256_set1_ps(x)
#define NF_ADD(a, b) _mm256_add_ps((a), (b))
#define NF_MUL(a, b) _mm256_mul_ps((a), (b))
#define NF_MIN(a, b) _mm256_min_ps((a), (b))
#define NF_MAX(a, b) _mm256_max_ps((a), (b))
#define NF_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define NF_FNMA(a, b, c) _mm256_fnmadd_ps((a), (b), (c))
#define NF_SEL_GT(a, b, x, y) _mm256_blendv_ps((y), (x), _mm256_cmp_ps((a), (b), _CMP_GT_OQ))
#define NF_ANY_GT(a, b) (_mm256_movemask_ps(_mm256_cmp_ps((a), (b), _CMP_GT_OQ)) != 0)
#define F16_RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define NF_ROUND_F16(f) _mm256_cvtph_ps(_mm256_cvtps_ph((f), F16_RNE))
#define NF_ROUND_BF16(f) NF_CAST(bf16_bits(NF_BITS(f)))
#define NF_STORE32(p, f) _mm256_storeu_ps((float *)(void *)(p), (f))
#define NF_STORE_F16(p, f) _mm_storeu_si128((__m128i *)(void *)(p), _mm256_cvtps_ph((f), F16_RNE))
#define NF_STORE_BF16(p, f) _mm_storeu_si128((__m128i *)(void *)(p), pack16(NV_SRL(NF_BITS(f), 16)))

/* Any lane (uint32)a >= b: flip the sign bits for a signed compare a < b. */
static inline int any_geu(nvu a, nvu b)
{
    nvu flip = NV_SET1(0x80000000u);
    nvu lt = _mm256_cmpgt_epi32(_mm256_xor_si256(b, flip), _mm256_xor_si256(a, flip));

    return _mm256_movemask_ps(NF_CAST(lt)) != 0xFF;
}

/* RNE_f32(w) for uint32 w: hi * 2^16 and lo are exact, so their sum is
 * rounded once, exactly like the scalar conversion. */
static inline nvf from_u32(nvu w)
{
    nvf hi = _mm256_cvtepi32_ps(NV_SRL(w, 16));
    nvf lo = _mm256_cvtepi32_ps(NV_AND(w, NV_SET1(0xFFFFu)));

    return NF_ADD(NF_MUL(hi, NF_SET1(65536.0f)), lo);
}

/* Low 16 bits of 8 lanes (each <= 0xFFFF) -> 8 uint16. */
static inline __m128i pack16(nvu v)
{
    nvu p = _mm256_packus_epi32(v, v); /* per 128-bit half: lanes 0-3, 0-3 | 4-7, 4-7 */

    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(p, 0x08));
}

/* RNE to bfloat16 of finite float bits, as half.c to_bf16, low half zeroed. */
static inline nvu bf16_bits(nvu x)
{
    nvu r =
        _mm256_add_epi32(_mm256_add_epi32(x, NV_SET1(0x7FFFu)), NV_AND(NV_SRL(x, 16), NV_SET1(1u)));

    return NV_AND(r, NV_SET1(0xFFFF0000u));
}

#define NG 4 /* vectors per group: 4 x 8 lanes, 8 chains of 4 doubles */
#define FOR_H _Pragma("GCC unroll 8") for (int h = 0; h < 2 * NG; h++)

/* glibc logf (mlx_math.c gpi_mlx_logf) of NG vectors of positive normal
 * floats: the integer part per 8 lanes, the double part in halves of 4
 * (h = 2j low, 2j + 1 high), step by step across all of them. */
static inline __attribute__((always_inline)) void n_logf_core(const nvu *ix, nvf *out)
{
    __m256d z[2 * NG], kd[2 * NG], invc[2 * NG], logc[2 * NG], r[2 * NG], r2[2 * NG], y[2 * NG];
    __m128i idx[2 * NG];

    _Pragma("GCC unroll 4") for (int j = 0; j < NG; j++)
    {
        nvu tmp = NV_SUB(ix[j], NV_SET1(GPI_LOGF_OFF));
        nvu i32 = NV_AND(NV_SRL(tmp, 19), NV_SET1(15u));
        nvu k = _mm256_srai_epi32(tmp, 23);
        nvf zf = NF_CAST(NV_SUB(ix[j], NV_AND(tmp, NV_SET1(0xff800000u))));
        z[2 * j] = _mm256_cvtps_pd(_mm256_castps256_ps128(zf));
        z[2 * j + 1] = _mm256_cvtps_pd(_mm256_extractf128_ps(zf, 1));
        idx[2 * j] = _mm256_castsi256_si128(i32);
        idx[2 * j + 1] = _mm256_extracti128_si256(i32, 1);
        kd[2 * j] = _mm256_cvtepi32_pd(_mm256_castsi256_si128(k));
        kd[2 * j + 1] = _mm256_cvtepi32_pd(_mm256_extracti128_si256(k, 1));
    }
    FOR_H
    {
        invc[h] = _mm256_i32gather_pd(gpi_logf_invc, idx[h], 8);
        logc[h] = _mm256_i32gather_pd(gpi_logf_logc, idx[h], 8);
    }
    /* The five a * b + c fused (see mlx_normal.h: same float as plain). */
    FOR_H r[h] = _mm256_fmsub_pd(z[h], invc[h], _mm256_set1_pd(1.0));
    FOR_H logc[h] = _mm256_fmadd_pd(kd[h], _mm256_set1_pd(GPI_LOGF_LN2), logc[h]);
    FOR_H r2[h] = _mm256_mul_pd(r[h], r[h]);
    FOR_H y[h] = _mm256_fmadd_pd(_mm256_set1_pd(GPI_LOGF_A1), r[h], _mm256_set1_pd(GPI_LOGF_A2));
    FOR_H y[h] = _mm256_fmadd_pd(_mm256_set1_pd(GPI_LOGF_A0), r2[h], y[h]);
    FOR_H y[h] = _mm256_fmadd_pd(y[h], r2[h], _mm256_add_pd(logc[h], r[h]));
    _Pragma("GCC unroll 4") for (int j = 0; j < NG; j++) out[j] = _mm256_insertf128_ps(
        _mm256_castps128_ps256(_mm256_cvtpd_ps(y[2 * j])), _mm256_cvtpd_ps(y[2 * j + 1]), 1);
}

#include "gen/simd/simd_normal.h"

size_t gpi_avx2_mlx_normal(const struct gpi_mlx_dist *d, const uint32_t *w, size_t n,
                           unsigned char *dst)
{
    return NFN(values)(d, w, n, dst);
}

#pragma GCC pop_options

#endif /* GPI_HAVE_X86_SIMD */
