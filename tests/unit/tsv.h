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

#endif
