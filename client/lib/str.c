/*
 * str.c - a small growable, capped, NUL-terminated byte string.
 */
#include "client_internal.h"

#include <stdlib.h>
#include <string.h>

void glorotp_str_init(glorotp_str *s, size_t max)
{
    s->data = NULL;
    s->len = 0;
    s->cap = 0;
    s->max = max != 0 ? max : SIZE_MAX / 2;
}

void glorotp_str_free(glorotp_str *s)
{
    free(s->data);
    s->data = NULL;
    s->len = 0;
    s->cap = 0;
}

static int reserve(glorotp_str *s, size_t extra)
{
    if (extra > s->max - s->len)
        return -1;
    size_t need = s->len + extra + 1;
    if (need <= s->cap)
        return 0;
    size_t cap = s->cap != 0 ? s->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *grown = realloc(s->data, cap);
    if (grown == NULL)
        return -1;
    s->data = grown;
    s->cap = cap;
    return 0;
}

int glorotp_str_add(glorotp_str *s, const char *text, size_t len)
{
    if (reserve(s, len) != 0)
        return -1;
    if (len > 0)
        memcpy(s->data + s->len, text, len);
    s->len += len;
    s->data[s->len] = '\0';
    return 0;
}

int glorotp_str_adds(glorotp_str *s, const char *text)
{
    return glorotp_str_add(s, text, strlen(text));
}

int glorotp_str_addu64(glorotp_str *s, uint64_t v)
{
    char digits[24];
    size_t n = sizeof digits;
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return glorotp_str_add(s, digits + n, sizeof digits - n);
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int glorotp_str_add_escaped(glorotp_str *s, const char *text, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
        int rc = unreserved(c) ? glorotp_str_add(s, (const char *)&text[i], 1)
                               : glorotp_str_add(s, esc, sizeof esc);
        if (rc != 0)
            return -1;
    }
    return 0;
}
