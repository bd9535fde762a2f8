/*
 * errors.h - HTTP error replies: status, stable code, offending parameter and
 * a message, rendered as {"error": {"code", "message", "param"}}.
 */
#ifndef GLOROTD_ERRORS_H
#define GLOROTD_ERRORS_H

#include "glorot_proto.h"

/* Every error glorotd answers with: one row each of server/errors.c's
 * gd_errors table, the one list of statuses and codes (docs/PROTOCOL.md). */
typedef enum {
    GD_ERR_INVALID_PARAMETER,
    GD_ERR_BAD_JSON,
    GD_ERR_UNAUTHORIZED,
    GD_ERR_INVALID_TOKEN,
    GD_ERR_NOT_FOUND,
    GD_ERR_METHOD_NOT_ALLOWED,
    GD_ERR_NOT_ACCEPTABLE,
    GD_ERR_LENGTH_REQUIRED,
    GD_ERR_PRECONDITION_FAILED,
    GD_ERR_TOO_LARGE,
    GD_ERR_BODY_TOO_LARGE,
    GD_ERR_UNSUPPORTED_MEDIA_TYPE,
    GD_ERR_RANGE_NOT_SATISFIABLE,
    GD_ERR_UNSUPPORTED,
    GD_ERR_TOO_MANY_REQUESTS,
    GD_ERR_OUT_OF_MEMORY,
    GD_ERR_INTERNAL,
    GD_ERR_BUSY,
    GD_ERR_SHUTTING_DOWN,
    GD_ERR_COUNT
} gd_err;

typedef struct {
    unsigned status;       /* HTTP status */
    const char *code;      /* the stable code in the JSON body */
    const char *message;   /* the message gd_fail_plain sends */
    const char *challenge; /* WWW-Authenticate (RFC 6750), or NULL */
    unsigned retry_after;  /* Retry-After seconds, 0 for none */
} gd_error_kind;

typedef struct {
    unsigned status;           /* HTTP status; 0 = no error yet */
    char code[32];             /* "invalid_parameter", "bad_json", ... */
    char param[32];            /* "" when none applies */
    char message[256];         /* NUL-terminated */
    const gd_error_kind *kind; /* its row of gd_errors; NULL until an error */
} gd_error;

/* The row of kind (kind < GD_ERR_COUNT). */
const gd_error_kind *gd_error_kind_of(gd_err kind);

/* Record an error of kind; the first one wins (a set e->status is kept).
 * Returns -1. */
int gd_fail(gd_error *e, gd_err kind, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* gd_fail with the kind's own message. Returns -1. */
int gd_fail_plain(gd_error *e, gd_err kind, const char *param);

/* HTTP status for a proto error code (400, 422, 413, 500). */
unsigned gd_status_for(gp_code code);

/* Convert a proto error (code != GP_OK). Returns -1. */
int gd_fail_gp(gd_error *e, const gp_error *g);

/* The JSON error body, NUL-terminated, malloc'd: free() it. NULL when out
 * of memory. Invalid UTF-8 in message or param is replaced by '?'. */
char *gd_error_json(const gd_error *e);

#endif
