/*
 * bench_kernels.c - generator kernels, elements per second on one core, for
 * each algorithm, dtype and kernel set, next to memcpy of the same bytes,
 * libsodium's raw ChaCha20 keystream and our own.
 *
 * A fill streams chunks of CHUNK_BYTES (the daemon's 256 KiB block) into one
 * reused buffer, as glorotd does. Each figure is the median of REPS runs of
 * about RUN_SECONDS each, with min and max; the contenders of one comparison
 * (the kernel sets; libsodium and memcpy with the keystream) take turns run
 * by run. Threefry has three views: "threefry" (MLX's raw words through
 * gpi_mlx_words), "threefry-1ctr" (one counter per gpi_threefry2x32 call: the
 * scalar rate) and "threefry-kernel" (the vector tf_batch alone).
 * Output: one TSV line per figure:
 *   what  simd  dtype  median_Melem_s  min  max  median_GB_s
 * The ceiling section (see "ceiling" below) prints, same columns:
 *   ceiling-ops       simd  mix       ops/ns (median, min, max)  -
 *   ceiling-threefry  simd  raw       best Melem/s  min  max  GB/s
 *   ceiling-chacha20  simd  raw       best Melem/s  min  max  GB/s
 *   ceiling-ratio     simd  what      best ratio    min  max  -
 * Usage: bench_kernels [seconds-per-run] [reps] [section]
 *        bench_kernels --simd        the kernel set in use
 * section: all (default), chacha20, mlx, normal, chacha-normal, threefry,
 * keystream, ceiling:
 * one comparison group only, for quick measurements while tuning a kernel.
 * "normal" puts MLX's normal family (mlx_normal.c: glorot_normal, normal,
 * truncated_normal) next to the uniform family's mlx-stream, same stream.
 * "chacha-normal" puts the chacha20 normal family (chacha_normal.c:
 * normal(0, 1) and truncated_normal(0, 1, -2, 2)) next to the chacha20
 * uniform family of the same dtype, every kernel set, in one comparison.
 */
#include "gen/chacha_normal.h"
#include "gen/gen_internal.h"
#include "gen/mlx_normal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK_BYTES (256u * 1024u)
#define MAX_REPS 15

static double run_seconds = 0.25;
static int reps = 5;
static const char *section = "all";
static unsigned char *buf, *src;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
    const char *what;
    gp_gen gen;
    size_t esize;
    uint64_t pos;          /* next element for gen fills, wraps at gen.numel */
    gpi_mlx_dist dist;     /* the normal rows' distribution */
    gpi_chacha_dist cdist; /* the chacha-normal rows' distribution */
} job;

/* One chunk of work; returns the elements produced. */
typedef size_t (*step_fn)(job *j);

static size_t step_fill(job *j)
{
    size_t n = CHUNK_BYTES / j->esize;

    if (j->pos + n > j->gen.numel)
        j->pos = 0;
    gp_gen_fill(&j->gen, j->pos, n, buf);
    j->pos += n;
    return n;
}

static size_t step_memcpy(job *j)
{
    memcpy(buf, src, CHUNK_BYTES);
    __asm__ volatile("" : : "r"(buf) : "memory");
    return CHUNK_BYTES / j->esize;
}

static size_t step_sodium(job *j)
{
    static const unsigned char nonce[8];

    crypto_stream_chacha20(buf, CHUNK_BYTES, nonce, j->gen.chacha_key);
    return CHUNK_BYTES / j->esize;
}

/* MLX's raw words of a whole small stream: Threefry alone, each block once. */
static size_t step_words(job *j)
{
    size_t n = CHUNK_BYTES / 4;

    gpi_mlx_words(j->gen.mlx_key, n, 0, n, (uint32_t *)(void *)buf);
    return n;
}

/* The same blocks one counter at a time through gpi_threefry2x32: the
 * scalar rate without the compiler's SSE2 vectorisation of the batch loop. */
static size_t step_one_counter(job *j)
{
    uint32_t *w = (uint32_t *)(void *)buf;
    size_t n = CHUNK_BYTES / 4;

    for (uint32_t k = 0; k < n / 2; k++) {
        const uint32_t ctr[2] = {k, k + (uint32_t)(n / 2)};
        gpi_threefry2x32(j->gen.mlx_key, ctr, w + 2 * k);
    }
    return n;
}

