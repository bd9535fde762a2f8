/*
 * test_page.c - GET / on a real glorotd: the request explorer page (its
 * Content-Security-Policy against hashes computed here, nothing external,
 * HEAD, 405, ETag and 304, the metrics label), the JSON index for clients
 * that prefer application/json, the page without a token under
 * --token-file, and the page in a real browser: headless Chromium driven by
 * tests/py/check_page.py, once for every initializer and case against the
 * shared daemon and once against a daemon with --token-file. The browser
 * screenshots are kept in BUILD/page-test/ (BUILD: the folder of glorotd).
 */
#include "test_server_util.h"

#include <criterion/parameterized.h>
#include <libgen.h>
#include <sodium.h>
#include <sys/stat.h>

#define TOKEN "page-test-token-AAAAAAAAAAAAAAAAAA"

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

/* ---- helpers --------------------------------------------------------------- */

/* curl base+path with extra arguments before the URL (NULL-terminated). */
static void fetch(th_response *r, const char *base, const char *path, const char *const extra[])
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *args[16];
    size_t n = 0;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 14; i++)
        args[n++] = extra[i];
    args[n++] = url;
    args[n] = NULL;
    cr_assert_eq(th_curl(r, args), 0, "curl did not run for %s", url);
    cr_assert_eq(r->exit_code, 0, "curl failed (%d) for %s", r->exit_code, url);
}

static void get_page(th_response *r)
{
    fetch(r, ts_url(), "/", NULL);
    cr_assert_eq(r->status, 200, "GET /: %d %s", r->status, (const char *)r->body);
}

static void expect_header(const th_response *r, const char *name, const char *want)
{
    char got[512];
    cr_assert_eq(th_header(r, name, got, sizeof got), 0, "no %s in\n%s", name, r->headers);
    cr_expect_str_eq(got, want, "%s", name);
}

/* 'sha256-BASE64' of the text between <tag> and </tag> of the page. */
static void block_hash(const char *page, const char *tag, char *out, size_t size)
{
    char open[16], close[16];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *from = strstr(page, open), *to = strstr(page, close);
    cr_assert(from != NULL && to != NULL && to > from, "no <%s> block", tag);
    from += strlen(open);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)from, (unsigned long long)(to - from));
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, size, "'sha256-%s'", b64);
}

static size_t occurrences(const char *hay, const char *needle)
{
    size_t k = 0;
    for (const char *p = ts_find_ci(hay, needle); p != NULL; p = ts_find_ci(p + 1, needle))
        k++;
    return k;
}

/* ---- the page ------------------------------------------------------------------ */

Test(page, is_served_with_its_headers)
{
    th_response r;
    get_page(&r);
    cr_expect_eq(strncmp((const char *)r.body, "<!doctype html>", 15), 0);
    expect_header(&r, "Content-Type", "text/html; charset=utf-8");
    expect_header(&r, "Cache-Control", "no-cache");
    expect_header(&r, "Vary", "Accept");
    expect_header(&r, "X-Content-Type-Options", "nosniff");
    expect_header(&r, "Referrer-Policy", "no-referrer");
    expect_header(&r, "X-Frame-Options", "DENY");
    char etag[64], length[32];
    cr_assert_eq(th_header(&r, "ETag", etag, sizeof etag), 0);
    cr_expect_eq(strlen(etag), 34, "ETag %s", etag);
    cr_expect(etag[0] == '"' && etag[33] == '"' && strspn(etag + 1, "0123456789abcdef") == 32,
              "ETag %s", etag);
    cr_assert_eq(th_header(&r, "Content-Length", length, sizeof length), 0);
    cr_expect_eq(strtoull(length, NULL, 10), r.body_len);
    /* the page's ETag is its SHA-256 (first 16 bytes) */
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[33];
    crypto_hash_sha256(digest, r.body, r.body_len);
    sodium_bin2hex(hex, sizeof hex, digest, 16);
    cr_expect_eq(strncmp(etag + 1, hex, 32), 0, "ETag %s, page sha256 %s...", etag, hex);
    th_response_free(&r);
}

/* The policy allows exactly the page's one inline style and one inline
 * script (hashes computed here from the body), its own origin for fetches,
 * and nothing else. */
Test(page, csp_allows_only_the_page_itself)
{
    th_response r;
    get_page(&r);
    const char *page = (const char *)r.body;
    cr_assert_eq(occurrences(page, "<script"), 1, "one script element");
    cr_assert_eq(occurrences(page, "<style"), 1, "one style element");
    char script[80], style[80], want[512], got[512];
    block_hash(page, "script", script, sizeof script);
    block_hash(page, "style", style, sizeof style);
    snprintf(want, sizeof want,
             "default-src 'none'; script-src %s; style-src %s; connect-src 'self'; img-src data:; "
             "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
             script, style);
    cr_assert_eq(th_header(&r, "Content-Security-Policy", got, sizeof got), 0);
    cr_expect_str_eq(got, want);
    th_response_free(&r);
}

