/*
 * request_json.c - JSON values as gp_request_set text, once for both JSON
 * inputs: a POST body (gp_request_set_json) and the values of a batch
 * manifest (manifest.c). Every value still reaches gp_request_set as text,
 * so JSON and query strings share one validation path.
 */
#include "glorot_proto.h"
#include "request/request_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_TEXT_MAX ((GP_MAX_RANK + 1) * 22)

/* ---- the structure bound -------------------------------------------------------- */

size_t gpi_json_structure_count(const char *s, size_t len, size_t stop_at)
{
    size_t count = 0;
    int in_string = 0;
    for (size_t i = 0; i < len && count <= stop_at; i++) {
        char ch = s[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == '{' || ch == '[' || ch == ':' || ch == ',') {
            count++;
        }
    }
    return count;
}

gp_code gpi_json_load(const char *buf, size_t len, const char *param, const char *seed_hint,
                      json_t **root, gp_error *err)
{
    json_error_t jerr;
    *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*root != NULL)
        return GP_OK;
    if (json_error_code(&jerr) == json_error_numeric_overflow)
        return gp_fail(err, GP_EPARAM, param,
                       "number out of range at line %d, column %d: JSON integers above "
                       "9223372036854775807 are not accepted; %s",
                       jerr.line, jerr.column, seed_hint);
    return gp_fail(err, GP_EPARAM, param, "invalid JSON at line %d, column %d: %.120s", jerr.line,
                   jerr.column, jerr.text);
}

/* ---- one value ------------------------------------------------------------------- */

/* How errors read: "<key><sep> must be ...", and what follows "must be a
 * string or a number" for true, false, null and objects. */
static const struct {
    const char *sep;
    const char *others;
} wordings[] = {
    [GPI_JSON_BODY] = {"", " (true, false, null and objects are not accepted)"},
    [GPI_JSON_MANIFEST] = {":", ""},
};

typedef enum { JOIN_OK, JOIN_BAD_ELEMENT, JOIN_TOO_LONG } join_status;

/* "a,b,c" from the first count elements of arr: integers, or names (strings). */
static join_status join_array(json_t *arr, size_t count, int names, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t k = 0; k < count; k++) {
        json_t *v = json_array_get(arr, k);
        const char *comma = k ? "," : "";
        int n;
        if (names ? !json_is_string(v) : !json_is_integer(v))
            return JOIN_BAD_ELEMENT;
        if (names)
            n = snprintf(out + used, size - used, "%s%s", comma, json_string_value(v));
        else
            n = snprintf(out + used, size - used, "%s%" JSON_INTEGER_FORMAT, comma,
                         json_integer_value(v));
        if (n < 0 || (size_t)n >= size - used)
            return JOIN_TOO_LONG;
        used += (size_t)n;
    }
    return JOIN_OK;
}

/* shape: at most GP_MAX_RANK + 1 dimensions, so gp_request_set reports a rank that is too high. */
static gp_code shape_text(json_t *arr, const char *sep, char *out, size_t size, gp_error *err)
{
    size_t count = json_array_size(arr);
    switch (join_array(arr, count > GP_MAX_RANK + 1 ? GP_MAX_RANK + 1 : count, 0, out, size)) {
    case JOIN_OK:
        return GP_OK;
    case JOIN_BAD_ELEMENT:
        return gp_fail(err, GP_EPARAM, "shape",
                       "shape%s must be an array of whole numbers, e.g. [256, 512]", sep);
    case JOIN_TOO_LONG:
        break;
    }
    return gp_fail(err, GP_EINTERNAL, "shape", "shape text does not fit");
}

/* axis, stride (integers) and split (names): one value per shard. */
static gp_code list_text(const char *key, json_t *arr, const char *sep, char *out, size_t size,
                         gp_error *err)
{
    int names = strcmp(key, "split") == 0;
    switch (join_array(arr, json_array_size(arr), names, out, size)) {
    case JOIN_OK:
        return GP_OK;
    case JOIN_BAD_ELEMENT:
        return gp_fail(err, GP_EPARAM, key, "%s%s must be an array of %s, one per shard", key, sep,
                       names ? "names, e.g. [\"chunk\", \"even\"]" : "integers, e.g. [0, 1]");
    case JOIN_TOO_LONG:
        break;
    }
    return gp_fail(err, GP_EPARAM, key, "%s: too many values", key);
}

