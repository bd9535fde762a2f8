/*
 * test_formats.c - npy, safetensors and json bodies from a real glorotd,
 * checked by an independent Python/numpy reader (tests/py/check_formats.py)
 * against the raw tensor; Accept negotiation and the json element cap.
 *
 * One daemon serves the whole binary (started before the tests are forked,
 * found through FT_URL), with a small --max-json-elements.
 */
#include "../support/harness.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JSON_CAP "5000"

static th_daemon shared;

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    static const char *const extra[] = {"--threads", "2", "--max-json-elements", JSON_CAP, NULL};
    if (th_daemon_start(&shared, extra) != 0) {
        fprintf(stderr, "test_formats: cannot start glorotd\n");
        exit(3);
    }
    setenv("FT_URL", shared.base_url, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    char log[192];
    snprintf(log, sizeof log, "%s/daemon.log", shared.dir);
    int rc = th_daemon_signal_wait(&shared, SIGTERM);
    if (rc != 0) {
        unsigned char *text = th_read_file(log, NULL);
        fprintf(stderr, "test_formats: glorotd exited with %d; its log:\n%s\n", rc,
                text ? (char *)text : "(none)");
        free(text);
    }
    th_daemon_stop(&shared);
    if (rc != 0)
        exit(4);
}

/* ---- helpers --------------------------------------------------------------- */

/* GET /v1/glorot_uniform?query. accept: NULL = curl's default, "" = no Accept. */
static void get(th_response *r, const char *query, const char *accept)
{
    char url[768], header[4400];
    snprintf(url, sizeof url, "%s/v1/glorot_uniform?%s", th_env("FT_URL"), query);
    const char *args[4] = {url, NULL, NULL, NULL};
    if (accept != NULL) {
        snprintf(header, sizeof header, "Accept:%s%s", accept[0] ? " " : "", accept);
        args[0] = "-H";
        args[1] = header;
        args[2] = url;
    }
    cr_assert_eq(th_curl(r, args), 0, "curl did not run");
    cr_assert_eq(r->exit_code, 0, "curl failed (%d) for %s", r->exit_code, url);
}

static void expect_header(const th_response *r, const char *name, const char *want)
{
    char got[256];
    cr_assert_eq(th_header(r, name, got, sizeof got), 0, "no %s header", name);
    cr_assert_str_eq(got, want, "%s", name);
}

static void expect_error(const th_response *r, int status, const char *code, const char *param)
{
    cr_assert_eq(r->status, status, "status %d; body %s", r->status, (char *)r->body);
    expect_header(r, "Content-Type", "application/json");
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)r->body, r->body_len, 0, &jerr);
    cr_assert_not_null(doc, "error body is not JSON: %s", (char *)r->body);
    const char *c = NULL, *m = NULL, *p = NULL;
    cr_assert_eq(
        json_unpack(doc, "{s:{s:s,s:s,s:s}}", "error", "code", &c, "message", &m, "param", &p), 0,
        "%s", (char *)r->body);
    cr_assert_str_eq(c, code);
    cr_assert_str_eq(p, param);
    cr_assert_gt(strlen(m), 10);
    json_decref(doc);
}

static void save(const char *path, const th_response *r)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(r->body, 1, r->body_len, f), r->body_len);
    cr_assert_eq(fclose(f), 0);
}

/* ---- every format holds the raw tensor ------------------------------------------ */

struct fmt_case {
    char dtype[12];
    char algorithm[12];
    char shape[24];
    char seed[24];
    char extra[64]; /* more query text, URL-encoded */
    char name[32];  /* the name as Python should see it */
    char file[64];  /* expected file name without extension */
};

static struct fmt_case fmt_cases[] = {
    {"float32", "chacha20", "17,33", "42", "", "weight", "glorot_17x33_float32_seed42"},
    {"float16", "chacha20", "64,48", "7", "", "weight", "glorot_64x48_float16_seed7"},
    {"bfloat16", "chacha20", "40,50", "9", "", "weight", "glorot_40x50_bfloat16_seed9"},
    {"float64", "chacha20", "30,20", "123", "&gain=relu", "weight", "glorot_30x20_float64_seed123"},
    {"float32", "mlx", "16,8,3", "5", "&fan=torch", "weight", "glorot_16x8x3_float32_seed5"},
    {"bfloat16", "mlx-seeded", "8,8,2,2", "11", "&call=3", "weight",
     "glorot_8x8x2x2_bfloat16_seed11"},
    {"float16", "mlx", "2,3", "18446744073709551615", "&name=a%22b%5Cc%20%C3%A9",
     "a\"b\\c \xc3\xa9", "glorot_2x3_float16_seed18446744073709551615"},
    {"float32", "chacha20", "2,1,3,1,2,1,2,2", "1", "&name=layers.0.w", "layers.0.w",
     "glorot_2x1x3x1x2x1x2x2_float32_seed1"},
};

