/*
 * init.c - the initializers: which parameters each takes, their checks, and
 * the distribution each resolves to.
 *
 * Everything an initializer adds to a request lives here: the table below
 * (one row per wire name, listed by /v1/info and the CLI), the setters of
 * init, mode, low, high, mean, std, a, b and value, and the resolution run
 * by gp_request_finish. The numbers are computed in IEEE double exactly as
 * MLX's python/mlx/nn/init.py does in Python floats (ml-explore/mlx at
 * 846d176227a0ac13d2667e58d2bb68b322109ab0):
 *   glorot_uniform  limit = gain * math.sqrt(6.0 / (fan_in + fan_out))
 *   glorot_normal   std   = gain * math.sqrt(2.0 / (fan_in + fan_out))
 *   he_uniform      limit = gain * math.sqrt(3.0 / fan)
 *   he_normal       std   = gain / math.sqrt(fan)
 * with fan = fan_in or fan_out as `mode` says.
 */
#include "base/names_internal.h"
#include "glorot_proto.h"
#include "request/request_internal.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gp_init_info inits[] = {
    {"glorot_uniform",
     GP_INIT_GLOROT_UNIFORM,
     GP_DIST_UNIFORM,
     1,
     2,
     GP_MAX_RANK,
     {"gain"},
     {"1"},
     NULL},
    {"glorot_normal",
     GP_INIT_GLOROT_NORMAL,
     GP_DIST_NORMAL,
     1,
     2,
     GP_MAX_RANK,
     {"gain"},
     {"1"},
     NULL},
    {"he_uniform",
     GP_INIT_HE_UNIFORM,
     GP_DIST_UNIFORM,
     1,
     2,
     GP_MAX_RANK,
     {"gain", "mode"},
     {"1", "fan_in"},
     NULL},
    {"he_normal",
     GP_INIT_HE_NORMAL,
     GP_DIST_NORMAL,
     1,
     2,
     GP_MAX_RANK,
     {"gain", "mode"},
     {"1", "fan_in"},
     NULL},
    {"uniform",
     GP_INIT_UNIFORM,
     GP_DIST_UNIFORM,
     0,
     1,
     GP_MAX_RANK,
     {"low", "high"},
     {"0", "1"},
     NULL},
    {"normal",
     GP_INIT_NORMAL,
     GP_DIST_NORMAL,
     0,
     1,
     GP_MAX_RANK,
     {"mean", "std"},
     {"0", "1"},
     NULL},
    {"truncated_normal",
     GP_INIT_TRUNCATED_NORMAL,
     GP_DIST_TRUNCATED_NORMAL,
     0,
     1,
     GP_MAX_RANK,
     {"mean", "std", "a", "b"},
     {"0", "1", "-2", "2"},
     NULL},
    {"constant", GP_INIT_CONSTANT, GP_DIST_CONSTANT, 0, 1, GP_MAX_RANK, {"value"}, {"0"}, NULL},
    {"zeros", GP_INIT_CONSTANT, GP_DIST_CONSTANT, 0, 1, GP_MAX_RANK, {NULL}, {NULL}, "constant"},
    {"ones", GP_INIT_CONSTANT, GP_DIST_CONSTANT, 0, 1, GP_MAX_RANK, {NULL}, {NULL}, "constant"},
    {"identity", GP_INIT_IDENTITY, GP_DIST_IDENTITY, 0, 2, 2, {NULL}, {NULL}, NULL},
};

#define INIT_COUNT (sizeof inits / sizeof inits[0])
_Static_assert(INIT_COUNT == GP_INIT_COUNT, "GP_INIT_COUNT counts inits");

/* The initializers' own parameters: every key an initializer may take
 * beyond the common ones, in wire order, with the field a number lands in
 * and its default. gain keeps its text (gain_spec); mode is an enum. */
typedef enum { OWN_GAIN, OWN_MODE, OWN_REAL } own_kind;
static const struct {
    const char *name;
    own_kind kind;
    size_t field; /* OWN_REAL: offsetof the double in gp_request */
    double default_value;
} own_params[] = {
    {"gain", OWN_GAIN, 0, 0.0},
    {"mode", OWN_MODE, 0, 0.0},
    {"low", OWN_REAL, offsetof(gp_request, low), 0.0},
    {"high", OWN_REAL, offsetof(gp_request, high), 1.0},
    {"mean", OWN_REAL, offsetof(gp_request, mean), 0.0},
    {"std", OWN_REAL, offsetof(gp_request, std), 1.0},
    {"a", OWN_REAL, offsetof(gp_request, a), -2.0},
    {"b", OWN_REAL, offsetof(gp_request, b), 2.0},
    {"value", OWN_REAL, offsetof(gp_request, value), 0.0},
};

