/*
 * test_sharding.c - slices, shards, byte ranges, HEAD, ETags and digests on
 * a live glorotd:
 *
 * - for random shapes (a seeded PRNG), every dtype and the three algorithms,
 *   every shard of every axis for WORLD 1..7 is fetched and the parts are
 *   concatenated along the axis: the result is the whole tensor, byte for
 *   byte (parts that array_split leaves empty are answered with no bytes);
 * - random slices (negative, omitted, out-of-range bounds, fewer axes) equal
 *   numpy's slicing of the whole, checked by tests/py/check_slices.py,
 *   empty selections included (a zero-size array, as numpy gives);
 * - byte ranges of raw, npy and safetensors bodies equal the same bytes of
 *   the whole answer: first and last byte, suffixes, open ends, ranges
 *   across the header/data border and across element borders, clamped ends,
 *   416 out of range, several ranges and invalid ones (200), If-Range;
 * - HEAD and 304 generate nothing (the /metrics element counter does not
 *   move; one GET moves it by exactly its elements), HEAD has the GET's
 *   headers, ETag and Cache-Control rules;
 * - /v1/digest equals `sha256sum` of the downloaded bytes.
 *
 * One daemon serves the binary (started before the tests fork); the metrics
 * tests start their own so that no other test's requests move the counter.
 */
#include "test_server_util.h"
#include "test_sharding_util.h"

#include <criterion/parameterized.h>
#include <sys/stat.h>

#define MAX_ELEMENTS "1000000"
#define JSON_CAP "500"

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    static const char *const extra[] = {
        "--threads", "2", "--max-elements", MAX_ELEMENTS, "--max-json-elements", JSON_CAP, NULL};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ts_shared_start(extra);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    ts_shared_stop();
}

/* "d0,d1,..." with rank 2..max_rank and dimensions 1..max_dim. */
static size_t random_shape(uint64_t *s, size_t max_rank, uint64_t max_dim, uint64_t *dims,
                           char *text, size_t size)
{
    size_t rank = 2 + (size_t)(sh_rand(s) % (max_rank - 1)), used = 0;
    for (size_t i = 0; i < rank; i++) {
        dims[i] = 1 + sh_rand(s) % max_dim;
        used += (size_t)snprintf(text + used, size - used, "%s%llu", i ? "," : "",
                                 (unsigned long long)dims[i]);
    }
    return rank;
}

/* ---- shards concatenate to the whole ----------------------------------------------- */

typedef struct {
    char algorithm[12];
    char dtype[10];
    uint64_t seed; /* for the shape */
} shard_case;

ParameterizedTestParameters(sharding, shards_concatenate_to_the_whole)
{
    static shard_case cases[] = {
        {"chacha20", "float32", 1},   {"chacha20", "float16", 2}, {"chacha20", "bfloat16", 3},
        {"chacha20", "float64", 4},   {"mlx", "float32", 5},      {"mlx", "bfloat16", 6},
        {"mlx-seeded", "float16", 7},
    };
    return cr_make_param_array(shard_case, cases, sizeof cases / sizeof cases[0]);
}

/* Copy a part (count entries along axis, from start) into its place in the
 * whole: numpy.concatenate written out. */
static void place(unsigned char *whole, const unsigned char *part, const uint64_t *dims,
                  size_t rank, size_t axis, uint64_t start, uint64_t count, size_t es)
{
    uint64_t outer = 1, inner = es;
    for (size_t i = 0; i < axis; i++)
        outer *= dims[i];
    for (size_t i = axis + 1; i < rank; i++)
        inner *= dims[i];
    for (uint64_t o = 0; o < outer; o++)
        memcpy(whole + (o * dims[axis] + start) * inner, part + o * count * inner,
               (size_t)(count * inner));
}

