/*
 * request.c - the single validation path for a generation request.
 *
 * Query strings, JSON bodies and the CLI all reach gp_request_set as
 * (key, text value) pairs. Every parser here is strict, bounded and
 * hand-written; a value that fails leaves the request untouched. Error
 * messages quote at most GPI_QUOTE_MAX sanitised characters of the input, so
 * they are printable ASCII whatever bytes arrive.
 */
#include "base/names_internal.h"
#include "glorot_proto.h"
#include "request/request_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTE_KEY_MAX 24 /* characters of an unknown key echoed in err->param (char[32]) */

/* ---- unsigned integers ------------------------------------------------------ */

/* A decimal integer in [min, max] for parameter key. */
static gp_code parse_uint_param(const char *key, const char *v, size_t n, uint64_t min,
                                uint64_t max, uint64_t *out, gp_error *err)
{
    uint64_t x = 0;
    gp_u64_status st = gp_parse_u64(v, n, min, max, 0, &x);
    if (st == GP_U64_EMPTY)
        return gp_fail(err, GP_EPARAM, key,
                       "%s: is empty; expected a decimal integer in %" PRIu64 "..%" PRIu64, key,
                       min, max);
    if (st == GP_U64_SYNTAX)
        return gp_fail(err, GP_EPARAM, key,
                       "%s: \"%s\" is not a plain decimal integer (digits only) in %" PRIu64
                       "..%" PRIu64,
                       key, gpi_quote(v, n).text, min, max);
    if (st != GP_U64_OK) /* GP_U64_RANGE */
        return gp_fail(err, GP_EPARAM, key,
                       "%s: \"%s\" is out of range; allowed %" PRIu64 "..%" PRIu64, key,
                       gpi_quote(v, n).text, min, max);
    *out = x;
    return GP_OK;
}

/* ---- shape ----------------------------------------------------------------- */

static gp_code shape_dim(const char *v, size_t n, size_t k, uint64_t *dim, gp_error *err)
{
    gp_u64_status st = gp_parse_u64(v, n, 0, UINT64_MAX, 0, dim);
    if (st == GP_U64_EMPTY)
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: dimension %zu is empty; use comma-separated integers, e.g. 256,512",
                       k);
    if (st == GP_U64_SYNTAX)
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: dimension %zu \"%s\" is not a plain decimal integer (digits only)",
                       k, gpi_quote(v, n).text);
    if (st != GP_U64_OK) /* GP_U64_RANGE */
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: dimension %zu is larger than 18446744073709551615", k);
    if (*dim == 0)
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: dimension %zu is 0; every dimension must be >= 1", k);
    return GP_OK;
}

static gp_code shape_item(gp_request *t, size_t k, const char *v, size_t n, gp_error *err)
{
    return shape_dim(v, n, k + 1, &t->shape[k], err);
}

static gp_code set_shape(gp_request *r, const char *v, size_t n, gp_error *err)
{
    gp_request t = *r; /* a value that fails leaves r untouched */
    size_t rank = 0;
    if (n == 0)
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: is empty; expected 1 to %d comma-separated dimensions, e.g. 256,512",
                       GP_MAX_RANK);
    gp_code rc = gpi_each_item(&t, v, n, GP_MAX_RANK, shape_item, &rank, err);
    if (rc != GP_OK)
        return rc;
    if (rank > GP_MAX_RANK)
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: more than %d dimensions; rank must be 1..%d", GP_MAX_RANK,
                       GP_MAX_RANK);
    memcpy(r->shape, t.shape, rank * sizeof t.shape[0]);
    r->rank = rank;
    return GP_OK;
}

/* ---- comma-separated values ---------------------------------------------------- */

gp_code gpi_each_item(gp_request *r, const char *v, size_t n, size_t max, gpi_item_fn fn,
                      size_t *count, gp_error *err)
{
    size_t k = 0, start = 0;
    for (;;) {
        const char *comma = memchr(v + start, ',', n - start);
        size_t end = comma ? (size_t)(comma - v) : n;
        if (k == max) {
            *count = max + 1;
            return GP_OK;
        }
        gp_code rc = fn(r, k, v + start, end - start, err);
        if (rc != GP_OK)
            return rc;
        k++;
        if (comma == NULL)
            break;
        start = end + 1;
    }
    *count = k;
    return GP_OK;
}

/* ---- gain (parsed in gain.c) ------------------------------------------------ */

static gp_code set_gain(gp_request *r, const char *v, size_t n, gp_error *err)
{
    double gain = 0;
    char spec[sizeof r->gain_spec];
    gp_code rc = gpi_parse_gain(v, n, &gain, spec, sizeof spec, err);
    if (rc != GP_OK)
        return rc;
    r->gain = gain;
    memcpy(r->gain_spec, spec, sizeof spec);
    return GP_OK;
}

