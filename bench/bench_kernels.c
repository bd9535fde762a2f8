/*
 * bench_kernels.c - generator kernels, elements per second on one core, for
 * each algorithm, dtype and kernel set, next to memcpy of the same bytes,
 * libsodium's raw ChaCha20 keystream and our own.
 *
 * A fill streams chunks of CHUNK_BYTES (the daemon's 256 KiB block) into one
 * reused buffer, as glorotd does. Each figure is the median of REPS runs of
 * about RUN_SECONDS each, with min and max; the contenders of one comparison
 * (the kernel sets; libsodium and memcpy with the keystream) take turns run
 * by run. Output: one TSV line per figure:
 *   what  simd  dtype  median_Melem_s  min  max  median_GB_s
 * Usage: bench_kernels [seconds-per-run] [reps] [section]
 *        bench_kernels --simd        the kernel set in use
 * section: all (default), chacha20, mlx, threefry, keystream: one comparison
 * group only, for quick measurements while tuning a kernel.
 */
#include "gen_internal.h"

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
    uint64_t pos; /* next element for gen fills, wraps at gen.numel */
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

static void add_fixed(contender *c, const char *what, step_fn step, int level)
{
    init_job(&c->job, what, GP_ALG_CHACHA20, GP_FLOAT32, UINT64_C(1) << 40);
    c->step = step;
    c->level = level;
    c->dtype = "raw";
}

static int known_section(const char *name)
{
    static const char *const names[] = {"all", "chacha20", "mlx", "threefry", "keystream"};

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
    contender c[MAX_CONTENDERS];
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
    if (want("threefry")) {
        n = per_level(c, "threefry", GP_ALG_MLX, GP_FLOAT32, CHUNK_BYTES / 4, step_words, "raw");
        init_job(&c[n].job, "threefry-1ctr", GP_ALG_MLX, GP_FLOAT32, CHUNK_BYTES / 4);
        c[n].step = step_one_counter;
        c[n].level = GPI_SIMD_SCALAR;
        c[n].dtype = "raw";
        compare(c, n + 1);
    }
    if (want("keystream")) {
        n = per_level(c, "keystream", GP_ALG_CHACHA20, GP_FLOAT32, UINT64_C(1) << 40,
                      step_keystream, "raw");
        add_fixed(&c[n++], "libsodium-chacha20", step_sodium, -1);
        add_fixed(&c[n++], "memcpy", step_memcpy, -1);
        compare(c, n);
    }
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
                "[all|chacha20|mlx|threefry|keystream]\n",
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
