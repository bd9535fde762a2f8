/*
 * test_chacha_normal.c - chacha20 v1, the normal family (proto/gen/chacha_normal.c,
 * docs/ALGORITHM.md section 3.7):
 *  - golden vectors: first elements' bits and the SHA-256 of whole tensors for
 *    normal and truncated_normal, every dtype, several seeds, names and
 *    parameters (far tails, a one-ulp interval, the far-tail law). Made by
 *    tests/py/ref_chacha_normal.py `golden` and by this code; both agreed.
 *  - the Python reference, run now: 3000 elements per case, same SHA-256.
 *  - properties: the exact ends of u -> z, symmetry, never 0, monotone in
 *    the probability, truncated values inside [a, b] for every word class,
 *    fill = keystream + values at any offset, refusals.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gen/chacha_normal.h"
#include "gen/gen_internal.h"

#define M63 UINT64_C(0x7FFFFFFFFFFFFFFF)
#define AGREE_COUNT 3000

typedef struct {
    char init[20];
    uint64_t seed;
    char name[40];
    gp_dtype dtype;
    double mean, std, a, b;
    size_t numel;
    char first[4][17];
    char sha256[65];
} golden_case;

/* tests/py/ref_chacha_normal.py golden */
static golden_case golden_cases[] = {
    {"normal",
     UINT64_C(42),
     "weight",
     GP_FLOAT32,
     0,
     1,
     0,
     0,
     4,
     {"BF710ECB", "3E234B69", "3F52B44A", "3F11395C"},
     "119f3b57798a80ffe1a013f16d7bebf08670ae138888791b1344585433b2f491"},
    {"normal",
     UINT64_C(42),
     "weight",
     GP_FLOAT64,
     0,
     1,
     0,
     0,
     4,
     {"BFEE21D96C03E611", "3FC4696D226340FF", "3FEA568941491863", "3FE2272B87010C7F"},
     "8be89478e9025ac6fa30bf6f01ee5169469b343649617b38bc063650859efc62"},
    {"normal",
     UINT64_C(42),
     "weight",
     GP_FLOAT16,
     0,
     1,
     0,
     0,
     4,
     {"BB88", "311A", "3A96", "388A"},
     "c49e0e5a9893207a40d851fc233294535ce855ad499a530cb46ab7ca7826793c"},
    {"normal",
     UINT64_C(42),
     "weight",
     GP_BFLOAT16,
     0,
     1,
     0,
     0,
     4,
     {"BF71", "3E23", "3F53", "3F11"},
     "1ded1fb41c7b87267ed6bdbda80ca96551f4516544a20b3ed108461227452a4d"},
    {"normal",
     UINT64_C(42),
     "weight",
     GP_FLOAT32,
     0,
     0.70710678118654757,
     0,
     0,
     4,
     {"BF2A741F", "3DE6EEF3", "3F14FD8B", "3ECD60BA"},
     "e556caaab7cf032c2e86a383023e74fe904330e4879cb33b2af0c02841dc550d"},
    {"normal",
     UINT64_C(0),
     "",
     GP_FLOAT32,
     0,
     0.02,
     0,
     0,
     32000,
     {"3B90A763", "BD50D55B", "BC738CB8", "3CA16187"},
     "15e1149d899f7339190455b1aad7c52844388b8dc4c10c9c783c0d443cf88df5"},
    {"normal",
     UINT64_C(18446744073709551615),
     "tok_embeddings.weight",
     GP_FLOAT64,
     0.5,
     2,
     0,
     0,
     4097,
     {"BFF5F151F7F97A59", "3FDEBF040582799B", "BFC6F257A2189A14", "BFFAA65988A21748"},
     "0724bdcc717a189e3dd7bbefba14cdc0687688a085fa1f08fa8e055fde5b3a38"},
    {"normal",
     UINT64_C(1),
     "\xc3\xa9\xc3\xa8",
     GP_FLOAT16,
     -1,
     0.1,
     0,
     0,
     1000,
     {"BC15", "BC14", "BCD8", "BB0F"},
     "e7ea22d5c9453ad8bddf418185dfc8c4f994c5b33685ca460208e50d6678c103"},
    {"normal",
     UINT64_C(2),
     "layers.0.attention.wq.weight",
     GP_BFLOAT16,
     0,
     0.03125,
     0,
     0,
     65536,
     {"3D09", "BD93", "BC33", "BD95"},
     "605abbb135cb9f263bb2e3308d0d6e534ab9786c2ca40ad8cc92c0ff5b8c23a8"},
    {"truncated_normal",
     UINT64_C(42),
     "weight",
     GP_FLOAT32,
     0,
     1,
     -2,
     2,
     4,
     {"BF6293B3", "3E1BCE3D", "3F46DA47", "3F09EB0E"},
     "3f2ab134d1e20209c4a855aaf902a58c92f1da603372bda10c375a01ee06287e"},
    {"truncated_normal",
     UINT64_C(42),
     "weight",
     GP_FLOAT64,
     0,
     1,
     -2,
     2,
     4,
     {"BFEC527665A057B2", "3FC379C7AF428F12", "3FE8DB48E0C9989B", "3FE13D61C26D0436"},
     "4d9fcce2a37753cced8fcd8ff7384342b357065b190bd36aa09e97d432583e28"},
    {"truncated_normal",
     UINT64_C(7),
     "vit",
     GP_BFLOAT16,
     0,
     0.02,
     -0.04,
     0.04,
     4096,
     {"3C09", "3BC6", "3C0B", "BC86"},
     "b82af182afb3c249c12f9c58449bb96c68d816fb40c8a397b3543dc7ca3ece5f"},
    {"truncated_normal",
     UINT64_C(3),
     "tail",
     GP_FLOAT64,
     0,
     1,
     6,
     8,
     4096,
     {"4018A5B565E29107", "40187A54333B7F75", "40188575CC5B5B51", "40189BE5E1A4DDA8"},
     "9240e404f547a8ce07fe6bdd8759572d8c925134b35ccee18349f331af88153b"},
    {"truncated_normal",
     UINT64_C(3),
     "tail",
     GP_FLOAT32,
     0,
     1,
     -8,
     -6,
     4096,
     {"C0C25771", "C0C3543A", "C0C30809", "C0C28749"},
     "a9293b1b1d76b1ef5156975fe70b6bec8eedc0539aa42752e48e5ff2268c74e8"},
    {"truncated_normal",
     UINT64_C(4),
     "deep",
     GP_FLOAT64,
     0,
     1,
     25,
     1e300,
     1024,
     {"4039019623DD8D83", "4039191B7CD695F6", "40390FC8A3BB60C1", "403902D5824789D9"},
     "bd1e39824d61ba9d264eac12666f0c0b28a36e68ba874a93d808935dda37823d"},
    {"truncated_normal",
     UINT64_C(5),
     "far",
     GP_FLOAT64,
     0,
     1,
     40,
     41,
     1024,
     {"404406B9B1C1E06B", "40440881A04FD2EE", "40440004C509BADA", "4044047906ADDC55"},
     "19a55cd19a41c77e56f2c2c05478e2ef4a5f44a6680df0d227aa0dc4394c8f6b"},
    {"truncated_normal",
     UINT64_C(9),
     "narrow",
     GP_FLOAT64,
     0,
     1,
     0.5,
     0.50000000000000011,
     64,
     {"3FE0000000000000", "3FE0000000000000", "3FE0000000000000", "3FE0000000000000"},
     "e9c6aa0ac51a207068a6ca0b27702a4248e05aa673189814450b6bb5fef17311"},
    {"truncated_normal",
     UINT64_C(11),
     "onesided",
     GP_FLOAT16,
     1,
     0.5,
     1,
     100,
     2048,
     {"3DA7", "3E47", "3CF0", "3F01"},
     "16ad21f995532ac7ebd8c477d789f245d82491a3b7972e0d93b32b9286cc2fed"},
    {"truncated_normal",
     UINT64_C(13),
     "mix",
     GP_FLOAT32,
     0,
     1,
     -0.5,
     30,
     2048,
     {"BE87B7AF", "BEEFA544", "3F0939C0", "3D882692"},
     "71ddc598c58ad30caec036f06efae544a1d453aa5292319515a2ff4432af64e5"},
    {"truncated_normal",
     UINT64_C(17),
     "shifted",
     GP_FLOAT32,
     3,
     0.25,
     -1,
     3.5,
     2048,
     {"403332EC", "40256214", "404A0F3B", "402F8A24"},
     "d917f2a842de548aad28468b505d5df72d7516bd8e54e327a8b63b65a2f830d7"},
};

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void dist_of(const golden_case *c, gpi_chacha_dist *d)
{
    gp_error err = {0};
    int tr = strcmp(c->init, "truncated_normal") == 0;

    cr_assert_eq(gpi_chacha_dist_init(d, tr, c->dtype, c->mean, c->std, c->a, c->b, &err), GP_OK,
                 "%s", err.message);
}

