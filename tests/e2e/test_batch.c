/*
 * test_batch.c - POST /v1/batch on a live glorotd, checked by
 * tests/py/check_batch.py (json + numpy at /usr/bin/python3): the
 * safetensors answer equals GET /v1/glorot_uniform per tensor; reordering or
 * adding tensors leaves chacha20 tensors unchanged; mlx-seeded equals the
 * seeded rows of tests/data/mlx_glorot.tsv; ranks concatenate to the whole;
 * Range, If-Range, HEAD, If-None-Match, format=json; errors naming
 * tensors[i].field; the tensor, byte and body caps (413).
 */
#include "../support/harness.h"

#include <criterion/criterion.h>
#include <stdio.h>

Test(batch, python_checks)
{
    th_daemon d;
    static const char *const extra[] = {"--max-batch-tensors", "8",    "--max-batch-bytes",
                                        "100000",              "--max-body-bytes", "4096",
                                        NULL};
    cr_assert_eq(th_daemon_start(&d, extra), 0);
    char script[512], tsv[512];
    snprintf(script, sizeof script, "%s/py/check_batch.py", th_env("GLOROT_TESTS"));
    snprintf(tsv, sizeof tsv, "%s/data/mlx_glorot.tsv", th_env("GLOROT_TESTS"));
    const char *argv[] = {th_env("GLOROT_PYTHON"), script, d.base_url, tsv, NULL};
    int rc = th_run(argv, NULL, 300);
    th_daemon_stop(&d);
    cr_expect_eq(rc, 0, "check_batch.py failed (its output says which check)");
}
