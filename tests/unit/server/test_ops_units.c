/*
 * test_ops_units.c - the socket-free operations modules of glorotd,
 * table-driven: the new settings and --check-config's description, the
 * option list against --help and docs/OPERATIONS.md, token files and the
 * Authorization check, per-client limits, the /metrics text, request ids,
 * JSON log lines, the root/--user decision and histogram buckets.
 */
#include "../../support/harness.h"
#include "auth.h"
#include "config.h"
#include "files.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "privs.h"
#include "stats.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void init_sodium(void)
{
    cr_assert_geq(sodium_init(), 0);
}

/* ---- settings ----------------------------------------------------------------- */

static const char *ops_env_entries[4];

static const char *ops_env(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < 4 && ops_env_entries[i] != NULL; i++)
        if (strncmp(ops_env_entries[i], name, n) == 0 && ops_env_entries[i][n] == '=')
            return ops_env_entries[i] + n + 1;
    return NULL;
}

typedef struct {
    char label[40];
    char argv[6][48];
    char env[2][48];
    gd_config_result result;
    char message[64]; /* piece of the message on GD_CONFIG_ERROR */
    unsigned conns_per_ip, requests, requests_per_ip, header_bytes, drain;
    int public_metrics, json, allow_root;
    char user[16];
    char token_file[16];
    char tls_cert[16];
} ocase;

#define DEFAULTS 32, 256, 8, 16384, 0, 0, 0, 0

ParameterizedTestParameters(ops_units, settings)
{
    static ocase cases[] = {
        {"defaults", {""}, {""}, GD_CONFIG_RUN, "", DEFAULTS, "", "", ""},
        {"limits",
         {"--max-connections-per-ip", "3", "--max-requests=4", "--max-requests-per-ip", "2"},
         {""},
         GD_CONFIG_RUN,
         "",
         3,
         4,
         2,
         16384,
         0,
         0,
         0,
         0,
         "",
         "",
         ""},
        {"header and drain",
         {"--max-header-bytes", "8192", "--drain-delay", "7"},
         {""},
         GD_CONFIG_RUN,
         "",
         32,
         256,
         8,
         8192,
         7,
         0,
         0,
         0,
         "",
         "",
         ""},
        {"booleans bare",
         {"--public-metrics", "--allow-root", "--log-format", "json"},
         {""},
         GD_CONFIG_RUN,
         "",
         32,
         256,
         8,
         16384,
         0,
         1,
         1,
         1,
         "",
         "",
         ""},
        {"booleans valued",
         {"--public-metrics=no", "--allow-root=TRUE"},
         {"GLOROTD_PUBLIC_METRICS=1"},
         GD_CONFIG_RUN,
         "",
         32,
         256,
         8,
         16384,
         0,
         0,
         0,
         1,
         "",
         "",
         ""},
        {"env",
         {""},
         {"GLOROTD_USER=nobody", "GLOROTD_TOKEN_FILE=/t"},
         GD_CONFIG_RUN,
         "",
         DEFAULTS,
         "nobody",
         "/t",
         ""},
        {"tls pair",
         {"--tls-cert", "/c", "--tls-key", "/k"},
         {""},
         GD_CONFIG_RUN,
         "",
         DEFAULTS,
         "",
         "",
         "/c"},
        {"check", {"--check-config"}, {""}, GD_CONFIG_CHECK, "", DEFAULTS, "", "", ""},
        {"cert without key",
         {"--tls-cert", "/c"},
         {""},
         GD_CONFIG_ERROR,
         "go together",
         DEFAULTS,
         "",
         "",
         ""},
        {"key without cert",
         {""},
         {"GLOROTD_TLS_KEY=/k"},
         GD_CONFIG_ERROR,
         "go together",
         DEFAULTS,
         "",
         "",
         ""},
        {"bad bool",
         {"--public-metrics=maybe"},
         {""},
         GD_CONFIG_ERROR,
         "not a boolean",
         DEFAULTS,
         "",
         "",
         ""},
        {"bad bool env",
         {""},
         {"GLOROTD_ALLOW_ROOT=2"},
         GD_CONFIG_ERROR,
         "GLOROTD_ALLOW_ROOT",
         DEFAULTS,
         "",
         "",
         ""},
        {"bad format",
         {"--log-format", "xml"},
         {""},
         GD_CONFIG_ERROR,
         "text or json",
         DEFAULTS,
         "",
         "",
         ""},
        {"bad user",
         {"--user", "-root"},
         {""},
         GD_CONFIG_ERROR,
         "not a user name",
         DEFAULTS,
         "",
         "",
         ""},
        {"user spaces",
         {"--user", "a b"},
         {""},
         GD_CONFIG_ERROR,
         "not a user name",
         DEFAULTS,
         "",
         "",
         ""},
        {"header small",
         {"--max-header-bytes", "4096"},
         {""},
         GD_CONFIG_ERROR,
         "8192 to",
         DEFAULTS,
         "",
         "",
         ""},
        {"requests zero",
         {"--max-requests", "0"},
         {""},
         GD_CONFIG_ERROR,
         "--max-requests",
         DEFAULTS,
         "",
         "",
         ""},
        {"drain long",
         {"--drain-delay", "3601"},
         {""},
         GD_CONFIG_ERROR,
         "--drain-delay",
         DEFAULTS,
         "",
         "",
         ""},
        {"token empty",
         {"--token-file="},
         {""},
         GD_CONFIG_ERROR,
         "--token-file",
         DEFAULTS,
         "",
         "",
         ""},
        {"per ip env",
         {""},
         {"GLOROTD_MAX_REQUESTS_PER_IP=x"},
         GD_CONFIG_ERROR,
         "PER_IP",
         DEFAULTS,
         "",
         "",
         ""},
    };
    return cr_make_param_array(ocase, cases, sizeof cases / sizeof cases[0]);
}

