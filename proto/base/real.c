/*
 * real.c - decimal numbers on the wire: the strict parser every real-valued
 * parameter goes through (gain, low, high, mean, std, a, b, value) and the
 * shortest text that reads back as the same double (canonical forms and
 * headers), both in the C locale whatever the embedding program set.
 */
#include "base/real_internal.h"
#include "base/text_internal.h"
#include "glorot_proto.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- C-locale numbers ------------------------------------------------------ */

/* strtod and printf's %e follow LC_NUMERIC; a program embedding the client
 * library may have set a locale with a decimal comma, so number conversion
 * runs under a thread-local "C" locale. */
typedef struct {
    locale_t c, prev;
} c_numeric;

static int c_numeric_enter(c_numeric *s)
{
    s->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (s->c == (locale_t)0)
        return -1;
    s->prev = uselocale(s->c);
    if (s->prev == (locale_t)0) {
        freelocale(s->c);
        return -1;
    }
    return 0;
}

static void c_numeric_leave(c_numeric *s)
{
    uselocale(s->prev);
    freelocale(s->c);
}

/* [-] (D+ [. D*] | . D+) [(e|E) [+|-] D+], the minus only if allowed. */
static int number_syntax_ok(const char *s, size_t n, int allow_minus)
{
    size_t i = (allow_minus && n > 0 && s[0] == '-') ? 1 : 0;
    size_t int_end = gpi_skip_digits(s, n, i), frac_end = int_end;
    if (int_end < n && s[int_end] == '.')
        frac_end = gpi_skip_digits(s, n, int_end + 1);
    size_t mantissa_digits = (int_end - i) + (frac_end > int_end ? frac_end - int_end - 1 : 0);
    if (mantissa_digits == 0)
        return 0;
    i = frac_end;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_end = gpi_skip_digits(s, n, i);
        if (exp_end == i)
            return 0;
        i = exp_end;
    }
    return i == n;
}

/* Strict decimal to the nearest double. Underflow to a subnormal or zero is
 * the correctly rounded value and is accepted; overflow is GPI_REAL_INFINITE. */
gpi_real_status gpi_parse_real(const char *s, size_t n, int allow_minus, double *out)
{
    char buf[GPI_REAL_TEXT_MAX + 1];
    if (n > GPI_REAL_TEXT_MAX)
        return GPI_REAL_TOO_LONG;
    if (!number_syntax_ok(s, n, allow_minus))
        return GPI_REAL_SYNTAX;
    memcpy(buf, s, n);
    buf[n] = '\0';
    c_numeric loc;
    if (c_numeric_enter(&loc) != 0)
        return GPI_REAL_NOMEM;
    char *end = NULL;
    double d = strtod(buf, &end);
    c_numeric_leave(&loc);
    if (end != buf + n)
        return GPI_REAL_SYNTAX;
    if (!isfinite(d))
        return GPI_REAL_INFINITE;
    *out = d;
    return GPI_REAL_OK;
}

