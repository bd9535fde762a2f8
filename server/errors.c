/*
 * errors.c - error records and their JSON bodies.
 */
#include "errors.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The one list of error answers: docs/PROTOCOL.md's table follows it. */
static const gd_error_kind gd_errors[GD_ERR_COUNT] = {
    [GD_ERR_INVALID_PARAMETER] = {400, "invalid_parameter", "invalid parameter", NULL, 0},
    [GD_ERR_BAD_JSON] = {400, "bad_json", "the body is not a JSON object", NULL, 0},
    [GD_ERR_UNAUTHORIZED] = {401, "unauthorized", "this server needs a bearer token",
                             "Bearer realm=\"glorotd\"", 0},
    [GD_ERR_INVALID_TOKEN] = {401, "invalid_token", "not a bearer token this server accepts",
                              "Bearer realm=\"glorotd\", error=\"invalid_token\"", 0},
    [GD_ERR_NOT_FOUND] = {404, "not_found", "no such resource", NULL, 0},
    [GD_ERR_METHOD_NOT_ALLOWED] = {405, "method_not_allowed", "method not allowed here", NULL, 0},
    [GD_ERR_NOT_ACCEPTABLE] = {406, "not_acceptable", "no acceptable format in the Accept header",
                               NULL, 0},
    [GD_ERR_LENGTH_REQUIRED] = {411, "length_required", "POST needs a Content-Length header", NULL,
                                0},
    [GD_ERR_PRECONDITION_FAILED] = {412, "precondition_failed", "If-None-Match matches", NULL, 0},
    [GD_ERR_TOO_LARGE] = {413, "too_large", "exceeds a limit", NULL, 0},
    [GD_ERR_BODY_TOO_LARGE] = {413, "body_too_large", "the body is larger than the limit", NULL, 0},
    [GD_ERR_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported_media_type",
                                       "POST bodies must be application/json", NULL, 0},
    [GD_ERR_RANGE_NOT_SATISFIABLE] = {416, "range_not_satisfiable",
                                      "no byte of the range lies within the body", NULL, 0},
    [GD_ERR_UNSUPPORTED] = {422, "unsupported", "unsupported combination", NULL, 0},
    [GD_ERR_TOO_MANY_REQUESTS] = {429, "too_many_requests", "too many requests at once", NULL, 1},
    [GD_ERR_OUT_OF_MEMORY] = {500, "out_of_memory", "out of memory", NULL, 0},
    [GD_ERR_INTERNAL] = {500, "internal", "internal error", NULL, 0},
    [GD_ERR_BUSY] = {503, "busy", "the server is busy; retry later", NULL, 1},
    [GD_ERR_SHUTTING_DOWN] = {503, "shutting_down", "the server is shutting down; retry later",
                              NULL, 0},
};

const gd_error_kind *gd_error_kind_of(gd_err kind)
{
    return &gd_errors[(size_t)kind < GD_ERR_COUNT ? kind : GD_ERR_INTERNAL];
}

static void record(gd_error *e, gd_err kind, const char *param)
{
    const gd_error_kind *k = gd_error_kind_of(kind);
    e->status = k->status;
    e->kind = k;
    snprintf(e->code, sizeof e->code, "%s", k->code);
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
}

int gd_fail(gd_error *e, gd_err kind, const char *param, const char *fmt, ...)
{
    if (e->status != 0)
        return -1;
    record(e, kind, param);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

int gd_fail_plain(gd_error *e, gd_err kind, const char *param)
{
    return gd_fail(e, kind, param, "%s", gd_error_kind_of(kind)->message);
}

static gd_err kind_for(gp_code code)
{
    switch (code) {
    case GP_EPARAM:
        return GD_ERR_INVALID_PARAMETER;
    case GP_EUNSUPPORTED:
        return GD_ERR_UNSUPPORTED;
    case GP_ELIMIT:
        return GD_ERR_TOO_LARGE;
    case GP_ENOMEM:
        return GD_ERR_OUT_OF_MEMORY;
    case GP_OK:
    case GP_EINTERNAL:
        break;
    }
    return GD_ERR_INTERNAL;
}

unsigned gd_status_for(gp_code code)
{
    return gd_error_kind_of(kind_for(code))->status;
}

int gd_fail_gp(gd_error *e, const gp_error *g)
{
    return gd_fail(e, kind_for(g->code), g->param, "%s",
                   g->message[0] != '\0' ? g->message : gp_strerror(g->code));
}

/* A JSON string for text; bytes that are not valid UTF-8 become '?'
 * (messages may quote request input, and truncation may split a character). */
static json_t *safe_string(const char *text)
{
    json_t *s = json_string(text);
    if (s != NULL)
        return s;
    char copy[512];
    size_t n = strlen(text);
    if (n >= sizeof copy)
        n = sizeof copy - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        copy[i] = ch < 0x80 ? (char)ch : '?';
    }
    copy[n] = '\0';
    return json_string(copy);
}

char *gd_error_json(const gd_error *e)
{
    json_t *body = json_pack("{s:{s:s, s:o?, s:o?}}", "error", "code", e->code, "message",
                             safe_string(e->message), "param", safe_string(e->param));
    if (body == NULL)
        return NULL;
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}