static const struct {
    char format[12];
    char content_type[32];
    char ext[16];
} formats[] = {
    {"raw", "application/octet-stream", ".bin"},
    {"npy", "application/x-npy", ".npy"},
    {"safetensors", "application/vnd.safetensors", ".safetensors"},
    {"json", "application/json", ".json"},
};

ParameterizedTestParameters(formats, match_raw)
{
    return cr_make_param_array(struct fmt_case, fmt_cases, sizeof fmt_cases / sizeof fmt_cases[0]);
}

static void fetch_format(const struct fmt_case *c, size_t k, const char *path)
{
    char query[512], want[512];
    snprintf(query, sizeof query, "shape=%s&seed=%s&dtype=%s&algorithm=%s&format=%s%s", c->shape,
             c->seed, c->dtype, c->algorithm, formats[k].format, c->extra);
    th_response r;
    get(&r, query, NULL);
    cr_assert_eq(r.status, 200, "%s: %s", query, (char *)r.body);
    expect_header(&r, "Content-Type", formats[k].content_type);
    expect_header(&r, "Glorot-Format", formats[k].format);
    snprintf(want, sizeof want, "attachment; filename=\"%s%s\"", c->file, formats[k].ext);
    expect_header(&r, "Content-Disposition", want);
    char len[32];
    if (strcmp(formats[k].format, "json") == 0) {
        cr_assert_neq(th_header(&r, "Content-Length", len, sizeof len), 0, "json is streamed");
        expect_header(&r, "Transfer-Encoding", "chunked");
    } else {
        snprintf(want, sizeof want, "%zu", r.body_len);
        expect_header(&r, "Content-Length", want);
    }
    save(path, &r);
    th_response_free(&r);
}

ParameterizedTest(struct fmt_case *c, formats, match_raw)
{
    char dir[] = "/tmp/glorot-formats-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char paths[4][96];
    for (size_t k = 0; k < 4; k++) {
        snprintf(paths[k], sizeof paths[k], "%s/t%s", dir, formats[k].ext);
        fetch_format(c, k, paths[k]);
    }
    char script[512];
    snprintf(script, sizeof script, "%s/py/check_formats.py", th_env("GLOROT_TESTS"));
    const char *argv[] = {th_env("GLOROT_PYTHON"),
                          script,
                          "--dtype",
                          c->dtype,
                          "--shape",
                          c->shape,
                          "--seed",
                          c->seed,
                          "--algorithm",
                          c->algorithm,
                          "--name",
                          c->name,
                          "--raw",
                          paths[0],
                          "--npy",
                          paths[1],
                          "--safetensors",
                          paths[2],
                          "--json",
                          paths[3],
                          NULL};
    int rc = th_run(argv, NULL, 120);
    for (size_t k = 0; k < 4; k++)
        unlink(paths[k]);
    rmdir(dir);
    cr_assert_eq(rc, 0, "check_formats.py failed (%d); its messages are above", rc);
}

/* The checker itself must notice a wrong tensor. */
Test(formats, checker_rejects_a_different_tensor)
{
    char dir[] = "/tmp/glorot-formats-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char raw[96], npy[96], json[96];
    snprintf(raw, sizeof raw, "%s/t.bin", dir);
    snprintf(npy, sizeof npy, "%s/t.npy", dir);
    snprintf(json, sizeof json, "%s/t.json", dir);
    th_response r;
    get(&r, "shape=4,4&seed=1&format=raw", NULL);
    save(raw, &r);
    th_response_free(&r);
    get(&r, "shape=4,4&seed=2&format=npy", NULL);
    save(npy, &r);
    th_response_free(&r);
    get(&r, "shape=4,4&seed=2&format=json", NULL);
    save(json, &r);
    th_response_free(&r);
    char script[512];
    snprintf(script, sizeof script, "%s/py/check_formats.py", th_env("GLOROT_TESTS"));
    const char *a1[] = {th_env("GLOROT_PYTHON"),
                        script,
                        "--dtype",
                        "float32",
                        "--shape",
                        "4,4",
                        "--seed",
                        "1",
                        "--raw",
                        raw,
                        "--npy",
                        npy,
                        "--quiet",
                        NULL};
    const char *a2[] = {th_env("GLOROT_PYTHON"),
                        script,
                        "--dtype",
                        "float32",
                        "--shape",
                        "4,4",
                        "--seed",
                        "2",
                        "--raw",
                        raw,
                        "--json",
                        json,
                        "--quiet",
                        NULL};
    int rc1 = th_run(a1, NULL, 60), rc2 = th_run(a2, NULL, 60);
    unlink(raw);
    unlink(npy);
    unlink(json);
    rmdir(dir);
    cr_assert_eq(rc1, 1);
    cr_assert_eq(rc2, 1);
}