/* Elements [0, numel) of the case (malloc; the caller frees). */
static unsigned char *tensor(const golden_case *c, size_t numel)
{
    gpi_chacha_dist d;
    unsigned char key[32];
    unsigned char *out = malloc(numel * gp_dtype_size(c->dtype) + 1);

    cr_assert_not_null(out);
    dist_of(c, &d);
    gpi_chacha_key(c->seed, c->name, strlen(c->name), key);
    gpi_chacha_dist_fill(&d, key, 0, numel, out);
    return out;
}

static void sha_hex(const unsigned char *b, size_t n, char out[65])
{
    unsigned char digest[32];

    crypto_hash_sha256(digest, b, (unsigned long long)n);
    hex(digest, 32, out);
}

ParameterizedTestParameters(chacha_normal, golden)
{
    return cr_make_param_array(golden_case, golden_cases,
                               sizeof golden_cases / sizeof golden_cases[0]);
}

ParameterizedTest(golden_case *c, chacha_normal, golden)
{
    size_t esize = gp_dtype_size(c->dtype);
    unsigned char *out = tensor(c, c->numel);
    char got[65];

    for (size_t i = 0; i < 4 && c->first[i][0] != '\0'; i++) {
        uint64_t want = strtoull(c->first[i], NULL, 16);
        cr_expect_eq(load_le(out + i * esize, esize), want, "%s %s element %zu: %llX, want %llX",
                     c->init, gp_dtype_name(c->dtype), i,
                     (unsigned long long)load_le(out + i * esize, esize), (unsigned long long)want);
    }
    sha_hex(out, c->numel * esize, got);
    cr_expect_str_eq(got, c->sha256, "SHA-256 of %s %s seed %llu", c->init, gp_dtype_name(c->dtype),
                     (unsigned long long)c->seed);
    free(out);
}

