/*
 * format_number.c - exact conversions for the json format.
 *
 * Half and bfloat16 are handled as bit patterns with integer arithmetic, so
 * the results do not depend on the compiler's floating-point code.
 */
#include "format/format_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* A small binary float (sign, e_bits exponent bits, m_bits fraction bits) as
 * a double. Every such value is exact in double. */
static double small_to_double(uint16_t h, unsigned e_bits, unsigned m_bits)
{
    unsigned e_max = (1u << e_bits) - 1;
    int bias = (int)(e_max >> 1);
    unsigned e = (h >> m_bits) & e_max;
    unsigned m = h & ((1u << m_bits) - 1);
    double v;
    if (e == e_max)
        v = m != 0 ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp((double)m, 1 - bias - (int)m_bits);
    else
        v = ldexp((double)(m | (1u << m_bits)), (int)e - bias - (int)m_bits);
    return (h >> (e_bits + m_bits)) != 0 ? -v : v;
}

double gpi_f16_to_double(uint16_t h)
{
    return small_to_double(h, 5, 10);
}

double gpi_bf16_to_double(uint16_t h)
{
    return small_to_double(h, 8, 7);
}

/* m >> s rounded to nearest, ties to even (1 <= s). */
static uint64_t shift_round_even(uint64_t m, unsigned s)
{
    if (s >= 64)
        return 0; /* m < 2^53: far below half a unit */
    uint64_t q = m >> s;
    uint64_t rem = m & ((UINT64_C(1) << s) - 1);
    uint64_t half = UINT64_C(1) << (s - 1);
    if (rem > half || (rem == half && (q & 1) != 0))
        q++;
    return q;
}

/*
 * Round a double to a small binary float with e_bits/m_bits. The value is
 * m * 2^(e - 52) with a 53-bit m; it becomes n units of the target's ulp at
 * that exponent (the subnormal ulp below the normal range). Adding n to the
 * exponent field lets a carry out of the fraction bump the exponent, and
 * the largest finite value round up to infinity, for free.
 */
static uint16_t small_from_double(double d, unsigned e_bits, unsigned m_bits)
{
    uint64_t u = double_bits(d);
    uint16_t sign = (uint16_t)((u >> 63) << (e_bits + m_bits));
    unsigned e_max = (1u << e_bits) - 1;
    int bias = (int)(e_max >> 1);
    uint16_t inf = (uint16_t)(e_max << m_bits);
    int de = (int)((u >> 52) & 0x7FF);
    uint64_t frac = u & ((UINT64_C(1) << 52) - 1);
    if (de == 0x7FF)
        return (uint16_t)(sign | inf | (frac != 0 ? 1u << (m_bits - 1) : 0));
    if (de == 0)
        return sign; /* zero or a double subnormal: far below the target's range */
    int e = de - 1023;
    if (e > bias)
        return (uint16_t)(sign | inf);
    uint64_t m = frac | (UINT64_C(1) << 52);
    int e_min = 1 - bias;
    uint64_t n;
    uint64_t field;
    if (e >= e_min) {
        n = shift_round_even(m, 52 - m_bits); /* in [2^m, 2^(m+1)] */
        field = ((uint64_t)(e + bias) << m_bits) + n - (UINT64_C(1) << m_bits);
    } else {
        n = shift_round_even(m, (unsigned)(52 - m_bits + (e_min - e))); /* subnormal units */
        field = n;
    }
    if (field >= inf)
        return (uint16_t)(sign | inf);
    return (uint16_t)(sign | field);
}

uint16_t gpi_f16_from_double(double d)
{
    return small_from_double(d, 5, 10);
}

uint16_t gpi_bf16_from_double(double d)
{
    return small_from_double(d, 8, 7);
}

/* ---- shortest decimal ------------------------------------------------------ */

typedef struct {
    gp_dtype dtype;
    uint64_t bits; /* the element's bits, zero-extended */
    double value;  /* its exact value */
} element;

static element read_element(gp_dtype d, const unsigned char *p)
{
    element x = {d, 0, 0.0};
    size_t size = gp_dtype_size(d);
    for (size_t i = 0; i < size; i++)
        x.bits |= (uint64_t)p[i] << (8 * i);
    switch (d) {
    case GP_FLOAT32: {
        uint32_t b = (uint32_t)x.bits;
        float f;
        memcpy(&f, &b, sizeof f);
        x.value = f;
        break;
    }
    case GP_FLOAT16:
        x.value = gpi_f16_to_double((uint16_t)x.bits);
        break;
    case GP_BFLOAT16:
        x.value = gpi_bf16_to_double((uint16_t)x.bits);
        break;
    case GP_FLOAT64:
        memcpy(&x.value, &x.bits, sizeof x.value);
        break;
    }
    return x;
}

/* Does text, read the way a client reads it, give back x's bits? */
static int reads_back(const element *x, const char *text)
{
    switch (x->dtype) {
    case GP_FLOAT32: {
        float f = strtof(text, NULL);
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        return b == (uint32_t)x->bits;
    }
    case GP_FLOAT16:
        return gpi_f16_from_double(strtod(text, NULL)) == (uint16_t)x->bits;
    case GP_BFLOAT16:
        return gpi_bf16_from_double(strtod(text, NULL)) == (uint16_t)x->bits;
    case GP_FLOAT64:
        return double_bits(strtod(text, NULL)) == x->bits;
    }
    return 0;
}

static size_t put(char out[GPI_NUMBER_MAX], const char *s)
{
    size_t n = strlen(s);
    memcpy(out, s, n + 1);
    return n;
}

size_t gpi_shortest(gp_dtype d, const unsigned char *elem, char out[GPI_NUMBER_MAX])
{
    element x = read_element(d, elem);
    if (!isfinite(x.value))
        return put(out, "null");
    if (x.value == 0.0)
        return put(out, signbit(x.value) ? "-0.0" : "0");
    /* "%.17g" is exact for a double, so it reads back whatever the dtype. */
    for (int p = 1; p <= 17; p++) {
        int n = snprintf(out, GPI_NUMBER_MAX, "%.*g", p, x.value);
        if (n > 0 && n < GPI_NUMBER_MAX && (p >= 17 || reads_back(&x, out)))
            return (size_t)n;
    }
    return put(out, "null"); /* unreachable: "%.17g" of a double fits and is exact */
}
