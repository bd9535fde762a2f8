/*
 * gain.c - the `gain` parameter: a strict decimal number >= 0 or a
 * nonlinearity name from PyTorch's calculate_gain, and its canonical text
 * (names as given, numbers in the shortest form that reads back exactly).
 */
#include "glorot_proto.h"
#include "request_internal.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUMBER_TEXT_MAX 64 /* longest gain / slope text accepted */
#define LEAKY_DEFAULT_SLOPE 0.01

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

typedef enum { NUM_OK, NUM_SYNTAX, NUM_TOO_LONG, NUM_INFINITE, NUM_NOMEM } num_status;

/* Strict decimal to the nearest double. Underflow to a subnormal or zero is
 * the correctly rounded value and is accepted; overflow is NUM_INFINITE. */
static num_status parse_number(const char *s, size_t n, int allow_minus, double *out)
{
    char buf[NUMBER_TEXT_MAX + 1];
    if (n > NUMBER_TEXT_MAX)
        return NUM_TOO_LONG;
    if (!number_syntax_ok(s, n, allow_minus))
        return NUM_SYNTAX;
    memcpy(buf, s, n);
    buf[n] = '\0';
    c_numeric loc;
    if (c_numeric_enter(&loc) != 0)
        return NUM_NOMEM;
    char *end = NULL;
    double d = strtod(buf, &end);
    c_numeric_leave(&loc);
    if (end != buf + n)
        return NUM_SYNTAX;
    if (!isfinite(d))
        return NUM_INFINITE;
    *out = d;
    return NUM_OK;
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
static gp_code format_shortest(double x, char *out, size_t cap, gp_error *err)
{
    decimal d;
    if (shortest_decimal(x, &d) != 0)
        return gp_fail(err, GP_ENOMEM, "gain", "gain: cannot create the C numeric locale");
    text_buf b = {out, 0, cap, 0};
    out[0] = '\0';
    if (d.negative)
        tb_putc(&b, '-');
    if (d.exp >= -4 && d.exp < 16)
        render_plain(&b, &d);
    else
        render_exponent(&b, &d);
    double back = 0;
    if (b.overflow || parse_number(out, b.len, 1, &back) != NUM_OK || !same_bits(back, x))
        return gp_fail(err, GP_EINTERNAL, "gain",
                       "gain: canonical text of the value did not round-trip");
    return GP_OK;
}

/* ---- gain ------------------------------------------------------------------ */

/* PyTorch's torch.nn.init.calculate_gain, evaluated the same way. */
typedef struct {
    char name[20];
    double num, den;
    int root; /* gain = root ? sqrt(num / den) : num / den */
} gain_name;

static const gain_name gain_names[] = {
    {"linear", 1.0, 1, 0},
    {"conv1d", 1.0, 1, 0},
    {"conv2d", 1.0, 1, 0},
    {"conv3d", 1.0, 1, 0},
    {"conv_transpose1d", 1.0, 1, 0},
    {"conv_transpose2d", 1.0, 1, 0},
    {"conv_transpose3d", 1.0, 1, 0},
    {"sigmoid", 1.0, 1, 0},
    {"tanh", 5.0, 3, 0},
    {"relu", 2.0, 1, 1},
    {"selu", 3.0, 4, 0},
};

#define GAIN_ALLOWED                                                                               \
    "use a number >= 0 or linear, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, "    \
    "conv_transpose3d, sigmoid, tanh, relu, selu, leaky_relu[:SLOPE]"

static gp_code gain_fail(const char *what, const char *v, size_t n, gp_error *err)
{
    return gp_fail(err, GP_EPARAM, "gain", "gain: \"%s\" %s; " GAIN_ALLOWED, gpi_quote(v, n).text,
                   what);
}

static double leaky_relu_gain(double slope)
{
    return sqrt(2.0 / (1.0 + slope * slope));
}

static gp_code gain_leaky(double *gain, char *spec, size_t cap, const char *v, size_t n,
                          gp_error *err)
{
    static const char prefix[] = "leaky_relu:";
    const size_t plen = sizeof prefix - 1;
    if (n == plen - 1) {
        *gain = leaky_relu_gain(LEAKY_DEFAULT_SLOPE);
        snprintf(spec, cap, "leaky_relu");
        return GP_OK;
    }
    double slope = 0;
    num_status st = parse_number(v + plen, n - plen, 1, &slope);
    if (st == NUM_NOMEM)
        return gp_fail(err, GP_ENOMEM, "gain", "gain: cannot create the C numeric locale");
    if (st != NUM_OK)
        return gp_fail(err, GP_EPARAM, "gain",
                       "gain: leaky_relu slope \"%s\" is not a finite decimal number of at most "
                       "%d characters, e.g. leaky_relu:0.2",
                       gpi_quote(v + plen, n - plen).text, NUMBER_TEXT_MAX);
    memcpy(spec, prefix, plen + 1);
    gp_code rc = format_shortest(slope, spec + plen, cap - plen, err);
    if (rc == GP_OK)
        *gain = leaky_relu_gain(slope);
    return rc;
}

static int is_leaky(const char *v, size_t n)
{
    return (n == 10 && memcmp(v, "leaky_relu", 10) == 0) ||
           (n > 11 && memcmp(v, "leaky_relu:", 11) == 0);
}

static gp_code gain_from_name(double *gain, char *spec, size_t cap, const char *v, size_t n,
                              gp_error *err)
{
    if (is_leaky(v, n))
        return gain_leaky(gain, spec, cap, v, n, err);
    if (n == 11 && memcmp(v, "leaky_relu:", 11) == 0)
        return gp_fail(err, GP_EPARAM, "gain",
                       "gain: leaky_relu: needs a slope, e.g. leaky_relu:0.2");
    for (size_t i = 0; i < sizeof gain_names / sizeof gain_names[0]; i++) {
        const gain_name *g = &gain_names[i];
        if (strlen(g->name) == n && memcmp(g->name, v, n) == 0) {
            *gain = g->root ? sqrt(g->num / g->den) : g->num / g->den;
            snprintf(spec, cap, "%s", g->name);
            return GP_OK;
        }
    }
    return gain_fail("is not a known nonlinearity", v, n, err);
}

static gp_code gain_from_number(double *gain, char *spec, size_t cap, const char *v, size_t n,
                                gp_error *err)
{
    if (v[0] == '-')
        return gain_fail("is negative", v, n, err);
    double x = 0;
    switch (parse_number(v, n, 0, &x)) {
    case NUM_OK:
        break;
    case NUM_TOO_LONG:
        return gp_fail(err, GP_EPARAM, "gain",
                       "gain: is longer than %d characters; use a plain decimal number such as 0.5",
                       NUMBER_TEXT_MAX);
    case NUM_INFINITE:
        return gain_fail("is too large (not a finite double)", v, n, err);
    case NUM_NOMEM:
        return gp_fail(err, GP_ENOMEM, "gain", "gain: cannot create the C numeric locale");
    case NUM_SYNTAX:
    default:
        return gain_fail("is not a plain decimal number", v, n, err);
    }
    gp_code rc = format_shortest(x, spec, cap, err);
    if (rc == GP_OK)
        *gain = x;
    return rc;
}

gp_code gpi_parse_gain(const char *v, size_t n, double *gain, char *spec, size_t cap, gp_error *err)
{
    if (n == 0)
        return gp_fail(err, GP_EPARAM, "gain", "gain: is empty; " GAIN_ALLOWED);
    if (v[0] >= 'a' && v[0] <= 'z')
        return gain_from_name(gain, spec, cap, v, n, err);
    return gain_from_number(gain, spec, cap, v, n, err);
}