ParameterizedTest(shard_case *c, sharding, shards_concatenate_to_the_whole)
{
    CURL *h = curl_easy_init();
    uint64_t s = c->seed, dims[GP_MAX_RANK];
    char shape[64], query[512], bounds[256];
    size_t rank = random_shape(&s, 3, 9, dims, shape, sizeof shape);
    size_t es = strcmp(c->dtype, "float64") == 0 ? 8 : strcmp(c->dtype, "float32") == 0 ? 4 : 2;
    sh_resp whole = {0}, part = {0};
    snprintf(query, sizeof query, "shape=%s&seed=%llu&algorithm=%s&dtype=%s", shape,
             (unsigned long long)c->seed, c->algorithm, c->dtype);
    sh_get(h, &whole, ts_url(), query, NULL);
    cr_assert_eq(whole.status, 200, "%s: %s", query, whole.body);
    unsigned char *joined = malloc(whole.len);
    for (size_t axis = 0; axis < rank; axis++) {
        for (uint64_t world = 1; world <= 7; world++) {
            memset(joined, 0xEE, whole.len);
            uint64_t next = 0;
            for (uint64_t k = 0; k < world; k++) {
                uint64_t count = dims[axis] / world + (k < dims[axis] % world ? 1 : 0);
                char q[640];
                /* axis 0 is the default: leave it out for odd worlds */
                if (axis == 0 && world % 2 == 1)
                    snprintf(q, sizeof q, "%s&shard=%llu/%llu", query, (unsigned long long)k,
                             (unsigned long long)world);
                else
                    snprintf(q, sizeof q, "%s&shard=%llu/%llu&axis=%zu", query,
                             (unsigned long long)k, (unsigned long long)world, axis);
                sh_get(h, &part, ts_url(), q, NULL);
                cr_assert_eq(part.status, 200, "%s: %s", q, part.body);
                size_t used = 0;
                /* an empty part starts at 0 everywhere: its shape alone describes it */
                uint64_t start = count == 0 ? 0 : next;
                for (size_t i = 0; i < rank; i++)
                    used +=
                        (size_t)snprintf(bounds + used, sizeof bounds - used, "%s%llu:%llu",
                                         i ? "," : "", (unsigned long long)(i == axis ? start : 0),
                                         (unsigned long long)(i == axis ? start + count : dims[i]));
                cr_assert_str_eq(sh_must(&part, "Glorot-Slice"), bounds, "%s", q);
                cr_assert_str_eq(sh_must(&part, "Glorot-Shape"), shape, "%s", q);
                cr_assert_eq(part.len * dims[axis], whole.len * count, "%s: %zu bytes", q,
                             part.len);
                place(joined, part.body, dims, rank, axis, next, count, es);
                next += count;
            }
            cr_assert_eq(next, dims[axis]);
            cr_assert_arr_eq(joined, whole.body, whole.len,
                             "%s: the %llu shards of axis %zu do not concatenate to the whole",
                             query, (unsigned long long)world, axis);
        }
    }
    free(joined);
    sh_free(&whole);
    sh_free(&part);
    curl_easy_cleanup(h);
}

/* ---- slices equal numpy's ----------------------------------------------------------- */

typedef struct {
    char algorithm[12];
    char dtype[10];
    char format[12];
    uint64_t seed;
} slice_case;

ParameterizedTestParameters(sharding, slices_equal_numpy)
{
    static slice_case cases[] = {
        {"chacha20", "float32", "npy", 11},
        {"chacha20", "float64", "safetensors", 12},
        {"mlx", "bfloat16", "npy", 13},
        {"mlx", "float16", "safetensors", 14},
        {"mlx-seeded", "float32", "safetensors", 15},
        {"chacha20", "bfloat16", "safetensors", 16},
    };
    return cr_make_param_array(slice_case, cases, sizeof cases / sizeof cases[0]);
}

/* One bound of a range, written one of the ways numpy reads as the same
 * index: omitted (at an end), plain, negative, or past the end it is at. */
static size_t write_bound(uint64_t *s, uint64_t v, uint64_t dim, int is_stop, char *out,
                          size_t size)
{
    int at_end = is_stop ? v == dim : v == 0;
    long long d = (long long)dim, x = (long long)v;
    switch (sh_rand(s) % 4) {
    case 0:
        if (at_end) {
            out[0] = '\0';
            return 0;
        }
        break;
    case 1:
        if (x < d)
            x -= d; /* negative: counts from the end (-0 would be 0, not the end) */
        break;
    case 2:
        if (at_end)
            x = is_stop ? d + 1 + (long long)(sh_rand(s) % 5)
                        : -d - 1 - (long long)(sh_rand(s) % 5);
        break;
    default:
        break;
    }
    return (size_t)snprintf(out, size, "%lld", x);
}

