/*
 * request_internal.h - helpers shared by proto/request/request.c, proto/request/gain.c and
 * proto/request/fan.c. Private to proto/ (prefix gpi_); not part of the contract.
 */
#ifndef GLOROT_REQUEST_INTERNAL_H
#define GLOROT_REQUEST_INTERNAL_H

#include "base/real_internal.h" /* decimal numbers */
#include "base/text_internal.h" /* digits, gpi_quote */
#include "glorot_proto.h"

#include <stddef.h>
#include <stdint.h>

/* *out = a * b. Returns 0, or -1 (leaving *out untouched) if the product
 * does not fit in uint64_t. */
int gpi_mul_u64(uint64_t a, uint64_t b, uint64_t *out);

/* *out = a + b. Returns 0, or -1 (leaving *out untouched) on overflow. */
int gpi_add_u64(uint64_t a, uint64_t b, uint64_t *out);

/* Parse a `gain` value (not NUL-terminated, no NUL inside): a decimal number
 * >= 0 or a calculate_gain nonlinearity name. On success writes the gain and
 * its canonical text (NUL-terminated, cap >= 48) and returns GP_OK; on error
 * returns GP_EPARAM (GP_ENOMEM if no C locale) with param "gain", and the
 * outputs hold nothing meaningful. */
gp_code gpi_parse_gain(const char *v, size_t n, double *gain, char *spec, size_t cap,
                       gp_error *err);

/* Setters for slice, shard, axis, split and stride (slice.c, shard.c): the
 * text is checked and kept in r; nothing is resolved until gpi_resolve_part.
 * GP_EPARAM on bad text, leaving r untouched. */
gp_code gpi_set_slice(gp_request *r, const char *v, size_t n, gp_error *err);
gp_code gpi_set_shard(gp_request *r, const char *v, size_t n, gp_error *err);
gp_code gpi_set_axis(gp_request *r, const char *v, size_t n, gp_error *err);
gp_code gpi_set_split(gp_request *r, const char *v, size_t n, gp_error *err);
gp_code gpi_set_stride(gp_request *r, const char *v, size_t n, gp_error *err);

/* An optional '-' then decimal digits, |value| <= 2^63-1. 0 or -1. */
int gpi_parse_index(const char *s, size_t n, int64_t *out);

/* Resolve the part r selects (r->shape known): part_start/part_stop, the
 * pieces, out_shape, out_numel, out_nbytes, partial. given[0..2]: the keys
 * axis, split and stride were set. GP_EPARAM for slice with shard, axis,
 * split or stride without shard, too many slice axes, pieces past an axis,
 * an axis out of range, counts that do not match the shards, split=even on
 * an axis WORLD x stride does not divide, a stride without split=even. */
gp_code gpi_resolve_part(gp_request *r, const int given[3], gp_error *err);

/* The shards of r applied in order to its part (shard.c; called by
 * gpi_resolve_part with every axis whole). */
gp_code gpi_resolve_shards(gp_request *r, gp_error *err);

/* The JSON forms of `shard` (a "R/W,..." string, an object with rank, world
 * and optionally axis, split and stride, or a list of such objects) as
 * gp_request_set calls for shard, axis, split and stride. */
struct json_t;
gp_code gpi_set_shard_json(gp_request *r, struct json_t *v, gp_error *err);

/* ---- request.c --------------------------------------------------------------- */

/* fn(r, k, item, len, err) for each comma-separated item of v[0..n) in order
 * (k from 0; an empty item is passed as one), stopping at fn's first error,
 * which it returns. After max items it reads no further: *count is then
 * max + 1, so the caller words its own "too many"; else the item count. */
typedef gp_code (*gpi_item_fn)(gp_request *r, size_t k, const char *s, size_t n, gp_error *err);
gp_code gpi_each_item(gp_request *r, const char *v, size_t n, size_t max, gpi_item_fn fn,
                      size_t *count, gp_error *err);

