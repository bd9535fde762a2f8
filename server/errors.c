/*
 * errors.c - error records and their JSON bodies.
 */
#include "errors.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int gd_fail(gd_error *e, unsigned status, const char *code, const char *param, const char *fmt, ...)
{
    if (e->status != 0)
        return -1;
    e->status = status;
    snprintf(e->code, sizeof e->code, "%s", code);
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

unsigned gd_status_for(gp_code code)
{
    switch (code) {
    case GP_EPARAM:
        return 400;
    case GP_EUNSUPPORTED:
        return 422;
    case GP_ELIMIT:
        return 413;
    case GP_OK:
    case GP_ENOMEM:
    case GP_EINTERNAL:
        break;
    }
    return 500;
}

int gd_fail_gp(gd_error *e, const gp_error *g)
{
    return gd_fail(e, gd_status_for(g->code), gp_code_name(g->code), g->param, "%s",
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