/* A slice of 1..rank axes; about one in eight selects nothing on some axis. */
static void random_slice(uint64_t *s, const uint64_t *dims, size_t rank, char *text, size_t size)
{
    size_t axes = sh_rand(s) % 4 == 0 ? 1 + (size_t)(sh_rand(s) % rank) : rank, used = 0;
    int empty_axis = sh_rand(s) % 8 == 0 ? (int)(sh_rand(s) % axes) : -1;
    for (size_t i = 0; i < axes; i++) {
        char a[24], b[24];
        uint64_t lo = sh_rand(s) % dims[i], hi = lo + 1 + sh_rand(s) % (dims[i] - lo);
        if ((int)i == empty_axis)
            hi = lo; /* start == stop: nothing */
        write_bound(s, lo, dims[i], 0, a, sizeof a);
        write_bound(s, hi, dims[i], 1, b, sizeof b);
        used += (size_t)snprintf(text + used, size - used, "%s%s:%s", i ? "," : "", a, b);
    }
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

ParameterizedTest(slice_case *c, sharding, slices_equal_numpy)
{
    CURL *h = curl_easy_init();
    uint64_t s = c->seed, dims[GP_MAX_RANK];
    char shape[64], query[512], dir[] = "/tmp/glorot-slices-XXXXXX", path[256], manifest[256];
    size_t rank = random_shape(&s, 4, 12, dims, shape, sizeof shape);
    cr_assert_not_null(mkdtemp(dir));
    snprintf(query, sizeof query, "shape=%s&seed=%llu&algorithm=%s&dtype=%s", shape,
             (unsigned long long)c->seed, c->algorithm, c->dtype);
    sh_resp r = {0};
    char q[1200];
    snprintf(q, sizeof q, "%s&format=npy", query);
    sh_get(h, &r, ts_url(), q, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    snprintf(path, sizeof path, "%s/whole.npy", dir);
    write_file(path, r.body, r.len);
    snprintf(manifest, sizeof manifest, "%s/manifest.tsv", dir);
    FILE *m = fopen(manifest, "w");
    cr_assert_not_null(m);
    int empty = 0, served = 0;
    for (int n = 0; n < 30; n++) {
        char slice[256];
        random_slice(&s, dims, rank, slice, sizeof slice);
        snprintf(q, sizeof q, "%s&format=%s&slice=%s", query, c->format, slice);
        sh_get(h, &r, ts_url(), q, NULL);
        cr_assert_eq(r.status, 200, "%s: %s", q, r.body);
        gp_request part;
        sh_build(q, &part);
        empty += part.out_numel == 0;
        snprintf(path, sizeof path, "%s/part%d.%s", dir, n, c->format);
        write_file(path, r.body, r.len);
        fprintf(m, "%s\t%s\n", slice, path);
        served++;
    }
    cr_assert_eq(fclose(m), 0);
    cr_expect_gt(served, 25, "too few slices were served (%d)", served);
    char script[512], whole[256];
    snprintf(script, sizeof script, "%s/py/check_slices.py", th_env("GLOROT_TESTS"));
    snprintf(whole, sizeof whole, "%s/whole.npy", dir);
    const char *argv[] = {
        th_env("GLOROT_PYTHON"), script, "--whole", whole, "--manifest", manifest, NULL};
    cr_expect_eq(th_run(argv, NULL, 120), 0, "check_slices.py failed for %s (%d empty)", query,
                 empty);
    const char *rm[] = {"rm", "-rf", dir, NULL};
    th_run(rm, NULL, 30);
    sh_free(&r);
    curl_easy_cleanup(h);
}

/* ---- byte ranges ------------------------------------------------------------------------ */

typedef struct {
    char query[200];
    size_t es;
} range_case;

ParameterizedTestParameters(sharding, ranges_equal_the_same_bytes_of_the_whole)
{
    static range_case cases[] = {
        {"shape=33,17&seed=5&format=raw", 4},
        {"shape=33,17&seed=5&format=npy&dtype=float16", 2},
        {"shape=33,17&seed=5&format=safetensors&dtype=float64", 8},
        {"shape=40,30&seed=6&format=npy&algorithm=mlx&slice=3:-4,5:9", 4},
        {"shape=40,30&seed=6&format=safetensors&dtype=bfloat16&shard=2/3&axis=1", 2},
        /* past 256 KiB: streamed block by block rather than generated at once */
        {"shape=300,500&seed=7&format=npy&algorithm=mlx-seeded", 4},
        {"shape=1000,400&seed=7&slice=1:-1,3:-3&dtype=float64", 8},
    };
    return cr_make_param_array(range_case, cases, sizeof cases / sizeof cases[0]);
}

/* Where the tensor bytes start in a binary body. */
static uint64_t data_offset(const sh_resp *whole)
{
    char format[16];
    snprintf(format, sizeof format, "%s", sh_must(whole, "Glorot-Format"));
    if (strcmp(format, "npy") == 0)
        return 10 + (uint64_t)whole->body[8] + 256 * (uint64_t)whole->body[9];
    if (strcmp(format, "safetensors") == 0) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--)
            n = n * 256 + whole->body[i];
        return 8 + n;
    }
    return 0;
}

typedef struct {
    char label[40];
    char range[96];
    long status;
    uint64_t first, last; /* 206 */
} range_probe;

