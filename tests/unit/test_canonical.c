/*
 * test_canonical.c - the canonical form of a request, its ETag and the
 * entity-tag conditions (If-None-Match, If-Range).
 *
 * Golden ETags were computed independently with Python:
 *   hashlib.blake2b(b"glorotd-etag-2\n" + b"chacha20 1\n" + canonical,
 *                   digest_size=16).hexdigest()
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glorot_proto.h"

/* Build from "k=v&k=v" text (the test's own decoding of %XX), finish. A
 * request without seed= keeps seed_set 0. */
static gp_code from_query(gp_request *r, const char *query, gp_error *err)
{
    gp_request_init(r);
    for (const char *pair = query; *pair != '\0';) {
        size_t len = strcspn(pair, "&");
        const char *eq = memchr(pair, '=', len);
        char value[1024];
        size_t n = 0;
        cr_assert_not_null(eq, "%s", pair);
        for (const char *p = eq + 1; p < pair + len; p++) {
            unsigned hex;
            if (*p == '%' && sscanf(p + 1, "%2x", &hex) == 1) {
                value[n++] = (char)hex;
                p += 2;
            } else {
                value[n++] = *p;
            }
        }
        gp_code rc = gp_request_set(r, pair, (size_t)(eq - pair), value, n, err);
        if (rc != GP_OK)
            return rc;
        pair += len + (pair[len] == '&');
    }
    return gp_request_finish(r, NULL, err);
}

/* ---- canonical texts -------------------------------------------------------------- */

typedef struct {
    char query[200];
    char canonical[400];
} canon_case;

