/*
 * test_mlx_normal.c - MLX's normal family (proto/gen/mlx_normal.c, mlx_math.c):
 *   - every glorot_normal, he_normal, normal and truncated_normal row of
 *     tests/data/mlx_family.tsv and mlx_family2.tsv (copied from
 *     /work/shared/vectors/: tensors MLX itself produced on CPU), bit for bit,
 *     key and seeded modes;
 *   - random access: words [k, k + m) give the slice [k, k + m) of the whole;
 *   - gpi_mlx_logf against the system logf (glibc) on every float32 in (0, 1];
 *   - gpi_mlx_erfinv against a plain transcription of MLX's erfinv over the
 *     system logf and fmaf, on every input the normal path can produce;
 *   - the constants MLX rounds, and what gpi_mlx_dist_init refuses;
 *   - every vector kernel level against the scalar reference.
 *
 * Standard deviations are computed in double as MLX's nn/init.py does, with
 * MLX's fans: fan_in = shape[-1] * rf, fan_out = shape[0] * rf,
 * rf = prod(shape[1:-1]).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_internal.h"
#include "gen/mlx_normal.h"
#include "tsv.h"

#define FAMILY_ROWS 72
#define FAMILY2_ROWS 64
#define MAX_ELEMS 128

static void free_params(struct criterion_test_params *p)
{
    cr_free(p->params);
}

static gp_dtype parse_dtype(const char *s)
{
    if (strcmp(s, "float32") == 0)
        return GP_FLOAT32;
    if (strcmp(s, "float16") == 0)
        return GP_FLOAT16;
    cr_assert_str_eq(s, "bfloat16");
    return GP_BFLOAT16;
}

static size_t parse_values(const char *s, uint32_t *out)
{
    size_t n = 0;

    while (*s != '\0') {
        char *end;
        cr_assert(n < MAX_ELEMS);
        out[n++] = (uint32_t)strtoul(s, &end, 16);
        cr_assert(end != s, "bad value list");
        s = end;
        while (*s == ' ')
            s++;
    }
    return n;
}

/* One tensor to check: its distribution, key and expected bits. */
typedef struct {
    gpi_mlx_kind kind;
    gp_dtype dtype;
    double mean, std, a, b;
    uint32_t key[2];
    uint64_t numel;
    uint32_t want[MAX_ELEMS];
} tensor_case;

/* MLX's fans of shape (rank >= 2). */
static void mlx_fans(const uint64_t *shape, size_t rank, double *fan_in, double *fan_out)
{
    uint64_t rf = 1;

    for (size_t i = 1; i + 1 < rank; i++)
        rf *= shape[i];
    *fan_in = (double)(shape[rank - 1] * rf);
    *fan_out = (double)(shape[0] * rf);
}

static void set_key(tensor_case *t, const char *mode, const char *call, const char *seed)
{
    uint64_t s = strtoull(seed, NULL, 10);

    if (strcmp(mode, "seeded") == 0)
        gpi_mlx_seeded_key(s, strtoull(call, NULL, 10), t->key);
    else {
        cr_assert_str_eq(mode, "key");
        gpi_mlx_key(s, t->key);
    }
}

/* value of key in "k1=v1;k2=v2" (the family2 params column). */
static double param(const char *params, const char *key)
{
    size_t len = strlen(key);

    for (const char *p = params; p != NULL && *p != '\0';) {
        if (strncmp(p, key, len) == 0 && p[len] == '=')
            return strtod(p + len + 1, NULL);
        p = strchr(p, ';');
        p = p != NULL ? p + 1 : NULL;
    }
    cr_assert_fail("no %s in %s", key, params);
    return 0;
}

static const char *param_text(const char *params, const char *key)
{
    const char *p = strstr(params, key);

    cr_assert(p != NULL, "no %s in %s", key, params);
    return p + strlen(key) + 1;
}

/* The normal-family std for glorot_normal / he_normal (fan "fan_in",
 * "fan_out" or "-"). */
static double fan_std(const char *init, const char *fan, double gain, const uint64_t *shape,
                      size_t rank)
{
    double fan_in, fan_out;

    mlx_fans(shape, rank, &fan_in, &fan_out);
    if (strcmp(init, "glorot_normal") == 0)
        return gain * sqrt(2.0 / (fan_in + fan_out));
    cr_assert_str_eq(init, "he_normal");
    return gain / sqrt(strncmp(fan, "fan_in", 6) == 0 ? fan_in : fan_out);
}

static int is_normal_family(const char *init)
{
    return strcmp(init, "glorot_normal") == 0 || strcmp(init, "he_normal") == 0 ||
           strcmp(init, "normal") == 0 || strcmp(init, "truncated_normal") == 0;
}

/* Words from MLX's layout, values from the distribution, compared bit for bit. */
static void check_tensor(const tensor_case *t, const char *what)
{
    uint32_t w[MAX_ELEMS];
    unsigned char out[MAX_ELEMS * 4];
    gpi_mlx_dist d;
    gp_error err = {0};
    size_t es = gp_dtype_size(t->dtype);

    cr_assert_eq(gpi_mlx_dist_init(&d, t->kind, t->dtype, t->mean, t->std, t->a, t->b, &err), GP_OK,
                 "%s: %s", what, err.message);
    gpi_mlx_words(t->key, t->numel, 0, (size_t)t->numel, w);
    gpi_mlx_dist_values(&d, w, (size_t)t->numel, out);
    for (size_t i = 0; i < t->numel; i++) {
        uint32_t got = es == 4 ? gpi_load_le32(out + 4 * i)
                               : (uint32_t)out[2 * i] | (uint32_t)out[2 * i + 1] << 8;
        cr_expect_eq(got, t->want[i], "%s element %zu: %X, want %X", what, i, got, t->want[i]);
    }
}

