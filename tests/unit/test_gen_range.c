/*
 * test_gen_range.c - random access: for every algorithm and dtype, odd and
 * even element counts, filling [0, n) in chunks of any size gives the same
 * bytes as one fill of the whole, and any range [a, b) equals the same bytes
 * of the whole. Plus the misuse gp_gen_fill refuses by aborting.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_internal.h"

static const uint64_t numels[] = {1, 2, 3, 15, 16, 17, 1000, 4097};
static const size_t chunks[] = {1, 2, 3, 7, 16, 64, 1000};

#define N_NUMELS (sizeof numels / sizeof numels[0])

/* The initializers' distributions, each with the numbers a request resolves. */
typedef enum {
    D_GLOROT,    /* glorot_uniform, limit 0.75 */
    D_UNIFORM,   /* uniform(2, 3.5): a midpoint */
    D_NORMAL,    /* normal(0.5, 2) */
    D_NOLOC,     /* glorot_normal / he_normal: std 0.1, no mean */
    D_TRUNCATED, /* truncated_normal(0, 1, -0.5, 3) */
    D_CONSTANT,  /* 0.1 */
    D_IDENTITY,  /* 7 columns */
    D_COUNT
} dist_kind;

typedef struct {
    gp_algorithm algorithm;
    gp_dtype dtype;
    uint64_t numel;
    dist_kind dist;
} range_case;

ParameterizedTestParameters(gen_range, chunks)
{
    static const gp_dtype dtypes[] = {GP_FLOAT32, GP_FLOAT16, GP_BFLOAT16, GP_FLOAT64};
    static const gp_algorithm algs[] = {GP_ALG_CHACHA20, GP_ALG_MLX, GP_ALG_MLX_SEEDED};
    size_t max = 3 * 4 * N_NUMELS * D_COUNT, n = 0;
    range_case *c = cr_malloc(max * sizeof *c);

    for (size_t a = 0; a < 3; a++)
        for (size_t d = 0; d < 4; d++)
            for (size_t k = 0; k < N_NUMELS; k++)
                for (int i = 0; i < D_COUNT; i++)
                    if (!(algs[a] != GP_ALG_CHACHA20 && dtypes[d] == GP_FLOAT64))
                        c[n++] = (range_case){algs[a], dtypes[d], numels[k], (dist_kind)i};
    return cr_make_param_array(range_case, c, n, NULL);
}

static void set_dist(gp_request *r, dist_kind dist)
{
    static const struct {
        gp_initializer init;
        gp_dist dist;
        int has_mean;
        double low, high, mean, std, a, b, value;
    } d[D_COUNT] = {
        [D_GLOROT] = {GP_INIT_GLOROT_UNIFORM, GP_DIST_UNIFORM, 0, -0.75, 0.75, 0, 0, 0, 0, 0},
        [D_UNIFORM] = {GP_INIT_UNIFORM, GP_DIST_UNIFORM, 0, 2, 3.5, 0, 0, 0, 0, 0},
        [D_NORMAL] = {GP_INIT_NORMAL, GP_DIST_NORMAL, 1, 0, 0, 0.5, 2, 0, 0, 0},
        [D_NOLOC] = {GP_INIT_GLOROT_NORMAL, GP_DIST_NORMAL, 0, 0, 0, 0, 0.1, 0, 0, 0},
        [D_TRUNCATED] = {GP_INIT_TRUNCATED_NORMAL, GP_DIST_TRUNCATED_NORMAL, 1, 0, 0, 0, 1, -0.5, 3,
                         0},
        [D_CONSTANT] = {GP_INIT_CONSTANT, GP_DIST_CONSTANT, 0, 0, 0, 0, 0, 0, 0, 0.1},
        [D_IDENTITY] = {GP_INIT_IDENTITY, GP_DIST_IDENTITY, 0, 0, 0, 0, 0, 0, 0, 0},
    };
    r->init = d[dist].init;
    r->dist = d[dist].dist;
    r->dist_has_mean = d[dist].has_mean;
    r->dist_low = d[dist].low;
    r->dist_high = d[dist].high;
    r->dist_mean = d[dist].mean;
    r->dist_std = d[dist].std;
    r->dist_a = d[dist].a;
    r->dist_b = d[dist].b;
    r->dist_value = d[dist].value;
    r->limit = dist == D_GLOROT ? 0.75 : 0.0;
    r->rank = 2;
    r->shape[0] = 1;
    r->shape[1] = 7; /* identity's columns */
}

