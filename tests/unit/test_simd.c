/*
 * test_simd.c - the vector kernels (proto/gen/simd/simd_*.c) give exactly the bytes of
 * the scalar reference, on every kernel set this CPU runs, each one forced:
 *  - our ChaCha20 keystream against libsodium's crypto_stream_chacha20 (the
 *    reference): many keys, block counters including the 2^32 carry into
 *    word 13, byte offsets inside a block, lengths from 1 byte to many blocks;
 *  - chacha20 and mlx tensors, every dtype, against the scalar path: many
 *    seeds, element offsets and lengths, odd and even element counts;
 *  - Threefry batches against gpi_threefry2x32, counters wrapping at 2^32;
 *  - float16 / bfloat16 bits and rounding over all 2^32 float32 patterns;
 *  - the dispatch: forcing, refusing what the CPU lacks, names.
 * A kernel set this CPU lacks is skipped (said so in the output).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_internal.h"

static const gpi_simd wide_levels[] = {GPI_SIMD_AVX2, GPI_SIMD_AVX512};
#define N_WIDE (sizeof wide_levels / sizeof wide_levels[0])

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Force level, or skip the test when this CPU (or build) cannot run it. */
static void use_level(gpi_simd level)
{
    if (level > gpi_simd_supported())
        cr_skip_test("this CPU has no %s", gpi_simd_name(level));
    cr_assert_eq(gpi_simd_force(level), 0, "%s", gpi_simd_name(level));
    cr_assert_eq(gpi_simd_active(), level);
}

static unsigned char *xmalloc(size_t n)
{
    unsigned char *p = malloc(n == 0 ? 1 : n);

    cr_assert(p != NULL);
    return p;
}

/* ---- dispatch -------------------------------------------------------------- */

Test(simd, force_and_names)
{
    gpi_simd best = gpi_simd_supported();

    cr_expect_str_eq(gpi_simd_name(GPI_SIMD_SCALAR), "scalar");
    cr_expect_str_eq(gpi_simd_name(GPI_SIMD_AVX2), "avx2");
    cr_expect_str_eq(gpi_simd_name(GPI_SIMD_AVX512), "avx512");
    cr_expect_str_eq(gpi_simd_name(GPI_SIMD_COUNT), "unknown");
    cr_expect_eq(gpi_simd_force(GPI_SIMD_COUNT), -1);
    for (int l = GPI_SIMD_SCALAR; l < GPI_SIMD_COUNT; l++) {
        int rc = gpi_simd_force((gpi_simd)l);
        if ((gpi_simd)l > best) {
            cr_expect_eq(rc, -1, "%s accepted beyond the CPU", gpi_simd_name((gpi_simd)l));
            continue;
        }
        cr_expect_eq(rc, 0);
        cr_expect_eq(gpi_simd_active(), (gpi_simd)l);
        cr_expect_str_eq(gpi_kernels_active()->name, gpi_simd_name((gpi_simd)l));
    }
    cr_expect_eq(gpi_simd_force(GPI_SIMD_SCALAR), 0);
    cr_expect_null(gpi_kernels_active()->chacha_blocks);
    cr_expect_null(gpi_kernels_active()->tf_batch);
}

/* The first use picks the widest level the CPU has (no GLOROT_SIMD set by make). */
Test(simd, default_is_widest)
{
    const char *env = getenv("GLOROT_SIMD");

    if (env != NULL)
        cr_skip_test("GLOROT_SIMD=%s is set", env);
    cr_expect_eq(gpi_simd_active(), gpi_simd_supported());
}

/* ---- ChaCha20 keystream against libsodium ---------------------------------- */

typedef struct {
    gpi_simd level;
    uint64_t block; /* first block of the window under test */
} stream_case;

ParameterizedTestParameters(simd, keystream)
{
    static const uint64_t blocks[] = {0,
                                      1,
                                      1000,
                                      UINT64_C(0xFFFFFFFF) - 20, /* crosses 2^32: word 13 carry */
                                      UINT64_C(0x1FFFFFFFF) - 3,
                                      UINT64_C(0x0123456789ABCDEF),
                                      (UINT64_MAX >> 6) - 200}; /* offsets are u64 bytes */
    size_t nb = sizeof blocks / sizeof blocks[0], n = 0;
    stream_case *c = cr_malloc(N_WIDE * nb * sizeof *c);

    for (size_t l = 0; l < N_WIDE; l++)
        for (size_t b = 0; b < nb; b++)
            c[n++] = (stream_case){wide_levels[l], blocks[b]};
    return cr_make_param_array(stream_case, c, n, NULL);
}

