/*
 * manifest.c - the JSON manifest of POST /v1/batch, parsed into finished
 * tensor requests. The fuzz target is gp_batch_parse (batch.c), which calls
 * gpi_manifest_parse: a pure function over (buffer, length).
 *
 *   {"seed": "42", "algorithm": "chacha20", "dtype": "bfloat16", "fan": "mlx",
 *    "gain": 1.0, "shard": {"rank": 3, "world": 8, "axis": 0, "split": "chunk"},
 *    "tensors": [{"name": "layers.0.attn.wq", "shape": [4096, 4096]},
 *                {"name": "w1", "shape": [11008, 4096], "gain": "relu"}]}
 *
 * Every value reaches gp_request_set as text (the single validation path;
 * request_json.c turns JSON values into it, as for a POST body):
 * the defaults are checked once on their own, then each tensor gets each key
 * exactly once - its own value if it has one, else the default. A tensor's
 * slice or shard (null: the whole tensor) replaces the default part.
 */
#include "request/batch_internal.h"
#include "request/request_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_TENSOR ((size_t)-1)

/* The keys allowed at the top level and in a tensor, besides the
 * initializers' own parameters (gp_init_param), which both take and which
 * come last in unknown-key messages. */
static const char *const top_keys[] = {"seed",  "algorithm", "dtype",   "fan",
                                       "slice", "shard",     "tensors", "init"};
static const char *const tensor_keys[] = {"name",  "shape",  "dtype",   "fan", "slice",
                                          "shard", "fan_in", "fan_out", "init"};
/* Keys a tensor inherits from the top level when it does not give them. */
static const char *const inherited[] = {"algorithm", "dtype", "fan", "init"};

/* ---- errors ---------------------------------------------------------------- */

/* Re-issue a request error g for tensor i (or the top level), naming the field. */
static gp_code relay(gp_error *err, size_t i, const gp_error *g)
{
    char param[64]; /* gp_fail keeps what fits in err->param */
    if (i == NO_TENSOR)
        return gp_fail(err, g->code, g->param, "%s", g->message);
    snprintf(param, sizeof param, "tensors[%zu].%s", i, g->param);
    return gp_fail(err, g->code, param, "tensors[%zu]: %s", i, g->message);
}

static gp_code field_fail(gp_error *err, size_t i, const char *field, const char *what)
{
    gp_error g = {0};
    gp_fail(&g, GP_EPARAM, field, "%s: %s", field, what);
    return relay(err, i, &g);
}

/* ---- values as text ---------------------------------------------------------- */

static int known(const char *const *keys, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return 1;
    for (size_t i = 0; i < GP_INIT_PARAM_COUNT; i++)
        if (strcmp(gp_init_param(i), key) == 0)
            return 1;
    return 0;
}

static gp_code check_keys(json_t *obj, const char *const *keys, size_t n, size_t i, gp_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (!known(keys, n, key)) {
            gp_error g = {0};
            char q[24], list[256];
            list[0] = '\0';
            for (size_t k = 0; k < n; k++)
                gpi_list_add(list, sizeof list, keys[k]);
            for (size_t k = 0; k < GP_INIT_PARAM_COUNT; k++)
                gpi_list_add(list, sizeof list, gp_init_param(k));
            gpi_quote_into(q, sizeof q, 16, key, strlen(key));
            gp_fail(&g, GP_EPARAM, q, "unknown key \"%s\"; known keys: %s",
                    gpi_quote(key, strlen(key)).text, list);
            return relay(err, i, &g);
        }
    }
    return GP_OK;
}

/* gp_request_set(key, text of v); errors relayed for tensor i. */
static gp_code set_value(gp_request *r, const char *key, json_t *v, size_t i, gp_error *err)
{
    gp_error g = {0};
    if (gpi_request_set_json_value(r, key, strlen(key), v, GPI_JSON_MANIFEST, &g) != GP_OK)
        return relay(err, i, &g);
    return GP_OK;
}

