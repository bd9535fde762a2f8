/*
 * stats.h - glorotd's process-wide counters, rendered at GET /metrics
 * (metrics.c). Process-wide state, listed in docs/GLOBAL_STATE.md.
 *
 * Every function is thread-safe and lock-free: each counter is a C11 atomic
 * updated with relaxed ordering, so every counter is exact on its own; a
 * snapshot taken while requests run may see one counter of a request updated
 * and another not yet. Histogram buckets are stored per bucket (not
 * cumulative) and _count is their total, so a rendered histogram is always
 * consistent with itself.
 */
#ifndef GLOROTD_STATS_H
#define GLOROTD_STATS_H

#include "glorot_proto.h"

#include <stdint.h>

/* Initializer endpoints: one per row of gp_inits. */
#define GD_STATS_INITS GP_INIT_COUNT

/* The endpoint label of a request; GD_STATS_EP_OTHER for unrouted paths. */
typedef enum {
    GD_STATS_EP_HEALTHZ,
    GD_STATS_EP_READYZ,
    GD_STATS_EP_METRICS,
    GD_STATS_EP_INFO,
    GD_STATS_EP_DIGEST,
    GD_STATS_EP_BATCH,
    GD_STATS_EP_PAGE,
    GD_STATS_EP_OTHER,
    /* /v1/<initializer>: GD_STATS_EP_INIT + its index in gp_inits */
    GD_STATS_EP_INIT,
    GD_STATS_EP_GLOROT = GD_STATS_EP_INIT, /* /v1/glorot_uniform, the first */
    GD_STATS_EP_COUNT = GD_STATS_EP_INIT + GD_STATS_INITS
} gd_stats_endpoint;

/* Why a connection was refused at accept time, before any HTTP: its client
 * is at --max-connections-per-ip, or the client table is full. */
typedef enum {
    GD_STATS_REJECT_PER_IP,
    GD_STATS_REJECT_TABLE_FULL,
    GD_STATS_REJECT_COUNT
} gd_stats_reject;

/* Why a request was answered 429/503 by a limit, not by its content. */
typedef enum {
    GD_STATS_LIMIT_PER_IP, /* 429: too many requests at once from one client */
    GD_STATS_LIMIT_BUSY,   /* 503: the daemon is at --max-requests */
    GD_STATS_LIMIT_COUNT
} gd_stats_limit;

#define GD_STATS_ALG_COUNT 3      /* gp_algorithm values */
#define GD_STATS_DTYPE_COUNT 4    /* gp_dtype values */
#define GD_STATS_STATUS_SLOTS 600 /* statuses 0..599; anything else counts as 0 */
#define GD_STATS_BUCKETS 13       /* request-duration bounds, then +Inf */

/* Upper bounds of the duration buckets, in seconds (the last is +Inf). */
extern const double gd_stats_bucket_bounds[GD_STATS_BUCKETS - 1];

/* Monotonic clock in nanoseconds, for durations passed to the functions below. */
uint64_t gd_stats_now_ns(void);

/* Elements of a tensor produced with algorithm a and dtype d, counted once
 * per element handed to a client (called by the streaming code). Out-of-range
 * enum values are ignored. */
void gd_stats_add_generated(gp_algorithm a, gp_dtype d, uint64_t elements);

/* Wall time spent producing tensor bytes with algorithm a (ns). */
void gd_stats_add_generation_ns(gp_algorithm a, uint64_t ns);

/* A finished request: status (0 = none was sent), body bytes sent, and its
 * duration from the request headers to the end of the answer (ns). */
void gd_stats_request_done(gd_stats_endpoint ep, unsigned status, uint64_t bytes,
                           uint64_t duration_ns);

/* Connections: opened/closed keep the open gauge, rejected counts refusals. */
void gd_stats_connection_opened(void);
void gd_stats_connection_closed(void);
void gd_stats_connection_rejected(gd_stats_reject why);

/* A request refused by a limit (also counted by gd_stats_request_done). */
void gd_stats_request_limited(gd_stats_limit why);

/* Plain copy of every counter (for rendering and tests). */
typedef struct {
    uint64_t requests[GD_STATS_EP_COUNT][GD_STATS_STATUS_SLOTS];
    uint64_t bytes_sent[GD_STATS_EP_COUNT];
    uint64_t duration_buckets[GD_STATS_EP_COUNT][GD_STATS_BUCKETS]; /* per bucket, not cumulative */
    uint64_t duration_ns[GD_STATS_EP_COUNT];
    uint64_t elements[GD_STATS_ALG_COUNT][GD_STATS_DTYPE_COUNT];
    uint64_t generation_ns[GD_STATS_ALG_COUNT];
    int64_t connections_open;
    uint64_t connections_rejected[GD_STATS_REJECT_COUNT];
    uint64_t requests_limited[GD_STATS_LIMIT_COUNT];
} gd_stats_snapshot;

/* Copy the counters into out (about 40 KiB: allocate it, do not put it on a
 * small stack). */
void gd_stats_snapshot_take(gd_stats_snapshot *out);

/* Label texts: "/v1/glorot_uniform", "per_ip", "busy". Never NULL. */
const char *gd_stats_endpoint_name(gd_stats_endpoint ep);
const char *gd_stats_reject_name(gd_stats_reject why);
const char *gd_stats_limit_name(gd_stats_limit why);

/* Index of the first bucket whose bound is >= ns (GD_STATS_BUCKETS - 1 = +Inf). */
unsigned gd_stats_bucket_for(uint64_t ns);

#endif
