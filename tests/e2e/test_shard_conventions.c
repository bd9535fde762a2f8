/*
 * test_shard_conventions.c - the frameworks' shard conventions over HTTP on
 * a live glorotd:
 *
 * - every rank of every axis, for worlds 1..5 and one past the axis length
 *   (trailing parts empty), with split=array_split, chunk and even (strides
 *   1-3; the combinations Megatron refuses are 400), two-axis meshes and a
 *   shard of a shard on one axis, in npy, safetensors, raw and json: each
 *   part and its Glorot-Slice are checked by tests/py/check_shards.py
 *   against numpy.array_split, torch.chunk and Megatron's split (torch)
 *   applied to the whole tensor;
 * - empty parts in every format, Range and HEAD on them, the Glorot-Shard
 *   header, the JSON body forms of shard (object, list) against the query,
 *   and refusals naming the parameter and the rule.
 */
#include "test_server_util.h"
#include "test_sharding_util.h"

#include <criterion/parameterized.h>
#include <sys/stat.h>

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    static const char *const extra[] = {"--threads", "2", NULL};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ts_shared_start(extra);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    ts_shared_stop();
}

/* ---- every convention against the frameworks ---------------------------------------- */

typedef struct {
    char shape[24];
    char algorithm[12];
    char dtype[10];
    char formats[4][12]; /* used in turn */
    uint64_t seed;
} conv_case;

ParameterizedTestParameters(conventions, parts_equal_torch_and_numpy)
{
    static conv_case cases[] = {
        {"12,6", "chacha20", "float64", {"npy", "json", "safetensors", "raw"}, 1},
        {"7,10,4", "chacha20", "float32", {"npy", "safetensors", "raw", "npy"}, 2},
        {"6,9", "mlx", "bfloat16", {"safetensors", "npy", "raw", "npy"}, 3},
        {"5,8,6", "mlx-seeded", "float16", {"npy", "raw", "safetensors", "npy"}, 4},
    };
    return cr_make_param_array(conv_case, cases, sizeof cases / sizeof cases[0]);
}

typedef struct {
    CURL *h;
    const conv_case *c;
    char dir[64];
    FILE *manifest;
    size_t count, refused, empty;
} run;

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static const char *extension(const char *format)
{
    return strcmp(format, "raw") == 0 ? "bin" : format;
}

/* Ask for one part ("-" = key not sent) and list it in the manifest. */
static void ask(run *u, const char *shard, const char *axis, const char *split, const char *stride)
{
    const char *format = u->c->formats[u->count % 4];
    char query[512], path[128];
    sh_resp r = {0};
    int n = snprintf(query, sizeof query,
                     "shape=%s&seed=%llu&algorithm=%s&dtype=%s&format=%s"
                     "&shard=%s",
                     u->c->shape, (unsigned long long)u->c->seed, u->c->algorithm, u->c->dtype,
                     format, shard);
    if (strcmp(axis, "-") != 0)
        n += snprintf(query + n, sizeof query - (size_t)n, "&axis=%s", axis);
    if (strcmp(split, "-") != 0)
        n += snprintf(query + n, sizeof query - (size_t)n, "&split=%s", split);
    if (strcmp(stride, "-") != 0)
        snprintf(query + n, sizeof query - (size_t)n, "&stride=%s", stride);
    sh_get(u->h, &r, ts_url(), query, NULL);
    u->count++;
    if (r.status == 400) {
        cr_assert(strstr((char *)r.body, "split=even") != NULL ||
                      strstr((char *)r.body, "needs split=even") != NULL,
                  "%s: %s", query, r.body);
        fprintf(u->manifest, "%s\t%s\t%s\t%s\t-\tREFUSED\n", shard, axis, split, stride);
        u->refused++;
        sh_free(&r);
        return;
    }
    cr_assert_eq(r.status, 200, "%s: %s", query, r.body);
    snprintf(path, sizeof path, "%s/p%zu.%s", u->dir, u->count, extension(format));
    write_file(path, r.body, r.len);
    fprintf(u->manifest, "%s\t%s\t%s\t%s\t%s\t%s\n", shard, axis, split, stride,
            sh_must(&r, "Glorot-Slice"), path);
    gp_request want;
    sh_build(query, &want);
    u->empty += want.out_numel == 0;
    sh_free(&r);
}

static size_t parse_dims(const char *shape, uint64_t *dims)
{
    size_t rank = 0;
    for (const char *p = shape; *p; p += strspn(p, ","))
        dims[rank++] = strtoull(p, (char **)&p, 10);
    return rank;
}

