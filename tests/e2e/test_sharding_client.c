/*
 * test_sharding_client.c - libglorot-client and the glorot command with
 * slices, shards, byte-range resumption and digests, against a live glorotd:
 *
 * - slice and shard fields fetch exactly the server's part (and what
 *   glorot_generate makes locally), with the part's bounds in glorot_meta;
 * - a download whose connection is killed mid-stream (a relay thread between
 *   client and daemon closes both sockets after N bytes) resumes with
 *   "Range: bytes=N-" + If-Range, the daemon answers 206, and the result is
 *   identical to an unbroken download (buffer and stream, three binary
 *   formats, a slice, a server-drawn seed, every verification mode); json
 *   resumes by asking again and skipping, without a Range;
 * - glorot_digest agrees with the downloaded bytes (glorot_digest_check) and
 *   with sha256sum of the file `glorot fetch` writes.
 */
#include "glorot/client.h"
#include "test_relay.h"
#include "test_server_util.h"

#include <criterion/parameterized.h>

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    static const char *const extra[] = {"--threads", "2", NULL};
    ts_shared_start(extra);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    ts_shared_stop();
}

static glorot_client *client_for(const char *url, glorot_verify verify)
{
    glorot_options o = {0};
    glorot_error err = {0};
    o.verify = verify;
    o.retries = 3;
    o.retry_base_ms = 5;
    o.retry_max_ms = 20;
    o.timeout_ms = 60000;
    glorot_client *c = glorot_client_new(url, &o, &err);
    cr_assert_not_null(c, "%s", err.message);
    return c;
}

static void set(glorot_request *req, const char *key, const char *value)
{
    glorot_error err = {0};
    cr_assert_eq(glorot_request_set(req, key, value, &err), GLOROT_OK, "%s=%s: %s", key, value,
                 err.message);
}

/* A request from "k=v&k=v" through glorot_request_set (values stay in text). */
static void request_from(glorot_request *req, char *text)
{
    glorot_request_init(req);
    for (char *p = text; *p != '\0';) {
        size_t len = strcspn(p, "&");
        char *eq = memchr(p, '=', len);
        int last = p[len] == '\0';
        cr_assert_not_null(eq);
        *eq = '\0';
        p[len] = '\0';
        set(req, p, eq + 1);
        p += len + !last;
    }
}

/* ---- parts through the library ------------------------------------------------------ */

typedef struct {
    char query[160];
    uint64_t part_start[3], part_stop[3];
} part_case;

ParameterizedTestParameters(client_parts, fetch_equals_server_and_generate)
{
    static part_case cases[] = {
        {"shape=30,20&seed=4&slice=3:-3,:5", {3, 0}, {27, 5}},
        {"shape=30,20&seed=4&shard=2/3&axis=1&format=npy&dtype=float16", {0, 14}, {30, 20}},
        {"shape=6,5,4&seed=4&shard=0/4&axis=-1&format=safetensors&algorithm=mlx",
         {0, 0, 0},
         {6, 5, 1}},
        {"shape=9,8&seed=4&slice=-1:&format=json&algorithm=mlx-seeded&call=2", {8, 0}, {9, 8}},
    };
    return cr_make_param_array(part_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(part_case *pc, client_parts, fetch_equals_server_and_generate)
{
    char text[160];
    snprintf(text, sizeof text, "%s", pc->query);
    glorot_request req;
    request_from(&req, text);
    glorot_client *c = client_for(ts_url(), GLOROT_VERIFY_FULL);
    glorot_error err = {0};
    glorot_meta meta;
    unsigned char *got = malloc(1 << 20), *local = malloc(1 << 20);
    cr_assert_eq(glorot_fetch(c, &req, got, 1 << 20, &meta, &err), GLOROT_OK, "%s: %s", pc->query,
                 err.message);
    glorot_meta local_meta;
    cr_assert_eq(glorot_generate(&req, local, 1 << 20, &local_meta, &err), GLOROT_OK, "%s",
                 err.message);
    cr_assert_eq(meta.size, local_meta.size);
    cr_assert_arr_eq(got, local, meta.size, "%s", pc->query);
    uint64_t numel = 1;
    for (size_t i = 0; i < meta.rank; i++) {
        cr_expect_eq(meta.part_start[i], pc->part_start[i], "%s axis %zu", pc->query, i);
        cr_expect_eq(meta.part_stop[i], pc->part_stop[i], "%s axis %zu", pc->query, i);
        numel *= meta.part_stop[i] - meta.part_start[i];
    }
    cr_expect_eq(meta.numel, numel);
    /* the same bytes as a plain GET of the same query */
    th_response r;
    char url[512];
    snprintf(url, sizeof url, "%s/v1/glorot_uniform?%s", ts_url(), pc->query);
    const char *args[] = {url, NULL};
    cr_assert_eq(th_curl(&r, args), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, meta.size);
    cr_assert_arr_eq(r.body, got, meta.size);
    th_response_free(&r);
    free(got);
    free(local);
    glorot_client_free(c);
}

Test(client_parts, bad_parts_are_refused_locally)
{
    glorot_request req;
    glorot_error err = {0};
    uint64_t size;
    glorot_request_init(&req);
    set(&req, "shape", "8,8");
    cr_expect_eq(glorot_request_set(&req, "shard", "3/3", &err), GLOROT_E_INVALID);
    cr_expect_str_eq(err.param, "shard");
    req.slice = "2:3;4:6;7:8";
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_size(&req, &size, &err), GLOROT_E_INVALID);
    cr_expect_str_eq(err.param, "slice");
    req.slice = "2:4";
    req.shard_world = 2;
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_size(&req, &size, &err), GLOROT_E_INVALID, "slice and shard");
    req.slice = NULL;
    req.shard_world = 0;
    req.axis = 1;
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_size(&req, &size, &err), GLOROT_E_INVALID, "axis without shard");
    req.shard_world = 4;
    req.shard_rank = 1;
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_size(&req, &size, &err), GLOROT_OK, "%s", err.message);
    cr_expect_eq(size, 8 * 2 * 4);
}