static uint64_t shape_numel(const char *text, uint64_t *shape, size_t *rank)
{
    uint64_t n = 1;

    *rank = parse_shape(text, shape);
    for (size_t i = 0; i < *rank; i++)
        n *= shape[i];
    return n;
}

/* ---- mlx_family.tsv: init mode seed shape gain dtype values_hex ----------- */

typedef struct {
    int row;
} row_case;

static row_case *row_params(int n)
{
    row_case *c = cr_malloc((size_t)n * sizeof *c);

    for (int i = 0; i < n; i++)
        c[i].row = i;
    return c;
}

ParameterizedTestParameters(mlx_family, row)
{
    return cr_make_param_array(row_case, row_params(FAMILY_ROWS), FAMILY_ROWS, free_params);
}

ParameterizedTest(row_case *c, mlx_family, row)
{
    char line[LINE_MAX_LEN], *f[8], what[160];
    uint64_t shape[GP_MAX_RANK];
    size_t rank;
    tensor_case t = {0};

    data_row("mlx_family.tsv", (size_t)c->row, line, sizeof line);
    cr_assert_eq(fields(line, f, 8), 7);
    if (!is_normal_family(f[0])) {
        cr_assert_str_eq(f[0], "he_uniform", "row %d: unexpected initializer", c->row);
        return; /* the uniform family: tested with gp_gen (test_mlx.c) */
    }
    t.kind = GPI_MLX_NORMAL_NOLOC;
    t.dtype = parse_dtype(f[5]);
    t.numel = shape_numel(f[3], shape, &rank);
    t.std = fan_std(f[0], f[1], strtod(f[4], NULL), shape, rank);
    gpi_mlx_key(strtoull(f[2], NULL, 10), t.key);
    cr_assert_eq(parse_values(f[6], t.want), t.numel, "row %d: value count", c->row);
    snprintf(what, sizeof what, "family row %d (%s %s seed %s shape %s gain %s %s)", c->row, f[0],
             f[1], f[2], f[3], f[4], f[5]);
    check_tensor(&t, what);
}

/* ---- mlx_family2.tsv: init params mode call seed shape dtype sha256 bytes values */

ParameterizedTestParameters(mlx_family2, row)
{
    return cr_make_param_array(row_case, row_params(FAMILY2_ROWS), FAMILY2_ROWS, free_params);
}

static void family2_dist(tensor_case *t, const char *init, const char *params,
                         const uint64_t *shape, size_t rank)
{
    if (strcmp(init, "normal") == 0) {
        t->kind = GPI_MLX_NORMAL;
        t->mean = param(params, "mean");
        t->std = param(params, "std");
    } else if (strcmp(init, "truncated_normal") == 0) {
        t->kind = GPI_MLX_TRUNCATED;
        t->mean = param(params, "mean");
        t->std = param(params, "std");
        t->a = param(params, "a");
        t->b = param(params, "b");
    } else {
        const char *fan = strcmp(init, "he_normal") == 0 ? param_text(params, "fan") : "-";
        t->kind = GPI_MLX_NORMAL_NOLOC;
        t->std = fan_std(init, fan, param(params, "gain"), shape, rank);
    }
}