#define OWN_COUNT (sizeof own_params / sizeof own_params[0])
_Static_assert(OWN_COUNT == GP_INIT_PARAM_COUNT, "GP_INIT_PARAM_COUNT counts own_params");

const char *gp_init_param(size_t i)
{
    return i < OWN_COUNT ? own_params[i].name : NULL;
}

int gp_init_param_names(const char *key, gp_names_of *which)
{
    for (size_t i = 0; i < OWN_COUNT; i++)
        if (own_params[i].kind == OWN_MODE && strcmp(key, own_params[i].name) == 0) {
            *which = GP_NAMES_MODE;
            return 1;
        }
    return 0;
}

static double *own_real(gp_request *r, size_t i)
{
    return (double *)(void *)((char *)r + own_params[i].field);
}

static double own_real_value(const gp_request *r, size_t i)
{
    return *(const double *)(const void *)((const char *)r + own_params[i].field);
}

const gp_init_info *gp_inits(size_t *count)
{
    if (count != NULL)
        *count = INIT_COUNT;
    return inits;
}

const gp_init_info *gp_init_find(const char *name, size_t len)
{
    for (size_t i = 0; i < INIT_COUNT; i++)
        if (strlen(inits[i].name) == len && memcmp(inits[i].name, name, len) == 0)
            return &inits[i];
    return NULL;
}

const char *gp_init_name(gp_initializer i)
{
    for (size_t k = 0; k < INIT_COUNT; k++)
        if (inits[k].init == i && inits[k].alias_of == NULL)
            return inits[k].name;
    return "glorot_uniform";
}

static const gp_init_info *info_of(const gp_request *r)
{
    const gp_init_info *in = gp_init_find(r->init_as, strlen(r->init_as));
    return in != NULL ? in : &inits[0];
}

/* ---- setters ----------------------------------------------------------------------- */

/* "glorot_uniform, ..., ones or identity": every name of gp_inits, aliases in place. */
static const char *init_names(char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < INIT_COUNT && len < cap; i++) {
        int n = snprintf(out + len, cap - len, "%s%s", gpi_list_sep(i, INIT_COUNT), inits[i].name);
        len += n > 0 ? (size_t)n : 0;
    }
    return out;
}

gp_code gpi_set_init(gp_request *r, const char *v, size_t n, gp_error *err)
{
    char names[GPI_NAMES_TEXT_MAX];
    const gp_init_info *in = gp_init_find(v, n);
    if (in == NULL)
        return gp_fail(err, GP_EPARAM, "init", "init: \"%s\" is not an initializer; use %s",
                       gpi_quote(v, n).text, init_names(names, sizeof names));
    r->init = in->init;
    snprintf(r->init_as, sizeof r->init_as, "%s", in->name);
    if (strcmp(in->name, "ones") == 0)
        r->value = 1.0;
    else if (in->alias_of != NULL)
        r->value = 0.0;
    return GP_OK;
}

static gp_code set_real(const char *key, const char *v, size_t n, double *out, gp_error *err)
{
    double x = 0;
    switch (gpi_parse_real(v, n, 1, &x)) {
    case GPI_REAL_OK:
        *out = x;
        return GP_OK;
    case GPI_REAL_TOO_LONG:
        return gp_fail(err, GP_EPARAM, key, "%s: is longer than %d characters; use a plain decimal",
                       key, GPI_REAL_TEXT_MAX);
    case GPI_REAL_INFINITE:
        return gp_fail(err, GP_EPARAM, key, "%s: \"%s\" is too large (not a finite double)", key,
                       gpi_quote(v, n).text);
    case GPI_REAL_NOMEM:
        return gp_fail(err, GP_ENOMEM, key, "%s: cannot create the C numeric locale", key);
    case GPI_REAL_SYNTAX:
        break;
    }
    return gp_fail(err, GP_EPARAM, key,
                   "%s: \"%s\" is not a plain decimal number (e.g. -0.5, 2, 1e-3)", key,
                   gpi_quote(v, n).text);
}

