/*
 * log.c - access log and notes on stderr.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048

static void write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n <= 0)
            return; /* nothing sensible to do when stderr is gone */
        buf += n;
        len -= (size_t)n;
    }
}

/* "2025-05-20T12:00:00.123Z" */
static void iso_time(char *out, size_t size)
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03ldZ", now.tv_nsec / 1000000L);
}

void gd_log_escape(const char *src, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p != '\0'; p++) {
        int plain = *p > 0x20 && *p < 0x7f && *p != '\\';
        size_t need = plain ? 1 : 4;
        if (o + need + 4 > size) { /* room for "..." and NUL */
            memcpy(out + o, "...", 4);
            return;
        }
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

static double elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

void gd_log_access(const gd_access *a)
{
    char line[LINE_MAX_BYTES], when[40];
    iso_time(when, sizeof when);
    int n = snprintf(line, sizeof line, "%s %s %s %s %u %llu %.3fms\n", when, a->remote, a->method,
                     a->path, a->status, (unsigned long long)a->bytes, elapsed_ms(&a->start));
    if (n <= 0)
        return;
    if ((size_t)n >= sizeof line) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    write_all(line, (size_t)n);
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
    char line[LINE_MAX_BYTES];
    size_t n = strlen(prefix);
    if (n >= sizeof line)
        return;
    memcpy(line, prefix, n);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    if (m < 0)
        return;
    n += (size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2;
    line[n++] = '\n';
    write_all(line, n);
}

void gd_log_note(const char *fmt, ...)
{
    char prefix[64], when[40];
    iso_time(when, sizeof when);
    snprintf(prefix, sizeof prefix, "%s glorotd: ", when);
    va_list ap;
    va_start(ap, fmt);
    vlog(prefix, fmt, ap);
    va_end(ap);
}

void gd_log_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("", fmt, ap);
    va_end(ap);
}

void gd_log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char text[LINE_MAX_BYTES / 2];
    int n = vsnprintf(text, sizeof text, fmt, ap);
    if (n < 0)
        return;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    gd_log_note("mhd: %s", text);
}