/* The same blocks straight from the active set's tf_batch, GPI_TF_BATCH
 * counters a call, each block's two words stored where MLX's layout puts
 * them (j and j + n/2): the vector kernel alone, without gpi_mlx_words'
 * staging buffer and copy (which only the tests and this benchmark use). */
static size_t step_tf_kernel(job *j)
{
    const gpi_kernels *kern = gpi_kernels_active();
    uint32_t *w = (uint32_t *)(void *)buf;
    uint32_t half = CHUNK_BYTES / 8;

    for (uint32_t k = 0; k < half; k += GPI_TF_BATCH)
        kern->tf_batch(j->gen.mlx_key, k, k + half, w + k, w + half + k);
    return 2 * (size_t)half;
}

/* MLX's normal family streamed as gp_gen_fill streams mlx-stream: per
 * GPI_TF_BATCH counters (j, j + numel/2) the active tf_batch (scalar: one
 * block at a time), then gpi_mlx_dist_values on the x0 words. */
static size_t step_normal(job *j)
{
    const gpi_kernels *kern = gpi_kernels_active();
    uint32_t w0[GPI_TF_BATCH], w1[GPI_TF_BATCH];
    uint32_t half = (uint32_t)(j->gen.numel / 2);
    size_t n = CHUNK_BYTES / j->esize;

    if (j->pos + n > half)
        j->pos = 0;
    for (size_t k = 0; k < n; k += GPI_TF_BATCH) {
        uint32_t b0 = (uint32_t)(j->pos + k);
        if (kern->tf_batch != NULL)
            kern->tf_batch(j->gen.mlx_key, b0, b0 + half, w0, w1);
        else
            for (uint32_t i = 0; i < GPI_TF_BATCH; i++) {
                const uint32_t ctr[2] = {b0 + i, b0 + half + i};
                uint32_t o[2];
                gpi_threefry2x32(j->gen.mlx_key, ctr, o);
                w0[i] = o[0];
            }
        gpi_mlx_dist_values(&j->dist, w0, GPI_TF_BATCH, buf + k * j->esize);
    }
    j->pos += n;
    return n;
}

static size_t step_cdist(job *j)
{
    size_t n = CHUNK_BYTES / j->esize;

    gpi_chacha_dist_fill(&j->cdist, j->gen.chacha_key, j->pos, n, buf);
    j->pos += n;
    return n;
}