gp_code gpi_set_init_param(gp_request *r, size_t i, const char *v, size_t n, gp_error *err)
{
    int x = 0;
    gp_code rc;
    switch (own_params[i].kind) {
    case OWN_MODE:
        rc = gpi_parse_name(GP_NAMES_MODE, own_params[i].name, v, n, &x, err);
        if (rc == GP_OK)
            r->mode = (gp_mode)x;
        return rc;
    case OWN_REAL:
        return set_real(own_params[i].name, v, n, own_real(r, i), err);
    case OWN_GAIN:
        break;
    }
    abort(); /* gain is request.c's: it never routes it here */
}

void gpi_init_defaults(gp_request *r)
{
    r->init = GP_INIT_GLOROT_UNIFORM;
    snprintf(r->init_as, sizeof r->init_as, "%s", inits[0].name);
    r->mode = GP_MODE_FAN_IN;
    for (size_t i = 0; i < OWN_COUNT; i++)
        if (own_params[i].kind == OWN_REAL)
            *own_real(r, i) = own_params[i].default_value;
}

/* ---- which keys an initializer takes ------------------------------------------------ */

int gpi_init_takes(const gp_init_info *in, const char *key)
{
    for (size_t i = 0; in->params[i] != NULL; i++)
        if (strcmp(in->params[i], key) == 0)
            return 1;
    return 0;
}

/* "gain, mode" or "no parameters of its own". */
static void param_list(const gp_init_info *in, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; in->params[i] != NULL && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i > 0 ? ", " : "", in->params[i]);
    if (in->params[0] == NULL)
        snprintf(out, cap, "no parameters of its own");
}

static gp_code check_keys(const gp_request *r, const gp_init_info *in, gp_error *err)
{
    static const char *const fan_keys[] = {"fan", "fan_in", "fan_out"};
    char list[64];
    param_list(in, list, sizeof list);
    for (size_t i = 0; i < OWN_COUNT; i++) {
        const char *key = own_params[i].name;
        if (gp_request_given(r, key) && !gpi_init_takes(in, key)) {
            if (in->alias_of != NULL)
                return gp_fail(err, GP_EPARAM, key,
                               "%s: %s takes no parameters (it is constant with value %s); use "
                               "init constant to choose the value",
                               key, in->name, r->value == 0.0 ? "0" : "1");
            return gp_fail(err, GP_EPARAM, key, "%s: %s does not take %s; it takes %s", key,
                           in->name, key, list);
        }
    }
    for (size_t i = 0; !in->fans && i < sizeof fan_keys / sizeof fan_keys[0]; i++)
        if (gp_request_given(r, fan_keys[i]))
            return gp_fail(err, GP_EPARAM, fan_keys[i],
                           "%s: %s has no fans; fan, fan_in and fan_out apply to glorot_* and he_*",
                           fan_keys[i], in->name);
    return GP_OK;
}

static gp_code check_rank(const gp_request *r, const gp_init_info *in, gp_error *err)
{
    if (r->rank >= in->min_rank && r->rank <= in->max_rank)
        return GP_OK;
    if (in->init == GP_INIT_IDENTITY)
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: identity needs exactly 2 dimensions, got %zu", r->rank);
    if (in->fans && r->rank == 1)
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: rank 1 is not allowed; %s needs fans, so give 2..%d dimensions",
                       in->name, GP_MAX_RANK);
    return gp_fail(err, GP_EPARAM, "shape", "shape: %s takes %zu..%zu dimensions, got %zu",
                   in->name, in->min_rank, in->max_rank, r->rank);
}

static gp_code check_values(const gp_request *r, gp_error *err)
{
    char x[GP_REAL_TEXT_MAX], y[GP_REAL_TEXT_MAX];
    switch (r->init) {
    case GP_INIT_UNIFORM:
        if (r->low > r->high)
            return gp_fail(err, GP_EPARAM, "low", "low: must be <= high; got low=%s, high=%s",
                           (gp_real_text(r->low, x), x), (gp_real_text(r->high, y), y));
        if (!isfinite(r->high - r->low))
            return gp_fail(err, GP_EPARAM, "high", "high: high - low must be a finite double");
        return GP_OK;
    case GP_INIT_NORMAL:
    case GP_INIT_TRUNCATED_NORMAL:
        if (!(r->std > 0.0))
            return gp_fail(err, GP_EPARAM, "std", "std: must be > 0; got %s",
                           (gp_real_text(r->std, x), x));
        if (r->init == GP_INIT_TRUNCATED_NORMAL && !(r->a < r->b))
            return gp_fail(err, GP_EPARAM, "a", "a: must be < b; got a=%s, b=%s",
                           (gp_real_text(r->a, x), x), (gp_real_text(r->b, y), y));
        if (r->init == GP_INIT_TRUNCATED_NORMAL &&
            !(isfinite((r->a - r->mean) / r->std) && isfinite((r->b - r->mean) / r->std)))
            return gp_fail(err, GP_EPARAM, "std",
                           "std: (a - mean) / std and (b - mean) / std must be finite");
        return GP_OK;
    default:
        return GP_OK;
    }
}

