/*
 * stats.c - the process-wide counters behind /metrics (see stats.h).
 */
#include "stats.h"
#include "routes.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <stdatomic.h>
#include <time.h>

#define ADD(counter, n) atomic_fetch_add_explicit(&(counter), (n), memory_order_relaxed)
#define GET(counter) atomic_load_explicit(&(counter), memory_order_relaxed)

const double gd_stats_bucket_bounds[GD_STATS_BUCKETS - 1] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
                                                             1,     5,     10,   30,   60,  300};

/* The bounds in nanoseconds, so bucketing is integer-exact. */
static const uint64_t bucket_ns[GD_STATS_BUCKETS - 1] = {
    UINT64_C(1000000),     UINT64_C(5000000),     UINT64_C(10000000),    UINT64_C(50000000),
    UINT64_C(100000000),   UINT64_C(500000000),   UINT64_C(1000000000),  UINT64_C(5000000000),
    UINT64_C(10000000000), UINT64_C(30000000000), UINT64_C(60000000000), UINT64_C(300000000000)};

static struct {
    _Atomic uint64_t requests[GD_STATS_EP_COUNT][GD_STATS_STATUS_SLOTS];
    _Atomic uint64_t bytes_sent[GD_STATS_EP_COUNT];
    _Atomic uint64_t duration_buckets[GD_STATS_EP_COUNT][GD_STATS_BUCKETS];
    _Atomic uint64_t duration_ns[GD_STATS_EP_COUNT];
    _Atomic uint64_t elements[GD_STATS_ALG_COUNT][GD_STATS_DTYPE_COUNT];
    _Atomic uint64_t generation_ns[GD_STATS_ALG_COUNT];
    _Atomic int64_t connections_open;
    _Atomic uint64_t connections_rejected[GD_STATS_REJECT_COUNT];
    _Atomic uint64_t requests_limited[GD_STATS_LIMIT_COUNT];
} counters; /* zero-initialised: static storage */

uint64_t gd_stats_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * UINT64_C(1000000000) + (uint64_t)t.tv_nsec;
}

void gd_stats_add_generated(gp_algorithm a, gp_dtype d, uint64_t elements)
{
    if ((unsigned)a < GD_STATS_ALG_COUNT && (unsigned)d < GD_STATS_DTYPE_COUNT)
        ADD(counters.elements[a][d], elements);
}

void gd_stats_add_generation_ns(gp_algorithm a, uint64_t ns)
{
    if ((unsigned)a < GD_STATS_ALG_COUNT)
        ADD(counters.generation_ns[a], ns);
}

unsigned gd_stats_bucket_for(uint64_t ns)
{
    unsigned i = 0;
    while (i < GD_STATS_BUCKETS - 1 && ns > bucket_ns[i])
        i++;
    return i;
}

void gd_stats_request_done(gd_stats_endpoint ep, unsigned status, uint64_t bytes,
                           uint64_t duration_ns)
{
    if ((unsigned)ep >= GD_STATS_EP_COUNT)
        ep = GD_STATS_EP_OTHER;
    ADD(counters.requests[ep][status < GD_STATS_STATUS_SLOTS ? status : 0], 1);
    ADD(counters.bytes_sent[ep], bytes);
    ADD(counters.duration_buckets[ep][gd_stats_bucket_for(duration_ns)], 1);
    ADD(counters.duration_ns[ep], duration_ns);
}

void gd_stats_connection_opened(void)
{
    ADD(counters.connections_open, 1);
}

void gd_stats_connection_closed(void)
{
    atomic_fetch_sub_explicit(&counters.connections_open, 1, memory_order_relaxed);
}

void gd_stats_connection_rejected(gd_stats_reject why)
{
    if ((unsigned)why < GD_STATS_REJECT_COUNT)
        ADD(counters.connections_rejected[why], 1);
}

void gd_stats_request_limited(gd_stats_limit why)
{
    if ((unsigned)why < GD_STATS_LIMIT_COUNT)
        ADD(counters.requests_limited[why], 1);
}

void gd_stats_snapshot_take(gd_stats_snapshot *out)
{
    for (unsigned e = 0; e < GD_STATS_EP_COUNT; e++) {
        for (unsigned s = 0; s < GD_STATS_STATUS_SLOTS; s++)
            out->requests[e][s] = GET(counters.requests[e][s]);
        for (unsigned b = 0; b < GD_STATS_BUCKETS; b++)
            out->duration_buckets[e][b] = GET(counters.duration_buckets[e][b]);
        out->bytes_sent[e] = GET(counters.bytes_sent[e]);
        out->duration_ns[e] = GET(counters.duration_ns[e]);
    }
    for (unsigned a = 0; a < GD_STATS_ALG_COUNT; a++) {
        for (unsigned d = 0; d < GD_STATS_DTYPE_COUNT; d++)
            out->elements[a][d] = GET(counters.elements[a][d]);
        out->generation_ns[a] = GET(counters.generation_ns[a]);
    }
    out->connections_open = GET(counters.connections_open);
    for (unsigned r = 0; r < GD_STATS_REJECT_COUNT; r++)
        out->connections_rejected[r] = GET(counters.connections_rejected[r]);
    for (unsigned l = 0; l < GD_STATS_LIMIT_COUNT; l++)
        out->requests_limited[l] = GET(counters.requests_limited[l]);
}

/* "/v1/" + the initializer's wire name, built once. */
static char init_paths[GD_STATS_INITS][32];
static pthread_once_t init_paths_once = PTHREAD_ONCE_INIT;

static void build_init_paths(void)
{
    size_t count;
    const gp_init_info *inits = gp_inits(&count); /* count == GD_STATS_INITS: init.c checks it */
    for (size_t i = 0; i < count; i++)
        snprintf(init_paths[i], sizeof init_paths[i], "/v1/%s", inits[i].name);
}

const char *gd_stats_endpoint_name(gd_stats_endpoint ep)
{
    if ((unsigned)ep < GD_STATS_EP_INIT) {
        size_t count;
        const gd_route_spec *routes = gd_routes(&count);
        for (size_t i = 0; i < count; i++)
            if (routes[i].endpoint == ep)
                return routes[i].path;
        return "other";
    }
    if ((unsigned)ep >= GD_STATS_EP_COUNT)
        return "other";
    pthread_once(&init_paths_once, build_init_paths);
    return init_paths[ep - GD_STATS_EP_INIT];
}

const char *gd_stats_reject_name(gd_stats_reject why)
{
    static const char *const names[GD_STATS_REJECT_COUNT] = {"per_ip", "table_full"};
    return (unsigned)why < GD_STATS_REJECT_COUNT ? names[why] : "unknown";
}

const char *gd_stats_limit_name(gd_stats_limit why)
{
    static const char *const names[GD_STATS_LIMIT_COUNT] = {"per_ip", "busy"};
    return (unsigned)why < GD_STATS_LIMIT_COUNT ? names[why] : "unknown";
}