int gp_parse_real(const char *s, size_t n, double *out)
{
    return gpi_parse_real(s, n, 1, out) == GPI_REAL_OK ? 0 : -1;
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Decimal digits and exponent of x: x = d[0].d[1..] * 10^exp. */
typedef struct {
    int negative;
    char digits[20];
    size_t ndigits;
    int exp;
} decimal;

/* Split printf's "%.*e" text ("-1.2345e+06") into a decimal. */
static void split_e_format(const char *t, decimal *d)
{
    d->negative = *t == '-';
    t += d->negative;
    d->ndigits = 0;
    for (; *t != 'e' && *t != '\0'; t++)
        if (gpi_is_digit(*t) && d->ndigits < sizeof d->digits)
            d->digits[d->ndigits++] = *t;
    int sign = 1, e = 0;
    if (*t == 'e')
        t++;
    if (*t == '-' || *t == '+')
        sign = *t++ == '-' ? -1 : 1;
    for (; gpi_is_digit(*t); t++)
        e = e * 10 + (*t - '0');
    d->exp = sign * e;
    while (d->ndigits > 1 && d->digits[d->ndigits - 1] == '0')
        d->ndigits--;
}

/* The fewest significant digits (1..17) that read back as x. */
static int shortest_decimal(double x, decimal *d)
{
    char t[40];
    c_numeric loc;
    if (c_numeric_enter(&loc) != 0)
        return -1;
    for (int p = 1; p <= 17; p++) {
        snprintf(t, sizeof t, "%.*e", p - 1, x);
        if (same_bits(strtod(t, NULL), x))
            break;
    }
    c_numeric_leave(&loc);
    split_e_format(t, d);
    return 0;
}

typedef struct {
    char *p;
    size_t len, cap;
    int overflow;
} text_buf;

static void tb_putc(text_buf *b, char c)
{
    if (b->len + 1 >= b->cap) {
        b->overflow = 1;
        return;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

static void tb_puts(text_buf *b, const char *s)
{
    for (; *s != '\0'; s++)
        tb_putc(b, *s);
}

/* Plain notation, as Python's repr uses for -4 <= exp < 16: "100", "0.0025". */
static void render_plain(text_buf *b, const decimal *d)
{
    if (d->exp < 0) {
        tb_puts(b, "0.");
        for (int z = -1; z > d->exp; z--)
            tb_putc(b, '0');
        for (size_t i = 0; i < d->ndigits; i++)
            tb_putc(b, d->digits[i]);
        return;
    }
    size_t int_digits = (size_t)d->exp + 1;
    for (size_t i = 0; i < int_digits; i++)
        tb_putc(b, i < d->ndigits ? d->digits[i] : '0');
    if (d->ndigits > int_digits)
        tb_putc(b, '.');
    for (size_t i = int_digits; i < d->ndigits; i++)
        tb_putc(b, d->digits[i]);
}

/* Exponent notation, as Python's repr: "1e+16", "1.5e-07". */
static void render_exponent(text_buf *b, const decimal *d)
{
    tb_putc(b, d->digits[0]);
    if (d->ndigits > 1)
        tb_putc(b, '.');
    for (size_t i = 1; i < d->ndigits; i++)
        tb_putc(b, d->digits[i]);
    tb_putc(b, 'e');
    tb_putc(b, d->exp < 0 ? '-' : '+');
    unsigned e = (unsigned)(d->exp < 0 ? -d->exp : d->exp);
    if (e >= 100)
        tb_putc(b, (char)('0' + e / 100));
    tb_putc(b, (char)('0' + e / 10 % 10));
    tb_putc(b, (char)('0' + e % 10));
}

/* Shortest round-trip text of a finite x into out (NUL-terminated), checked
 * by reading it back through the same strict parser the input went through. */
gp_code gpi_real_format(double x, char *out, size_t cap, const char *param, gp_error *err)
{
    decimal d;
    if (shortest_decimal(x, &d) != 0)
        return gp_fail(err, GP_ENOMEM, param, "%s: cannot create the C numeric locale", param);
    text_buf b = {out, 0, cap, 0};
    out[0] = '\0';
    if (d.negative)
        tb_putc(&b, '-');
    if (d.exp >= -4 && d.exp < 16)
        render_plain(&b, &d);
    else
        render_exponent(&b, &d);
    double back = 0;
    if (b.overflow || gpi_parse_real(out, b.len, 1, &back) != GPI_REAL_OK || !same_bits(back, x))
        return gp_fail(err, GP_EINTERNAL, param,
                       "%s: canonical text of the value did not round-trip", param);
    return GP_OK;
}

gp_code gpi_real_json_text(double x, char out[GPI_JSON_REAL_TEXT_MAX], const char *param,
                           gp_error *err)
{
    c_numeric loc;
    if (c_numeric_enter(&loc) != 0)
        return gp_fail(err, GP_ENOMEM, param, "%s: cannot create the C numeric locale", param);
    int n = snprintf(out, GPI_JSON_REAL_TEXT_MAX, "%.17g", x);
    c_numeric_leave(&loc);
    if (n > 0 && (size_t)n + 3 <= GPI_JSON_REAL_TEXT_MAX && strpbrk(out, ".eEni") == NULL)
        memcpy(out + n, ".0", 3); /* "inf" and "nan" contain 'n' or 'i' */
    return GP_OK;
}

size_t gp_real_text(double x, char out[GP_REAL_TEXT_MAX])
{
    if (!isfinite(x) || gpi_real_format(x, out, GP_REAL_TEXT_MAX, "", NULL) != GP_OK)
        snprintf(out, GP_REAL_TEXT_MAX, "%.17g", x); /* no C locale: still a number */
    return strlen(out);
}