/* ---- the Python reference, run now --------------------------------------- */

/* argv's stdout (at most size - 1 bytes, NUL-terminated); the exit status. */
static int run_capture(char *const argv[], char *buf, size_t size)
{
    int fd[2], status = -1;
    size_t len = 0;
    pid_t pid;

    cr_assert_eq(pipe(fd), 0);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    for (;;) {
        ssize_t n = read(fd[0], buf + len, size - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd[0]);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *python(void)
{
    const char *p = getenv("GLOROT_PYTHON");

    return p != NULL && *p != '\0' ? p : "/usr/bin/python3";
}

ParameterizedTestParameters(chacha_normal, python_agrees)
{
    return cr_make_param_array(golden_case, golden_cases,
                               sizeof golden_cases / sizeof golden_cases[0]);
}

ParameterizedTest(golden_case *c, chacha_normal, python_agrees)
{
    const char *dir = getenv("GLOROT_TESTS");
    char script[1024], seed[24], count[24], mean[32], std[32], a[32], b[32], out[256];
    char want[65];
    unsigned char *t;

    cr_assert_not_null(dir, "GLOROT_TESTS is not set (run through make test-unit)");
    snprintf(script, sizeof script, "%s/py/ref_chacha_normal.py", dir);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    snprintf(count, sizeof count, "%d", AGREE_COUNT);
    snprintf(mean, sizeof mean, "%.17g", c->mean);
    snprintf(std, sizeof std, "%.17g", c->std);
    snprintf(a, sizeof a, "%.17g", c->a);
    snprintf(b, sizeof b, "%.17g", c->b);
    char *argv[] = {(char *)python(),
                    script,
                    "sha256",
                    "--init",
                    c->init,
                    "--seed",
                    seed,
                    "--name",
                    c->name,
                    "--dtype",
                    (char *)gp_dtype_name(c->dtype),
                    "--count",
                    count,
                    "--mean",
                    mean,
                    "--std",
                    std,
                    "--a",
                    a,
                    "--b",
                    b,
                    NULL};
    cr_assert_eq(run_capture(argv, out, sizeof out), 0, "%s failed", script);
    t = tensor(c, AGREE_COUNT);
    sha_hex(t, AGREE_COUNT * gp_dtype_size(c->dtype), want);
    free(t);
    cr_expect_eq(strncmp(out, want, 64), 0, "%s %s seed %llu: python %.64s, C %s", c->init,
                 gp_dtype_name(c->dtype), (unsigned long long)c->seed, out, want);
}

/* The reference is not a rubber stamp: std 1 matches, std one ulp above 1 does not. */
Test(chacha_normal, python_notices_a_different_tensor)
{
    const char *dir = getenv("GLOROT_TESTS");
    static const char *const stds[] = {"1", "1.0000000000000002"};
    char script[1024], out[256], want[65];
    golden_case c = golden_cases[1]; /* float64 */
    unsigned char *t;

    cr_assert_not_null(dir);
    cr_assert_eq(c.dtype, GP_FLOAT64);
    snprintf(script, sizeof script, "%s/py/ref_chacha_normal.py", dir);
    t = tensor(&c, 64);
    sha_hex(t, 64 * 8, want);
    free(t);
    for (int k = 0; k < 2; k++) {
        char *argv[] = {(char *)python(), script,    "sha256",  "--seed",  "42", "--name",
                        "weight",         "--dtype", "float64", "--count", "64", "--std",
                        (char *)stds[k],  NULL};
        cr_assert_eq(run_capture(argv, out, sizeof out), 0);
        cr_expect_eq(strncmp(out, want, 64) == 0, k == 0, "std %s", stds[k]);
    }
}

/* ---- u -> z -------------------------------------------------------------- */

typedef struct {
    uint64_t u;
    uint64_t z_bits;
} z_case;

/* Bits computed by tests/py/ref_chacha_normal.py (std_normal). */
static const z_case z_cases[] = {
    {UINT64_C(0), UINT64_C(0x40224F82AA55EB15)}, /* the largest z, GPI_CHACHA_ZMAX */
    {UINT64_C(0x8000000000000000), UINT64_C(0xC0224F82AA55EB15)},
};

Test(chacha_normal, z_ends)
{
    for (size_t i = 0; i < sizeof z_cases / sizeof z_cases[0]; i++)
        cr_expect_eq(gpi_f64_bits(gpi_chacha_std_normal(z_cases[i].u)), z_cases[i].z_bits,
                     "u %016llX", (unsigned long long)z_cases[i].u);
    cr_expect_eq(gpi_chacha_std_normal(0), GPI_CHACHA_ZMAX);
    /* the smallest |z|: p = 1/2 - 2^-65 */
    cr_expect(gpi_chacha_std_normal(M63) > 0 && gpi_chacha_std_normal(M63) < 1e-19);
}

/* z(u ^ 2^63) = -z(u), z != 0, |z| <= ZMAX; z grows as p grows. */
Test(chacha_normal, z_symmetric_bounded_monotone)
{
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
    double prev = -INFINITY;

    for (int i = 0; i < 200000; i++) {
        x = x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        uint64_t u = x >> (i % 64); /* every magnitude of the tail */
        double z = gpi_chacha_std_normal(u);
        cr_assert(z != 0 && fabs(z) <= GPI_CHACHA_ZMAX, "u %016llX z %.17g", (unsigned long long)u,
                  z);
        cr_assert_eq(gpi_chacha_std_normal(u ^ UINT64_C(0x8000000000000000)), -z);
    }
    /* sign bit 0 is the upper half: z grows as the low 63 bits v fall; walk v
     * down geometrically, through the body, both tail pieces and the end. */
    for (uint64_t v = M63;; v = v - (v >> 6) - 1) {
        double z = gpi_chacha_std_normal(v);
        cr_assert(z >= prev, "not monotone at v %016llX", (unsigned long long)v);
        prev = z;
        if (v < 64)
            break;
    }
}

/* ---- truncated_normal ---------------------------------------------------- */

typedef struct {
    double mean, std, a, b;
} bounds_case;

static const bounds_case bounds_cases[] = {
    {0, 1, -2, 2},
    {0, 1, 6, 8},
    {0, 1, -8, -6},
    {0, 1, 0, 1e300},
    {0, 1, -1e300, 0},
    {0, 1, 36.9, 37.1},
    {0, 1, 37.5, 38},
    {0, 1, 1e6, 1e300},
    {0, 1, -1e300, 1e300},
    {0, 1, 0.5, 0.50000000000000011},
    {5, 1e-300, 5, 6},
    {0, 0.02, -0.04, 0.04},
    {-3, 2, -3.0000001, -2.9999999},
    {1e300, 1e300, -1e300, 1.5e300},
    {0, 1, 19.5, 19.6},
    {0, 1, 20, 25},
    {0, 1, -36.5, -30},
    {0, 1, 36.5, 36.5000001},
};

/* Words in every class: both signs, the ends, every magnitude of the tail. */
static uint64_t word(int i)
{
    static const uint64_t ends[] = {
        0,           1, M63, M63 - 1, UINT64_C(0x8000000000000000), UINT64_C(0x8000000000000001),
        ~UINT64_C(0)};
    uint64_t x = (uint64_t)i * UINT64_C(0x9E3779B97F4A7C15);

    if (i < 7)
        return ends[i];
    x ^= x >> 29;
    x *= UINT64_C(0xBF58476D1CE4E5B9);
    x ^= x >> 32;
    return (x >> (i % 64)) | ((uint64_t)(i & 1) << 63);
}

Test(chacha_normal, truncated_inside_bounds)
{
    for (size_t k = 0; k < sizeof bounds_cases / sizeof bounds_cases[0]; k++) {
        const bounds_case *c = &bounds_cases[k];
        gpi_chacha_dist d;
        gp_error err = {0};
        double lo = INFINITY, hi = -INFINITY;

        cr_assert_eq(gpi_chacha_dist_init(&d, 1, GP_FLOAT64, c->mean, c->std, c->a, c->b, &err),
                     GP_OK, "%s", err.message);
        for (int i = 0; i < 20000; i++) {
            double v = gpi_chacha_dist_value(&d, word(i));
            cr_assert(v >= c->a && v <= c->b, "case %zu word %d: %.17g outside [%.17g, %.17g]", k,
                      i, v, c->a, c->b);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        cr_expect(lo < hi || c->b - c->a < 1e-12 || c->std < 1e-100,
                  "case %zu: all values equal %.17g", k, lo);
    }
}

/* Mirrored bounds give mirrored values: [a, b] with word u is -([-b, -a] with u ^ 2^63). */
Test(chacha_normal, truncated_mirror)
{
    for (size_t k = 0; k < sizeof bounds_cases / sizeof bounds_cases[0]; k++) {
        const bounds_case *c = &bounds_cases[k];
        gpi_chacha_dist d, m;

        if (c->mean != 0)
            continue;
        cr_assert_eq(gpi_chacha_dist_init(&d, 1, GP_FLOAT64, 0, c->std, c->a, c->b, NULL), GP_OK);
        cr_assert_eq(gpi_chacha_dist_init(&m, 1, GP_FLOAT64, 0, c->std, -c->b, -c->a, NULL), GP_OK);
        for (int i = 0; i < 2000; i++) {
            uint64_t u = word(i);
            if (!(c->a < 0 && c->b > 0)) /* one-sided intervals are computed mirrored */
                cr_assert_eq(gpi_chacha_dist_value(&d, u),
                             -gpi_chacha_dist_value(&m, u ^ UINT64_C(0x8000000000000000)),
                             "case %zu word %d", k, i);
        }
    }
}

/* ---- fill: any offset and chunking gives the bytes of the whole ---------- */

Test(chacha_normal, fill_ranges)
{
    static const gp_dtype dtypes[] = {GP_FLOAT32, GP_FLOAT16, GP_BFLOAT16, GP_FLOAT64};
    unsigned char key[32], whole[8 * 1300], part[8 * 1300];

    gpi_chacha_key(7, "ranges", 6, key);
    for (size_t t = 0; t < 4; t++)
        for (int tr = 0; tr < 2; tr++) {
            gpi_chacha_dist d;
            size_t es = gp_dtype_size(dtypes[t]);
            cr_assert_eq(gpi_chacha_dist_init(&d, tr, dtypes[t], 0.5, 2, -1, 3, NULL), GP_OK);
            gpi_chacha_dist_fill(&d, key, 0, 1300, whole);
            for (size_t first = 0; first < 1300; first += 97) {
                size_t count = 1300 - first < 611 ? 1300 - first : 611;
                gpi_chacha_dist_fill(&d, key, first, count, part);
                cr_assert_eq(memcmp(part, whole + first * es, count * es), 0, "%s tr %d first %zu",
                             gp_dtype_name(dtypes[t]), tr, first);
            }
        }
}

/* ---- refusals ------------------------------------------------------------ */

typedef struct {
    int truncated;
    gp_dtype dtype;
    double mean, std, a, b;
    gp_code code;
    char param[8];
} refusal_case;

static refusal_case refusal_cases[] = {
    {0, GP_FLOAT32, NAN, 1, 0, 0, GP_EPARAM, "mean"},
    {0, GP_FLOAT32, INFINITY, 1, 0, 0, GP_EPARAM, "mean"},
    {0, GP_FLOAT32, 0, 0, 0, 0, GP_EPARAM, "std"},
    {0, GP_FLOAT32, 0, -1, 0, 0, GP_EPARAM, "std"},
    {0, GP_FLOAT32, 0, INFINITY, 0, 0, GP_EPARAM, "std"},
    {0, GP_FLOAT32, 0, NAN, 0, 0, GP_EPARAM, "std"},
    {1, GP_FLOAT32, 0, 1, NAN, 2, GP_EPARAM, "a"},
    {1, GP_FLOAT32, 0, 1, -2, INFINITY, GP_EPARAM, "b"},
    {1, GP_FLOAT32, 0, 1, 2, 2, GP_EPARAM, "b"},
    {1, GP_FLOAT32, 0, 1, 3, 2, GP_EPARAM, "b"},
    {0, GP_FLOAT32, 0, 4e37, 0, 0, GP_EUNSUPPORTED, "std"},
    {0, GP_FLOAT16, 0, 7200, 0, 0, GP_EUNSUPPORTED, "std"},
    {0, GP_FLOAT16, 65515, 1, 0, 0, GP_EUNSUPPORTED, "std"},
    {0, GP_BFLOAT16, 0, 4e37, 0, 0, GP_EUNSUPPORTED, "std"},
    {0, GP_FLOAT64, 0, 1e308, 0, 0, GP_EUNSUPPORTED, "std"},
    {1, GP_FLOAT16, 0, 1, -70000, 0, GP_EUNSUPPORTED, "a"},
    {1, GP_FLOAT32, 0, 1, 0, 1e39, GP_EUNSUPPORTED, "b"},
};

ParameterizedTestParameters(chacha_normal, refusals)
{
    return cr_make_param_array(refusal_case, refusal_cases,
                               sizeof refusal_cases / sizeof refusal_cases[0]);
}

ParameterizedTest(refusal_case *c, chacha_normal, refusals)
{
    gpi_chacha_dist d;
    gp_error err = {0};

    cr_assert_eq(
        gpi_chacha_dist_init(&d, c->truncated, c->dtype, c->mean, c->std, c->a, c->b, &err),
        c->code, "%s", err.message);
    cr_expect_str_eq(err.param, c->param);
    cr_expect(err.message[0] != '\0');
}

/* The largest parameters that are still allowed give finite values at both ends. */
Test(chacha_normal, accepted_extremes_are_finite)
{
    gpi_chacha_dist d;
    unsigned char out[4];

    cr_assert_eq(gpi_chacha_dist_init(&d, 0, GP_FLOAT16, 0, 7000, 0, 0, NULL), GP_OK);
    for (int s = 0; s < 2; s++) {
        unsigned char ks[8] = {0, 0, 0, 0, 0, 0, 0, (unsigned char)(s ? 0x80 : 0)};
        gpi_chacha_dist_values(&d, ks, 1, out);
        cr_expect_neq(load_le(out, 2) & 0x7C00u, 0x7C00u);
    }
}

/* ---- accuracy against mpmath (docs/ALGORITHM.md 3.7.5) ------------------- */

Test(chacha_normal, accuracy_vs_mpmath)
{
    const char *dir = getenv("GLOROT_TESTS");
    char script[1024], out[4096];
    int rc;

    cr_assert_not_null(dir);
    snprintf(script, sizeof script, "%s/py/check_normal_accuracy.py", dir);
    char *argv[] = {(char *)python(), script, NULL};
    rc = run_capture(argv, out, sizeof out);
    cr_expect_eq(rc, 0, "check_normal_accuracy.py exited %d:\n%s", rc, out);
}

/* ---- vector kernels = the scalar definition ------------------------------ */

#define SIMD_WORDS ((size_t)1 << 20)

/* Words of every class: keystream, then every tail magnitude and the ends. */
static unsigned char *simd_words(size_t n)
{
    unsigned char key[32], *ks = malloc(8 * n);

    cr_assert_not_null(ks);
    gpi_chacha_key(99, "simd", 4, key);
    gpi_chacha_keystream(key, 0, 8 * n, ks);
    for (size_t i = 0; i < n; i += 3) /* a third of the words from word(): tails at every scale */
        gpi_store_le64(ks + 8 * i, word((int)(i / 3)));
    return ks;
}

/* want = the scalar path, then every vector level must give the same bytes. */
static void simd_check(const gpi_chacha_dist *d, const unsigned char *ks, size_t n,
                       unsigned char *want, unsigned char *got, const char *what)
{
    size_t es = gp_dtype_size(d->dtype);

    cr_assert_eq(gpi_simd_force(GPI_SIMD_SCALAR), 0);
    gpi_chacha_dist_values(d, ks, n, want);
    /* the scalar path is the definition: spot-check it element by element */
    for (size_t i = 0; i < n && d->dtype == GP_FLOAT64; i += 4099)
        cr_assert_eq(load_le(want + 8 * i, 8),
                     gpi_f64_bits(gpi_chacha_dist_value(d, gpi_load_le64(ks + 8 * i))));
    for (int lvl = GPI_SIMD_AVX2; lvl <= (int)gpi_simd_supported(); lvl++) {
        cr_assert_eq(gpi_simd_force((gpi_simd)lvl), 0);
        memset(got, 0xA5, 8 * n);
        gpi_chacha_dist_values(d, ks, n, got);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(memcmp(got + i * es, want + i * es, es), 0,
                         "%s %s %s element %zu (u %016llX)", what, gpi_simd_name((gpi_simd)lvl),
                         gp_dtype_name(d->dtype), i, (unsigned long long)gpi_load_le64(ks + 8 * i));
    }
}

Test(chacha_normal, simd_equals_scalar)
{
    static const gp_dtype dtypes[] = {GP_FLOAT64, GP_FLOAT32, GP_FLOAT16, GP_BFLOAT16};
    size_t n = SIMD_WORDS + 13; /* not a multiple of any width */
    unsigned char *ks = simd_words(n), *want = malloc(8 * n), *got = malloc(8 * n);

    cr_assert(want != NULL && got != NULL);
    for (size_t t = 0; t < 4; t++) {
        gpi_chacha_dist d;
        cr_assert_eq(gpi_chacha_dist_init(&d, 0, dtypes[t], 0.25, 3, 0, 0, NULL), GP_OK);
        simd_check(&d, ks, n, want, got, "normal");
    }
    cr_log_info("simd levels checked: up to %s", gpi_simd_name(gpi_simd_supported()));
    free(ks);
    free(want);
    free(got);
}

/* truncated_normal: every bound pair of the table (mirrored, mixed, scaled
 * tails from 20 sigma, subnormal masses, the far-tail law left to the scalar
 * code), every dtype. */
Test(chacha_normal, simd_equals_scalar_truncated)
{
    static const gp_dtype dtypes[] = {GP_FLOAT64, GP_FLOAT32, GP_FLOAT16, GP_BFLOAT16};
    size_t n = SIMD_WORDS / 4 + 13;
    unsigned char *ks = simd_words(n), *want = malloc(8 * n), *got = malloc(8 * n);

    cr_assert(want != NULL && got != NULL);
    for (size_t k = 0; k < sizeof bounds_cases / sizeof bounds_cases[0]; k++)
        for (size_t t = 0; t < 4; t++) {
            const bounds_case *c = &bounds_cases[k];
            gpi_chacha_dist d;
            char what[32];
            if (gpi_chacha_dist_init(&d, 1, dtypes[t], c->mean, c->std, c->a, c->b, NULL) != GP_OK)
                continue; /* bounds beyond the dtype */
            snprintf(what, sizeof what, "bounds %zu", k);
            simd_check(&d, ks, n, want, got, what);
        }
    /* Tail masses that are subnormal or 0 (no real bounds give them: the
     * constants are set by hand) take the scalar tail inside the kernel. */
    for (size_t t = 0; t < 4; t++) {
        gpi_chacha_dist d;
        cr_assert_eq(gpi_chacha_dist_init(&d, 1, dtypes[t], 0, 1, 6, 8, NULL), GP_OK);
        d.tbs = 0;
        d.ws = 0x1p-1040;
        d.b = 100; /* the far quantiles (~38) must not be clamped away */
        simd_check(&d, ks, n, want, got, "subnormal masses");
        d.ws = 0;
        simd_check(&d, ks, n, want, got, "zero masses");
    }
    free(ks);
    free(want);
    free(got);
}

/* A whole tensor through fill at every level, odd offsets included, is the golden one. */
Test(chacha_normal, simd_golden)
{
    gpi_simd top = gpi_simd_supported();

    for (int lvl = 0; lvl <= (int)top; lvl++) {
        cr_assert_eq(gpi_simd_force((gpi_simd)lvl), 0);
        for (size_t k = 0; k < sizeof golden_cases / sizeof golden_cases[0]; k++) {
            const golden_case *c = &golden_cases[k];
            size_t es = gp_dtype_size(c->dtype), split = c->numel / 3 + 1;
            unsigned char *out = malloc(c->numel * es), key[32];
            gpi_chacha_dist d;
            char got[65];
            cr_assert_not_null(out);
            dist_of(c, &d);
            gpi_chacha_key(c->seed, c->name, strlen(c->name), key);
            gpi_chacha_dist_fill(&d, key, 0, split < c->numel ? split : c->numel, out);
            if (split < c->numel)
                gpi_chacha_dist_fill(&d, key, split, c->numel - split, out + split * es);
            sha_hex(out, c->numel * es, got);
            cr_expect_str_eq(got, c->sha256, "%s: row %zu", gpi_simd_name((gpi_simd)lvl), k);
            free(out);
        }
    }
}
