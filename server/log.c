/*
 * log.c - access log and notes on stderr.
 */
#include "log.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048

/* Set once before threads start, read-only afterwards (docs/GLOBAL_STATE.md). */
static gd_log_format log_format = GD_LOG_TEXT;

void gd_log_set_format(gd_log_format f)
{
    log_format = f;
}

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

/* Finish a formatted line of n bytes (snprintf's result): cut at the buffer
 * end with a newline, write it. */
static void emit(char *line, size_t size, int n)
{
    if (n <= 0)
        return;
    if ((size_t)n >= size) {
        n = (int)size - 1;
        line[n - 1] = '\n';
    }
    write_all(line, (size_t)n);
}

void gd_log_json_escape(const char *src, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p != '\0'; p++) {
        int plain = *p >= 0x20 && *p != '"' && *p != '\\';
        size_t need = plain ? 1 : *p == '"' || *p == '\\' ? 2 : 6;
        if (o + need + 4 > size) { /* room for "..." and NUL */
            memcpy(out + o, "...", 4);
            return;
        }
        if (plain) {
            out[o++] = (char)*p;
        } else if (need == 2) {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[*p >> 4];
            out[o + 5] = hex[*p & 15];
            o += 6;
        }
    }
    out[o] = '\0';
}

static void access_json(const gd_access *a, const char *when, const char *rid)
{
    char line[LINE_MAX_BYTES], remote[96], method[96], path[1100], id[4 * GD_REQUEST_ID_MAX];
    gd_log_json_escape(a->remote, remote, sizeof remote);
    gd_log_json_escape(a->method, method, sizeof method);
    gd_log_json_escape(a->path, path, sizeof path);
    gd_log_json_escape(rid, id, sizeof id);
    int n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s\",\"event\":\"access\",\"remote\":\"%s\",\"method\":\"%s\","
                     "\"path\":\"%s\",\"status\":%u,\"bytes\":%llu,\"duration_ms\":%.3f,"
                     "\"request_id\":\"%s\"}\n",
                     when, remote, method, path, a->status, (unsigned long long)a->bytes,
                     elapsed_ms(&a->start), id);
    emit(line, sizeof line, n);
}

void gd_log_access(const gd_access *a)
{
    char line[LINE_MAX_BYTES], when[40];
    const char *rid = a->request_id != NULL ? a->request_id : "-";
    iso_time(when, sizeof when);
    if (log_format == GD_LOG_JSON) {
        access_json(a, when, rid);
        return;
    }
    int n =
        snprintf(line, sizeof line, "%s %s %s %s %u %llu %.3fms %s\n", when, a->remote, a->method,
                 a->path, a->status, (unsigned long long)a->bytes, elapsed_ms(&a->start), rid);
    emit(line, sizeof line, n);
}

static int id_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("-_.:/+=@~", ch) != NULL;
}

void gd_request_id(const char *given, char out[GD_REQUEST_ID_MAX + 1])
{
    size_t n = 0;
    while (given != NULL && n <= GD_REQUEST_ID_MAX && given[n] != '\0' &&
           id_char((unsigned char)given[n]))
        n++;
    if (given != NULL && n > 0 && n <= GD_REQUEST_ID_MAX && given[n] == '\0') {
        memcpy(out, given, n + 1);
        return;
    }
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, GD_REQUEST_ID_MAX + 1, raw, sizeof raw);
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

static void vlog_json(const char *event, const char *fmt, va_list ap)
{
    char text[LINE_MAX_BYTES / 2], escaped[LINE_MAX_BYTES - 128], line[LINE_MAX_BYTES], when[40];
    if (vsnprintf(text, sizeof text, fmt, ap) < 0)
        return;
    gd_log_json_escape(text, escaped, sizeof escaped);
    iso_time(when, sizeof when);
    int n = snprintf(line, sizeof line, "{\"ts\":\"%s\",\"event\":\"%s\",\"message\":\"%s\"}\n",
                     when, event, escaped);
    emit(line, sizeof line, n);
}

void gd_log_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (log_format == GD_LOG_JSON) {
        vlog_json("note", fmt, ap);
    } else {
        char prefix[64], when[40];
        iso_time(when, sizeof when);
        snprintf(prefix, sizeof prefix, "%s glorotd: ", when);
        vlog(prefix, fmt, ap);
    }
    va_end(ap);
}

void gd_log_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (log_format == GD_LOG_JSON)
        vlog_json("start", fmt, ap);
    else
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