/* ---- the frameworks' conventions through the library and the CLI ---------------------- */

typedef struct {
    char query[160];
    uint64_t numel;
    char spec[24]; /* what glorot_request_set keeps in shard_spec ("" = NULL) */
} convention_case;

ParameterizedTestParameters(client_parts, conventions_fetch_equals_server_and_generate)
{
    static convention_case cases[] = {
        {"shape=12,6&seed=4&shard=1/2&split=even&stride=3&format=npy", 36, ""},
        {"shape=12,6&seed=4&shard=1/2,2/3&axis=0,1&split=chunk&format=safetensors", 12, "1/2,2/3"},
        {"shape=12,6&seed=4&shard=0/2,1/2&axis=1,0&split=even,chunk&stride=3,1&dtype=float16", 18,
         "0/2,1/2"},
        {"shape=12,6&seed=4&shard=1/2,1/3&axis=0,0&split=chunk&algorithm=mlx", 12, "1/2,1/3"},
        {"shape=5,4&seed=4&shard=3/4&split=chunk", 0, ""},
        {"shape=5,4&seed=4&shard=3/4&split=chunk&format=npy&dtype=bfloat16", 0, ""},
        {"shape=5,4&seed=4&shard=4/6&axis=-1&split=chunk&format=json", 0, ""},
        {"shape=5,4&seed=4&slice=3:3&format=safetensors", 0, ""},
    };
    return cr_make_param_array(convention_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(convention_case *cc, client_parts, conventions_fetch_equals_server_and_generate)
{
    char text[160];
    snprintf(text, sizeof text, "%s", cc->query);
    glorot_request req;
    request_from(&req, text);
    if (cc->spec[0])
        cr_expect_str_eq(req.shard_spec, cc->spec);
    else
        cr_expect_null(req.shard_spec);
    static const glorot_verify modes[] = {GLOROT_VERIFY_FULL, GLOROT_VERIFY_SAMPLE};
    for (size_t m = 0; m < 2; m++) {
        glorot_client *c = client_for(ts_url(), modes[m]);
        glorot_error err = {0};
        glorot_meta meta, local_meta;
        unsigned char *got = malloc(1 << 16), *local = malloc(1 << 16);
        cr_assert_eq(glorot_fetch(c, &req, got, 1 << 16, &meta, &err), GLOROT_OK, "%s: %s",
                     cc->query, err.message);
        cr_assert_eq(glorot_generate(&req, local, 1 << 16, &local_meta, &err), GLOROT_OK, "%s",
                     err.message);
        cr_expect_eq(meta.numel, cc->numel, "%s", cc->query);
        cr_assert_eq(meta.size, local_meta.size);
        cr_assert_arr_eq(got, local, meta.size, "%s", cc->query);
        uint64_t size = 0;
        cr_assert_eq(glorot_size(&req, &size, &err), GLOROT_OK);
        if (strstr(cc->query, "json") == NULL)
            cr_expect_eq(size, meta.size);
        /* the same bytes as a plain GET of the same query, and a digest of them */
        th_response r;
        char url[512];
        snprintf(url, sizeof url, "%s/v1/glorot_uniform?%s", ts_url(), cc->query);
        const char *args[] = {url, NULL};
        cr_assert_eq(th_curl(&r, args), 0);
        cr_assert_eq(r.status, 200);
        cr_assert_eq(r.body_len, meta.size);
        cr_assert_arr_eq(r.body, got, meta.size);
        th_response_free(&r);
        glorot_digest_info d;
        cr_assert_eq(glorot_digest(c, &req, &d, &err), GLOROT_OK, "%s", err.message);
        cr_expect_eq(glorot_digest_check(&d, got, meta.size, &err), GLOROT_OK, "%s", err.message);
        free(got);
        free(local);
        glorot_client_free(c);
    }
}

Test(client_parts, convention_fields_are_checked_locally)
{
    glorot_request req;
    glorot_error err = {0};
    uint64_t size;
    glorot_request_init(&req);
    set(&req, "shape", "12,8");
    req.shard_spec = "1/2,0/2";
    req.axis_spec = "0,1";
    req.split = "chunk,even";
    req.stride = "1,2";
    cr_expect_eq(glorot_size(&req, &size, &err), GLOROT_OK, "%s", err.message);
    cr_expect_eq(size, 6 * 4 * 4);
    req.shard_world = 2;
    cr_expect_eq(glorot_size(&req, &size, &err), GLOROT_E_INVALID, "shard_spec with shard_world");
    cr_expect_str_eq(err.param, "shard");
    req.shard_world = 0;
    req.axis = 1;
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_size(&req, &size, &err), GLOROT_E_INVALID, "axis_spec with axis");
    req.axis = 0;
    req.stride = "3";
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_size(&req, &size, &err), GLOROT_E_INVALID, "8 / (2 x 3)");
    cr_expect_str_eq(err.param, "stride");
    req.shard_spec = NULL;
    req.axis_spec = NULL;
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_size(&req, &size, &err), GLOROT_E_INVALID, "stride without shard");
    cr_expect_str_eq(err.param, "split");
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_request_set(&req, "split", "numpy", &err), GLOROT_E_INVALID);
    cr_expect_str_eq(err.param, "split");
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_request_set(&req, "stride", "0", &err), GLOROT_E_INVALID);
    /* one shard and one axis land in the numeric fields, several in the text ones */
    set(&req, "shard", "3/4");
    set(&req, "axis", "-1");
    cr_expect_eq(req.shard_rank, 3);
    cr_expect_eq(req.shard_world, 4);
    cr_expect_eq(req.axis, -1);
    cr_expect_null(req.shard_spec);
    set(&req, "shard", "3/4,1/2");
    set(&req, "axis", "0,1");
    cr_expect_eq(req.shard_world, 0);
    cr_expect_str_eq(req.shard_spec, "3/4,1/2");
    cr_expect_str_eq(req.axis_spec, "0,1");
    cr_expect_eq(req.axis, 0);
}

