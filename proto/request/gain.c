/*
 * gain.c - the `gain` parameter: a strict decimal number >= 0 or a
 * nonlinearity name from PyTorch's calculate_gain, and its canonical text
 * (names as given, numbers in the shortest form that reads back exactly).
 */
#include "glorot_proto.h"
#include "request/request_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define LEAKY_DEFAULT_SLOPE 0.01

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
    gpi_real_status st = gpi_parse_real(v + plen, n - plen, 1, &slope);
    if (st == GPI_REAL_NOMEM)
        return gp_fail(err, GP_ENOMEM, "gain", "gain: cannot create the C numeric locale");
    if (st != GPI_REAL_OK)
        return gp_fail(err, GP_EPARAM, "gain",
                       "gain: leaky_relu slope \"%s\" is not a finite decimal number of at most "
                       "%d characters, e.g. leaky_relu:0.2",
                       gpi_quote(v + plen, n - plen).text, GPI_REAL_TEXT_MAX);
    memcpy(spec, prefix, plen + 1);
    gp_code rc = gpi_real_format(slope, spec + plen, cap - plen, "gain", err);
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
    switch (gpi_parse_real(v, n, 0, &x)) {
    case GPI_REAL_OK:
        break;
    case GPI_REAL_TOO_LONG:
        return gp_fail(err, GP_EPARAM, "gain",
                       "gain: is longer than %d characters; use a plain decimal number such as 0.5",
                       GPI_REAL_TEXT_MAX);
    case GPI_REAL_INFINITE:
        return gain_fail("is too large (not a finite double)", v, n, err);
    case GPI_REAL_NOMEM:
        return gp_fail(err, GP_ENOMEM, "gain", "gain: cannot create the C numeric locale");
    case GPI_REAL_SYNTAX:
    default:
        return gain_fail("is not a plain decimal number", v, n, err);
    }
    gp_code rc = gpi_real_format(x, spec, cap, "gain", err);
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