/* A value given in double reaches float dtypes through float32 (MLX's
 * array(float(x)), then astype); it must stay finite on the way. */
static int fits(double v, gp_dtype dtype)
{
    if (!isfinite(v))
        return 0;
    if (dtype == GP_FLOAT64)
        return 1;
    float f = (float)v;
    if (!isfinite(f))
        return 0;
    if (dtype == GP_FLOAT16)
        return fabsf(f) < 65520.0f; /* halfway above 65504 rounds to inf */
    if (dtype == GP_BFLOAT16)
        return fabsf(f) < 0x1.ffp127f; /* halfway above 0x1.fep127 rounds to inf */
    return 1;
}

static gp_code not_fitting(const gp_request *r, const char *key, double v, gp_error *err)
{
    char x[GP_REAL_TEXT_MAX];
    if (strcmp(key, "gain") == 0)
        return gp_fail(err, GP_EPARAM, "gain",
                       "gain: %s gives a %s that is not a finite %s value; use a smaller gain",
                       r->gain_spec, r->dist == GP_DIST_UNIFORM ? "limit" : "std",
                       gp_dtype_name(r->dtype));
    gp_real_text(v, x);
    return gp_fail(err, GP_EPARAM, key, "%s: %s is not a finite %s value", key, x,
                   gp_dtype_name(r->dtype));
}

/* The numbers the generators read, each finite in the dtype. */
static gp_code check_fit(const gp_request *r, gp_error *err)
{
    const char *scale_key = r->init == GP_INIT_GLOROT_UNIFORM || r->init == GP_INIT_HE_UNIFORM ||
                                    r->init == GP_INIT_GLOROT_NORMAL || r->init == GP_INIT_HE_NORMAL
                                ? "gain"
                                : NULL;
    switch (r->dist) {
    case GP_DIST_UNIFORM:
        if (!fits(r->dist_low, r->dtype))
            return not_fitting(r, scale_key ? scale_key : "low", r->dist_low, err);
        if (!fits(r->dist_high, r->dtype))
            return not_fitting(r, scale_key ? scale_key : "high", r->dist_high, err);
        return GP_OK;
    case GP_DIST_TRUNCATED_NORMAL:
        if (!fits(r->dist_a, r->dtype))
            return not_fitting(r, "a", r->dist_a, err);
        if (!fits(r->dist_b, r->dtype))
            return not_fitting(r, "b", r->dist_b, err);
        /* fall through */
    case GP_DIST_NORMAL:
        if (!fits(r->dist_mean, r->dtype))
            return not_fitting(r, "mean", r->dist_mean, err);
        if (!fits(r->dist_std, r->dtype))
            return not_fitting(r, scale_key ? scale_key : "std", r->dist_std, err);
        return GP_OK;
    case GP_DIST_CONSTANT:
        if (!fits(r->dist_value, r->dtype))
            return not_fitting(r, "value", r->dist_value, err);
        return GP_OK;
    case GP_DIST_IDENTITY:
        break;
    }
    return GP_OK;
}

/* The distribution in double. r->fan_in / fan_out are resolved for
 * initializers with fans (0 otherwise). */