/* Works on an offline cluster and behind a proxy prefix: no scheme, no
 * protocol-relative or absolute-path reference, nothing loaded from
 * anywhere, and nothing stored in the browser. */
Test(page, refers_to_nothing_outside_itself)
{
    th_response r;
    get_page(&r);
    const char *page = (const char *)r.body;
    static const char *const banned[] = {
        "http:",           "https:",    "//",       "src=",      "@import",      "url(",
        "<iframe",         "<img",      "<object",  "<embed",    "localStorage", "sessionStorage",
        "document.cookie", "indexedDB", "fetch('/", "fetch(\"/", "\"/v1",        "'/v1"};
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        cr_expect_eq(occurrences(page, banned[i]), 0, "the page contains %s", banned[i]);
    /* the one link is the empty data: icon (no /favicon.ico request) */
    cr_expect_eq(occurrences(page, "href="), 1);
    cr_expect_neq(strstr(page, "href=\"data:,\""), NULL);
    th_response_free(&r);
}

Test(page, head_has_the_headers_and_no_body)
{
    th_response g, h;
    get_page(&g);
    const char *const head[] = {"--head", NULL};
    fetch(&h, ts_url(), "/", head);
    cr_assert_eq(h.status, 200);
    char gl[32], hl[32], ge[64], he[64];
    cr_assert_eq(th_header(&g, "Content-Length", gl, sizeof gl), 0);
    cr_assert_eq(th_header(&h, "Content-Length", hl, sizeof hl), 0);
    cr_expect_str_eq(hl, gl);
    cr_assert_eq(th_header(&g, "ETag", ge, sizeof ge), 0);
    cr_assert_eq(th_header(&h, "ETag", he, sizeof he), 0);
    cr_expect_str_eq(he, ge);
    /* curl --head writes the header block as its output: no page in it */
    cr_expect_null(strstr((const char *)h.body, "<!doctype"));
    th_response_free(&g);
    th_response_free(&h);
}

typedef struct {
    char method[8];
} mcase;

