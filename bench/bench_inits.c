/*
 * bench_inits.c - million elements per second per core for every
 * initializer x algorithm x dtype, through the public generator path
 * (gp_request_set / finish, gp_gen_init, gp_gen_fill in 16 Ki-element
 * chunks, as the daemon streams), with the kernels this CPU runs. Time is
 * the thread's CPU time, so the figure is per core.
 *
 * Usage: bench_inits [seconds-per-run] [runs]
 * Prints "init<TAB>algorithm<TAB>dtype<TAB>median<TAB>min<TAB>max" (Melem/s).
 * Rows are measured interleaved: run 1 of every row, then run 2, ... so a
 * slow moment of the shared machine hits every row alike.
 */
#include "glorot_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 16384
#define NUMEL (1u << 24) /* 16 Mi elements: the mlx word layout of a large tensor */
#define MAX_RUNS 15

typedef struct {
    const char *init, *params, *algorithm, *dtype;
    double rate[MAX_RUNS];
} row;

/* This thread's CPU time: a per-core rate that other work on the shared
 * machine does not dilute (cache and memory contention still show). */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void set(gp_request *r, const char *key, const char *value)
{
    gp_error err = {0};
    if (gp_request_set(r, key, strlen(key), value, strlen(value), &err) != GP_OK) {
        fprintf(stderr, "bench_inits: %s=%s: %s\n", key, value, err.message);
        exit(1);
    }
}

/* "k=v&k=v" */
static void set_params(gp_request *r, const char *params)
{
    char copy[128], *save = NULL;
    snprintf(copy, sizeof copy, "%s", params);
    for (char *kv = strtok_r(copy, "&", &save); kv != NULL; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        set(r, kv, eq + 1);
    }
}

static double measure(const row *w, double seconds, unsigned char *buf)
{
    gp_request r;
    gp_gen g;
    gp_error err = {0};
    gp_request_init(&r);
    set(&r, "init", w->init);
    set(&r, "algorithm", w->algorithm);
    set(&r, "dtype", w->dtype);
    set(&r, "seed", "1");
    set(&r, "shape", "4096,4096"); /* NUMEL elements */
    set_params(&r, w->params);
    if (gp_request_finish(&r, NULL, &err) != GP_OK || gp_gen_init(&g, &r, &err) != GP_OK) {
        fprintf(stderr, "bench_inits: %s %s %s: %s\n", w->init, w->algorithm, w->dtype,
                err.message);
        exit(1);
    }
    uint64_t done = 0, first = 0;
    double t0 = now(), t;
    do {
        gp_gen_fill(&g, first, CHUNK, buf);
        done += CHUNK;
        first = (first + CHUNK) % NUMEL;
        t = now();
    } while (t - t0 < seconds);
    return (double)done / (t - t0) / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* argv number in [lo, hi], whole text; -1 otherwise. */
static int arg_number(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const inits[][2] = {
        {"glorot_uniform", ""},
        {"he_uniform", ""},
        {"uniform", "low=-0.5&high=1.5"},
        {"glorot_normal", ""},
        {"he_normal", ""},
        {"normal", "std=0.02"},
        {"truncated_normal", "std=0.02&a=-0.04&b=0.04"},
        {"zeros", ""},
        {"identity", ""},
    };
    static const char *const algorithms[] = {"chacha20", "mlx"};
    static const char *const dtypes[] = {"float32", "float16", "bfloat16", "float64"};
    double seconds = 0.25, runs_arg = 5;
    if ((argc > 1 && arg_number(argv[1], 1e-3, 3600, &seconds) != 0) ||
        (argc > 2 &&
         (arg_number(argv[2], 1, MAX_RUNS, &runs_arg) != 0 || runs_arg != (int)runs_arg))) {
        fprintf(stderr, "usage: bench_inits [seconds-per-run] [runs 1..%d]\n", MAX_RUNS);
        return 2;
    }
    int runs = (int)runs_arg;
    static row rows[sizeof inits / sizeof inits[0] * 2 * 4];
    size_t n = 0;
    for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++)
        for (size_t a = 0; a < 2; a++)
            for (size_t d = 0; d < 4; d++)
                if (!(a == 1 && d == 3)) /* mlx has no float64 */
                    rows[n++] = (row){inits[i][0], inits[i][1], algorithms[a], dtypes[d], {0}};
    unsigned char *buf = malloc((size_t)CHUNK * 8);
    if (buf == NULL)
        return 1;
    for (int k = 0; k < runs; k++)
        for (size_t i = 0; i < n; i++)
            rows[i].rate[k] = measure(&rows[i], seconds, buf);
    printf("init\talgorithm\tdtype\tmedian\tmin\tmax\n");
    for (size_t i = 0; i < n; i++) {
        qsort(rows[i].rate, (size_t)runs, sizeof rows[i].rate[0], by_value);
        printf("%s\t%s\t%s\t%.1f\t%.1f\t%.1f\n", rows[i].init, rows[i].algorithm, rows[i].dtype,
               rows[i].rate[runs / 2], rows[i].rate[0], rows[i].rate[runs - 1]);
    }
    free(buf);
    return 0;
}
