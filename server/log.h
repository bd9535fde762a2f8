/*
 * log.h - glorotd's stderr: one access-log line per request, startup and
 * shutdown notes. Each line is formatted first and written with one write(2)
 * so lines from worker threads never interleave. Text lines by default; with
 * --log-format=json every line is one JSON object (docs/OPERATIONS.md).
 */
#ifndef GLOROTD_LOG_H
#define GLOROTD_LOG_H

#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct {
    const char *remote; /* client address, numeric */
    const char *method;
    const char *path;       /* without the query; bytes outside printable ASCII are escaped */
    unsigned status;        /* 0 when no response was queued */
    uint64_t bytes;         /* body bytes handed to the connection */
    struct timespec start;  /* CLOCK_MONOTONIC when the request headers arrived */
    const char *request_id; /* NULL = "-" */
} gd_access;

/* Choose text or JSON lines. Process-wide: call once, before any thread
 * starts (docs/GLOBAL_STATE.md). */
void gd_log_set_format(gd_log_format f);

/* Text: "2025-05-20T12:00:00.123Z 127.0.0.1 GET /v1/glorot_uniform 200 1048576 12.345ms ID"
 * JSON: {"ts":"...","event":"access","remote":"127.0.0.1","method":"GET",
 *        "path":"/v1/glorot_uniform","status":200,"bytes":1048576,
 *        "duration_ms":12.345,"request_id":"ID"} */
void gd_log_access(const gd_access *a);

/* Longest request id kept from an X-Request-Id header. */
#define GD_REQUEST_ID_MAX 128

/* The request id for a request: given (an X-Request-Id value, may be NULL)
 * when it is 1..GD_REQUEST_ID_MAX characters of A-Z a-z 0-9 - _ . : / + = @ ~,
 * else 32 random hex digits. out holds GD_REQUEST_ID_MAX + 1 bytes. */
void gd_request_id(const char *given, char out[GD_REQUEST_ID_MAX + 1]);

/* Copy src into out (size bytes) as the inside of a JSON string: '"', '\\'
 * and bytes below 0x20 escaped; truncated with "..." beyond size. */
void gd_log_json_escape(const char *src, char *out, size_t size);

/* A free-form line prefixed with the time and "glorotd: "
 * (JSON: {"ts":"...","event":"note","message":"..."}). */
void gd_log_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* A line exactly as given plus a newline (the startup line); in JSON, a note
 * with "event":"start". */
void gd_log_line(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* libmicrohttpd's error log: a note prefixed "mhd: ", trailing newline dropped. */
void gd_log_mhd(void *cls, const char *fmt, va_list ap);

/* Copy src into out (size bytes) escaping bytes outside 0x21..0x7e and '\\'
 * as \xHH; truncates with "..." beyond size. */
void gd_log_escape(const char *src, char *out, size_t size);

#endif