/* ---- enumerations ----------------------------------------------------------- */

static gp_code set_dtype(gp_request *r, const char *v, size_t n, gp_error *err)
{
    int x = 0;
    gp_code rc = gpi_parse_name(GP_NAMES_DTYPE, "dtype", v, n, &x, err);
    if (rc == GP_OK)
        r->dtype = (gp_dtype)x;
    return rc;
}

static gp_code set_algorithm(gp_request *r, const char *v, size_t n, gp_error *err)
{
    int x = 0;
    gp_code rc = gpi_parse_name(GP_NAMES_ALGORITHM, "algorithm", v, n, &x, err);
    if (rc == GP_OK)
        r->algorithm = (gp_algorithm)x;
    return rc;
}

static gp_code set_fan(gp_request *r, const char *v, size_t n, gp_error *err)
{
    int x = 0;
    gp_code rc = gpi_parse_name(GP_NAMES_FAN, "fan", v, n, &x, err);
    if (rc == GP_OK)
        r->fan = (gp_fan)x;
    return rc;
}

static gp_code set_format(gp_request *r, const char *v, size_t n, gp_error *err)
{
    int x = 0;
    gp_code rc = gpi_parse_name(GP_NAMES_FORMAT, "format", v, n, &x, err);
    if (rc == GP_OK) {
        r->format = (gp_format)x;
        r->format_set = 1;
    }
    return rc;
}

/* ---- integers ----------------------------------------------------------------- */

static gp_code set_seed(gp_request *r, const char *v, size_t n, gp_error *err)
{
    uint64_t x = 0;
    gp_code rc = parse_uint_param("seed", v, n, 0, UINT64_MAX, &x, err);
    if (rc == GP_OK)
        gp_request_set_seed(r, x);
    return rc;
}

static gp_code set_call(gp_request *r, const char *v, size_t n, gp_error *err)
{
    return parse_uint_param("call", v, n, 1, GP_MAX_CALL, &r->call, err);
}

static gp_code set_fan_in(gp_request *r, const char *v, size_t n, gp_error *err)
{
    return parse_uint_param("fan_in", v, n, 1, UINT64_MAX, &r->fan_in_override, err);
}

static gp_code set_fan_out(gp_request *r, const char *v, size_t n, gp_error *err)
{
    return parse_uint_param("fan_out", v, n, 1, UINT64_MAX, &r->fan_out_override, err);
}

/* ---- name --------------------------------------------------------------------- */

static gp_code set_name(gp_request *r, const char *v, size_t n, gp_error *err)
{
    const unsigned char *s = (const unsigned char *)v;
    if (n == 0 || n > GP_MAX_NAME)
        return gp_fail(err, GP_EPARAM, "name", "name: is %zu bytes; allowed 1..%d bytes of UTF-8",
                       n, GP_MAX_NAME);
    for (size_t i = 0; i < n;) {
        size_t len = gpi_utf8_sequence(s + i, n - i);
        if (len == 0)
            return gp_fail(err, GP_EPARAM, "name",
                           "name: invalid UTF-8 at byte %zu; the name must be valid UTF-8", i);
        if (s[i] < 0x20 || s[i] == 0x7f)
            return gp_fail(err, GP_EPARAM, "name",
                           "name: control character 0x%02x at byte %zu is not allowed", s[i], i);
        i += len;
    }
    memcpy(r->name, v, n);
    r->name[n] = '\0';
    r->name_len = n;
    return GP_OK;
}

/* ---- public API ------------------------------------------------------------------ */

typedef gp_code (*param_setter)(gp_request *r, const char *v, size_t n, gp_error *err);

/* The common keys; the initializers' own parameters (init.c, gp_init_param)
 * follow them, those already here (gain) excepted. The index of a key is its
 * bit in set_mask: params[] first, then PARAM_COUNT + gp_init_param's index. */
static const struct {
    char key[12];
    param_setter set;
} params[] = {
    {"shape", set_shape},       {"gain", set_gain},           {"dtype", set_dtype},
    {"seed", set_seed},         {"algorithm", set_algorithm}, {"call", set_call},
    {"fan", set_fan},           {"fan_in", set_fan_in},       {"fan_out", set_fan_out},
    {"name", set_name},         {"format", set_format},       {"slice", gpi_set_slice},
    {"shard", gpi_set_shard},   {"axis", gpi_set_axis},       {"split", gpi_set_split},
    {"stride", gpi_set_stride}, {"init", gpi_set_init},
};