/* "shard": a "R/W" string, {"rank": R, "world": W, "axis": A, "split": S,
 * "stride": N} (all but rank and world optional), a list of such objects
 * (one per shard), or null (no shard): shard.c turns it into the query keys. */
static gp_code set_shard(gp_request *r, json_t *v, size_t i, gp_error *err)
{
    if (json_is_null(v))
        return GP_OK;
    if (!json_is_object(v) && !json_is_array(v) && !json_is_string(v))
        return field_fail(err, i, "shard",
                          "must be an object {\"rank\": R, \"world\": W, \"axis\": A}, a list "
                          "of them, a \"R/W\" string or null");
    gp_error g = {0};
    if (gpi_set_shard_json(r, v, &g) != GP_OK)
        return relay(err, i, &g);
    return GP_OK;
}

static gp_code set_part_key(gp_request *r, const char *key, json_t *v, size_t i, gp_error *err)
{
    if (strcmp(key, "shard") == 0)
        return set_shard(r, v, i, err);
    if (json_is_null(v))
        return GP_OK;
    return set_value(r, key, v, i, err);
}

/* The tensor's slice/shard if it gives either, else the defaults. */
static gp_code set_part(gp_request *r, json_t *top, json_t *t, size_t i, gp_error *err)
{
    json_t *src = json_object_get(t, "slice") || json_object_get(t, "shard") ? t : top;
    gp_code rc = GP_OK;
    json_t *v;
    if ((v = json_object_get(src, "slice")) != NULL)
        rc = set_part_key(r, "slice", v, src == top ? NO_TENSOR : i, err);
    if (rc == GP_OK && (v = json_object_get(src, "shard")) != NULL)
        rc = set_part_key(r, "shard", v, src == top ? NO_TENSOR : i, err);
    return rc;
}

/* ---- the manifest ------------------------------------------------------------------ */

/* The defaults on their own, so a bad one is reported once, without a tensor index. */
static gp_code check_defaults(json_t *top, gp_error *err)
{
    gp_request scratch;
    gp_request_init(&scratch);
    json_t *seed = json_object_get(top, "seed");
    if (seed == NULL)
        return gp_fail(err, GP_EPARAM, "seed",
                       "seed: is required in a manifest (every rank must get the same weights), "
                       "e.g. \"seed\": \"42\"");
    gp_code rc = set_value(&scratch, "seed", seed, NO_TENSOR, err);
    for (size_t k = 0; rc == GP_OK && k < sizeof inherited / sizeof inherited[0]; k++) {
        json_t *v = json_object_get(top, inherited[k]);
        if (v != NULL)
            rc = set_value(&scratch, inherited[k], v, NO_TENSOR, err);
    }
    for (size_t k = 0; rc == GP_OK && k < GP_INIT_PARAM_COUNT; k++) {
        json_t *v = json_object_get(top, gp_init_param(k));
        if (v != NULL)
            rc = set_value(&scratch, gp_init_param(k), v, NO_TENSOR, err);
    }
    if (rc == GP_OK)
        rc = set_part(&scratch, top, top, NO_TENSOR, err);
    return rc;
}

static gp_code check_name(json_t *name, size_t i, gp_error *err)
{
    if (!json_is_string(name))
        return field_fail(err, i, "name", "is required: a string of 1..256 bytes");
    if (json_string_length(name) == strlen("__metadata__") &&
        strcmp(json_string_value(name), "__metadata__") == 0)
        return field_fail(err, i, "name", "__metadata__ is reserved by safetensors");
    return GP_OK;
}

/* The tensor's own initializer parameters, and the top level's where its
 * initializer takes them (used[k] records that the top level's was taken). */
static gp_code set_init_params(gp_request *r, json_t *top, json_t *t, size_t i,
                               int used[GP_INIT_PARAM_COUNT], gp_error *err)
{
    const gp_init_info *in = gp_init_find(r->init_as, strlen(r->init_as));
    gp_code rc = GP_OK;
    for (size_t k = 0; rc == GP_OK && k < GP_INIT_PARAM_COUNT; k++) {
        json_t *v = json_object_get(t, gp_init_param(k));
        if (v == NULL && in != NULL && gpi_init_takes(in, gp_init_param(k)) &&
            (v = json_object_get(top, gp_init_param(k))) != NULL)
            used[k] = 1;
        if (v != NULL)
            rc = set_value(r, gp_init_param(k), v, i, err);
    }
    return rc;
}

