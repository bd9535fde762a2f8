/*
 * names_internal.h - the enumeration tables of proto/base/names.c as the
 * parsers and their error messages use them. Private to proto/ (prefix gpi_).
 */
#ifndef GLOROT_NAMES_INTERNAL_H
#define GLOROT_NAMES_INTERNAL_H

#include "glorot_proto.h"

#include <stddef.h>

#define GPI_NAMES_TEXT_MAX 160 /* the longest list gpi_names_text writes, with room */

/* The separator before item i of count in "a, b or c": "", ", " or " or ". */
const char *gpi_list_sep(size_t i, size_t count);

/* The canonical names of which as a list for a message, "raw, npy,
 * safetensors or json"; with notes, each name's note and aliases follow it in
 * brackets, "keras (alias jax)". Writes out (cap bytes, NUL-terminated) and
 * returns it. */
const char *gpi_names_text(gp_names_of which, int notes, char *out, size_t cap);

/* The value named v[0..n) (a canonical name or an alias) into *out, or
 * GP_EPARAM for key: "KEY: \"V\" is not supported; use LIST". */
gp_code gpi_parse_name(gp_names_of which, const char *key, const char *v, size_t n, int *out,
                       gp_error *err);

#endif
