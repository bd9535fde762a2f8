/*
 * test_slice.c - slice, shard and axis: parsing, numpy's clamping, array_split
 * bounds, the cross-field checks, caps on the part, and the bytes of a part
 * (every format) against the same elements picked out of the whole tensor.
 *
 * Expected bounds in the tables were computed with numpy:
 * slice(start, stop).indices(n) and np.array_split(np.arange(n), w).
 * split=chunk/even, stride, several shards and empty parts: test_shard.c.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glorot_proto.h"

static gp_code set_str(gp_request *r, const char *k, const char *v, gp_error *err)
{
    return gp_request_set(r, k, strlen(k), v, strlen(v), err);
}

/* Build and finish: "shape", then up to three more key/value pairs ("" ends). */
static gp_code build(gp_request *r, const char *shape, const char *const kv[6],
                     const gp_limits *lim, gp_error *err)
{
    gp_request_init(r);
    gp_code rc = set_str(r, "shape", shape, err);
    for (size_t i = 0; rc == GP_OK && kv != NULL && i < 6 && kv[i] != NULL && kv[i][0]; i += 2)
        rc = set_str(r, kv[i], kv[i + 1], err);
    if (rc == GP_OK)
        gp_request_set_seed(r, 5);
    return rc == GP_OK ? gp_request_finish(r, lim, err) : rc;
}

static const char *part_of(const gp_request *r)
{
    static char text[GP_PART_TEXT_MAX];
    gp_part_text(r, text, sizeof text);
    return text;
}

/* ---- slices that resolve ---------------------------------------------------------- */

typedef struct {
    char shape[32];
    char slice[64];
    char part[96];
    uint64_t out_numel;
    int partial;
} slice_case;