/* mlx-seeded: tensor k's call is the count of random tensors up to it
 * (*calls), as MLX's key sequence advances only for random draws. */
static gp_code build_tensor(gp_request *r, json_t *top, json_t *t, size_t i,
                            int used[GP_INIT_PARAM_COUNT], uint64_t *calls, gp_error *err)
{
    if (!json_is_object(t))
        return field_fail(err, i, "shape", "each tensor must be an object with name and shape");
    gp_code rc = check_keys(t, tensor_keys, sizeof tensor_keys / sizeof tensor_keys[0], i, err);
    if (rc != GP_OK || (rc = check_name(json_object_get(t, "name"), i, err)) != GP_OK)
        return rc;
    if (json_object_get(t, "shape") == NULL)
        return field_fail(err, i, "shape", "is required, e.g. [4096, 4096]");
    gp_request_init(r);
    rc = set_value(r, "seed", json_object_get(top, "seed"), i, err);
    for (size_t k = 0; rc == GP_OK && k < sizeof inherited / sizeof inherited[0]; k++) {
        json_t *v = json_object_get(t, inherited[k]);
        if (v == NULL)
            v = json_object_get(top, inherited[k]);
        if (v != NULL)
            rc = set_value(r, inherited[k], v, i, err);
    }
    static const char *const own[] = {"name", "shape", "fan_in", "fan_out"};
    for (size_t k = 0; rc == GP_OK && k < sizeof own / sizeof own[0]; k++) {
        json_t *v = json_object_get(t, own[k]);
        if (v != NULL)
            rc = set_value(r, own[k], v, i, err);
    }
    if (rc == GP_OK)
        rc = set_init_params(r, top, t, i, used, err);
    if (rc == GP_OK)
        rc = set_part(r, top, t, i, err);
    if (rc == GP_OK && r->algorithm == GP_ALG_MLX_SEEDED && gpi_init_is_random(r)) {
        char call[24];
        snprintf(call, sizeof call, "%" PRIu64, ++*calls);
        gp_error g = {0};
        if (gp_request_set(r, "call", 4, call, strlen(call), &g) != GP_OK)
            rc = relay(err, i, &g);
    }
    gp_error g = {0};
    if (rc == GP_OK && gp_request_finish(r, NULL, &g) != GP_OK)
        rc = relay(err, i, &g);
    return rc;
}

/* ---- unique names --------------------------------------------------------------------- */

static int by_name(const void *pa, const void *pb)
{
    const gpi_batch_tensor *a = *(const gpi_batch_tensor *const *)pa;
    const gpi_batch_tensor *b = *(const gpi_batch_tensor *const *)pb;
    size_t n = a->r.name_len < b->r.name_len ? a->r.name_len : b->r.name_len;
    int c = memcmp(a->r.name, b->r.name, n);
    if (c != 0)
        return c;
    if (a->r.name_len != b->r.name_len)
        return a->r.name_len < b->r.name_len ? -1 : 1;
    return a < b ? -1 : a > b; /* equal names: manifest order */
}

static gp_code check_unique(const gp_batch *b, gp_error *err)
{
    const gpi_batch_tensor **sorted = malloc(b->count * sizeof *sorted);
    if (sorted == NULL)
        return gp_fail(err, GP_ENOMEM, "", "out of memory sorting %zu names", b->count);
    for (size_t i = 0; i < b->count; i++)
        sorted[i] = &b->tensors[i];
    qsort(sorted, b->count, sizeof *sorted, by_name);
    gp_code rc = GP_OK;
    for (size_t k = 1; k < b->count && rc == GP_OK; k++) {
        const gp_request *x = &sorted[k - 1]->r, *y = &sorted[k]->r;
        if (x->name_len == y->name_len && memcmp(x->name, y->name, x->name_len) == 0) {
            size_t first = (size_t)(sorted[k - 1] - b->tensors);
            size_t again = (size_t)(sorted[k] - b->tensors);
            char what[160];
            snprintf(what, sizeof what,
                     "\"%s\" is already the name of tensors[%zu]; names must "
                     "be unique",
                     gpi_quote(y->name, y->name_len).text, first);
            rc = field_fail(err, again, "name", what);
        }
    }
    free(sorted);
    return rc;
}