static size_t step_keystream(job *j)
{
    gpi_chacha_keystream(j->gen.chacha_key, j->pos * 4, CHUNK_BYTES, buf);
    j->pos += CHUNK_BYTES / 4;
    return CHUNK_BYTES / j->esize;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* One timed run of about run_seconds: elements per second. */
static double one_run(job *j, step_fn step)
{
    double t0 = now(), t;
    uint64_t elems = 0;

    do {
        elems += step(j);
        t = now();
    } while (t - t0 < run_seconds);
    return (double)elems / (t - t0);
}

static void init_job(job *j, const char *what, gp_algorithm alg, gp_dtype dtype, uint64_t numel)
{
    gp_request r;
    gp_error err = {0};

    memset(j, 0, sizeof *j);
    memset(&r, 0, sizeof r);
    r.algorithm = alg;
    r.dtype = dtype;
    r.numel = numel;
    r.seed = 42;
    r.limit = 0.05;
    memcpy(r.name, "weight", 6);
    r.name_len = 6;
    if (gp_gen_init(&j->gen, &r, &err) != GP_OK) {
        fprintf(stderr, "bench_kernels: %s\n", err.message);
        exit(1);
    }
    j->what = what;
    j->esize = gp_dtype_size(dtype);
}

/* A comparison: contenders measured in turn, rep after rep (rep 1 of each,
 * then rep 2 of each, ...), so a busy moment on the shared machine hits all
 * of them alike. */
#define MAX_CONTENDERS 6

typedef struct {
    job job;
    step_fn step;
    int level; /* kernel set to force, -1: does not depend on it */
    const char *dtype;
    double rate[MAX_REPS];
} contender;

static void compare(contender *c, size_t n)
{
    for (size_t k = 0; k < n; k++)
        c[k].step(&c[k].job); /* warm the buffer and the code */
    for (int r = 0; r < reps; r++)
        for (size_t k = 0; k < n; k++) {
            if (c[k].level >= 0 && gpi_simd_force((gpi_simd)c[k].level) != 0)
                abort();
            c[k].rate[r] = one_run(&c[k].job, c[k].step);
        }
    for (size_t k = 0; k < n; k++) {
        double *rate = c[k].rate;
        qsort(rate, (size_t)reps, sizeof rate[0], cmp_double);
        printf("%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.2f\n", c[k].job.what,
               c[k].level >= 0 ? gpi_simd_name((gpi_simd)c[k].level) : "-", c[k].dtype,
               rate[reps / 2] / 1e6, rate[0] / 1e6, rate[reps - 1] / 1e6,
               rate[reps / 2] * (double)c[k].job.esize / 1e9);
    }
    fflush(stdout);
}

/* One contender per kernel set this CPU runs; returns how many. */
static size_t per_level(contender *c, const char *what, gp_algorithm alg, gp_dtype dtype,
                        uint64_t numel, step_fn step, const char *dtype_name)
{
    size_t n = 0;

    for (int level = GPI_SIMD_SCALAR; level <= (int)gpi_simd_supported(); level++) {
        init_job(&c[n].job, what, alg, dtype, numel);
        c[n].step = step;
        c[n].level = level;
        c[n].dtype = dtype_name;
        n++;
    }
    return n;
}

/* One mlx contender at one kernel set (a 2^31-element stream); returns 1. */
static size_t per_level_one(contender *c, const char *what, gp_dtype dtype, int level, step_fn step)
{
    init_job(&c->job, what, GP_ALG_MLX, dtype, UINT64_C(1) << 31);
    c->step = step;
    c->level = level;
    c->dtype = gp_dtype_name(dtype);
    return 1;
}

/* The chacha20 normal family per kernel set (truncated: 0, 1, -2, 2). */
static size_t per_level_cdist(contender *c, const char *what, int truncated, gp_dtype dtype)
{
    size_t n = per_level(c, what, GP_ALG_CHACHA20, dtype, UINT64_C(1) << 40, step_cdist,
                         gp_dtype_name(dtype));

    for (size_t k = 0; k < n; k++)
        if (gpi_chacha_dist_init(&c[k].job.cdist, truncated, dtype, 0, 1, -2, 2, NULL) != GP_OK)
            abort();
    return n;
}

static void add_fixed_job(job *j)
{
    init_job(j, "fixed", GP_ALG_CHACHA20, GP_FLOAT32, UINT64_C(1) << 40);
}

static void add_fixed(contender *c, const char *what, step_fn step, int level)
{
    init_job(&c->job, what, GP_ALG_CHACHA20, GP_FLOAT32, UINT64_C(1) << 40);
    c->step = step;
    c->level = level;
    c->dtype = "raw";
}

/* ---- ceiling: what this core can do at best ------------------------------
 *
 * The kernels' instruction mixes, run as independent chains in inline asm
 * (so no compiler decides the schedule): Threefry pairs (x0 += x1; x1 =
 * rotl(x1, r) ^ x0, with the key-injection adds) and ChaCha20's add/xor/
 * rotate steps, each with enough pairs in flight that latency never limits
 * (a round is 2-3 cycles deep; the pairs give 4-8 times more independent
 * ops than the ports take per cycle). Ops per ns, then the best possible
 * kernel rates from the op counts of our kernels:
 *   Threefry-2x32-20 block: 20 rounds of add, rotate, xor + 12 key adds
 *     (5 injections of 2, and the first 2): scalar and zmm 72 ops (zmm: 16
 *     blocks), ymm 104 (8 blocks: the 16 rounds with a bit rotate cost 5
 *     ops: shift, shift, or; the 4 rounds by 16 or 24 are one byte shuffle);
 *   ChaCha20, one double round x 10 + the final add of 16 words: zmm 96 ops
 *     per double round (16 blocks, 1 KiB), ymm 128 (8 blocks, 512 bytes:
 *     the 12- and 7-bit rotates are shift, shift, or; 16 and 8 shuffles).
 * Stores, transposes and loop overhead are left out: real kernels sit below.
 * A scalar chain of dependent adds gives the clock (one add per cycle). */

#define CEIL_ITERS 4096u /* asm loop iterations per step */

/* Scalar Threefry round on pair (a, b), rotation r; key injection. */
#define SR(a, b, r) "addl %" #b ", %" #a "\n\troll $" #r ", %" #b "\n\txorl %" #a ", %" #b "\n\t"
#define SI(a, b) "addl $0x1BD11BDA, %" #a "\n\taddl $0x9E3779B9, %" #b "\n\t"
#define S5(M, r) M(0, 1, r) M(2, 3, r) M(4, 5, r) M(6, 7, r) M(8, 9, r)
#define S5I SI(0, 1) SI(2, 3) SI(4, 5) SI(6, 7) SI(8, 9)
#define S_EVEN S5(SR, 13) S5(SR, 15) S5(SR, 26) S5(SR, 6) S5I
#define S_ODD S5(SR, 17) S5(SR, 29) S5(SR, 16) S5(SR, 24) S5I
#define S_ITER S_EVEN S_ODD

/* 5 pairs x (8 rounds x 3 + 4 injection adds) */
#define S_OPS_ITER (5u * 28u)

static size_t step_ceil_scalar(job *j)
{
    uint32_t r[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

    (void)j;
    for (unsigned i = 0; i < CEIL_ITERS; i++)
        __asm__ volatile(S_ITER
                         : "+r"(r[0]), "+r"(r[1]), "+r"(r[2]), "+r"(r[3]), "+r"(r[4]), "+r"(r[5]),
                           "+r"(r[6]), "+r"(r[7]), "+r"(r[8]), "+r"(r[9]));
    return (size_t)CEIL_ITERS * S_OPS_ITER;
}

/* Dependent adds: one per cycle, so adds per ns is the clock in GHz. */
static size_t step_ceil_clock(job *j)
{
    uint32_t a = 1;

    (void)j;
    for (unsigned i = 0; i < CEIL_ITERS; i++)
        __asm__ volatile(".rept 64\n\taddl $1, %0\n\t.endr" : "+r"(a));
    return (size_t)CEIL_ITERS * 64u;
}

#ifdef GPI_HAVE_X86_SIMD
#include <immintrin.h>

/* ymm: 5 pairs (10 registers) + temporary + 2 shuffle masks + key = 14 of 16.
 * A bit rotate is shift, shift, or; 8, 16, 24 one vpshufb with mask m (the
 * rot8 mask stands in for rot24: same instruction, same cost). */
#define YR(a, b, r)                                                                                \
    "vpaddd %" #b ", %" #a ", %" #a "\n\tvpslld $" #r ", %" #b ", %10\n\tvpsrld $(32-" #r          \
    "), %" #b ", %" #b "\n\tvpor %10, %" #b ", %" #b "\n\tvpxor %" #a ", %" #b ", %" #b "\n\t"
#define YS(a, b, m)                                                                                \
    "vpaddd %" #b ", %" #a ", %" #a "\n\tvpshufb %" #m ", %" #b ", %" #b "\n\tvpxor %" #a ", %" #b \
    ", %" #b "\n\t"
#define YI(a, b, r) "vpaddd %13, %" #a ", %" #a "\n\tvpaddd %13, %" #b ", %" #b "\n\t"
#define Y_TF_EVEN S5(YR, 13) S5(YR, 15) S5(YR, 26) S5(YR, 6) S5(YI, 0)
#define Y_TF_ODD S5(YR, 17) S5(YR, 29) S5(YS, 11) S5(YS, 12) S5(YI, 0)
#define Y_TF_ITER Y_TF_EVEN Y_TF_ODD
#define Y_CC_ITER                                                                                  \
    S5(YS, 11) S5(YR, 12) S5(YS, 12) S5(YR, 7) S5(YS, 11) S5(YR, 12) S5(YS, 12) S5(YR, 7)
#define Y_TF_OPS_ITER (5u * (6u * 5u + 2u * 3u + 4u))
#define Y_CC_OPS_ITER (5u * (4u * 3u + 4u * 5u))

#define Y_OPERANDS(t, m16, m8, k)                                                                  \
    : "+x"(v[0]), "+x"(v[1]), "+x"(v[2]), "+x"(v[3]), "+x"(v[4]), "+x"(v[5]), "+x"(v[6]),         \
      "+x"(v[7]), "+x"(v[8]), "+x"(v[9]), "=&x"(t)                                                 \
    : "x"(m16), "x"(m8), "x"(k)

__attribute__((target("avx2"))) static size_t ceil_ymm(int chacha)
{
    __m256i v[10], t, k = _mm256_set1_epi32(0x1BD11BDA);
    __m256i m16 = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1,
                                   6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    __m256i m8 = _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2,
                                  7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);

    for (int i = 0; i < 10; i++)
        v[i] = _mm256_set1_epi32(i + 1);
    /* One loop per mix: a branch inside made GCC spill v[] every iteration. */
    if (chacha)
        for (unsigned i = 0; i < CEIL_ITERS; i++)
            __asm__ volatile(Y_CC_ITER Y_OPERANDS(t, m16, m8, k));
    else
        for (unsigned i = 0; i < CEIL_ITERS; i++)
            __asm__ volatile(Y_TF_ITER Y_OPERANDS(t, m16, m8, k));
    return (size_t)CEIL_ITERS * (chacha ? Y_CC_OPS_ITER : Y_TF_OPS_ITER);
}

/* zmm: 8 pairs in zmm16-31 (named in the asm: 16 "+v" operands would pass
 * GCC's limit of 30) + key; vprold is one op. The loop is in the asm too. */
#define ZR(a, b, r)                                                                                \
    "vpaddd %%zmm" #b ", %%zmm" #a ", %%zmm" #a "\n\tvprold $" #r ", %%zmm" #b ", %%zmm" #b        \
    "\n\tvpxord %%zmm" #a ", %%zmm" #b ", %%zmm" #b "\n\t"
#define ZI(a, b, r) "vpaddd %1, %%zmm" #a ", %%zmm" #a "\n\tvpaddd %1, %%zmm" #b ", %%zmm" #b "\n\t"
#define Z4(M, r, a, b, c, d) M(a, b, r) M(c, d, r)
#define Z8(M, r)                                                                                   \
    Z4(M, r, 16, 17, 18, 19)                                                                       \
    Z4(M, r, 20, 21, 22, 23) Z4(M, r, 24, 25, 26, 27) Z4(M, r, 28, 29, 30, 31)
#define Z_TF_EVEN Z8(ZR, 13) Z8(ZR, 15) Z8(ZR, 26) Z8(ZR, 6) Z8(ZI, 0)
#define Z_TF_ODD Z8(ZR, 17) Z8(ZR, 29) Z8(ZR, 16) Z8(ZR, 24) Z8(ZI, 0)
#define Z_TF_ITER Z_TF_EVEN Z_TF_ODD
#define Z_CC_ITER                                                                                  \
    Z8(ZR, 16) Z8(ZR, 12) Z8(ZR, 8) Z8(ZR, 7) Z8(ZR, 16) Z8(ZR, 12) Z8(ZR, 8) Z8(ZR, 7)
#define Z_TF_OPS_ITER (8u * 28u)
#define Z_CC_OPS_ITER (8u * 24u)

#define Z_LOOP(BODY)                                                                               \
    "1:\n\t" BODY "decl %0\n\tjnz 1b" : "+r"(n)                                                    \
        : "v"(k)                                                                                   \
        : "xmm16",                                                                                 \
          "xmm17",                                                                                 \
          "xmm18",                                                                                 \
          "xmm19",                                                                                 \
          "xmm20",                                                                                 \
          "xmm21",                                                                                 \
          "xmm22",                                                                                 \
          "xmm23",                                                                                 \
          "xmm24",                                                                                 \
          "xmm25",                                                                                 \
          "xmm26",                                                                                 \
          "xmm27",                                                                                 \
          "xmm28",                                                                                 \
          "xmm29",                                                                                 \
          "xmm30",                                                                                 \
          "xmm31",                                                                                 \
          "cc"

__attribute__((target("avx512f"))) static size_t ceil_zmm(int chacha)
{
    __m512i k = _mm512_set1_epi32(0x1BD11BDA);
    unsigned n = CEIL_ITERS;

    if (chacha)
        __asm__ volatile(Z_LOOP(Z_CC_ITER));
    else
        __asm__ volatile(Z_LOOP(Z_TF_ITER));
    return (size_t)CEIL_ITERS * (chacha ? Z_CC_OPS_ITER : Z_TF_OPS_ITER);
}

static size_t step_ceil_ymm_tf(job *j)
{
    (void)j;
    return ceil_ymm(0);
}

static size_t step_ceil_ymm_cc(job *j)
{
    (void)j;
    return ceil_ymm(1);
}

static size_t step_ceil_zmm_tf(job *j)
{
    (void)j;
    return ceil_zmm(0);
}

static size_t step_ceil_zmm_cc(job *j)
{
    (void)j;
    return ceil_zmm(1);
}
#endif /* GPI_HAVE_X86_SIMD */

/* Op counts of one kernel step, and what it yields (see the top of this part). */
#define TF_SCALAR_OPS 72.0               /* one block: 2 words */
#define TF_YMM_OPS 104.0                 /* 8 blocks: 16 words */
#define TF_ZMM_OPS 72.0                  /* 16 blocks: 32 words */
#define CC_YMM_OPS (10.0 * 128.0 + 16.0) /* 512 bytes */
#define CC_ZMM_OPS (10.0 * 96.0 + 16.0)  /* 1024 bytes */

typedef struct {
    const char *simd, *mix;
    step_fn step;
    double rate[MAX_REPS]; /* ops per second */
} ceil_mix;

enum { CM_CLOCK, CM_SCALAR, CM_YMM_TF, CM_YMM_CC, CM_ZMM_TF, CM_ZMM_CC, CM_SODIUM, CM_COUNT };

static void print_stats(const char *what, const char *simd, const char *kind, double *v,
                        double scale, double gb)
{
    qsort(v, (size_t)reps, sizeof v[0], cmp_double);
    printf("%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t", what, simd, kind, v[reps / 2] * scale, v[0] * scale,
           v[reps - 1] * scale);
    if (gb > 0)
        printf("%.2f\n", v[reps / 2] * gb);
    else
        printf("-\n");
}

/* Words (Melem/s, like the threefry and keystream rows) from ops/s, rep by rep. */
static void print_derived(const char *what, const char *simd, const double *ops, double per_ops,
                          double words)
{
    double w[MAX_REPS];

    for (int r = 0; r < reps; r++)
        w[r] = ops[r] / per_ops * words;
    print_stats(what, simd, "raw", w, 1e-6, 4e-9);
}

static void print_ratio(const char *simd, const char *kind, const double *num, double num_per,
                        const double *den, double den_per)
{
    double q[MAX_REPS];

    for (int r = 0; r < reps; r++)
        q[r] = (num[r] * num_per) / (den[r] * den_per);
    print_stats("ceiling-ratio", simd, kind, q, 1.0, 0);
}

static void bench_ceiling(void)
{
    ceil_mix m[CM_COUNT] = {
        [CM_CLOCK] = {"-", "dependent-add-GHz", step_ceil_clock, {0}},
        [CM_SCALAR] = {"scalar", "threefry-mix", step_ceil_scalar, {0}},
#ifdef GPI_HAVE_X86_SIMD
        [CM_YMM_TF] = {"avx2", "threefry-mix", step_ceil_ymm_tf, {0}},
        [CM_YMM_CC] = {"avx2", "chacha-mix", step_ceil_ymm_cc, {0}},
        [CM_ZMM_TF] = {"avx512", "threefry-mix", step_ceil_zmm_tf, {0}},
        [CM_ZMM_CC] = {"avx512", "chacha-mix", step_ceil_zmm_cc, {0}},
#endif
        [CM_SODIUM] = {"-", "libsodium", step_sodium, {0}},
    };
    gpi_simd best = gpi_simd_supported();
    job sodium;

    add_fixed_job(&sodium);
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < CM_COUNT; k++)
            if (m[k].step != NULL && !(k >= CM_YMM_TF && k <= CM_YMM_CC && best < GPI_SIMD_AVX2) &&
                !(k >= CM_ZMM_TF && k <= CM_ZMM_CC && best < GPI_SIMD_AVX512))
                m[k].rate[r] = one_run(&sodium, m[k].step);
    /* libsodium's rate is in 32-bit words per second, like every other row. */
    for (int k = 0; k < CM_COUNT; k++)
        if (k != CM_SODIUM && m[k].rate[0] > 0) {
            double v[MAX_REPS];
            memcpy(v, m[k].rate, sizeof v);
            print_stats("ceiling-ops", m[k].simd, m[k].mix, v, 1e-9, 0);
        }
    print_derived("ceiling-threefry", "scalar", m[CM_SCALAR].rate, TF_SCALAR_OPS, 2);
    if (best >= GPI_SIMD_AVX2) {
        print_derived("ceiling-threefry", "avx2", m[CM_YMM_TF].rate, TF_YMM_OPS, 16);
        print_ratio("avx2", "threefry-vs-scalar", m[CM_YMM_TF].rate, 16 / TF_YMM_OPS,
                    m[CM_SCALAR].rate, 2 / TF_SCALAR_OPS);
        print_derived("ceiling-chacha20", "avx2", m[CM_YMM_CC].rate, CC_YMM_OPS, 128);
        print_ratio("avx2", "chacha20-vs-libsodium", m[CM_YMM_CC].rate, 128 / CC_YMM_OPS,
                    m[CM_SODIUM].rate, 1);
    }
    if (best >= GPI_SIMD_AVX512) {
        print_derived("ceiling-threefry", "avx512", m[CM_ZMM_TF].rate, TF_ZMM_OPS, 32);
        print_ratio("avx512", "threefry-vs-scalar", m[CM_ZMM_TF].rate, 32 / TF_ZMM_OPS,
                    m[CM_SCALAR].rate, 2 / TF_SCALAR_OPS);
        print_derived("ceiling-chacha20", "avx512", m[CM_ZMM_CC].rate, CC_ZMM_OPS, 256);
        print_ratio("avx512", "chacha20-vs-libsodium", m[CM_ZMM_CC].rate, 256 / CC_ZMM_OPS,
                    m[CM_SODIUM].rate, 1);
    }
    fflush(stdout);
}

