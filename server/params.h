/*
 * params.h - request parameters from the query string and the JSON body, all
 * funnelled into gp_request_set (one validation path). No I/O.
 */
#ifndef GLOROTD_PARAMS_H
#define GLOROTD_PARAMS_H

#include "errors.h"
#include "glorot_proto.h"

#include <stddef.h>

/* gp_request_set with the error converted. Returns 0 or -1 (e filled). */
int gd_params_set(gp_request *r, const char *key, size_t key_len, const char *value,
                  size_t value_len, gd_error *e);

/* Apply a JSON object body (len bytes, need not be NUL-terminated) with
 * gp_request_set_json. Errors: 400 bad_json when the body itself is refused
 * (empty, invalid, duplicate keys, not an object, integer out of range, more
 * than GP_JSON_MAX_STRUCTURE structural characters), else what proto reports
 * (400 invalid_parameter naming the key, ...). Returns 0 or -1. */
int gd_params_json(gp_request *r, const char *body, size_t len, gd_error *e);

/* 1 if a Content-Type value is application/json (any case, optional
 * parameters; a charset parameter must name utf-8), else 0. NULL gives 0. */
int gd_params_is_json(const char *content_type);

#endif