/* glorot fetch and gen with the mesh options write the same file, which is
 * the server's answer; glorot batch --url and --local with the shard options
 * write the same safetensors file. */
Test(client_parts, cli_conventions)
{
    char dir[] = "/tmp/glorot-cli-conv-XXXXXX", f1[96], f2[96], m[96], b1[96], b2[96];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(f1, sizeof f1, "%s/fetch.npy", dir);
    snprintf(f2, sizeof f2, "%s/gen.npy", dir);
    const char *fetch[] = {th_env("GLOROT_BIN"),
                           "fetch",
                           "--url",
                           ts_url(),
                           "--shape",
                           "12,8",
                           "--seed",
                           "6",
                           "--shard",
                           "1/2,0/2",
                           "--axis",
                           "0,1",
                           "--split",
                           "chunk,even",
                           "--stride",
                           "1,2",
                           "--format",
                           "npy",
                           "-q",
                           "-o",
                           f1,
                           NULL};
    cr_assert_eq(th_run(fetch, NULL, 60), 0);
    const char *gen[] = {th_env("GLOROT_BIN"),
                         "gen",
                         "--shape",
                         "12,8",
                         "--seed",
                         "6",
                         "--shard",
                         "1/2,0/2",
                         "--axis",
                         "0,1",
                         "--split",
                         "chunk,even",
                         "--stride",
                         "1,2",
                         "--format",
                         "npy",
                         "-o",
                         f2,
                         NULL};
    cr_assert_eq(th_run(gen, NULL, 60), 0);
    size_t l1 = 0, l2 = 0;
    unsigned char *a = th_read_file(f1, &l1), *b = th_read_file(f2, &l2);
    cr_assert(a != NULL && b != NULL);
    cr_assert_eq(l1, l2);
    cr_expect_arr_eq(a, b, l1);
    th_response r;
    char url[512];
    snprintf(url, sizeof url,
             "%s/v1/glorot_uniform?shape=12,8&seed=6&shard=1/2,0/2&axis=0,1&split=chunk,even"
             "&stride=1,2&format=npy",
             ts_url());
    const char *args[] = {url, NULL};
    cr_assert_eq(th_curl(&r, args), 0);
    cr_assert_eq(r.body_len, l1);
    cr_expect_arr_eq(r.body, a, l1);
    th_response_free(&r);
    free(a);
    free(b);
    /* a refused combination is exit code 3, before any request */
    const char *bad[] = {th_env("GLOROT_BIN"),
                         "gen",
                         "--shape",
                         "12,8",
                         "--seed",
                         "6",
                         "--shard",
                         "1/2",
                         "--split",
                         "chunk",
                         "--stride",
                         "2",
                         "-o",
                         f2,
                         NULL};
    cr_expect_eq(th_run(bad, NULL, 60), 3);
    /* batch: --url and --local agree */
    snprintf(m, sizeof m, "%s/model.json", dir);
    FILE *mf = fopen(m, "w");
    cr_assert_not_null(mf);
    fputs("{\"seed\": \"3\", \"tensors\": [{\"name\": \"qkv\", \"shape\": [12, 8]},"
          " {\"name\": \"o\", \"shape\": [8, 8]}]}",
          mf);
    cr_assert_eq(fclose(mf), 0);
    snprintf(b1, sizeof b1, "%s/url.safetensors", dir);
    snprintf(b2, sizeof b2, "%s/local.safetensors", dir);
    const char *post[] = {th_env("GLOROT_BIN"),
                          "batch",
                          m,
                          "-o",
                          b1,
                          "--url",
                          ts_url(),
                          "--shard",
                          "1/2,1/2",
                          "--axis",
                          "0,1",
                          "--split",
                          "even",
                          "--stride",
                          "2,1",
                          "-q",
                          NULL};
    cr_assert_eq(th_run(post, NULL, 60), 0);
    const char *local[] = {th_env("GLOROT_BIN"),
                           "batch",
                           m,
                           "-o",
                           b2,
                           "--local",
                           "--shard",
                           "1/2,1/2",
                           "--axis",
                           "0,1",
                           "--split",
                           "even",
                           "--stride",
                           "2,1",
                           "-q",
                           NULL};
    cr_assert_eq(th_run(local, NULL, 60), 0);
    a = th_read_file(b1, &l1);
    b = th_read_file(b2, &l2);
    cr_assert(a != NULL && b != NULL);
    cr_assert_eq(l1, l2);
    cr_expect_arr_eq(a, b, l1);
    cr_expect(ts_find_ci((char *)a + 8, "\"shape\":[6,4]") != NULL, "%.300s", a + 8);
    cr_expect(ts_find_ci((char *)a + 8, "slice=3:6%3B9:12,4:8") != NULL, "%.600s", a + 8);
    free(a);
    free(b);
    const char *rm[] = {"rm", "-rf", dir, NULL};
    th_run(rm, NULL, 30);
}