/* Per dtype: mlx-stream (uniform) and the three normal kinds, every kernel
 * set, taking turns. glorot_normal's std for a 4096 x 4096 weight. */
static void bench_normal(gp_dtype dtype)
{
    static const struct {
        const char *what;
        gpi_mlx_kind kind;
        double mean, std, a, b;
    } kinds[] = {{"mlx-glorot_normal", GPI_MLX_NORMAL_NOLOC, 0, 0.015625, 0, 0},
                 {"mlx-normal", GPI_MLX_NORMAL, 0, 0.02, 0, 0},
                 {"mlx-truncated_normal", GPI_MLX_TRUNCATED, 0, 0.02, -0.04, 0.04}};
    contender c[MAX_CONTENDERS * 4];
    gp_error err = {0};
    size_t n = 0;

    for (int level = GPI_SIMD_SCALAR; level <= (int)gpi_simd_supported(); level++) {
        n += per_level_one(&c[n], "mlx-stream", dtype, level, step_fill);
        for (size_t k = 0; k < 3; k++, n++) {
            per_level_one(&c[n], kinds[k].what, dtype, level, step_normal);
            if (gpi_mlx_dist_init(&c[n].job.dist, kinds[k].kind, dtype, kinds[k].mean, kinds[k].std,
                                  kinds[k].a, kinds[k].b, &err) != GP_OK) {
                fprintf(stderr, "bench_kernels: %s\n", err.message);
                exit(1);
            }
        }
    }
    compare(c, n);
}

