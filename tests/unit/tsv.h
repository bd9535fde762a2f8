/*
 * tsv.h - reading the known-answer files in $GLOROT_TESTS/data for the unit
 * tests (each unit test is one .c file, so this is header-only).
 * Lines starting with '#' are comments (the source of the vectors); the
 * first other line is the header; then one data row per line. Also the
 * shape text the vectors use ("64,3,7,7"), in files and in C tables alike.
 */
#ifndef GLOROT_TEST_TSV_H
#define GLOROT_TEST_TSV_H

#include "glorot_proto.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 4096

static inline FILE *tsv_open(const char *file)
{
    const char *dir = getenv("GLOROT_TESTS");
    char path[1024];
    FILE *f;

    cr_assert(dir != NULL, "GLOROT_TESTS is not set (run through make test-unit)");
    cr_assert(snprintf(path, sizeof path, "%s/data/%s", dir, file) < (int)sizeof path);
    f = fopen(path, "r");
    cr_assert(f != NULL, "cannot open %s: %s", path, strerror(errno));
    return f;
}

/* Data row idx (0-based) of file into line. Fails the test when missing. */
static inline void data_row(const char *file, size_t idx, char *line, size_t cap)
{
    FILE *f = tsv_open(file);
    size_t row = 0;
    int header_seen = 0;

    while (fgets(line, (int)cap, f) != NULL) {
        if (line[0] == '#')
            continue;
        if (!header_seen) {
            header_seen = 1;
            continue;
        }
        if (row++ == idx) {
            fclose(f);
            line[strcspn(line, "\r\n")] = '\0';
            return;
        }
    }
    fclose(f);
    cr_assert_fail("%s has no data row %zu", file, idx);
}

/* Number of data rows (header and comments not counted). */
static inline size_t data_rows(const char *file)
{
    char line[LINE_MAX_LEN];
    size_t n = 0;
    FILE *f = tsv_open(file);

    while (fgets(line, sizeof line, f) != NULL)
        if (line[0] != '#' && line[0] != '\n')
            n++;
    fclose(f);
    return n - 1; /* header */
}

/* Split line at tabs into at most max fields; returns the count. */
static inline size_t fields(char *line, char **out, size_t max)
{
    size_t n = 0;
    char *p = line;

    while (n < max) {
        out[n++] = p;
        p = strchr(p, '\t');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
    return n;
}

/* "64,3,7,7" -> shape[]; returns the rank. */
static inline size_t parse_shape(const char *s, uint64_t *shape)
{
    size_t rank = 0;

    while (*s != '\0') {
        char *end;
        cr_assert(rank < GP_MAX_RANK);
        shape[rank++] = strtoull(s, &end, 10);
        cr_assert(end != s, "bad shape %s", s);
        s = *end == ',' ? end + 1 : end;
    }
    return rank;
}

/* ---- MLX initializer rows (mlx_family.tsv, mlx_family2.tsv) ---------------- */

#define MLX_ROW_PAIRS 16

/* A row of either file as request parameters, in the protocol's names: up to
 * MLX_ROW_PAIRS key/value pairs into key[]/value[] (pointing into line, which
 * is split in place); returns their count and sets *want to the values' hex.
 * mlx_family.tsv: init mode seed shape gain dtype values (key mode; mode = He's
 * fan); mlx_family2.tsv: init params mode call seed shape dtype sha256 bytes
 * values (params "k=v;k=v" with He's "fan" as "mode"; no seed: 0). */
static inline size_t mlx_row_params(const char *file, char *line, const char **key,
                                    const char **value, const char **want)
{
    char *f[11];
    size_t n = 0;
#define MLX_PAIR(k, v) (key[n] = (k), value[n] = (v), n++)
    if (strcmp(file, "mlx_family.tsv") == 0) {
        cr_assert_eq(fields(line, f, 8), 7);
        MLX_PAIR("init", f[0]);
        MLX_PAIR("algorithm", "mlx");
        if (strcmp(f[1], "-") != 0)
            MLX_PAIR("mode", f[1]);
        MLX_PAIR("seed", f[2]);
        MLX_PAIR("shape", f[3]);
        MLX_PAIR("gain", f[4]);
        MLX_PAIR("dtype", f[5]);
        *want = f[6];
        return n;
    }
    cr_assert_eq(fields(line, f, 11), 10);
    MLX_PAIR("init", f[0]);
    for (char *save = NULL, *kv = strcmp(f[1], "-") ? strtok_r(f[1], ";", &save) : NULL;
         kv != NULL && n < MLX_ROW_PAIRS - 5; kv = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(kv, '=');
        cr_assert_not_null(eq, "parameter %s", kv);
        *eq = '\0';
        MLX_PAIR(strcmp(kv, "fan") == 0 ? "mode" : kv, eq + 1);
    }
    if (strcmp(f[2], "-") != 0)
        MLX_PAIR("algorithm", strcmp(f[2], "seeded") == 0 ? "mlx-seeded" : "mlx");
    if (strcmp(f[3], "-") != 0)
        MLX_PAIR("call", f[3]);
    MLX_PAIR("seed", strcmp(f[4], "-") != 0 ? f[4] : "0");
    MLX_PAIR("shape", f[5]);
    MLX_PAIR("dtype", f[6]);
#undef MLX_PAIR
    *want = f[9];
    return n;
}

#endif