static gd_config_result load(const char (*args)[48], size_t nargs, const char (*env)[48],
                             size_t nenv, gd_config *cfg, char *msg, size_t msg_size)
{
    char *argv[8] = {"glorotd"};
    int argc = 1;
    for (size_t i = 0; i < nargs && args[i][0] != '\0'; i++)
        argv[argc++] = (char *)args[i];
    memset(ops_env_entries, 0, sizeof ops_env_entries);
    for (size_t i = 0, n = 0; i < nenv; i++)
        if (env[i][0] != '\0')
            ops_env_entries[n++] = env[i];
    return gd_config_load(cfg, argc, argv, ops_env, msg, msg_size);
}

ParameterizedTest(ocase *c, ops_units, settings)
{
    gd_config cfg;
    char msg[512] = "";
    gd_config_result r = load(c->argv, 6, c->env, 2, &cfg, msg, sizeof msg);
    cr_assert_eq(r, c->result, "%s: result %d, message '%s'", c->label, r, msg);
    if (r == GD_CONFIG_ERROR) {
        cr_assert(strstr(msg, c->message) != NULL, "%s: '%s'", c->label, msg);
        return;
    }
    cr_expect_eq(cfg.max_connections_per_ip, c->conns_per_ip, "%s", c->label);
    cr_expect_eq(cfg.max_requests, c->requests, "%s", c->label);
    cr_expect_eq(cfg.max_requests_per_ip, c->requests_per_ip, "%s", c->label);
    cr_expect_eq(cfg.max_header_bytes, c->header_bytes, "%s", c->label);
    cr_expect_eq(cfg.drain_delay_s, c->drain, "%s", c->label);
    cr_expect_eq(cfg.public_metrics, c->public_metrics, "%s", c->label);
    cr_expect_eq(cfg.log_format == GD_LOG_JSON, c->json, "%s", c->label);
    cr_expect_eq(cfg.allow_root, c->allow_root, "%s", c->label);
    cr_expect_str_eq(cfg.user, c->user, "%s", c->label);
    cr_expect_str_eq(cfg.token_file, c->token_file, "%s", c->label);
    cr_expect_str_eq(cfg.tls_cert, c->tls_cert, "%s", c->label);
}

typedef struct {
    char text[16];
    int value;
} bcase;

