/*
 * params.c - JSON body and Content-Type handling; every value ends up as text
 * in gp_request_set so GET and POST share one validation path.
 */
#include "params.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHAPE_TEXT_MAX ((GP_MAX_RANK + 1) * 22)
#define GD_JSON_MAX_STRUCTURE 256 /* { [ : , in one body */

int gd_params_set(gp_request *r, const char *key, size_t key_len, const char *value,
                  size_t value_len, gd_error *e)
{
    gp_error g = {0};
    if (gp_request_set(r, key, key_len, value, value_len, &g) == GP_OK)
        return 0;
    return gd_fail_gp(e, &g);
}

void gd_params_real_text(double v, char *out, size_t size)
{
    int n = snprintf(out, size, "%.17g", v);
    if (n < 0 || (size_t)n + 3 > size)
        return;
    if (strpbrk(out, ".eEni") == NULL) /* "inf"/"nan" contain 'n' or 'i' */
        memcpy(out + n, ".0", 3);
}

/* ---- Content-Type ------------------------------------------------------ */

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Length of p's token up to any of the stop characters or NUL. */
static size_t token_len(const char *p, const char *stop)
{
    return strcspn(p, stop);
}

/* Trim trailing whitespace from [p, p + n). */
static size_t trim_len(const char *p, size_t n)
{
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return n;
}

static int is_token(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && strncasecmp(p, want, n) == 0;
}

/* A "charset=..." parameter value (maybe quoted) must be utf-8. */
static int charset_ok(const char *v, size_t n)
{
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    return is_token(v, n, "utf-8");
}

/* Check the "; name=value" parameters after the media type. */
static int params_ok(const char *p)
{
    while (*p == ';') {
        p = skip_ows(p + 1);
        size_t n = trim_len(p, token_len(p, ";"));
        const char *eq = memchr(p, '=', n);
        if (eq != NULL) {
            size_t name_n = trim_len(p, (size_t)(eq - p));
            const char *val = skip_ows(eq + 1);
            size_t val_n = n - (size_t)(val - p);
            if (is_token(p, name_n, "charset") && !charset_ok(val, val_n))
                return 0;
        }
        p += token_len(p, ";");
    }
    return *p == '\0';
}

int gd_params_is_json(const char *content_type)
{
    if (content_type == NULL)
        return 0;
    const char *p = skip_ows(content_type);
    size_t n = token_len(p, "; \t");
    if (!is_token(p, n, "application/json"))
        return 0;
    return params_ok(skip_ows(p + n));
}

/* ---- JSON body ----------------------------------------------------------- */

/* "a,b,c" from an array of integers. Renders at most GP_MAX_RANK + 1
 * dimensions so gp_request_set itself reports a rank that is too high. */
static int shape_text(json_t *arr, char *out, size_t size, gd_error *e)
{
    size_t used = 0, count = json_array_size(arr);
    if (count > GP_MAX_RANK + 1)
        count = GP_MAX_RANK + 1;
    out[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        json_t *dim = json_array_get(arr, i);
        if (!json_is_integer(dim))
            return gd_fail(e, GD_ERR_INVALID_PARAMETER, "shape",
                           "shape must be an array of whole numbers, e.g. [256, 512]");
        int n = snprintf(out + used, size - used, "%s%" JSON_INTEGER_FORMAT, i ? "," : "",
                         json_integer_value(dim));
        if (n < 0 || (size_t)n >= size - used)
            return gd_fail(e, GD_ERR_INTERNAL, "shape", "shape text does not fit");
        used += (size_t)n;
    }
    return 0;
}

/* "a,b" from an array of axis or stride integers, or of split names. */
static int list_text(const char *key, json_t *arr, char *out, size_t size, gd_error *e)
{
    size_t used = 0, count = json_array_size(arr);
    int names = strcmp(key, "split") == 0;
    out[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        json_t *v = json_array_get(arr, i);
        int n;
        if (names ? !json_is_string(v) : !json_is_integer(v))
            return gd_fail(e, GD_ERR_INVALID_PARAMETER, key,
                           "%s must be an array of %s, one per shard", key,
                           names ? "names, e.g. [\"chunk\", \"even\"]" : "integers, e.g. [0, 1]");
        if (names)
            n = snprintf(out + used, size - used, "%s%s", i ? "," : "", json_string_value(v));
        else
            n = snprintf(out + used, size - used, "%s%" JSON_INTEGER_FORMAT, i ? "," : "",
                         json_integer_value(v));
        if (n < 0 || (size_t)n >= size - used)
            return gd_fail(e, GD_ERR_INVALID_PARAMETER, key, "%s: too many values", key);
        used += (size_t)n;
    }
    return 0;
}