/* ---- loading ------------------------------------------------------------------------------ */

#define STRUCTURE_TOP 64
#define STRUCTURE_PER_TENSOR 64 /* 18 keys, shape of 8, a shard object: ~50 */

static gp_code load(const char *buf, size_t len, const gp_batch_limits *lim, json_t **root,
                    gp_error *err)
{
    uint64_t max_t = lim && lim->max_tensors ? lim->max_tensors : 0;
    if (max_t != 0 && max_t < (SIZE_MAX - STRUCTURE_TOP) / STRUCTURE_PER_TENSOR) {
        size_t bound = STRUCTURE_TOP + (size_t)max_t * STRUCTURE_PER_TENSOR;
        if (gpi_json_structure_count(buf, len, bound) > bound)
            return gp_fail(err, GP_ELIMIT, "tensors",
                           "the manifest has more than %zu JSON values, more than %" PRIu64
                           " tensors can need (the tensor cap)",
                           bound, max_t);
    }
    return gpi_json_load(buf, len, "manifest", "give seed as a decimal string", root, err);
}

static gp_code parse_root(gp_batch *b, json_t *top, const gp_batch_limits *lim, gp_error *err)
{
    if (!json_is_object(top))
        return gp_fail(err, GP_EPARAM, "manifest",
                       "the manifest must be a JSON object with seed and tensors");
    gp_code rc = check_keys(top, top_keys, sizeof top_keys / sizeof top_keys[0], NO_TENSOR, err);
    if (rc != GP_OK || (rc = check_defaults(top, err)) != GP_OK)
        return rc;
    json_t *arr = json_object_get(top, "tensors");
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0)
        return gp_fail(err, GP_EPARAM, "tensors",
                       "tensors: is required, a non-empty array of {\"name\", \"shape\"} objects");
    if (lim && lim->max_tensors != 0 && n > lim->max_tensors)
        return gp_fail(err, GP_ELIMIT, "tensors",
                       "tensors: %zu tensors exceed this server's cap of %" PRIu64
                       " (--max-batch-tensors)",
                       n, lim->max_tensors);
    b->tensors = calloc(n, sizeof *b->tensors);
    if (b->tensors == NULL)
        return gp_fail(err, GP_ENOMEM, "", "out of memory for %zu tensors", n);
    int used[GP_INIT_PARAM_COUNT] = {0};
    uint64_t calls = 0;
    for (size_t i = 0; i < n; i++) {
        rc = build_tensor(&b->tensors[i].r, top, json_array_get(arr, i), i, used, &calls, err);
        if (rc != GP_OK)
            return rc;
        b->count = i + 1;
    }
    for (size_t k = 0; k < GP_INIT_PARAM_COUNT; k++)
        if (json_object_get(top, gp_init_param(k)) != NULL && !used[k])
            return gp_fail(err, GP_EPARAM, gp_init_param(k),
                           "%s: no tensor's initializer takes %s, so this default is never used",
                           gp_init_param(k), gp_init_param(k));
    return check_unique(b, err);
}

gp_code gpi_manifest_parse(gp_batch *b, const char *buf, size_t len, const gp_batch_limits *lim,
                           gp_error *err)
{
    json_t *root = NULL;
    if (len == 0)
        return gp_fail(err, GP_EPARAM, "manifest", "the manifest is empty: send a JSON object");
    gp_code rc = load(buf, len, lim, &root, err);
    if (rc == GP_OK)
        rc = parse_root(b, root, lim, err);
    json_decref(root);
    return rc;
}