ParameterizedTest(row_case *c, mlx_family2, row)
{
    char line[LINE_MAX_LEN], *f[12], what[200];
    uint64_t shape[GP_MAX_RANK];
    size_t rank;
    tensor_case t = {0};

    data_row("mlx_family2.tsv", (size_t)c->row, line, sizeof line);
    cr_assert_eq(fields(line, f, 12), 10);
    if (!is_normal_family(f[0])) {
        cr_assert(strcmp(f[0], "uniform") == 0 || strcmp(f[0], "glorot_uniform") == 0 ||
                      strcmp(f[0], "he_uniform") == 0 || strcmp(f[0], "constant") == 0 ||
                      strcmp(f[0], "identity") == 0,
                  "row %d: unexpected initializer %s", c->row, f[0]);
        return; /* not a normal: the lead's tests cover it */
    }
    t.dtype = parse_dtype(f[6]);
    t.numel = shape_numel(f[5], shape, &rank);
    family2_dist(&t, f[0], f[1], shape, rank);
    set_key(&t, f[2], f[3], f[4]);
    cr_assert_eq(parse_values(f[9], t.want), t.numel, "row %d: value count", c->row);
    cr_assert_eq(strtoull(f[8], NULL, 10), t.numel * gp_dtype_size(t.dtype));
    snprintf(what, sizeof what, "family2 row %d (%s %s %s call %s seed %s shape %s %s)", c->row,
             f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
    check_tensor(&t, what);
}

/* The row counts above, and how many of them are normals (all checked). */
static size_t normal_rows(const char *file, size_t rows)
{
    char line[LINE_MAX_LEN], *f[12];
    size_t n = 0;

    for (size_t i = 0; i < rows; i++) {
        data_row(file, i, line, sizeof line);
        fields(line, f, 12);
        n += (size_t)is_normal_family(f[0]);
    }
    return n;
}

Test(mlx_family, files_complete)
{
    cr_assert_eq(data_rows("mlx_family.tsv"), FAMILY_ROWS);
    cr_assert_eq(data_rows("mlx_family2.tsv"), FAMILY2_ROWS);
    cr_assert_eq(normal_rows("mlx_family.tsv", FAMILY_ROWS), 54);
    cr_assert_eq(normal_rows("mlx_family2.tsv", FAMILY2_ROWS), 36);
}

/* ---- random access: words [k, k + m) -> the slice [k, k + m) --------------- */

typedef struct {
    gpi_mlx_kind kind;
    gp_dtype dtype;
    double mean, std, a, b;
    uint64_t numel;
} dist_case;

static const dist_case access_cases[] = {
    {GPI_MLX_NORMAL_NOLOC, GP_FLOAT32, 0, 0.0625, 0, 0, 100003},
    {GPI_MLX_NORMAL, GP_FLOAT16, 0.5, 2, 0, 0, 100000},
    {GPI_MLX_TRUNCATED, GP_BFLOAT16, 0.1, 0.5, -1, 2, 65537},
    {GPI_MLX_TRUNCATED, GP_FLOAT32, 0, 0.02, -0.04, 0.04, 4097},
};

ParameterizedTestParameters(mlx_normal, random_access)
{
    size_t n = sizeof access_cases / sizeof access_cases[0];
    dist_case *c = cr_malloc(sizeof access_cases);

    memcpy(c, access_cases, sizeof access_cases);
    return cr_make_param_array(dist_case, c, n, free_params);
}

/* Values of words [first, first + count) of key's numel-word stream. */
static void values_at(const gpi_mlx_dist *d, const uint32_t key[2], uint64_t numel, uint64_t first,
                      size_t count, unsigned char *out)
{
    uint32_t *w = malloc(count * sizeof *w + 1);

    cr_assert(w != NULL);
    gpi_mlx_words(key, numel, first, count, w);
    gpi_mlx_dist_values(d, w, count, out);
    free(w);
}

ParameterizedTest(dist_case *c, mlx_normal, random_access)
{
    const uint32_t key[2] = {0x11Fu, 0x71FB04CBu};
    size_t es = gp_dtype_size(c->dtype), n = (size_t)c->numel;
    unsigned char *whole = malloc(n * es), *part = malloc(n * es);
    /* slices across both halves of the layout, the odd middle word, the ends */
    const uint64_t cuts[][2] = {{0, 1},         {1, 7},     {n / 2 - 3, 9}, {n / 2, 1},
                                {n / 2 + 1, 5}, {n - 1, 1}, {n - 130, 130}, {12345 % n, 1000}};
    gpi_mlx_dist d;
    gp_error err = {0};

    cr_assert(whole != NULL && part != NULL);
    cr_assert_eq(gpi_mlx_dist_init(&d, c->kind, c->dtype, c->mean, c->std, c->a, c->b, &err), GP_OK,
                 "%s", err.message);
    values_at(&d, key, c->numel, 0, n, whole);
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        uint64_t first = cuts[k][0], count = cuts[k][1];
        if (first + count > c->numel)
            count = c->numel - first;
        values_at(&d, key, c->numel, first, (size_t)count, part);
        cr_expect(memcmp(part, whole + first * es, (size_t)count * es) == 0,
                  "numel %llu: slice [%llu, +%llu) differs from the whole", (unsigned long long)n,
                  (unsigned long long)first, (unsigned long long)count);
    }
    free(whole);
    free(part);
}

/* ---- logf: every float32 in (0, 1] against the system's (glibc) ------------- */

#define LOGF_CHUNKS 8u
#define LOGF_LAST 0x3F800000u /* 1.0f */

typedef struct {
    uint32_t first, last; /* float bits, inclusive */
} bits_range;

ParameterizedTestParameters(mlx_logf, exhaustive_0_1)
{
    bits_range *c = cr_malloc(LOGF_CHUNKS * sizeof *c);
    uint32_t step = LOGF_LAST / LOGF_CHUNKS + 1u;

    for (uint32_t i = 0; i < LOGF_CHUNKS; i++) {
        c[i].first = 1u + i * step;
        c[i].last = i + 1 == LOGF_CHUNKS ? LOGF_LAST : (i + 1u) * step;
    }
    return cr_make_param_array(bits_range, c, LOGF_CHUNKS, free_params);
}

/* glibc's logf with all five a * b + c fused, as the vector kernels compute
 * it (and as glibc's FMA build may): built for FMA so fma() is one
 * instruction; called only where the CPU has it. */
__attribute__((target("fma"))) static float fused_logf(float x)
{
    uint32_t ix = gpi_f32_bits(x), tmp = ix - GPI_LOGF_OFF;
    unsigned i = (tmp >> 19) % GPI_LOGF_N;
    double z = (double)gpi_f32_from_bits(ix - (tmp & 0xff800000u));
    double r = fma(z, gpi_logf_invc[i], -1.0);
    double y0 = fma((double)((int32_t)tmp >> 23), GPI_LOGF_LN2, gpi_logf_logc[i]);
    double r2 = r * r, y = fma(GPI_LOGF_A1, r, GPI_LOGF_A2);

    y = fma(GPI_LOGF_A0, r2, y);
    return (float)fma(y, r2, y0 + r);
}

