/*
 * test_shard.c - the shard conventions (split=array_split | chunk | even,
 * stride, several shards), empty parts, multi-piece slices and the bytes of
 * a strided part.
 *
 * Expected bounds were worked out by hand from the frameworks' rules (quoted
 * in proto/request/shard.c) and checked with numpy/torch 1.13:
 * torch.chunk(torch.arange(n), w), np.array_split(np.arange(n), w), and
 * torch.split(torch.arange(n), n // (s * w))[r::w] for Megatron. The e2e
 * test (tests/py/check_shards.py) compares every rank of many more cases
 * with torch and numpy themselves.
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

/* Build and finish: shape, then key/value pairs until a NULL or "" key. */
static gp_code build(gp_request *r, const char *shape, const char *const *kv, size_t n,
                     gp_error *err)
{
    gp_request_init(r);
    gp_code rc = set_str(r, "shape", shape, err);
    for (size_t i = 0; rc == GP_OK && i + 1 < n && kv[i] != NULL && kv[i][0]; i += 2)
        rc = set_str(r, kv[i], kv[i + 1], err);
    if (rc == GP_OK)
        gp_request_set_seed(r, 5);
    return rc == GP_OK ? gp_request_finish(r, NULL, err) : rc;
}

static const char *part_of(const gp_request *r)
{
    static char text[GP_PART_TEXT_MAX];
    gp_part_text(r, text, sizeof text);
    return text;
}

/* ---- conventions ---------------------------------------------------------------- */

typedef struct {
    char shape[24];
    char shard[32];
    char axis[16];
    char split[24];
    char stride[12];
    char part[64];
    uint64_t numel;
} conv_case;

