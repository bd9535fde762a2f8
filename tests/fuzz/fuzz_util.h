/*
 * fuzz_util.h - what the libFuzzer harnesses in tests/fuzz share: the query
 * split the way libmicrohttpd does it, and the checks every finished request
 * must pass (canonical form round trip, ETag, body bytes).
 *
 * Header-only (static functions): each harness is one .c file linked with
 * proto and a few server objects (tests/fuzz/fuzz.mk). A check that fails
 * calls fz_fail, which aborts: libFuzzer records the input as a crash.
 */
#ifndef GLOROT_FUZZ_UTIL_H
#define GLOROT_FUZZ_UTIL_H

#include "glorot_proto.h"

#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_MAX_INPUT 4096 /* longer inputs are cut: the caps of the parsers are far below */

static inline void fz_fail(const char *what)
{
    fprintf(stderr, "fuzz check failed: %s\n", what);
    abort();
}

#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fz_fail(#cond);                                                                        \
    } while (0)

/* Called for each key=value pair with the unescaped bytes; nonzero stops. */
typedef int (*fz_pair_fn)(void *user, const char *key, size_t key_len, const char *value,
                          size_t value_len);

/* Split text (len bytes) at '&' and the first '=' of each piece, turn '+'
 * into ' ' and percent-decode both halves with MHD_http_unescape, as
 * libmicrohttpd 0.9.75 does for GET arguments. Returns what the last fn call returned (0 = all). */
static inline int fz_query_each(const char *text, size_t len, fz_pair_fn fn, void *user)
{
    char piece[FZ_MAX_INPUT + 1];
    size_t start = 0;
    while (start <= len) {
        const char *amp = memchr(text + start, '&', len - start);
        size_t n = amp ? (size_t)(amp - (text + start)) : len - start;
        if (n > FZ_MAX_INPUT)
            n = FZ_MAX_INPUT;
        memcpy(piece, text + start, n);
        piece[n] = '\0';
        start += n + 1;
        if (n == 0 || memchr(piece, '\0', n) != NULL)
            continue; /* MHD sees a C string: nothing past a NUL */
        char *eq = strchr(piece, '=');
        char *value = eq ? eq + 1 : piece + n;
        if (eq)
            *eq = '\0';
        for (char *c = piece; c < piece + n; c++)
            if (*c == '+') /* MHD_unescape_plus, before percent-decoding */
                *c = ' ';
        size_t kl = MHD_http_unescape(piece);
        size_t vl = MHD_http_unescape(value);
        int rc = fn(user, piece, kl, value, vl);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static inline int fz_set_pair(void *user, const char *key, size_t key_len, const char *value,
                              size_t value_len)
{
    gp_error err = {0};
    gp_code rc = gp_request_set(user, key, key_len, value, value_len, &err);
    if (rc != GP_OK) {
        FZ_CHECK(err.message[0] != '\0');
        return 1;
    }
    return 0;
}

/* Read the first and (binary formats) last bytes of the body; the sizes must
 * add up. */
static inline void fz_read_body(const gp_request *r)
{
    static gp_body body; /* large (two 4 KiB buffers): not on the stack */
    gp_error err = {0};
    unsigned char buf[512];
    if (gp_body_init(&body, r, &err) != GP_OK) {
        FZ_CHECK(err.message[0] != '\0');
        return;
    }
    uint64_t size = gp_body_size(&body);
    if (r->format == GP_FORMAT_JSON) {
        FZ_CHECK(size == GP_SIZE_UNKNOWN);
        size_t got = gp_body_read(&body, 0, buf, sizeof buf);
        FZ_CHECK(got > 0 && buf[0] == (r->format == GP_FORMAT_JSON ? '{' : buf[0]));
        return;
    }
    FZ_CHECK(size == body.data_offset + r->out_nbytes);
    size_t want = size < sizeof buf ? (size_t)size : sizeof buf;
    FZ_CHECK(gp_body_read(&body, 0, buf, sizeof buf) == want);
    FZ_CHECK(gp_body_read(&body, size - want, buf, sizeof buf) == want);
    FZ_CHECK(gp_body_read(&body, size, buf, sizeof buf) == 0);
}

static inline void fz_finished(const gp_request *r, char canonical[GP_CANONICAL_MAX],
                               char etag[GP_ETAG_MAX])
{
    gp_error err = {0};
    char part[GP_PART_TEXT_MAX], file[GP_PART_TEXT_MAX + 200], own[GP_ETAG_MAX];
    FZ_CHECK(gp_canonical(r, canonical, GP_CANONICAL_MAX, &err) == GP_OK);
    FZ_CHECK(gp_etag(r, canonical, etag, &err) == GP_OK);
    FZ_CHECK(gp_etag(r, NULL, own, &err) == GP_OK && strcmp(own, etag) == 0);
    FZ_CHECK(strlen(etag) == 34 && etag[0] == '"' && etag[33] == '"');
    FZ_CHECK(gp_part_text(r, part, sizeof part) < sizeof part);
    FZ_CHECK(gp_filename(r, file, sizeof file) < sizeof file);
    for (const char *p = canonical; *p; p++)
        FZ_CHECK(*p > 0x20 && *p < 0x7f);
    for (const char *p = file; *p; p++)
        FZ_CHECK(*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\');
}

/* A finished request: canonical form, ETag and file name are well-formed,
 * the canonical form asks for the same bytes (parsed again, it gives the
 * same canonical form and ETag), and the body reads consistently. */
static inline void fz_check_finished(const gp_request *r, const gp_limits *lim)
{
    static gp_request again;
    char canonical[GP_CANONICAL_MAX], etag[GP_ETAG_MAX];
    char canonical2[GP_CANONICAL_MAX], etag2[GP_ETAG_MAX];
    gp_error err = {0};
    fz_finished(r, canonical, etag);
    gp_request_init(&again);
    FZ_CHECK(fz_query_each(canonical, strlen(canonical), fz_set_pair, &again) == 0);
    FZ_CHECK(gp_request_finish(&again, lim, &err) == GP_OK);
    fz_finished(&again, canonical2, etag2);
    FZ_CHECK(strcmp(canonical, canonical2) == 0);
    FZ_CHECK(strcmp(etag, etag2) == 0);
    FZ_CHECK(again.out_nbytes == r->out_nbytes);
    fz_read_body(r);
}

#endif
