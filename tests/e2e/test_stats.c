/*
 * test_stats.c - the statistics of every initializer from the real `glorot
 * gen` (tests/py/check_stats.py): 10^6-element tensors per initializer,
 * algorithm and dtype (fixed seeds), Kolmogorov-Smirnov against the exact
 * distribution, mean, std, min and max. One test per group of rows (an
 * initializer, or the algorithm=mlx rows), and a self-test that the checks
 * fail for parameters one percent off.
 */
#include "../support/harness.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char group[24];
    int perturb; /* 1: parameters 1% off; the script then exits 0 only if every row failed */
} stats_case;

static stats_case stats_cases[] = {
    {"glorot_uniform", 0}, {"he_uniform", 0}, {"uniform", 0},          {"glorot_normal", 0},
    {"he_normal", 0},      {"normal", 0},     {"truncated_normal", 0}, {"mlx", 0},
    {"uniform", 1},        {"he_normal", 1},  {"truncated_normal", 1},
};

/* Runs the script; its report goes to a file, printed when the outcome is wrong. */
static int run_stats(const stats_case *c, char *log, size_t size)
{
    char script[512];
    int fd;

    snprintf(script, sizeof script, "%s/py/check_stats.py", th_env("GLOROT_TESTS"));
    snprintf(log, size, "/tmp/glorot-stats-%s-%d-XXXXXX", c->group, c->perturb);
    fd = mkstemp(log);
    cr_assert(fd >= 0);
    close(fd);
    const char *argv[] = {th_env("GLOROT_PYTHON"),
                          script,
                          "--glorot",
                          th_env("GLOROT_BIN"),
                          "--group",
                          c->group,
                          c->perturb ? "--perturb" : NULL,
                          NULL};
    return th_run(argv, log, 900);
}

static void print_file(const char *path)
{
    size_t len;
    unsigned char *text = th_read_file(path, &len);

    if (text != NULL)
        fprintf(stderr, "%s", (const char *)text);
    free(text);
}

ParameterizedTestParameters(stats, groups)
{
    return cr_make_param_array(stats_case, stats_cases, sizeof stats_cases / sizeof stats_cases[0]);
}

ParameterizedTest(stats_case *c, stats, groups, .timeout = 1200)
{
    if (TH_UNDER_ASAN)
        cr_skip_test("statistics of 10^6-element samples run in make check, not under ASan");
    char log[128];
    int rc = run_stats(c, log, sizeof log);
    if (rc != 0)
        print_file(log);
    unlink(log);
    cr_assert_eq(rc, 0, "check_stats.py --group %s%s exited %d; its report is above", c->group,
                 c->perturb ? " --perturb" : "", rc);
}