static void expect_probe(CURL *h, const char *query, const sh_resp *whole, const range_probe *p,
                         const char *if_range)
{
    char range_line[128], if_line[160];
    const char *headers[3] = {range_line, NULL, NULL};
    sh_resp r = {0};
    snprintf(range_line, sizeof range_line, "Range: %s", p->range);
    if (if_range != NULL) {
        snprintf(if_line, sizeof if_line, "If-Range: %s", if_range);
        headers[1] = if_line;
    }
    sh_get(h, &r, ts_url(), query, headers);
    cr_assert_eq(r.status, p->status, "%s (%s): status %ld: %s", p->label, p->range, r.status,
                 r.body);
    char want[96];
    if (p->status == 206) {
        snprintf(want, sizeof want, "bytes %llu-%llu/%zu", (unsigned long long)p->first,
                 (unsigned long long)p->last, whole->len);
        cr_expect_str_eq(sh_must(&r, "Content-Range"), want, "%s", p->label);
        cr_assert_eq(r.len, p->last - p->first + 1, "%s", p->label);
        cr_assert_arr_eq(r.body, whole->body + p->first, r.len, "%s: bytes differ", p->label);
        cr_expect_str_eq(sh_must(&r, "ETag"), sh_must(whole, "ETag"));
        cr_expect_str_eq(sh_must(&r, "Accept-Ranges"), "bytes");
    } else if (p->status == 416) {
        snprintf(want, sizeof want, "bytes */%zu", whole->len);
        cr_expect_str_eq(sh_must(&r, "Content-Range"), want, "%s", p->label);
        cr_expect(strstr((char *)r.body, "range_not_satisfiable") != NULL, "%s", r.body);
    } else {
        cr_assert_eq(r.len, whole->len, "%s: not the whole body", p->label);
        cr_assert_arr_eq(r.body, whole->body, whole->len, "%s", p->label);
        cr_expect_eq(sh_header(&r, "Content-Range", want, sizeof want), -1, "%s", p->label);
    }
    sh_free(&r);
}

ParameterizedTest(range_case *c, sharding, ranges_equal_the_same_bytes_of_the_whole)
{
    CURL *h = curl_easy_init();
    sh_resp whole = {0};
    sh_get(h, &whole, ts_url(), c->query, NULL);
    cr_assert_eq(whole.status, 200, "%s", whole.body);
    cr_expect_str_eq(sh_must(&whole, "Accept-Ranges"), "bytes");
    uint64_t size = whole.len, d = data_offset(&whole), es = c->es;
    cr_assert_gt(size, d + 8 * es);
    char etag[64];
    snprintf(etag, sizeof etag, "%s", sh_must(&whole, "ETag"));
    range_probe probes[] = {
        {"first byte", "", 206, 0, 0},
        {"last byte", "", 206, size - 1, size - 1},
        {"suffix of one", "bytes=-1", 206, size - 1, size - 1},
        {"suffix of seven", "bytes=-7", 206, size - 7, size - 1},
        {"suffix past the start", "", 206, 0, size - 1},
        {"open end", "", 206, 3, size - 1},
        {"whole, open", "bytes=0-", 206, 0, size - 1},
        {"header/data border", "", 206, d ? d - 3 : 0, d + 5},
        {"element border", "", 206, d + 3 * es - 1, d + 5 * es + 1},
        {"inside one element", "", 206, d + es + 1, d + es + 1},
        {"end clamped", "", 206, size - 2, size - 1},
        {"case and spaces", "", 206, 1, 2},
        {"start past the end", "", 416, 0, 0},
        {"range past the end", "", 416, 0, 0},
        {"empty suffix", "bytes=-0", 416, 0, 0},
        {"two ranges", "bytes=0-1, 4-5", 200, 0, 0},
        {"last before first", "bytes=9-3", 200, 0, 0},
        {"other unit", "items=0-1", 200, 0, 0},
    };
    size_t n = sizeof probes / sizeof probes[0];
    snprintf(probes[0].range, 96, "bytes=0-0");
    snprintf(probes[1].range, 96, "bytes=%llu-", (unsigned long long)(size - 1));
    snprintf(probes[4].range, 96, "bytes=-%llu", (unsigned long long)(size * 2));
    snprintf(probes[5].range, 96, "bytes=3-");
    snprintf(probes[7].range, 96, "bytes=%llu-%llu", (unsigned long long)probes[7].first,
             (unsigned long long)probes[7].last);
    snprintf(probes[8].range, 96, "bytes=%llu-%llu", (unsigned long long)probes[8].first,
             (unsigned long long)probes[8].last);
    snprintf(probes[9].range, 96, "bytes=%llu-%llu", (unsigned long long)probes[9].first,
             (unsigned long long)probes[9].last);
    snprintf(probes[10].range, 96, "bytes=%llu-%llu", (unsigned long long)(size - 2),
             (unsigned long long)(size + 1000));
    snprintf(probes[11].range, 96, "BYTES=1-2");
    snprintf(probes[12].range, 96, "bytes=%llu-", (unsigned long long)size);
    snprintf(probes[13].range, 96, "bytes=%llu-%llu", (unsigned long long)(size + 5),
             (unsigned long long)(size + 10));
    for (size_t i = 0; i < n; i++)
        expect_probe(h, c->query, &whole, &probes[i], NULL);

    /* If-Range: the ETag gives the range, anything else the whole body */
    range_probe ranged = {"If-Range match", "bytes=5-9", 206, 5, 9};
    range_probe whole_body = {"If-Range mismatch", "bytes=5-9", 200, 0, 0};
    char weak[80];
    snprintf(weak, sizeof weak, "W/%s", etag);
    expect_probe(h, c->query, &whole, &ranged, etag);
    expect_probe(h, c->query, &whole, &whole_body, "\"0123456789abcdef0123456789abcdef\"");
    expect_probe(h, c->query, &whole, &whole_body, weak);
    expect_probe(h, c->query, &whole, &whole_body, "Wed, 21 Oct 2015 07:28:00 GMT");
    sh_free(&whole);
    curl_easy_cleanup(h);
}