/* 100 windows per case: random key, byte offset within 40 blocks of the base,
 * length 1 .. 12 KiB (up to ~190 blocks, so whole vector groups and tails). */
ParameterizedTest(stream_case *c, simd, keystream)
{
    static const unsigned char nonce[8];
    enum { SPAN = 200 * 64 };
    unsigned char *ref = xmalloc(SPAN), *got = xmalloc(SPAN), *zeros = xmalloc(SPAN);
    uint64_t rng = c->block ^ (uint64_t)c->level << 60;

    cr_assert_eq(gp_init(), 0);
    use_level(c->level);
    memset(zeros, 0, SPAN);
    for (int t = 0; t < 100; t++) {
        unsigned char key[32];
        for (int i = 0; i < 32; i += 8) {
            uint64_t r = splitmix(&rng);
            memcpy(key + i, &r, 8);
        }
        uint64_t first = c->block + splitmix(&rng) % 40;
        size_t skip = (size_t)(splitmix(&rng) % 64);
        size_t len = 1 + (size_t)(splitmix(&rng) % (SPAN - 64 * 41));
        if (t < 4) /* tiny and exactly-one-vector-group lengths too */
            len = (size_t[]){1, 63, 64 * 16, 64 * 8}[t];
        crypto_stream_chacha20_xor_ic(ref, zeros, skip + len, nonce, first, key);
        memset(got, 0xA5, SPAN);
        gpi_chacha_keystream(key, first * 64 + skip, len, got);
        cr_assert_eq(memcmp(got, ref + skip, len), 0,
                     "%s: block %llu + byte %zu, %zu bytes differ from libsodium",
                     gpi_simd_name(c->level), (unsigned long long)first, skip, len);
        cr_assert_eq(got[len], 0xA5, "wrote past the end");
    }
    free(ref);
    free(got);
    free(zeros);
}

/* ---- whole generators against the scalar path ------------------------------ */

typedef struct {
    gpi_simd level;
    gp_algorithm algorithm;
    gp_dtype dtype;
} gen_case;

ParameterizedTestParameters(simd, generators)
{
    static const gp_dtype dtypes[] = {GP_FLOAT32, GP_FLOAT16, GP_BFLOAT16, GP_FLOAT64};
    static const gp_algorithm algs[] = {GP_ALG_CHACHA20, GP_ALG_MLX};
    gen_case *c = cr_malloc(N_WIDE * 8 * sizeof *c);
    size_t n = 0;

    for (size_t l = 0; l < N_WIDE; l++)
        for (size_t a = 0; a < 2; a++)
            for (size_t d = 0; d < 4; d++)
                if (!(algs[a] == GP_ALG_MLX && dtypes[d] == GP_FLOAT64))
                    c[n++] = (gen_case){wide_levels[l], algs[a], dtypes[d]};
    return cr_make_param_array(gen_case, c, n, NULL);
}

static void init_gen(gp_gen *g, const gen_case *c, uint64_t seed, uint64_t numel, double limit)
{
    gp_request r;
    gp_error err = {0};

    memset(&r, 0, sizeof r);
    r.algorithm = c->algorithm;
    r.dtype = c->dtype;
    r.numel = numel;
    r.seed = seed;
    r.limit = limit;
    memcpy(r.name, "layer.weight", 12);
    r.name_len = 12;
    cr_assert_eq(gp_gen_init(g, &r, &err), GP_OK, "%s", err.message);
}

/* 60 tensors per case: random seed, limit, element count (odd and even, up
 * to ~40000, so both MLX halves and many vector groups), then ranges with
 * random starts and lengths 1 .. all, each compared with the scalar bytes. */
