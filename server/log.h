/*
 * log.h - glorotd's stderr: one access-log line per request, startup and
 * shutdown notes. Each line is formatted first and written with one write(2)
 * so lines from worker threads never interleave.
 */
#ifndef GLOROTD_LOG_H
#define GLOROTD_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct {
    const char *remote; /* client address, numeric */
    const char *method;
    const char *path;      /* without the query; bytes outside printable ASCII are escaped */
    unsigned status;       /* 0 when no response was queued */
    uint64_t bytes;        /* body bytes handed to the connection */
    struct timespec start; /* CLOCK_MONOTONIC when the request headers arrived */
} gd_access;

/* "2025-05-20T12:00:00.123Z 127.0.0.1 GET /v1/glorot_uniform 200 1048576 12.345ms" */
void gd_log_access(const gd_access *a);

/* A free-form line prefixed with the time and "glorotd: ". */
void gd_log_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* A line exactly as given plus a newline (the startup line). */
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
