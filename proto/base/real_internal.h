/*
 * real_internal.h - decimal numbers (real.c): the strict parser and the
 * texts of doubles. Private to proto/ (prefix gpi_); gp_parse_real and
 * gp_real_text are the public faces.
 */
#ifndef GLOROT_REAL_INTERNAL_H
#define GLOROT_REAL_INTERNAL_H

#include "glorot_proto.h"

#include <stddef.h>

#define GPI_REAL_TEXT_MAX 64 /* longest number text accepted */

typedef enum {
    GPI_REAL_OK,
    GPI_REAL_SYNTAX,
    GPI_REAL_TOO_LONG,
    GPI_REAL_INFINITE,
    GPI_REAL_NOMEM
} gpi_real_status;

/* Strict decimal s[0..n) to the nearest double: [-] (D+ [. D*] | . D+)
 * [(e|E) [+|-] D+], the minus only if allow_minus, at most GPI_REAL_TEXT_MAX
 * characters, C locale. Underflow to a subnormal or zero is the correctly
 * rounded value and is accepted; overflow is GPI_REAL_INFINITE. */
gpi_real_status gpi_parse_real(const char *s, size_t n, int allow_minus, double *out);

/* The shortest round-trip text of a finite x into out (cap bytes,
 * NUL-terminated), plain for exponents -4..15 and e-notation otherwise, as
 * Python's repr; checked by reading it back. Errors name param. */
gp_code gpi_real_format(double x, char *out, size_t cap, const char *param, gp_error *err);

/* A JSON real as gp_request_set text: "%.17g" in the C locale, plus ".0"
 * when that would read as an integer, so 42.0 stays a real (a seed of 42.0
 * is refused, not read as 42). GP_ENOMEM naming param when the C locale
 * cannot be made. */
#define GPI_JSON_REAL_TEXT_MAX 32
gp_code gpi_real_json_text(double x, char out[GPI_JSON_REAL_TEXT_MAX], const char *param,
                           gp_error *err);

#endif /* GLOROT_REAL_INTERNAL_H */
