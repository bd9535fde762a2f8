/*
 * metrics.h - the Prometheus text exposition (format 0.0.4) of glorotd's
 * counters. Rendering is separate from the HTTP glue so it can be tested
 * without a socket.
 */
#ifndef GLOROTD_METRICS_H
#define GLOROTD_METRICS_H

#include "stats.h"

#include <stddef.h>
#include <stdint.h>

/* Values that are state, not counters: read from the server at render time. */
typedef struct {
    long downloads_in_flight;
    int ready; /* 1 until a stop signal */
    /* digest jobs (jobs.h) */
    unsigned digest_jobs_running;
    uint64_t digest_jobs_started, digest_jobs_refused, digest_cache_hits;
} gd_metrics_gauges;

#define GD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The exposition text for s and g: HELP and TYPE lines, then the samples.
 * Returns a malloc'd NUL-terminated string (free() it) of *len bytes, NULL
 * when out of memory. No I/O; thread-safe. */
char *gd_metrics_render(const gd_stats_snapshot *s, const gd_metrics_gauges *g, size_t *len);

#endif
