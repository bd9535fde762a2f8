/*
 * page.h - GET / : the request explorer page (server/page.html, embedded at
 * build time by server/tools/page_embed.c) or, for a client that prefers
 * application/json, a small JSON index of the endpoints.
 */
#ifndef GLOROTD_PAGE_H
#define GLOROTD_PAGE_H

#include <stddef.h>

/* Made by server/tools/page_embed.c into $(B)/gen/page_data.c: the page's
 * bytes, its Content-Security-Policy (the SHA-256 of its one inline style
 * and one inline script, nothing else allowed) and its strong ETag (the
 * page's SHA-256, first 16 bytes, hex, quoted). Constant, no I/O. */
extern const unsigned char gd_page_html[];
extern const size_t gd_page_html_len;
extern const char gd_page_csp[];
extern const char gd_page_etag[];

/* 1 when an Accept header value prefers application/json over text/html:
 * application/json named explicitly (not through a wildcard) with a q-value
 * above 0 and above the one text/html gets (from text/html, else text/ *,
 * else * / *). NULL, empty or malformed Accept: 0 (the page). Pure. */
int gd_page_wants_json(const char *accept);

/* The JSON index for the /v1/info document info_json: name, version and one
 * entry per endpoint (href relative to the index, methods, about), one per
 * initializer that info lists (glorot_uniform when it lists none).
 * malloc'd NUL-terminated text, free() it; NULL when out of memory or when
 * info_json is not a JSON object. */
char *gd_page_index_json(const char *info_json);

#endif