/* Worlds 1..5 and one past the axis length (all trailing parts empty). */
static const uint64_t *worlds_for(uint64_t n, size_t *count)
{
    static uint64_t w[6] = {1, 2, 3, 4, 5, 0};
    w[5] = n + 1;
    *count = 6;
    return w;
}

static void one_axis(run *u, size_t axis, uint64_t n, int negative, size_t rank)
{
    static const char *const splits[] = {"array_split", "chunk", "even"};
    char ax[24];
    snprintf(ax, sizeof ax, "%lld", negative ? (long long)axis - (long long)rank : (long long)axis);
    size_t nw;
    const uint64_t *worlds = worlds_for(n, &nw);
    for (size_t s = 0; s < 3; s++)
        for (uint64_t stride = 1; stride <= (s == 2 ? 3u : 1u); stride++)
            for (size_t wi = 0; wi < nw; wi++)
                for (uint64_t r = 0; r < worlds[wi]; r++) {
                    char shard[48], st[8];
                    snprintf(shard, sizeof shard, "%llu/%llu", (unsigned long long)r,
                             (unsigned long long)worlds[wi]);
                    snprintf(st, sizeof st, "%llu", (unsigned long long)stride);
                    /* the defaults stay unsent now and then: axis 0, array_split, stride 1 */
                    int plain = (r + wi) % 3 == 0;
                    ask(u, shard, axis == 0 && plain ? "-" : ax, s == 0 && plain ? "-" : splits[s],
                        stride == 1 && plain ? "-" : st);
                }
    /* torch.chunk has no stride: refused, and the checker agrees */
    ask(u, "0/2", ax, "chunk", "2");
}

/* A 2-D mesh over axes a and b, every coordinate, one split per axis. */
static void mesh(run *u, size_t a, size_t b, uint64_t wa, uint64_t wb, const char *split,
                 const char *stride)
{
    char axes[16];
    snprintf(axes, sizeof axes, "%zu,%zu", a, b);
    for (uint64_t i = 0; i < wa; i++)
        for (uint64_t j = 0; j < wb; j++) {
            char shard[96];
            snprintf(shard, sizeof shard, "%llu/%llu,%llu/%llu", (unsigned long long)i,
                     (unsigned long long)wa, (unsigned long long)j, (unsigned long long)wb);
            ask(u, shard, axes, split, stride);
        }
}

/* The checker's exit status for a manifest in the run's directory; its
 * summary goes to out (NULL: inherited stdout). */
static int run_checker(run *u, const char *whole, const char *name, const char *out)
{
    char script[512], manifest[128];
    snprintf(script, sizeof script, "%s/py/check_shards.py", th_env("GLOROT_TESTS"));
    snprintf(manifest, sizeof manifest, "%s/%s", u->dir, name);
    const char *argv[] = {th_env("GLOROT_PYTHON"), script, "--whole", whole, "--manifest", manifest,
                          out ? "--quiet" : NULL,  NULL};
    return th_run(argv, out, 300);
}

/* "0:d0,0:d1,..." */
static const char *whole_slice(const uint64_t *dims, size_t rank)
{
    static char text[256];
    size_t used = 0;
    for (size_t i = 0; i < rank; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s0:%llu", i ? "," : "",
                                 (unsigned long long)dims[i]);
    return text;
}

