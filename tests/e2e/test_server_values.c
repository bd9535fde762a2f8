/*
 * test_server_values.c - glorotd serves exactly the core library's bytes:
 * every algorithm and dtype, every format, GET and POST, edge seeds; headers
 * describe the tensor; unseeded requests report a seed that reproduces them;
 * Accept negotiation; HEAD; /healthz and /v1/info.
 *
 * One daemon serves the whole binary (started in the criterion runner).
 */
#include "test_server_util.h"

#include <criterion/parameterized.h>

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    static const char *const extra[] = {
        "--threads", "2", "--max-connections", "77", "--max-json-elements", "5000", "--timeout",
        "45",        NULL};
    ts_shared_start(extra);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    ts_shared_stop();
}

typedef struct {
    char label[40];
    int post;
    ts_pair pairs[TS_MAX_PAIRS];
    char numbers[48]; /* POST: keys sent as JSON numbers ("seed,gain"); others as strings */
} vcase;

/* ---- request building ------------------------------------------------------ */

static int listed(const char *list, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = list; *p != '\0';) {
        size_t m = strcspn(p, ",");
        if (m == n && strncmp(p, key, n) == 0)
            return 1;
        p += m;
        if (*p == ',')
            p++;
    }
    return 0;
}

static json_t *shape_array(const char *text)
{
    json_t *arr = json_array();
    for (const char *p = text; *p != '\0';) {
        json_array_append_new(arr, json_integer(strtoll(p, NULL, 10)));
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    return arr;
}

static json_t *number(const char *text)
{
    if (strpbrk(text, ".eE") != NULL)
        return json_real(strtod(text, NULL));
    return json_integer(strtoll(text, NULL, 10));
}

/* The JSON body for a POST case (malloc'd). */
static char *json_body(const vcase *c)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < TS_MAX_PAIRS && c->pairs[i].key[0] != '\0'; i++) {
        const ts_pair *p = &c->pairs[i];
        json_t *v = strcmp(p->key, "shape") == 0 ? shape_array(p->value)
                    : listed(c->numbers, p->key) ? number(p->value)
                                                 : json_string(p->value);
        json_object_set_new(obj, p->key, v);
    }
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

/* Send the case to the shared daemon. */
static void fetch(const vcase *c, th_response *r)
{
    char url[1024];
    if (!c->post) {
        char q[900];
        ts_query(c->pairs, TS_MAX_PAIRS, q, sizeof q);
        snprintf(url, sizeof url, "%s/v1/glorot_uniform%s", ts_url(), q);
        const char *const args[] = {url, NULL};
        cr_assert_eq(th_curl(r, args), 0);
        return;
    }
    snprintf(url, sizeof url, "%s/v1/glorot_uniform", ts_url());
    char *body = json_body(c);
    const char *const args[] = {
        "-H", "Content-Type: application/json; charset=utf-8", "--data-binary", body, url, NULL};
    int rc = th_curl(r, args);
    free(body);
    cr_assert_eq(rc, 0);
}

/* ---- header checks ------------------------------------------------------------ */

static void name_header(const gp_request *r, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < r->name_len && o + 4 < size; i++) {
        unsigned char ch = (unsigned char)r->name[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '%') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}

static void expect_header(const th_response *resp, const char *name, const char *want)
{
    char got[1024];
    cr_assert_eq(th_header(resp, name, got, sizeof got), 0, "missing header %s", name);
    cr_expect_str_eq(got, want, "header %s", name);
}

static void check_headers(const th_response *resp, const gp_request *r, size_t body_len)
{
    char want[1024], file[256];
    snprintf(want, sizeof want, "%llu", (unsigned long long)r->seed);
    expect_header(resp, "Glorot-Seed", want);
    expect_header(resp, "Glorot-Algorithm", gp_algorithm_name(r->algorithm));
    expect_header(resp, "Glorot-Dtype", gp_dtype_name(r->dtype));
    want[0] = '\0';
    for (size_t i = 0; i < r->rank; i++) {
        size_t used = strlen(want);
        snprintf(want + used, sizeof want - used, "%s%llu", i ? "," : "",
                 (unsigned long long)r->shape[i]);
    }
    expect_header(resp, "Glorot-Shape", want);
    snprintf(want, sizeof want, "%llu", (unsigned long long)r->fan_in);
    expect_header(resp, "Glorot-Fan-In", want);
    snprintf(want, sizeof want, "%llu", (unsigned long long)r->fan_out);
    expect_header(resp, "Glorot-Fan-Out", want);
    snprintf(want, sizeof want, "%.17g", r->limit);
    expect_header(resp, "Glorot-Limit", want);
    expect_header(resp, "Glorot-Gain", r->gain_spec);
    name_header(r, want, sizeof want);
    expect_header(resp, "Glorot-Name", want);
    expect_header(resp, "Glorot-Format", gp_format_name(r->format));
    expect_header(resp, "Content-Type", gp_format_content_type(r->format));
    gp_filename(r, file, sizeof file);
    snprintf(want, sizeof want, "attachment; filename=\"%s\"", file);
    expect_header(resp, "Content-Disposition", want);
    if (r->algorithm == GP_ALG_MLX_SEEDED) {
        snprintf(want, sizeof want, "%llu", (unsigned long long)r->call);
        expect_header(resp, "Glorot-Call", want);
    } else {
        cr_expect_neq(th_header(resp, "Glorot-Call", want, sizeof want), 0,
                      "Glorot-Call without mlx-seeded");
    }
    if (r->format == GP_FORMAT_JSON) {
        expect_header(resp, "Transfer-Encoding", "chunked");
    } else {
        snprintf(want, sizeof want, "%zu", body_len);
        expect_header(resp, "Content-Length", want);
    }
}