ParameterizedTestParameters(page, other_methods_are_405)
{
    static mcase cases[] = {{"POST"}, {"PUT"}, {"DELETE"}, {"PATCH"}, {"OPTIONS"}};
    return cr_make_param_array(mcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(mcase *c, page, other_methods_are_405)
{
    th_response r;
    const char *const extra[] = {"-X", c->method, NULL};
    fetch(&r, ts_url(), "/", extra);
    ts_assert_error(&r, 405, "method_not_allowed", "");
    expect_header(&r, "Allow", "GET, HEAD");
    th_response_free(&r);
}

typedef struct {
    char if_none_match[96]; /* "=" + the ETag is substituted for '@' */
    int status;
} ncase;

ParameterizedTestParameters(page, if_none_match)
{
    static ncase cases[] = {
        {"@", 304},
        {"W/@", 304},
        {"*", 304},
        {"\"0000\", @", 304},
        {"\"00000000000000000000000000000000\"", 200},
        {"W/\"abc\"", 200},
    };
    return cr_make_param_array(ncase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(ncase *c, page, if_none_match)
{
    th_response g, r;
    get_page(&g);
    char etag[64], header[256], value[160] = "";
    cr_assert_eq(th_header(&g, "ETag", etag, sizeof etag), 0);
    for (const char *p = c->if_none_match; *p != '\0'; p++) {
        size_t n = strlen(value);
        if (*p == '@')
            snprintf(value + n, sizeof value - n, "%s", etag);
        else
            snprintf(value + n, sizeof value - n, "%c", *p);
    }
    snprintf(header, sizeof header, "If-None-Match: %s", value);
    const char *const extra[] = {"-H", header, NULL};
    fetch(&r, ts_url(), "/", extra);
    cr_expect_eq(r.status, c->status, "%s: %d", header, r.status);
    if (c->status == 304) {
        cr_expect_eq(r.body_len, 0);
        expect_header(&r, "ETag", etag);
        expect_header(&r, "Cache-Control", "no-cache");
    } else {
        cr_expect_eq(r.body_len, g.body_len);
    }
    th_response_free(&g);
    th_response_free(&r);
}

Test(page, counted_under_its_own_metrics_label)
{
    th_response r;
    get_page(&r);
    th_response_free(&r);
    fetch(&r, ts_url(), "/metrics", NULL);
    cr_assert_eq(r.status, 200);
    cr_expect_neq(
        strstr((const char *)r.body, "glorotd_requests_total{endpoint=\"/\",status=\"200\"}"), NULL,
        "%s", (const char *)r.body);
    th_response_free(&r);
}

Test(page, only_the_root_is_the_page)
{
    th_response r;
    fetch(&r, ts_url(), "/index.html", NULL);
    ts_assert_error(&r, 404, "not_found", "");
    th_response_free(&r);
    fetch(&r, ts_url(), "/?anything=1", NULL); /* the query is not looked at */
    cr_expect_eq(r.status, 200);
    th_response_free(&r);
}

/* ---- Accept: the page or the JSON index ------------------------------------------ */

typedef struct {
    int send; /* 0 = no Accept header at all */
    char accept[128];
    int json; /* 1 = the index, 0 = the page */
} acase;

ParameterizedTestParameters(page, accept_chooses)
{
    static acase cases[] = {
        {0, "", 0},
        {1, "", 0},
        {1, "*/*", 0},
        {1, "text/html", 0},
        {1, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 0},
        {1, "application/json", 1},
        {1, "APPLICATION/JSON", 1},
        {1, "application/json; charset=utf-8", 1},
        {1, "application/json, */*;q=0.5", 1},
        {1, "text/html;q=0.5, application/json", 1},
        {1, "text/*;q=0.2, application/json;q=0.9", 1},
        {1, "application/json;q=0.8, text/html;q=0.8", 0}, /* a tie is the page */
        {1, "application/json;q=0, */*", 0},
        {1, "application/json, text/html", 0},
        {1, "application/*", 0}, /* json must be named, not matched by a wildcard */
        {1, "application/json;q=2", 0},
        {1, "application/json;q=abc", 0},
        {1, "image/png", 0},
        {1, " , application/json ;q=0.7 , ", 1},
    };
    return cr_make_param_array(acase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(acase *c, page, accept_chooses)
{
    th_response r;
    char header[160];
    snprintf(header, sizeof header, "Accept:%s%s", c->accept[0] ? " " : "", c->accept);
    const char *const with[] = {"-H", header, NULL};
    fetch(&r, ts_url(), "/", c->send ? with : NULL);
    cr_assert_eq(r.status, 200, "%s: %d", header, r.status);
    char ct[128];
    cr_assert_eq(th_header(&r, "Content-Type", ct, sizeof ct), 0);
    cr_expect_str_eq(ct, c->json ? "application/json" : "text/html; charset=utf-8", "[%s]",
                     c->send ? c->accept : "(none)");
    expect_header(&r, "Vary", "Accept");
    th_response_free(&r);
}

/* Every endpoint the index names exists (a GET of it is never 404), and it
 * names one per initializer /v1/info lists. */
Test(page, index_lists_the_endpoints)
{
    th_response r, info;
    const char *const json[] = {"-H", "Accept: application/json", NULL};
    fetch(&r, ts_url(), "/", json);
    cr_assert_eq(r.status, 200);
    json_error_t err;
    json_t *doc = json_loadb((const char *)r.body, r.body_len, 0, &err);
    cr_assert_not_null(doc, "%s: %s", err.text, (const char *)r.body);
    cr_expect_str_eq(json_string_value(json_object_get(doc, "name")), "glorotd");
    cr_expect(json_is_string(json_object_get(doc, "version")));
    json_t *list = json_object_get(doc, "endpoints");
    cr_assert(json_is_array(list) && json_array_size(list) >= 8, "%s", (const char *)r.body);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *href = json_string_value(json_object_get(e, "href"));
        cr_assert_not_null(href);
        cr_expect(href[0] != '/', "href %s is relative to the index", href);
        cr_expect(json_is_array(json_object_get(e, "methods")));
        cr_expect(json_is_string(json_object_get(e, "about")));
        char path[128];
        snprintf(path, sizeof path, "/%s", strcmp(href, "./") == 0 ? "" : href);
        th_response g;
        const char *const post[] = {"-X", "POST", "-H", "Content-Type: application/json",
                                    "-d", "{}",   NULL};
        fetch(&g, ts_url(), path, strcmp(href, "v1/batch") == 0 ? post : NULL);
        cr_expect(g.status != 404 && g.status != 405, "%s: %d", path, g.status);
        th_response_free(&g);
    }
    fetch(&info, ts_url(), "/v1/info", NULL);
    json_t *idoc = json_loadb((const char *)info.body, info.body_len, 0, &err);
    cr_assert_not_null(idoc);
    json_t *inits = json_object_get(idoc, "initializers");
    const char *text = (const char *)r.body;
    if (json_is_array(inits)) {
        json_array_foreach(inits, i, e)
        {
            char want[96];
            snprintf(want, sizeof want, "\"href\":\"v1/%s\"",
                     json_string_value(json_object_get(e, "name")));
            cr_expect_neq(strstr(text, want), NULL, "%s not in the index", want);
        }
    } else {
        cr_expect_neq(strstr(text, "\"href\":\"v1/glorot_uniform\""), NULL);
    }
    json_decref(idoc);
    json_decref(doc);
    th_response_free(&info);
    th_response_free(&r);
}

/* ---- in a browser ------------------------------------------------------------------ */

/* BUILD/page-test, BUILD being glorotd's folder: the screenshots. */
static void artifact_dir(char *out, size_t size)
{
    char bin[512];
    snprintf(bin, sizeof bin, "%s", th_env("GLOROTD_BIN"));
    snprintf(out, size, "%s/page-test", dirname(bin));
    mkdir(out, 0755);
}

static int run_browser(const char *base, const char *cases, const char *token, const char *prefix)
{
    char script[512], out[600];
    snprintf(script, sizeof script, "%s/py/check_page.py", th_env("GLOROT_TESTS"));
    artifact_dir(out, sizeof out);
    const char *argv[16] = {th_env("GLOROT_PYTHON"),
                            script,
                            "--url",
                            base,
                            "--glorot",
                            th_env("GLOROT_BIN"),
                            "--out",
                            out,
                            "--cases",
                            cases,
                            "--timeout",
                            "800"};
    size_t n = 12;
    if (token != NULL) {
        argv[n++] = "--token";
        argv[n++] = token;
    }
    if (prefix != NULL) {
        argv[n++] = "--prefix";
        argv[n++] = prefix;
    }
    argv[n] = NULL;
    return th_run(argv, NULL, 900);
}

/* Every initializer the server lists, an error, a slice, shards, a sampled
 * large tensor, mlx-seeded and bfloat16: the DOM checked against the server. */
Test(page_browser, every_case_in_chromium, .timeout = 1000)
{
    if (TH_UNDER_ASAN)
        cr_skip_test(
            "the Chromium runs are in make check; ASan checks the page's server side above");
    int rc = run_browser(ts_url(), "all", NULL, NULL);
    cr_assert_eq(rc, 0, "check_page.py failed (%d); its messages are above", rc);
}

/* With --token-file the page loads without a token, asks for one, and its
 * calls carry it; the token is neither stored nor written into the lines. */
Test(page_browser, token_file, .timeout = 1000)
{
    if (TH_UNDER_ASAN)
        cr_skip_test(
            "the Chromium runs are in make check; ASan checks the page's server side above");
    char dir[] = "/tmp/glorot-page-XXXXXX", file[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/tokens", dir);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs(TOKEN "\n", f);
    fclose(f);
    chmod(file, 0600);
    th_daemon d;
    const char *const extra[] = {"--token-file", file, "--threads", "2", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);

    th_response r;
    fetch(&r, d.base_url, "/", NULL);
    cr_expect_eq(r.status, 200, "the page needs no token: %d", r.status);
    th_response_free(&r);
    const char *const json[] = {"-H", "Accept: application/json", NULL};
    fetch(&r, d.base_url, "/", json);
    cr_expect_eq(r.status, 200, "the index needs no token: %d", r.status);
    th_response_free(&r);
    fetch(&r, d.base_url, "/v1/info", NULL);
    ts_assert_error(&r, 401, "unauthorized", "Authorization");
    th_response_free(&r);

    int rc = run_browser(d.base_url, "init-glorot_uniform,shard,error-param", TOKEN, NULL);
    int exit_rc = th_daemon_signal_wait(&d, SIGTERM);
    th_daemon_stop(&d);
    unlink(file);
    rmdir(dir);
    cr_assert_eq(rc, 0, "check_page.py with a token failed (%d); its messages are above", rc);
    cr_assert_eq(exit_rc, 0, "glorotd exited with %d", exit_rc);
}

/* Behind a reverse proxy that serves glorotd under /glorot/ (as nginx's
 * `location /glorot/ { proxy_pass http://glorotd/; }`): the page's calls and
 * its lines use the prefix, because every URL in it is relative. */
Test(page_browser, behind_a_path_prefix, .timeout = 1000)
{
    if (TH_UNDER_ASAN)
        cr_skip_test(
            "the Chromium runs are in make check; ASan checks the page's server side above");
    int rc = run_browser(ts_url(), "init-glorot_uniform,error,shard", NULL, "/glorot");
    cr_assert_eq(rc, 0, "check_page.py behind /glorot failed (%d); its messages are above", rc);
}
