/*
 * test_server_units.c - the socket-free parts of glorotd, table-driven:
 * settings (flags, environment, strict numbers, addresses), Content-Type
 * matching, JSON value conversion, error bodies and log escaping.
 */
#include "config.h"
#include "errors.h"
#include "log.h"
#include "params.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

/* ---- addresses ---------------------------------------------------------------- */

typedef struct {
    char text[64];
    int ok;
    int ipv6;
    char formatted[64]; /* gd_format_address of the result with its port */
} acase;

ParameterizedTestParameters(units, listen)
{
    static acase cases[] = {
        {"127.0.0.1:8080", 1, 0, "127.0.0.1:8080"},
        {"0.0.0.0:0", 1, 0, "0.0.0.0:0"},
        {"10.1.2.3:65535", 1, 0, "10.1.2.3:65535"},
        {"[::1]:8080", 1, 1, "[::1]:8080"},
        {"[::]:0", 1, 1, "[::]:0"},
        {"[fe80::1:2]:1", 1, 1, "[fe80::1:2]:1"},
        {"127.0.0.1", 0, 0, ""},
        {"127.0.0.1:", 0, 0, ""},
        {"127.0.0.1:65536", 0, 0, ""},
        {"127.0.0.1:-1", 0, 0, ""},
        {"127.0.0.1:80x", 0, 0, ""},
        {"256.0.0.1:80", 0, 0, ""},
        {"localhost:80", 0, 0, ""},
        {":80", 0, 0, ""},
        {"::1:80", 0, 0, ""},
        {"[::1]80", 0, 0, ""},
        {"[::1]:", 0, 0, ""},
        {"[]:80", 0, 0, ""},
        {"[::g]:80", 0, 0, ""},
        {"[::1:80", 0, 0, ""},
        {"", 0, 0, ""},
    };
    return cr_make_param_array(acase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(acase *c, units, listen)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int v6 = -1;
    char msg[256] = "";
    int rc = gd_parse_listen(c->text, &ss, &len, &v6, msg, sizeof msg);
    cr_assert_eq(rc == 0, c->ok, "'%s': %s", c->text, msg);
    if (!c->ok) {
        cr_assert(strstr(msg, "invalid address") != NULL, "'%s': %s", c->text, msg);
        return;
    }
    cr_assert_eq(v6, c->ipv6);
    const struct sockaddr *sa = (const struct sockaddr *)&ss;
    unsigned port =
        ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    cr_assert_eq(len, v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    char out[80];
    gd_format_address(sa, port, out, sizeof out);
    cr_assert_str_eq(out, c->formatted);
}

/* ---- settings ------------------------------------------------------------------ */

/* A fake environment: "NAME=value" entries. */
static const char *fake_env_entries[8];

static const char *fake_env(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < 8 && fake_env_entries[i] != NULL; i++)
        if (strncmp(fake_env_entries[i], name, n) == 0 && fake_env_entries[i][n] == '=')
            return fake_env_entries[i] + n + 1;
    return NULL;
}

typedef struct {
    char label[40];
    char argv[6][48];
    char env[3][48];
    gd_config_result result;
    char message[48]; /* piece of the message on GD_CONFIG_ERROR */
    unsigned threads, timeout, grace, max_connections;
    uint64_t max_elements, max_body, max_json;
    char listen[40];
    char port_file[40];
} scase;

ParameterizedTestParameters(units, settings)
{
    static scase cases[] = {
        {"defaults",
         {""},
         {""},
         GD_CONFIG_RUN,
         "",
         0,
         60,
         30,
         1024,
         4294967296u,
         1048576,
         1048576,
         "127.0.0.1:8080",
         ""},
        {"all flags",
         {"--threads", "3", "--timeout=0", "--shutdown-grace", "5", "--max-connections=9"},
         {""},
         GD_CONFIG_RUN,
         "",
         3,
         0,
         5,
         9,
         4294967296u,
         1048576,
         1048576,
         "127.0.0.1:8080",
         ""},
        {"sizes",
         {"--max-elements", "7", "--max-body-bytes=100", "--max-json-elements", "8"},
         {""},
         GD_CONFIG_RUN,
         "",
         0,
         60,
         30,
         1024,
         7,
         100,
         8,
         "127.0.0.1:8080",
         ""},
        {"env",
         {""},
         {"GLOROTD_LISTEN=[::1]:9", "GLOROTD_PORT_FILE=/tmp/p", "GLOROTD_THREADS=2"},
         GD_CONFIG_RUN,
         "",
         2,
         60,
         30,
         1024,
         4294967296u,
         1048576,
         1048576,
         "[::1]:9",
         "/tmp/p"},
        {"flag beats env",
         {"--threads", "4", "--listen", "127.0.0.2:1"},
         {"GLOROTD_THREADS=2", "GLOROTD_LISTEN=[::1]:9"},
         GD_CONFIG_RUN,
         "",
         4,
         60,
         30,
         1024,
         4294967296u,
         1048576,
         1048576,
         "127.0.0.2:1",
         ""},
        {"flag hides a bad env",
         {"--threads", "4"},
         {"GLOROTD_THREADS=lots"},
         GD_CONFIG_RUN,
         "",
         4,
         60,
         30,
         1024,
         4294967296u,
         1048576,
         1048576,
         "127.0.0.1:8080",
         ""},
        {"last flag wins",
         {"--threads", "4", "--threads", "5"},
         {""},
         GD_CONFIG_RUN,
         "",
         5,
         60,
         30,
         1024,
         4294967296u,
         1048576,
         1048576,
         "127.0.0.1:8080",
         ""},
        {"help",
         {"--threads", "x", "--help"},
         {""},
         GD_CONFIG_HELP,
         "",
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         "",
         ""},
        {"version",
         {"--version"},
         {"GLOROTD_THREADS=x"},
         GD_CONFIG_VERSION,
         "",
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         "",
         ""},
        {"bad env",
         {""},
         {"GLOROTD_MAX_BODY_BYTES=1k"},
         GD_CONFIG_ERROR,
         "GLOROTD_MAX_BODY_BYTES",
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         "",
         ""},
        {"unknown",
         {"--thread", "2"},
         {""},
         GD_CONFIG_ERROR,
         "unknown option '--thread'",
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         "",
         ""},
        {"positional",
         {"8080"},
         {""},
         GD_CONFIG_ERROR,
         "unknown option '8080'",
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         "",
         ""},
        {"no value",
         {"--timeout"},
         {""},
         GD_CONFIG_ERROR,
         "--timeout needs a value",
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         "",
         ""},
        {"range",
         {"--threads", "257"},
         {""},
         GD_CONFIG_ERROR,
         "from 1 to 256",
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         "",
         ""},
        {"body cap 1",
         {"--max-body-bytes", "1"},
         {""},
         GD_CONFIG_ERROR,
         "--max-body-bytes",
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         "",
         ""},
        {"empty port file",
         {"--port-file="},
         {""},
         GD_CONFIG_ERROR,
         "--port-file",
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         "",
         ""},
        {"bad listen",
         {"--listen", "x"},
         {""},
         GD_CONFIG_ERROR,
         "--listen: invalid address",
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         "",
         ""},
    };
    return cr_make_param_array(scase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(scase *c, units, settings)
{
    char *argv[8] = {"glorotd"};
    int argc = 1;
    for (size_t i = 0; i < 6 && c->argv[i][0] != '\0'; i++)
        argv[argc++] = c->argv[i];
    memset(fake_env_entries, 0, sizeof fake_env_entries);
    for (size_t i = 0, n = 0; i < 3; i++)
        if (c->env[i][0] != '\0')
            fake_env_entries[n++] = c->env[i];
    gd_config cfg;
    char msg[512] = "";
    gd_config_result r = gd_config_load(&cfg, argc, argv, fake_env, msg, sizeof msg);
    cr_assert_eq(r, c->result, "%s: result %d, message '%s'", c->label, r, msg);
    if (r == GD_CONFIG_ERROR)
        cr_assert(strstr(msg, c->message) != NULL, "%s: '%s'", c->label, msg);
    if (r != GD_CONFIG_RUN)
        return;
    if (c->threads != 0)
        cr_expect_eq(cfg.threads, c->threads, "%s", c->label);
    else
        cr_expect(cfg.threads >= 1 && cfg.threads <= 256, "%s", c->label);
    cr_expect_eq(cfg.timeout_s, c->timeout, "%s", c->label);
    cr_expect_eq(cfg.shutdown_grace_s, c->grace, "%s", c->label);
    cr_expect_eq(cfg.max_connections, c->max_connections, "%s", c->label);
    cr_expect_eq(cfg.max_elements, c->max_elements, "%s", c->label);
    cr_expect_eq(cfg.max_body_bytes, c->max_body, "%s", c->label);
    cr_expect_eq(cfg.max_json_elements, c->max_json, "%s", c->label);
    cr_expect_str_eq(cfg.port_file, c->port_file, "%s", c->label);
    const struct sockaddr *sa = (const struct sockaddr *)&cfg.addr;
    unsigned port = ntohs(cfg.ipv6 ? ((struct sockaddr_in6 *)&cfg.addr)->sin6_port
                                   : ((struct sockaddr_in *)&cfg.addr)->sin_port);
    char where[80];
    gd_format_address(sa, port, where, sizeof where);
    cr_expect_str_eq(where, c->listen, "%s", c->label);
}

/* ---- Content-Type ---------------------------------------------------------------- */

typedef struct {
    char type[80];
    int ok;
} tcase;

ParameterizedTestParameters(units, content_type)
{
    static tcase cases[] = {
        {"application/json", 1},
        {"APPLICATION/JSON", 1},
        {"  application/json", 1},
        {"application/json;charset=utf-8", 1},
        {"application/json; charset=UTF-8", 1},
        {"application/json; charset=\"utf-8\"", 1},
        {"application/json ; charset = utf-8", 1},
        {"application/json; foo=bar; charset=utf-8", 1},
        {"application/json; foo", 1},
        {"application/json; charset=latin1", 0},
        {"application/json; charset=", 0},
        {"application/json; foo=bar; charset=utf-16", 0},
        {"application/jsonx", 0},
        {"application/json-seq", 0},
        {"application/x-www-form-urlencoded", 0},
        {"text/json", 0},
        {"application", 0},
        {"", 0},
    };
    return cr_make_param_array(tcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(tcase *c, units, content_type)
{
    cr_assert_eq(gd_params_is_json(c->type), c->ok, "'%s'", c->type);
}

Test(units, content_type_null)
{
    cr_assert_eq(gd_params_is_json(NULL), 0);
}

/* ---- JSON bodies -> gp_request ------------------------------------------------------- */

typedef struct {
    char body[160];
    unsigned status;
    char code[24];
    char param[16];
    char message[40]; /* piece of the message */
} jcase;

ParameterizedTestParameters(units, json_body)
{
    static jcase cases[] = {
        {"{\"shape\":[2,3],\"seed\":42}", 0, "", "", ""},
        {"{\"shape\":\"2,3\",\"seed\":\"42\",\"gain\":0.5,\"call\":1,\"algorithm\":"
         "\"mlx-seeded\"}",
         0, "", "", ""},
        {"", 400, "bad_json", "", "empty"},
        {"   ", 400, "bad_json", "", "invalid JSON"},
        {"{", 400, "bad_json", "", "line 1"},
        {"[]", 400, "bad_json", "", "JSON object"},
        {"null", 400, "bad_json", "", ""},
        {"{\"a\":1,\"a\":2}", 400, "bad_json", "", "duplicate"},
        {"{\"seed\":9223372036854775808}", 400, "bad_json", "", "decimal string"},
        {"{\"gain\":1e999}", 400, "bad_json", "", "out of range"},
        {"{\"seed\":\"1\\u0000\"}", 400, "bad_json", "", ""},
        {"{\"seed\":false}", 400, "invalid_parameter", "seed", "not accepted"},
        {"{\"name\":{\"a\":1}}", 400, "invalid_parameter", "name", ""},
        {"{\"seed\":[1]}", 400, "invalid_parameter", "seed", "not an array"},
        {"{\"shape\":[2,null]}", 400, "invalid_parameter", "shape", "whole numbers"},
        {"{\"shape\":[2,1.0]}", 400, "invalid_parameter", "shape", "whole numbers"},
        {"{\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}", 400,
         "invalid_parameter", "shape", "more than 8"},
        {"{\"seed\":1.5}", 400, "invalid_parameter", "seed", ""},
        {"{\"seed\":-1}", 400, "invalid_parameter", "seed", ""},
        {"{\"fan_in\":3.0}", 400, "invalid_parameter", "fan_in", ""},
        {"{\"unknown\":1}", 400, "invalid_parameter", "unknown", "unknown parameter"},
        {"{\"shape\":[2,2],\"shape \":[2,2]}", 400, "invalid_parameter", "shape ", ""},
    };
    return cr_make_param_array(jcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(jcase *c, units, json_body)
{
    gp_request r;
    gp_request_init(&r);
    gd_error e = {0};
    int rc = gd_params_json(&r, c->body, strlen(c->body), &e);
    cr_assert_eq(rc == 0, c->status == 0, "%s: %u %s %s", c->body, e.status, e.code, e.message);
    cr_assert_eq(e.status, c->status, "%s", c->body);
    if (c->status == 0)
        return;
    cr_expect_str_eq(e.code, c->code, "%s: %s", c->body, e.message);
    cr_expect_str_eq(e.param, c->param, "%s: %s", c->body, e.message);
    cr_expect(strstr(e.message, c->message) != NULL, "%s: '%s'", c->body, e.message);
}

/* Values arrive in gp_request exactly as the equivalent query would set them. */
Test(units, json_values_reach_the_request)
{
    static const char body[] = "{\"shape\":[3,4,5],\"seed\":\"18446744073709551615\","
                               "\"dtype\":\"bfloat16\",\"gain\":0.25,\"fan\":\"torch\","
                               "\"name\":\"caf\\u00e9\",\"fan_out\":7}";
    gp_request r;
    gp_request_init(&r);
    gd_error e = {0};
    cr_assert_eq(gd_params_json(&r, body, sizeof body - 1, &e), 0, "%s", e.message);
    cr_assert_eq(r.rank, 3);
    cr_assert_eq(r.shape[0], 3);
    cr_assert_eq(r.shape[2], 5);
    cr_assert_eq(r.seed, UINT64_MAX);
    cr_assert(r.seed_set);
    cr_assert_eq(r.dtype, GP_BFLOAT16);
    cr_assert_eq(r.gain, 0.25);
    cr_assert_eq(r.fan, GP_FAN_TORCH);
    cr_assert_eq(r.fan_out_override, 7);
    cr_assert_eq(r.name_len, 5);
    cr_assert(memcmp(r.name, "caf\xc3\xa9", 5) == 0);
}

/* ---- error bodies -------------------------------------------------------------------- */

Test(units, error_json)
{
    gd_error e = {0};
    gd_fail(&e, GD_ERR_INVALID_PARAMETER, "seed", "seed: \"%s\" is bad", "x\"y\n");
    gd_fail(&e, GD_ERR_INTERNAL, "", "second error ignored");
    char *text = gd_error_json(&e);
    cr_assert_str_eq(text, "{\"error\":{\"code\":\"invalid_parameter\",\"message\":\"seed: "
                           "\\\"x\\\"y\\n\\\" is bad\",\"param\":\"seed\"}}");
    free(text);
}

Test(units, error_json_invalid_utf8)
{
    gd_error e = {0};
    gd_fail(&e, GD_ERR_INVALID_PARAMETER, "name", "name: \xc3 cut \xff");
    char *text = gd_error_json(&e);
    cr_assert_not_null(text);
    cr_assert_str_eq(text, "{\"error\":{\"code\":\"invalid_parameter\",\"message\":\"name: ? cut "
                           "?\",\"param\":\"name\"}}");
    free(text);
}

Test(units, error_from_proto)
{
    static const struct {
        gp_code code;
        unsigned status;
        const char *name;
    } map[] = {{GP_EPARAM, 400, "invalid_parameter"},
               {GP_EUNSUPPORTED, 422, "unsupported"},
               {GP_ELIMIT, 413, "too_large"},
               {GP_ENOMEM, 500, "out_of_memory"},
               {GP_EINTERNAL, 500, "internal"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        gp_error g = {0};
        gp_fail(&g, map[i].code, "shape", "why");
        gd_error e = {0};
        cr_assert_eq(gd_fail_gp(&e, &g), -1);
        cr_expect_eq(e.status, map[i].status);
        cr_expect_str_eq(e.code, map[i].name);
        cr_expect_str_eq(e.param, "shape");
        cr_expect_str_eq(e.message, "why");
    }
}

/* One row per error kind, each with its own code (the one list of codes). */
Test(units, error_kinds_distinct)
{
    for (int i = 0; i < GD_ERR_COUNT; i++) {
        const gd_error_kind *k = gd_error_kind_of((gd_err)i);
        cr_assert(k->code != NULL && k->code[0] != '\0' && k->message != NULL, "kind %d", i);
        cr_expect(k->status >= 400 && k->status < 600, "%s: status %u", k->code, k->status);
        for (int j = 0; j < i; j++)
            cr_expect_str_neq(k->code, gd_error_kind_of((gd_err)j)->code, "kinds %d and %d", j, i);
    }
}

/* ---- log escaping ---------------------------------------------------------------------- */

typedef struct {
    char in[64];
    size_t size;
    char out[96];
} lcase;

ParameterizedTestParameters(units, log_escape)
{
    static lcase cases[] = {
        {"/v1/glorot_uniform", 64, "/v1/glorot_uniform"},
        {"/a b", 64, "/a\\x20b"},
        {"/a\nb\r", 64, "/a\\x0ab\\x0d"},
        {"/\\", 64, "/\\x5c"},
        {"/caf\xc3\xa9", 64, "/caf\\xc3\\xa9"},
        {"/abcdefghij", 10, "/abcde..."},
        {"/\x01\x02\x03", 12, "/\\x01..."},
        {"", 8, ""},
    };
    return cr_make_param_array(lcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(lcase *c, units, log_escape)
{
    char out[96];
    memset(out, 'Z', sizeof out);
    gd_log_escape(c->in, out, c->size);
    cr_assert_str_eq(out, c->out);
    cr_assert_lt(strlen(out), c->size);
    cr_assert_eq(out[c->size], 'Z', "wrote past size");
}

/* Bodies made of many tiny values are refused before jansson sees them;
 * structure characters inside strings do not count. */
Test(units, json_structure_cap)
{
    char body[2048];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"shape\":[1");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, ",1");
    n += (size_t)snprintf(body + n, sizeof body - n, "]}");
    gp_request r;
    gp_request_init(&r);
    gd_error e = {0};
    cr_assert_eq(gd_params_json(&r, body, n, &e), -1);
    cr_assert_str_eq(e.code, "bad_json");
    cr_assert(strstr(e.message, "more than 256 JSON values") != NULL, "%s", e.message);

    n = (size_t)snprintf(body, sizeof body, "{\"shape\":[2,2],\"name\":\"");
    for (int i = 0; i < 250; i++)
        body[n++] = (i % 3 == 0) ? ',' : (i % 3 == 1) ? '[' : ':';
    n += (size_t)snprintf(body + n, sizeof body - n, "\\\"{\"}");
    gp_request_init(&r);
    gd_error e2 = {0};
    cr_assert_eq(gd_params_json(&r, body, n, &e2), 0, "%s", e2.message);
    cr_assert_eq(r.name_len, 252);
}