ParameterizedTest(bits_range *c, mlx_logf, exhaustive_0_1)
{
    uint64_t bad = 0, bad_fused = 0, positive = 0;
    uint32_t first_bad = 0;
    int fused = __builtin_cpu_supports("fma");

    for (uint64_t b = c->first; b <= c->last; b++) {
        float x = gpi_f32_from_bits((uint32_t)b), y = gpi_mlx_logf(x);
        uint32_t want = gpi_f32_bits(logf(x));
        if (gpi_f32_bits(y) != want && bad++ == 0)
            first_bad = (uint32_t)b;
        positive += y > 0.0f; /* the kernels' tail test relies on log t <= 0 */
        /* the fused form needs a normal input: the kernels send others to scalar */
        if (fused && b >= 0x00800000u && gpi_f32_bits(fused_logf(x)) != want && bad_fused++ == 0)
            first_bad = (uint32_t)b;
    }
    cr_assert_eq(bad, 0, "%llu inputs in [%08X, %08X] differ from logf, first %08X (%a)",
                 (unsigned long long)bad, c->first, c->last, first_bad,
                 (double)gpi_f32_from_bits(first_bad));
    cr_assert_eq(bad_fused, 0, "fused: %llu inputs in [%08X, %08X] differ, first %08X",
                 (unsigned long long)bad_fused, c->first, c->last, first_bad);
    cr_assert_eq(positive, 0, "logf > 0 below 1");
}

/* Outside (0, 1]: the special cases and a sample of the rest, bits equal
 * (NaN payloads included: both compute (x - x) / (x - x) on this FPU). */
Test(mlx_logf, special_and_sampled)
{
    const uint32_t specials[] = {0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u,
                                 0x7FC00000u, 0xFFC00001u, 0x7F800001u, 0xBF800000u,
                                 0x80000001u, 0x00000001u, 0x007FFFFFu, 0x7F7FFFFFu};

    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        float x = gpi_f32_from_bits(specials[i]);
        cr_expect_eq(gpi_f32_bits(gpi_mlx_logf(x)), gpi_f32_bits(logf(x)), "logf(%08X)",
                     specials[i]);
    }
    for (uint64_t b = LOGF_LAST; b <= 0xFFFFFFFFu; b += 997u) {
        float x = gpi_f32_from_bits((uint32_t)b);
        cr_assert_eq(gpi_f32_bits(gpi_mlx_logf(x)), gpi_f32_bits(logf(x)), "logf(%08X)",
                     (uint32_t)b);
    }
}

/* ---- erfinv: against a plain transcription over the system logf ----------- */

/* MLX math.h erfinv, N == 1, written as it reads there. */
static float ref_erfinv(float a)
{
    float t = fmaf(a, 0.0f - a, 1.0f), p;

    t = logf(t);
    if (fabsf(t) > 6.125f) {
        p = 3.03697567e-10f;
        p = fmaf(p, t, 2.93243101e-8f);
        p = fmaf(p, t, 1.22150334e-6f);
        p = fmaf(p, t, 2.84108955e-5f);
        p = fmaf(p, t, 3.93552968e-4f);
        p = fmaf(p, t, 3.02698812e-3f);
        p = fmaf(p, t, 4.83185798e-3f);
        p = fmaf(p, t, -2.64646143e-1f);
        return a * fmaf(p, t, 8.40016484e-1f);
    }
    p = 5.43877832e-9f;
    p = fmaf(p, t, 1.43285448e-7f);
    p = fmaf(p, t, 1.22774793e-6f);
    p = fmaf(p, t, 1.12963626e-7f);
    p = fmaf(p, t, -5.61530760e-5f);
    p = fmaf(p, t, -1.47697632e-4f);
    p = fmaf(p, t, 2.31468678e-3f);
    p = fmaf(p, t, 1.15392581e-2f);
    p = fmaf(p, t, -2.32015476e-1f);
    return a * fmaf(p, t, 8.86226892e-1f);
}

/* Finite x is an integer multiple of 2^-e (0 < e < 64): x = m 2^q with
 * integer m, so it is when q + e >= 0 or the low -(q + e) bits of m are 0. */
static int on_grid(float x, int e)
{
    uint32_t b = gpi_f32_bits(x) & 0x7FFFFFFFu, biased = b >> 23;
    uint32_t m = (b & 0x7FFFFFu) | (biased != 0 ? 0x800000u : 0u);
    int sh = (int)(biased != 0 ? biased : 1u) - 150 + e;

    return m == 0 || sh >= 0 || (sh > -32 && (m & ((1u << -sh) - 1u)) == 0);
}

/* The normal path's erfinv inputs s = RNE(2u + nextafter(-1, 0)), u the
 * float32 uniform (multiples of 2^-32 up to 1 - 2^-24), lie strictly inside
 * (-1, 1) and are multiples of 2^-24, all but one: u = 0.25 - 2^-26 gives
 * s = -0.5 + 2^-25. Checked over every u here, so this test and the
 * exhaustive one below cover every input the normal path has. */
Test(mlx_erfinv, normal_inputs_on_the_grid)
{
    const float lo = -0x1.fffffep-1f, range = 1.0f - lo, odd = -0x1.fffffep-2f;
    uint64_t off = 0, seen = 0;

    cr_assert_eq(range, 2.0f);
    for (uint32_t b = 0; b <= 0x3F7FFFFFu; b++) {
        float u = gpi_f32_from_bits(b), s;
        if (!on_grid(u, 32))
            continue; /* not a uniform value */
        s = range * u + lo;
        seen++;
        cr_assert(fabsf(s) < 1.0f);
        if (!on_grid(s, 24)) {
            off++;
            cr_assert_eq(gpi_f32_bits(s), gpi_f32_bits(odd), "off the grid: %a", (double)s);
        }
    }
    cr_assert_eq(off, 1);
    cr_assert_eq(seen, (1u << 24) + (1u << 26)); /* distinct uniform values */
    cr_assert_eq(gpi_f32_bits(gpi_mlx_erfinv(odd)), gpi_f32_bits(ref_erfinv(odd)));
}

