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
#include <stdlib.h>
#include <string.h>

Test(batch, python_checks)
{
    th_daemon d;
    static const char *const extra[] = {"--max-batch-tensors",
                                        "8",
                                        "--max-batch-bytes",
                                        "100000",
                                        "--max-body-bytes",
                                        "4096",
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

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* glorot batch --url, glorot batch --local and a plain POST of the same
 * manifest (the shard given in it rather than by --rank/--world) give the
 * same bytes. */
Test(batch, cli_url_local_and_post_agree)
{
    th_daemon d;
    cr_assert_eq(th_daemon_start(&d, NULL), 0);
    char plain[256], sharded[256], by_url[256], by_local[256], data[300];
    snprintf(plain, sizeof plain, "%s/m.json", d.dir);
    snprintf(sharded, sizeof sharded, "%s/m2.json", d.dir);
    snprintf(by_url, sizeof by_url, "%s/url.safetensors", d.dir);
    snprintf(by_local, sizeof by_local, "%s/local.safetensors", d.dir);
    static const char tensors[] = "\"tensors\": [{\"name\": \"wq\", \"shape\": [64, 48]}, "
                                  "{\"name\": \"w1\", \"shape\": [30, 48], \"gain\": \"relu\"}]}";
    char text[512];
    snprintf(text, sizeof text, "{\"seed\": \"7\", \"dtype\": \"bfloat16\", %s", tensors);
    write_text(plain, text);
    snprintf(text, sizeof text,
             "{\"seed\": \"7\", \"dtype\": \"bfloat16\", \"shard\": {\"rank\": 1, \"world\": 2, "
             "\"axis\": 1}, %s",
             tensors);
    write_text(sharded, text);
    const char *glorot = th_env("GLOROT_BIN");
    const char *a1[] = {glorot, "batch",  plain, "-o",    by_url,     "--rank",  "1", "--world",
                        "2",    "--axis", "1",   "--url", d.base_url, "--quiet", NULL};
    const char *a2[] = {glorot,    "batch", plain,    "-o", by_local,  "--rank",  "1",
                        "--world", "2",     "--axis", "1",  "--local", "--quiet", NULL};
    cr_assert_eq(th_run(a1, NULL, 60), 0);
    cr_assert_eq(th_run(a2, NULL, 60), 0);
    snprintf(data, sizeof data, "@%s", sharded);
    char url[128];
    snprintf(url, sizeof url, "%s/v1/batch", d.base_url);
    th_response r;
    const char *args[] = {"-H", "Content-Type: application/json", "--data-binary", data, url, NULL};
    cr_assert_eq(th_curl(&r, args), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    size_t n1 = 0, n2 = 0;
    unsigned char *f1 = th_read_file(by_url, &n1), *f2 = th_read_file(by_local, &n2);
    cr_assert(f1 != NULL && f2 != NULL);
    cr_expect_eq(n1, r.body_len);
    cr_expect_eq(n2, r.body_len);
    cr_expect(n1 == r.body_len && memcmp(f1, r.body, n1) == 0, "glorot batch --url differs");
    cr_expect(n2 == r.body_len && memcmp(f2, r.body, n2) == 0, "glorot batch --local differs");
    cr_expect_gt(r.body_len, 64 * 24 * 2, "the answer holds the rank's part");
    free(f1);
    free(f2);
    th_response_free(&r);
    th_daemon_stop(&d);
}