static int is_list_key(const char *key)
{
    return strcmp(key, "axis") == 0 || strcmp(key, "split") == 0 || strcmp(key, "stride") == 0;
}

/* The text gp_request_set gets for one member. Strings are not copied:
 * *text points into v or into buf (size bytes). */
static int member_text(const char *key, json_t *v, char *buf, size_t size, const char **text,
                       size_t *len, gd_error *e)
{
    *text = buf;
    switch (json_typeof(v)) {
    case JSON_STRING:
        *text = json_string_value(v);
        *len = json_string_length(v);
        return 0;
    case JSON_INTEGER:
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        gd_params_real_text(json_real_value(v), buf, size);
        break;
    case JSON_ARRAY:
        if (is_list_key(key)) {
            if (list_text(key, v, buf, size, e) != 0)
                return -1;
            break;
        }
        if (strcmp(key, "shape") != 0)
            return gd_fail(e, GD_ERR_INVALID_PARAMETER, key,
                           "%.64s must be a string or a number, not an array", key);
        if (shape_text(v, buf, size, e) != 0)
            return -1;
        break;
    default:
        return gd_fail(e, GD_ERR_INVALID_PARAMETER, key,
                       "%.64s must be a string or a number (true, false, null and objects are "
                       "not accepted)",
                       key);
    }
    *len = strlen(buf);
    return 0;
}

static int load_error(const json_error_t *jerr, size_t len, gd_error *e)
{
    if (len == 0)
        return gd_fail(e, GD_ERR_BAD_JSON, "", "the body is empty: send a JSON object");
    if (json_error_code(jerr) == json_error_numeric_overflow)
        return gd_fail(e, GD_ERR_BAD_JSON, "",
                       "number out of range at line %d, column %d: JSON integers above "
                       "9223372036854775807 are not accepted; pass seed as a decimal string, "
                       "e.g. \"seed\": \"18446744073709551615\"",
                       jerr->line, jerr->column);
    return gd_fail(e, GD_ERR_BAD_JSON, "", "invalid JSON at line %d, column %d: %.120s", jerr->line,
                   jerr->column, jerr->text);
}

/* "shard" as an object {"rank", "world", "axis", "split", "stride"} or a list
 * of them: proto reads the JSON form. */
static int shard_member(gp_request *r, json_t *v, gd_error *e)
{
    char *text = json_dumps(v, JSON_COMPACT);
    gp_error g = {0};
    if (text == NULL)
        return gd_fail_plain(e, GD_ERR_OUT_OF_MEMORY, "shard");
    gp_code rc = gp_request_set_shard_json(r, text, strlen(text), &g);
    free(text);
    return rc == GP_OK ? 0 : gd_fail_gp(e, &g);
}

static int apply_members(gp_request *r, json_t *root, gd_error *e)
{
    for (void *it = json_object_iter(root); it != NULL; it = json_object_iter_next(root, it)) {
        const char *key = json_object_iter_key(it);
        json_t *value = json_object_iter_value(it);
        if (strcmp(key, "shard") == 0 && (json_is_object(value) || json_is_array(value))) {
            if (shard_member(r, value, e) != 0)
                return -1;
            continue;
        }
        char buf[SHAPE_TEXT_MAX];
        const char *text = NULL;
        size_t len = 0;
        if (member_text(key, json_object_iter_value(it), buf, sizeof buf, &text, &len, e) != 0)
            return -1;
        if (gd_params_set(r, key, json_object_iter_key_len(it), text, len, e) != 0)
            return -1;
    }
    return 0;
}

int gd_params_json(gp_request *r, const char *body, size_t len, gd_error *e)
{
    if (gp_json_structure_count(body, len, GD_JSON_MAX_STRUCTURE) > GD_JSON_MAX_STRUCTURE)
        return gd_fail(e, GD_ERR_BAD_JSON, "",
                       "the body has more than %d JSON values; a request needs a few dozen at "
                       "most",
                       GD_JSON_MAX_STRUCTURE);
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return load_error(&jerr, len, e);
    int rc = 0;
    if (!json_is_object(root))
        rc = gd_fail(e, GD_ERR_BAD_JSON, "",
                     "the body must be a JSON object, e.g. "
                     "{\"shape\": [256, 512], \"seed\": 42}");
    else
        rc = apply_members(r, root, e);
    json_decref(root);
    return rc;
}
