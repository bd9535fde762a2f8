/*
 * test_server_errors.c - every error glorotd can answer, hit with a real
 * request, and the JSON error body checked (code, param, message); cases curl
 * cannot produce go over a raw socket. Bad flags and environment values make
 * glorotd exit 2. After all of it the shared daemon still answers and exits 0.
 */
#include "test_server_util.h"

#include <criterion/parameterized.h>

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    static const char *const extra[] = {
        "--threads", "2", "--max-body-bytes", "512", "--max-json-elements", "100", "--max-elements",
        "1000000",   NULL};
    ts_shared_start(extra);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    ts_shared_stop();
}

#define MAX_ARGS 8
typedef struct {
    char label[48];
    char args[MAX_ARGS][160]; /* curl arguments before the URL; "" ends the list */
    char path[200];
    int status;
    char code[32];
    char param[16];
    char allow[24]; /* expected Allow header, "" = not checked */
} ecase;

#define JSON_CT "-H", "Content-Type: application/json"
#define GU "/v1/glorot_uniform"

ParameterizedTestParameters(errors, reply)
{
    static ecase cases[] = {
        /* routing and methods */
        {"unknown path", {""}, "/v2/nothing", 404, "not_found", "", ""},
        /* "/" is the page (test_page.c); nothing else lives under it */
        {"under root", {""}, "/index.html", 404, "not_found", "", ""},
        {"POST root",
         {"-X", "POST", JSON_CT, "--data-binary", "{}"},
         "/",
         405,
         "method_not_allowed",
         "",
         "GET, HEAD"},
        {"DELETE", {"-X", "DELETE"}, GU, 405, "method_not_allowed", "", "GET, HEAD, POST"},
        {"PUT",
         {"-X", "PUT", JSON_CT, "--data-binary", "{}"},
         GU,
         405,
         "method_not_allowed",
         "",
         "GET, HEAD, POST"},
        {"POST healthz",
         {"-X", "POST", "--data-binary", "{}"},
         "/healthz",
         405,
         "method_not_allowed",
         "",
         "GET, HEAD"},
        {"DELETE info", {"-X", "DELETE"}, "/v1/info", 405, "method_not_allowed", "", "GET, HEAD"},
        /* POST framing */
        {"POST without length", {"-X", "POST", JSON_CT}, GU, 411, "length_required", "", ""},
        {"POST http/1.0 no length",
         {"--http1.0", "-X", "POST", JSON_CT},
         GU,
         411,
         "length_required",
         "",
         ""},
        {"text/plain",
         {"-H", "Content-Type: text/plain", "--data-binary", "{}"},
         GU,
         415,
         "unsupported_media_type",
         "",
         ""},
        {"form default type",
         {"--data-binary", "{\"shape\":[2,2]}"},
         GU,
         415,
         "unsupported_media_type",
         "",
         ""},
        {"no content type",
         {"-H", "Content-Type:", "--data-binary", "{}"},
         GU,
         415,
         "unsupported_media_type",
         "",
         ""},
        {"latin1",
         {"-H", "Content-Type: application/json; charset=latin1", "--data-binary", "{}"},
         GU,
         415,
         "unsupported_media_type",
         "",
         ""},
        {"json-seq",
         {"-H", "Content-Type: application/jsonx", "--data-binary", "{}"},
         GU,
         415,
         "unsupported_media_type",
         "",
         ""},
        /* JSON bodies */
        {"empty body", {JSON_CT, "--data-binary", ""}, GU, 400, "bad_json", "", ""},
        {"chunked empty",
         {JSON_CT, "-H", "Transfer-Encoding: chunked", "--data-binary", ""},
         GU,
         400,
         "bad_json",
         "",
         ""},
        {"truncated", {JSON_CT, "--data-binary", "{\"shape\":[2,"}, GU, 400, "bad_json", "", ""},
        {"trailing junk",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2]} x"},
         GU,
         400,
         "bad_json",
         "",
         ""},
        {"array body", {JSON_CT, "--data-binary", "[2,2]"}, GU, 400, "bad_json", "", ""},
        {"string body", {JSON_CT, "--data-binary", "\"shape\""}, GU, 400, "bad_json", "", ""},
        {"duplicate key",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2],\"shape\":[3,3]}"},
         GU,
         400,
         "bad_json",
         "",
         ""},
        {"seed beyond int64",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2],\"seed\":18446744073709551615}"},
         GU,
         400,
         "bad_json",
         "",
         ""},
        {"seed true",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2],\"seed\":true}"},
         GU,
         400,
         "invalid_parameter",
         "seed",
         ""},
        {"name null",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2],\"name\":null}"},
         GU,
         400,
         "invalid_parameter",
         "name",
         ""},
        {"gain object",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2],\"gain\":{}}"},
         GU,
         400,
         "invalid_parameter",
         "gain",
         ""},
        {"dtype array",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2],\"dtype\":[\"float32\"]}"},
         GU,
         400,
         "invalid_parameter",
         "dtype",
         ""},
        {"shape of reals",
         {JSON_CT, "--data-binary", "{\"shape\":[2.5,2]}"},
         GU,
         400,
         "invalid_parameter",
         "shape",
         ""},
        {"shape of strings",
         {JSON_CT, "--data-binary", "{\"shape\":[\"2\",\"2\"]}"},
         GU,
         400,
         "invalid_parameter",
         "shape",
         ""},
        {"shape empty array",
         {JSON_CT, "--data-binary", "{\"shape\":[]}"},
         GU,
         400,
         "invalid_parameter",
         "shape",
         ""},
        {"shape negative",
         {JSON_CT, "--data-binary", "{\"shape\":[-2,2]}"},
         GU,
         400,
         "invalid_parameter",
         "shape",
         ""},
        {"shape rank 20",
         {JSON_CT, "--data-binary", "{\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}"},
         GU,
         400,
         "invalid_parameter",
         "shape",
         ""},
        {"seed real",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2],\"seed\":4.0}"},
         GU,
         400,
         "invalid_parameter",
         "seed",
         ""},
        {"call real",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2],\"algorithm\":\"mlx-seeded\",\"call\":2.0}"},
         GU,
         400,
         "invalid_parameter",
         "call",
         ""},
        {"unknown key",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2],\"colour\":\"red\"}"},
         GU,
         400,
         "invalid_parameter",
         "colour",
         ""},
        {"key in query and body",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2],\"seed\":1}"},
         GU "?seed=2",
         400,
         "invalid_parameter",
         "seed",
         ""},
        {"shape in query and body",
         {JSON_CT, "--data-binary", "{\"shape\":[2,2]}"},
         GU "?shape=2,2",
         400,
         "invalid_parameter",
         "shape",
         ""},
        {"mlx float64 post",
         {JSON_CT, "--data-binary",
          "{\"shape\":[2,2],\"algorithm\":\"mlx\",\"dtype\":\"float64\"}"},
         GU,
         422,
         "unsupported",
         "dtype",
         ""},
        {"post too many elements",
         {JSON_CT, "--data-binary", "{\"shape\":[1001,1000]}"},
         GU,
         413,
         "too_large",
         "shape",
         ""},
        /* query parameters */
        {"no shape", {""}, GU "?seed=1", 400, "invalid_parameter", "shape", ""},
        {"no parameters", {""}, GU, 400, "invalid_parameter", "shape", ""},
        {"zero dimension", {""}, GU "?shape=0,3", 400, "invalid_parameter", "shape", ""},
        {"rank 1", {""}, GU "?shape=7", 400, "invalid_parameter", "shape", ""},
        {"rank 9", {""}, GU "?shape=1,1,1,1,1,1,1,1,1", 400, "invalid_parameter", "shape", ""},
        {"shape junk", {""}, GU "?shape=2,x", 400, "invalid_parameter", "shape", ""},
        {"seed negative", {""}, GU "?shape=2,2&seed=-1", 400, "invalid_parameter", "seed", ""},
        {"seed 2^64",
         {""},
         GU "?shape=2,2&seed=18446744073709551616",
         400,
         "invalid_parameter",
         "seed",
         ""},
        {"seed twice", {""}, GU "?shape=2,2&seed=1&seed=2", 400, "invalid_parameter", "seed", ""},
        {"seed empty", {""}, GU "?shape=2,2&seed=", 400, "invalid_parameter", "seed", ""},
        {"seed without value", {""}, GU "?shape=2,2&seed", 400, "invalid_parameter", "seed", ""},
        {"seed plus", {""}, GU "?shape=2,2&seed=%2B1", 400, "invalid_parameter", "seed", ""},
        {"dtype unknown", {""}, GU "?shape=2,2&dtype=int8", 400, "invalid_parameter", "dtype", ""},
        {"algorithm unknown",
         {""},
         GU "?shape=2,2&algorithm=philox",
         400,
         "invalid_parameter",
         "algorithm",
         ""},
        {"fan unknown", {""}, GU "?shape=2,2&fan=avg", 400, "invalid_parameter", "fan", ""},
        {"format unknown",
         {""},
         GU "?shape=2,2&format=csv",
         400,
         "invalid_parameter",
         "format",
         ""},
        {"gain unknown", {""}, GU "?shape=2,2&gain=softmax", 400, "invalid_parameter", "gain", ""},
        {"gain negative", {""}, GU "?shape=2,2&gain=-1", 400, "invalid_parameter", "gain", ""},
        {"call without mlx-seeded",
         {""},
         GU "?shape=2,2&call=2",
         400,
         "invalid_parameter",
         "call",
         ""},
        {"name with NUL", {""}, GU "?shape=2,2&name=a%00b", 400, "invalid_parameter", "name", ""},
        {"unknown key", {""}, GU "?shape=2,2&colour=red", 400, "invalid_parameter", "colour", ""},
        {"mlx float64",
         {""},
         GU "?shape=2,2&algorithm=mlx&dtype=float64",
         422,
         "unsupported",
         "dtype",
         ""},
        {"mlx-seeded float64",
         {""},
         GU "?shape=2,2&algorithm=mlx-seeded&dtype=float64",
         422,
         "unsupported",
         "dtype",
         ""},
        {"too many elements", {""}, GU "?shape=1001,1000", 413, "too_large", "shape", ""},
        {"overflowing shape",
         {""},
         GU "?shape=4294967296,4294967296,4294967296",
         400,
         "invalid_parameter",
         "shape",
         ""},
        {"json above its cap", {""}, GU "?shape=11,10&format=json", 413, "too_large", "shape", ""},
        {"json via Accept above cap",
         {"-H", "Accept: application/json"},
         GU "?shape=11,10",
         413,
         "too_large",
         "shape",
         ""},
        {"nothing acceptable",
         {"-H", "Accept: text/html"},
         GU "?shape=2,2",
         406,
         "not_acceptable",
         "Accept",
         ""},
        {"only q=0",
         {"-H", "Accept: application/octet-stream;q=0, application/x-npy;q=0"},
         GU "?shape=2,2",
         406,
         "not_acceptable",
         "Accept",
         ""},
    };
    return cr_make_param_array(ecase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(ecase *c, errors, reply)
{
    const char *argv[MAX_ARGS + 2];
    size_t n = 0;
    for (size_t i = 0; i < MAX_ARGS && c->args[i][0] != '\0'; i++)
        argv[n++] = c->args[i];
    /* a case whose only argument is "" (empty body) keeps it */
    if (n < MAX_ARGS && n > 0 && strcmp(argv[n - 1], "--data-binary") == 0)
        argv[n++] = "";
    char url[512];
    snprintf(url, sizeof url, "%s%s", ts_url(), c->path);
    argv[n++] = url;
    argv[n] = NULL;
    th_response r;
    cr_assert_eq(th_curl(&r, argv), 0, "%s: curl did not run", c->label);
    cr_assert_eq(r.exit_code, 0, "%s: curl exit %d", c->label, r.exit_code);
    ts_assert_error(&r, c->status, c->code, c->param);
    if (c->allow[0] != '\0') {
        char allow[64];
        cr_assert_eq(th_header(&r, "Allow", allow, sizeof allow), 0, "%s: no Allow", c->label);
        cr_expect_str_eq(allow, c->allow, "%s", c->label);
    }
    th_response_free(&r);
}

/* The error for seed > 2^63-1 as a JSON number tells the user what to do. */
Test(errors, big_seed_message)
{
    char url[256];
    snprintf(url, sizeof url, "%s" GU, ts_url());
    const char *const args[] = {JSON_CT, "--data-binary",
                                "{\"shape\":[2,2],\"seed\":18446744073709551615}", url, NULL};
    th_response r;
    cr_assert_eq(th_curl(&r, args), 0);
    cr_assert_eq(r.status, 400);
    cr_assert(strstr((const char *)r.body, "decimal string") != NULL, "%s", (const char *)r.body);
    th_response_free(&r);
}

/* A charset parameter naming UTF-8 (any case, quoted or not) is accepted. */
Test(errors, json_charset_accepted)
{
    static const char *const types[] = {"application/json; charset=utf-8",
                                        "Application/JSON;charset=\"UTF-8\"",
                                        "application/json ; foo=bar"};
    char url[256];
    snprintf(url, sizeof url, "%s" GU, ts_url());
    for (size_t i = 0; i < 3; i++) {
        char h[96];
        snprintf(h, sizeof h, "Content-Type: %s", types[i]);
        const char *const args[] = {"-H", h,   "--data-binary", "{\"shape\":[2,2],\"seed\":1}",
                                    url,  NULL};
        th_response r;
        cr_assert_eq(th_curl(&r, args), 0);
        cr_expect_eq(r.status, 200, "%s: %s", types[i], (const char *)r.body);
        cr_expect_eq(r.body_len, 16);
        th_response_free(&r);
    }
}

/* A body just over --max-body-bytes (512) with Content-Length: 413. */
Test(errors, body_over_cap_with_length)
{
    char body[600];
    memset(body, ' ', sizeof body - 1);
    body[0] = '{';
    body[sizeof body - 2] = '}';
    body[sizeof body - 1] = '\0';
    char url[256];
    snprintf(url, sizeof url, "%s" GU, ts_url());
    const char *const args[] = {JSON_CT, "--data-binary", body, url, NULL};
    th_response r;
    cr_assert_eq(th_curl(&r, args), 0);
    ts_assert_error(&r, 413, "body_too_large", "");
    th_response_free(&r);
}

/* Exactly at the cap is fine. */
Test(errors, body_at_cap)
{
    char body[513];
    const char *json = "{\"shape\":[2,2],\"seed\":1}";
    memset(body, ' ', sizeof body - 1);
    memcpy(body, json, strlen(json));
    body[512] = '\0';
    char url[256];
    snprintf(url, sizeof url, "%s" GU, ts_url());
    const char *const args[] = {JSON_CT, "--data-binary", body, url, NULL};
    th_response r;
    cr_assert_eq(th_curl(&r, args), 0);
    cr_assert_eq(r.status, 200, "%s", (const char *)r.body);
    th_response_free(&r);
}

/* ---- raw sockets: what curl will not send ------------------------------------ */

/* A huge Content-Length is refused from the headers alone: the body is never
 * sent, nothing is allocated for it, and the connection is closed. */
Test(errors, huge_content_length_refused_before_body)
{
    int fd = ts_connect(ts_port());
    ts_send_str(fd, "POST " GU " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    "Content-Length: 1000000000000\r\n\r\n");
    ts_head h;
    ts_read_response(fd, &h);
    ts_assert_raw_error(&h, 413, "body_too_large", "");
    cr_assert(ts_closed(fd), "connection left open after an early 413");
    close(fd);
}

/* Expect: 100-continue with an oversized length gets 413 instead of 100. */
Test(errors, expect_continue_refused)
{
    int fd = ts_connect(ts_port());
    ts_send_str(fd, "POST " GU " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    "Content-Length: 4096\r\nExpect: 100-continue\r\n\r\n");
    ts_head h;
    ts_read_response(fd, &h);
    ts_assert_raw_error(&h, 413, "body_too_large", "");
    close(fd);
}

/* Chunked bodies have no length up front: the cap applies as they grow. */
Test(errors, chunked_body_over_cap)
{
    int fd = ts_connect(ts_port());
    ts_send_str(fd, "POST " GU " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    char chunk[300];
    memset(chunk, ' ', sizeof chunk);
    for (int i = 0; i < 3; i++) { /* 900 bytes > 512 */
        ts_send_str(fd, "12c\r\n");
        ts_send(fd, chunk, sizeof chunk);
        ts_send_str(fd, "\r\n");
    }
    ts_send_str(fd, "0\r\n\r\n");
    ts_head h;
    ts_read_response(fd, &h);
    ts_assert_raw_error(&h, 413, "body_too_large", "");
    close(fd);
}

/* A chunked body within the cap works (and is parsed across chunks). */
Test(errors, chunked_body_within_cap)
{
    int fd = ts_connect(ts_port());
    ts_send_str(fd, "POST " GU " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    "6\r\n{\"shap\r\n"
                    "f\r\ne\":[2,2],\"seed\"\r\n"
                    "3\r\n:1}\r\n0\r\n\r\n");
    ts_head h;
    ts_read_response(fd, &h);
    cr_assert_eq(h.status, 200, "%s%s", h.head, h.body);
    cr_assert_eq(h.body_len, 16);
    close(fd);
}

/* Garbage and truncated requests never take the daemon down. */
Test(errors, garbage_then_healthy)
{
    static const char *const junk[] = {
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n",
        "GET\r\n\r\n",
        "GET /healthz HTTP/9.9\r\n\r\n",
        "POST " GU " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        "Content-Length: 99999999999999999999999999\r\n\r\n",
        "POST " GU " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        "Content-Length: 50\r\n\r\n{\"shape\":", /* then hang up mid-body */
    };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        int fd = ts_connect(ts_port());
        ts_send_str(fd, junk[i]);
        shutdown(fd, SHUT_WR);
        char buf[4096];
        while (recv(fd, buf, sizeof buf, 0) > 0) /* whatever it answers, it must close */
            ;
        close(fd);
    }
    int fd = ts_connect(ts_port());
    ts_send_str(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    ts_head h;
    ts_read_response(fd, &h);
    cr_assert_eq(h.status, 200);
    close(fd);
}

/* ---- bad settings: exit 2 with a message ------------------------------------------ */

typedef struct {
    char label[40];
    char args[4][48];
    char env_name[32];
    char env_value[48];
    char message[48]; /* a piece of the stderr text */
} fcase;

ParameterizedTestParameters(errors, bad_settings)
{
    static fcase cases[] = {
        {"unknown flag", {"--colour", "red"}, "", "", "unknown option"},
        {"missing value", {"--threads"}, "", "", "needs a value"},
        {"threads zero", {"--threads", "0"}, "", "", "--threads"},
        {"threads huge", {"--threads", "100000"}, "", "", "--threads"},
        {"threads junk", {"--threads", "2x"}, "", "", "--threads"},
        {"threads sign", {"--threads", "+2"}, "", "", "--threads"},
        {"threads space", {"--threads", " 2"}, "", "", "--threads"},
        {"elements overflow",
         {"--max-elements", "99999999999999999999999"},
         "",
         "",
         "--max-elements"},
        {"body bytes zero", {"--max-body-bytes=0"}, "", "", "--max-body-bytes"},
        {"json elements empty", {"--max-json-elements="}, "", "", "--max-json-elements"},
        {"connections", {"--max-connections", "-5"}, "", "", "--max-connections"},
        {"timeout", {"--timeout", "1.5"}, "", "", "--timeout"},
        {"grace", {"--shutdown-grace", "99999"}, "", "", "--shutdown-grace"},
        {"listen no port", {"--listen", "127.0.0.1"}, "", "", "--listen"},
        {"listen bad port", {"--listen", "127.0.0.1:65536"}, "", "", "--listen"},
        {"listen hostname", {"--listen", "localhost:80"}, "", "", "--listen"},
        {"listen v6 no brackets", {"--listen", "::1:80"}, "", "", "--listen"},
        {"listen v6 bad", {"--listen", "[::g]:80"}, "", "", "--listen"},
        {"env threads", {""}, "GLOROTD_THREADS", "many", "GLOROTD_THREADS"},
        {"env listen", {""}, "GLOROTD_LISTEN", "nowhere", "GLOROTD_LISTEN"},
        {"env timeout", {""}, "GLOROTD_TIMEOUT", "-1", "GLOROTD_TIMEOUT"},
        {"env port file empty", {""}, "GLOROTD_PORT_FILE", "", "GLOROTD_PORT_FILE"},
    };
    return cr_make_param_array(fcase, cases, sizeof cases / sizeof cases[0]);
}

/* Run argv with its stderr captured; returns the exit status, *text the
 * stderr (malloc'd). */
static int run_capture(const char *const argv[], char **text)
{
    char err_path[] = "/tmp/glorot-stderr-XXXXXX";
    int fd = mkstemp(err_path);
    cr_assert_geq(fd, 0);
    int saved = dup(2); /* th_run's child inherits our stderr */
    dup2(fd, 2);
    int rc = th_run(argv, NULL, 20);
    dup2(saved, 2);
    close(saved);
    close(fd);
    *text = (char *)th_read_file(err_path, NULL);
    unlink(err_path);
    cr_assert_not_null(*text);
    return rc;
}

ParameterizedTest(fcase *c, errors, bad_settings)
{
    const char *argv[8];
    size_t n = 0;
    argv[n++] = th_env("GLOROTD_BIN");
    for (size_t i = 0; i < 4 && c->args[i][0] != '\0'; i++)
        argv[n++] = c->args[i];
    argv[n] = NULL;
    if (c->env_name[0] != '\0')
        setenv(c->env_name, c->env_value, 1);
    char *text;
    int rc = run_capture(argv, &text);
    cr_expect_eq(rc, 2, "%s: exit %d, stderr: %s", c->label, rc, text);
    cr_expect(strstr(text, c->message) != NULL, "%s: stderr lacks '%s': %s", c->label, c->message,
              text);
    cr_expect(strncmp(text, "glorotd: ", 9) == 0, "%s", text);
    free(text);
}

/* --help and --version succeed even with a bad environment. */
Test(errors, help_and_version)
{
    setenv("GLOROTD_THREADS", "bad", 1);
    char out_path[] = "/tmp/glorot-help-XXXXXX";
    int fd = mkstemp(out_path);
    cr_assert_geq(fd, 0);
    close(fd);
    const char *const help[] = {th_env("GLOROTD_BIN"), "--help", NULL};
    cr_assert_eq(th_run(help, out_path, 20), 0);
    unsigned char *text = th_read_file(out_path, NULL);
    cr_assert(strstr((const char *)text, "--max-json-elements") != NULL);
    cr_assert(strstr((const char *)text, "GLOROTD_SHUTDOWN_GRACE") != NULL);
    free(text);
    const char *const version[] = {th_env("GLOROTD_BIN"), "--version", NULL};
    cr_assert_eq(th_run(version, out_path, 20), 0);
    text = th_read_file(out_path, NULL);
    cr_assert_str_eq((const char *)text, "glorotd " GLOROT_VERSION "\n");
    free(text);
    unlink(out_path);
}

/* A port already taken: exit 1 with a message, not a hang. */
Test(errors, address_in_use)
{
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", ts_port());
    const char *const argv[] = {th_env("GLOROTD_BIN"), "--listen", listen, "--allow-root", NULL};
    char *text;
    cr_assert_eq(run_capture(argv, &text), 1, "%s", text);
    cr_expect(strstr(text, "cannot listen on 127.0.0.1:") != NULL, "%s", text);
    free(text);
}
