/*
 * routes.h - every path glorotd answers, in one table: routing and the Allow
 * header of a 405 (http.c), the JSON index of / (page.c) and the endpoint
 * labels of /metrics (stats.c) all read it.
 */
#ifndef GLOROTD_ROUTES_H
#define GLOROTD_ROUTES_H

#include "stats.h"

#include <stddef.h>

typedef enum {
    GD_ROUTE_NONE,
    GD_ROUTE_HEALTHZ,
    GD_ROUTE_INFO,
    GD_ROUTE_TENSOR, /* /v1/<initializer> */
    GD_ROUTE_READYZ,
    GD_ROUTE_METRICS,
    GD_ROUTE_DIGEST,
    GD_ROUTE_BATCH,
    GD_ROUTE_PAGE
} gd_route;

typedef struct {
    const char *path; /* "/v1/info"; NULL for the tensor route */
    gd_route route;
    const char *allow;          /* methods, as a 405's Allow header lists them */
    gd_stats_endpoint endpoint; /* its /metrics label */
    const char *about;          /* what the index of / says of it */
} gd_route_spec;

/* The fixed paths, in the order the index of / lists them; *count receives
 * how many. Static; never NULL. */
const gd_route_spec *gd_routes(size_t *count);

/* The route of /v1/<name> for every initializer of gp_inits (its endpoint
 * label is GD_STATS_EP_INIT; the initializer's own is added to it). */
const gd_route_spec *gd_route_tensor(void);

#endif
