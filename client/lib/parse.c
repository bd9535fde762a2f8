/*
 * parse.c - strict decimal numbers (doubles) for header values and CLI text.
 * Integers are gp_parse_u64 and shapes gp_shape_text (proto/base/text.c).
 */
#include "client_internal.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