/* fan_in / fan_out from the shape, the convention and the overrides.
 * GP_EPARAM on overflow. */
gp_code gpi_resolve_fans(gp_request *r, gp_error *err);

/* ---- init.c: the initializers ------------------------------------------------ */

/* Setters of init and of an initializer's own parameter i (gp_init_param(i):
 * mode, low, high, ...; not gain, which request.c sets): the text is checked
 * and kept, and the initializer decides at finish whether it takes it. */
gp_code gpi_set_init(gp_request *r, const char *v, size_t n, gp_error *err);
gp_code gpi_set_init_param(gp_request *r, size_t i, const char *v, size_t n, gp_error *err);

/* The initializer fields' defaults (gp_request_init). */
void gpi_init_defaults(gp_request *r);

/* At finish (shape and numel known): the initializer's rank range, the keys
 * it takes, its parameters' checks, the fans (initializers with fans only;
 * 0 otherwise), the limit and the dist_* fields, each finite in the dtype. */
gp_code gpi_resolve_init(gp_request *r, gp_error *err);

/* For the canonical form: when r's initializer takes key, its resolved text
 * (gain spec, mode name, shortest decimal) into out and 1; else 0. */
#define GPI_PARAM_TEXT_MAX 48
int gpi_init_param_text(const gp_request *r, const char *key, char out[GPI_PARAM_TEXT_MAX]);

/* 1 when the initializer takes key (one of its own parameters). */
int gpi_init_takes(const gp_init_info *in, const char *key);

/* 1 when r's initializer draws random numbers (not constant or identity). */
int gpi_init_is_random(const gp_request *r);

/* 1 when r's initializer computes fans (glorot_*, he_*). */
int gpi_init_has_fans(const gp_request *r);

/* ---- request_json.c: JSON values as gp_request_set text ----------------------- */

/* Whose wording errors take: a request body ("shape must be ...", naming
 * true, false, null and objects) or a batch manifest ("shape: must be ..."). */
typedef enum { GPI_JSON_BODY, GPI_JSON_MANIFEST } gpi_json_wording;

/* gp_request_set(key, text of v): a string as it is, an integer in decimal,
 * a real as gpi_real_json_text, shape as "256,512" from an array of integers
 * (at most GP_MAX_RANK + 1 of them, so gp_request_set reports the rank),
 * axis and stride from arrays of integers and split from an array of names
 * ("0,1", "chunk,even"); shard as an object or a list of them goes to
 * gpi_set_shard_json. Other types are GP_EPARAM naming key (a NUL-terminated
 * string; key_len bytes go to gp_request_set), worded as w says. */
gp_code gpi_request_set_json_value(gp_request *r, const char *key, size_t key_len, struct json_t *v,
                                   gpi_json_wording w, gp_error *err);

/* json_loadb of buf[0..len) with duplicate keys refused; the caller
 * json_decrefs *root. GP_EPARAM naming param: "invalid JSON at line L, column
 * C: ...", or for an integer beyond int64 "number out of range at line L,
 * column C: JSON integers above 9223372036854775807 are not accepted; " and
 * seed_hint. */
gp_code gpi_json_load(const char *buf, size_t len, const char *param, const char *seed_hint,
                      struct json_t **root, gp_error *err);

/* Count JSON structure characters ({ [ : ,) outside strings in s[0..len),
 * stopping once the count passes stop_at. jansson spends ~40 bytes per value,
 * so bodies are bounded by this count BEFORE they are parsed: a 1 MiB body of
 * tiny values would otherwise cost ~20 MiB. */
size_t gpi_json_structure_count(const char *s, size_t len, size_t stop_at);

/* Append item to the list in out (cap bytes, NUL-terminated), after ", "
 * unless out is empty; what does not fit is cut. For the lists of known keys
 * in error messages, built from the key tables themselves. */
void gpi_list_add(char *out, size_t cap, const char *item);

#endif /* GLOROT_REQUEST_INTERNAL_H */
