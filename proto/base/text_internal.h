/*
 * text_internal.h - the text toolkit's helpers private to proto/ (prefix gpi_):
 * digits, sanitised quoting for error messages, UTF-8 sequences, and a
 * bounded text builder with JSON string escaping and shape joining. The
 * public part (gp_parse_u64, gp_u64_text, gp_shape_text) is in glorot_proto.h.
 * Everything is in base/text.c; nothing here allocates.
 */
#ifndef GLOROT_TEXT_INTERNAL_H
#define GLOROT_TEXT_INTERNAL_H

#include "glorot_proto.h"

#include <stddef.h>
#include <stdint.h>

/* ---- digits and UTF-8 -------------------------------------------------------- */

/* ASCII decimal digit; index of the first non-digit in s[i..n). */
int gpi_is_digit(char c);
size_t gpi_skip_digits(const char *s, size_t n, size_t i);

/* Length of the well-formed UTF-8 sequence at s[0..n) (n >= 1; RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF), or 0 if it is malformed. */
size_t gpi_utf8_sequence(const unsigned char *s, size_t n);

/* ---- quoting untrusted bytes in error messages ------------------------------- */

/* Untrusted bytes made safe for an error message: printable ASCII other than
 * '"' and '\' is kept, every other byte becomes \xNN; at most max characters,
 * then "..." if input remains. out (cap bytes) is always NUL-terminated. */
#define GPI_QUOTE_MAX 40
void gpi_quote_into(char *out, size_t cap, size_t max, const char *s, size_t n);

typedef struct {
    char text[GPI_QUOTE_MAX + 8];
} gpi_quoted;

/* gpi_quote_into with max GPI_QUOTE_MAX, returned by value for use inside a
 * gp_fail argument list. */
gpi_quoted gpi_quote(const char *s, size_t n);

/* ---- bounded text ------------------------------------------------------------- */

/* Text written into caller memory. Once an append does not fit, `overflow`
 * is set, len stops growing and later appends do nothing. */
typedef struct {
    unsigned char *p;
    size_t cap;
    size_t len;
    int overflow;
} gpi_text;

void gpi_text_init(gpi_text *t, void *mem, size_t cap);
void gpi_text_mem(gpi_text *t, const void *s, size_t n);
void gpi_text_str(gpi_text *t, const char *s);
void gpi_text_u64(gpi_text *t, uint64_t v);
void gpi_text_spaces(gpi_text *t, size_t n);
/* Copy the text to out as a NUL-terminated string, truncated to size - 1
 * bytes (snprintf-like); returns the text's length. */
size_t gpi_text_export(const gpi_text *t, char *out, size_t size);
/* "%.17g" of a finite double: reads back as exactly the same double. */
void gpi_text_g17(gpi_text *t, double v);
/* s[0..n) as a quoted JSON string. GP_EPARAM (param `param`) when s is not
 * valid UTF-8; escapes '"', '\\' and every control character. */
gp_code gpi_text_json_string(gpi_text *t, const char *s, size_t n, const char *param,
                             gp_error *err);

/* How gpi_text_shape writes the dimensions 2 and 3. */
typedef enum {
    GPI_SHAPE_PLAIN,  /* 2,3         (the shape= parameter, headers) */
    GPI_SHAPE_JSON,   /* [2,3]       (safetensors, json) */
    GPI_SHAPE_PYTHON, /* (2, 3)      a Python tuple: (2,) and () too (npy) */
} gpi_shape_style;

void gpi_text_shape(gpi_text *t, const uint64_t *dims, size_t rank, gpi_shape_style style);

#endif /* GLOROT_TEXT_INTERNAL_H */
