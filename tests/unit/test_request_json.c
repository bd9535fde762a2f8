/*
 * test_request_json.c - JSON values as gp_request_set text (request_json.c):
 * gp_request_set_json for request bodies, the manifest's wording of the same
 * conversions, the structure bound, the json element cap in gp_limits, the
 * generated lists of known keys and gp_body_elements_each.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "glorot_proto.h"
#include "request/request_internal.h"

/* ---- bodies that set parameters: the same request as the query ------------------------ */

typedef struct {
    char body[160];
    char query[96]; /* key=value&key=value, as gp_request_set gets them */
} value_case;

ParameterizedTestParameters(request_json, values)
{
    static value_case cases[] = {
        {"{}", ""},
        {"{\"shape\":[2,3],\"seed\":42}", "shape=2,3&seed=42"},
        {"{\"shape\":\"2,3\",\"seed\":\"42\"}", "shape=2,3&seed=42"},
        {"{\"seed\":\"18446744073709551615\"}", "seed=18446744073709551615"},
        {"{\"gain\":0.5}", "gain=0.5"},
        {"{\"gain\":2.0}", "gain=2.0"},
        {"{\"gain\":0.1}", "gain=0.10000000000000001"},
        {"{\"gain\":\"relu\"}", "gain=relu"},
        {"{\"low\":-1e-3,\"high\":1e300}", "low=-0.001&high=1.0000000000000001e+300"},
        {"{\"fan_in\":7,\"fan\":\"torch\"}", "fan_in=7&fan=torch"},
        {"{\"name\":\"caf\\u00e9\"}", "name=caf\xc3\xa9"},
        {"{\"shard\":\"1/2\",\"axis\":[1],\"split\":[\"chunk\"],\"stride\":[1]}",
         "shard=1/2&axis=1&split=chunk&stride=1"},
        {"{\"shard\":\"0/2,1/2\",\"axis\":[0,1],\"split\":[\"chunk\",\"even\"]}",
         "shard=0/2,1/2&axis=0,1&split=chunk,even"},
        {"{\"shard\":{\"rank\":1,\"world\":2,\"axis\":0}}", "shard=1/2&axis=0"},
        {"{\"shard\":[{\"rank\":0,\"world\":2,\"axis\":0},{\"rank\":1,\"world\":2,\"axis\":1}]}",
         "shard=0/2,1/2&axis=0,1"},
        {"{\"call\":1,\"algorithm\":\"mlx-seeded\"}", "call=1&algorithm=mlx-seeded"},
    };
    return cr_make_param_array(value_case, cases, sizeof cases / sizeof cases[0]);
}

static void set_query(gp_request *r, const char *q)
{
    while (*q != '\0') {
        const char *amp = strchr(q, '&'), *eq = strchr(q, '=');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        gp_error err = {0};
        cr_assert(eq != NULL && eq < q + n, "%s", q);
        cr_assert_eq(gp_request_set(r, q, (size_t)(eq - q), eq + 1, n - (size_t)(eq - q) - 1, &err),
                     GP_OK, "%s", err.message);
        q += amp ? n + 1 : n;
    }
}

/* gain_spec is compared as text: the bytes after its NUL mean nothing. */
static void clear_spec_tail(gp_request *r)
{
    size_t n = strlen(r->gain_spec);
    memset(r->gain_spec + n, 0, sizeof r->gain_spec - n);
}

ParameterizedTest(value_case *c, request_json, values)
{
    gp_request from_json, from_query;
    gp_error err = {0};
    int malformed = -1;
    gp_request_init(&from_json);
    gp_request_init(&from_query);
    cr_assert_eq(gp_request_set_json(&from_json, c->body, strlen(c->body), &malformed, &err), GP_OK,
                 "%s: %s", c->body, err.message);
    cr_expect_eq(malformed, 0);
    set_query(&from_query, c->query);
    clear_spec_tail(&from_json);
    clear_spec_tail(&from_query);
    cr_expect_eq(memcmp(&from_json, &from_query, sizeof from_json), 0, "%s", c->body);
}

/* ---- bodies that are refused ------------------------------------------------------------ */

typedef struct {
    char body[240];
    gp_code code;
    int malformed; /* the body as a whole (the server's bad_json), not a member */
    char param[32];
    char message[160];
    int exact; /* message is all of it, not a piece */
} error_case;

