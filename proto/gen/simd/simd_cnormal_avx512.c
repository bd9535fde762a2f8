/*
 * simd_cnormal_avx512.c - the chacha20 v1 normal family (simd_cnormal.h) on
 * 8 double lanes of AVX-512 (F, DQ: the exact u64 -> double conversion,
 * masks). Compiled for any x86-64 host; cpu.c calls it only where the CPU
 * has the AVX-512 set.
 */
#include "gen/chacha_normal.h"
#include "gen/gen_internal.h"

#ifdef GPI_HAVE_X86_SIMD

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq")

#include <immintrin.h>

typedef __m512d vd;
typedef __m512i vq;
typedef __mmask8 vmask;

#define VD 8
#define CN_FN(name) avx512_##name

#define Q_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define F_STORE_RNE(p, v) _mm256_storeu_ps((p), _mm512_cvtpd_ps(v))
#define D_STORE(p, v) _mm512_storeu_pd((p), (v))
#define Q_SET1(x) _mm512_set1_epi64((long long)(x))
#define D_SET1(x) _mm512_set1_pd(x)
#define Q_AND(a, b) _mm512_and_si512((a), (b))
#define Q_OR(a, b) _mm512_or_si512((a), (b))
#define Q_XOR(a, b) _mm512_xor_si512((a), (b))
#define Q_ADD(a, b) _mm512_add_epi64((a), (b))
#define Q_SRL(v, n) _mm512_srli_epi64((v), (n))
#define Q_SLL(v, n) _mm512_slli_epi64((v), (n))
#define Q_AS_D(v) _mm512_castsi512_pd(v)
#define D_AS_Q(d) _mm512_castpd_si512(d)
#define D_ADD(a, b) _mm512_add_pd((a), (b))
#define D_SUB(a, b) _mm512_sub_pd((a), (b))
#define D_MUL(a, b) _mm512_mul_pd((a), (b))
#define D_DIV(a, b) _mm512_div_pd((a), (b))
#define D_SQRT(a) _mm512_sqrt_pd(a)
#define D_U64(v) _mm512_cvtepu64_pd(v) /* round to nearest (MXCSR default): RNE_f64 */
#define D_LE(a, b) _mm512_cmp_pd_mask((a), (b), _CMP_LE_OQ)
#define D_GE(a, b) _mm512_cmp_pd_mask((a), (b), _CMP_GE_OQ)
#define D_GT(a, b) _mm512_cmp_pd_mask((a), (b), _CMP_GT_OQ)
#define Q_GE(a, b) _mm512_cmpge_epi64_mask((a), (b))
#define M_ANY(m) ((m) != 0)
#define M_BITS(m) ((unsigned)(m))
#define D_LOAD(p) _mm512_loadu_pd(p)
#define M_ALL(m) ((m) == 0xFF)
#define D_SEL(m, x, y) _mm512_mask_blend_pd((m), (y), (x))
#define Q_SEL(m, x, y) _mm512_mask_blend_epi64((m), (y), (x))

#include "gen/simd/simd_cnormal.h"

size_t gpi_cnormal_avx512(const struct gpi_chacha_dist *d, const unsigned char *ks, size_t n,
                          int float32, void *out)
{
    return avx512_cnormal(d, ks, n, float32, out);
}

#pragma GCC pop_options

#endif /* GPI_HAVE_X86_SIMD */