#define ERFINV_CHUNKS 4

ParameterizedTestParameters(mlx_erfinv, exhaustive_normal_inputs)
{
    bits_range *c = cr_malloc(ERFINV_CHUNKS * sizeof *c);

    /* k in [-(2^24 - 1), 2^24 - 1], stored as k + 2^24 */
    for (uint32_t i = 0; i < ERFINV_CHUNKS; i++) {
        c[i].first = 1u + i * (1u << 23);
        c[i].last = (i + 1u) * (1u << 23) - (i + 1 == ERFINV_CHUNKS);
    }
    return cr_make_param_array(bits_range, c, ERFINV_CHUNKS, free_params);
}

ParameterizedTest(bits_range *c, mlx_erfinv, exhaustive_normal_inputs)
{
    uint64_t bad = 0;
    float first_bad = 0;

    for (uint32_t k = c->first; k <= c->last; k++) {
        float s = ldexpf((float)((int32_t)k - (1 << 24)), -24);
        if (gpi_f32_bits(gpi_mlx_erfinv(s)) != gpi_f32_bits(ref_erfinv(s)) && bad++ == 0)
            first_bad = s;
    }
    cr_assert_eq(bad, 0, "%llu erfinv inputs differ, first %a", (unsigned long long)bad,
                 (double)first_bad);
}

/* The truncated normal feeds erfinv dtype values in [-1, 1]: every float16
 * and bfloat16 one, and every 127th float32 (with +-1 and the ends). */
Test(mlx_erfinv, truncated_inputs)
{
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float x16 = gpi_f16_to_f32((uint16_t)h), xb = gpi_bf16_to_f32((uint16_t)h);
        if (fabsf(x16) <= 1.0f)
            cr_assert_eq(gpi_f32_bits(gpi_mlx_erfinv(x16)), gpi_f32_bits(ref_erfinv(x16)),
                         "float16 %04X", h);
        if (fabsf(xb) <= 1.0f)
            cr_assert_eq(gpi_f32_bits(gpi_mlx_erfinv(xb)), gpi_f32_bits(ref_erfinv(xb)),
                         "bfloat16 %04X", h);
    }
    for (uint64_t b = 0; b <= 0x3F800000u; b += 127u) {
        for (int sign = 0; sign < 2; sign++) {
            float x = gpi_f32_from_bits((uint32_t)b | (uint32_t)sign << 31);
            cr_assert_eq(gpi_f32_bits(gpi_mlx_erfinv(x)), gpi_f32_bits(ref_erfinv(x)), "%a",
                         (double)x);
        }
    }
    cr_assert(isinf(gpi_mlx_erfinv(1.0f)) && gpi_mlx_erfinv(1.0f) > 0, "erfinv(1) = inf");
    cr_assert(isinf(gpi_mlx_erfinv(-1.0f)) && gpi_mlx_erfinv(-1.0f) < 0, "erfinv(-1) = -inf");
}

/* ---- exp and erf: MLX's polynomials, checked against libm's accuracy ------- */

Test(mlx_math, exp_close_to_libm)
{
    /* MLX rounds x * log2(e) to float: up to ulp(126)/2 = 2^-18 absolute in
     * the exponent, and its log2(e) = 1.442695f is 4e-8 short: the relative
     * error grows with |x| (5e-6 at 60). */
    for (float x = -87.5f; x <= 87.5f; x += 0.001953125f) {
        float got = gpi_mlx_exp(x), want = expf(x);
        float tol = (4e-7f + 1e-7f * fabsf(x)) * want + 0x1p-149f;
        cr_assert(fabsf(got - want) <= tol, "exp(%a) = %a, libm %a", (double)x, (double)got,
                  (double)want);
    }
    cr_assert(isnan(gpi_mlx_exp(NAN)));
    cr_assert(isinf(gpi_mlx_exp(88.0001f)) && gpi_mlx_exp(INFINITY) > 0);
    cr_assert_eq(gpi_f32_bits(gpi_mlx_exp(-88.0001f)), 0);
    cr_assert_eq(gpi_f32_bits(gpi_mlx_exp(-INFINITY)), 0);
    /* floor(x / ln2 + 0.5) is -127 at x = -88: 2^ipart has the bits of +0 */
    cr_assert_eq(gpi_f32_bits(gpi_mlx_exp(-88.0f)), 0);
    cr_assert_eq(gpi_mlx_exp(0.0f), 1.0f);
}

Test(mlx_math, erf_close_to_libm)
{
    for (float x = -6.0f; x <= 6.0f; x += 0.0009765625f) {
        float got = gpi_mlx_erf(x), want = erff(x);
        cr_assert(fabsf(got - want) <= 1e-6f, "erf(%a) = %a, libm %a", (double)x, (double)got,
                  (double)want);
        cr_assert(x <= 0.0f || got == -gpi_mlx_erf(-x), "erf is odd except at 0");
    }
    cr_assert_eq(gpi_mlx_erf(INFINITY), 1.0f);
    cr_assert_eq(gpi_mlx_erf(-INFINITY), -1.0f);
}

/* ---- the truncated uniform never leaves [-1, 1] ----------------------------
 * u = RNE_T(ea + RNE_T(RNE_T(eb - ea) * v)), v in [0, below_one_T], ea and eb
 * erf values in [-1, 1]. u is monotone in v and in eb, so its extremes over
 * eb and v are at eb = +-1 and v = 0 or below_one_T: checked for every
 * float16 and bfloat16 ea and a float32 sample. So erfinv sees |u| <= 1, no
 * NaN arises anywhere in the family (the constants are finite), and NaN
 * encodings, where MLX's float16 0x7D00 differs from ours, never matter. */