Test(sharding, json_and_head_ignore_ranges)
{
    CURL *h = curl_easy_init();
    sh_resp whole = {0}, r = {0};
    const char *range[] = {"Range: bytes=0-3", NULL};
    sh_get(h, &whole, ts_url(), "shape=6,7&seed=3&format=json", NULL);
    cr_assert_eq(whole.status, 200);
    cr_expect_str_eq(sh_must(&whole, "Accept-Ranges"), "none");
    sh_get(h, &r, ts_url(), "shape=6,7&seed=3&format=json", range);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.len, whole.len);
    cr_assert_arr_eq(r.body, whole.body, whole.len);
    sh_request(h, &r, "HEAD", sh_url(ts_url(), "/v1/glorot_uniform", "shape=6,7&seed=3"), range,
               NULL);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(sh_must(&r, "Content-Length"), "168");
    cr_expect_str_eq(sh_must(&r, "Accept-Ranges"), "bytes");
    sh_free(&whole);
    sh_free(&r);
    curl_easy_cleanup(h);
}

Test(sharding, post_ignores_ranges_and_takes_slices)
{
    CURL *h = curl_easy_init();
    sh_resp get = {0}, post = {0};
    const char *range[] = {"Range: bytes=0-3", NULL};
    sh_get(h, &get, ts_url(), "shape=8,9&seed=4&shard=1/3&axis=-1&format=npy", NULL);
    cr_assert_eq(get.status, 200, "%s", get.body);
    sh_request(h, &post, "POST", sh_url(ts_url(), "/v1/glorot_uniform", ""), range,
               "{\"shape\":[8,9],\"seed\":4,\"shard\":\"1/3\",\"axis\":-1,\"format\":\"npy\"}");
    cr_assert_eq(post.status, 200, "%s", post.body);
    cr_assert_eq(post.len, get.len);
    cr_assert_arr_eq(post.body, get.body, get.len);
    cr_expect_str_eq(sh_must(&post, "ETag"), sh_must(&get, "ETag"));
    cr_expect_str_eq(sh_must(&post, "Glorot-Slice"), "0:8,3:6");
    sh_free(&get);
    sh_free(&post);
    curl_easy_cleanup(h);
}

/* ---- refusals over HTTP ------------------------------------------------------------------ */

typedef struct {
    char query[160];
    long status;
    char code[24];
    char param[8];
} refusal_case;