ParameterizedTestParameters(slice, resolves_like_numpy)
{
    static slice_case cases[] = {
        {"10,20", "2:5", "2:5,0:20", 60, 1},
        {"10,20", ":,5:", "0:10,5:20", 150, 1},
        {"10,20", "-3:", "7:10,0:20", 60, 1},
        {"10,20", ":-1,-5:-2", "0:9,15:18", 27, 1},
        {"10,20", "0:1000,:", "0:10,0:20", 200, 0},
        {"10,20", "-1000:3,:", "0:3,0:20", 60, 1},
        {"10,20", ":", "0:10,0:20", 200, 0},
        {"10,20", ":,:", "0:10,0:20", 200, 0},
        {"10,20", "-0:", "0:10,0:20", 200, 0},
        {"10,20", "9:", "9:10,0:20", 20, 1},
        {"10,20", ":1,-1:", "0:1,19:20", 1, 1},
        {"10,20", "-9223372036854775807:", "0:10,0:20", 200, 0},
        {"10,20", ":9223372036854775807", "0:10,0:20", 200, 0},
        {"4,5,6", "1:3", "1:3,0:5,0:6", 60, 1},
        {"4,5,6", ":,:,2:3", "0:4,0:5,2:3", 20, 1},
        {"4,5,6", "3:,-2:,:-3", "3:4,3:5,0:3", 6, 1},
        {"2,3,4,5,6,7,8,9", ":,:,:,:,:,:,:,4:5", "0:2,0:3,0:4,0:5,0:6,0:7,0:8,4:5", 40320, 1},
        {"000003,4", "1:2", "1:2,0:4", 4, 1},
        {"3,4", "0001:0002", "1:2,0:4", 4, 1},
    };
    return cr_make_param_array(slice_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(slice_case *c, slice, resolves_like_numpy)
{
    gp_request r;
    gp_error err = {0};
    const char *kv[6] = {"slice", c->slice, NULL};
    cr_assert_eq(build(&r, c->shape, kv, NULL, &err), GP_OK, "%s [%s]: %s", c->shape, c->slice,
                 err.message);
    cr_expect_str_eq(part_of(&r), c->part, "%s [%s]", c->shape, c->slice);
    cr_expect_eq(r.out_numel, c->out_numel, "%s [%s]", c->shape, c->slice);
    cr_expect_eq(r.out_nbytes, c->out_numel * 4);
    cr_expect_eq(r.partial, c->partial, "%s [%s]", c->shape, c->slice);
    for (size_t i = 0; i < r.rank; i++)
        cr_expect_eq(r.out_shape[i], r.part_stop[i] - r.part_start[i]);
    uint64_t full = 1;
    for (size_t i = 0; i < r.rank; i++)
        full *= r.shape[i];
    cr_expect_eq(r.numel, full, "numel stays the full tensor's");
}

Test(slice, no_slice_is_the_whole_tensor)
{
    gp_request r;
    gp_error err = {0};
    cr_assert_eq(build(&r, "7,9", NULL, NULL, &err), GP_OK);
    cr_expect_str_eq(part_of(&r), "0:7,0:9");
    cr_expect_eq(r.out_numel, 63);
    cr_expect_eq(r.out_nbytes, r.nbytes);
    cr_expect_eq(r.partial, 0);
}

Test(slice, fans_and_limit_are_those_of_the_full_shape)
{
    gp_request whole, part;
    gp_error err = {0};
    const char *kv[6] = {"slice", "1:2,3:4", NULL};
    cr_assert_eq(build(&whole, "64,32", NULL, NULL, &err), GP_OK);
    cr_assert_eq(build(&part, "64,32", kv, NULL, &err), GP_OK);
    cr_expect_eq(part.fan_in, 32);
    cr_expect_eq(part.fan_out, 64);
    cr_expect_eq(memcmp(&part.limit, &whole.limit, sizeof part.limit), 0);
    cr_expect_eq(part.out_numel, 1);
}

/* ---- refused slices, shards and axes -------------------------------------------------- */

typedef struct {
    char shape[24];
    char key[3][8];
    char value[3][48];
    gp_code code;
    char param[8];
} bad_case;

ParameterizedTestParameters(slice, refused)
{
    static bad_case cases[] = {
        /* syntax, refused by gp_request_set */
        {"10,20", {"slice"}, {""}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"3"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"1:2:1"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"::2"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"a:b"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"1:2,,3:4"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"1:2,"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {","}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {" 1:2"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"+1:2"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"--1:"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"-:"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"9223372036854775808:"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {":-9223372036854775808"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {":,:,:,:,:,:,:,:,:"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"..."}, GP_EPARAM, "slice"},
        {"10,20", {"slice", "slice"}, {"1:2", "1:2"}, GP_EPARAM, "slice"},
        {"10,20", {"shard"}, {""}, GP_EPARAM, "shard"},
        {"10,20", {"shard"}, {"1"}, GP_EPARAM, "shard"},
        {"10,20", {"shard"}, {"1/"}, GP_EPARAM, "shard"},
        {"10,20", {"shard"}, {"/2"}, GP_EPARAM, "shard"},
        {"10,20", {"shard"}, {"2/2"}, GP_EPARAM, "shard"},
        {"10,20", {"shard"}, {"0/0"}, GP_EPARAM, "shard"},
        {"10,20", {"shard"}, {"-1/2"}, GP_EPARAM, "shard"},
        {"10,20", {"shard"}, {"0/2/3"}, GP_EPARAM, "shard"},
        {"10,20", {"shard"}, {"0/18446744073709551616"}, GP_EPARAM, "shard"},
        {"10,20", {"axis"}, {""}, GP_EPARAM, "axis"},
        {"10,20", {"axis"}, {"8"}, GP_EPARAM, "axis"},
        {"10,20", {"axis"}, {"-9"}, GP_EPARAM, "axis"},
        {"10,20", {"axis"}, {"1.0"}, GP_EPARAM, "axis"},
        /* resolution, refused by gp_request_finish */
        {"10,20", {"slice"}, {":,:,:"}, GP_EPARAM, "slice"},
        {"10,20", {"slice", "shard"}, {"1:2", "0/2"}, GP_EPARAM, "shard"},
        {"10,20", {"axis"}, {"1"}, GP_EPARAM, "axis"},
        {"10,20", {"axis", "slice"}, {"0", "1:2"}, GP_EPARAM, "axis"},
        {"10,20", {"shard", "axis"}, {"0/2", "2"}, GP_EPARAM, "axis"},
        {"10,20", {"shard", "axis"}, {"0/2", "-3"}, GP_EPARAM, "axis"},
        /* multi-piece slices: explicit, equal, evenly spaced, inside the axis */
        {"10,20", {"slice"}, {"0:2;3:4"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"0:2;1:3"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"0:1;2:3;5:6"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"4:6;0:2"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {":2;4:6"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"5:;4:6"}, GP_EPARAM, "slice"}, /* found by fuzz_slice */
        {"10,20", {"slice"}, {"2:4;:6"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"-4:-2;8:10"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"2:2;4:4"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"0:2;4:6;8:10;12:14"}, GP_EPARAM, "slice"},
        {"10,20", {"slice"}, {"0:2;"}, GP_EPARAM, "slice"},
        /* split, stride and several shards */
        {"10,20", {"shard", "split"}, {"0/2", "numpy"}, GP_EPARAM, "split"},
        {"10,20", {"shard", "split"}, {"0/2", ""}, GP_EPARAM, "split"},
        {"10,20", {"shard", "stride"}, {"0/2", "0"}, GP_EPARAM, "stride"},
        {"10,20", {"shard", "stride"}, {"0/2", "65"}, GP_EPARAM, "stride"},
        {"10,20", {"shard", "stride"}, {"0/2", "-1"}, GP_EPARAM, "stride"},
        {"10,20", {"split"}, {"chunk"}, GP_EPARAM, "split"},
        {"10,20", {"stride"}, {"1"}, GP_EPARAM, "stride"},
        {"10,20", {"slice", "split"}, {"1:2", "even"}, GP_EPARAM, "split"},
        {"10,20", {"shard", "split"}, {"0/3", "even"}, GP_EPARAM, "shard"},
        {"10,20", {"shard", "split", "stride"}, {"0/2", "even", "3"}, GP_EPARAM, "stride"},
        {"12,20", {"shard", "stride"}, {"0/2", "2"}, GP_EPARAM, "stride"},
        {"12,20", {"shard", "split", "stride"}, {"0/2", "chunk", "2"}, GP_EPARAM, "stride"},
        {"10,20", {"shard"}, {"0/2,0/2"}, GP_EPARAM, "axis"},
        {"10,20", {"shard", "axis"}, {"0/2,0/2", "0"}, GP_EPARAM, "axis"},
        {"10,20", {"shard", "axis"}, {"0/2", "0,1"}, GP_EPARAM, "axis"},
        {"10,20",
         {"shard", "axis", "split"},
         {"0/2,0/2", "0,1", "chunk,even,even"},
         GP_EPARAM,
         "split"},
        {"10,20", {"shard", "axis", "stride"}, {"0/2,0/2", "0,1", "1,1,1"}, GP_EPARAM, "stride"},
        {"8,20", {"shard", "axis", "stride"}, {"0/2,0/2", "0,0", "2,1"}, GP_EPARAM, "stride"},
        {"10,20", {"shard"}, {"0/2,,1/2"}, GP_EPARAM, "shard"},
        {"10,20", {"shard"}, {"0/2,0/2,0/2,0/2,0/2,0/2,0/2,0/2,0/2"}, GP_EPARAM, "shard"},
        {"10,20", {"shard", "axis"}, {"0/2,0/2", "0,2"}, GP_EPARAM, "axis"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_case *c, slice, refused)
{
    gp_request r;
    gp_error err = {0};
    const char *kv[6] = {c->key[0], c->value[0], c->key[1], c->value[1], c->key[2], c->value[2]};
    gp_code rc = build(&r, c->shape, kv, NULL, &err);
    cr_expect_eq(rc, c->code, "%s=%s: %s", c->key[0], c->value[0], err.message);
    cr_expect_str_eq(err.param, c->param, "%s=%s: %s", c->key[0], c->value[0], err.message);
    cr_expect_gt(strlen(err.message), 20, "%s", err.message);
    cr_expect_lt(strlen(err.message), sizeof err.message - 1, "truncated: %s", err.message);
}

/* ---- shards ------------------------------------------------------------------------------ */

typedef struct {
    char shape[24];
    char shard[24];
    char axis[8];
    char part[64];
} shard_case;

ParameterizedTestParameters(slice, shard_bounds_match_array_split)
{
    static shard_case cases[] = {
        {"10,4", "0/3", "", "0:4,0:4"},
        {"10,4", "1/3", "", "4:7,0:4"},
        {"10,4", "2/3", "", "7:10,0:4"},
        {"10,4", "0/1", "", "0:10,0:4"},
        {"10,4", "3/4", "1", "0:10,3:4"},
        {"10,4", "1/3", "-1", "0:10,2:3"},
        {"10,4", "1/3", "-2", "4:7,0:4"},
        {"10,4", "9/10", "0", "9:10,0:4"},
        {"7,5,3", "4/5", "1", "0:7,4:5,0:3"},
        {"7,5,3", "1/2", "2", "0:7,0:5,2:3"},
        {"18446744073709551,2", "3/7", "", "7905747460161237:10540996613548316,0:2"},
    };
    return cr_make_param_array(shard_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(shard_case *c, slice, shard_bounds_match_array_split)
{
    gp_request r;
    gp_error err = {0};
    const char *kv[6] = {"shard", c->shard, c->axis[0] ? "axis" : NULL, c->axis, NULL};
    cr_assert_eq(build(&r, c->shape, kv, NULL, &err), GP_OK, "%s", err.message);
    cr_expect_str_eq(part_of(&r), c->part, "%s shard %s axis %s", c->shape, c->shard, c->axis);
}

/* Every part of every split of an axis of 1..40 elements into 1..n parts: in
 * order, touching, sizes differing by at most one with the larger first. */
Test(slice, shards_tile_the_axis)
{
    for (uint64_t n = 1; n <= 40; n++) {
        for (uint64_t w = 1; w <= n; w++) {
            uint64_t next = 0, small = n / w;
            for (uint64_t k = 0; k < w; k++) {
                char shape[32], shard[48];
                gp_request r;
                gp_error err = {0};
                snprintf(shape, sizeof shape, "3,%llu", (unsigned long long)n);
                snprintf(shard, sizeof shard, "%llu/%llu", (unsigned long long)k,
                         (unsigned long long)w);
                const char *kv[6] = {"shard", shard, "axis", "1", NULL};
                cr_assert_eq(build(&r, shape, kv, NULL, &err), GP_OK, "%s", err.message);
                uint64_t size = r.part_stop[1] - r.part_start[1];
                cr_assert_eq(r.part_start[1], next, "n %llu w %llu k %llu", (unsigned long long)n,
                             (unsigned long long)w, (unsigned long long)k);
                cr_assert(size == small || size == small + 1);
                cr_assert_eq(size, small + (k < n % w ? 1 : 0));
                next = r.part_stop[1];
            }
            cr_assert_eq(next, n);
        }
    }
}

/* ---- caps and algorithm rules ----------------------------------------------------------- */

Test(slice, caps_apply_to_the_part)
{
    gp_request r;
    gp_error err = {0};
    gp_limits lim = {100, 0, 0};
    const char *one_row[6] = {"slice", "0:1", NULL};
    const char *two_rows[6] = {"slice", "0:2", NULL};
    const char *shard[6] = {"shard", "0/100", NULL};
    cr_expect_eq(build(&r, "100,100", one_row, &lim, &err), GP_OK, "%s", err.message);
    cr_expect_eq(build(&r, "100,100", shard, &lim, &err), GP_OK, "%s", err.message);
    cr_expect_eq(build(&r, "100,100", two_rows, &lim, &err), GP_ELIMIT);
    cr_expect_str_eq(err.param, "shape");
    memset(&err, 0, sizeof err);
    cr_expect_eq(build(&r, "100,100", NULL, &lim, &err), GP_ELIMIT);
    gp_limits bytes = {0, 400, 0};
    memset(&err, 0, sizeof err);
    cr_expect_eq(build(&r, "100,100", one_row, &bytes, &err), GP_OK, "%s", err.message);
    cr_expect_eq(build(&r, "100,100", two_rows, &bytes, &err), GP_ELIMIT);
}

Test(slice, full_shape_must_not_overflow)
{
    gp_request r;
    gp_error err = {0};
    const char *kv[6] = {"slice", "0:1,0:1", NULL};
    cr_expect_eq(build(&r, "4294967296,4294967296", kv, NULL, &err), GP_EPARAM);
    cr_expect_str_eq(err.param, "shape");
    /* fits in 64 bits, but not in the generators' 2^61-1 elements: refused
     * by gp_body_init (413), however small the part */
    static gp_body b;
    memset(&err, 0, sizeof err);
    cr_assert_eq(build(&r, "2147483648,1073741824", kv, NULL, &err), GP_OK, "%s", err.message);
    cr_expect_eq(gp_body_init(&b, &r, &err), GP_ELIMIT);
    cr_expect_str_eq(err.param, "shape");
    memset(&err, 0, sizeof err);
    cr_assert_eq(build(&r, "2147483647,1073741824", kv, NULL, &err), GP_OK, "%s", err.message);
    cr_expect_eq(gp_body_init(&b, &r, &err), GP_OK, "%s", err.message);
}

Test(slice, mlx_element_limit_is_about_the_full_tensor)
{
    gp_request r;
    gp_error err = {0};
    const char *kv[6] = {"slice", "0:1", "algorithm", "mlx", NULL};
    cr_expect_eq(build(&r, "65536,65537", kv, NULL, &err), GP_EUNSUPPORTED);
    cr_expect_str_eq(err.param, "shape");
    memset(&err, 0, sizeof err);
    cr_expect_eq(build(&r, "65536,65535", kv, NULL, &err), GP_OK, "%s", err.message);
}

/* Errors keep their order: a malformed slice (400) before float64 with mlx (422). */
Test(slice, malformed_part_before_unsupported)
{
    gp_request r;
    gp_error err = {0};
    const char *kv[6] = {"slice", "1:2;2:4", "algorithm", "mlx", "dtype", "float64"};
    cr_expect_eq(build(&r, "10,10", kv, NULL, &err), GP_EPARAM);
    cr_expect_str_eq(err.param, "slice");
}

/* ---- the bytes of a part --------------------------------------------------------------- */

static unsigned char *read_all(gp_body *b, size_t *len)
{
    size_t cap = 4096, used = 0, n;
    unsigned char *out = malloc(cap);
    cr_assert_not_null(out);
    for (;;) {
        if (cap - used < 1024) {
            cap *= 2;
            out = realloc(out, cap);
            cr_assert_not_null(out);
        }
        if ((n = gp_body_read(b, used, out + used, cap - used)) == 0)
            break;
        used += n;
    }
    *len = used;
    return out;
}

/* The part's raw bytes picked out of the whole tensor, element by element,
 * by walking its multi-index (independent of body.c's runs). */
static unsigned char *gather(const gp_request *part, const unsigned char *whole, size_t *len)
{
    size_t es = gp_dtype_size(part->dtype);
    unsigned char *out = malloc(part->out_nbytes + 1);
    uint64_t idx[GP_MAX_RANK] = {0};
    cr_assert_not_null(out);
    for (uint64_t o = 0; o < part->out_numel; o++) {
        uint64_t flat = 0;
        for (size_t i = 0; i < part->rank; i++)
            flat = flat * part->shape[i] + part->part_start[i] + idx[i];
        memcpy(out + o * es, whole + flat * es, es);
        for (size_t i = part->rank; i-- > 0;) {
            if (++idx[i] < part->out_shape[i])
                break;
            idx[i] = 0;
        }
    }
    *len = (size_t)part->out_nbytes;
    return out;
}

/* A small deterministic generator for the random cases (splitmix64). */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static const char *const dtypes[] = {"float32", "float16", "bfloat16", "float64"};
static const char *const algorithms[] = {"chacha20", "mlx", "mlx-seeded"};

/* A random request of rank 2..4 (dims 1..9) and a random slice of it. */
static void random_case(uint64_t *s, char *shape, char *slice, const char **dtype,
                        const char **algorithm)
{
    size_t rank = 2 + next_rand(s) % 3, used = 0, sused = 0;
    for (size_t i = 0; i < rank; i++) {
        uint64_t d = 1 + next_rand(s) % 9;
        uint64_t a = next_rand(s) % d, b = a + 1 + next_rand(s) % (d - a);
        used += (size_t)snprintf(shape + used, 64 - used, "%s%llu", i ? "," : "",
                                 (unsigned long long)d);
        if (next_rand(s) % 4 == 0)
            sused += (size_t)snprintf(slice + sused, 128 - sused, "%s:", i ? "," : "");
        else if (next_rand(s) % 2 == 0)
            sused += (size_t)snprintf(slice + sused, 128 - sused, "%s%lld:%lld", i ? "," : "",
                                      (long long)a - (long long)d, (long long)b);
        else
            sused += (size_t)snprintf(slice + sused, 128 - sused, "%s%llu:%llu", i ? "," : "",
                                      (unsigned long long)a, (unsigned long long)b);
    }
    *algorithm = algorithms[next_rand(s) % 3];
    *dtype = dtypes[next_rand(s) % (strcmp(*algorithm, "chacha20") == 0 ? 4 : 3)];
}

Test(slice, raw_bytes_equal_the_elements_of_the_whole)
{
    uint64_t seed = 2024;
    for (int n = 0; n < 300; n++) {
        char shape[64], slice[128];
        const char *dtype, *algorithm;
        random_case(&seed, shape, slice, &dtype, &algorithm);
        const char *whole_kv[6] = {"dtype", dtype, "algorithm", algorithm, NULL};
        const char *part_kv[6] = {"dtype", dtype, "algorithm", algorithm, "slice", slice};
        gp_request whole, part;
        gp_error err = {0};
        static gp_body bw, bp;
        cr_assert_eq(build(&whole, shape, whole_kv, NULL, &err), GP_OK, "%s", err.message);
        cr_assert_eq(build(&part, shape, part_kv, NULL, &err), GP_OK, "%s [%s]: %s", shape, slice,
                     err.message);
        cr_assert_eq(gp_body_init(&bw, &whole, &err), GP_OK);
        cr_assert_eq(gp_body_init(&bp, &part, &err), GP_OK);
        size_t wl, pl, gl;
        unsigned char *w = read_all(&bw, &wl), *p = read_all(&bp, &pl);
        unsigned char *g = gather(&part, w, &gl);
        cr_assert_eq(pl, gl, "%s [%s]", shape, slice);
        cr_assert_eq(gp_body_size(&bp), pl);
        cr_assert_arr_eq(p, g, gl, "%s %s %s [%s]: bytes differ", algorithm, dtype, shape, slice);
        free(w);
        free(p);
        free(g);
    }
}

/* Any byte range of a part (odd offsets and lengths, inside elements) equals
 * the same bytes of the part read in one go: what ranges and resumption use. */
Test(slice, random_access_equals_sequential)
{
    static const char *const formats[] = {"raw", "npy", "safetensors"};
    uint64_t seed = 99;
    for (int n = 0; n < 120; n++) {
        char shape[64], slice[128];
        const char *dtype, *algorithm;
        random_case(&seed, shape, slice, &dtype, &algorithm);
        const char *kv[6] = {"dtype", dtype, "slice", slice, "format", formats[n % 3]};
        gp_request r;
        gp_error err = {0};
        static gp_body b;
        cr_assert_eq(build(&r, shape, kv, NULL, &err), GP_OK, "%s", err.message);
        cr_assert_eq(gp_body_init(&b, &r, &err), GP_OK);
        size_t len;
        unsigned char *all = read_all(&b, &len);
        for (int k = 0; k < 20; k++) {
            uint64_t off = next_rand(&seed) % (len + 1);
            size_t room = len - (size_t)off < 8000 ? len - (size_t)off : 8000;
            size_t want = (size_t)(next_rand(&seed) % (room + 3)); /* may pass the end */
            unsigned char piece[8192];
            size_t got = gp_body_read(&b, off, piece, want);
            size_t expect = want < len - off ? want : len - (size_t)off;
            cr_assert_eq(got, expect);
            cr_assert_arr_eq(piece, all + off, got, "%s [%s] %s bytes %llu+%zu", shape, slice,
                             formats[n % 3], (unsigned long long)off, got);
        }
        free(all);
    }
}

/* The data of a 2^60-element tensor's 6-element slice come out at once: the
 * work follows the part, not the whole (generating the whole would take
 * years). Checked element by element against the generator at the flat
 * indices. */
Test(slice, cost_follows_the_part)
{
    gp_request r;
    gp_error err = {0};
    const char *kv[6] = {"dtype", "float16", "slice", "-2:,1000000:1000003", NULL};
    cr_assert_eq(build(&r, "1073741824,1073741824", kv, NULL, &err), GP_OK, "%s", err.message);
    cr_assert_eq(r.numel, 1ull << 60);
    cr_assert_eq(r.out_numel, 6);
    static gp_body b;
    gp_gen g;
    cr_assert_eq(gp_body_init(&b, &r, &err), GP_OK);
    cr_assert_eq(gp_gen_init(&g, &r, &err), GP_OK);
    unsigned char got[12], want[12];
    cr_assert_eq(gp_body_read(&b, 0, got, sizeof got), 12);
    for (uint64_t row = 0; row < 2; row++)
        for (uint64_t col = 0; col < 3; col++)
            gp_gen_fill(&g, (1073741822ull + row) * 1073741824ull + 1000000 + col, 1,
                        want + 2 * (row * 3 + col));
    cr_expect_arr_eq(got, want, sizeof got);
}

/* ---- format headers describe the part ------------------------------------------------- */

static char *header_text(const char *format, const char *slice)
{
    gp_request r;
    gp_error err = {0};
    static gp_body b;
    const char *kv[6] = {"format", format, "slice", slice, NULL};
    if (slice == NULL)
        kv[2] = NULL;
    cr_assert_eq(build(&r, "64,32", kv, NULL, &err), GP_OK, "%s", err.message);
    cr_assert_eq(gp_body_init(&b, &r, &err), GP_OK);
    char *text = calloc(1, 8192);
    size_t n = gp_body_read(&b, 0, text, strcmp(format, "json") == 0 ? 300 : b.header_len);
    cr_assert_gt(n, 0);
    return text;
}

Test(slice, npy_header_has_the_part_shape)
{
    char *h = header_text("npy", "8:16,-4:");
    cr_expect(strstr(h + 10, "'shape': (8, 4), }") != NULL, "%s", h + 10);
    free(h);
}

Test(slice, safetensors_header_has_the_part_and_its_bounds)
{
    char *h = header_text("safetensors", "8:16,-4:");
    cr_expect(strstr(h + 8, "\"shape\":[8,4],\"data_offsets\":[0,128]") != NULL, "%s", h + 8);
    cr_expect(strstr(h + 8, "\"slice\":\"8:16,28:32\"") != NULL, "%s", h + 8);
    cr_expect(strstr(h + 8, "\"fan_in\":\"32\",\"fan_out\":\"64\"") != NULL, "%s", h + 8);
    free(h);
    h = header_text("safetensors", ":");
    cr_expect(strstr(h + 8, "slice") == NULL, "a whole-tensor slice adds nothing: %s", h + 8);
    free(h);
}

Test(slice, json_has_the_part_shape_and_bounds)
{
    char *h = header_text("json", "8:16,-4:");
    cr_expect(strncmp(h, "{\"name\":\"weight\",\"shape\":[8,4],", 31) == 0, "%s", h);
    cr_expect(strstr(h, "\"fan\":\"mlx\",\"slice\":\"8:16,28:32\"}") != NULL, "%s", h);
    free(h);
}

Test(slice, file_name_names_the_part)
{
    gp_request r;
    gp_error err = {0};
    char name[256];
    const char *kv[6] = {"slice", "8:16,-4:", "format", "npy", NULL};
    cr_assert_eq(build(&r, "64,32", kv, NULL, &err), GP_OK);
    gp_filename(&r, name, sizeof name);
    cr_expect_str_eq(name, "glorot_64x32_float32_seed5_slice8-16x28-32.npy");
    cr_assert_eq(build(&r, "64,32", NULL, NULL, &err), GP_OK);
    gp_filename(&r, name, sizeof name);
    cr_expect_str_eq(name, "glorot_64x32_float32_seed5.bin");
}

Test(slice, part_text_truncates_safely)
{
    gp_request r;
    gp_error err = {0};
    char small[6];
    cr_assert_eq(build(&r, "640,32", NULL, NULL, &err), GP_OK);
    cr_expect_eq(gp_part_text(&r, small, sizeof small), strlen("0:640,0:32"));
    cr_expect_str_eq(small, "0:640");
    cr_expect_eq(gp_part_text(&r, NULL, 0), strlen("0:640,0:32"));
}

/* Lists past GP_MAX_RANK items are refused with their own wording, after the
 * items before them were read (gpi_each_item). */
Test(slice, too_many_items)
{
    gp_request r;
    gp_error err = {0};
    const char *axes[6] = {"slice", "0:1,0:1,0:1,0:1,0:1,0:1,0:1,0:1,0:1", NULL};
    cr_expect_eq(build(&r, "10,20", axes, NULL, &err), GP_EPARAM);
    cr_expect_str_eq(err.message, "slice: more than 8 axes");
    memset(&err, 0, sizeof err);
    const char *shards[6] = {"shard", "0/2,0/2,0/2,0/2,0/2,0/2,0/2,0/2,0/2", NULL};
    cr_expect_eq(build(&r, "10,20", shards, NULL, &err), GP_EPARAM);
    cr_expect_str_eq(err.message, "shard: more than 8 values (one per shard)");
    memset(&err, 0, sizeof err);
    const char *bad_first[6] = {"slice", "x,0:1,0:1,0:1,0:1,0:1,0:1,0:1,0:1", NULL};
    cr_expect_eq(build(&r, "10,20", bad_first, NULL, &err), GP_EPARAM);
    cr_expect(strstr(err.message, "more than") == NULL, "%s", err.message);
}
