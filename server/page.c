/*
 * page.c - GET / : the request explorer page, or a JSON index of the
 * endpoints for a client that asks for application/json.
 *
 * The page is static: the same bytes for every client and every
 * configuration (it learns the server's offer from /v1/info in the browser),
 * so it needs no token even with --token-file; the API calls it makes carry
 * the token the user types in. It is sent with a Content-Security-Policy
 * that allows only its own inline style and script (by hash), requests to
 * its own origin and nothing else.
 */
#include "page.h"
#include "server.h"
#include "tensor.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

/* ---- Accept ------------------------------------------------------------------ */

#define QMAX 1000 /* q-values in thousandths */

/* q-value text (v[0..n)): "1", "0.5", ".5", "1.000"; -1 when malformed. */
static int parse_q(const char *v, size_t n)
{
    size_t i = 0;
    int whole = 0, frac = 0, digits = 0;
    if (i < n && (v[i] == '0' || v[i] == '1'))
        whole = v[i++] - '0';
    else if (n == 0 || v[0] != '.')
        return -1;
    if (i < n && v[i] == '.')
        for (i++; i < n && v[i] >= '0' && v[i] <= '9' && digits < 3; i++, digits++)
            frac = frac * 10 + (v[i] - '0');
    if (i != n)
        return -1;
    for (; digits < 3; digits++)
        frac *= 10;
    int q = whole * QMAX + frac;
    return q <= QMAX ? q : -1;
}

static int is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The q of one media range s[0..n) ("type/sub;a=b;q=0.5"), 1000 when none
 * is given, -1 when malformed. */
static int range_q(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] != ';')
        i++;
    while (i < n) { /* at a ';' */
        size_t from = i + 1;
        while (from < n && is_ows(s[from]))
            from++;
        size_t to = from;
        while (to < n && s[to] != ';')
            to++;
        size_t stop = to;
        while (stop > from && is_ows(s[stop - 1]))
            stop--;
        if (stop - from >= 2 && (s[from] == 'q' || s[from] == 'Q') && s[from + 1] == '=')
            return parse_q(s + from + 2, stop - from - 2);
        i = to;
    }
    return QMAX;
}

static int type_is(const char *s, size_t n, const char *type)
{
    return strlen(type) == n && strncasecmp(s, type, n) == 0;
}

typedef struct {
    int json, html, text_any, any; /* q per range kind, -1 = not named */
} accept_scores;

static void score_range(accept_scores *a, const char *s, size_t n)
{
    while (n > 0 && is_ows(*s))
        s++, n--;
    const char *semi = memchr(s, ';', n);
    size_t type_len = semi != NULL ? (size_t)(semi - s) : n;
    while (type_len > 0 && is_ows(s[type_len - 1]))
        type_len--;
    int q = range_q(s, n);
    if (q < 0 || type_len == 0)
        return;
    int *slot = type_is(s, type_len, "application/json")                   ? &a->json
                : type_is(s, type_len, "text/html")                        ? &a->html
                : type_is(s, type_len, "text/*")                           ? &a->text_any
                : type_is(s, type_len, "*/*") || type_is(s, type_len, "*") ? &a->any
                                                                           : NULL;
    if (slot != NULL && q > *slot)
        *slot = q;
}

int gd_page_wants_json(const char *accept)
{
    if (accept == NULL)
        return 0;
    accept_scores a = {-1, -1, -1, -1};
    const char *p = accept;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        score_range(&a, p, n);
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    int html = a.html >= 0 ? a.html : a.text_any >= 0 ? a.text_any : a.any >= 0 ? a.any : 0;
    return a.json > 0 && a.json > html;
}

/* ---- the JSON index ------------------------------------------------------------ */

/* "GET, HEAD, POST" as ["GET", "HEAD", "POST"]. */
static json_t *methods(const char *list)
{
    json_t *a = json_array();
    for (const char *p = list; a != NULL && *p != '\0';) {
        size_t n = strcspn(p, ", ");
        if (n > 0)
            json_array_append_new(a, json_stringn(p, n));
        p += n;
        p += strspn(p, ", ");
    }
    return a;
}

static int add_endpoint(json_t *list, const char *href, const char *allow, const char *about)
{
    json_t *e =
        json_pack("{s:s, s:o?, s:s}", "href", href, "methods", methods(allow), "about", about);
    return e != NULL ? json_array_append_new(list, e) : -1;
}

/* One entry per initializer /v1/info lists; glorot_uniform for a server
 * whose info has no "initializers" (one that serves only that). */