ParameterizedTestParameters(sharding, refusals)
{
    static refusal_case cases[] = {
        {"shape=8,8&slice=1:2&shard=0/2", 400, "invalid_parameter", "shard"},
        {"shape=8,8&axis=1", 400, "invalid_parameter", "axis"},
        {"shape=8,8&shard=0/2&axis=2", 400, "invalid_parameter", "axis"},
        {"shape=3,8&shard=3/4&split=even", 400, "invalid_parameter", "shard"},
        {"shape=8,8&slice=5:7;6:8", 400, "invalid_parameter", "slice"},
        {"shape=8,8&slice=1:2:1", 400, "invalid_parameter", "slice"},
        {"shape=8,8&slice=1:2,:,:", 400, "invalid_parameter", "slice"},
        {"shape=8,8&shard=1", 400, "invalid_parameter", "shard"},
        {"shape=10000,1000&slice=0:1001", 413, "too_large", "shape"},
        {"shape=10000,1000&shard=0/9", 413, "too_large", "shape"},
        {"shape=100,100&slice=0:6&format=json", 413, "too_large", "shape"},
        {"shape=65536,65537&slice=0:1&algorithm=mlx", 422, "unsupported", "shape"},
    };
    return cr_make_param_array(refusal_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(refusal_case *c, sharding, refusals)
{
    CURL *h = curl_easy_init();
    sh_resp r = {0};
    char want[64];
    sh_get(h, &r, ts_url(), c->query, NULL);
    cr_expect_eq(r.status, c->status, "%s: %ld %s", c->query, r.status, r.body);
    snprintf(want, sizeof want, "\"code\":\"%s\"", c->code);
    cr_expect(strstr((char *)r.body, want) != NULL, "%s: %s", c->query, r.body);
    snprintf(want, sizeof want, "\"param\":\"%s\"", c->param);
    cr_expect(strstr((char *)r.body, want) != NULL, "%s: %s", c->query, r.body);
    sh_free(&r);
    curl_easy_cleanup(h);
}

/* The caps follow the part: a small slice of a tensor far above the cap. */
Test(sharding, small_part_of_a_huge_tensor)
{
    CURL *h = curl_easy_init();
    sh_resp r = {0};
    sh_get(h, &r, ts_url(), "shape=1000000,1000000&seed=8&slice=999998:,-3:&dtype=float16", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(r.len, 2 * 3 * 2);
    gp_request req;
    sh_build("shape=1000000,1000000&seed=8&slice=999998:,-3:&dtype=float16", &req);
    size_t len;
    unsigned char *want = ts_body(&req, &len);
    cr_assert_eq(len, r.len);
    cr_expect_arr_eq(r.body, want, len);
    cr_expect_str_eq(sh_must(&r, "Glorot-Slice"), "999998:1000000,999997:1000000");
    free(want);
    sh_free(&r);
    curl_easy_cleanup(h);
}

/* ---- digests ----------------------------------------------------------------------------- */

typedef struct {
    char query[160];
} digest_case;

ParameterizedTestParameters(sharding, digest_matches_sha256sum)
{
    static digest_case cases[] = {
        {"shape=64,48&seed=1"},
        {"shape=64,48&seed=1&format=npy&dtype=bfloat16"},
        {"shape=64,48&seed=1&format=safetensors&algorithm=mlx&slice=10:20,-5:"},
        {"shape=20,10&seed=1&format=json&dtype=float16&shard=1/3"},
        {"shape=9,8,7&seed=2&format=npy&algorithm=mlx-seeded&call=2&shard=2/5&axis=2"},
    };
    return cr_make_param_array(digest_case, cases, sizeof cases / sizeof cases[0]);
}

/* sha256sum's hex digest of a file. */
static void sha256sum(const char *path, char hex[65])
{
    char out[300];
    snprintf(out, sizeof out, "%s.sum", path);
    const char *argv[] = {"sha256sum", path, NULL};
    cr_assert_eq(th_run(argv, out, 30), 0, "sha256sum failed");
    unsigned char *text = th_read_file(out, NULL);
    cr_assert_not_null(text);
    memcpy(hex, text, 64);
    hex[64] = '\0';
    free(text);
    unlink(out);
}

ParameterizedTest(digest_case *c, sharding, digest_matches_sha256sum)
{
    CURL *h = curl_easy_init();
    sh_resp body = {0}, digest = {0}, head = {0}, post = {0};
    char path[] = "/tmp/glorot-digest-XXXXXX", hex[65];
    sh_get(h, &body, ts_url(), c->query, NULL);
    cr_assert_eq(body.status, 200, "%s", body.body);
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, body.body, body.len), (ssize_t)body.len);
    close(fd);
    sha256sum(path, hex);
    unlink(path);

    sh_request(h, &digest, "GET", sh_url(ts_url(), "/v1/digest", c->query), NULL, NULL);
    cr_assert_eq(digest.status, 200, "%s", digest.body);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)digest.body, digest.len, 0, &jerr);
    const char *sha = NULL, *etag = NULL, *canonical = NULL, *seed = NULL, *repr = NULL;
    json_int_t length = -1;
    cr_assert_eq(json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:I, s:s, s:s, s:s, s:s}", "sha256",
                                &sha, "length", &length, "etag", &etag, "canonical", &canonical,
                                "seed", &seed, "repr_digest", &repr),
                 0, "%s: %s", jerr.text, digest.body);
    cr_expect_str_eq(sha, hex, "%s: digest differs from sha256sum", c->query);
    unsigned char bin[32], from_hex[32];
    cr_expect_eq(gp_digest_field_find(repr, strlen(repr), GP_DIGEST_SHA256, bin), 1, "%s", repr);
    for (size_t i = 0; i < 32; i++)
        sscanf(hex + 2 * i, "%2hhx", &from_hex[i]);
    cr_expect_eq(memcmp(bin, from_hex, 32), 0, "repr_digest %s is not sha256sum's %s", repr, hex);
    cr_expect_eq(length, (json_int_t)body.len);
    cr_expect_str_eq(etag, sh_must(&body, "ETag"));
    cr_expect_str_eq(canonical, sh_must(&body, "Glorot-Canonical"));
    cr_expect_str_eq(seed, sh_must(&body, "Glorot-Seed"));
    cr_expect_str_eq(sh_must(&digest, "Cache-Control"), "public, max-age=31536000, immutable");

    /* HEAD: the same length, nothing computed; POST: the same answer */
    sh_request(h, &head, "HEAD", sh_url(ts_url(), "/v1/digest", c->query), NULL, NULL);
    cr_expect_eq(head.status, 200);
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", digest.len);
    cr_expect_str_eq(sh_must(&head, "Content-Length"), cl);
    sh_request(h, &post, "POST", sh_url(ts_url(), "/v1/digest", c->query), NULL, "{}");
    cr_expect_eq(post.status, 200, "%s", post.body);
    cr_expect_str_eq((char *)post.body, (char *)digest.body);
    json_decref(doc);
    sh_free(&body);
    sh_free(&digest);
    sh_free(&head);
    sh_free(&post);
    curl_easy_cleanup(h);
}