static void init_gen(gp_gen *g, gp_algorithm alg, gp_dtype dtype, uint64_t numel, dist_kind dist)
{
    gp_request r;
    gp_error err = {0};

    memset(&r, 0, sizeof r);
    r.algorithm = alg;
    r.dtype = dtype;
    r.numel = numel;
    r.seed = 0x0123456789ABCDEFu;
    r.call = 3;
    set_dist(&r, dist);
    memcpy(r.name, "weight", 6);
    r.name_len = 6;
    cr_assert_eq(gp_gen_init(g, &r, &err), GP_OK, "%s", err.message);
}

ParameterizedTest(range_case *c, gen_range, chunks)
{
    gp_gen g;
    size_t es = gp_dtype_size(c->dtype), n = (size_t)c->numel;
    unsigned char *whole = malloc(n * es), *pieces = malloc(n * es);

    cr_assert(whole != NULL && pieces != NULL);
    init_gen(&g, c->algorithm, c->dtype, c->numel, c->dist);
    gp_gen_fill(&g, 0, n, whole);
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        memset(pieces, 0xA5, n * es);
        for (size_t first = 0; first < n; first += chunks[k]) {
            size_t count = n - first < chunks[k] ? n - first : chunks[k];
            gp_gen_fill(&g, first, count, pieces + first * es);
        }
        cr_assert_eq(memcmp(whole, pieces, n * es), 0, "%s %s dist %d n=%zu chunk %zu",
                     gp_algorithm_name(c->algorithm), gp_dtype_name(c->dtype), (int)c->dist, n,
                     chunks[k]);
    }
    /* Ranges [a, b) around the middle, both ends, and single elements. */
    for (size_t a = 0; a < n; a += (n > 40 ? n / 13 : 1)) {
        size_t ends[] = {a + 1, a + (n - a) / 2 + 1, n, (a + n / 2 + 1 < n ? a + n / 2 + 1 : n)};
        for (size_t e = 0; e < sizeof ends / sizeof ends[0]; e++) {
            size_t b = ends[e] > n ? n : ends[e];
            gp_gen_fill(&g, a, b - a, pieces);
            cr_assert_eq(memcmp(whole + a * es, pieces, (b - a) * es), 0,
                         "%s %s n=%zu range [%zu, %zu)", gp_algorithm_name(c->algorithm),
                         gp_dtype_name(c->dtype), n, a, b);
        }
    }
    free(whole);
    free(pieces);
}

/* Zero elements: nothing is written (and a NULL buffer is fine). */
Test(gen_range, empty_fill)
{
    gp_gen g;
    unsigned char canary = 0x5A;

    init_gen(&g, GP_ALG_CHACHA20, GP_FLOAT32, 10, D_GLOROT);
    gp_gen_fill(&g, 10, 0, &canary);
    gp_gen_fill(&g, 3, 0, NULL);
    cr_expect_eq(canary, 0x5A);
}

/* Misuse aborts rather than writing outside the tensor. */
typedef struct {
    gp_algorithm algorithm;
    uint64_t first;
    size_t count;
} misuse_case;

static misuse_case misuse_cases[] = {
    {GP_ALG_CHACHA20, 0, 11},         {GP_ALG_CHACHA20, 10, 1}, {GP_ALG_CHACHA20, 11, 0},
    {GP_ALG_CHACHA20, UINT64_MAX, 2}, {GP_ALG_MLX, 5, 6},       {GP_ALG_MLX, 1, SIZE_MAX},
    {GP_ALG_MLX_SEEDED, 9, 2},
};

ParameterizedTestParameters(gen_range, misuse_aborts)
{
    return cr_make_param_array(misuse_case, misuse_cases,
                               sizeof misuse_cases / sizeof misuse_cases[0]);
}

ParameterizedTest(misuse_case *c, gen_range, misuse_aborts, .signal = SIGABRT)
{
    gp_gen g;
    unsigned char buf[64];

    init_gen(&g, c->algorithm, GP_FLOAT32, 10, D_NORMAL);
    gp_gen_fill(&g, c->first, c->count, buf);
}
