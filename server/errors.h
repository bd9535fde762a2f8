/*
 * errors.h - HTTP error replies: status, stable code, offending parameter and
 * a message, rendered as {"error": {"code", "message", "param"}}.
 */
#ifndef GLOROTD_ERRORS_H
#define GLOROTD_ERRORS_H

#include "glorot_proto.h"

typedef struct {
    unsigned status; /* HTTP status; 0 = no error yet */
    char code[32];   /* "invalid_parameter", "bad_json", ... */
    char param[32];  /* "" when none applies */
    char message[256];
} gd_error;

/* Record an error; the first one wins (a set e->status is kept). Returns -1. */
int gd_fail(gd_error *e, unsigned status, const char *code, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* HTTP status for a proto error code (400, 422, 413, 500). */
unsigned gd_status_for(gp_code code);

/* Convert a proto error (code != GP_OK). Returns -1. */
int gd_fail_gp(gd_error *e, const gp_error *g);

/* The JSON error body, NUL-terminated, malloc'd: free() it. NULL when out
 * of memory. Invalid UTF-8 in message or param is replaced by '?'. */
char *gd_error_json(const gd_error *e);

#endif