typedef struct {
    unsigned char *data;
    size_t len, cap;
    int out_of_order;
} collected;

static int collect(void *user, uint64_t offset, const void *data, size_t len)
{
    collected *c = user;
    if (offset != c->len)
        c->out_of_order = 1;
    if (c->len + len > c->cap) {
        c->cap = (c->len + len) * 2;
        c->data = realloc(c->data, c->cap);
    }
    memcpy(c->data + c->len, data, len);
    c->len += len;
    return 0;
}

typedef struct {
    char query[160];
    uint64_t cut;
    int stream;
    glorot_verify verify;
    int ranged; /* a binary body: the retry must be a 206 */
} resume_case;

ParameterizedTestParameters(client_resume, killed_connection_resumes_identically)
{
    static resume_case cases[] = {
        {"shape=300,500&seed=3", 100000, 0, GLOROT_VERIFY_NONE, 1},
        {"shape=300,500&seed=3&format=npy&dtype=float16", 50001, 1, GLOROT_VERIFY_FULL, 1},
        {"shape=300,500&seed=3&format=safetensors&algorithm=mlx", 262144, 0, GLOROT_VERIFY_SAMPLE,
         1},
        {"shape=900,500&seed=3&slice=100:-100,7:-7&dtype=bfloat16", 123457, 1, GLOROT_VERIFY_FULL,
         1},
        {"shape=300,500&dtype=float64", 333333, 1, GLOROT_VERIFY_SAMPLE, 1},
        {"shape=300,500&seed=3&shard=1/2&axis=1&format=npy", 3000, 0, GLOROT_VERIFY_FULL, 1},
        {"shape=40,30&seed=3&format=json", 5000, 1, GLOROT_VERIFY_FULL, 0},
    };
    return cr_make_param_array(resume_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(resume_case *rc, client_resume, killed_connection_resumes_identically)
{
    char text[160];
    snprintf(text, sizeof text, "%s", rc->query);
    glorot_request req;
    request_from(&req, text);
    relay r;
    relay_start(&r, rc->cut);
    glorot_client *c = client_for(r.url, rc->verify);
    glorot_error err = {0};
    glorot_meta meta;
    collected got = {0};
    size_t cap = 4 << 20;
    unsigned char *buf = malloc(cap);
    glorot_code code = rc->stream ? glorot_fetch_stream(c, &req, collect, &got, &meta, &err)
                                  : glorot_fetch(c, &req, buf, cap, &meta, &err);
    glorot_client_free(c);
    size_t connections = relay_stop(&r);
    cr_assert_eq(code, GLOROT_OK, "%s: %s", rc->query, err.message);
    const unsigned char *result = rc->stream ? got.data : buf;
    if (rc->stream) {
        cr_expect_not(got.out_of_order);
        cr_assert_eq(got.len, meta.size, "each byte exactly once");
    }
    /* the unbroken answer, with the seed the first answer fixed */
    glorot_request same = req;
    same.seed = meta.seed;
    same.seed_set = 1;
    unsigned char *want = malloc(cap);
    glorot_meta want_meta;
    cr_assert_eq(glorot_generate(&same, want, cap, &want_meta, &err), GLOROT_OK, "%s", err.message);
    cr_assert_eq(meta.size, want_meta.size);
    cr_assert_gt(meta.size, rc->cut, "the cut must fall inside the body");
    cr_assert_arr_eq(result, want, meta.size, "%s: resumed bytes differ", rc->query);
    cr_assert_eq(connections, 2, "%s: %zu connections", rc->query, connections);
    cr_expect(strncmp(r.status[0], "HTTP/1.1 200", 12) == 0, "%s", r.status[0]);
    if (rc->ranged) {
        cr_expect(ts_find_ci(r.request[1], "\r\nRange: bytes=") != NULL, "%s", r.request[1]);
        cr_expect(ts_find_ci(r.request[1], "\r\nIf-Range: \"") != NULL, "%s", r.request[1]);
        cr_expect(strncmp(r.status[1], "HTTP/1.1 206", 12) == 0, "%s: retry got %s", rc->query,
                  r.status[1]);
    } else {
        cr_expect(ts_find_ci(r.request[1], "\r\nRange:") == NULL, "%s", r.request[1]);
        cr_expect(strncmp(r.status[1], "HTTP/1.1 200", 12) == 0, "%s", r.status[1]);
    }
    char seed[40];
    snprintf(seed, sizeof seed, "seed=%llu", (unsigned long long)meta.seed);
    cr_expect(strstr(r.request[1], seed) != NULL, "the retry asks for the first seed: %s",
              r.request[1]);
    free(buf);
    free(want);
    free(got.data);
}

/* ---- digests ---------------------------------------------------------------------------- */

Test(client_digest, digest_checks_the_download)
{
    char text[] = "shape=120,80&seed=12&format=npy&shard=2/3&dtype=bfloat16";
    glorot_request req;
    request_from(&req, text);
    glorot_client *c = client_for(ts_url(), GLOROT_VERIFY_NONE);
    glorot_error err = {0};
    glorot_digest_info d;
    cr_assert_eq(glorot_digest(c, &req, &d, &err), GLOROT_OK, "%s", err.message);
    uint64_t size;
    cr_assert_eq(glorot_size(&req, &size, &err), GLOROT_OK);
    cr_expect_eq(d.length, size);
    cr_expect_eq(d.seed, 12);
    cr_expect(strstr(d.canonical, "&slice=80:120,0:80") != NULL, "%s", d.canonical);
    unsigned char *buf = malloc(size);
    cr_assert_eq(glorot_fetch(c, &req, buf, size, NULL, &err), GLOROT_OK, "%s", err.message);
    cr_expect_eq(glorot_digest_check(&d, buf, size, &err), GLOROT_OK, "%s", err.message);
    buf[size / 2] ^= 1;
    cr_expect_eq(glorot_digest_check(&d, buf, size, &err), GLOROT_E_VERIFY);
    buf[size / 2] ^= 1;
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_digest_check(&d, buf, size - 1, &err), GLOROT_E_VERIFY);
    /* without a seed: the digest names the seed it drew, consistently */
    req.seed_set = 0;
    memset(&err, 0, sizeof err);
    cr_assert_eq(glorot_digest(c, &req, &d, &err), GLOROT_OK, "%s", err.message);
    char seed[40];
    snprintf(seed, sizeof seed, "&seed=%llu&", (unsigned long long)d.seed);
    cr_expect(strstr(d.canonical, seed) != NULL, "%s", d.canonical);
    free(buf);
    glorot_client_free(c);
}

Test(client_digest, cli_digest_equals_sha256sum_of_cli_fetch)
{
    char dir[] = "/tmp/glorot-cli-digest-XXXXXX", out[96], listing[96], sums[96];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(out, sizeof out, "%s/w.safetensors", dir);
    snprintf(listing, sizeof listing, "%s/digest.txt", dir);
    snprintf(sums, sizeof sums, "%s/sum.txt", dir);
    const char *fetch[] = {th_env("GLOROT_BIN"),
                           "fetch",
                           "--url",
                           ts_url(),
                           "--shape",
                           "50,40",
                           "--seed",
                           "6",
                           "--shard",
                           "1/4",
                           "--axis",
                           "-1",
                           "--format",
                           "safetensors",
                           "-q",
                           "-o",
                           out,
                           NULL};
    cr_assert_eq(th_run(fetch, NULL, 60), 0);
    const char *digest[] = {th_env("GLOROT_BIN"),
                            "digest",
                            "--url",
                            ts_url(),
                            "--shape",
                            "50,40",
                            "--seed",
                            "6",
                            "--shard",
                            "1/4",
                            "--axis",
                            "-1",
                            "--format",
                            "safetensors",
                            NULL};
    cr_assert_eq(th_run(digest, listing, 60), 0);
    const char *sum[] = {"sha256sum", out, NULL};
    cr_assert_eq(th_run(sum, sums, 30), 0);
    unsigned char *d = th_read_file(listing, NULL), *s = th_read_file(sums, NULL);
    cr_assert(d != NULL && s != NULL);
    cr_assert_eq(strncmp((char *)d, "sha256 ", 7), 0, "%s", d);
    cr_expect_eq(strncmp((char *)d + 7, (char *)s, 64), 0, "digest %.64s, sha256sum %.64s", d + 7,
                 s);
    size_t len = 0;
    unsigned char *file = th_read_file(out, &len);
    char length[48];
    snprintf(length, sizeof length, "\nlength %zu\n", len);
    cr_expect(strstr((char *)d, length) != NULL, "%s", d);
    /* gen writes the same part */
    snprintf(listing, sizeof listing, "%s/gen.safetensors", dir);
    const char *gen[] = {th_env("GLOROT_BIN"),
                         "gen",
                         "--shape",
                         "50,40",
                         "--seed",
                         "6",
                         "--shard",
                         "1/4",
                         "--axis",
                         "-1",
                         "--format",
                         "safetensors",
                         "-o",
                         listing,
                         NULL};
    cr_assert_eq(th_run(gen, NULL, 60), 0);
    size_t glen = 0;
    unsigned char *generated = th_read_file(listing, &glen);
    cr_assert_eq(glen, len);
    cr_expect_arr_eq(generated, file, len);
    free(d);
    free(s);
    free(file);
    free(generated);
    const char *rm[] = {"rm", "-rf", dir, NULL};
    th_run(rm, NULL, 30);
}
