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

/* Apply a JSON object body (len bytes, need not be NUL-terminated): each
 * member becomes gp_request_set(key, text of value). Errors: 400 bad_json
 * (empty, invalid, duplicate keys, not an object, integer out of range, more
 * than 256 structural characters - { [ : , - outside strings, checked before
 * parsing so a body cannot make jansson allocate ~20x its size),
 * 400 invalid_parameter naming the key (true/false/null/object, arrays other
 * than shape), then whatever gp_request_set reports. Returns 0 or -1. */
int gd_params_json(gp_request *r, const char *body, size_t len, gd_error *e);

/* 1 if a Content-Type value is application/json (any case, optional
 * parameters; a charset parameter must name utf-8), else 0. NULL gives 0. */
int gd_params_is_json(const char *content_type);

/* Text of a JSON real that never reads as an integer: "%.17g", plus ".0"
 * when it has no '.', 'e', "inf" or "nan". Writes at most size bytes. */
void gd_params_real_text(double v, char *out, size_t size);

#endif
