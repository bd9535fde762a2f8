/*
 * text.c - the text and number toolkit under the rest of proto/: the one
 * strict integer parser, the one UTF-8 check, decimal and shape text,
 * sanitised quoting for error messages, and the bounded text builder the
 * encoders write with. Nothing here allocates or does I/O.
 */
#include "base/text_internal.h"
#include "glorot_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- digits ------------------------------------------------------------------ */

int gpi_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

size_t gpi_skip_digits(const char *s, size_t n, size_t i)
{
    while (i < n && gpi_is_digit(s[i]))
        i++;
    return i;
}

gp_u64_status gp_parse_u64(const char *s, size_t n, uint64_t min, uint64_t max, size_t max_len,
                           uint64_t *out)
{
    if (n == 0)
        return GP_U64_EMPTY;
    if (gpi_skip_digits(s, n, 0) != n)
        return GP_U64_SYNTAX;
    if (max_len != 0 && n > max_len)
        return GP_U64_LONG;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (digit > max || v > (max - digit) / 10)
            return GP_U64_RANGE;
        v = v * 10 + digit;
    }
    if (v < min)
        return GP_U64_RANGE;
    *out = v;
    return GP_U64_OK;
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

/* ---- UTF-8 ------------------------------------------------------------------- */

size_t gpi_utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (c == 0xe0)
        lo = 0xa0; /* overlong 3-byte */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong 4-byte */
    else if (c == 0xf4)
        hi = 0x8f; /* above U+10FFFF */
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* ---- sanitised quoting --------------------------------------------------------- */

static const char hex_digits[] = "0123456789abcdef";

void gpi_quote_into(char *out, size_t cap, size_t max, const char *s, size_t n)
{
    size_t o = 0, i = 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
        size_t need = plain ? 1 : 4;
        if (o + need > max || o + need >= cap)
            break;
        if (plain) {
            out[o++] = (char)c;
            continue;
        }
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex_digits[c >> 4];
        out[o++] = hex_digits[c & 15];
    }
    if (i < n && o + 4 <= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

gpi_quoted gpi_quote(const char *s, size_t n)
{
    gpi_quoted q;
    gpi_quote_into(q.text, sizeof q.text, GPI_QUOTE_MAX, s, n);
    return q;
}

/* ---- bounded text ----------------------------------------------------------------- */

void gpi_text_init(gpi_text *t, void *mem, size_t cap)
{
    t->p = mem;
    t->cap = cap;
    t->len = 0;
    t->overflow = 0;
}

/* Room for n more bytes, or NULL (and overflow from now on) when it does not fit. */
static unsigned char *text_room(gpi_text *t, size_t n)
{
    if (t->overflow)
        return NULL;
    if (n > t->cap - t->len) {
        t->overflow = 1;
        return NULL;
    }
    t->len += n;
    return t->p + t->len - n;
}

void gpi_text_mem(gpi_text *t, const void *s, size_t n)
{
    unsigned char *p = text_room(t, n);
    if (p != NULL)
        memcpy(p, s, n);
}

void gpi_text_str(gpi_text *t, const char *s)
{
    gpi_text_mem(t, s, strlen(s));
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
    unsigned char *p = text_room(t, n);
    if (p != NULL)
        memset(p, ' ', n);
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

/* ---- JSON strings ------------------------------------------------------------------ */

static void escape_byte(gpi_text *t, unsigned char c)
{
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
        char u[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};
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
        size_t len = gpi_utf8_sequence(u + i, n - i);
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

/* ---- shapes ------------------------------------------------------------------------- */

void gpi_text_shape(gpi_text *t, const uint64_t *dims, size_t rank, gpi_shape_style style)
{
    static const char open[] = {'\0', '[', '('}, close[] = {'\0', ']', ')'};
    const char *sep = style == GPI_SHAPE_PYTHON ? ", " : ",";
    if (open[style] != '\0')
        gpi_text_mem(t, &open[style], 1);
    for (size_t i = 0; i < rank; i++) {
        if (i > 0)
            gpi_text_str(t, sep);
        gpi_text_u64(t, dims[i]);
    }
    if (style == GPI_SHAPE_PYTHON && rank == 1)
        gpi_text_str(t, ","); /* (256,): a one-element tuple */
    if (close[style] != '\0')
        gpi_text_mem(t, &close[style], 1);
}

size_t gp_shape_text(const uint64_t *shape, size_t rank, char *out, size_t size)
{
    unsigned char mem[GP_SHAPE_TEXT_MAX];
    gpi_text t;
    if (rank > GP_MAX_RANK)
        abort(); /* misuse: see the contract in glorot_proto.h */
    gpi_text_init(&t, mem, sizeof mem);
    gpi_text_shape(&t, shape, rank, GPI_SHAPE_PLAIN);
    return gpi_text_export(&t, out, size);
}