static struct criterion_test_params canon_cases(void)
{
    static canon_case cases[] = {
        {"shape=256,512&seed=42",
         "algorithm=chacha20&dtype=float32&fan=mlx&fan_in=512&fan_out=256&format=raw&gain=1&"
         "name=weight&seed=42&shape=256,512"},
        {"seed=42&format=raw&shape=0256,512&gain=1.0&fan=mlx",
         "algorithm=chacha20&dtype=float32&fan=mlx&fan_in=512&fan_out=256&format=raw&gain=1&"
         "name=weight&seed=42&shape=256,512"},
        {"shape=64,3,7,7&seed=7&algorithm=mlx-seeded&call=3&dtype=bfloat16&fan=torch&gain=relu&"
         "name=conv1.weight&format=safetensors&shard=0/2",
         "algorithm=mlx-seeded&call=3&dtype=bfloat16&fan=torch&fan_in=147&fan_out=3136&"
         "format=safetensors&gain=relu&name=conv1.weight&seed=7&shape=64,3,7,7&"
         "slice=0:32,0:3,0:7,0:7"},
        {"shape=4,4&seed=1&algorithm=mlx-seeded",
         "algorithm=mlx-seeded&call=1&dtype=float32&fan=mlx&fan_in=4&fan_out=4&format=raw&"
         "gain=1&name=weight&seed=1&shape=4,4"},
        {"shape=8,8&seed=18446744073709551615&gain=leaky_relu:0.2&fan=jax&fan_in=3&format=npy",
         "algorithm=chacha20&dtype=float32&fan=keras&fan_in=3&fan_out=8&format=npy&"
         "gain=leaky_relu:0.2&name=weight&seed=18446744073709551615&shape=8,8"},
        {"shape=8,8&seed=0&name=poids%20%C3%A9%2Bx%26y%3D1%25~._-",
         "algorithm=chacha20&dtype=float32&fan=mlx&fan_in=8&fan_out=8&format=raw&gain=1&"
         "name=poids%20%C3%A9%2Bx%26y%3D1%25~._-&seed=0&shape=8,8"},
        {"shape=8,8&seed=0&slice=-2:",
         "algorithm=chacha20&dtype=float32&fan=mlx&fan_in=8&fan_out=8&format=raw&gain=1&"
         "name=weight&seed=0&shape=8,8&slice=6:8,0:8"},
        {"shape=8,8&seed=0&slice=:,:100",
         "algorithm=chacha20&dtype=float32&fan=mlx&fan_in=8&fan_out=8&format=raw&gain=1&"
         "name=weight&seed=0&shape=8,8"},
        {"shape=8,8&seed=0&shard=0/1&axis=1&format=json",
         "algorithm=chacha20&dtype=float32&fan=mlx&fan_in=8&fan_out=8&format=json&gain=1&"
         "name=weight&seed=0&shape=8,8"},
        {"shape=8,6&seed=0&shard=2/4&axis=-1&dtype=float64",
         "algorithm=chacha20&dtype=float64&fan=mlx&fan_in=6&fan_out=8&format=raw&gain=1&"
         "name=weight&seed=0&shape=8,6&slice=0:8,4:5"},
    };
    return cr_make_param_array(canon_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTestParameters(canonical, text)
{
    return canon_cases();
}

ParameterizedTest(canon_case *c, canonical, text)
{
    gp_request r;
    gp_error err = {0};
    char text[GP_CANONICAL_MAX];
    cr_assert_eq(from_query(&r, c->query, &err), GP_OK, "%s: %s", c->query, err.message);
    cr_assert_eq(gp_canonical(&r, text, sizeof text, &err), GP_OK, "%s", err.message);
    cr_expect_str_eq(text, c->canonical, "from %s", c->query);
    for (const char *p = text; *p != '\0'; p++)
        cr_assert(*p > 0x20 && *p < 0x7f, "not printable ASCII: %s", text);
}

ParameterizedTestParameters(canonical, replays_to_itself_and_the_same_bytes)
{
    return canon_cases();
}

/* The canonical form asks for the same bytes: replayed through the request
 * parser it gives itself again, and the same body. */
ParameterizedTest(canon_case *c, canonical, replays_to_itself_and_the_same_bytes)
{
    gp_request a, b;
    gp_error err = {0};
    char text[GP_CANONICAL_MAX], again[GP_CANONICAL_MAX];
    cr_assert_eq(from_query(&a, c->query, &err), GP_OK, "%s", err.message);
    cr_assert_eq(gp_canonical(&a, text, sizeof text, &err), GP_OK);
    cr_assert_eq(from_query(&b, text, &err), GP_OK, "%s: %s", text, err.message);
    cr_assert_eq(gp_canonical(&b, again, sizeof again, &err), GP_OK);
    cr_expect_str_eq(again, text);
    static gp_body ba, bb;
    cr_assert_eq(gp_body_init(&ba, &a, &err), GP_OK);
    cr_assert_eq(gp_body_init(&bb, &b, &err), GP_OK);
    unsigned char x[4096], y[4096];
    size_t nx, ny;
    uint64_t off = 0;
    do {
        nx = gp_body_read(&ba, off, x, sizeof x);
        ny = gp_body_read(&bb, off, y, sizeof y);
        cr_assert_eq(nx, ny);
        cr_assert_arr_eq(x, y, nx, "%s: bytes differ at %llu", text, (unsigned long long)off);
        off += nx;
    } while (nx > 0);
}

Test(canonical, needs_a_finished_request_with_a_seed)
{
    gp_request r;
    gp_error err = {0};
    char text[GP_CANONICAL_MAX], etag[GP_ETAG_MAX];
    gp_request_init(&r);
    cr_expect_eq(gp_canonical(&r, text, sizeof text, &err), GP_EINTERNAL);
    cr_assert_eq(from_query(&r, "shape=4,4", &err), GP_OK);
    memset(&err, 0, sizeof err);
    cr_expect_eq(gp_canonical(&r, text, sizeof text, &err), GP_EINTERNAL, "no seed");
    memset(&err, 0, sizeof err);
    cr_expect_eq(gp_etag(&r, NULL, etag, &err), GP_EINTERNAL, "no seed");
    gp_request_set_seed(&r, 3);
    memset(&err, 0, sizeof err);
    cr_expect_eq(gp_canonical(&r, text, 20, &err), GP_EINTERNAL, "too small");
    memset(&err, 0, sizeof err);
    cr_expect_eq(gp_canonical(&r, text, sizeof text, &err), GP_OK);
}

/* The longest canonical form: 8 axes of 20-digit bounds, a 256-byte name of
 * bytes that all need escaping, the longest gain text. */
Test(canonical, longest_form_fits)
{
    gp_request r;
    gp_error err = {0};
    char name[257];
    memset(name, 0, sizeof name);
    for (size_t i = 0; i < 128; i++)
        memcpy(name + 2 * i, "\xc3\xa9", 2);
    gp_request_init(&r);
    static const char *const kv[][2] = {
        {"shape", "1,1,1,1,1,1,1,2305843009213693951"},
        {"slice", ":,:,:,:,:,:,:,-1152921504606846975:"},
        {"gain", "leaky_relu:1.0000000000000002"},
        {"seed", "18446744073709551615"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        cr_assert_eq(
            gp_request_set(&r, kv[i][0], strlen(kv[i][0]), kv[i][1], strlen(kv[i][1]), &err), GP_OK,
            "%s: %s", kv[i][0], err.message);
    cr_assert_eq(gp_request_set(&r, "name", 4, name, 256, &err), GP_OK, "%s", err.message);
    cr_assert_eq(gp_request_finish(&r, NULL, &err), GP_OK, "%s", err.message);
    char text[GP_CANONICAL_MAX];
    cr_assert_eq(gp_canonical(&r, text, sizeof text, &err), GP_OK, "%s", err.message);
    cr_expect_gt(strlen(text), 768 + 100);
}

/* ---- ETags ------------------------------------------------------------------------------ */

/* The ETag computed from scratch and from the caller's canonical text agree. */
static void etag_of(const char *query, char out[GP_ETAG_MAX])
{
    gp_request r;
    gp_error err = {0};
    char text[GP_CANONICAL_MAX], given[GP_ETAG_MAX];
    cr_assert_eq(from_query(&r, query, &err), GP_OK, "%s: %s", query, err.message);
    cr_assert_eq(gp_etag(&r, NULL, out, &err), GP_OK, "%s", err.message);
    cr_assert_eq(gp_canonical(&r, text, sizeof text, &err), GP_OK, "%s", err.message);
    cr_assert_eq(gp_etag(&r, text, given, &err), GP_OK, "%s", err.message);
    cr_assert_str_eq(given, out, "%s", query);
}

Test(etag, golden_values)
{
    char etag[GP_ETAG_MAX];
    etag_of("shape=256,512&seed=42", etag);
    cr_expect_str_eq(etag, "\"4c079412c1b974527e3fe5d4afc6b1c4\"");
    etag_of("shape=64,3,7,7&seed=7&algorithm=mlx-seeded&call=3&dtype=bfloat16&fan=torch&"
            "gain=relu&name=conv1.weight&format=safetensors&slice=0:32",
            etag);
    cr_expect_str_eq(etag, "\"d78cb1a86e68816856d0c7b58426ebde\"");
}

/* Requests with the same canonical form share the ETag; any change in what
 * is sent changes it. */
Test(etag, follows_the_canonical_form)
{
    static const char *const same[] = {
        "shape=16,8&seed=9&format=npy&slice=4:8",
        "shape=16,8&seed=9&format=npy&shard=1/4",
        "shape=16,8&seed=9&format=npy&shard=1/4&axis=0",
        "shape=16,8&seed=9&format=npy&slice=4:8,:&dtype=float32&fan=mlx&gain=1.0",
        "shape=16,8&seed=9&format=npy&slice=-12:-8&fan_in=8&fan_out=16",
    };
    static const char *const differ[] = {
        "shape=16,8&seed=9&format=npy",
        "shape=16,8&seed=10&format=npy&slice=4:8",
        "shape=16,8&seed=9&format=raw&slice=4:8",
        "shape=16,8&seed=9&format=npy&slice=4:9",
        "shape=16,8&seed=9&format=npy&slice=4:8&name=w",
        "shape=16,8&seed=9&format=npy&slice=4:8&gain=2",
        "shape=16,8&seed=9&format=npy&slice=4:8&fan=torch",
        "shape=16,8&seed=9&format=npy&slice=4:8&fan_in=9",
        "shape=16,8&seed=9&format=npy&slice=4:8&dtype=float16",
        "shape=16,8&seed=9&format=npy&slice=4:8&algorithm=mlx",
        "shape=16,8&seed=9&format=npy&slice=4:8&algorithm=mlx-seeded",
        "shape=16,8&seed=9&format=npy&slice=4:8&algorithm=mlx-seeded&call=2",
        "shape=8,16&seed=9&format=npy&slice=4:8",
    };
    char first[GP_ETAG_MAX], tag[GP_ETAG_MAX];
    etag_of(same[0], first);
    cr_expect_eq(strlen(first), 34);
    for (size_t i = 1; i < sizeof same / sizeof same[0]; i++) {
        etag_of(same[i], tag);
        cr_expect_str_eq(tag, first, "%s", same[i]);
    }
    char seen[sizeof differ / sizeof differ[0]][GP_ETAG_MAX];
    for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
        etag_of(differ[i], seen[i]);
        cr_expect_str_neq(seen[i], first, "%s", differ[i]);
        for (size_t j = 0; j < i; j++)
            cr_expect_str_neq(seen[i], seen[j], "%s vs %s", differ[i], differ[j]);
    }
}

/* ---- If-None-Match and If-Range -------------------------------------------------------- */

typedef struct {
    char value[64];
    int none_match;
    int if_range;
} cond_case;

#define TAG "\"0123abcd\""

ParameterizedTestParameters(etag, conditions)
{
    static cond_case cases[] = {
        {TAG, 1, 1},
        {"  " TAG " \t", 1, 1},
        {"W/" TAG, 1, 0},
        {"*", 1, 0},
        {" * ", 1, 0},
        {"\"x\", " TAG, 1, 0},
        {"\"x\",W/" TAG ", \"y\"", 1, 0},
        {",," TAG ",", 1, 0},
        {"\"\", " TAG, 1, 0},
        {"\"x\"", 0, 0},
        {"\"0123abcD\"", 0, 0},
        {"\"0123abc\"", 0, 0},
        {"\"0123abcd", 0, 0},
        {"0123abcd", 0, 0},
        {"\"x\" " TAG, 0, 0},
        {"W/ " TAG, 0, 0},
        {"w/" TAG, 0, 0},
        {"*, " TAG, 0, 0},
        {"**", 0, 0},
        {"", 0, 0},
        {",", 0, 0},
        {"\"01 23\", " TAG, 0, 0},
        {"Wed, 21 Oct 2015 07:28:00 GMT", 0, 0},
        {TAG ", \"x\"", 1, 0},
    };
    return cr_make_param_array(cond_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(cond_case *c, etag, conditions)
{
    cr_expect_eq(gp_etag_none_match(c->value, strlen(c->value), TAG), c->none_match,
                 "If-None-Match: %s", c->value);
    cr_expect_eq(gp_etag_if_range(c->value, strlen(c->value), TAG), c->if_range, "If-Range: %s",
                 c->value);
}

Test(etag, conditions_use_only_len_bytes)
{
    const char text[] = TAG "garbage";
    cr_expect_eq(gp_etag_none_match(text, strlen(TAG), TAG), 1);
    cr_expect_eq(gp_etag_if_range(text, strlen(TAG), TAG), 1);
    cr_expect_eq(gp_etag_none_match(text, strlen(TAG) - 1, TAG), 0);
    cr_expect_eq(gp_etag_if_range(text, strlen(TAG) - 1, TAG), 0);
    cr_expect_eq(gp_etag_none_match(NULL, 0, TAG), 0);
    cr_expect_eq(gp_etag_if_range(NULL, 0, TAG), 0);
}