static void check_u_range(gp_dtype dtype, float ea)
{
    const float below[] = {0x1.fffffep-1f, 0x1.ffcp-1f, 0x1.fep-1f};
    float top = below[dtype == GP_FLOAT32 ? 0 : dtype == GP_FLOAT16 ? 1 : 2];
    float (*r)(float) = dtype == GP_FLOAT16    ? gpi_round_f16
                        : dtype == GP_BFLOAT16 ? gpi_round_bf16
                                               : NULL;

    for (int e = -1; e <= 1; e += 2) {
        for (int k = 0; k < 2; k++) {
            float v = k ? top : 0.0f, range = (float)e - ea, u;
            range = r ? r(range) : range;
            u = r ? r(r(range * v) + ea) : range * v + ea;
            cr_assert(fabsf(u) <= 1.0f, "ea %a eb %d v %a: u = %a", (double)ea, e, (double)v,
                      (double)u);
        }
    }
}

Test(mlx_truncated, uniform_within_one)
{
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float x16 = gpi_f16_to_f32((uint16_t)h), xb = gpi_bf16_to_f32((uint16_t)h);
        if (fabsf(x16) <= 1.0f)
            check_u_range(GP_FLOAT16, x16);
        if (fabsf(xb) <= 1.0f)
            check_u_range(GP_BFLOAT16, xb);
    }
    for (uint32_t b = 0; b <= 0x3F800000u; b += (b > 0x3F700000u ? 1u : 4099u)) {
        check_u_range(GP_FLOAT32, gpi_f32_from_bits(b));
        check_u_range(GP_FLOAT32, -gpi_f32_from_bits(b));
    }
}

/* ---- constants: MLX's roundings (vectors/README.md, "Observations") --------- */

typedef struct {
    gpi_mlx_kind kind;
    gp_dtype dtype;
    double mean, std, a, b;
    uint32_t scale_bits; /* d.scale in the dtype's bits */
} const_case;

static const const_case const_cases[] = {
    /* std 0.02: applied scale RNE_T(sqrt2_T * std_T) */
    {GPI_MLX_NORMAL, GP_FLOAT32, 0, 0.02, 0, 0, 0x3CE7B46Au},
    {GPI_MLX_NORMAL, GP_FLOAT16, 0, 0.02, 0, 0, 0x273Eu},
    {GPI_MLX_NORMAL, GP_BFLOAT16, 0, 0.02, 0, 0, 0x3CE8u},
    /* he_normal (2,2): std = 1/sqrt(2): exactly 1 in half types, not in float32 */
    {GPI_MLX_NORMAL_NOLOC, GP_FLOAT32, 0, 0.7071067811865475, 0, 0, 0x3F7FFFFFu},
    {GPI_MLX_NORMAL_NOLOC, GP_FLOAT16, 0, 0.7071067811865475, 0, 0, 0x3C00u},
    {GPI_MLX_NORMAL_NOLOC, GP_BFLOAT16, 0, 0.7071067811865475, 0, 0, 0x3F80u},
    /* truncated: sqrt(2) in the dtype (through float32: 1.4140625 in half types) */
    {GPI_MLX_TRUNCATED, GP_FLOAT32, 0, 1, -2, 2, 0x3FB504F3u},
    {GPI_MLX_TRUNCATED, GP_FLOAT16, 0, 1, -2, 2, 0x3DA8u},
    {GPI_MLX_TRUNCATED, GP_BFLOAT16, 0, 1, -2, 2, 0x3FB5u},
};

ParameterizedTestParameters(mlx_dist, constants)
{
    const_case *c = cr_malloc(sizeof const_cases);

    memcpy(c, const_cases, sizeof const_cases);
    return cr_make_param_array(const_case, c, sizeof const_cases / sizeof const_cases[0],
                               free_params);
}

static uint32_t dtype_bits(gp_dtype dtype, float f)
{
    return dtype == GP_FLOAT16    ? gpi_f32_to_f16(f)
           : dtype == GP_BFLOAT16 ? gpi_f32_to_bf16(f)
                                  : gpi_f32_bits(f);
}

ParameterizedTest(const_case *c, mlx_dist, constants)
{
    gpi_mlx_dist d;
    gp_error err = {0};

    cr_assert_eq(gpi_mlx_dist_init(&d, c->kind, c->dtype, c->mean, c->std, c->a, c->b, &err), GP_OK,
                 "%s", err.message);
    cr_expect_eq(dtype_bits(c->dtype, d.scale), c->scale_bits, "scale %X, want %X",
                 dtype_bits(c->dtype, d.scale), c->scale_bits);
    if (c->kind != GPI_MLX_TRUNCATED) {
        cr_expect_eq(d.range, 2.0f, "RNE_f32(1 - nextafter(-1, 0)) = 2");
        cr_expect_eq(d.lo, nextafterf(-1.0f, 0.0f));
        cr_expect_eq(d.upper, nextafterf(1.0f, 0.0f));
    } else {
        cr_expect_eq(d.clip_lo, -2.0f);
        cr_expect_eq(d.clip_hi, 2.0f);
        cr_expect(d.lo < -0.95f && d.lo > -0.96f, "erf(-sqrt2) = %a", (double)d.lo);
    }
}

/* ---- what gpi_mlx_dist_init refuses ----------------------------------------- */