/* ---- HEAD, ETags, 304 and the generation counter ------------------------------------------- */

/* A daemon of the test's own: its counter moves only with this test's requests. */
static th_daemon own;

static const char *own_start(void)
{
    static const char *const extra[] = {"--threads", "1", NULL};
    cr_assert_eq(th_daemon_start(&own, extra), 0);
    return own.base_url;
}

/* Every header line of a GET but Date, X-Request-Id and the chunked framing
 * of json (a HEAD of unknown length has none: see stream.c) is in the HEAD
 * answer, with the same value. */
static void expect_same_headers(const sh_resp *get, const sh_resp *head)
{
    size_t lines = 0;
    for (const char *line = get->head; *line != '\0';) {
        size_t len = strcspn(line, "\r\n");
        const char *colon = memchr(line, ':', len);
        if (colon != NULL && strncasecmp(line, "Date:", 5) != 0 &&
            strncasecmp(line, "X-Request-Id:", 13) != 0 &&
            strncasecmp(line, "Transfer-Encoding:", 18) != 0) {
            char name[64], value[2048];
            snprintf(name, sizeof name, "%.*s", (int)(colon - line), line);
            cr_expect_eq(sh_header(head, name, value, sizeof value), 0, "HEAD lacks %s", name);
            cr_expect(strncmp(value, colon + 2, (size_t)(line + len - colon - 2)) == 0 &&
                          strlen(value) == (size_t)(line + len - colon - 2),
                      "%s differs: %s", name, value);
            lines++;
        }
        line += len;
        while (*line == '\r' || *line == '\n')
            line++;
    }
    cr_expect_gt(lines, 15, "too few headers compared");
}

Test(sharding, head_and_304_generate_nothing)
{
    const char *base = own_start();
    static const char *const queries[] = {
        "shape=300,200&seed=9",
        "shape=300,200&seed=9&format=npy&dtype=float16&slice=10:-10",
        "shape=300,200&seed=9&format=safetensors&algorithm=mlx&shard=1/4",
        "shape=30,20&seed=9&format=json",
    };
    CURL *h = curl_easy_init();
    sh_resp get = {0}, r = {0};
    char etags[4][256];
    uint64_t before = sh_generated(h, base);
    for (size_t i = 0; i < 4; i++) {
        sh_request(h, &r, "HEAD", sh_url(base, "/v1/glorot_uniform", queries[i]), NULL, NULL);
        cr_assert_eq(r.status, 200, "%s", queries[i]);
        snprintf(etags[i], sizeof etags[i], "%s", sh_must(&r, "ETag"));
        if (strstr(queries[i], "json") != NULL)
            continue; /* a json digest's length is only known once computed */
        sh_request(h, &r, "HEAD", sh_url(base, "/v1/digest", queries[i]), NULL, NULL);
        cr_assert_eq(r.status, 200, "%s", queries[i]);
    }
    cr_assert_eq(sh_generated(h, base), before, "HEAD generated elements");
    for (size_t i = 0; i < 4; i++) {
        char line[1100], weak[1100], list[1200];
        snprintf(line, sizeof line, "If-None-Match: %s", etags[i]);
        snprintf(weak, sizeof weak, "If-None-Match: W/%s", etags[i]);
        snprintf(list, sizeof list, "If-None-Match: \"nope\", %s", etags[i]);
        const char *const variants[][2] = {
            {line, NULL}, {weak, NULL}, {list, NULL}, {"If-None-Match: *", NULL}};
        for (size_t v = 0; v < 4; v++) {
            sh_get(h, &r, base, queries[i], variants[v]);
            cr_assert_eq(r.status, 304, "%s with %s: %ld", queries[i], variants[v][0], r.status);
            cr_expect_eq(r.len, 0);
            cr_expect_str_eq(sh_must(&r, "ETag"), etags[i]);
            cr_expect_str_eq(sh_must(&r, "Cache-Control"), "public, max-age=31536000, immutable");
        }
        sh_request(h, &r, "HEAD", sh_url(base, "/v1/glorot_uniform", queries[i]),
                   (const char *const[]){line, NULL}, NULL);
        cr_expect_eq(r.status, 304, "HEAD %s", queries[i]);
    }
    cr_assert_eq(sh_generated(h, base), before, "304 generated elements");

    /* the control: a GET moves the counter by exactly its elements */
    for (size_t i = 0; i < 4; i++) {
        gp_request req;
        sh_build(queries[i], &req);
        sh_get(h, &get, base, queries[i], NULL);
        cr_assert_eq(get.status, 200);
        uint64_t after = sh_generated(h, base);
        cr_expect_eq(after - before, req.out_numel, "%s", queries[i]);
        before = after;
        sh_request(h, &r, "HEAD", sh_url(base, "/v1/glorot_uniform", queries[i]), NULL, NULL);
        expect_same_headers(&get, &r);
        char length[32];
        if (req.format != GP_FORMAT_JSON) {
            snprintf(length, sizeof length, "%zu", get.len);
            cr_expect_str_eq(sh_must(&r, "Content-Length"), length, "%s", queries[i]);
        }
        const char *none[] = {NULL, NULL};
        char line[1100];
        snprintf(line, sizeof line, "If-None-Match: %s", etags[i]);
        none[0] = line;
        sh_get(h, &r, base, queries[i], none);
        if (req.format != GP_FORMAT_JSON)
            cr_expect_str_eq(sh_must(&r, "Content-Length"), length,
                             "a 304 may only carry the "
                             "200's length");
    }
    cr_assert_eq(sh_generated(h, base), before);
    sh_free(&get);
    sh_free(&r);
    curl_easy_cleanup(h);
    th_daemon_stop(&own);
}