/* ---- the table ------------------------------------------------------------------ */

#define P(k, v)                                                                                    \
    {                                                                                              \
        k, v                                                                                       \
    }
#define U64MAX "18446744073709551615"

ParameterizedTestParameters(values, match_core)
{
    static vcase cases[] = {
        /* chacha20: every dtype, GET and POST, seeds 0, 42, 2^63, 2^64-1 */
        {"cc f32 get", 0, {P("shape", "2,3"), P("seed", "42")}, ""},
        {"cc f32 post", 1, {P("shape", "2,3"), P("seed", "42")}, "seed"},
        {"cc f16 get", 0, {P("shape", "64,48"), P("seed", "0"), P("dtype", "float16")}, ""},
        {"cc f16 post", 1, {P("shape", "64,48"), P("seed", "0"), P("dtype", "float16")}, "seed"},
        {"cc bf16 get", 0, {P("shape", "7,11,3,3"), P("seed", U64MAX), P("dtype", "bfloat16")}, ""},
        {"cc bf16 post",
         1,
         {P("shape", "7,11,3,3"), P("seed", U64MAX), P("dtype", "bfloat16")},
         ""},
        {"cc f64 get",
         0,
         {P("shape", "33,17"), P("seed", "9223372036854775808"), P("dtype", "float64"),
          P("algorithm", "chacha20")},
         ""},
        {"cc f64 post",
         1,
         {P("shape", "33,17"), P("seed", "9223372036854775807"), P("dtype", "float64"),
          P("algorithm", "chacha20")},
         "seed"},
        /* mlx: float32/16/bf16 */
        {"mlx f32 get", 0, {P("shape", "16,16"), P("seed", "0"), P("algorithm", "mlx")}, ""},
        {"mlx f32 post", 1, {P("shape", "16,16"), P("seed", "0"), P("algorithm", "mlx")}, "seed"},
        {"mlx f16 get",
         0,
         {P("shape", "5,9"), P("seed", "42"), P("algorithm", "mlx"), P("dtype", "float16")},
         ""},
        {"mlx f16 post",
         1,
         {P("shape", "5,9"), P("seed", "42"), P("algorithm", "mlx"), P("dtype", "float16")},
         "seed"},
        {"mlx bf16 get",
         0,
         {P("shape", "3,4,5"), P("seed", U64MAX), P("algorithm", "mlx"), P("dtype", "bfloat16")},
         ""},
        {"mlx bf16 post",
         1,
         {P("shape", "3,4,5"), P("seed", U64MAX), P("algorithm", "mlx"), P("dtype", "bfloat16")},
         ""},
        {"mlx-seeded get",
         0,
         {P("shape", "3,5"), P("seed", "7"), P("algorithm", "mlx-seeded"), P("call", "2")},
         ""},
        {"mlx-seeded post",
         1,
         {P("shape", "4,3,3,2"), P("seed", "7"), P("algorithm", "mlx-seeded"), P("call", "3")},
         "seed,call"},
        /* formats, gains, fans, names */
        {"npy relu torch",
         0,
         {P("shape", "10,10"), P("seed", "1"), P("gain", "relu"), P("fan", "torch"),
          P("format", "npy")},
         ""},
        {"npy f64 leaky",
         0,
         {P("shape", "6,5"), P("seed", "2"), P("gain", "leaky_relu:0.2"), P("dtype", "float64"),
          P("format", "npy")},
         ""},
        {"safetensors post",
         1,
         {P("shape", "8,8,3,3"), P("seed", "3"), P("dtype", "float16"), P("fan", "keras"),
          P("name", "conv1.weight"), P("format", "safetensors")},
         "seed"},
        {"safetensors mlx",
         0,
         {P("shape", "4,4"), P("seed", "4"), P("algorithm", "mlx"), P("format", "safetensors")},
         ""},
        {"json gain number",
         1,
         {P("shape", "4,5"), P("seed", "5"), P("gain", "0.5"), P("format", "json")},
         "seed,gain"},
        {"json mlx bf16",
         0,
         {P("shape", "3,3"), P("seed", "6"), P("algorithm", "mlx"), P("dtype", "bfloat16"),
          P("format", "json")},
         ""},
        {"fan overrides",
         0,
         {P("shape", "3,4"), P("seed", "8"), P("fan_in", "10"), P("fan_out", "20")},
         ""},
        {"fan overrides post",
         1,
         {P("shape", "3,4"), P("seed", "8"), P("fan_in", "10"), P("fan_out", "20"), P("gain", "2")},
         "fan_in,fan_out,gain"},
        {"utf-8 name", 0, {P("shape", "2,2"), P("seed", "9"), P("name", "poids \xc3\xa9 %")}, ""},
        {"4 MB many blocks", 0, {P("shape", "1000,1000"), P("seed", "10")}, ""},
        {"mlx 1 MB",
         1,
         {P("shape", "512,512"), P("seed", "11"), P("algorithm", "mlx"), P("dtype", "float32")},
         "seed"},
    };
    return cr_make_param_array(vcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(vcase *c, values, match_core)
{
    gp_request r;
    gp_error err = {0};
    cr_assert_eq(ts_build(c->pairs, TS_MAX_PAIRS, &r, &err), GP_OK, "%s: %s", c->label,
                 err.message);
    size_t want_len;
    unsigned char *want = ts_body(&r, &want_len);
    th_response resp;
    fetch(c, &resp);
    cr_assert_eq(resp.status, 200, "%s: status %d: %s", c->label, resp.status,
                 (const char *)resp.body);
    cr_assert_eq(resp.body_len, want_len, "%s: %zu bytes, expected %zu", c->label, resp.body_len,
                 want_len);
    cr_assert(memcmp(resp.body, want, want_len) == 0, "%s: bytes differ from the core library",
              c->label);
    check_headers(&resp, &r, want_len);
    th_response_free(&resp);
    free(want);
}

/* ---- single cases ---------------------------------------------------------------- */

static void get(th_response *r, const char *path_and_query, const char *header)
{
    char url[512];
    ts_make_url(url, sizeof url, ts_url(), path_and_query);
    const char *const with[] = {"-H", header, url, NULL};
    const char *const without[] = {url, NULL};
    cr_assert_eq(th_curl(r, header ? with : without), 0);
}

Test(values, repeat_is_identical)
{
    th_response a, b;
    get(&a, "/v1/glorot_uniform?shape=300,200&seed=123&dtype=bfloat16", NULL);
    get(&b, "/v1/glorot_uniform?shape=300,200&seed=123&dtype=bfloat16", NULL);
    cr_assert_eq(a.status, 200);
    cr_assert_eq(a.body_len, 300 * 200 * 2);
    cr_assert_eq(b.body_len, a.body_len);
    cr_assert(memcmp(a.body, b.body, a.body_len) == 0);
    th_response_free(&a);
    th_response_free(&b);
}

/* Without seed the server draws one; the reported seed reproduces the bytes. */
Test(values, drawn_seed_reproduces)
{
    th_response a, b;
    get(&a, "/v1/glorot_uniform?shape=40,30&dtype=float16", NULL);
    get(&b, "/v1/glorot_uniform?shape=40,30&dtype=float16", NULL);
    cr_assert_eq(a.status, 200);
    char seed_a[32], seed_b[32];
    cr_assert_eq(th_header(&a, "Glorot-Seed", seed_a, sizeof seed_a), 0);
    cr_assert_eq(th_header(&b, "Glorot-Seed", seed_b, sizeof seed_b), 0);
    cr_expect_str_neq(seed_a, seed_b, "two drawn seeds are equal (p = 2^-64)");
    ts_pair pairs[] = {{"shape", "40,30"}, {"dtype", "float16"}, {"seed", ""}, {"", ""}};
    snprintf(pairs[2].value, sizeof pairs[2].value, "%s", seed_a);
    gp_request r;
    gp_error err = {0};
    cr_assert_eq(ts_build(pairs, 4, &r, &err), GP_OK, "%s", err.message);
    size_t len;
    unsigned char *want = ts_body(&r, &len);
    cr_assert_eq(a.body_len, len);
    cr_assert(memcmp(a.body, want, len) == 0, "drawn seed %s does not reproduce", seed_a);
    cr_assert(memcmp(b.body, want, len) != 0, "different seeds gave the same bytes");
    free(want);
    th_response_free(&a);
    th_response_free(&b);
}

typedef struct {
    char accept[96];
    char query[64];
    int status;
    char format[16];
} acase;

ParameterizedTestParameters(values, accept)
{
    static acase cases[] = {
        {"application/x-npy", "", 200, "npy"},
        {"application/vnd.safetensors", "", 200, "safetensors"},
        {"application/octet-stream; format=safetensors", "", 200, "safetensors"},
        {"application/json", "", 200, "json"},
        {"text/html;q=0.9, application/x-npy;q=0.5", "", 200, "npy"},
        {"*/*", "", 200, "raw"},
        {"application/json", "&format=raw", 200, "raw"}, /* explicit format wins */
        {"text/html", "&format=npy", 200, "npy"},        /* ... even over nothing acceptable */
    };
    return cr_make_param_array(acase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(acase *c, values, accept)
{
    char path[160], header[128];
    snprintf(path, sizeof path, "/v1/glorot_uniform?shape=3,4&seed=77%s", c->query);
    snprintf(header, sizeof header, "Accept: %s", c->accept);
    th_response resp;
    get(&resp, path, header);
    cr_assert_eq(resp.status, c->status, "%s: %s", c->accept, (const char *)resp.body);
    expect_header(&resp, "Glorot-Format", c->format);
    ts_pair pairs[] = {{"shape", "3,4"}, {"seed", "77"}, {"format", ""}, {"", ""}};
    snprintf(pairs[2].value, sizeof pairs[2].value, "%s", c->format);
    gp_request r;
    gp_error err = {0};
    cr_assert_eq(ts_build(pairs, 4, &r, &err), GP_OK);
    size_t len;
    unsigned char *want = ts_body(&r, &len);
    cr_assert_eq(resp.body_len, len);
    cr_assert(memcmp(resp.body, want, len) == 0);
    free(want);
    th_response_free(&resp);
}

/* HEAD: the headers of the GET, no body (the next reply on the same
 * connection follows the head directly). */
Test(values, head_has_headers_only)
{
    int fd = ts_connect(ts_port());
    ts_send_str(fd, "HEAD /v1/glorot_uniform?shape=100,100&seed=1 HTTP/1.1\r\n"
                    "Host: t\r\n\r\n");
    ts_head h;
    ts_read_head(fd, &h);
    cr_assert_eq(h.status, 200, "%s", h.head);
    cr_assert_eq(h.content_length, 40000);
    cr_assert_eq(h.body_len, 0, "HEAD reply carried body bytes");
    char seed[32];
    cr_assert_eq(ts_head_header(&h, "Glorot-Seed", seed, sizeof seed), 0);
    cr_assert_str_eq(seed, "1");
    ts_send_str(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    ts_read_response(fd, &h);
    cr_assert_eq(h.status, 200);
    cr_assert_str_eq(h.body, "{\"status\":\"ok\"}");
    close(fd);
}

/* The query string arrives percent-decoded: %2C is a comma. */
Test(values, query_is_percent_decoded)
{
    th_response a, b;
    get(&a, "/v1/glorot_uniform?shape=3%2C4&seed=5", NULL);
    get(&b, "/v1/glorot_uniform?shape=3,4&seed=5", NULL);
    cr_assert_eq(a.status, 200, "%s", (const char *)a.body);
    cr_assert_eq(a.body_len, b.body_len);
    cr_assert(memcmp(a.body, b.body, a.body_len) == 0);
    th_response_free(&a);
    th_response_free(&b);
}

Test(values, healthz)
{
    th_response resp;
    get(&resp, "/healthz", NULL);
    cr_assert_eq(resp.status, 200);
    expect_header(&resp, "Content-Type", "application/json");
    cr_assert_str_eq((const char *)resp.body, "{\"status\":\"ok\"}");
    th_response_free(&resp);
}

static void expect_names(json_t *arr, const char *const want[], size_t n)
{
    cr_assert(json_is_array(arr));
    cr_assert_eq(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++)
        cr_expect_str_eq(json_string_value(json_array_get(arr, i)), want[i]);
}

/* Every initializer, in gp_inits order, with its parameters and defaults. */
static void expect_initializers(json_t *arr)
{
    static const char *const want[] = {
        "glorot_uniform:gain=1",
        "glorot_normal:gain=1",
        "he_uniform:gain=1,mode=fan_in[fan_in|fan_out]",
        "he_normal:gain=1,mode=fan_in[fan_in|fan_out]",
        "uniform:low=0,high=1",
        "normal:mean=0,std=1",
        "truncated_normal:mean=0,std=1,a=-2,b=2",
        "constant:value=0",
        "zeros:",
        "ones:",
        "identity:",
    };
    cr_assert_eq(json_array_size(arr), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *in = json_array_get(arr, i), *p;
        char text[128];
        size_t k, n = (size_t)snprintf(text, sizeof text,
                                       "%s:", json_string_value(json_object_get(in, "name")));
        json_array_foreach(json_object_get(in, "params"), k, p)
        {
            n += (size_t)snprintf(text + n, sizeof text - n, "%s%s=%s", k ? "," : "",
                                  json_string_value(json_object_get(p, "name")),
                                  json_string_value(json_object_get(p, "default")));
            json_t *values = json_object_get(p, "values"), *v; /* named choices, e.g. mode */
            size_t j;
            json_array_foreach(values, j, v)
            {
                n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", j ? "|" : "[",
                                      json_string_value(v));
            }
            if (json_array_size(values) > 0)
                n += (size_t)snprintf(text + n, sizeof text - n, "]");
        }
        cr_expect_str_eq(text, want[i]);
    }
}

Test(values, info)
{
    th_response resp;
    get(&resp, "/v1/info", NULL);
    cr_assert_eq(resp.status, 200);
    expect_header(&resp, "Content-Type", "application/json");
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)resp.body, resp.body_len, 0, &jerr);
    cr_assert_not_null(doc, "%s", jerr.text);
    const char *name, *version, *kernels;
    json_t *algs, *dtypes, *fans, *formats, *inits, *mlx_compat;
    json_int_t max_el, max_body, max_json, max_conn, timeout, batch_tensors, batch_bytes, digests;
    int rc = json_unpack_ex(
        doc, &jerr, JSON_STRICT,
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
        "name", &name, "version", &version, "kernels", &kernels, "initializers", &inits,
        "mlx_compatibility", &mlx_compat, "algorithms", &algs, "dtypes", &dtypes, "fans", &fans,
        "formats", &formats, "limits", "max_elements", &max_el, "max_body_bytes", &max_body,
        "max_json_elements", &max_json, "max_batch_tensors", &batch_tensors, "max_batch_bytes",
        &batch_bytes, "max_connections", &max_conn, "timeout_seconds", &timeout, "max_digest_jobs",
        &digests);
    cr_assert_eq(rc, 0, "%s: %s", jerr.text, (const char *)resp.body);
    cr_expect_str_eq(name, "glorotd");
    cr_expect_str_eq(version, GLOROT_VERSION);
    cr_expect_str_eq(kernels, gp_kernels(), "same CPU and environment as this test");
    expect_initializers(inits);
    cr_expect(json_is_string(json_object_get(mlx_compat, "float16_bfloat16")));
    /* defaults where the shared daemon was not told otherwise, flags where it was */
    cr_expect_eq(max_el, 4294967296LL);
    cr_expect_eq(max_body, 1048576);
    cr_expect_eq(digests, 2, "--max-digest-jobs default");
    cr_expect_eq(max_json, 5000);
    cr_expect_eq(batch_tensors, 4096);
    cr_expect_eq(batch_bytes, 68719476736LL);
    cr_expect_eq(max_conn, 77);
    cr_expect_eq(timeout, 45);
    static const char *const want_dtypes[] = {"float32", "float16", "bfloat16", "float64"};
    static const char *const want_fans[] = {"mlx", "torch", "keras"};
    static const char *const want_formats[] = {"raw", "npy", "safetensors", "json"};
    expect_names(dtypes, want_dtypes, 4);
    expect_names(fans, want_fans, 3);
    expect_names(formats, want_formats, 4);
    static const char *const want_algs[] = {"chacha20", "mlx", "mlx-seeded"};
    cr_assert_eq(json_array_size(algs), 3);
    for (size_t i = 0; i < 3; i++) {
        const char *an;
        int av, ad;
        cr_assert_eq(json_unpack_ex(json_array_get(algs, i), &jerr, JSON_STRICT, "{s:s, s:i, s:b}",
                                    "name", &an, "version", &av, "default", &ad),
                     0, "%s", jerr.text);
        cr_expect_str_eq(an, want_algs[i]);
        cr_expect_eq(av, 1);
        cr_expect_eq(ad, i == 0, "chacha20 is the default");
    }
    json_decref(doc);
    th_response_free(&resp);
}