static void resolve_dist(gp_request *r)
{
    uint64_t fan = r->mode == GP_MODE_FAN_OUT ? r->fan_out : r->fan_in;
    r->limit = 0.0;
    r->dist_has_mean = 0;
    switch (r->init) {
    case GP_INIT_GLOROT_UNIFORM:
        r->limit = gp_limit(r->gain, r->fan_in, r->fan_out);
        break;
    case GP_INIT_HE_UNIFORM:
        r->limit = r->gain * sqrt(3.0 / (double)fan);
        break;
    case GP_INIT_GLOROT_NORMAL:
        r->dist_std = r->gain * sqrt(2.0 / (double)(r->fan_in + r->fan_out)); /* sum checked */
        break;
    case GP_INIT_HE_NORMAL:
        r->dist_std = r->gain / sqrt((double)fan);
        break;
    case GP_INIT_UNIFORM:
        r->dist_low = r->low;
        r->dist_high = r->high;
        break;
    case GP_INIT_TRUNCATED_NORMAL:
        r->dist_a = r->a;
        r->dist_b = r->b;
        /* fall through */
    case GP_INIT_NORMAL:
        r->dist_mean = r->mean;
        r->dist_std = r->std;
        r->dist_has_mean = 1;
        break;
    case GP_INIT_CONSTANT:
        r->dist_value = r->value;
        break;
    case GP_INIT_IDENTITY:
        break;
    }
    if (r->init == GP_INIT_GLOROT_UNIFORM || r->init == GP_INIT_HE_UNIFORM) {
        r->dist_low = -r->limit;
        r->dist_high = r->limit;
    }
}

gp_code gpi_resolve_init(gp_request *r, gp_error *err)
{
    const gp_init_info *in = info_of(r);
    gp_code rc;
    if ((rc = check_rank(r, in, err)) != GP_OK || (rc = check_keys(r, in, err)) != GP_OK ||
        (rc = check_values(r, err)) != GP_OK)
        return rc;
    r->dist = in->dist;
    if (in->fans && (rc = gpi_resolve_fans(r, err)) != GP_OK)
        return rc;
    if (!in->fans)
        r->fan_in = r->fan_out = 0;
    resolve_dist(r);
    return check_fit(r, err);
}

/* ---- text --------------------------------------------------------------------------- */

typedef struct {
    char *out;
    size_t size, len;
} dist_buf;

static void put(dist_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len < b->size) {
        size_t room = b->size - b->len - 1;
        memcpy(b->out + b->len, s, n < room ? n : room);
        b->out[b->len + (n < room ? n : room)] = '\0';
    }
    b->len += n;
}

static void put_real(dist_buf *b, const char *key, double v)
{
    char x[GP_REAL_TEXT_MAX];
    gp_real_text(v, x);
    put(b, "; ");
    put(b, key);
    put(b, "=");
    put(b, x);
}

size_t gp_dist_text(const gp_request *r, char *out, size_t size)
{
    dist_buf b = {out, size, 0};
    if (size > 0)
        out[0] = '\0';
    put(&b, gp_dist_name(r->dist));
    switch (r->dist) {
    case GP_DIST_UNIFORM:
        put_real(&b, "low", r->dist_low);
        put_real(&b, "high", r->dist_high);
        break;
    case GP_DIST_NORMAL:
    case GP_DIST_TRUNCATED_NORMAL:
        put_real(&b, "mean", r->dist_mean);
        put_real(&b, "std", r->dist_std);
        if (r->dist == GP_DIST_TRUNCATED_NORMAL) {
            put_real(&b, "a", r->dist_a);
            put_real(&b, "b", r->dist_b);
        }
        break;
    case GP_DIST_CONSTANT:
        put_real(&b, "value", r->dist_value);
        break;
    case GP_DIST_IDENTITY:
        break;
    }
    return b.len;
}

int gpi_init_param_text(const gp_request *r, const char *key, char out[GPI_PARAM_TEXT_MAX])
{
    _Static_assert(GPI_PARAM_TEXT_MAX >= sizeof r->gain_spec, "gain_spec fits");
    _Static_assert(GPI_PARAM_TEXT_MAX >= GP_REAL_TEXT_MAX, "numbers fit");
    const gp_init_info *in = info_of(r);
    if (!gpi_init_takes(in, key))
        return 0;
    for (size_t i = 0; i < OWN_COUNT; i++) {
        if (strcmp(key, own_params[i].name) != 0)
            continue;
        switch (own_params[i].kind) {
        case OWN_GAIN:
            snprintf(out, GPI_PARAM_TEXT_MAX, "%s", r->gain_spec);
            break;
        case OWN_MODE:
            snprintf(out, GPI_PARAM_TEXT_MAX, "%s", gp_mode_name(r->mode));
            break;
        case OWN_REAL:
            gp_real_text(own_real_value(r, i), out);
            break;
        }
        return 1;
    }
    return 0;
}

int gpi_init_has_fans(const gp_request *r)
{
    return info_of(r)->fans;
}

int gpi_init_is_random(const gp_request *r)
{
    return r->init != GP_INIT_CONSTANT && r->init != GP_INIT_IDENTITY;
}