Test(sharding, etag_and_cache_rules)
{
    CURL *h = curl_easy_init();
    sh_resp a = {0}, b = {0};
    /* a drawn seed: no-store, and the ETag of the same request with that seed */
    sh_get(h, &a, ts_url(), "shape=12,10&format=npy", NULL);
    cr_assert_eq(a.status, 200);
    cr_expect_str_eq(sh_must(&a, "Cache-Control"), "no-store");
    char query[128];
    snprintf(query, sizeof query, "shape=12,10&format=npy&seed=%s", sh_must(&a, "Glorot-Seed"));
    sh_get(h, &b, ts_url(), query, NULL);
    cr_expect_str_eq(sh_must(&b, "Cache-Control"), "public, max-age=31536000, immutable");
    cr_expect_str_eq(sh_must(&b, "ETag"), sh_must(&a, "ETag"));
    cr_expect_str_eq(sh_must(&b, "Glorot-Canonical"), sh_must(&a, "Glorot-Canonical"));
    cr_assert_arr_eq(a.body, b.body, a.len);
    /* a shard and the slice it resolves to are the same representation */
    sh_get(h, &a, ts_url(), "shape=12,10&seed=1&shard=1/3", NULL);
    sh_get(h, &b, ts_url(), "shape=12,10&seed=1&slice=4:8", NULL);
    cr_expect_str_eq(sh_must(&b, "ETag"), sh_must(&a, "ETag"));
    /* a whole-tensor slice is the whole tensor */
    sh_get(h, &a, ts_url(), "shape=12,10&seed=1&slice=:", NULL);
    sh_get(h, &b, ts_url(), "shape=12,10&seed=1", NULL);
    cr_expect_str_eq(sh_must(&b, "ETag"), sh_must(&a, "ETag"));
    cr_expect_str_eq(sh_must(&a, "Glorot-Slice"), "0:12,0:10");
    cr_expect_eq(sh_header(&b, "Glorot-Slice", query, sizeof query), -1);
    /* the format changes the ETag; Vary only when Accept chose the format */
    cr_expect_str_eq(sh_must(&b, "Vary"), "Accept");
    sh_get(h, &a, ts_url(), "shape=12,10&seed=1&format=raw", NULL);
    cr_expect_eq(sh_header(&a, "Vary", query, sizeof query), -1);
    cr_expect_str_eq(sh_must(&a, "ETag"), sh_must(&b, "ETag"));
    sh_get(h, &a, ts_url(), "shape=12,10&seed=1&format=npy", NULL);
    cr_expect_str_neq(sh_must(&a, "ETag"), sh_must(&b, "ETag"));
    /* POST with a matching If-None-Match: 412 */
    char line[2100];
    snprintf(line, sizeof line, "If-None-Match: %s", sh_must(&a, "ETag"));
    sh_request(h, &b, "POST", sh_url(ts_url(), "/v1/glorot_uniform", ""),
               (const char *const[]){line, NULL},
               "{\"shape\":[12,10],\"seed\":1,\"format\":\"npy\"}");
    cr_expect_eq(b.status, 412, "%s", b.body);
    cr_expect(strstr((char *)b.body, "precondition_failed") != NULL, "%s", b.body);
    sh_free(&a);
    sh_free(&b);
    curl_easy_cleanup(h);
}