ParameterizedTest(conv_case *c, conventions, parts_equal_torch_and_numpy)
{
    run u = {.h = curl_easy_init(), .c = c};
    uint64_t dims[GP_MAX_RANK];
    size_t rank = parse_dims(c->shape, dims);
    char whole[128], query[256], manifest[128];
    snprintf(u.dir, sizeof u.dir, "/tmp/glorot-conv-XXXXXX");
    cr_assert_not_null(mkdtemp(u.dir));
    sh_resp r = {0};
    snprintf(query, sizeof query, "shape=%s&seed=%llu&algorithm=%s&dtype=%s&format=npy", c->shape,
             (unsigned long long)c->seed, c->algorithm, c->dtype);
    sh_get(u.h, &r, ts_url(), query, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    snprintf(whole, sizeof whole, "%s/whole.npy", u.dir);
    write_file(whole, r.body, r.len);
    sh_free(&r);
    snprintf(manifest, sizeof manifest, "%s/manifest.tsv", u.dir);
    u.manifest = fopen(manifest, "w");
    cr_assert_not_null(u.manifest);

    for (size_t a = 0; a < rank; a++)
        one_axis(&u, a, dims[a], a % 2 == 1, rank);
    for (size_t a = 0; a < rank; a++)
        for (size_t b = 0; b < rank; b++)
            if (a != b) {
                mesh(&u, a, b, 2, 3, "chunk", "-");
                mesh(&u, a, b, 3, 2, "array_split,even", "-");
                mesh(&u, a, b, dims[a] + 1, 2, "chunk,even", "1,2");
            }
    /* a shard of a shard: FSDP2 (chunk) over tensor-parallel rows, and
     * Megatron's strided split of an FSDP part */
    mesh(&u, 0, 0, 2, 2, "chunk", "-");
    mesh(&u, 0, 0, 2, 3, "chunk", "-");
    mesh(&u, 1, 1, 2, 2, "chunk,even", "1,2");
    cr_assert_eq(fclose(u.manifest), 0);
    cr_expect_gt(u.empty, 5, "too few empty parts were asked for (%zu)", u.empty);
    cr_expect_gt(u.refused, 5, "too few refusals were asked for (%zu)", u.refused);
    cr_expect_lt(u.refused, u.count * 2 / 3, "too many refusals (%zu of %zu)", u.refused, u.count);
    cr_expect_eq(run_checker(&u, whole, "manifest.tsv", NULL), 0,
                 "check_shards.py failed for %s (%zu parts)", c->shape, u.count);
    /* the checker itself can fail: a wrong Glorot-Slice with another part's
     * bytes, a part it would serve listed as refused, the whole tensor's
     * bytes for a rank's part: three lines, five failures (shape and
     * Glorot-Slice for the first and the last) */
    char path[128], out[128];
    snprintf(path, sizeof path, "%s/wrong.tsv", u.dir);
    snprintf(out, sizeof out, "%s/wrong.out", u.dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "0/2\t-\tchunk\t-\t0:1,0:1\t%s\n", whole);
    fprintf(f, "0/1\t-\t-\t-\t-\tREFUSED\n");
    fprintf(f, "1/2\t0\tarray_split\t1\t%s\t%s\n", whole_slice(dims, rank), whole);
    cr_assert_eq(fclose(f), 0);
    cr_expect_eq(run_checker(&u, whole, "wrong.tsv", out), 1);
    unsigned char *said = th_read_file(out, NULL);
    cr_assert_not_null(said);
    cr_expect(strstr((char *)said, "3 parts checked, 5 failures") != NULL, "%s", said);
    free(said);
    const char *rm[] = {"rm", "-rf", u.dir, NULL};
    th_run(rm, NULL, 30);
    curl_easy_cleanup(u.h);
}

/* ---- empty parts --------------------------------------------------------------------- */

Test(conventions, empty_parts_over_http)
{
    CURL *h = curl_easy_init();
    sh_resp r = {0};
    const char *base = "shape=5,3&seed=2&shard=3/4&split=chunk";
    char q[256];
    /* raw: no bytes at all */
    snprintf(q, sizeof q, "%s&format=raw", base);
    sh_get(h, &r, ts_url(), q, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_expect_eq(r.len, 0);
    cr_expect_str_eq(sh_must(&r, "Content-Length"), "0");
    cr_expect_str_eq(sh_must(&r, "Glorot-Slice"), "0:0,0:3");
    cr_expect_str_eq(sh_must(&r, "Glorot-Shape"), "5,3");
    cr_expect_str_eq(sh_must(&r, "Glorot-Shard"), "3/4; axis=0; split=chunk; stride=1");
    cr_expect(strstr(sh_must(&r, "Content-Disposition"), "_slice0-0x0-3.bin") != NULL);
    /* any range of a 0-byte representation is unsatisfiable (RFC 9110 14.1.2) */
    static const char *const ranges[] = {"Range: bytes=0-", "Range: bytes=0-0", "Range: bytes=-1"};
    for (size_t i = 0; i < 3; i++) {
        sh_get(h, &r, ts_url(), q, (const char *const[]){ranges[i], NULL});
        cr_expect_eq(r.status, 416, "%s: %ld", ranges[i], r.status);
        cr_expect_str_eq(sh_must(&r, "Content-Range"), "bytes */0");
    }
    sh_request(h, &r, "HEAD", sh_url(ts_url(), "/v1/glorot_uniform", q), NULL, NULL);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(sh_must(&r, "Content-Length"), "0");
    /* npy, safetensors, json: a header describing shape (0, 3), nothing after it */
    snprintf(q, sizeof q, "%s&format=npy", base);
    sh_get(h, &r, ts_url(), q, NULL);
    cr_assert_eq(r.status, 200);
    size_t hl = 10 + r.body[8] + 256u * r.body[9];
    cr_expect_eq(r.len, hl);
    cr_expect(strstr((char *)r.body + 10, "'shape': (0, 3), }") != NULL, "%s", r.body + 10);
    snprintf(q, sizeof q, "%s&format=safetensors", base);
    sh_get(h, &r, ts_url(), q, NULL);
    cr_assert_eq(r.status, 200);
    cr_expect(strstr((char *)r.body + 8, "\"shape\":[0,3],\"data_offsets\":[0,0]") != NULL, "%s",
              r.body + 8);
    snprintf(q, sizeof q, "%s&format=json", base);
    sh_get(h, &r, ts_url(), q, NULL);
    cr_assert_eq(r.status, 200);
    cr_expect(strstr((char *)r.body, "\"shape\":[0,3],") != NULL, "%s", r.body);
    cr_expect(strstr((char *)r.body, "\"data\":[]}\n") != NULL, "%s", r.body);
    /* a slice numpy reads as empty is empty too, and the same representation */
    char etag[64];
    snprintf(etag, sizeof etag, "%s", sh_must(&r, "ETag"));
    sh_get(h, &r, ts_url(), "shape=5,3&seed=2&slice=4:2&format=json", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_expect_str_eq(sh_must(&r, "ETag"), etag);
    /* a digest of nothing */
    sh_request(h, &r, "GET", sh_url(ts_url(), "/v1/digest", "shape=5,3&seed=2&slice=4:2"), NULL,
               NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_expect(strstr((char *)r.body,
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") != NULL,
              "the SHA-256 of no bytes: %s", r.body);
    sh_free(&r);
    curl_easy_cleanup(h);
}

/* ---- the JSON body forms --------------------------------------------------------------- */

typedef struct {
    char query[128];
    char body[320];
} form_case;

ParameterizedTestParameters(conventions, json_forms_equal_the_query)
{
    static form_case cases[] = {
        {"shape=12,6&seed=3&shard=1/2&split=even&stride=3",
         "{\"shape\":[12,6],\"seed\":3,\"shard\":{\"rank\":1,\"world\":2,\"split\":\"even\","
         "\"stride\":3}}"},
        {"shape=12,6&seed=3&shard=1/2,2/4&axis=0,1&split=chunk",
         "{\"shape\":[12,6],\"seed\":3,\"shard\":[{\"rank\":1,\"world\":2,\"axis\":0,"
         "\"split\":\"chunk\"},{\"rank\":2,\"world\":4,\"axis\":1,\"split\":\"chunk\"}]}"},
        {"shape=12,6&seed=3&shard=1/2,2/4&axis=0,1&split=chunk",
         "{\"shape\":[12,6],\"seed\":3,\"shard\":\"1/2,2/4\",\"axis\":[0,1],"
         "\"split\":\"chunk\"}"},
        {"shape=12,6&seed=3&shard=0/2,1/3&axis=1,0&split=even,chunk&stride=3,1",
         "{\"shape\":[12,6],\"seed\":3,\"shard\":\"0/2,1/3\",\"axis\":[1,0],"
         "\"split\":[\"even\",\"chunk\"],\"stride\":[3,1]}"},
        {"shape=12,6&seed=3&shard=1/3&axis=-1", "{\"shape\":[12,6],\"seed\":3,\"shard\":\"1/3\","
                                                "\"axis\":-1}"},
    };
    return cr_make_param_array(form_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(form_case *c, conventions, json_forms_equal_the_query)
{
    CURL *h = curl_easy_init();
    sh_resp get = {0}, post = {0};
    sh_get(h, &get, ts_url(), c->query, NULL);
    cr_assert_eq(get.status, 200, "%s: %s", c->query, get.body);
    sh_request(h, &post, "POST", sh_url(ts_url(), "/v1/glorot_uniform", ""), NULL, c->body);
    cr_assert_eq(post.status, 200, "%s: %s", c->body, post.body);
    cr_assert_eq(post.len, get.len);
    cr_expect_arr_eq(post.body, get.body, get.len);
    cr_expect_str_eq(sh_must(&post, "ETag"), sh_must(&get, "ETag"));
    cr_expect_str_eq(sh_must(&post, "Glorot-Slice"), sh_must(&get, "Glorot-Slice"));
    cr_expect_str_eq(sh_must(&post, "Glorot-Shard"), sh_must(&get, "Glorot-Shard"));
    sh_free(&get);
    sh_free(&post);
    curl_easy_cleanup(h);
}

/* A strided shard, the multi-piece slice its canonical form names, and a
 * download of that canonical form are one representation. */
Test(conventions, strided_canonical_form_round_trips)
{
    CURL *h = curl_easy_init();
    sh_resp a = {0}, b = {0};
    sh_get(h, &a, ts_url(), "shape=12,6&seed=3&shard=1/2&split=even&stride=3&format=npy", NULL);
    cr_assert_eq(a.status, 200, "%s", a.body);
    cr_expect_str_eq(sh_must(&a, "Glorot-Slice"), "2:4;6:8;10:12,0:6");
    cr_expect_str_eq(sh_must(&a, "Glorot-Shard"), "1/2; axis=0; split=even; stride=3");
    cr_expect(strstr(sh_must(&a, "Content-Disposition"), "_slice2-4_6-8_10-12x0-6.npy") != NULL);
    char canonical[2048];
    snprintf(canonical, sizeof canonical, "%s", sh_must(&a, "Glorot-Canonical"));
    cr_expect(strstr(canonical, "&slice=2:4%3B6:8%3B10:12,0:6") != NULL, "%s", canonical);
    sh_get(h, &b, ts_url(), canonical, NULL);
    cr_assert_eq(b.status, 200, "%s", b.body);
    cr_expect_str_eq(sh_must(&b, "ETag"), sh_must(&a, "ETag"));
    cr_assert_eq(b.len, a.len);
    cr_expect_arr_eq(b.body, a.body, a.len);
    /* a range across the pieces equals the same bytes of the whole answer */
    sh_get(h, &b, ts_url(), "shape=12,6&seed=3&shard=1/2&split=even&stride=3&format=npy",
           (const char *const[]){"Range: bytes=130-200", NULL});
    cr_assert_eq(b.status, 206);
    cr_assert_eq(b.len, 71);
    cr_expect_arr_eq(b.body, a.body + 130, 71);
    sh_free(&a);
    sh_free(&b);
    curl_easy_cleanup(h);
}

/* ---- refusals -------------------------------------------------------------------------- */

typedef struct {
    char query[128];
    char param[8];
    char says[48]; /* part of the message */
} refusal_case;

ParameterizedTestParameters(conventions, refusals_name_the_rule)
{
    static refusal_case cases[] = {
        {"shape=10,4&shard=0/4&split=even", "shard", "WORLD to divide the axis"},
        {"shape=12,4&shard=0/2&split=even&stride=5", "stride", "WORLD x stride to divide"},
        {"shape=12,4&shard=0/2&stride=2", "stride", "needs split=even"},
        {"shape=12,4&shard=0/2&split=chunk&stride=3", "stride", "needs split=even"},
        {"shape=12,4&shard=0/2&split=torch", "split", "array_split"},
        {"shape=12,4&shard=0/2&stride=0", "stride", "1..64"},
        {"shape=12,4&shard=0/2,1/2", "axis", "one axis per shard"},
        {"shape=12,4&shard=0/2,1/2&axis=0,1&split=chunk,even,even", "split", "one per shard"},
        {"shape=12,4&split=chunk", "split", "together with shard"},
        {"shape=12,4&stride=2", "stride", "together with shard"},
        {"shape=12,4&slice=0:2;1:3", "slice", "must not overlap"},
        {"shape=12,4&slice=0:2;4:6;8:10;12:14", "slice", "run past"},
        {"shape=12,4&shard=0/2,0/2&axis=0,0&split=even&stride=2,1", "shard", "strided shard"},
    };
    return cr_make_param_array(refusal_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(refusal_case *c, conventions, refusals_name_the_rule)
{
    CURL *h = curl_easy_init();
    sh_resp r = {0};
    char want[64];
    sh_get(h, &r, ts_url(), c->query, NULL);
    cr_expect_eq(r.status, 400, "%s: %ld %s", c->query, r.status, r.body);
    snprintf(want, sizeof want, "\"param\":\"%s\"", c->param);
    cr_expect(strstr((char *)r.body, want) != NULL, "%s: %s", c->query, r.body);
    cr_expect(strstr((char *)r.body, c->says) != NULL, "%s: %s", c->query, r.body);
    sh_free(&r);
    curl_easy_cleanup(h);
}