ParameterizedTestParameters(request_json, errors)
{
    static error_case cases[] = {
        {"", GP_EPARAM, 1, "", "the body is empty: send a JSON object", 1},
        {"   ", GP_EPARAM, 1, "", "invalid JSON at line 1", 0},
        {"{", GP_EPARAM, 1, "", "invalid JSON at line 1", 0},
        {"null", GP_EPARAM, 1, "", "invalid JSON", 0},
        {"[]", GP_EPARAM, 1, "",
         "the body must be a JSON object, e.g. {\"shape\": [256, 512], \"seed\": 42}", 1},
        {"{\"a\":1,\"a\":2}", GP_EPARAM, 1, "", "duplicate", 0},
        {"{\"seed\":9223372036854775808}", GP_EPARAM, 1, "",
         "JSON integers above 9223372036854775807 are not accepted; pass seed as a decimal "
         "string, e.g. \"seed\": \"18446744073709551615\"",
         0},
        {"{\"gain\":1e999}", GP_EPARAM, 1, "", "out of range", 0},
        {"{\"seed\":\"1\\u0000\"}", GP_EPARAM, 1, "", "", 0},
        {"{\"seed\":true}", GP_EPARAM, 0, "seed",
         "seed must be a string or a number (true, false, null and objects are not accepted)", 1},
        {"{\"seed\":false}", GP_EPARAM, 0, "seed", "(true, false, null and objects", 0},
        {"{\"name\":null}", GP_EPARAM, 0, "name", "(true, false, null and objects", 0},
        {"{\"name\":{\"a\":1}}", GP_EPARAM, 0, "name", "(true, false, null and objects", 0},
        {"{\"seed\":[1]}", GP_EPARAM, 0, "seed", "seed must be a string or a number, not an array",
         1},
        {"{\"shape\":[2,null]}", GP_EPARAM, 0, "shape",
         "shape must be an array of whole numbers, e.g. [256, 512]", 1},
        {"{\"shape\":[2,1.0]}", GP_EPARAM, 0, "shape", "whole numbers", 0},
        {"{\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}", GP_EPARAM, 0, "shape",
         "more than 8", 0},
        {"{\"split\":[1]}", GP_EPARAM, 0, "split",
         "split must be an array of names, e.g. [\"chunk\", \"even\"], one per shard", 1},
        {"{\"axis\":[\"0\"]}", GP_EPARAM, 0, "axis",
         "axis must be an array of integers, e.g. [0, 1], one per shard", 1},
        {"{\"stride\":[1,true]}", GP_EPARAM, 0, "stride", "stride must be an array of integers", 0},
        {"{\"axis\":[1111111111,1111111111,1111111111,1111111111,1111111111,1111111111,"
         "1111111111,1111111111,1111111111,1111111111,1111111111,1111111111,1111111111,"
         "1111111111,1111111111,1111111111,1111111111,1111111111,1111111111]}",
         GP_EPARAM, 0, "axis", "axis: too many values", 1},
        {"{\"seed\":1.5}", GP_EPARAM, 0, "seed", "\"1.5\"", 0},
        {"{\"seed\":2.0}", GP_EPARAM, 0, "seed", "\"2.0\"", 0},
        {"{\"seed\":0.1}", GP_EPARAM, 0, "seed", "\"0.10000000000000001\"", 0},
        {"{\"seed\":-1}", GP_EPARAM, 0, "seed", "", 0},
        {"{\"fan_in\":3.0}", GP_EPARAM, 0, "fan_in", "", 0},
        {"{\"unknown\":1}", GP_EPARAM, 0, "unknown", "unknown parameter", 0},
        {"{\"shape\":[2,2],\"shape \":[2,2]}", GP_EPARAM, 0, "shape ", "", 0},
        {"{\"shard\":{\"rank\":3,\"world\":2}}", GP_EPARAM, 0, "shard", "", 0},
        {"{\"shard\":[]}", GP_EPARAM, 0, "shard", "a list of 1 to 8 shard objects", 0},
        {"{\"shard\":true}", GP_EPARAM, 0, "shard", "(true, false, null and objects", 0},
    };
    return cr_make_param_array(error_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(error_case *c, request_json, errors)
{
    gp_request r;
    gp_error err = {0};
    int malformed = -1;
    gp_request_init(&r);
    cr_assert_eq(gp_request_set_json(&r, c->body, strlen(c->body), &malformed, &err), c->code,
                 "%s: %s", c->body, err.message);
    cr_expect_eq(err.code, c->code);
    cr_expect_eq(malformed, c->malformed, "%s", c->body);
    cr_expect_str_eq(err.param, c->param, "%s: %s", c->body, err.message);
    if (c->exact)
        cr_expect_str_eq(err.message, c->message, "%s", c->body);
    else
        cr_expect(strstr(err.message, c->message) != NULL, "%s: '%s'", c->body, err.message);
}

Test(request_json, null_body_and_null_flag)
{
    gp_request r;
    gp_error err = {0};
    gp_request_init(&r);
    cr_assert_eq(gp_request_set_json(&r, NULL, 0, NULL, &err), GP_EPARAM);
    cr_expect_str_eq(err.message, "the body is empty: send a JSON object");
    cr_assert_eq(gp_request_set_json(&r, "{\"seed\":1}", 10, NULL, NULL), GP_OK);
    cr_expect_eq(r.seed, 1);
}

/* ---- the structure bound ------------------------------------------------------------------ */

/* {"shape":[1,1,...]} with `extra` more dimensions has 3 + extra structure
 * characters: up to GP_JSON_MAX_STRUCTURE it is parsed (and refused for its
 * rank), past it the body is refused before jansson sees it. Structure
 * characters inside strings do not count (structure_count). */
typedef struct {
    size_t extra;
    int malformed;
    char param[8];
    char message[96];
} bound_case;

ParameterizedTestParameters(request_json, structure_cap)
{
    static bound_case cases[] = {
        {GP_JSON_MAX_STRUCTURE - 3, 0, "shape", "shape: more than 8 dimensions; rank must be 1..8"},
        {GP_JSON_MAX_STRUCTURE - 2, 1, "",
         "the body has more than 256 JSON values; a request needs a few dozen at most"},
        {1000, 1, "",
         "the body has more than 256 JSON values; a request needs a few dozen at most"},
    };
    return cr_make_param_array(bound_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bound_case *c, request_json, structure_cap)
{
    char body[4096];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"shape\":[1");
    for (size_t i = 0; i < c->extra; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, ",1");
    n += (size_t)snprintf(body + n, sizeof body - n, "]}");
    cr_assert_lt(n, sizeof body);
    cr_assert_eq(gpi_json_structure_count(body, n, SIZE_MAX), 3 + c->extra);
    gp_request r;
    gp_error err = {0};
    int malformed = -1;
    gp_request_init(&r);
    cr_assert_eq(gp_request_set_json(&r, body, n, &malformed, &err), GP_EPARAM);
    cr_expect_eq(malformed, c->malformed);
    cr_expect_str_eq(err.param, c->param);
    cr_expect_str_eq(err.message, c->message);
}

typedef struct {
    char text[48];
    size_t stop_at;
    size_t count;
} structure_case;

ParameterizedTestParameters(request_json, structure_count)
{
    static structure_case cases[] = {
        {"", 10, 0},
        {"{\"a\":[1,2]}", 10, 4},
        {"\"{[:,\"", 10, 0},
        {"\"\\\"{[\" ,", 10, 1},
        {"[[[[[[[[", 2, 3}, /* stops once past stop_at */
        {"{\"a\\\\\":1}", 10, 2},
    };
    return cr_make_param_array(structure_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(structure_case *c, request_json, structure_count)
{
    cr_expect_eq(gpi_json_structure_count(c->text, strlen(c->text), c->stop_at), c->count, "%s",
                 c->text);
}

/* ---- JSON reals never read as integers ---------------------------------------------- */

typedef struct {
    double v;
    char text[32];
} rcase;

ParameterizedTestParameters(request_json, real_text)
{
    static rcase cases[] = {
        {2.0, "2.0"},
        {0.5, "0.5"},
        {-3.0, "-3.0"},
        {1e16, "10000000000000000.0"},
        {1e300, "1.0000000000000001e+300"},
        {0.1, "0.10000000000000001"},
        {0.0, "0.0"},
    };
    return cr_make_param_array(rcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(rcase *c, request_json, real_text)
{
    char out[GPI_JSON_REAL_TEXT_MAX];
    cr_assert_eq(gpi_real_json_text(c->v, out, "x", NULL), GP_OK);
    cr_assert_str_eq(out, c->text);
}

/* ---- the manifest's wording of the same conversions ------------------------------------- */

typedef struct {
    char manifest[200];
    char param[32];
    char message[240];
    int exact;
} manifest_case;

#define T0 "\"tensors\":[{\"name\":\"w\",\"shape\":[2]"

ParameterizedTestParameters(request_json, manifest)
{
    static manifest_case cases[] = {
        {"{\"seed\":\"1\",\"tensors\":[{\"name\":\"w\",\"shape\":[2,true]}]}", "tensors[0].shape",
         "tensors[0]: shape: must be an array of whole numbers, e.g. [256, 512]", 1},
        {"{\"seed\":\"1\"," T0 ",\"dtype\":true}]}", "tensors[0].dtype",
         "tensors[0]: dtype: must be a string or a number", 1},
        {"{\"seed\":\"1\"," T0 ",\"dtype\":[1]}]}", "tensors[0].dtype",
         "tensors[0]: dtype: must be a string or a number, not an array", 1},
        {"{\"seed\":true," T0 "}]}", "seed", "seed: must be a string or a number", 1},
        {"{\"seed\":2.0," T0 "}]}", "seed", "\"2.0\"", 0},
        {"{\"seed\":\"1\",\"x\":1," T0 "}]}", "x",
         "unknown key \"x\"; known keys: seed, algorithm, dtype, fan, slice, shard, tensors, init, "
         "gain, mode, low, high, mean, std, a, b, value",
         1},
        {"{\"seed\":\"1\"," T0 ",\"x\":1}]}", "tensors[0].x",
         "tensors[0]: unknown key \"x\"; known keys: name, shape, dtype, fan, slice, shard, "
         "fan_in, fan_out, init, gain, mode, low, high, mean, std, a, b, value",
         1},
        {"{\"seed\":9223372036854775808," T0 "}]}", "manifest",
         "JSON integers above 9223372036854775807 are not accepted; give seed as a decimal string",
         0},
        {"{", "manifest", "invalid JSON at line 1", 0},
        {"", "manifest", "the manifest is empty: send a JSON object", 1},
    };
    return cr_make_param_array(manifest_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(manifest_case *c, request_json, manifest)
{
    gp_batch *b = NULL;
    gp_error err = {0};
    cr_assert_eq(
        gp_batch_parse(c->manifest, strlen(c->manifest), GP_FORMAT_SAFETENSORS, NULL, &b, &err),
        GP_EPARAM, "%s", c->manifest);
    cr_expect_null(b);
    cr_expect_str_eq(err.param, c->param, "%s: %s", c->manifest, err.message);
    if (c->exact)
        cr_expect_str_eq(err.message, c->message, "%s", c->manifest);
    else
        cr_expect(strstr(err.message, c->message) != NULL, "%s: '%s'", c->manifest, err.message);
}

/* ---- the generated list of known keys ------------------------------------------------------ */

Test(request_json, known_parameters)
{
    gp_request r;
    gp_error err = {0};
    gp_request_init(&r);
    cr_assert_eq(gp_request_set(&r, "bogus", 5, "1", 1, &err), GP_EPARAM);
    cr_expect_str_eq(err.message,
                     "unknown parameter \"bogus\"; known parameters: shape, gain, dtype, seed, "
                     "algorithm, call, fan, fan_in, fan_out, name, format, slice, shard, axis, "
                     "split, stride, init, mode, low, high, mean, std, a, b, value");
}

typedef struct {
    char out[16];
    size_t cap;
    char item[16];
    char want[16];
} list_case;

ParameterizedTestParameters(request_json, list_add)
{
    static list_case cases[] = {
        {"", 16, "a", "a"},
        {"a", 16, "bc", "a, bc"},
        {"a", 4, "bc", "a, "},
        {"abc", 4, "d", "abc"},
        {"", 1, "a", ""},
        {"a, b", 16, "", "a, b, "},
        {"x", 8, "yyyyyy", "x, yyyy"},
    };
    return cr_make_param_array(list_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(list_case *c, request_json, list_add)
{
    char out[16];
    memcpy(out, c->out, sizeof out);
    gpi_list_add(out, c->cap, c->item);
    cr_expect_str_eq(out, c->want);
}

/* ---- the json element cap ------------------------------------------------------------------ */

typedef struct {
    char format[12];
    char shard[8]; /* "" = none */
    uint64_t max_elements, max_json_elements;
    gp_code code;
    char message[160];
} cap_case;

ParameterizedTestParameters(request_json, json_cap)
{
    static cap_case cases[] = {
        {"json", "", 0, 5, GP_ELIMIT,
         "format=json is limited to 5 elements (--max-json-elements); this request has 10: use "
         "raw, npy or safetensors"},
        {"json", "", 0, 10, GP_OK, ""},
        {"json", "", 0, 0, GP_OK, ""},
        {"raw", "", 0, 5, GP_OK, ""},
        {"npy", "", 0, 1, GP_OK, ""},
        {"json", "0/2", 0, 5, GP_OK, ""},
        {"json", "0/2", 0, 4, GP_ELIMIT,
         "format=json is limited to 4 elements (--max-json-elements); this request has 5: use "
         "raw, npy or safetensors"},
        {"json", "", 3, 5, GP_ELIMIT, "shape: 10 elements exceed this server's cap of 3"},
    };
    return cr_make_param_array(cap_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(cap_case *c, request_json, json_cap)
{
    gp_request r;
    gp_error err = {0};
    gp_request_init(&r);
    cr_assert_eq(gp_request_set(&r, "shape", 5, "2,5", 3, &err), GP_OK);
    cr_assert_eq(gp_request_set(&r, "format", 6, c->format, strlen(c->format), &err), GP_OK);
    if (c->shard[0] != '\0')
        cr_assert_eq(gp_request_set(&r, "shard", 5, c->shard, strlen(c->shard), &err), GP_OK);
    gp_request_set_seed(&r, 1);
    gp_limits lim = {c->max_elements, 0, c->max_json_elements};
    cr_assert_eq(gp_request_finish(&r, &lim, &err), c->code, "%s", err.message);
    if (c->code == GP_OK)
        return;
    cr_expect_str_eq(err.param, "shape");
    cr_expect_str_eq(err.message, c->message);
    cr_expect_eq(r.finished, 0);
}

/* ---- elements in a body's bytes ------------------------------------------------------------- */

typedef struct {
    uint64_t total;
    size_t calls;
    const gp_request *r;
} tally;

static void add_up(void *user, const gp_request *r, uint64_t elements)
{
    tally *t = user;
    cr_expect_gt(elements, 0);
    t->total += elements;
    t->calls++;
    t->r = r;
}

/* However the body is cut into reads, every element is counted once. */
Test(request_json, body_elements)
{
    static const char *const formats[] = {"raw", "npy", "safetensors", "json"};
    for (size_t f = 0; f < 4; f++)
        for (size_t chunk = 1; chunk <= 64; chunk *= 4) {
            gp_request r;
            gp_error err = {0};
            gp_request_init(&r);
            cr_assert_eq(gp_request_set(&r, "shape", 5, "7,3", 3, &err), GP_OK);
            cr_assert_eq(gp_request_set(&r, "dtype", 5, "float16", 7, &err), GP_OK);
            cr_assert_eq(gp_request_set(&r, "format", 6, formats[f], strlen(formats[f]), &err),
                         GP_OK);
            gp_request_set_seed(&r, 5);
            cr_assert_eq(gp_request_finish(&r, NULL, &err), GP_OK, "%s", err.message);
            static gp_body b;
            cr_assert_eq(gp_body_init(&b, &r, &err), GP_OK, "%s", err.message);
            tally t = {0, 0, NULL};
            char buf[64];
            uint64_t pos = 0;
            size_t n;
            while ((n = gp_body_read(&b, pos, buf, chunk)) > 0) {
                gp_body_elements_each(&b, pos, n, add_up, &t);
                pos += n;
            }
            gp_body_elements_each(&b, pos, 0, add_up, &t);
            cr_expect_eq(t.total, 21, "%s, chunk %zu", formats[f], chunk);
            cr_expect(t.r == NULL || t.r->dtype == GP_FLOAT16);
        }
}
