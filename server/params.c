/*
 * params.c - JSON body and Content-Type handling; every value ends up as text
 * in gp_request_set so GET and POST share one validation path.
 */
#include "params.h"

#include <string.h>
#include <strings.h>

int gd_params_set(gp_request *r, const char *key, size_t key_len, const char *value,
                  size_t value_len, gd_error *e)
{
    gp_error g = {0};
    if (gp_request_set(r, key, key_len, value, value_len, &g) == GP_OK)
        return 0;
    return gd_fail_gp(e, &g);
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

int gd_params_json(gp_request *r, const char *body, size_t len, gd_error *e)
{
    gp_error g = {0};
    int malformed = 0;
    if (gp_request_set_json(r, body, len, &malformed, &g) == GP_OK)
        return 0;
    if (malformed)
        return gd_fail(e, GD_ERR_BAD_JSON, g.param, "%s", g.message);
    return gd_fail_gp(e, &g);
}