ParameterizedTestParameters(shard, conventions)
{
    static conv_case cases[] = {
        /* torch.chunk: chunks of ceil(n/w), the trailing ones short or empty */
        {"10,4", "0/4", "", "chunk", "", "0:3,0:4", 12},
        {"10,4", "3/4", "", "chunk", "", "9:10,0:4", 4},
        {"5,4", "2/4", "", "chunk", "", "4:5,0:4", 4},
        {"5,4", "3/4", "", "chunk", "", "0:0,0:4", 0},
        {"6,4", "3/4", "", "chunk", "", "0:0,0:4", 0},
        {"4,7", "6/7", "1", "chunk", "", "0:4,6:7", 4},
        {"4,3", "1/7", "-1", "chunk", "", "0:4,1:2", 4},
        {"4,3", "5/7", "-1", "chunk", "", "0:4,0:0", 0},
        /* numpy.array_split: the first n % w parts one longer */
        {"10,4", "3/4", "", "array_split", "", "8:10,0:4", 8},
        {"5,4", "3/4", "", "", "", "4:5,0:4", 4},
        {"3,4", "3/4", "", "array_split", "", "0:0,0:4", 0},
        /* Megatron: world (x stride) divides n; rank r takes pieces r, r+w, ... */
        {"12,4", "1/3", "", "even", "", "4:8,0:4", 16},
        {"12,4", "1/2", "", "even", "3", "2:4;6:8;10:12,0:4", 24},
        {"12,4", "0/2", "", "even", "2", "0:3;6:9,0:4", 24},
        {"12,4", "0/1", "", "even", "2", "0:12,0:4", 48},
        {"4,12", "2/3", "1", "even", "2", "0:4,4:6;10:12", 16},
        {"4,12", "1/2", "-1", "even", "3", "0:4,2:4;6:8;10:12", 24},
        {"4,6", "0/3", "1", "even", "2", "0:4,0:1;3:4", 8},
        /* two axes: a 2-D mesh, one value for all or one per shard */
        {"6,8", "1/2,1/4", "0,1", "chunk", "", "3:6,2:4", 6},
        {"6,8", "1/2,0/2", "0,1", "chunk,even", "1,2", "3:6,0:2;4:6", 12},
        {"6,8", "0/2,1/2", "-1,0", "even", "", "3:6,0:4", 12},
        {"2,3", "2/4,2/4", "0,1", "chunk", "", "0:0,0:1", 0},
        /* one axis twice: a shard of the shard (FSDP2 over tensor-parallel rows) */
        {"8,3", "1/2,1/2", "0,0", "chunk", "", "6:8,0:3", 6},
        {"16,2", "1/2,0/2", "0,0", "even", "1,2", "8:10;12:14,0:2", 8},
        {"10,2", "1/2,2/3", "0,0", "chunk", "", "9:10,0:2", 2},
    };
    return cr_make_param_array(conv_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(conv_case *c, shard, conventions)
{
    const char *kv[8] = {"shard", c->shard, "axis", c->axis, NULL, NULL, NULL, NULL};
    size_t n = c->axis[0] ? 4 : 2;
    if (c->split[0]) {
        kv[n] = "split";
        kv[n + 1] = c->split;
        n += 2;
    }
    if (c->stride[0]) {
        kv[n] = "stride";
        kv[n + 1] = c->stride;
        n += 2;
    }
    gp_request r;
    gp_error err = {0};
    cr_assert_eq(build(&r, c->shape, kv, n, &err), GP_OK, "%s %s: %s", c->shape, c->shard,
                 err.message);
    cr_expect_str_eq(part_of(&r), c->part, "%s shard %s axis %s split %s stride %s", c->shape,
                     c->shard, c->axis, c->split, c->stride);
    cr_expect_eq(r.out_numel, c->numel, "%s %s", c->shape, c->shard);
    cr_expect_eq(r.out_nbytes, c->numel * 4);
    uint64_t numel = 1;
    for (size_t i = 0; i < r.rank; i++) {
        cr_expect_eq(r.out_shape[i], r.piece_count[i] * r.piece_len[i]);
        numel *= r.out_shape[i];
    }
    cr_expect_eq(numel, r.out_numel);
}

/* torch.chunk and array_split: every part of every split of 1..30 elements
 * into 1..33 parts, in order and touching; chunk's parts are ceil(n/w) long
 * but the last ones; empty parts come last. */
Test(shard, contiguous_splits_tile_the_axis)
{
    static const char *const splits[] = {"chunk", "array_split"};
    for (size_t sp = 0; sp < 2; sp++)
        for (uint64_t n = 1; n <= 30; n++)
            for (uint64_t w = 1; w <= 33; w++) {
                uint64_t next = 0, c = (n + w - 1) / w;
                int seen_empty = 0;
                for (uint64_t k = 0; k < w; k++) {
                    char shape[32], shard[48];
                    snprintf(shape, sizeof shape, "%llu,2", (unsigned long long)n);
                    snprintf(shard, sizeof shard, "%llu/%llu", (unsigned long long)k,
                             (unsigned long long)w);
                    const char *kv[4] = {"shard", shard, "split", splits[sp]};
                    gp_request r;
                    gp_error err = {0};
                    cr_assert_eq(build(&r, shape, kv, 4, &err), GP_OK, "%s", err.message);
                    uint64_t size = r.out_shape[0];
                    if (size == 0) {
                        seen_empty = 1;
                        cr_assert_eq(r.part_start[0], 0, "an empty part starts at 0");
                        continue;
                    }
                    cr_assert_not(seen_empty, "n %llu w %llu: a part after an empty one",
                                  (unsigned long long)n, (unsigned long long)w);
                    cr_assert_eq(r.part_start[0], next);
                    if (sp == 0)
                        cr_assert_eq(size, next + c <= n ? c : n - next);
                    else
                        cr_assert_eq(size, n / w + (k < n % w));
                    next += size;
                }
                cr_assert_eq(next, n, "%s n %llu w %llu", splits[sp], (unsigned long long)n,
                             (unsigned long long)w);
            }
}

/* Megatron: over all ranks the pieces cover the axis exactly once, piece
 * p = r + j*w at [p*len, (p+1)*len). */
Test(shard, even_pieces_cover_the_axis_once)
{
    for (uint64_t s = 1; s <= 4; s++)
        for (uint64_t w = 1; w <= 6; w++)
            for (uint64_t m = 1; m <= 3; m++) {
                uint64_t n = s * w * m, len = m;
                unsigned char hit[96] = {0};
                for (uint64_t k = 0; k < w; k++) {
                    char shape[32], shard[48], stride[8];
                    snprintf(shape, sizeof shape, "3,%llu", (unsigned long long)n);
                    snprintf(shard, sizeof shard, "%llu/%llu", (unsigned long long)k,
                             (unsigned long long)w);
                    snprintf(stride, sizeof stride, "%llu", (unsigned long long)s);
                    const char *kv[8] = {"shard", shard,  "axis",   "1",
                                         "split", "even", "stride", stride};
                    gp_request r;
                    gp_error err = {0};
                    cr_assert_eq(build(&r, shape, kv, 8, &err), GP_OK, "%s", err.message);
                    cr_assert_eq(r.out_shape[1], s * len);
                    for (uint64_t j = 0; j < s; j++) {
                        uint64_t p = k + j * w;
                        for (uint64_t e = 0; e < len; e++)
                            hit[p * len + e]++;
                        if (r.piece_count[1] > 1)
                            cr_assert_eq(r.part_start[1] + j * r.piece_step[1], p * len);
                    }
                }
                for (uint64_t e = 0; e < n; e++)
                    cr_assert_eq(hit[e], 1, "s %llu w %llu element %llu", (unsigned long long)s,
                                 (unsigned long long)w, (unsigned long long)e);
            }
}

/* ---- one description per set of elements ---------------------------------------------- */

typedef struct {
    char shape[16];
    char a[4][16]; /* key, value, key, value ... */
    char b[4][16];
    int same;
} same_case;

ParameterizedTestParameters(shard, same_elements_same_canonical_form)
{
    static same_case cases[] = {
        {"12,4", {"shard", "1/2", "split", "even"}, {"slice", "6:12"}, 1},
        {"12,4", {"shard", "1/2", "stride", "3"}, {"slice", "2:4;6:8;10:12"}, 1},
        {"12,4", {"shard", "0/1", "stride", "3"}, {"slice", ":"}, 1},
        {"12,4", {"slice", "0:3;3:6"}, {"slice", "0:6"}, 1},
        {"12,4", {"slice", "5:5"}, {"slice", "0:0"}, 1},
        {"12,4", {"shard", "6/7", "split", "chunk"}, {"slice", "12:"}, 1},
        {"12,4", {"shard", "1/3", "split", "chunk"}, {"shard", "1/3"}, 1},
        {"12,4", {"shard", "3/5", "split", "chunk"}, {"shard", "3/5"}, 0},
        {"12,4", {"shard", "1/2", "stride", "2"}, {"shard", "1/2", "stride", "3"}, 0},
        {"6,8", {"shard", "1/4", "axis", "1"}, {"slice", ":,2:4"}, 1},
    };
    return cr_make_param_array(same_case, cases, sizeof cases / sizeof cases[0]);
}

static void canonical_of(const char *shape, const char (*kv)[16], char *out)
{
    const char *pairs[8] = {NULL};
    size_t n = 0;
    for (size_t i = 0; i < 4 && kv[i][0]; i++)
        pairs[n++] = kv[i];
    int strided = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        strided |= strcmp(pairs[i], "stride") == 0;
    if (strided) { /* a stride needs split=even */
        pairs[n++] = "split";
        pairs[n++] = "even";
    }
    gp_request r;
    gp_error err = {0};
    cr_assert_eq(build(&r, shape, pairs, n, &err), GP_OK, "%s %s=%s: %s", shape, pairs[0], pairs[1],
                 err.message);
    cr_assert_eq(gp_canonical(&r, out, GP_CANONICAL_MAX, &err), GP_OK);
}

ParameterizedTest(same_case *c, shard, same_elements_same_canonical_form)
{
    char a[GP_CANONICAL_MAX], b[GP_CANONICAL_MAX];
    canonical_of(c->shape, c->a, a);
    canonical_of(c->shape, c->b, b);
    if (c->same)
        cr_expect_str_eq(a, b);
    else
        cr_expect_str_neq(a, b);
}

/* The canonical form of a strided part read back as a query gives the same
 * request: the pieces are written as a multi-piece slice. */
Test(shard, canonical_form_reads_back)
{
    gp_request r, back;
    gp_error err = {0};
    const char *kv[6] = {"shard", "1/2", "split", "even", "stride", "3"};
    cr_assert_eq(build(&r, "12,4", kv, 6, &err), GP_OK, "%s", err.message);
    char canon[GP_CANONICAL_MAX];
    cr_assert_eq(gp_canonical(&r, canon, sizeof canon, &err), GP_OK);
    const char *slice = strstr(canon, "&slice=");
    cr_assert_not_null(slice, "%s", canon);
    cr_expect_str_eq(slice, "&slice=2:4%3B6:8%3B10:12,0:4");
    const char *again[2] = {"slice", "2:4;6:8;10:12,0:4"};
    cr_assert_eq(build(&back, "12,4", again, 2, &err), GP_OK, "%s", err.message);
    char canon2[GP_CANONICAL_MAX];
    cr_assert_eq(gp_canonical(&back, canon2, sizeof canon2, &err), GP_OK);
    cr_expect_str_eq(canon, canon2);
}

Test(shard, shard_text_names_the_conventions)
{
    gp_request r;
    gp_error err = {0};
    char text[GP_SHARD_TEXT_MAX];
    const char *kv[8] = {"shard", "1/2,0/2",    "axis",   "0,-1",
                         "split", "chunk,even", "stride", "1,2"};
    cr_assert_eq(build(&r, "6,8", kv, 8, &err), GP_OK, "%s", err.message);
    gp_shard_text(&r, text, sizeof text);
    cr_expect_str_eq(text, "1/2; axis=0; split=chunk; stride=1, 0/2; axis=1; split=even; stride=2");
    const char *one[2] = {"shard", "3/4"};
    cr_assert_eq(build(&r, "6,8", one, 2, &err), GP_OK, "%s", err.message);
    gp_shard_text(&r, text, sizeof text);
    cr_expect_str_eq(text, "3/4; axis=0; split=array_split; stride=1");
}

Test(shard, too_many_pieces_to_describe)
{
    gp_request r;
    gp_error err = {0};
    const char *one[6] = {"shard", "0/2", "split", "even", "stride", "64"};
    cr_expect_eq(build(&r, "1024,4", one, 6, &err), GP_OK, "%s", err.message);
    cr_expect_eq(r.piece_count[0], 64);
    cr_expect_lt(gp_part_text(&r, NULL, 0), GP_PART_TEXT_MAX);
    /* 64 pieces on each of two axes at 16-digit positions: past 1023 characters */
    const char *two[8] = {"shard", "0/2,0/2", "axis", "0,1", "split", "even", "stride", "64"};
    memset(&err, 0, sizeof err);
    cr_expect_eq(build(&r, "1000000000000000,256", two, 8, &err), GP_EPARAM);
    cr_expect_str_eq(err.param, "stride");
}

/* ---- the JSON forms ---------------------------------------------------------------------- */

typedef struct {
    char json[160];
    char part[48]; /* "" = refused */
    char param[12];
} json_case;

ParameterizedTestParameters(shard, json_forms)
{
    static json_case cases[] = {
        {"\"1/3\"", "4:8,0:6", ""},
        {"{\"rank\":1,\"world\":3}", "4:8,0:6", ""},
        {"{\"rank\":1,\"world\":4,\"axis\":-1,\"split\":\"chunk\"}", "0:12,2:4", ""},
        {"{\"rank\":1,\"world\":2,\"split\":\"even\",\"stride\":3}", "2:4;6:8;10:12,0:6", ""},
        {"[{\"rank\":1,\"world\":2,\"axis\":0},{\"rank\":0,\"world\":3,\"axis\":1}]", "6:12,0:2",
         ""},
        {"[{\"rank\":1,\"world\":2,\"axis\":0,\"split\":\"even\",\"stride\":2},"
         "{\"rank\":2,\"world\":3,\"axis\":1,\"split\":\"chunk\"}]",
         "3:6;9:12,4:6", ""},
        {"[{\"rank\":1,\"world\":2,\"axis\":0},{\"rank\":0,\"world\":3}]", "", "axis"},
        {"[{\"rank\":1,\"world\":2},{\"rank\":0,\"world\":3}]", "", "axis"},
        {"{\"rank\":1,\"world\":3,\"dim\":0}", "", "shard"},
        {"{\"rank\":\"1\",\"world\":3}", "", "shard"},
        {"{\"rank\":1}", "", "shard"},
        {"{\"rank\":1,\"world\":3,\"split\":\"torch\"}", "", "split"},
        {"{\"rank\":1,\"world\":3,\"split\":\"array_split_plus\"}", "", "split"},
        {"{\"rank\":1,\"world\":3,\"split\":\"chunk,even\"}", "", "split"},
        {"{\"rank\":1,\"world\":3,\"split\":\"chunk\\u0000\"}", "", "shard"},
        {"{\"rank\":5,\"world\":3}", "", "shard"},
        {"[]", "", "shard"},
        {"[1]", "", "shard"},
        {"{\"rank\":1,\"world\":3", "", "shard"},
    };
    return cr_make_param_array(json_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(json_case *c, shard, json_forms)
{
    gp_request r;
    gp_error err = {0};
    gp_request_init(&r);
    cr_assert_eq(set_str(&r, "shape", "12,6", &err), GP_OK);
    gp_request_set_seed(&r, 1);
    gp_code rc = gp_request_set_shard_json(&r, c->json, strlen(c->json), &err);
    if (rc == GP_OK)
        rc = gp_request_finish(&r, NULL, &err);
    if (c->part[0] == '\0') {
        cr_expect_eq(rc, GP_EPARAM, "%s", c->json);
        cr_expect_str_eq(err.param, c->param, "%s: %s", c->json, err.message);
        cr_expect_gt(strlen(err.message), 15, "%s", err.message);
        return;
    }
    cr_assert_eq(rc, GP_OK, "%s: %s", c->json, err.message);
    cr_expect_str_eq(part_of(&r), c->part, "%s", c->json);
}

/* ---- empty parts in every format ---------------------------------------------------------- */

static size_t read_all(gp_body *b, unsigned char *out, size_t cap)
{
    size_t used = 0, n;
    while (used < cap && (n = gp_body_read(b, used, out + used, cap - used)) > 0)
        used += n;
    return used;
}

/* Whether text occurs in data[0..len) (headers hold NUL bytes before their text). */
static int contains(const unsigned char *data, size_t len, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(data + i, text, n) == 0)
            return 1;
    return 0;
}

typedef struct {
    char format[12];
    char dtype[10];
    char want[96]; /* text the body must contain */
} empty_case;

ParameterizedTestParameters(shard, empty_part_in_every_format)
{
    static empty_case cases[] = {
        {"raw", "float32", ""},
        {"npy", "float16", "'shape': (0, 5), }"},
        {"safetensors", "bfloat16", "\"shape\":[0,5],\"data_offsets\":[0,0]"},
        {"json", "float64", "\"shape\":[0,5],"},
    };
    return cr_make_param_array(empty_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(empty_case *c, shard, empty_part_in_every_format)
{
    gp_request r;
    gp_error err = {0};
    static gp_body b;
    const char *kv[6] = {"shard", "3/4", "split", "chunk", "format", c->format};
    gp_request_init(&r);
    cr_assert_eq(set_str(&r, "dtype", c->dtype, &err), GP_OK);
    gp_request_set_seed(&r, 9);
    cr_assert_eq(set_str(&r, "shape", "5,5", &err), GP_OK);
    for (size_t i = 0; i < 6; i += 2)
        cr_assert_eq(set_str(&r, kv[i], kv[i + 1], &err), GP_OK, "%s", err.message);
    cr_assert_eq(gp_request_finish(&r, NULL, &err), GP_OK, "%s", err.message);
    cr_assert_eq(r.out_numel, 0);
    cr_assert_eq(r.out_nbytes, 0);
    cr_assert_eq(r.partial, 1);
    cr_expect_str_eq(part_of(&r), "0:0,0:5");
    cr_assert_eq(gp_body_init(&b, &r, &err), GP_OK, "%s", err.message);
    static unsigned char body[8192];
    size_t len = read_all(&b, body, sizeof body - 1);
    body[len] = '\0';
    if (strcmp(c->format, "raw") == 0) {
        cr_expect_eq(len, 0);
        cr_expect_eq(gp_body_size(&b), 0);
        cr_expect_eq(gp_body_read(&b, 0, body, 16), 0);
        return;
    }
    if (strcmp(c->format, "json") == 0) {
        cr_expect(strstr((char *)body, "\"data\":[]}\n") != NULL, "%s", body);
        cr_expect(strstr((char *)body, "\"slice\":\"0:0,0:5\"") != NULL, "%s", body);
    } else {
        cr_expect_eq(gp_body_size(&b), len);
        cr_expect_eq(b.data_offset, len, "nothing after the header");
    }
    cr_expect(contains(body, len, c->want), "%s", body);
    cr_expect_eq(gp_body_read(&b, len, body, 16), 0);
}

/* ---- the bytes of a strided part ------------------------------------------------------------ */

/* Element j of the part along axis i, as a position in the full axis: an
 * independent reading of the pieces (not body.c's runs). */
static uint64_t coord(const gp_request *r, size_t i, uint64_t j)
{
    return r->part_start[i] + (j / r->piece_len[i]) * r->piece_step[i] + j % r->piece_len[i];
}

static unsigned char *gather(const gp_request *part, const unsigned char *whole)
{
    size_t es = gp_dtype_size(part->dtype);
    unsigned char *out = malloc(part->out_nbytes + 1);
    uint64_t idx[GP_MAX_RANK] = {0};
    cr_assert_not_null(out);
    for (uint64_t o = 0; o < part->out_numel; o++) {
        uint64_t flat = 0;
        for (size_t i = 0; i < part->rank; i++)
            flat = flat * part->shape[i] + coord(part, i, idx[i]);
        memcpy(out + o * es, whole + flat * es, es);
        for (size_t i = part->rank; i-- > 0;) {
            if (++idx[i] < part->out_shape[i])
                break;
            idx[i] = 0;
        }
    }
    return out;
}

typedef struct {
    char shape[16];
    char shard[24];
    char axis[12];
    char split[16];
    char stride[8];
    char dtype[10];
    char algorithm[12];
} bytes_case;

ParameterizedTestParameters(shard, strided_bytes_equal_the_elements_of_the_whole)
{
    static bytes_case cases[] = {
        {"12,5", "1/2", "0", "even", "3", "float32", "chacha20"},
        {"5,12", "1/2", "1", "even", "3", "float16", "mlx"},
        {"4,6,6", "2/3", "1", "even", "2", "bfloat16", "mlx-seeded"},
        {"4,6,6", "0/3", "2", "even", "2", "float64", "chacha20"},
        {"8,12", "1/2,2/3", "0,1", "even", "2", "float32", "chacha20"},
        {"8,12", "1/2,1/3", "1,0", "even,chunk", "3,1", "float32", "mlx"},
        {"16,3", "1/2,0/2", "0,0", "chunk,even", "1,2", "float16", "chacha20"},
        {"7,9", "1/2,3/4", "0,1", "chunk", "1", "float32", "chacha20"},
    };
    return cr_make_param_array(bytes_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bytes_case *c, shard, strided_bytes_equal_the_elements_of_the_whole)
{
    static const char *const formats[] = {"raw", "npy", "safetensors"};
    const char *whole_kv[4] = {"dtype", c->dtype, "algorithm", c->algorithm};
    gp_request whole, part;
    gp_error err = {0};
    static gp_body bw, bp;
    static unsigned char w[65536], all[65536];
    cr_assert_eq(build(&whole, c->shape, whole_kv, 4, &err), GP_OK, "%s", err.message);
    cr_assert_eq(gp_body_init(&bw, &whole, &err), GP_OK);
    read_all(&bw, w, sizeof w);
    for (size_t f = 0; f < 3; f++) {
        const char *kv[14] = {"dtype",  c->dtype,  "algorithm", c->algorithm, "shard",
                              c->shard, "axis",    c->axis,     "split",      c->split,
                              "stride", c->stride, "format",    formats[f]};
        cr_assert_eq(build(&part, c->shape, kv, 14, &err), GP_OK, "%s %s: %s", c->shape, c->shard,
                     err.message);
        cr_assert_eq(gp_body_init(&bp, &part, &err), GP_OK);
        size_t len = read_all(&bp, all, sizeof all);
        cr_assert_eq(len, gp_body_size(&bp));
        unsigned char *want = gather(&part, w);
        cr_assert_eq(len - bp.data_offset, part.out_nbytes);
        cr_assert_arr_eq(all + bp.data_offset, want, part.out_nbytes, "%s %s %s: bytes differ",
                         c->shape, c->shard, formats[f]);
        free(want);
        /* any range equals the same bytes of the whole body */
        for (uint64_t off = 0; off <= len; off += 3)
            for (size_t n = 1; n < 40 && off + n <= len; n += 7) {
                unsigned char piece[64];
                cr_assert_eq(gp_body_read(&bp, off, piece, n), n);
                cr_assert_arr_eq(piece, all + off, n, "%s bytes %llu+%zu", formats[f],
                                 (unsigned long long)off, n);
            }
    }
}
