/*
 * auth.c - bearer tokens (see auth.h).
 */
#include "auth.h"

#include "files.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DIGEST_BYTES crypto_generichash_BYTES /* 32: BLAKE2b-256 */

struct gd_auth {
    size_t count;
    unsigned char digest[GD_TOKENS_MAX][DIGEST_BYTES];
};

static void digest_of(const char *token, size_t len, unsigned char out[DIGEST_BYTES])
{
    crypto_generichash(out, DIGEST_BYTES, (const unsigned char *)token, len, NULL, 0);
}

static int b64token_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("-._~+/", ch) != NULL;
}

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int valid_token(const char *t, size_t len)
{
    size_t i = 0;
    while (i < len && t[i] != '\0' && b64token_char((unsigned char)t[i]))
        i++;
    if (i == 0)
        return 0;
    while (i < len && t[i] == '=')
        i++;
    return i == len;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

/* One line [p, p+n): 0 = ignored, 1 = token added, -1 = bad (msg set). */
static int parse_line(gd_auth *a, const char *p, size_t n, size_t line, char *msg, size_t msg_size)
{
    while (n > 0 && is_space(*p)) {
        p++;
        n--;
    }
    while (n > 0 && is_space(p[n - 1]))
        n--;
    if (n == 0 || p[0] == '#')
        return 0;
    if (n < GD_TOKEN_MIN || n > GD_TOKEN_MAX || !valid_token(p, n)) {
        snprintf(msg, msg_size,
                 "line %zu: a token is %d to %d characters of A-Z a-z 0-9 - . _ ~ + / "
                 "(then optional '=')",
                 line, GD_TOKEN_MIN, GD_TOKEN_MAX);
        return -1;
    }
    if (a->count == GD_TOKENS_MAX) {
        snprintf(msg, msg_size, "line %zu: more than %d tokens", line, GD_TOKENS_MAX);
        return -1;
    }
    digest_of(p, n, a->digest[a->count++]);
    return 1;
}

gd_auth *gd_auth_parse(const char *text, size_t len, char *msg, size_t msg_size)
{
    gd_auth *a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(msg, msg_size, "out of memory");
        return NULL;
    }
    size_t line = 1;
    for (size_t start = 0; start < len; line++) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (parse_line(a, text + start, end - start, line, msg, msg_size) < 0) {
            gd_auth_free(a);
            return NULL;
        }
        start = end + 1;
    }
    if (a->count == 0) {
        snprintf(msg, msg_size, "no tokens (only blank lines and comments)");
        gd_auth_free(a);
        return NULL;
    }
    return a;
}

gd_auth *gd_auth_load(const char *path, int *loose, char *msg, size_t msg_size)
{
    size_t len = 0;
    char why[400];
    char *text = gd_file_read(path, GD_TOKEN_FILE_MAX, &len, loose, msg, msg_size);
    if (text == NULL)
        return NULL;
    gd_auth *a = gd_auth_parse(text, len, why, sizeof why);
    gd_file_wipe(text, len);
    if (a == NULL)
        snprintf(msg, msg_size, "%.300s: %s", path, why);
    return a;
}

size_t gd_auth_count(const gd_auth *a)
{
    return a != NULL ? a->count : 0;
}

gd_auth_result gd_auth_check(const gd_auth *a, const char *authorization)
{
    if (authorization == NULL)
        return GD_AUTH_MISSING;
    const char *p = authorization;
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return GD_AUTH_INVALID;
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0 || n > GD_TOKEN_MAX)
        return GD_AUTH_INVALID;
    unsigned char d[DIGEST_BYTES];
    digest_of(p, n, d);
    int match = 0;
    for (size_t i = 0; i < a->count; i++) /* no early exit: same work whichever matches */
        match |= sodium_memcmp(d, a->digest[i], DIGEST_BYTES) == 0;
    sodium_memzero(d, sizeof d);
    return match ? GD_AUTH_OK : GD_AUTH_INVALID;
}

void gd_auth_free(gd_auth *a)
{
    if (a == NULL)
        return;
    sodium_memzero(a, sizeof *a);
    free(a);
}