ParameterizedTest(gen_case *c, simd, generators)
{
    enum { MAX_N = 40000 };
    size_t es = gp_dtype_size(c->dtype);
    unsigned char *ref = xmalloc(MAX_N * es), *got = xmalloc(MAX_N * es + 1);
    uint64_t rng = (uint64_t)c->level * 1000 + (uint64_t)c->algorithm * 10 + c->dtype;

    use_level(c->level);
    for (int t = 0; t < 60; t++) {
        uint64_t numel = 1 + splitmix(&rng) % MAX_N, seed = splitmix(&rng);
        double limit = 1e-3 + (double)(splitmix(&rng) % 1000) / 250.0;
        gp_gen g;
        if (t < 3)
            numel = (uint64_t[]){1, 33, 4096}[t];
        init_gen(&g, c, seed, numel, limit);
        cr_assert_eq(gpi_simd_force(GPI_SIMD_SCALAR), 0);
        gp_gen_fill(&g, 0, (size_t)numel, ref);
        cr_assert_eq(gpi_simd_force(c->level), 0);
        for (int k = 0; k < 8; k++) {
            uint64_t a = k == 0 ? 0 : splitmix(&rng) % numel;
            size_t len = k == 0 ? (size_t)numel : 1 + (size_t)(splitmix(&rng) % (numel - a));
            memset(got, 0xA5, len * es + 1);
            gp_gen_fill(&g, a, len, got);
            cr_assert_eq(memcmp(got, ref + a * es, len * es), 0,
                         "%s %s %s numel %llu seed %llu: [%llu, +%zu) differs from scalar",
                         gpi_simd_name(c->level), gp_algorithm_name(c->algorithm),
                         gp_dtype_name(c->dtype), (unsigned long long)numel,
                         (unsigned long long)seed, (unsigned long long)a, len);
            cr_assert_eq(got[len * es], 0xA5, "wrote past the end");
        }
    }
    free(ref);
    free(got);
}

/* Far into a large chacha20 tensor: element offsets past 2^32 blocks. */
Test(simd, chacha_far_offsets)
{
    static const gp_dtype dtypes[] = {GP_FLOAT32, GP_FLOAT16, GP_BFLOAT16, GP_FLOAT64};
    enum { LEN = 3000 };
    unsigned char ref[LEN * 8], got[LEN * 8];

    for (size_t l = 0; l < N_WIDE; l++) {
        if (wide_levels[l] > gpi_simd_supported())
            continue;
        for (size_t d = 0; d < 4; d++) {
            gen_case c = {wide_levels[l], GP_ALG_CHACHA20, dtypes[d]};
            size_t es = gp_dtype_size(dtypes[d]);
            uint64_t per = 64 / (es == 8 ? 8 : 4); /* elements per block */
            uint64_t first = (UINT64_C(0xFFFFFFFF) - 50) * per + 5;
            gp_gen g;
            init_gen(&g, &c, 7, UINT64_C(1) << 40, 0.5);
            cr_assert_eq(gpi_simd_force(GPI_SIMD_SCALAR), 0);
            gp_gen_fill(&g, first, LEN, ref);
            cr_assert_eq(gpi_simd_force(c.level), 0);
            gp_gen_fill(&g, first, LEN, got);
            cr_expect_eq(memcmp(got, ref, LEN * es), 0, "%s %s", gpi_simd_name(c.level),
                         gp_dtype_name(dtypes[d]));
        }
    }
}

/* ---- Threefry batches -------------------------------------------------------- */

ParameterizedTestParameters(simd, threefry_batch)
{
    return cr_make_param_array(gpi_simd, (void *)wide_levels, N_WIDE);
}

ParameterizedTest(gpi_simd *level, simd, threefry_batch)
{
    uint32_t o0[GPI_TF_BATCH], o1[GPI_TF_BATCH];
    uint64_t rng = 99;

    use_level(*level);
    for (int t = 0; t < 200; t++) {
        uint32_t key[2] = {(uint32_t)splitmix(&rng), (uint32_t)splitmix(&rng)};
        uint32_t b0 = (uint32_t)splitmix(&rng), b1 = (uint32_t)splitmix(&rng);
        if (t < 2) /* counters that wrap mod 2^32 inside the batch */
            b0 = b1 = UINT32_MAX - 5 - (uint32_t)t * 60;
        gpi_kernels_active()->tf_batch(key, b0, b1, o0, o1);
        for (uint32_t k = 0; k < GPI_TF_BATCH; k++) {
            uint32_t ctr[2] = {b0 + k, b1 + k}, want[2];
            gpi_threefry2x32(key, ctr, want);
            cr_assert(o0[k] == want[0] && o1[k] == want[1], "%s key %08X %08X counter (%08X, %08X)",
                      gpi_simd_name(*level), key[0], key[1], ctr[0], ctr[1]);
        }
    }
}

