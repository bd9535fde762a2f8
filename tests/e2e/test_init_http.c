/*
 * test_init_http.c - the initializers on a live glorotd: tests/py/check_init.py
 * (every row of tests/data/mlx_family*.tsv over HTTP, a mixed safetensors
 * manifest equal to single GETs, digests, errors naming parameters), and
 * libglorot-client: glorot_fetch of each initializer equals glorot_generate,
 * with meta.init and meta.distribution from the server's headers.
 */
#include "test_server_util.h"

#include "glorot/client.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    ts_shared_start(NULL);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    ts_shared_stop();
}

Test(init_http, python_checks)
{
    char script[512], data[512];
    snprintf(script, sizeof script, "%s/py/check_init.py", th_env("GLOROT_TESTS"));
    snprintf(data, sizeof data, "%s/data", th_env("GLOROT_TESTS"));
    const char *argv[] = {th_env("GLOROT_PYTHON"), script, ts_url(), data, NULL};
    cr_expect_eq(th_run(argv, NULL, 300), 0, "check_init.py failed (its output says which check)");
}

/* ---- the client -------------------------------------------------------------------- */

typedef struct {
    char pairs[14][24]; /* key, value, key, value, ... "" */
    char init[24];
    char distribution[96];
} client_case;

ParameterizedTestParameters(init_http, client_fetch_equals_generate)
{
    static client_case cases[] = {
        {{"init", "normal", "shape", "300", "std", "0.02", "dtype", "bfloat16", ""},
         "normal",
         "normal; mean=0; std=0.02"},
        {{"init", "he_normal", "shape", "16,8,3", "gain", "relu", "mode", "fan_out", "fan", "torch",
          ""},
         "he_normal",
         "normal; mean=0; std=0.20412414523193154"},
        {{"init", "truncated_normal", "shape", "999", "mean", "1", "std", "2", "a", "0", "b", "3",
          ""},
         "truncated_normal",
         "truncated_normal; mean=1; std=2; a=0; b=3"},
        {{"init", "glorot_normal", "shape", "64,64", "algorithm", "mlx", "dtype", "float16", ""},
         "glorot_normal",
         "normal; mean=0; std=0.125"},
        {{"init", "uniform", "shape", "100", "low", "-3", "high", "-1", "dtype", "float64", ""},
         "uniform",
         "uniform; low=-3; high=-1"},
        {{"init", "ones", "shape", "7,7", "algorithm", "mlx-seeded", "call", "3", ""},
         "ones",
         "constant; value=1"},
        {{"init", "identity", "shape", "5,9", "format", "npy", ""}, "identity", "identity"},
    };
    return cr_make_param_array(client_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(client_case *c, init_http, client_fetch_equals_generate)
{
    glorot_error err = {0};
    glorot_request req;
    glorot_request_init(&req);
    for (size_t i = 0; c->pairs[i][0] != '\0'; i += 2)
        cr_assert_eq(glorot_request_set(&req, c->pairs[i], c->pairs[i + 1], &err), GLOROT_OK,
                     "%s=%s: %s", c->pairs[i], c->pairs[i + 1], err.message);
    cr_assert_eq(glorot_request_set(&req, "seed", "11", &err), GLOROT_OK);
    uint64_t size = 0;
    cr_assert_eq(glorot_size(&req, &size, &err), GLOROT_OK, "%s", err.message);
    unsigned char *fetched = malloc(size), *local = malloc(size);
    cr_assert(fetched != NULL && local != NULL);
    glorot_client *client = glorot_client_new(ts_url(), NULL, &err);
    cr_assert_not_null(client, "%s", err.message);
    glorot_meta meta, want;
    cr_assert_eq(glorot_fetch(client, &req, fetched, size, &meta, &err), GLOROT_OK, "%s",
                 err.message);
    cr_assert_eq(glorot_generate(&req, local, size, &want, &err), GLOROT_OK, "%s", err.message);
    cr_expect_arr_eq(fetched, local, size);
    cr_expect_str_eq(meta.init, c->init);
    cr_expect_str_eq(meta.distribution, c->distribution);
    cr_expect_str_eq(want.distribution, c->distribution);
    glorot_client_free(client);
    free(fetched);
    free(local);
}

/* A parameter the initializer does not take is refused before anything is sent. */
Test(init_http, client_refuses_locally)
{
    glorot_error err = {0};
    glorot_request req;
    glorot_request_init(&req);
    cr_assert_eq(glorot_request_set(&req, "init", "normal", &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(&req, "shape", "4", &err), GLOROT_OK);
    cr_assert_eq(glorot_request_set(&req, "gain", "2", &err), GLOROT_OK);
    uint64_t size;
    cr_expect_eq(glorot_size(&req, &size, &err), GLOROT_E_INVALID);
    cr_expect_str_eq(err.param, "gain");
}
