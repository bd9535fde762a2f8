/*
 * test_threefry.c - Threefry-2x32-20 and MLX's key / split / bits / uniform
 * against known answers:
 *   tests/data/threefry2x32_20.tsv  Random123 kat_vectors (also JAX's tests)
 *   tests/data/mlx_bits.tsv         MLX's C++ tests and JAX's tests/docs
 * (both copied from /work/shared/vectors/, source column kept), plus the
 * worked examples of /work/shared/mlx-algorithm.md sections 3.4 and 5.2.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_internal.h"
#include "tsv.h"

#define MAX_NUMS 64
#define THREEFRY_ROWS 3
#define BITS_ROWS 22

/* Every unsigned number in s (decimal, or hex after 0x), in order. */
static size_t numbers(const char *s, uint64_t *out, size_t max)
{
    size_t n = 0;

    while (*s != '\0') {
        if (*s >= '0' && *s <= '9') {
            char *end;
            int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
            cr_assert(n < max, "too many numbers in \"%s\"", s);
            errno = 0;
            out[n++] = strtoull(s, &end, hex ? 16 : 10);
            cr_assert(errno == 0 && end != s);
            s = end;
        } else {
            s++;
        }
    }
    return n;
}

/* ---- Threefry-2x32-20: Random123 known answers ---------------------------- */

typedef struct {
    int row;
} row_case;

static row_case *row_cases(size_t n)
{
    row_case *c = cr_malloc(n * sizeof *c);
    for (size_t i = 0; i < n; i++)
        c[i].row = (int)i;
    return c;
}

static void free_cases(struct criterion_test_params *p)
{
    cr_free(p->params);
}

ParameterizedTestParameters(threefry, random123)
{
    return cr_make_param_array(row_case, row_cases(THREEFRY_ROWS), THREEFRY_ROWS, free_cases);
}

ParameterizedTest(row_case *c, threefry, random123)
{
    char line[LINE_MAX_LEN], *f[8];
    uint32_t key[2], ctr[2], out[2];
    unsigned long v[6];

    data_row("threefry2x32_20.tsv", (size_t)c->row, line, sizeof line);
    cr_assert_eq(fields(line, f, 8), 7);
    for (size_t i = 0; i < 6; i++)
        v[i] = strtoul(f[i], NULL, 16);
    key[0] = (uint32_t)v[0];
    key[1] = (uint32_t)v[1];
    ctr[0] = (uint32_t)v[2];
    ctr[1] = (uint32_t)v[3];
    gpi_threefry2x32(key, ctr, out);
    cr_expect_eq(out[0], (uint32_t)v[4], "row %d x0: %08X, want %08lX", c->row, out[0], v[4]);
    cr_expect_eq(out[1], (uint32_t)v[5], "row %d x1: %08X, want %08lX", c->row, out[1], v[5]);
}

Test(threefry, random123_file_complete)
{
    cr_assert_eq(data_rows("threefry2x32_20.tsv"), THREEFRY_ROWS);
}

/* ---- MLX key, split, bits, uniform: mlx_bits.tsv --------------------------- */

typedef struct {
    size_t nkeys;
    uint32_t keys[8][2];
} key_list;

/* "key(S)", "seeds a,b,..." or "keys [a,b],[c,d]". */
static void parse_keys(const char *spec, key_list *kl)
{
    uint64_t v[16];
    size_t n = numbers(spec, v, 16);

    if (strncmp(spec, "keys ", 5) == 0) {
        cr_assert(n % 2 == 0 && n / 2 <= 8);
        kl->nkeys = n / 2;
        for (size_t i = 0; i < kl->nkeys; i++) {
            kl->keys[i][0] = (uint32_t)v[2 * i];
            kl->keys[i][1] = (uint32_t)v[2 * i + 1];
        }
        return;
    }
    cr_assert(strncmp(spec, "key(", 4) == 0 || strncmp(spec, "seeds ", 6) == 0,
              "unknown key spec %s", spec);
    cr_assert(n >= 1 && n <= 8);
    kl->nkeys = n;
    for (size_t i = 0; i < n; i++)
        gpi_mlx_key(v[i], kl->keys[i]);
}

static uint64_t shape_numel(const char *shape)
{
    uint64_t v[8], numel = 1;
    size_t n = numbers(shape, v, 8);

    for (size_t i = 0; i < n; i++)
        numel *= v[i];
    return numel;
}