static int known_section(const char *name)
{
    static const char *const names[] = {"all",           "chacha20", "mlx",       "normal",
                                        "chacha-normal", "threefry", "keystream", "ceiling"};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static int want(const char *name)
{
    return strcmp(section, "all") == 0 || strcmp(section, name) == 0;
}

static void bench_all(void)
{
    static const gp_dtype dtypes[] = {GP_FLOAT32, GP_FLOAT16, GP_BFLOAT16, GP_FLOAT64};
    contender c[MAX_CONTENDERS * 2];
    size_t n;

    for (size_t d = 0; d < 4 && want("chacha20"); d++)
        compare(c, per_level(c, "chacha20", GP_ALG_CHACHA20, dtypes[d], UINT64_C(1) << 40,
                             step_fill, gp_dtype_name(dtypes[d])));
    for (size_t d = 0; d < 3 && want("mlx"); d++) {
        /* A streamed tensor: each chunk lies in one half of MLX's layout, so
         * each Threefry block is computed for one of its two words. */
        compare(c, per_level(c, "mlx-stream", GP_ALG_MLX, dtypes[d], UINT64_C(1) << 31, step_fill,
                             gp_dtype_name(dtypes[d])));
        /* A whole small tensor per fill: each block serves two words. */
        compare(c, per_level(c, "mlx-whole", GP_ALG_MLX, dtypes[d],
                             CHUNK_BYTES / gp_dtype_size(dtypes[d]), step_fill,
                             gp_dtype_name(dtypes[d])));
    }
    for (size_t d = 0; d < 3 && want("normal"); d++)
        bench_normal(dtypes[d]);
    for (size_t d = 0; d < 4 && want("chacha-normal"); d++) {
        n = per_level(c, "chacha20", GP_ALG_CHACHA20, dtypes[d], UINT64_C(1) << 40, step_fill,
                      gp_dtype_name(dtypes[d]));
        n += per_level_cdist(c + n, "chacha20-normal", 0, dtypes[d]);
        n += per_level_cdist(c + n, "chacha20-truncated", 1, dtypes[d]);
        compare(c, n);
    }
    if (want("threefry")) {
        n = per_level(c, "threefry", GP_ALG_MLX, GP_FLOAT32, CHUNK_BYTES / 4, step_words, "raw");
        init_job(&c[n].job, "threefry-1ctr", GP_ALG_MLX, GP_FLOAT32, CHUNK_BYTES / 4);
        c[n].step = step_one_counter;
        c[n].level = GPI_SIMD_SCALAR;
        c[n].dtype = "raw";
        n++;
        for (int level = GPI_SIMD_AVX2; level <= (int)gpi_simd_supported(); level++, n++) {
            init_job(&c[n].job, "threefry-kernel", GP_ALG_MLX, GP_FLOAT32, CHUNK_BYTES / 4);
            c[n].step = step_tf_kernel;
            c[n].level = level;
            c[n].dtype = "raw";
        }
        compare(c, n);
    }
    if (want("keystream")) {
        n = per_level(c, "keystream", GP_ALG_CHACHA20, GP_FLOAT32, UINT64_C(1) << 40,
                      step_keystream, "raw");
        add_fixed(&c[n++], "libsodium-chacha20", step_sodium, -1);
        add_fixed(&c[n++], "memcpy", step_memcpy, -1);
        compare(c, n);
    }
    if (want("ceiling"))
        bench_ceiling();
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--simd") == 0) { /* the kernel set a run would use */
        printf("%s (widest on this CPU: %s)\n", gpi_simd_name(gpi_simd_active()),
               gpi_simd_name(gpi_simd_supported()));
        return 0;
    }
    if (argc > 1)
        run_seconds = strtod(argv[1], NULL);
    if (argc > 2)
        reps = (int)strtol(argv[2], NULL, 10);
    if (argc > 3)
        section = argv[3];
    if (!(run_seconds > 0 && run_seconds < 10) || reps < 1 || reps > MAX_REPS ||
        !known_section(section)) {
        fprintf(stderr,
                "usage: bench_kernels [seconds-per-run (0..10)] [reps (1..%d)] "
                "[all|chacha20|mlx|normal|chacha-normal|threefry|keystream|ceiling]\n",
                MAX_REPS);
        return 2;
    }
    if (gp_init() != 0)
        return 1;
    buf = malloc(CHUNK_BYTES);
    src = malloc(CHUNK_BYTES);
    if (buf == NULL || src == NULL)
        return 1;
    memset(buf, 1, CHUNK_BYTES);
    memset(src, 2, CHUNK_BYTES);
    printf("what\tsimd\tdtype\tmedian_Melem_s\tmin\tmax\tmedian_GB_s\n");
    bench_all();
    free(buf);
    free(src);
    return 0;
}