/* ---- negotiation ------------------------------------------------------------- */

struct neg_case {
    char accept[128]; /* "-" = curl's default (Accept: * / *), "" = no header */
    char format[12];  /* expected Glorot-Format, or "" for 406 */
};

static struct neg_case neg_cases[] = {
    {"", "raw"},
    {"-", "raw"},
    {"*/*", "raw"},
    {"application/json", "json"},
    {"Application/JSON; charset=utf-8", "json"},
    {"application/x-npy;q=0.5, application/vnd.safetensors", "safetensors"},
    {"application/octet-stream;format=safetensors", "safetensors"},
    {"application/json;q=0.4, application/x-npy;q=0.4", "npy"},
    {"text/html, application/*;q=0.1", "raw"},
    {"application/octet-stream;q=0, */*;q=0.5", "npy"},
    {"text/html", ""},
    {"application/json;q=0", ""},
    {"text/*, image/png", ""},
    {"application/json;q=2", ""},
    {"application/", ""},
};

ParameterizedTestParameters(negotiate, accept)
{
    return cr_make_param_array(struct neg_case, neg_cases, sizeof neg_cases / sizeof neg_cases[0]);
}

ParameterizedTest(struct neg_case *c, negotiate, accept)
{
    th_response r;
    get(&r, "shape=4,4&seed=1", strcmp(c->accept, "-") == 0 ? NULL : c->accept);
    if (c->format[0] == '\0') {
        expect_error(&r, 406, "not_acceptable", "Accept");
    } else {
        cr_assert_eq(r.status, 200, "Accept: %s: %d %s", c->accept, r.status, (char *)r.body);
        expect_header(&r, "Glorot-Format", c->format);
    }
    th_response_free(&r);
}

Test(negotiate, explicit_format_wins)
{
    th_response r;
    get(&r, "shape=4,4&seed=1&format=npy", "text/html");
    cr_assert_eq(r.status, 200);
    expect_header(&r, "Content-Type", "application/x-npy");
    th_response_free(&r);
    get(&r, "shape=4,4&seed=1&format=raw", "application/json");
    cr_assert_eq(r.status, 200);
    expect_header(&r, "Glorot-Format", "raw");
    cr_assert_eq(r.body_len, 64);
    th_response_free(&r);
}

Test(negotiate, message_lists_offers)
{
    th_response r;
    get(&r, "shape=4,4&seed=1", "image/png");
    expect_error(&r, 406, "not_acceptable", "Accept");
    cr_assert_not_null(strstr((char *)r.body, "application/vnd.safetensors"));
    th_response_free(&r);
}

Test(negotiate, overlong_accept)
{
    static char accept[4200];
    memset(accept, 'a', sizeof accept - 1);
    memcpy(accept, "application/json, text/", 23);
    accept[sizeof accept - 1] = '\0';
    th_response r;
    get(&r, "shape=4,4&seed=1", accept);
    expect_error(&r, 406, "not_acceptable", "Accept");
    cr_assert_not_null(strstr((char *)r.body, "longer than"), "%s", (char *)r.body);
    th_response_free(&r);
}

/* ---- the json element cap -------------------------------------------------------- */

Test(json, element_cap)
{
    th_response r;
    get(&r, "shape=50,100&seed=3&format=json", NULL); /* exactly the cap */
    cr_assert_eq(r.status, 200, "%s", (char *)r.body);
    th_response_free(&r);
    get(&r, "shape=50,101&seed=3&format=json", NULL);
    expect_error(&r, 413, "too_large", "shape");
    cr_assert_not_null(strstr((char *)r.body, JSON_CAP), "%s", (char *)r.body);
    th_response_free(&r);
    get(&r, "shape=50,101&seed=3", "application/json");
    expect_error(&r, 413, "too_large", "shape");
    th_response_free(&r);
    get(&r, "shape=50,101&seed=3&format=npy", NULL); /* binary formats are not capped */
    cr_assert_eq(r.status, 200);
    th_response_free(&r);
}