static int add_initializers(json_t *list, json_t *info)
{
    json_t *inits = json_object_get(info, "initializers");
    if (!json_is_array(inits) || json_array_size(inits) == 0)
        return add_endpoint(list, "v1/glorot_uniform", gd_route_tensor()->allow,
                            "a tensor: Glorot (Xavier) uniform");
    size_t i;
    json_t *it;
    json_array_foreach(inits, i, it)
    {
        const char *name = json_string_value(json_object_get(it, "name"));
        const char *dist = json_string_value(json_object_get(it, "distribution"));
        if (name == NULL)
            continue;
        char href[96], about[160];
        snprintf(href, sizeof href, "v1/%s", name);
        snprintf(about, sizeof about, "a tensor: initializer %s (%s distribution)", name,
                 dist != NULL ? dist : "see /v1/info");
        if (add_endpoint(list, href, gd_route_tensor()->allow, about) != 0)
            return -1;
    }
    return 0;
}

static int add_fixed(json_t *list)
{
    size_t count;
    const gd_route_spec *routes = gd_routes(&count);
    for (size_t i = 0; i < count; i++) {
        const char *href = strcmp(routes[i].path, "/") == 0 ? "./" : routes[i].path + 1;
        if (add_endpoint(list, href, routes[i].allow, routes[i].about) != 0)
            return -1;
    }
    return 0;
}

char *gd_page_index_json(const char *info_json)
{
    json_t *info = json_loads(info_json, 0, NULL);
    json_t *list = json_array();
    json_t *doc = NULL;
    char *text = NULL;
    if (!json_is_object(info) || list == NULL || add_fixed(list) != 0 ||
        add_initializers(list, info) != 0)
        goto out;
    doc = json_pack("{s:O?, s:O?, s:O}", "name", json_object_get(info, "name"), "version",
                    json_object_get(info, "version"), "endpoints", list);
    if (doc != NULL)
        text = json_dumps(doc, JSON_COMPACT);
out:
    json_decref(doc);
    json_decref(list);
    json_decref(info);
    return text;
}

/* ---- answers ------------------------------------------------------------------ */

static int add_headers(struct MHD_Response *r, const char *const kv[][2], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (MHD_add_response_header(r, kv[i][0], kv[i][1]) != MHD_YES)
            return -1;
    return 0;
}

/* Headers of the page, its 304 included (RFC 9110 15.4.5: the validators
 * and caching headers a 200 would carry). */
static int page_headers(struct MHD_Response *r)
{
    static const char *const kv[][2] = {
        {MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8"},
        {"Content-Security-Policy", gd_page_csp},
        {MHD_HTTP_HEADER_ETAG, gd_page_etag},
        /* revalidate every time: a new glorotd may serve a new page */
        {MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache"},
        {MHD_HTTP_HEADER_VARY, "Accept"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
    };
    return add_headers(r, kv, sizeof kv / sizeof kv[0]);
}

static int check_none_match(void *user, const char *value, size_t len)
{
    int *match = user;
    *match |= gp_etag_none_match(value, len, gd_page_etag);
    return *match;
}

static enum MHD_Result page_reply(struct MHD_Connection *c, gd_req *req)
{
    int match = 0;
    gd_header_values(c, MHD_HTTP_HEADER_IF_NONE_MATCH, check_none_match, &match);
    struct MHD_Response *r =
        match ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
              : MHD_create_response_from_buffer(gd_page_html_len, (void *)gd_page_html,
                                                MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    if (page_headers(r) != 0) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    if (match)
        return gd_queue(c, req, MHD_HTTP_NOT_MODIFIED, r, 0);
    return gd_queue(c, req, MHD_HTTP_OK, r, gd_page_html_len);
}

static enum MHD_Result index_reply(struct MHD_Connection *c, gd_req *req)
{
    char *text = gd_page_index_json(req->srv->info_json);
    if (text == NULL)
        return MHD_NO;
    size_t len = strlen(text);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    static const char *const kv[][2] = {
        {MHD_HTTP_HEADER_CONTENT_TYPE, "application/json"},
        {MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache"},
        {MHD_HTTP_HEADER_VARY, "Accept"},
    };
    if (add_headers(r, kv, sizeof kv / sizeof kv[0]) != 0) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return gd_queue(c, req, MHD_HTTP_OK, r, len);
}

enum MHD_Result gd_page_respond(struct MHD_Connection *c, gd_req *req)
{
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    return gd_page_wants_json(accept) ? index_reply(c, req) : page_reply(c, req);
}