typedef struct {
    char what[48];
    int kind;
    gp_dtype dtype;
    double mean, std, a, b;
    gp_code code;
    char param[8];
} refusal_case;

static const refusal_case refusals[] = {
    {"std_T overflows float16", GPI_MLX_NORMAL_NOLOC, GP_FLOAT16, 0, 7e4, 0, 0, GP_EUNSUPPORTED,
     "gain"},
    {"sqrt2 * std overflows float16", GPI_MLX_NORMAL_NOLOC, GP_FLOAT16, 0, 5e4, 0, 0,
     GP_EUNSUPPORTED, "gain"},
    {"std overflows float32", GPI_MLX_NORMAL, GP_FLOAT32, 0, 1e39, 0, 0, GP_EUNSUPPORTED, "std"},
    {"sqrt2 * std overflows bfloat16", GPI_MLX_NORMAL, GP_BFLOAT16, 0, 3e38, 0, 0, GP_EUNSUPPORTED,
     "std"},
    {"mean overflows float16", GPI_MLX_NORMAL, GP_FLOAT16, 1e5, 1, 0, 0, GP_EUNSUPPORTED, "mean"},
    {"std NaN", GPI_MLX_NORMAL, GP_FLOAT32, 0, NAN, 0, 0, GP_EPARAM, "std"},
    {"mean inf", GPI_MLX_NORMAL, GP_FLOAT32, INFINITY, 1, 0, 0, GP_EPARAM, "mean"},
    {"(a - mean) / std overflows float16", GPI_MLX_TRUNCATED, GP_FLOAT16, 0, 1e-5, -2, 2,
     GP_EUNSUPPORTED, "a"},
    {"(b - mean) / std overflows float32", GPI_MLX_TRUNCATED, GP_FLOAT32, 0, 1, -2, 1e300,
     GP_EUNSUPPORTED, "b"},
    {"truncated std 0", GPI_MLX_TRUNCATED, GP_FLOAT32, 0, 0, -2, 2, GP_EPARAM, "std"},
    {"truncated a NaN", GPI_MLX_TRUNCATED, GP_FLOAT32, 0, 1, NAN, 2, GP_EPARAM, "a"},
    {"truncated mean overflows float16", GPI_MLX_TRUNCATED, GP_FLOAT16, 1e5, 1e5, 0, 2e5,
     GP_EUNSUPPORTED, "std"},
    {"float64", GPI_MLX_NORMAL, GP_FLOAT64, 0, 1, 0, 0, GP_EUNSUPPORTED, "dtype"},
    {"unknown kind", 7, GP_FLOAT32, 0, 1, 0, 0, GP_EINTERNAL, ""},
};

ParameterizedTestParameters(mlx_dist, refusals)
{
    refusal_case *c = cr_malloc(sizeof refusals);

    memcpy(c, refusals, sizeof refusals);
    return cr_make_param_array(refusal_case, c, sizeof refusals / sizeof refusals[0], free_params);
}

ParameterizedTest(refusal_case *c, mlx_dist, refusals)
{
    gpi_mlx_dist d, before;
    gp_error err = {0};

    memset(&d, 0xA5, sizeof d);
    before = d;
    cr_assert_eq(
        gpi_mlx_dist_init(&d, (gpi_mlx_kind)c->kind, c->dtype, c->mean, c->std, c->a, c->b, &err),
        c->code, "%s: got %d (%s)", c->what, (int)err.code, err.message);
    cr_assert_str_eq(err.param, c->param, "%s", c->what);
    cr_assert_neq(err.message[0], '\0', "%s", c->what);
    cr_assert(memcmp(&d, &before, sizeof d) == 0, "%s: d written on failure", c->what);
}

/* Accepted: a std that rounds to 0 in the dtype gives MLX's +-0 values
 * (glorot/he: no loc), and the largest finite scale works. */
Test(mlx_dist, tiny_and_large_scales)
{
    const uint32_t w[4] = {0u, 0x80000000u, 0x7FFFFFFFu, 0xFFFFFFFFu};
    unsigned char out[8];
    gpi_mlx_dist d;
    gp_error err = {0};

    cr_assert_eq(gpi_mlx_dist_init(&d, GPI_MLX_NORMAL_NOLOC, GP_FLOAT16, 0, 1e-9, 0, 0, &err),
                 GP_OK);
    gpi_mlx_dist_values(&d, w, 4, out);
    for (int i = 0; i < 4; i++)
        cr_assert_eq((out[2 * i] | out[2 * i + 1] << 8) & 0x7FFF, 0, "element %d", i);
    cr_assert_eq(gpi_mlx_dist_init(&d, GPI_MLX_NORMAL_NOLOC, GP_FLOAT16, 0, 4e4, 0, 0, &err), GP_OK,
                 "%s", err.message);
}

/* ---- every vector kernel level equals the scalar reference ---------------- */

typedef struct {
    char what[40];
    gpi_mlx_kind kind;
    gp_dtype dtype;
    double mean, std, a, b;
    gpi_simd level;
} simd_case;

/* Distributions that reach every branch: the tail polynomial, float16
 * subnormals and -0 (std 1e-6, no loc), overflow to inf (float16 std 2e4),
 * loc, truncated bounds inside and beyond erf's reach (a = -8: erf = -1
 * exactly, so a draw of -1 sends t = 0 to logf and the vector to scalar). */
