/*
 * test_ops_auth.c - bearer tokens and HTTPS on a live daemon: missing,
 * wrong and right tokens on every route, open probes, --public-metrics,
 * tokens never logged, bad token files refused; an HTTPS round trip with curl
 * and with the client library (CA file + token), and certificates that do not
 * fit refused.
 */
#include "test_ops_util.h"

#include <glorot/client.h>
#include <sys/stat.h>

#define TOKEN_A "ops-test-token-AAAAAAAAAAAAAAAA"
#define TOKEN_B "b3BzLXRlc3QtdG9rZW4tQkJCQkJC=="
#define TOKEN_WRONG "ops-test-token-WRONGWRONGWRONGW"

/* A scratch folder with a token file (0600) holding TOKEN_A and TOKEN_B. */
static void write_tokens(char *dir, size_t dir_size, char *path, size_t path_size)
{
    snprintf(dir, dir_size, "/tmp/glorot-auth-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, path_size, "%s/tokens", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("# glorotd tokens\n" TOKEN_A "\n\n" TOKEN_B "\n", f);
    fclose(f);
    chmod(path, 0600);
}

static void remove_dir(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s", dir);
    const char *const argv[] = {"rm", "-rf", cmd, NULL};
    th_run(argv, NULL, 20);
}

/* ---- tokens on every route ----------------------------------------------------- */

static char auth_dir[64], auth_file[96];

static void auth_setup(void)
{
    write_tokens(auth_dir, sizeof auth_dir, auth_file, sizeof auth_file);
    const char *const extra[] = {"--token-file", auth_file, NULL};
    ts_shared_start(extra);
}

static void auth_teardown(void)
{
    ts_shared_stop();
    remove_dir(auth_dir);
}

typedef struct {
    char path[64];
    char header[96]; /* "" = no Authorization */
    int status;
    char code[24]; /* "" when not a 401 */
} acase;

ParameterizedTestParameters(ops_auth, routes)
{
    static acase cases[] = {
        {"/v1/glorot_uniform?shape=4,4&seed=1", "", 401, "unauthorized"},
        {"/v1/glorot_uniform?shape=4,4&seed=1", "Authorization: Bearer " TOKEN_WRONG, 401,
         "invalid_token"},
        {"/v1/glorot_uniform?shape=4,4&seed=1", "Authorization: Basic " TOKEN_A, 401,
         "invalid_token"},
        {"/v1/glorot_uniform?shape=4,4&seed=1", "Authorization: Bearer " TOKEN_A "x", 401,
         "invalid_token"},
        {"/v1/glorot_uniform?shape=4,4&seed=1", "Authorization: Bearer", 401, "invalid_token"},
        {"/v1/glorot_uniform?shape=4,4&seed=1", "Authorization: Bearer " TOKEN_A, 200, ""},
        {"/v1/glorot_uniform?shape=4,4&seed=1", "Authorization: Bearer " TOKEN_B, 200, ""},
        {"/v1/glorot_uniform?shape=4,4&seed=1", "Authorization: bearer  " TOKEN_A, 200, ""},
        {"/v1/info", "", 401, "unauthorized"},
        {"/v1/info", "Authorization: Bearer " TOKEN_B, 200, ""},
        {"/no/such/path", "", 401, "unauthorized"},
        {"/no/such/path", "Authorization: Bearer " TOKEN_A, 404, ""},
        {"/metrics", "", 401, "unauthorized"},
        {"/metrics", "Authorization: Bearer " TOKEN_WRONG, 401, "invalid_token"},
        {"/metrics", "Authorization: Bearer " TOKEN_A, 200, ""},
        {"/healthz", "", 200, ""},
        {"/healthz", "Authorization: Bearer " TOKEN_WRONG, 200, ""},
        {"/readyz", "", 200, ""},
    };
    return cr_make_param_array(acase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(acase *c, ops_auth, routes, .init = auth_setup, .fini = auth_teardown)
{
    th_response r;
    const char *const with[] = {"-H", c->header, NULL};
    ops_get(&r, ts_url(), c->path, c->header[0] != '\0' ? with : NULL);
    if (c->status != 401) {
        cr_assert_eq(r.status, c->status, "%s [%s]: %s", c->path, c->header, (const char *)r.body);
        th_response_free(&r);
        return;
    }
    ts_assert_error(&r, 401, c->code, "Authorization");
    char challenge[128];
    cr_assert_eq(th_header(&r, "WWW-Authenticate", challenge, sizeof challenge), 0, "%s",
                 r.headers);
    cr_expect_str_eq(challenge, strcmp(c->code, "invalid_token") == 0
                                    ? "Bearer realm=\"glorotd\", error=\"invalid_token\""
                                    : "Bearer realm=\"glorotd\"");
    cr_expect(strstr((const char *)r.body, "ops-test-token") == NULL, "a token in the body");
    th_response_free(&r);
}

/* --public-metrics opens /metrics only; tokens never reach the log. */
Test(ops_auth, public_metrics_and_quiet_log)
{
    char dir[64], file[96];
    write_tokens(dir, sizeof dir, file, sizeof file);
    th_daemon d;
    const char *const extra[] = {"--token-file", file, "--public-metrics", NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    th_response r;
    ops_get(&r, d.base_url, "/metrics", NULL);
    cr_expect_eq(r.status, 200);
    th_response_free(&r);
    ops_get(&r, d.base_url, "/v1/info", NULL);
    cr_expect_eq(r.status, 401);
    th_response_free(&r);
    static const char *const wrong[] = {"-H", "Authorization: Bearer " TOKEN_WRONG, NULL};
    static const char *const right[] = {"-H", "Authorization: Bearer " TOKEN_B, NULL};
    ops_get(&r, d.base_url, "/v1/glorot_uniform?shape=2,2&seed=" TOKEN_WRONG, wrong);
    cr_expect_eq(r.status, 401);
    th_response_free(&r);
    ops_get(&r, d.base_url, "/v1/glorot_uniform?shape=2,2&seed=3", right);
    cr_expect_eq(r.status, 200);
    th_response_free(&r);
    cr_assert_eq(th_daemon_signal_wait(&d, SIGTERM), 0);
    char *text = ops_log(&d);
    cr_expect(strstr(text, " GET /v1/glorot_uniform 401 ") != NULL, "%s", text);
    cr_expect(strstr(text, " GET /v1/glorot_uniform 200 16 ") != NULL, "%s", text);
    cr_expect(strstr(text, "ops-test-token") == NULL && strstr(text, TOKEN_B) == NULL,
              "a token in the log:\n%s", text);
    cr_expect(strstr(text, "warning") == NULL, "a 0600 token file on loopback: %s", text);
    free(text);
    th_daemon_stop(&d);
    remove_dir(dir);
}

/* Token files glorotd refuses to start with (exit 2, the reason named). */
typedef struct {
    char label[24];
    char content[64]; /* written to the file; "-" = no file at all */
    char message[40];
} fcase;

ParameterizedTestParameters(ops_auth, bad_token_files)
{
    static fcase cases[] = {
        {"missing", "-", "cannot open"},
        {"empty", "", "is empty"},
        {"comments only", "# none yet\n\n", "no tokens"},
        {"short token", "short\n", "line 1: a token is 16 to 512"},
        {"bad character", "# ok\nnot a token at all!\n", "line 2"},
    };
    return cr_make_param_array(fcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(fcase *c, ops_auth, bad_token_files)
{
    char dir[] = "/tmp/glorot-badtok-XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/tokens", dir);
    if (strcmp(c->content, "-") != 0) {
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(c->content, f);
        fclose(f);
    }
    const char *const argv[] = {th_env("GLOROTD_BIN"), "--listen", "127.0.0.1:0", "--allow-root",
                                "--token-file",        path,       NULL};
    char *err;
    int rc = ops_run(argv, NULL, &err);
    cr_expect_eq(rc, 2, "%s: exit %d: %s", c->label, rc, err);
    cr_expect(strstr(err, c->message) != NULL, "%s: %s", c->label, err);
    cr_expect(strstr(err, "not a token") == NULL, "the message quotes the file: %s", err);
    free(err);
    remove_dir(dir);
}

/* ---- HTTPS ------------------------------------------------------------------------ */

/* A throwaway EC certificate for 127.0.0.1 (cert.pem, key.pem in dir). */
static void make_cert(const char *dir, const char *cert_name, const char *key_name)
{
    char cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/%s", dir, cert_name);
    snprintf(key, sizeof key, "%s/%s", dir, key_name);
    const char *const argv[] = {"openssl",
                                "req",
                                "-x509",
                                "-newkey",
                                "ec",
                                "-pkeyopt",
                                "ec_paramgen_curve:prime256v1",
                                "-nodes",
                                "-days",
                                "1",
                                "-keyout",
                                key,
                                "-out",
                                cert,
                                "-subj",
                                "/CN=127.0.0.1",
                                "-addext",
                                "subjectAltName=IP:127.0.0.1",
                                NULL};
    char *err;
    int rc = ops_run(argv, NULL, &err);
    cr_assert_eq(rc, 0, "openssl: %s", err);
    free(err);
}

typedef struct {
    char dir[64], cert[96], key[96], tokens[96];
    th_daemon d;
    char https[64];
} tls_env;

static void tls_start(tls_env *t)
{
    write_tokens(t->dir, sizeof t->dir, t->tokens, sizeof t->tokens);
    make_cert(t->dir, "cert.pem", "key.pem");
    snprintf(t->cert, sizeof t->cert, "%s/cert.pem", t->dir);
    snprintf(t->key, sizeof t->key, "%s/key.pem", t->dir);
    const char *const extra[] = {"--tls-cert",   t->cert,   "--tls-key", t->key,
                                 "--token-file", t->tokens, NULL};
    cr_assert_eq(th_daemon_start(&t->d, extra), 0);
    snprintf(t->https, sizeof t->https, "https://127.0.0.1:%d", t->d.port);
}

static void tls_stop(tls_env *t)
{
    cr_expect_eq(th_daemon_stop(&t->d), 0);
    remove_dir(t->dir);
}

Test(ops_tls, curl_round_trip)
{
    tls_env t;
    tls_start(&t);
    const char *const args[] = {"--cacert", t.cert, "-H", "Authorization: Bearer " TOKEN_A, NULL};
    th_response r;
    ops_get(&r, t.https, "/v1/glorot_uniform?shape=64,32&seed=9&format=npy", args);
    cr_assert_eq(r.status, 200, "curl exit %d: %s", r.exit_code, (const char *)r.body);
    gp_request req;
    gp_error err = {0};
    static const ts_pair pairs[] = {{"shape", "64,32"}, {"seed", "9"}, {"format", "npy"}};
    cr_assert_eq(ts_build(pairs, 3, &req, &err), GP_OK, "%s", err.message);
    size_t len;
    unsigned char *want = ts_body(&req, &len);
    cr_assert_eq(r.body_len, len);
    cr_assert(memcmp(r.body, want, len) == 0, "HTTPS bytes differ from the library's");
    free(want);
    th_response_free(&r);

    /* no token over HTTPS: still 401 */
    const char *const anon[] = {"--cacert", t.cert, NULL};
    ops_get(&r, t.https, "/v1/info", anon);
    cr_expect_eq(r.status, 401);
    th_response_free(&r);
    /* plain HTTP to the HTTPS port gets no HTTP answer */
    ops_get(&r, t.d.base_url, "/healthz", NULL);
    cr_expect_eq(r.status, 0, "plain HTTP answered %d on the HTTPS port", r.status);
    th_response_free(&r);
    /* an untrusted certificate is refused by the client */
    ops_get(&r, t.https, "/healthz", NULL);
    cr_expect_eq(r.status, 0);
    cr_expect_neq(r.exit_code, 0);
    th_response_free(&r);
    tls_stop(&t);
}

Test(ops_tls, client_library_round_trip)
{
    tls_env t;
    tls_start(&t);
    glorot_options opts = {0};
    opts.ca_file = t.cert;
    opts.bearer_token = TOKEN_B;
    opts.retries = GLOROT_RETRIES_NONE;
    glorot_error err = {0};
    glorot_client *cl = glorot_client_new(t.https, &opts, &err);
    cr_assert_not_null(cl, "%s", err.message);
    glorot_request req;
    glorot_request_init(&req);
    cr_assert_eq(glorot_request_set(&req, "shape", "128,64", &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(&req, "seed", "77", &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(&req, "dtype", "bfloat16", &err), GLOROT_OK);
    size_t size = 128 * 64 * 2;
    unsigned char *got = malloc(size), *want = malloc(size);
    cr_assert(got != NULL && want != NULL);
    glorot_meta meta;
    cr_assert_eq(glorot_fetch(cl, &req, got, size, &meta, &err), GLOROT_OK, "%s", err.message);
    cr_assert_eq(meta.size, size);
    cr_assert_eq(glorot_generate(&req, want, size, NULL, &err), GLOROT_OK, "%s", err.message);
    cr_assert(memcmp(got, want, size) == 0, "HTTPS bytes differ from local generation");
    cr_expect_eq(glorot_health(cl, &err), GLOROT_OK, "%s", err.message);
    glorot_client_free(cl);

    /* the same client without the token: the server's 401 */
    opts.bearer_token = NULL;
    cl = glorot_client_new(t.https, &opts, &err);
    cr_assert_not_null(cl);
    cr_expect_eq(glorot_fetch(cl, &req, got, size, NULL, &err), GLOROT_E_HTTP);
    cr_expect_eq(err.http_status, 401, "%s", err.message);
    glorot_client_free(cl);
    /* and without the CA: the certificate is not trusted */
    opts.ca_file = NULL;
    opts.bearer_token = TOKEN_A;
    cl = glorot_client_new(t.https, &opts, &err);
    cr_assert_not_null(cl);
    cr_expect_eq(glorot_fetch(cl, &req, got, size, NULL, &err), GLOROT_E_TLS, "%s", err.message);
    glorot_client_free(cl);
    free(got);
    free(want);
    tls_stop(&t);
}

/* Certificates that do not fit: refused before serving. */
Test(ops_tls, bad_certificates)
{
    char dir[] = "/tmp/glorot-badtls-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    make_cert(dir, "a.pem", "a.key");
    make_cert(dir, "b.pem", "b.key");
    char a_cert[96], b_key[96], missing[96];
    snprintf(a_cert, sizeof a_cert, "%s/a.pem", dir);
    snprintf(b_key, sizeof b_key, "%s/b.key", dir);
    snprintf(missing, sizeof missing, "%s/missing.pem", dir);
    static const struct {
        int which_cert, which_key; /* 0 a.pem, 1 b.key, 2 missing */
        int exit_code;
        const char *message;
    } cases[] = {
        {0, 1, 1, "cannot start libmicrohttpd"}, /* another certificate's key */
        {1, 1, 2, "holds no PEM certificate"},   /* a key where the certificate goes */
        {0, 0, 2, "holds no PEM private key"},   /* a certificate where the key goes */
        {2, 1, 2, "cannot open"},
    };
    const char *paths[] = {a_cert, b_key, missing};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const argv[] = {th_env("GLOROTD_BIN"),
                                    "--listen",
                                    "127.0.0.1:0",
                                    "--allow-root",
                                    "--tls-cert",
                                    paths[cases[i].which_cert],
                                    "--tls-key",
                                    paths[cases[i].which_key],
                                    NULL};
        char *err;
        int rc = ops_run(argv, NULL, &err);
        cr_expect_eq(rc, cases[i].exit_code, "case %zu: exit %d: %s", i, rc, err);
        cr_expect(strstr(err, cases[i].message) != NULL, "case %zu: %s", i, err);
        free(err);
    }
    remove_dir(dir);
}