ParameterizedTestParameters(ops_units, booleans)
{
    static bcase cases[] = {{"1", 1},   {"true", 1},  {"YES", 1}, {"On", 1},    {"0", 0},
                            {"no", 0},  {"FALSE", 0}, {"off", 0}, {"", -1},     {"2", -1},
                            {" 1", -1}, {"yess", -1}, {"t", -1},  {"true ", -1}};
    return cr_make_param_array(bcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bcase *c, ops_units, booleans)
{
    cr_assert_eq(gd_parse_bool(c->text), c->value, "'%s'", c->text);
}

/* --check-config prints every option with its value and where it came from. */
Test(ops_units, describe_sources)
{
    static const char args[][48] = {"--drain-delay", "5", "--log-format=json", "--check-config"};
    static const char env[][48] = {"GLOROTD_MAX_REQUESTS=9", "GLOROTD_DRAIN_DELAY=bogus"};
    gd_config cfg;
    char msg[256] = "";
    cr_assert_eq(load(args, 4, env, 2, &cfg, msg, sizeof msg), GD_CONFIG_CHECK, "%s", msg);
    static char text[32 * (GD_PATH_MAX + 64)];
    size_t len = gd_config_describe(&cfg, text, sizeof text);
    cr_assert_eq(len, strlen(text));
    static const char *const want[] = {
        "--listen                  127.0.0.1:8080  (default)\n",
        "--drain-delay             5  (--drain-delay)\n",
        "--max-requests            9  (GLOROTD_MAX_REQUESTS)\n",
        "--log-format              json  (--log-format)\n",
        "--token-file              (none)  (default)\n",
        "--public-metrics          false  (default)\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(text, want[i]) != NULL, "no '%s' in:\n%s", want[i], text);
    size_t lines = 0;
    for (const char *p = text; *p != '\0'; p++)
        lines += *p == '\n';
    cr_expect_eq(lines, gd_config_option_count(), "one line per option:\n%s", text);
    char small[40];
    cr_expect_eq(gd_config_describe(&cfg, small, sizeof small), sizeof small - 1);
    cr_expect_eq(strlen(small), sizeof small - 1);
}

/* Every option is in --help and in docs/OPERATIONS.md, flag and variable. */
Test(ops_units, options_documented)
{
    char path[512];
    snprintf(path, sizeof path, "%s/../docs/OPERATIONS.md", th_env("GLOROT_TESTS"));
    unsigned char *doc = th_read_file(path, NULL);
    cr_assert_not_null(doc, "cannot read %s", path);
    const char *usage = gd_config_usage();
    for (size_t i = 0; i < gd_config_option_count(); i++) {
        const char *name, *env;
        gd_config_option_names(i, &name, &env);
        char flag[64];
        snprintf(flag, sizeof flag, "`%s", name);
        cr_expect(strstr((const char *)doc, flag) != NULL, "OPERATIONS.md lacks %s", name);
        cr_expect(strstr((const char *)doc, env) != NULL, "OPERATIONS.md lacks %s", env);
        cr_expect(strstr(usage, name) != NULL, "--help lacks %s", name);
        cr_expect(strstr(usage, env) != NULL, "--help lacks %s", env);
    }
    free(doc);
}

Test(ops_units, loopback)
{
    static const struct {
        const char *listen;
        int loopback;
    } cases[] = {{"127.0.0.1:1", 1}, {"127.9.8.7:1", 1},         {"[::1]:1", 1},
                 {"0.0.0.0:1", 0},   {"10.0.0.1:1", 0},          {"[::]:1", 0},
                 {"128.0.0.1:1", 0}, {"[::ffff:127.0.0.1]:1", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gd_config cfg;
        char msg[256];
        gd_config_defaults(&cfg);
        cr_assert_eq(
            gd_parse_listen(cases[i].listen, &cfg.addr, &cfg.addr_len, &cfg.ipv6, msg, sizeof msg),
            0);
        cr_expect_eq(gd_config_is_loopback(&cfg), cases[i].loopback, "%s", cases[i].listen);
    }
}

/* ---- tokens --------------------------------------------------------------------- */

typedef struct {
    char label[32];
    char text[200];
    size_t count; /* 0 = error */
    char message[48];
} tfcase;

#define TOK_A "aaaaaaaaaaaaaaaa"
#define TOK_B "Zm9vYmFyYmF6cXV4LS4ufi8r=="

ParameterizedTestParameters(ops_units, token_files)
{
    static tfcase cases[] = {
        {"one", TOK_A, 1, ""},
        {"one newline", TOK_A "\n", 1, ""},
        {"crlf and spaces", "  " TOK_A " \r\n\t" TOK_B "\r\n", 2, ""},
        {"comments", "# tokens\n\n" TOK_A "\n# " TOK_B "\n\n", 1, ""},
        {"b64 alphabet", "abcXYZ019-._~+/abc===", 1, ""},
        {"empty", "", 0, "no tokens"},
        {"only comments", "# nothing\n\n   \n", 0, "no tokens"},
        {"short", TOK_A "\nshort\n", 0, "line 2"},
        {"bad char", "aaaaaaaa aaaaaaaa", 0, "line 1"},
        {"quote", "aaaaaaaaaaaaaaa\"", 0, "line 1"},
        {"equals inside", "aaaaaaaa=aaaaaaaa", 0, "line 1"},
        {"only equals", "================", 0, "line 1"},
        {"non ascii", "aaaaaaaaaaaaaaa\xc3\xa9", 0, "line 1"},
    };
    return cr_make_param_array(tfcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(tfcase *c, ops_units, token_files)
{
    init_sodium();
    char msg[256] = "";
    gd_auth *a = gd_auth_parse(c->text, strlen(c->text), msg, sizeof msg);
    if (c->count == 0) {
        cr_assert_null(a, "%s: accepted", c->label);
        cr_expect(strstr(msg, c->message) != NULL, "%s: '%s'", c->label, msg);
        cr_expect(strstr(msg, "aaaa") == NULL, "%s: the message quotes a token: %s", c->label, msg);
        return;
    }
    cr_assert_not_null(a, "%s: %s", c->label, msg);
    cr_expect_eq(gd_auth_count(a), c->count, "%s", c->label);
    gd_auth_free(a);
}

Test(ops_units, token_file_limits)
{
    init_sodium();
    char msg[256];
    size_t n = GD_TOKENS_MAX + 1, len = n * (GD_TOKEN_MIN + 1);
    char *text = malloc(len + 1); /* snprintf writes its NUL past the last line */
    cr_assert_not_null(text);
    for (size_t i = 0; i < n; i++)
        snprintf(text + i * (GD_TOKEN_MIN + 1), GD_TOKEN_MIN + 2, "%016zx\n", i);
    gd_auth *a = gd_auth_parse(text, len - (GD_TOKEN_MIN + 1), msg, sizeof msg);
    cr_assert_not_null(a, "%s", msg);
    cr_expect_eq(gd_auth_count(a), GD_TOKENS_MAX);
    gd_auth_free(a);
    cr_expect_null(gd_auth_parse(text, len, msg, sizeof msg));
    cr_expect(strstr(msg, "more than 1024 tokens") != NULL, "%s", msg);
    free(text);
    char long_token[GD_TOKEN_MAX + 2];
    memset(long_token, 'a', sizeof long_token - 1);
    long_token[sizeof long_token - 1] = '\0';
    cr_expect_null(gd_auth_parse(long_token, GD_TOKEN_MAX + 1, msg, sizeof msg));
    cr_expect_not_null(a = gd_auth_parse(long_token, GD_TOKEN_MAX, msg, sizeof msg));
    gd_auth_free(a);
}

typedef struct {
    char header[120];
    int present; /* 0: no header at all */
    gd_auth_result result;
} acase;

ParameterizedTestParameters(ops_units, authorization)
{
    static acase cases[] = {
        {"", 0, GD_AUTH_MISSING},
        {"Bearer " TOK_A, 1, GD_AUTH_OK},
        {"Bearer " TOK_B, 1, GD_AUTH_OK},
        {"bearer " TOK_A, 1, GD_AUTH_OK},
        {"BEARER   " TOK_A "  ", 1, GD_AUTH_OK},
        {"Bearer\t" TOK_A, 1, GD_AUTH_OK},
        {"Bearer " TOK_A "a", 1, GD_AUTH_INVALID},
        {"Bearer " TOK_A " x", 1, GD_AUTH_INVALID},
        {"Bearer aaaaaaaaaaaaaaa", 1, GD_AUTH_INVALID},
        {"Bearer " TOK_B "=", 1, GD_AUTH_INVALID},
        {"Bearer", 1, GD_AUTH_INVALID},
        {"Bearer ", 1, GD_AUTH_INVALID},
        {"Bearer" TOK_A, 1, GD_AUTH_INVALID},
        {"Basic " TOK_A, 1, GD_AUTH_INVALID},
        {TOK_A, 1, GD_AUTH_INVALID},
        {"", 1, GD_AUTH_INVALID},
    };
    return cr_make_param_array(acase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(acase *c, ops_units, authorization)
{
    init_sodium();
    static const char file[] = "# two tokens\n" TOK_A "\n" TOK_B "\n";
    char msg[256];
    gd_auth *a = gd_auth_parse(file, sizeof file - 1, msg, sizeof msg);
    cr_assert_not_null(a, "%s", msg);
    cr_expect_eq(gd_auth_check(a, c->present ? c->header : NULL), c->result, "'%s'", c->header);
    gd_auth_free(a);
}

/* gd_auth_load: the file's problems are named, and loose permissions noticed. */
Test(ops_units, token_file_load)
{
    init_sodium();
    char path[] = "/tmp/glorot-tokens-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, TOK_A "\n", sizeof TOK_A), (ssize_t)sizeof TOK_A);
    close(fd);
    char msg[512] = "";
    int loose = -1;
    chmod(path, 0600);
    gd_auth *a = gd_auth_load(path, &loose, msg, sizeof msg);
    cr_assert_not_null(a, "%s", msg);
    cr_expect_eq(loose, 0);
    gd_auth_free(a);
    chmod(path, 0644);
    a = gd_auth_load(path, &loose, msg, sizeof msg);
    cr_assert_not_null(a, "%s", msg);
    cr_expect_eq(loose, 1);
    gd_auth_free(a);
    truncate(path, 0);
    cr_expect_null(gd_auth_load(path, &loose, msg, sizeof msg));
    cr_expect(strstr(msg, "is empty") != NULL, "%s", msg);
    unlink(path);
    cr_expect_null(gd_auth_load(path, &loose, msg, sizeof msg));
    cr_expect(strstr(msg, "cannot open") != NULL, "%s", msg);
    cr_expect_null(gd_auth_load("/tmp", &loose, msg, sizeof msg));
    cr_expect(strstr(msg, "not a regular file") != NULL, "%s", msg);
    cr_assert_eq(mkfifo(path, 0600), 0); /* no writer: opening must not wait for one */
    cr_expect_null(gd_auth_load(path, &loose, msg, sizeof msg));
    cr_expect(strstr(msg, "not a regular file") != NULL, "%s", msg);
    unlink(path);
}

/* ---- per-client limits ------------------------------------------------------------ */

static gd_ipkey key_of(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        cr_assert_eq(inet_pton(AF_INET6, text, &in6->sin6_addr), 1, "%s", text);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        cr_assert_eq(inet_pton(AF_INET, text, &in->sin_addr), 1, "%s", text);
    }
    gd_ipkey k;
    cr_assert_eq(gd_ipkey_of((const struct sockaddr *)&ss, &k), 0);
    return k;
}

typedef struct {
    char a[48], b[48];
    int same;
} kcase;

ParameterizedTestParameters(ops_units, client_keys)
{
    static kcase cases[] = {
        {"127.0.0.1", "127.0.0.1", 1},
        {"127.0.0.1", "127.0.0.2", 0},
        {"127.0.0.1", "::ffff:127.0.0.1", 1},
        {"10.1.2.3", "::ffff:10.1.2.4", 0},
        {"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", 1}, /* one /64 */
        {"2001:db8:1:2::1", "2001:db8:1:3::1", 0},
        {"::1", "::2", 1},
        {"0.0.0.1", "::1", 0}, /* families never collide */
    };
    return cr_make_param_array(kcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(kcase *c, ops_units, client_keys)
{
    gd_ipkey a = key_of(c->a), b = key_of(c->b);
    cr_assert_eq(memcmp(&a, &b, sizeof a) == 0, c->same, "%s vs %s", c->a, c->b);
}

Test(ops_units, client_key_other_family)
{
    struct sockaddr sa = {0};
    sa.sa_family = AF_UNIX;
    gd_ipkey k;
    cr_assert_eq(gd_ipkey_of(&sa, &k), -1);
}

Test(ops_units, limits_caps)
{
    init_sodium();
    gd_limits *l = gd_limits_new(8, 2, 3, 2);
    cr_assert_not_null(l);
    gd_ipkey a = key_of("10.0.0.1"), b = key_of("10.0.0.2");
    unsigned conns, reqs, total;
    /* connections: admitted until the client holds 2 */
    cr_expect_eq(gd_limits_conn_admit(l, &a), GD_LIMIT_OK);
    cr_expect_eq(gd_limits_conn_open(l, &a), 0);
    cr_expect_eq(gd_limits_conn_open(l, &a), 0);
    cr_expect_eq(gd_limits_conn_admit(l, &a), GD_LIMIT_PER_IP);
    cr_expect_eq(gd_limits_conn_admit(l, &b), GD_LIMIT_OK);
    /* requests: 2 per client, 3 overall */
    cr_expect_eq(gd_limits_req_begin(l, &a), GD_LIMIT_OK);
    cr_expect_eq(gd_limits_req_begin(l, &a), GD_LIMIT_OK);
    cr_expect_eq(gd_limits_req_begin(l, &a), GD_LIMIT_PER_IP);
    cr_expect_eq(gd_limits_conn_open(l, &b), 0);
    cr_expect_eq(gd_limits_req_begin(l, &b), GD_LIMIT_OK);
    cr_expect_eq(gd_limits_req_begin(l, &b), GD_LIMIT_BUSY);
    gd_limits_counts(l, &a, &conns, &reqs, &total);
    cr_expect(conns == 2 && reqs == 2 && total == 3, "%u %u %u", conns, reqs, total);
    gd_limits_req_end(l, &a);
    cr_expect_eq(gd_limits_req_begin(l, &b), GD_LIMIT_OK);
    gd_limits_conn_close(l, &a);
    cr_expect_eq(gd_limits_conn_admit(l, &a), GD_LIMIT_OK);
    /* ends for what was never begun change nothing */
    gd_ipkey c = key_of("10.0.0.3");
    gd_limits_req_end(l, &c);
    gd_limits_conn_close(l, &c);
    gd_limits_counts(l, &b, &conns, &reqs, &total);
    cr_expect(conns == 1 && reqs == 2 && total == 3, "%u %u %u", conns, reqs, total);
    gd_limits_free(l);
    gd_limits_free(NULL);
}

/* Many clients come and go in a scrambled order: the table agrees with a
 * plain model at every step (deletion keeps probe runs intact) and a full
 * table refuses instead of overflowing. */
Test(ops_units, limits_model)
{
    init_sodium();
    enum { CLIENTS = 40, STEPS = 20000 };
    gd_limits *l = gd_limits_new(CLIENTS / 2, 1000, 100000, 1000); /* 64 slots */
    cr_assert_not_null(l);
    unsigned model_conns[CLIENTS] = {0}, model_reqs[CLIENTS] = {0}, model_total = 0;
    gd_ipkey keys[CLIENTS];
    for (unsigned i = 0; i < CLIENTS; i++) {
        char text[32];
        snprintf(text, sizeof text, "192.0.2.%u", i + 1);
        keys[i] = key_of(text);
    }
    uint32_t x = 12345;
    for (unsigned step = 0; step < STEPS; step++) {
        x = x * 1103515245u + 12345u;
        unsigned who = (x >> 8) % CLIENTS, op = (x >> 20) % 4;
        if (op == 0 && gd_limits_conn_open(l, &keys[who]) == 0)
            model_conns[who]++;
        else if (op == 1 && model_conns[who] > 0 && (gd_limits_conn_close(l, &keys[who]), 1))
            model_conns[who]--;
        else if (op == 2 && gd_limits_req_begin(l, &keys[who]) == GD_LIMIT_OK)
            model_reqs[who]++, model_total++;
        else if (op == 3 && model_reqs[who] > 0 && (gd_limits_req_end(l, &keys[who]), 1))
            model_reqs[who]--, model_total--;
        unsigned conns, reqs, total;
        gd_limits_counts(l, &keys[who], &conns, &reqs, &total);
        cr_assert(conns == model_conns[who] && reqs == model_reqs[who] && total == model_total,
                  "step %u client %u: table %u/%u/%u, model %u/%u/%u", step, who, conns, reqs,
                  total, model_conns[who], model_reqs[who], model_total);
    }
    for (unsigned i = 0; i < CLIENTS; i++) {
        unsigned conns, reqs, total;
        gd_limits_counts(l, &keys[i], &conns, &reqs, &total);
        cr_expect(conns == model_conns[i] && reqs == model_reqs[i], "client %u", i);
    }
    gd_limits_free(l);
    /* 16 slots, 17 clients: the 17th is refused, not lost */
    l = gd_limits_new(1, 5, 100, 5);
    for (unsigned i = 0; i < 16; i++)
        cr_assert_eq(gd_limits_conn_open(l, &keys[i]), 0);
    cr_expect_eq(gd_limits_conn_open(l, &keys[16]), -1);
    cr_expect_eq(gd_limits_conn_admit(l, &keys[16]), GD_LIMIT_FULL);
    cr_expect_eq(gd_limits_req_begin(l, &keys[16]), GD_LIMIT_FULL);
    gd_limits_conn_close(l, &keys[3]);
    cr_expect_eq(gd_limits_conn_open(l, &keys[16]), 0);
    gd_limits_free(l);
}

/* ---- /metrics text ------------------------------------------------------------------ */

/* Every line is a comment or "name{labels} value"; every sample's family was
 * introduced by HELP and TYPE. Returns the number of samples. */
static size_t check_exposition(const char *text)
{
    char family[128] = "";
    size_t samples = 0;
    for (const char *line = text; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "last line lacks a newline");
        char buf[512];
        size_t n = (size_t)(nl - line);
        cr_assert_lt(n, sizeof buf);
        memcpy(buf, line, n);
        buf[n] = '\0';
        line = nl + 1;
        char name[128], type[32];
        if (sscanf(buf, "# TYPE %127s %31s", name, type) == 2) {
            snprintf(family, sizeof family, "%s", name);
            continue;
        }
        if (strncmp(buf, "# HELP ", 7) == 0)
            continue;
        size_t name_len = strcspn(buf, "{ ");
        cr_assert(family[0] != '\0' && strncmp(buf, family, strlen(family)) == 0,
                  "sample outside its family: %s", buf);
        const char *value = strrchr(buf, ' ');
        cr_assert(value != NULL && value > buf + name_len - 1, "%s", buf);
        char *end;
        strtod(value + 1, &end);
        cr_assert(*end == '\0' && end != value + 1, "bad value: %s", buf);
        samples++;
    }
    return samples;
}

Test(ops_units, metrics_text)
{
    gd_stats_snapshot *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    s->requests[GD_STATS_EP_GLOROT][200] = 3;
    s->requests[GD_STATS_EP_GLOROT][400] = 1;
    s->requests[GD_STATS_EP_OTHER][404] = 2;
    s->bytes_sent[GD_STATS_EP_GLOROT] = 2080;
    s->duration_buckets[GD_STATS_EP_GLOROT][0] = 2;
    s->duration_buckets[GD_STATS_EP_GLOROT][3] = 1;
    s->duration_buckets[GD_STATS_EP_GLOROT][GD_STATS_BUCKETS - 1] = 1;
    s->duration_ns[GD_STATS_EP_GLOROT] = 1500000000;
    s->duration_buckets[GD_STATS_EP_OTHER][0] = 2;
    s->elements[GP_ALG_MLX][GP_FLOAT16] = 16;
    s->generation_ns[GP_ALG_CHACHA20] = 250000000;
    s->connections_open = 5;
    s->connections_rejected[GD_STATS_REJECT_PER_IP] = 7;
    s->requests_limited[GD_STATS_LIMIT_BUSY] = 2;
    gd_metrics_gauges g = {4, 0, 1, 6, 2, 3};
    size_t len = 0;
    char *text = gd_metrics_render(s, &g, &len);
    cr_assert_not_null(text);
    cr_assert_eq(len, strlen(text));
    static const char *const want[] = {
        "# TYPE glorotd_requests_total counter\n",
        "glorotd_requests_total{endpoint=\"/v1/glorot_uniform\",status=\"200\"} 3\n",
        "glorotd_requests_total{endpoint=\"/v1/glorot_uniform\",status=\"400\"} 1\n",
        "glorotd_requests_total{endpoint=\"other\",status=\"404\"} 2\n",
        "glorotd_response_bytes_total{endpoint=\"/v1/glorot_uniform\"} 2080\n",
        "# TYPE glorotd_request_duration_seconds histogram\n",
        "glorotd_request_duration_seconds_bucket{endpoint=\"/v1/glorot_uniform\",le=\"0.001\"} 2\n",
        "glorotd_request_duration_seconds_bucket{endpoint=\"/v1/glorot_uniform\",le=\"0.01\"} 2\n",
        "glorotd_request_duration_seconds_bucket{endpoint=\"/v1/glorot_uniform\",le=\"0.05\"} 3\n",
        "glorotd_request_duration_seconds_bucket{endpoint=\"/v1/glorot_uniform\",le=\"300\"} 3\n",
        "glorotd_request_duration_seconds_bucket{endpoint=\"/v1/glorot_uniform\",le=\"+Inf\"} 4\n",
        "glorotd_request_duration_seconds_sum{endpoint=\"/v1/glorot_uniform\"} 1.500000000\n",
        "glorotd_request_duration_seconds_count{endpoint=\"/v1/glorot_uniform\"} 4\n",
        "glorotd_request_duration_seconds_count{endpoint=\"other\"} 2\n",
        "glorotd_generated_elements_total{algorithm=\"mlx\",dtype=\"float16\"} 16\n",
        "glorotd_generated_elements_total{algorithm=\"chacha20\",dtype=\"float32\"} 0\n",
        "glorotd_generation_seconds_total{algorithm=\"chacha20\"} 0.250000000\n",
        "# TYPE glorotd_open_connections gauge\nglorotd_open_connections 5\n",
        "glorotd_rejected_connections_total{reason=\"per_ip\"} 7\n",
        "glorotd_limited_requests_total{reason=\"busy\"} 2\n",
        "glorotd_limited_requests_total{reason=\"per_ip\"} 0\n",
        "glorotd_downloads_in_flight 4\n",
        "glorotd_ready 0\n",
        "# TYPE glorotd_digest_jobs_running gauge\nglorotd_digest_jobs_running 1\n",
        "glorotd_digest_jobs_total{outcome=\"started\"} 6\n",
        "glorotd_digest_jobs_total{outcome=\"refused\"} 2\n",
        "glorotd_digest_jobs_total{outcome=\"cached\"} 3\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(text, want[i]) != NULL, "no '%s' in:\n%s", want[i], text);
    char build[128];
    snprintf(build, sizeof build, "glorotd_build_info{version=\"%s\",kernels=\"%s\"} 1\n",
             GLOROT_VERSION, gp_kernels());
    cr_expect(strstr(text, build) != NULL, "no '%s' in:\n%s", build, text);
    cr_expect(strstr(text, "endpoint=\"/healthz\"") == NULL, "unused endpoints are left out");
    /* 3 requests + 2 bytes + 2x(13 buckets + sum + count) + 12 + 3 + 1 + 2 + 2 + 3 + 4 digest */
    cr_expect_eq(check_exposition(text), 3 + 2 + 30 + 12 + 3 + 1 + 2 + 2 + 3 + 4, "%s", text);
    free(text);
    free(s);
}

/* Counters from stats_* land in a snapshot exactly. */
Test(ops_units, stats_counters)
{
    gd_stats_snapshot *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    cr_assert(before != NULL && after != NULL);
    gd_stats_snapshot_take(before);
    gd_stats_request_done(GD_STATS_EP_INFO, 200, 100, 2000000);
    gd_stats_request_done(GD_STATS_EP_INFO, 200, 50, 0);
    gd_stats_request_done(GD_STATS_EP_INFO, 999, 0, 400000000000ull);
    gd_stats_request_done(GD_STATS_EP_COUNT, 404, 7, 1);
    gd_stats_add_generated(GP_ALG_CHACHA20, GP_BFLOAT16, 1000);
    gd_stats_add_generated((gp_algorithm)7, GP_FLOAT32, 5); /* ignored */
    gd_stats_add_generation_ns(GP_ALG_MLX_SEEDED, 123);
    gd_stats_connection_opened();
    gd_stats_connection_opened();
    gd_stats_connection_closed();
    gd_stats_connection_rejected(GD_STATS_REJECT_PER_IP);
    gd_stats_request_limited(GD_STATS_LIMIT_PER_IP);
    gd_stats_snapshot_take(after);
    cr_expect_eq(after->requests[GD_STATS_EP_INFO][200] - before->requests[GD_STATS_EP_INFO][200],
                 2);
    cr_expect_eq(after->requests[GD_STATS_EP_INFO][0] - before->requests[GD_STATS_EP_INFO][0], 1);
    cr_expect_eq(after->requests[GD_STATS_EP_OTHER][404] - before->requests[GD_STATS_EP_OTHER][404],
                 1);
    cr_expect_eq(after->bytes_sent[GD_STATS_EP_INFO] - before->bytes_sent[GD_STATS_EP_INFO], 150);
    cr_expect_eq(after->duration_buckets[GD_STATS_EP_INFO][1] -
                     before->duration_buckets[GD_STATS_EP_INFO][1],
                 1);
    cr_expect_eq(after->duration_buckets[GD_STATS_EP_INFO][0] -
                     before->duration_buckets[GD_STATS_EP_INFO][0],
                 1);
    cr_expect_eq(after->duration_buckets[GD_STATS_EP_INFO][GD_STATS_BUCKETS - 1] -
                     before->duration_buckets[GD_STATS_EP_INFO][GD_STATS_BUCKETS - 1],
                 1);
    cr_expect_eq(after->elements[GP_ALG_CHACHA20][GP_BFLOAT16] -
                     before->elements[GP_ALG_CHACHA20][GP_BFLOAT16],
                 1000);
    cr_expect_eq(after->generation_ns[GP_ALG_MLX_SEEDED] - before->generation_ns[GP_ALG_MLX_SEEDED],
                 123);
    cr_expect_eq(after->connections_open - before->connections_open, 1);
    cr_expect_eq(after->connections_rejected[GD_STATS_REJECT_PER_IP] -
                     before->connections_rejected[GD_STATS_REJECT_PER_IP],
                 1);
    cr_expect_eq(after->requests_limited[GD_STATS_LIMIT_PER_IP] -
                     before->requests_limited[GD_STATS_LIMIT_PER_IP],
                 1);
    free(before);
    free(after);
}

typedef struct {
    uint64_t ns;
    unsigned bucket;
} hcase;

ParameterizedTestParameters(ops_units, buckets)
{
    static hcase cases[] = {
        {0, 0},           {1000000, 0},          {1000001, 1},
        {5000000, 1},     {9999999, 2},          {1000000000, 6},
        {1000000001, 7},  {300000000000ull, 11}, {300000000001ull, 12},
        {UINT64_MAX, 12},
    };
    return cr_make_param_array(hcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(hcase *c, ops_units, buckets)
{
    cr_assert_eq(gd_stats_bucket_for(c->ns), c->bucket, "%llu ns", (unsigned long long)c->ns);
}

/* ---- request ids and log lines ------------------------------------------------------ */

typedef struct {
    char given[200];
    int present;
    int kept;
} rcase;

ParameterizedTestParameters(ops_units, request_ids)
{
    static rcase cases[] = {
        {"abc", 1, 1},
        {"123e4567-e89b-12d3-a456-426614174000", 1, 1},
        {"a.b_c:d/e+f=g@h~i", 1, 1},
        {"", 1, 0},
        {"", 0, 0},
        {"has space", 1, 0},
        {"quote\"", 1, 0},
        {"back\\slash", 1, 0},
        {"newline\n", 1, 0},
        {"caf\xc3\xa9", 1, 0},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         1, 1}, /* 128 */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         1, 0}, /* 129 */
    };
    return cr_make_param_array(rcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(rcase *c, ops_units, request_ids)
{
    init_sodium();
    char id[GD_REQUEST_ID_MAX + 1], again[GD_REQUEST_ID_MAX + 1];
    gd_request_id(c->present ? c->given : NULL, id);
    if (c->kept) {
        cr_assert_str_eq(id, c->given);
        return;
    }
    cr_assert_eq(strlen(id), 32, "'%s' -> '%s'", c->given, id);
    cr_assert_eq(strspn(id, "0123456789abcdef"), 32, "%s", id);
    gd_request_id(c->present ? c->given : NULL, again);
    cr_assert_str_neq(id, again, "generated ids repeat");
}

typedef struct {
    char in[40];
    size_t size;
    char out[64];
} ecase;

ParameterizedTestParameters(ops_units, json_escape)
{
    static ecase cases[] = {
        {"plain /path", 64, "plain /path"},   {"q\"b\\", 64, "q\\\"b\\\\"},
        {"nl\n\x01", 64, "nl\\u000a\\u0001"}, {"caf\xc3\xa9", 64, "caf\xc3\xa9"},
        {"abcdefghij", 8, "abcd..."},         {"\"\"\"\"", 9, "\\\"\\\"..."},
    };
    return cr_make_param_array(ecase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(ecase *c, ops_units, json_escape)
{
    char out[64];
    gd_log_json_escape(c->in, out, c->size);
    cr_assert_str_eq(out, c->out);
    cr_assert_lt(strlen(out), c->size);
}

/* Log lines written with stderr redirected to a file. */
static char *capture_log(gd_log_format f, const gd_access *a)
{
    char path[] = "/tmp/glorot-log-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    int saved = dup(2);
    dup2(fd, 2);
    gd_log_set_format(f);
    gd_log_access(a);
    gd_log_note("a note with \"quotes\" and a\nnewline");
    gd_log_line("glorotd %s listening on %s", "0.1.0", "127.0.0.1:1");
    gd_log_set_format(GD_LOG_TEXT);
    dup2(saved, 2);
    close(saved);
    close(fd);
    char *text = (char *)th_read_file(path, NULL);
    unlink(path);
    cr_assert_not_null(text);
    return text;
}

Test(ops_units, json_log_lines)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    gd_access a = {"::1", "GET", "/we\\x0aird\"path", 206, 1234, start, "req-42"};
    char *text = capture_log(GD_LOG_JSON, &a);
    const char *events[] = {"access", "note", "start"};
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), n++) {
        json_error_t jerr;
        json_t *doc = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
        cr_assert_not_null(doc, "line %zu is not JSON (%s): %s", n, jerr.text, line);
        const char *ts = NULL, *event = NULL;
        cr_assert_eq(json_unpack(doc, "{s:s, s:s}", "ts", &ts, "event", &event), 0, "%s", line);
        cr_expect_eq(strlen(ts), 24, "%s", ts);
        cr_assert_lt(n, 3);
        cr_expect_str_eq(event, events[n]);
        if (n == 0) {
            const char *remote, *method, *path, *rid;
            json_int_t status, bytes;
            double ms;
            cr_assert_eq(json_unpack_ex(doc, &jerr, JSON_STRICT,
                                        "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:f, s:s}", "ts", &ts,
                                        "event", &event, "remote", &remote, "method", &method,
                                        "path", &path, "status", &status, "bytes", &bytes,
                                        "duration_ms", &ms, "request_id", &rid),
                         0, "%s: %s", jerr.text, line);
            cr_expect_str_eq(remote, "::1");
            cr_expect_str_eq(path, "/we\\x0aird\"path");
            cr_expect_eq(status, 206);
            cr_expect_eq(bytes, 1234);
            cr_expect_geq(ms, 0.0);
            cr_expect_str_eq(rid, "req-42");
        } else {
            const char *message;
            cr_assert_eq(json_unpack(doc, "{s:s}", "message", &message), 0, "%s", line);
            cr_expect_str_eq(message, n == 1 ? "a note with \"quotes\" and a\nnewline"
                                             : "glorotd 0.1.0 listening on 127.0.0.1:1");
        }
        json_decref(doc);
    }
    cr_expect_eq(n, 3);
    free(text);
}

Test(ops_units, text_log_line_has_request_id)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    gd_access a = {"127.0.0.1", "GET", "/healthz", 200, 15, start, "abc"};
    char *text = capture_log(GD_LOG_TEXT, &a);
    cr_expect(strstr(text, " 127.0.0.1 GET /healthz 200 15 ") != NULL, "%s", text);
    cr_expect(strstr(text, "ms abc\n") != NULL, "%s", text);
    cr_expect(strstr(text, "glorotd: a note") != NULL, "%s", text);
    free(text);
    a.request_id = NULL;
    text = capture_log(GD_LOG_TEXT, &a);
    cr_expect(strstr(text, "ms -\n") != NULL, "%s", text);
    free(text);
}

/* ---- root and --user ------------------------------------------------------------------ */

typedef struct {
    char label[32];
    char user[24];
    int allow_root;
    unsigned euid;
    int ok;
    int drop;
    char message[48];
} pcase;

ParameterizedTestParameters(ops_units, privileges)
{
    static pcase cases[] = {
        {"user", "", 0, 1000, 1, 0, ""},
        {"root refused", "", 0, 0, 0, 0, "refusing to run as root"},
        {"root allowed", "", 1, 0, 1, 0, ""},
        {"root to nobody", "nobody", 0, 0, 1, 1, ""},
        {"user to nobody", "nobody", 0, 1000, 0, 0, "needs root"},
        {"unknown user", "no-such-user-9z", 0, 0, 0, 0, "no such user"},
        {"root to root", "root", 0, 0, 0, 0, "is root"},
        {"root to root allowed", "root", 1, 0, 1, 0, ""},
    };
    return cr_make_param_array(pcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(pcase *c, ops_units, privileges)
{
    gd_config cfg;
    gd_config_defaults(&cfg);
    snprintf(cfg.user, sizeof cfg.user, "%s", c->user);
    cfg.allow_root = c->allow_root;
    gd_privs p;
    char msg[256] = "";
    int rc = gd_privs_plan(&cfg, (uid_t)c->euid, &p, msg, sizeof msg);
    cr_assert_eq(rc == 0, c->ok, "%s: %s", c->label, msg);
    if (!c->ok) {
        cr_expect(strstr(msg, c->message) != NULL, "%s: %s", c->label, msg);
        return;
    }
    cr_expect_eq(p.drop, c->drop, "%s", c->label);
    if (c->drop) {
        cr_expect_neq(p.uid, 0);
        cr_expect_str_eq(p.name, c->user);
    }
    char drop_msg[256];
    if (!p.drop)
        cr_expect_eq(gd_privs_drop(&p, drop_msg, sizeof drop_msg), 0, "no-op drop");
}