#define PARAM_COUNT (sizeof params / sizeof params[0])
#define KEY_COUNT (PARAM_COUNT + GP_INIT_PARAM_COUNT)
_Static_assert(KEY_COUNT <= 32, "set_mask has a bit per key");

static size_t find_common(const char *key, size_t n)
{
    for (size_t i = 0; i < PARAM_COUNT; i++)
        if (strlen(params[i].key) == n && memcmp(params[i].key, key, n) == 0)
            return i;
    return PARAM_COUNT;
}

/* The key's index, KEY_COUNT when it is not a parameter. */
static size_t find_param(const char *key, size_t n)
{
    size_t i = find_common(key, n);
    if (i < PARAM_COUNT)
        return i;
    for (size_t k = 0; k < GP_INIT_PARAM_COUNT; k++) {
        const char *own = gp_init_param(k);
        if (strlen(own) == n && memcmp(own, key, n) == 0)
            return PARAM_COUNT + k;
    }
    return KEY_COUNT;
}

static const char *key_name(size_t i)
{
    return i < PARAM_COUNT ? params[i].key : gp_init_param(i - PARAM_COUNT);
}

/* Listed and reachable: not an own parameter shadowed by a common key. */
static int key_listed(size_t i)
{
    return i < PARAM_COUNT || find_common(key_name(i), strlen(key_name(i))) == PARAM_COUNT;
}

void gp_request_init(gp_request *r)
{
    memset(r, 0, sizeof *r);
    r->gain = 1.0;
    memcpy(r->gain_spec, "1", 2);
    r->dtype = GP_FLOAT32;
    r->algorithm = GP_ALG_CHACHA20;
    r->call = 1;
    r->fan = GP_FAN_MLX;
    memcpy(r->name, GP_DEFAULT_NAME, sizeof GP_DEFAULT_NAME);
    r->name_len = sizeof GP_DEFAULT_NAME - 1;
    r->format = GP_FORMAT_RAW;
    gpi_init_defaults(r);
}

void gp_request_set_seed(gp_request *r, uint64_t seed)
{
    r->seed = seed;
    r->seed_set = 1;
}

void gpi_list_add(char *out, size_t cap, const char *item)
{
    size_t used = strlen(out);
    const char *parts[2] = {used ? ", " : "", item};
    for (size_t k = 0; k < 2; k++)
        for (const char *p = parts[k]; *p != '\0' && used + 1 < cap; p++)
            out[used++] = *p;
    out[used] = '\0';
}

static gp_code unknown_key(const char *key, size_t n, gp_error *err)
{
    char param[sizeof err->param], known[sizeof err->message];
    gpi_quote_into(param, sizeof param, QUOTE_KEY_MAX, key, n);
    known[0] = '\0';
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (key_listed(i))
            gpi_list_add(known, sizeof known, key_name(i));
    return gp_fail(err, GP_EPARAM, param, "unknown parameter \"%s\"; known parameters: %s",
                   gpi_quote(key, n).text, known);
}

gp_code gp_request_set(gp_request *r, const char *key, size_t key_len, const char *value,
                       size_t value_len, gp_error *err)
{
    if (r == NULL || r->finished || (key == NULL && key_len != 0) ||
        (value == NULL && value_len != 0))
        abort(); /* misuse: see the contract in glorot_proto.h */
    size_t i = find_param(key ? key : "", key_len);
    if (i == KEY_COUNT)
        return unknown_key(key ? key : "", key_len, err);
    const char *k = key_name(i);
    if (r->set_mask & (1u << i))
        return gp_fail(err, GP_EPARAM, k, "%s: given more than once; give each parameter once", k);
    if (value_len != 0 && memchr(value, '\0', value_len) != NULL)
        return gp_fail(err, GP_EPARAM, k, "%s: contains a NUL byte, which is never allowed", k);
    const char *v = value ? value : "";
    gp_code rc = i < PARAM_COUNT ? params[i].set(r, v, value_len, err)
                                 : gpi_set_init_param(r, i - PARAM_COUNT, v, value_len, err);
    if (rc == GP_OK)
        r->set_mask |= 1u << i;
    return rc;
}

/* ---- gp_request_finish ----------------------------------------------------------- */

static gp_code resolve_size(gp_request *r, gp_error *err)
{
    uint64_t numel = 1, nbytes;
    for (size_t i = 0; i < r->rank; i++)
        if (gpi_mul_u64(numel, r->shape[i], &numel) != 0)
            return gp_fail(err, GP_EPARAM, "shape",
                           "shape: element count overflows a 64-bit integer");
    if (gpi_mul_u64(numel, gp_dtype_size(r->dtype), &nbytes) != 0)
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: byte count of %" PRIu64 " %s elements overflows a 64-bit integer",
                       numel, gp_dtype_name(r->dtype));
    r->numel = numel;
    r->nbytes = nbytes;
    return GP_OK;
}

