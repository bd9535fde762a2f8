/*
 * simd_cnormal_avx2.c - the chacha20 v1 normal family (simd_cnormal.h) on
 * 4 double lanes of AVX2. AVX2 has no u64 -> double conversion: the two
 * 32-bit halves are made exact doubles from their bits (2^52 + x - 2^52),
 * then hi * 2^32 + lo is the one rounding, as in the scalar odd65.
 * Compiled for any x86-64 host; cpu.c calls it only where the CPU has AVX2.
 */
#include "gen/chacha_normal.h"
#include "gen/gen_internal.h"

#ifdef GPI_HAVE_X86_SIMD

#pragma GCC push_options
#pragma GCC target("avx2")

#include <immintrin.h>

typedef __m256d vd;
typedef __m256i vq;
typedef __m256i vmask; /* all-ones lanes */

#define VD 4
#define CN_FN(name) avx2_##name

#define Q_LOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define F_STORE_RNE(p, v) _mm_storeu_ps((p), _mm256_cvtpd_ps(v))
#define D_STORE(p, v) _mm256_storeu_pd((p), (v))
#define Q_SET1(x) _mm256_set1_epi64x((long long)(x))
#define D_SET1(x) _mm256_set1_pd(x)
#define Q_AND(a, b) _mm256_and_si256((a), (b))
#define Q_OR(a, b) _mm256_or_si256((a), (b))
#define Q_XOR(a, b) _mm256_xor_si256((a), (b))
#define Q_ADD(a, b) _mm256_add_epi64((a), (b))
#define Q_SRL(v, n) _mm256_srli_epi64((v), (n))
#define Q_SLL(v, n) _mm256_slli_epi64((v), (n))
#define Q_AS_D(v) _mm256_castsi256_pd(v)
#define D_AS_Q(d) _mm256_castpd_si256(d)
#define D_ADD(a, b) _mm256_add_pd((a), (b))
#define D_SUB(a, b) _mm256_sub_pd((a), (b))
#define D_MUL(a, b) _mm256_mul_pd((a), (b))
#define D_DIV(a, b) _mm256_div_pd((a), (b))
#define D_SQRT(a) _mm256_sqrt_pd(a)
#define D_U64(v) from_u64(v)
#define D_LE(a, b) _mm256_castpd_si256(_mm256_cmp_pd((a), (b), _CMP_LE_OQ))
#define D_GE(a, b) _mm256_castpd_si256(_mm256_cmp_pd((a), (b), _CMP_GE_OQ))
#define D_GT(a, b) _mm256_castpd_si256(_mm256_cmp_pd((a), (b), _CMP_GT_OQ))
#define Q_GE(a, b) _mm256_xor_si256(_mm256_cmpgt_epi64((b), (a)), _mm256_set1_epi64x(-1))
#define M_ANY(m) (_mm256_movemask_pd(_mm256_castsi256_pd(m)) != 0)
#define M_BITS(m) ((unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(m)))
#define D_LOAD(p) _mm256_loadu_pd(p)
#define M_ALL(m) (_mm256_movemask_pd(_mm256_castsi256_pd(m)) == 0xF)
#define D_SEL(m, x, y) _mm256_blendv_pd((y), (x), _mm256_castsi256_pd(m))
#define Q_SEL(m, x, y)                                                                             \
    _mm256_castpd_si256(                                                                           \
        _mm256_blendv_pd(_mm256_castsi256_pd(y), _mm256_castsi256_pd(x), _mm256_castsi256_pd(m)))

/* RNE_f64(n): both halves exact (2^52 + x - 2^52), one rounding in the sum. */
static inline __m256d from_u64(__m256i n)
{
    const __m256i magic = _mm256_set1_epi64x(0x4330000000000000);
    const __m256d two52 = _mm256_set1_pd(0x1p52);
    __m256d hi =
        _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(n, 32), magic)), two52);
    __m256d lo = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(
                                   _mm256_and_si256(n, _mm256_set1_epi64x(0xFFFFFFFF)), magic)),
                               two52);

    return _mm256_add_pd(_mm256_mul_pd(hi, _mm256_set1_pd(0x1p32)), lo);
}

#include "gen/simd/simd_cnormal.h"

size_t gpi_cnormal_avx2(const struct gpi_chacha_dist *d, const unsigned char *ks, size_t n,
                        int float32, void *out)
{
    return avx2_cnormal(d, ks, n, float32, out);
}

#pragma GCC pop_options

#endif /* GPI_HAVE_X86_SIMD */