static int is_list_key(const char *key)
{
    return strcmp(key, "axis") == 0 || strcmp(key, "split") == 0 || strcmp(key, "stride") == 0;
}

static gp_code array_text(const char *key, json_t *v, gpi_json_wording w, char *buf, size_t size,
                          gp_error *err)
{
    const char *sep = wordings[w].sep;
    if (is_list_key(key))
        return list_text(key, v, sep, buf, size, err);
    if (strcmp(key, "shape") == 0)
        return shape_text(v, sep, buf, size, err);
    return gp_fail(err, GP_EPARAM, key, "%.64s%s must be a string or a number, not an array", key,
                   sep);
}

/* The text for v: strings are not copied, *text points into v or into buf (size bytes). */
static gp_code value_text(const char *key, json_t *v, gpi_json_wording w, char *buf, size_t size,
                          const char **text, size_t *len, gp_error *err)
{
    gp_code rc = GP_OK;
    *text = buf;
    switch (json_typeof(v)) {
    case JSON_STRING:
        *text = json_string_value(v);
        *len = json_string_length(v);
        return GP_OK;
    case JSON_INTEGER:
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        rc = gpi_real_json_text(json_real_value(v), buf, key, err);
        break;
    case JSON_ARRAY:
        rc = array_text(key, v, w, buf, size, err);
        break;
    default:
        return gp_fail(err, GP_EPARAM, key, "%.64s%s must be a string or a number%s", key,
                       wordings[w].sep, wordings[w].others);
    }
    if (rc == GP_OK)
        *len = strlen(buf);
    return rc;
}

gp_code gpi_request_set_json_value(gp_request *r, const char *key, size_t key_len, json_t *v,
                                   gpi_json_wording w, gp_error *err)
{
    if (strcmp(key, "shard") == 0 && (json_is_object(v) || json_is_array(v)))
        return gpi_set_shard_json(r, v, err);
    char buf[VALUE_TEXT_MAX];
    _Static_assert(sizeof buf >= GPI_JSON_REAL_TEXT_MAX, "room for a real");
    const char *text = NULL;
    size_t len = 0;
    gp_code rc = value_text(key, v, w, buf, sizeof buf, &text, &len, err);
    if (rc != GP_OK)
        return rc;
    return gp_request_set(r, key, key_len, text, len, err);
}

/* ---- a request body ---------------------------------------------------------------- */

static gp_code set_members(gp_request *r, json_t *root, gp_error *err)
{
    for (void *it = json_object_iter(root); it != NULL; it = json_object_iter_next(root, it)) {
        gp_code rc =
            gpi_request_set_json_value(r, json_object_iter_key(it), json_object_iter_key_len(it),
                                       json_object_iter_value(it), GPI_JSON_BODY, err);
        if (rc != GP_OK)
            return rc;
    }
    return GP_OK;
}

/* The body as a whole: under the structure bound, valid JSON, an object. */
static gp_code load_body(const char *json, size_t len, json_t **root, gp_error *err)
{
    if (gpi_json_structure_count(json, len, GP_JSON_MAX_STRUCTURE) > GP_JSON_MAX_STRUCTURE)
        return gp_fail(err, GP_EPARAM, "",
                       "the body has more than %d JSON values; a request needs a few dozen at "
                       "most",
                       GP_JSON_MAX_STRUCTURE);
    if (len == 0)
        return gp_fail(err, GP_EPARAM, "", "the body is empty: send a JSON object");
    gp_code rc = gpi_json_load(json, len, "",
                               "pass seed as a decimal string, e.g. \"seed\": "
                               "\"18446744073709551615\"",
                               root, err);
    if (rc == GP_OK && !json_is_object(*root))
        rc = gp_fail(err, GP_EPARAM, "",
                     "the body must be a JSON object, e.g. {\"shape\": [256, 512], \"seed\": 42}");
    return rc;
}

gp_code gp_request_set_json(gp_request *r, const char *json, size_t len, int *malformed,
                            gp_error *err)
{
    if (r == NULL || (json == NULL && len != 0))
        abort(); /* misuse: see the contract in glorot_proto.h */
    json_t *root = NULL;
    gp_code rc = load_body(json, len, &root, err);
    if (malformed != NULL)
        *malformed = rc != GP_OK;
    if (rc == GP_OK)
        rc = set_members(r, root, err);
    json_decref(root);
    return rc;
}
