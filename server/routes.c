/*
 * routes.c - the table of routes.h.
 */
#include "routes.h"

static const gd_route_spec routes[] = {
    {"/", GD_ROUTE_PAGE, "GET, HEAD", GD_STATS_EP_PAGE,
     "this index; browsers (Accept: text/html) get the request explorer page"},
    {"/v1/info", GD_ROUTE_INFO, "GET, HEAD", GD_STATS_EP_INFO,
     "what this server offers (initializers, dtypes, algorithms) and its limits"},
    {"/v1/digest", GD_ROUTE_DIGEST, "GET, HEAD, POST", GD_STATS_EP_DIGEST,
     "the SHA-256 and length of the body a tensor request gets"},
    {"/v1/batch", GD_ROUTE_BATCH, "POST, HEAD", GD_STATS_EP_BATCH,
     "many tensors in one safetensors file from a JSON manifest"},
    {"/healthz", GD_ROUTE_HEALTHZ, "GET, HEAD", GD_STATS_EP_HEALTHZ, "liveness"},
    {"/readyz", GD_ROUTE_READYZ, "GET, HEAD", GD_STATS_EP_READYZ, "readiness (503 while draining)"},
    {"/metrics", GD_ROUTE_METRICS, "GET, HEAD", GD_STATS_EP_METRICS, "Prometheus counters"},
};

static const gd_route_spec tensor_route = {NULL, GD_ROUTE_TENSOR, "GET, HEAD, POST",
                                           GD_STATS_EP_INIT, "a tensor"};

const gd_route_spec *gd_routes(size_t *count)
{
    *count = sizeof routes / sizeof routes[0];
    return routes;
}

const gd_route_spec *gd_route_tensor(void)
{
    return &tensor_route;
}
