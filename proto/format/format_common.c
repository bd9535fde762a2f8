/*
 * format_common.c - bounded text building and JSON string escaping for the
 * format encoders. Nothing here allocates.
 */
#include "format/format_internal.h"

#include <stdio.h>
#include <string.h>

void gpi_text_init(gpi_text *t, void *mem, size_t cap)
{
    t->p = mem;
    t->cap = cap;
    t->len = 0;
    t->overflow = 0;
}

void gpi_text_mem(gpi_text *t, const void *s, size_t n)
{
    if (t->overflow)
        return;
    if (n > t->cap - t->len) {
        t->overflow = 1;
        return;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

void gpi_text_str(gpi_text *t, const char *s)
{
    gpi_text_mem(t, s, strlen(s));
}

size_t gp_u64_text(uint64_t v, unsigned min_digits, char out[GP_U64_TEXT_MAX])
{
    char digits[GP_U64_TEXT_MAX - 1];
    size_t n = 0;
    if (min_digits > sizeof digits)
        min_digits = sizeof digits;
    do {
        digits[sizeof digits - 1 - n] = (char)('0' + v % 10);
        v /= 10;
        n++;
    } while (v != 0 || n < min_digits);
    memcpy(out, digits + sizeof digits - n, n);
    out[n] = '\0';
    return n;
}

void gpi_text_u64(gpi_text *t, uint64_t v)
{
    char text[GP_U64_TEXT_MAX];
    gpi_text_mem(t, text, gp_u64_text(v, 1, text));
}

size_t gpi_text_export(const gpi_text *t, char *out, size_t size)
{
    if (size > 0) {
        size_t n = t->len < size ? t->len : size - 1;
        memcpy(out, t->p, n);
        out[n] = '\0';
    }
    return t->len;
}

void gpi_text_spaces(gpi_text *t, size_t n)
{
    if (t->overflow)
        return;
    if (n > t->cap - t->len) {
        t->overflow = 1;
        return;
    }
    memset(t->p + t->len, ' ', n);
    t->len += n;
}

void gpi_text_g17(gpi_text *t, double v)
{
    char s[40];
    int n = snprintf(s, sizeof s, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof s) {
        t->overflow = 1;
        return;
    }
    gpi_text_mem(t, s, (size_t)n);
}

/* Length of the valid UTF-8 sequence starting at s[0] (at most n bytes), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

static void escape_byte(gpi_text *t, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"':
        gpi_text_str(t, "\\\"");
        return;
    case '\\':
        gpi_text_str(t, "\\\\");
        return;
    case '\n':
        gpi_text_str(t, "\\n");
        return;
    case '\r':
        gpi_text_str(t, "\\r");
        return;
    case '\t':
        gpi_text_str(t, "\\t");
        return;
    default:
        break;
    }
    if (c < 0x20 || c == 0x7F) {
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        gpi_text_mem(t, u, sizeof u);
        return;
    }
    gpi_text_mem(t, &c, 1);
}

gp_code gpi_text_json_string(gpi_text *t, const char *s, size_t n, const char *param, gp_error *err)
{
    const unsigned char *u = (const unsigned char *)s;
    gpi_text_str(t, "\"");
    for (size_t i = 0; i < n;) {
        size_t len = utf8_sequence(u + i, n - i);
        if (len == 0)
            return gp_fail(err, GP_EPARAM, param, "%s is not valid UTF-8 (byte %zu)", param, i);
        if (len == 1)
            escape_byte(t, u[i]);
        else
            gpi_text_mem(t, u + i, len);
        i += len;
    }
    gpi_text_str(t, "\"");
    return GP_OK;
}

unsigned gpi_algorithm_version(gp_algorithm a)
{
    return a == GP_ALG_CHACHA20 ? GP_CHACHA20_VERSION : GP_MLX_VERSION;
}