/* Element e of bits(width) for a numel-element request: the width-byte
 * little-endian pieces of the ceil(numel*width/4)-word stream. */
static uint64_t bits_element(const uint32_t *words, size_t width, size_t e)
{
    size_t per = 4 / width;
    uint32_t w = words[e / per];
    unsigned shift = (unsigned)(8 * width * (e % per));

    return width == 4 ? w : (w >> shift) & ((1u << (8 * width)) - 1u);
}

static void check_key_row(const key_list *kl, const uint64_t *want, size_t nwant)
{
    cr_assert_eq(nwant, 2 * kl->nkeys);
    for (size_t i = 0; i < kl->nkeys; i++) {
        cr_expect_eq(kl->keys[i][0], want[2 * i]);
        cr_expect_eq(kl->keys[i][1], want[2 * i + 1]);
    }
}

static void check_split_row(const key_list *kl, uint64_t num, const uint64_t *want, size_t nwant)
{
    uint32_t words[16], first[2], second[2];

    cr_assert(kl->nkeys == 1 && num * 2 == nwant && nwant <= 16);
    gpi_mlx_words(kl->keys[0], nwant, 0, nwant, words);
    for (size_t i = 0; i < nwant; i++)
        cr_expect_eq(words[i], want[i], "split word %zu: %u, want %llu", i, words[i],
                     (unsigned long long)want[i]);
    if (num == 2) {
        gpi_mlx_split(kl->keys[0], first, second);
        cr_expect(first[0] == want[0] && first[1] == want[1], "pair split: first");
        cr_expect(second[0] == want[2] && second[1] == want[3], "pair split: second");
    }
}

static void check_bits_row(const key_list *kl, uint64_t numel, size_t width, const uint64_t *want,
                           size_t nwant)
{
    uint64_t nwords = (numel * width + 3) / 4;
    uint32_t words[MAX_NUMS];

    cr_assert(width == 1 || width == 2 || width == 4);
    cr_assert_eq(nwant, kl->nkeys * numel);
    cr_assert(nwords <= MAX_NUMS);
    for (size_t k = 0; k < kl->nkeys; k++) {
        gpi_mlx_words(kl->keys[k], nwords, 0, (size_t)nwords, words);
        for (size_t e = 0; e < numel; e++)
            cr_expect_eq(bits_element(words, width, e), want[k * numel + e],
                         "key %zu element %zu: %llu, want %llu", k, e,
                         (unsigned long long)bits_element(words, width, e),
                         (unsigned long long)want[k * numel + e]);
    }
}

static void check_uniform_row(const key_list *kl, uint64_t numel, const uint64_t *want,
                              size_t nwant)
{
    uint32_t words[MAX_NUMS];
    float upper = gpi_f32_from_bits(0x3F7FFFFFu);

    cr_assert(kl->nkeys == 1 && nwant == numel && numel <= MAX_NUMS);
    gpi_mlx_words(kl->keys[0], numel, 0, (size_t)numel, words);
    for (size_t e = 0; e < numel; e++) {
        uint32_t got = gpi_f32_bits(gpi_mlx_uniform(words[e], upper));
        cr_expect_eq(got, want[e], "uniform %zu: %08X, want %08llX", e, got,
                     (unsigned long long)want[e]);
    }
}

ParameterizedTestParameters(mlx_bits, row)
{
    return cr_make_param_array(row_case, row_cases(BITS_ROWS), BITS_ROWS, free_cases);
}

ParameterizedTest(row_case *c, mlx_bits, row)
{
    char line[LINE_MAX_LEN], *f[8], *cut;
    uint64_t want[MAX_NUMS];
    size_t nwant;
    key_list kl;

    data_row("mlx_bits.tsv", (size_t)c->row, line, sizeof line);
    cr_assert_eq(fields(line, f, 8), 6);
    cut = strstr(f[4], " (");
    if (cut != NULL)
        *cut = '\0'; /* "0x3ED64003 (= float(...)...)": the value only */
    nwant = numbers(f[4], want, MAX_NUMS);
    parse_keys(f[1], &kl);
    if (strcmp(f[0], "key") == 0)
        check_key_row(&kl, want, nwant);
    else if (strncmp(f[0], "split", 5) == 0)
        check_split_row(&kl, shape_numel(f[2]) / 2, want, nwant);
    else if (strcmp(f[0], "bits") == 0)
        check_bits_row(&kl, shape_numel(f[2]), (size_t)strtoul(f[3], NULL, 10), want, nwant);
    else if (strcmp(f[0], "uniform") == 0 && strcmp(f[3], "float32") == 0)
        check_uniform_row(&kl, shape_numel(f[2]), want, nwant);
    else
        cr_assert_fail("row %d: unknown case %s / %s", c->row, f[0], f[3]);
}