static const simd_case simd_dists[] = {
    {"glorot f32", GPI_MLX_NORMAL_NOLOC, GP_FLOAT32, 0, 0.0441941738, 0, 0, 0},
    {"glorot f16 tiny", GPI_MLX_NORMAL_NOLOC, GP_FLOAT16, 0, 1e-6, 0, 0, 0},
    {"he f16 huge", GPI_MLX_NORMAL_NOLOC, GP_FLOAT16, 0, 2e4, 0, 0, 0},
    {"he bf16", GPI_MLX_NORMAL_NOLOC, GP_BFLOAT16, 0, 0.7071067811865475, 0, 0, 0},
    {"normal f32", GPI_MLX_NORMAL, GP_FLOAT32, 0.5, 2, 0, 0, 0},
    {"normal f16", GPI_MLX_NORMAL, GP_FLOAT16, -1.25, 0.125, 0, 0, 0},
    {"normal bf16", GPI_MLX_NORMAL, GP_BFLOAT16, 0, 0.02, 0, 0, 0},
    {"truncated f32", GPI_MLX_TRUNCATED, GP_FLOAT32, 0.1, 0.5, -1, 2, 0},
    {"truncated f32 wide", GPI_MLX_TRUNCATED, GP_FLOAT32, 0, 1, -8, 8, 0},
    {"truncated f16", GPI_MLX_TRUNCATED, GP_FLOAT16, 0, 0.02, -0.04, 0.04, 0},
    {"truncated f16 wide", GPI_MLX_TRUNCATED, GP_FLOAT16, 0, 1, -8, 3, 0},
    {"truncated bf16", GPI_MLX_TRUNCATED, GP_BFLOAT16, 0, 1, -2, 2, 0},
    {"truncated bf16 wide", GPI_MLX_TRUNCATED, GP_BFLOAT16, 0.1, 0.5, -9, 9, 0},
};

#define N_DISTS (sizeof simd_dists / sizeof simd_dists[0])

ParameterizedTestParameters(mlx_normal_simd, equals_scalar)
{
    const gpi_simd levels[] = {GPI_SIMD_SCALAR, GPI_SIMD_AVX2, GPI_SIMD_AVX512};
    simd_case *c = cr_malloc(3 * sizeof simd_dists);

    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < N_DISTS; i++) {
            c[l * N_DISTS + i] = simd_dists[i];
            c[l * N_DISTS + i].level = levels[l];
        }
    return cr_make_param_array(simd_case, c, 3 * N_DISTS, free_params);
}

/* Words of every class: each w below 2^16 and above 2^32 - 2^16 (uniform
 * near 0, the clamp at the top: |s| near 1, the tail polynomial, the
 * truncated draws of exactly +-1), 2^16 words around 2^31 (s near 0) and
 * around 2^30 (u = 0.25 - 2^-26, the one draw off the 2^-24 grid), then
 * 2^20 words spread over the whole range. */
static size_t class_words(uint32_t *w)
{
    size_t n = 0;

    for (uint32_t k = 0; k < 0x10000u; k++) {
        w[n++] = k;
        w[n++] = 0xFFFFFFFFu - k;
        w[n++] = 0x80000000u - 0x8000u + k;
        w[n++] = 0x40000000u - 0x8000u + k;
    }
    for (uint32_t k = 0; k < (1u << 20); k++)
        w[n++] = k * 4093u + (k >> 7);
    return n;
}

ParameterizedTest(simd_case *c, mlx_normal_simd, equals_scalar)
{
    size_t cap = 4 * 0x10000 + (1u << 20), es = gp_dtype_size(c->dtype), n, bad = 0;
    uint32_t *w = malloc(cap * sizeof *w);
    unsigned char *want = malloc(cap * 4), *got = malloc(cap * 4);
    gpi_mlx_dist d;
    gp_error err = {0};

    if (c->level > gpi_simd_supported())
        cr_skip_test("this CPU has no %s", gpi_simd_name(c->level));
    cr_assert(w != NULL && want != NULL && got != NULL);
    cr_assert_eq(gpi_simd_force(c->level), 0);
    cr_assert_eq(gpi_mlx_dist_init(&d, c->kind, c->dtype, c->mean, c->std, c->a, c->b, &err), GP_OK,
                 "%s", err.message);
    n = class_words(w);
    gpi_mlx_dist_values_scalar(&d, w, 0, n, want);
    /* whole, then from an odd word with a ragged end (vector tails) */
    gpi_mlx_dist_values(&d, w, n, got);
    gpi_mlx_dist_values(&d, w + 3, n - 8, got + 3 * es);
    for (size_t i = 0; i < n; i++)
        if (memcmp(got + i * es, want + i * es, es) != 0 && bad++ == 0)
            cr_log_error("%s on %s: word %08X differs", c->what, gpi_simd_name(c->level), w[i]);
    cr_assert_eq(bad, 0, "%s on %s: %zu of %zu elements differ", c->what, gpi_simd_name(c->level),
                 bad, n);
    free(w);
    free(want);
    free(got);
}

/* The wide distributions do reach the scalar hand-off: some draw is +-1. */
Test(mlx_normal_simd, special_draws_reached)
{
    gpi_mlx_dist d;
    gp_error err = {0};
    int seen = 0;

    cr_assert_eq(gpi_mlx_dist_init(&d, GPI_MLX_TRUNCATED, GP_FLOAT32, 0, 1, -8, 8, &err), GP_OK);
    cr_assert_eq(d.lo, -1.0f, "erf(-8 / sqrt2) rounds to -1 in float32");
    for (uint32_t k = 0; k < 64; k++) {
        float u = d.range * gpi_mlx_uniform(k, d.upper) + d.lo;
        seen |= u == -1.0f;
    }
    cr_assert(seen, "a word below 64 draws exactly -1");
}
