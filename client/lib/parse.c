/*
 * parse.c - strict number and shape parsing for header values and CLI text.
 */
#include "client_internal.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int glorotp_parse_u64(const char *text, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        unsigned d = (unsigned)(text[i] - '0');
        if (d > max || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int glorotp_parse_double(const char *text, size_t len, double *out)
{
    char copy[64];
    if (len == 0 || len >= sizeof copy || memchr(text, '\0', len) != NULL)
        return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (copy[0] == ' ' || copy[0] == '\t' || copy[0] == '\n')
        return -1;
    /* Header text is C-locale; the caller's process may have set another. */
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (c == (locale_t)0)
        return -1;
    locale_t old = uselocale(c);
    char *end = NULL;
    errno = 0;
    double v = strtod(copy, &end);
    int bad = errno != 0 || end != copy + len;
    uselocale(old);
    freelocale(c);
    if (bad)
        return -1;
    *out = v;
    return 0;
}

void glorotp_format_shape(const uint64_t *shape, size_t rank, char *out, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < rank && used < size; i++) {
        int n =
            snprintf(out + used, size - used, "%s%llu", i ? "," : "", (unsigned long long)shape[i]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}