Test(mlx_bits, file_complete)
{
    cr_assert_eq(data_rows("mlx_bits.tsv"), BITS_ROWS);
}

/* ---- worked examples of /work/shared/mlx-algorithm.md ----------------------- */

typedef struct {
    uint64_t seed;
    uint64_t call;
    uint32_t key[2];
} seeded_case;

/* Section 3.4: the key of the first un-keyed call after mx.random.seed(s). */
static seeded_case seeded_cases[] = {
    {0, 1, {2718843009u, 1272950319u}},
    {42, 1, {255383827u, 267815257u}},
};

ParameterizedTestParameters(mlx_key, seeded_first_call)
{
    return cr_make_param_array(seeded_case, seeded_cases,
                               sizeof seeded_cases / sizeof seeded_cases[0]);
}

ParameterizedTest(seeded_case *c, mlx_key, seeded_first_call)
{
    uint32_t key[2];

    gpi_mlx_seeded_key(c->seed, c->call, key);
    cr_expect_eq(key[0], c->key[0]);
    cr_expect_eq(key[1], c->key[1]);
}

/* The n-th call's key is split(state_{n-1})[1] with state_n = split(state_{n-1})[0]. */
Test(mlx_key, seeded_chain)
{
    uint32_t state[2], first[2], second[2], key[2];

    gpi_mlx_key(7, state);
    for (uint64_t n = 1; n <= 5; n++) {
        gpi_mlx_split(state, first, second);
        gpi_mlx_seeded_key(7, n, key);
        cr_expect(key[0] == second[0] && key[1] == second[1], "call %llu", (unsigned long long)n);
        state[0] = first[0];
        state[1] = first[1];
    }
}

/* Section 5.2: the odd middle word of a 15-element request uses counter (7, 0). */
Test(mlx_words, odd_middle_word)
{
    uint32_t key[2], words[15], blk[2];
    const uint32_t ctr[2] = {7, 0};

    gpi_mlx_key(0, key);
    gpi_threefry2x32(key, ctr, blk);
    cr_expect_eq(blk[0], 0x2677A25Au);
    gpi_mlx_words(key, 15, 0, 15, words);
    cr_expect_eq(words[7], 0x2677A25Au);
}

/* Random access: any word alone equals the same word of the whole stream. */
typedef struct {
    uint64_t nwords;
} words_case;

static words_case words_cases[] = {{1},  {2},  {3},   {4},   {5},   {9},
                                   {64}, {65}, {127}, {128}, {129}, {200}};

ParameterizedTestParameters(mlx_words, single_word_access)
{
    return cr_make_param_array(words_case, words_cases, sizeof words_cases / sizeof words_cases[0]);
}

ParameterizedTest(words_case *c, mlx_words, single_word_access)
{
    uint32_t key[2] = {0x12345678u, 0x9ABCDEF0u}, whole[200], one;

    gpi_mlx_words(key, c->nwords, 0, (size_t)c->nwords, whole);
    for (uint64_t i = 0; i < c->nwords; i++) {
        gpi_mlx_words(key, c->nwords, i, 1, &one);
        cr_expect_eq(one, whole[i], "N=%llu word %llu", (unsigned long long)c->nwords,
                     (unsigned long long)i);
    }
}

/* The layout itself, from the definition: counter (j, j+c), odd middle (h, 0). */
Test(mlx_words, layout_definition)
{
    uint32_t key[2] = {1, 2}, words[101], blk[2];
    uint64_t n = 101, h = n / 2, c = n - h;

    gpi_mlx_words(key, n, 0, (size_t)n, words);
    for (uint64_t j = 0; j < h; j++) {
        const uint32_t ctr[2] = {(uint32_t)j, (uint32_t)(j + c)};
        gpi_threefry2x32(key, ctr, blk);
        cr_expect_eq(words[j], blk[0]);
        cr_expect_eq(words[j + c], blk[1]);
    }
    {
        const uint32_t ctr[2] = {(uint32_t)h, 0};
        gpi_threefry2x32(key, ctr, blk);
        cr_expect_eq(words[h], blk[0]);
    }
}
