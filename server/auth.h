/*
 * auth.h - bearer tokens from --token-file.
 *
 * The file holds one token per line; blank lines and lines starting with '#'
 * are ignored, surrounding spaces and a trailing CR are trimmed. A token is
 * 16 to 512 characters of the RFC 6750 b64token alphabet (letters, digits,
 * - . _ ~ + / and trailing '='). Only BLAKE2b-256 digests of the tokens are
 * kept; a presented token is hashed the same way and compared with every
 * digest using sodium_memcmp, so neither its length nor which token matched
 * shows in the timing. Tokens are never logged.
 */
#ifndef GLOROTD_AUTH_H
#define GLOROTD_AUTH_H

#include <stddef.h>

#define GD_TOKEN_MIN 16
#define GD_TOKEN_MAX 512
#define GD_TOKENS_MAX 1024
#define GD_TOKEN_FILE_MAX (1024 * 1024)

typedef struct gd_auth gd_auth;

typedef enum {
    GD_AUTH_OK,      /* a configured token */
    GD_AUTH_MISSING, /* no Authorization header */
    GD_AUTH_INVALID  /* a header that is not "Bearer <one of the tokens>" */
} gd_auth_result;

/* Parse token-file text (len bytes, need not be NUL-terminated). Returns a
 * handle (free with gd_auth_free), or NULL with one line in msg naming the
 * bad line (never its content). Thread-safe; no I/O. */
gd_auth *gd_auth_parse(const char *text, size_t len, char *msg, size_t msg_size);

/* Read and parse the file at path (at most GD_TOKEN_FILE_MAX bytes; the text
 * is wiped after parsing). *loose is set to 1 when group or others may read
 * it. NULL with msg on any error, including a file without tokens. */
gd_auth *gd_auth_load(const char *path, int *loose, char *msg, size_t msg_size);

/* Number of tokens. */
size_t gd_auth_count(const gd_auth *a);

/* Check an Authorization header value (NULL = absent). Scheme "Bearer" in any
 * case, then one or more spaces and the token; trailing spaces allowed.
 * Thread-safe (a is read-only). */
gd_auth_result gd_auth_check(const gd_auth *a, const char *authorization);

/* Wipe the digests and free; NULL does nothing. */
void gd_auth_free(gd_auth *a);

#endif
