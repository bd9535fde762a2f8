/*
 * log.c - access log and notes on stderr.
 */
#include "log.h"
#include "glorot_proto.h"

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

/* The seconds of the last time formatted, per thread: strftime and the time
 * zone lookup behind gmtime_r cost ~5% of a small answer when done per line. */
static _Thread_local struct {
    time_t sec;
    char text[24]; /* "2025-05-20T12:00:00" */
    size_t len;
} clock_text = {(time_t)-1, "", 0};

/* "2025-05-20T12:00:00.123Z" into out (at least 32 bytes); returns the length. */
static size_t iso_time(char *out)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != clock_text.sec) {
        struct tm tm;
        gmtime_r(&now.tv_sec, &tm);
        clock_text.len =
            strftime(clock_text.text, sizeof clock_text.text, "%Y-%m-%dT%H:%M:%S", &tm);
        clock_text.sec = now.tv_sec;
    }
    unsigned ms = (unsigned)(now.tv_nsec / 1000000L);
    size_t n = clock_text.len;
    memcpy(out, clock_text.text, n);
    out[n++] = '.';
    out[n++] = (char)('0' + ms / 100);
    out[n++] = (char)('0' + ms / 10 % 10);
    out[n++] = (char)('0' + ms % 10);
    out[n++] = 'Z';
    out[n] = '\0';
    return n;
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

/* Microseconds since start, rounded. */
static uint64_t elapsed_us(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ns =
        (int64_t)(now.tv_sec - start->tv_sec) * 1000000000 + (now.tv_nsec - start->tv_nsec);
    return ns > 0 ? ((uint64_t)ns + 500) / 1000 : 0;
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

static void access_json(const gd_access *a, const char *when, const char *rid, uint64_t us)
{
    char line[LINE_MAX_BYTES], remote[96], method[96], path[1100], id[4 * GD_REQUEST_ID_MAX];
    gd_log_json_escape(a->remote, remote, sizeof remote);
    gd_log_json_escape(a->method, method, sizeof method);
    gd_log_json_escape(a->path, path, sizeof path);
    gd_log_json_escape(rid, id, sizeof id);
    int n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s\",\"event\":\"access\",\"remote\":\"%s\",\"method\":\"%s\","
                     "\"path\":\"%s\",\"status\":%u,\"bytes\":%llu,\"duration_ms\":%llu.%03u,"
                     "\"request_id\":\"%s\"}\n",
                     when, remote, method, path, a->status, (unsigned long long)a->bytes,
                     (unsigned long long)(us / 1000), (unsigned)(us % 1000), id);
    emit(line, sizeof line, n);
}

/* The text line is the one every request writes: built by copying, not by
 * snprintf, which with its float conversion cost ~4% of a small answer. */
typedef struct {
    char *p;
    size_t len, cap;
} line_buf;

static void put(line_buf *b, const char *s, size_t n)
{
    if (n > b->cap - b->len)
        n = b->cap - b->len;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_str(line_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_u64(line_buf *b, uint64_t v, unsigned min_digits)
{
    char text[GP_U64_TEXT_MAX];
    put(b, text, gp_u64_text(v, min_digits, text));
}

void gd_log_access(const gd_access *a)
{
    char line[LINE_MAX_BYTES], when[32];
    const char *rid = a->request_id != NULL ? a->request_id : "-";
    size_t when_len = iso_time(when);
    uint64_t us = elapsed_us(&a->start);
    if (log_format == GD_LOG_JSON) {
        access_json(a, when, rid, us);
        return;
    }
    /* "%s %s %s %s %u %llu %llu.%03llums %s\n"; the fields are bounded, and
     * a line that would not fit is cut and still ends with a newline. */
    line_buf b = {line, 0, sizeof line - 1};
    put(&b, when, when_len);
    put(&b, " ", 1);
    put_str(&b, a->remote);
    put(&b, " ", 1);
    put_str(&b, a->method);
    put(&b, " ", 1);
    put_str(&b, a->path);
    put(&b, " ", 1);
    put_u64(&b, a->status, 1);
    put(&b, " ", 1);
    put_u64(&b, a->bytes, 1);
    put(&b, " ", 1);
    put_u64(&b, us / 1000, 1);
    put(&b, ".", 1);
    put_u64(&b, us % 1000, 3);
    put(&b, "ms ", 3);
    put_str(&b, rid);
    line[b.len++] = '\n';
    write_all(line, b.len);
}

/* Request ids come from a per-thread ChaCha20 stream keyed once from the
 * system's generator: a getrandom(2) call per request cost ~3% of a small
 * answer. Ids need to be unique, not secret; these are also unpredictable. */
static _Thread_local struct {
    unsigned char key[crypto_stream_chacha20_KEYBYTES];
    uint64_t nonce; /* one per refill of buf */
    unsigned char buf[256];
    size_t used;
    int keyed;
} ids;

static void random_id(unsigned char out[16])
{
    if (!ids.keyed) {
        randombytes_buf(ids.key, sizeof ids.key);
        ids.used = sizeof ids.buf;
        ids.keyed = 1;
    }
    if (ids.used == sizeof ids.buf) {
        unsigned char nonce[crypto_stream_chacha20_NONCEBYTES];
        for (size_t i = 0; i < sizeof nonce; i++)
            nonce[i] = (unsigned char)(ids.nonce >> (8 * i));
        crypto_stream_chacha20(ids.buf, sizeof ids.buf, nonce, ids.key);
        ids.nonce++;
        ids.used = 0;
    }
    memcpy(out, ids.buf + ids.used, 16);
    ids.used += 16;
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
    random_id(raw);
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
    char text[LINE_MAX_BYTES / 2], escaped[LINE_MAX_BYTES - 128], line[LINE_MAX_BYTES], when[32];
    if (vsnprintf(text, sizeof text, fmt, ap) < 0)
        return;
    gd_log_json_escape(text, escaped, sizeof escaped);
    iso_time(when);
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
        char prefix[64], when[32];
        iso_time(when);
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
