/*
 * test_init_http.c - the initializers on a live glorotd: tests/py/check_init.py
 * (every row of tests/data/mlx_family*.tsv over HTTP, a mixed safetensors
 * manifest equal to single GETs, digests, errors naming parameters), and
 * libglorot-client: every row of those files through glorot_fetch and
 * glorot_generate, and for each initializer fetch equals generate, with
 * meta.init and meta.distribution from the server's headers.
 */
#include "test_server_util.h"

#include "../unit/tsv.h"

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

/* ---- every MLX row through the client ------------------------------------------------ */

#define FAMILY_ROWS 72
#define FAMILY2_ROWS 64

typedef struct {
    char file[24];
    int row;
} row_case;

static void free_rows(struct criterion_test_params *p)
{
    cr_free(p->params);
}

ParameterizedTestParameters(init_http, client_mlx_rows)
{
    size_t n = FAMILY_ROWS + FAMILY2_ROWS, k = 0;
    row_case *c = cr_malloc(n * sizeof *c);
    for (int i = 0; i < FAMILY_ROWS; i++, k++)
        c[k] = (row_case){"mlx_family.tsv", i};
    for (int i = 0; i < FAMILY2_ROWS; i++, k++)
        c[k] = (row_case){"mlx_family2.tsv", i};
    return cr_make_param_array(row_case, c, n, free_rows);
}

static void must_set(glorot_request *req, const char *key, const char *value)
{
    glorot_error err = {0};
    cr_assert_eq(glorot_request_set(req, key, value, &err), GLOROT_OK, "%s=%s: %s", key, value,
                 err.message);
}

static void hex_of(const unsigned char *bytes, size_t len, size_t es, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < len / es; i++) {
        unsigned v = bytes[i * es] | (unsigned)bytes[i * es + 1] << 8;
        if (es == 4)
            v |= (unsigned)bytes[i * es + 2] << 16 | (unsigned)bytes[i * es + 3] << 24;
        used += (size_t)snprintf(out + used, cap - used, es == 4 ? "%s%08X" : "%s%04X",
                                 i ? " " : "", v);
    }
}

ParameterizedTest(row_case *c, init_http, client_mlx_rows)
{
    char line[LINE_MAX_LEN], got[96 * 9 + 1];
    glorot_request req;
    glorot_error err = {0};
    glorot_request_init(&req);
    const char *key[MLX_ROW_PAIRS], *value[MLX_ROW_PAIRS], *want = NULL;
    data_row(c->file, (size_t)c->row, line, sizeof line);
    size_t n = mlx_row_params(c->file, line, key, value, &want);
    for (size_t i = 0; i < n; i++)
        must_set(&req, key[i], value[i]);
    unsigned char fetched[96 * 4], local[96 * 4];
    glorot_meta meta;
    glorot_client *client = glorot_client_new(ts_url(), NULL, &err);
    cr_assert_not_null(client, "%s", err.message);
    cr_assert_eq(glorot_fetch(client, &req, fetched, sizeof fetched, &meta, &err), GLOROT_OK,
                 "%s row %d: %s", c->file, c->row, err.message);
    size_t es = strcmp(meta.dtype, "float32") == 0 ? 4 : 2;
    hex_of(fetched, meta.size, es, got, sizeof got);
    cr_expect_str_eq(got, want, "%s row %d fetched", c->file, c->row);
    cr_assert_eq(glorot_generate(&req, local, sizeof local, &meta, &err), GLOROT_OK, "%s",
                 err.message);
    hex_of(local, meta.size, es, got, sizeof got);
    cr_expect_str_eq(got, want, "%s row %d generated", c->file, c->row);
    glorot_client_free(client);
}
