/*
 * cpu.c - which kernel set the generators use. Detected once with
 * __builtin_cpu_supports (so one portable binary still uses the wide units
 * where they exist), capped by GLOROT_SIMD for benchmarks, forced by tests.
 * Every set gives the same bytes; only the speed differs.
 */
#include "gen/gen_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const gpi_kernels scalar_kernels = {"scalar", NULL, NULL, NULL, NULL, NULL, NULL};

static const char *const level_names[GPI_SIMD_COUNT] = {"scalar", "avx2", "avx512"};

/* -1 until the first use; then a gpi_simd. Racing first uses store the same value. */
static atomic_int active_level = -1;

const char *gpi_simd_name(gpi_simd level)
{
    return (unsigned)level < GPI_SIMD_COUNT ? level_names[level] : "unknown";
}

#ifdef GPI_HAVE_X86_SIMD
/* F16C from CPUID leaf 1 (ECX bit 29): clang's __builtin_cpu_supports has no
 * "f16c" (the fuzz build uses clang). */
static int has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
}
#endif

gpi_simd gpi_simd_supported(void)
{
#ifdef GPI_HAVE_X86_SIMD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return GPI_SIMD_AVX512;
    /* The avx2 set's normal kernels use FMA and F16C (every AVX2 CPU so far has both). */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c())
        return GPI_SIMD_AVX2;
#endif
    return GPI_SIMD_SCALAR;
}

/* GLOROT_SIMD caps the level; unknown values are ignored (the widest is used). */
static gpi_simd env_cap(void)
{
    const char *s = getenv("GLOROT_SIMD");

    for (int i = 0; s != NULL && i < GPI_SIMD_COUNT; i++)
        if (strcmp(s, level_names[i]) == 0)
            return (gpi_simd)i;
    return GPI_SIMD_AVX512;
}

gpi_simd gpi_simd_active(void)
{
    int level = atomic_load_explicit(&active_level, memory_order_acquire);

    if (level < 0) {
        gpi_simd best = gpi_simd_supported(), cap = env_cap();
        int want = (int)(cap < best ? cap : best);
        int expected = -1;
        /* A forced level that won the race is kept. */
        if (!atomic_compare_exchange_strong(&active_level, &expected, want))
            want = expected;
        level = want;
    }
    return (gpi_simd)level;
}

int gpi_simd_force(gpi_simd level)
{
    if ((unsigned)level >= GPI_SIMD_COUNT || level > gpi_simd_supported())
        return -1;
    atomic_store_explicit(&active_level, (int)level, memory_order_release);
    return 0;
}

const gpi_kernels *gpi_kernels_active(void)
{
    switch (gpi_simd_active()) {
#ifdef GPI_HAVE_X86_SIMD
    case GPI_SIMD_AVX512:
        return &gpi_kernels_avx512;
    case GPI_SIMD_AVX2:
        return &gpi_kernels_avx2;
#else
    case GPI_SIMD_AVX512:
    case GPI_SIMD_AVX2:
#endif
    case GPI_SIMD_SCALAR:
    case GPI_SIMD_COUNT:
        break;
    }
    return &scalar_kernels;
}
