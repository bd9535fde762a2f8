/*
 * bench_fetch.c - the client library bringing a tensor into memory: fetched
 * from a running glorotd (glorot_fetch) or generated in-process
 * (glorot_generate). Each run allocates a fresh buffer, as numpy and PyTorch
 * do, fills it, and frees it; seconds per run, one line per run.
 * Usage: bench_fetch fetch URL ALGORITHM ROWS COLS RUNS
 *        bench_fetch generate - ALGORITHM ROWS COLS RUNS
 * fetch-huge and generate-huge allocate the buffer the way numpy's allocator
 * does for large arrays: 2 MiB aligned, madvise(MADV_HUGEPAGE), so the first
 * touch faults 2 MiB pages instead of 4 KiB ones.
 */
#include <glorot/client.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define HUGE_PAGE (2u * 1024u * 1024u)

static int huge;

static void *alloc(size_t size)
{
    void *p = NULL;

    if (!huge)
        return malloc(size);
    if (posix_memalign(&p, HUGE_PAGE, size) != 0)
        return NULL;
    madvise(p, size, MADV_HUGEPAGE); /* advice only: failure leaves 4 KiB pages */
    return p;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int one_run(glorot_client *cl, const glorot_request *req, size_t size)
{
    glorot_error err;
    glorot_meta meta;
    double t0 = now();
    void *buf = alloc(size);
    glorot_code rc;

    if (buf == NULL)
        return -1;
    rc = cl != NULL ? glorot_fetch(cl, req, buf, size, &meta, &err)
                    : glorot_generate(req, buf, size, &meta, &err);
    free(buf);
    if (rc != GLOROT_OK) {
        fprintf(stderr, "bench_fetch: %s\n", err.message);
        return -1;
    }
    printf("%.4f\n", now() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    glorot_request req;
    glorot_error err;
    glorot_client *cl = NULL;
    uint64_t size;
    long runs;

    int fetch = argc == 7 && strncmp(argv[1], "fetch", 5) == 0;

    if (argc != 7 || (!fetch && strncmp(argv[1], "generate", 8) != 0)) {
        fprintf(stderr,
                "usage: bench_fetch fetch|generate[-huge] URL|- ALGORITHM ROWS COLS RUNS\n");
        return 2;
    }
    huge = strstr(argv[1], "-huge") != NULL;
    glorot_request_init(&req);
    req.rank = 2;
    req.shape[0] = strtoull(argv[4], NULL, 10);
    req.shape[1] = strtoull(argv[5], NULL, 10);
    req.algorithm = argv[3];
    req.seed = 1;
    req.seed_set = 1;
    runs = strtol(argv[6], NULL, 10);
    if (runs < 1 || runs > 100 || glorot_size(&req, &size, &err) != GLOROT_OK || size > SIZE_MAX) {
        fprintf(stderr, "bench_fetch: bad shape, algorithm or run count\n");
        return 2;
    }
    if (fetch && (cl = glorot_client_new(argv[2], NULL, &err)) == NULL) {
        fprintf(stderr, "bench_fetch: %s\n", err.message);
        return 1;
    }
    for (long r = 0; r < runs; r++)
        if (one_run(cl, &req, (size_t)size) != 0)
            return 1;
    glorot_client_free(cl);
    return 0;
}