ParameterizedTestParameters(simd, mlx_words)
{
    return cr_make_param_array(gpi_simd, (void *)wide_levels, N_WIDE);
}

/* MLX's word stream, any window, odd and even lengths. */
ParameterizedTest(gpi_simd *level, simd, mlx_words)
{
    enum { N = 5001 };
    static uint32_t ref[N], got[N];
    const uint32_t key[2] = {0x12345678u, 0x9ABCDEF0u};

    for (uint64_t nwords = N - 1; nwords <= N; nwords++) {
        cr_assert_eq(gpi_simd_force(GPI_SIMD_SCALAR), 0);
        gpi_mlx_words(key, nwords, 0, (size_t)nwords, ref);
        use_level(*level);
        for (uint64_t a = 0; a < nwords; a += 97) {
            size_t len = (size_t)(nwords - a) < 3000 ? (size_t)(nwords - a) : 3000;
            gpi_mlx_words(key, nwords, a, len, got);
            cr_assert_eq(memcmp(got, ref + a, len * 4), 0, "%s nwords %llu from %llu",
                         gpi_simd_name(*level), (unsigned long long)nwords, (unsigned long long)a);
        }
    }
}

/* ---- float16 / bfloat16: all 2^32 patterns --------------------------------- */

typedef struct {
    gpi_simd level;
    gpi_out kind;
    uint32_t part;   /* the top 3 bits of the patterns */
    uint32_t stride; /* 1: every pattern */
} half_case;

/* float16 (the intricate one) on the widest kernel set this CPU runs: every
 * pattern; otherwise every 61st (all binades, many mantissas). The kernel
 * sets share one template; this keeps make check short. */
ParameterizedTestParameters(simd, half_exhaustive)
{
    static const gpi_out kinds[] = {GPI_OUT_F16, GPI_OUT_BF16};
    half_case *c = cr_malloc(N_WIDE * 2 * 8 * sizeof *c);
    gpi_simd best = gpi_simd_supported();
    size_t n = 0;

    for (size_t l = 0; l < N_WIDE; l++)
        for (size_t k = 0; k < 2; k++)
            for (uint32_t p = 0; p < 8; p++)
                c[n++] = (half_case){wide_levels[l], kinds[k], p,
                                     wide_levels[l] == best && kinds[k] == GPI_OUT_F16 ? 1 : 61};
    return cr_make_param_array(half_case, c, n, NULL);
}

/* Both the 16-bit patterns and the rounded float32 values, against the
 * scalar batch forms (gpi_store_*_n, gpi_round_*_n; test_half checks those
 * against the IEEE definition), pattern by pattern. */
ParameterizedTest(half_case *c, simd, half_exhaustive)
{
    enum { N = 4096 };
    static float in[N], rounded[N], want_r[N];
    static uint16_t bits[N];
    static unsigned char want[2 * N];
    int f16 = c->kind == GPI_OUT_F16;
    uint64_t x = (uint64_t)c->part << 29, end = x + (UINT64_C(1) << 29);

    use_level(c->level);
    for (; x < end; x += (uint64_t)N * c->stride) {
        for (size_t i = 0; i < N; i++)
            in[i] = gpi_f32_from_bits((uint32_t)(x + i * c->stride));
        cr_assert_eq(gpi_kernels_active()->half(c->kind, 0, in, N, bits), N);
        cr_assert_eq(gpi_kernels_active()->half(c->kind, 1, in, N, rounded), N);
        memcpy(want_r, in, sizeof in);
        if (f16) {
            gpi_store_f16_n(in, N, want);
            gpi_round_f16_n(want_r, N);
        } else {
            gpi_store_bf16_n(in, N, want);
            gpi_round_bf16_n(want_r, N);
        }
        if (memcmp(bits, want, sizeof want) == 0 && memcmp(rounded, want_r, sizeof want_r) == 0)
            continue;
        for (size_t i = 0; i < N; i++) {
            uint16_t w = (uint16_t)(want[2 * i] | want[2 * i + 1] << 8);
            if (bits[i] != w || gpi_f32_bits(rounded[i]) != gpi_f32_bits(want_r[i]))
                cr_assert_fail("%s %s(%08X) = %04X / %08X, want %04X / %08X",
                               gpi_simd_name(c->level), f16 ? "f16" : "bf16", gpi_f32_bits(in[i]),
                               bits[i], gpi_f32_bits(rounded[i]), w, gpi_f32_bits(want_r[i]));
        }
    }
}