gp_code gpi_resolve_fans(gp_request *r, gp_error *err)
{
    uint64_t in = 0, out = 0, sum;
    gp_code rc = gp_fans(r->shape, r->rank, r->fan, &in, &out, err);
    if (rc != GP_OK)
        return rc;
    if (r->fan_in_override != 0)
        in = r->fan_in_override;
    if (r->fan_out_override != 0)
        out = r->fan_out_override;
    if (gpi_add_u64(in, out, &sum) != 0)
        return gp_fail(err, GP_EPARAM, r->fan_out_override != 0 ? "fan_out" : "fan_in",
                       "fan_in + fan_out overflows a 64-bit integer");
    r->fan_in = in;
    r->fan_out = out;
    return GP_OK;
}

int gp_request_given(const gp_request *r, const char *key)
{
    size_t i = find_param(key, strlen(key));
    return i < KEY_COUNT && (r->set_mask & (1u << i)) != 0;
}

static gp_code resolve_part(gp_request *r, gp_error *err)
{
    const int given[3] = {gp_request_given(r, "axis"), gp_request_given(r, "split"),
                          gp_request_given(r, "stride")};
    return gpi_resolve_part(r, given, err);
}

static gp_code check_algorithm(const gp_request *r, gp_error *err)
{
    int mlx = r->algorithm == GP_ALG_MLX || r->algorithm == GP_ALG_MLX_SEEDED;
    if (gp_request_given(r, "call") && r->algorithm != GP_ALG_MLX_SEEDED)
        return gp_fail(err, GP_EPARAM, "call",
                       "call: only applies to algorithm=mlx-seeded (algorithm is %s)",
                       gp_algorithm_name(r->algorithm));
    if (mlx && r->dtype == GP_FLOAT64)
        return gp_fail(err, GP_EUNSUPPORTED, "dtype",
                       "dtype: float64 is not available with algorithm=%s (MLX has no float64); "
                       "use float32, float16 or bfloat16, or algorithm=chacha20",
                       gp_algorithm_name(r->algorithm));
    if (mlx && r->numel > UINT32_MAX)
        return gp_fail(err, GP_EUNSUPPORTED, "shape",
                       "shape: %" PRIu64 " elements exceed algorithm=%s's limit of 4294967295 "
                       "(32-bit counters); use algorithm=chacha20",
                       r->numel, gp_algorithm_name(r->algorithm));
    return GP_OK;
}

/* Caps bound the work and the bytes of one answer: they apply to the part sent. */
static gp_code check_caps(const gp_request *r, const gp_limits *lim, gp_error *err)
{
    if (lim == NULL)
        return GP_OK;
    if (lim->max_elements != 0 && r->out_numel > lim->max_elements)
        return gp_fail(err, GP_ELIMIT, "shape",
                       "shape: %" PRIu64 " elements%s exceed this server's cap of %" PRIu64,
                       r->out_numel, r->partial ? " (in the part asked for)" : "",
                       lim->max_elements);
    if (lim->max_bytes != 0 && r->out_nbytes > lim->max_bytes)
        return gp_fail(err, GP_ELIMIT, "shape",
                       "shape: %" PRIu64 " bytes of %s exceed this server's cap of %" PRIu64
                       " bytes",
                       r->out_nbytes, gp_dtype_name(r->dtype), lim->max_bytes);
    if (r->format == GP_FORMAT_JSON && lim->max_json_elements != 0 &&
        r->out_numel > lim->max_json_elements)
        return gp_fail(err, GP_ELIMIT, "shape",
                       "format=json is limited to %" PRIu64 " elements (--max-json-elements); "
                       "this request has %" PRIu64 ": use raw, npy or safetensors",
                       lim->max_json_elements, r->out_numel);
    return GP_OK;
}

/* Order: malformed (400) before impossible (422) before too large (413). */
gp_code gp_request_finish(gp_request *r, const gp_limits *lim, gp_error *err)
{
    if (r == NULL)
        abort();
    gp_request t = *r;
    gp_code rc;
    t.finished = 0;
    if (t.rank == 0)
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape: is required, e.g. shape=256,512 (1 to %d dimensions)", GP_MAX_RANK);
    if ((rc = resolve_size(&t, err)) != GP_OK || (rc = gpi_resolve_init(&t, err)) != GP_OK ||
        (rc = resolve_part(&t, err)) != GP_OK || (rc = check_algorithm(&t, err)) != GP_OK ||
        (rc = check_caps(&t, lim, err)) != GP_OK)
        return rc;
    t.finished = 1;
    *r = t;
    return GP_OK;
}
