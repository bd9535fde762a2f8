/*
 * metrics.c - the /metrics text (see metrics.h). No libmicrohttpd here: the
 * reply is queued by reply.c.
 */
#include "metrics.h"

#include "glorot_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing text buffer; after the first failed allocation every append is a
 * no-op and oom stays set. */
typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} mtext;

static void add(mtext *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void add(mtext *t, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !t->oom; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 > t->len + (size_t)n + 1 ? t->cap * 2 : t->len + (size_t)n + 1;
        char *bigger = realloc(t->buf, cap);
        if (bigger == NULL) {
            t->oom = 1;
            return;
        }
        t->buf = bigger;
        t->cap = cap;
    }
}

static void family(mtext *t, const char *name, const char *type, const char *help)
{
    add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t endpoint_requests(const gd_stats_snapshot *s, unsigned e)
{
    uint64_t n = 0;
    for (unsigned b = 0; b < GD_STATS_BUCKETS; b++)
        n += s->duration_buckets[e][b];
    return n;
}

static void requests(mtext *t, const gd_stats_snapshot *s)
{
    family(t, "glorotd_requests_total", "counter",
           "Requests completed, by endpoint and HTTP status (0: the client left before an "
           "answer).");
    for (unsigned e = 0; e < GD_STATS_EP_COUNT; e++)
        for (unsigned st = 0; st < GD_STATS_STATUS_SLOTS; st++)
            if (s->requests[e][st] != 0)
                add(t, "glorotd_requests_total{endpoint=\"%s\",status=\"%u\"} %llu\n",
                    gd_stats_endpoint_name((gd_stats_endpoint)e), st,
                    (unsigned long long)s->requests[e][st]);
    family(t, "glorotd_response_bytes_total", "counter",
           "Response body bytes handed to clients, by endpoint.");
    for (unsigned e = 0; e < GD_STATS_EP_COUNT; e++)
        if (endpoint_requests(s, e) != 0)
            add(t, "glorotd_response_bytes_total{endpoint=\"%s\"} %llu\n",
                gd_stats_endpoint_name((gd_stats_endpoint)e), (unsigned long long)s->bytes_sent[e]);
}

static void durations(mtext *t, const gd_stats_snapshot *s)
{
    family(t, "glorotd_request_duration_seconds", "histogram",
           "Time from the request headers to the end of the answer, by endpoint.");
    for (unsigned e = 0; e < GD_STATS_EP_COUNT; e++) {
        uint64_t total = endpoint_requests(s, e), cumulative = 0;
        if (total == 0)
            continue;
        const char *ep = gd_stats_endpoint_name((gd_stats_endpoint)e);
        for (unsigned b = 0; b + 1 < GD_STATS_BUCKETS; b++) {
            cumulative += s->duration_buckets[e][b];
            add(t, "glorotd_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n", ep,
                gd_stats_bucket_bounds[b], (unsigned long long)cumulative);
        }
        add(t, "glorotd_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n", ep,
            (unsigned long long)total);
        add(t, "glorotd_request_duration_seconds_sum{endpoint=\"%s\"} %.9f\n", ep,
            (double)s->duration_ns[e] / 1e9);
        add(t, "glorotd_request_duration_seconds_count{endpoint=\"%s\"} %llu\n", ep,
            (unsigned long long)total);
    }
}

static void generation(mtext *t, const gd_stats_snapshot *s)
{
    family(t, "glorotd_generated_elements_total", "counter",
           "Tensor elements handed to clients, by algorithm and dtype.");
    for (unsigned a = 0; a < GD_STATS_ALG_COUNT; a++)
        for (unsigned d = 0; d < GD_STATS_DTYPE_COUNT; d++)
            add(t, "glorotd_generated_elements_total{algorithm=\"%s\",dtype=\"%s\"} %llu\n",
                gp_algorithm_name((gp_algorithm)a), gp_dtype_name((gp_dtype)d),
                (unsigned long long)s->elements[a][d]);
    family(t, "glorotd_generation_seconds_total", "counter",
           "Time spent producing tensor bytes, by algorithm.");
    for (unsigned a = 0; a < GD_STATS_ALG_COUNT; a++)
        add(t, "glorotd_generation_seconds_total{algorithm=\"%s\"} %.9f\n",
            gp_algorithm_name((gp_algorithm)a), (double)s->generation_ns[a] / 1e9);
}

static void connections(mtext *t, const gd_stats_snapshot *s, const gd_metrics_gauges *g)
{
    family(t, "glorotd_open_connections", "gauge", "Client connections open now.");
    add(t, "glorotd_open_connections %lld\n", (long long)s->connections_open);
    family(t, "glorotd_rejected_connections_total", "counter",
           "Connections closed at accept, before any HTTP, by reason.");
    for (unsigned r = 0; r < GD_STATS_REJECT_COUNT; r++)
        add(t, "glorotd_rejected_connections_total{reason=\"%s\"} %llu\n",
            gd_stats_reject_name((gd_stats_reject)r),
            (unsigned long long)s->connections_rejected[r]);
    family(t, "glorotd_limited_requests_total", "counter",
           "Requests refused by a concurrency limit (429 per_ip, 503 busy).");
    for (unsigned l = 0; l < GD_STATS_LIMIT_COUNT; l++)
        add(t, "glorotd_limited_requests_total{reason=\"%s\"} %llu\n",
            gd_stats_limit_name((gd_stats_limit)l), (unsigned long long)s->requests_limited[l]);
    family(t, "glorotd_downloads_in_flight", "gauge", "Tensor responses being streamed now.");
    add(t, "glorotd_downloads_in_flight %ld\n", g->downloads_in_flight);
    family(t, "glorotd_ready", "gauge", "1 while /readyz answers 200, 0 once stopping.");
    add(t, "glorotd_ready %d\n", g->ready ? 1 : 0);
    family(t, "glorotd_digest_jobs_running", "gauge",
           "Digests being computed on the digest threads now (--max-digest-jobs).");
    add(t, "glorotd_digest_jobs_running %u\n", g->digest_jobs_running);
    family(t, "glorotd_digest_jobs_total", "counter",
           "Digest jobs by outcome: started on a digest thread, refused (503 busy or, for an "
           "answer with digest fields, sent without them), answered from the cache.");
    add(t, "glorotd_digest_jobs_total{outcome=\"started\"} %llu\n",
        (unsigned long long)g->digest_jobs_started);
    add(t, "glorotd_digest_jobs_total{outcome=\"refused\"} %llu\n",
        (unsigned long long)g->digest_jobs_refused);
    add(t, "glorotd_digest_jobs_total{outcome=\"cached\"} %llu\n",
        (unsigned long long)g->digest_cache_hits);
    family(t, "glorotd_build_info", "gauge",
           "Always 1; the version and the generator kernels in use are labels.");
    add(t, "glorotd_build_info{version=\"%s\",kernels=\"%s\"} 1\n", GLOROT_VERSION, gp_kernels());
}

char *gd_metrics_render(const gd_stats_snapshot *s, const gd_metrics_gauges *g, size_t *len)
{
    mtext t = {malloc(8192), 0, 8192, 0};
    if (t.buf == NULL)
        return NULL;
    t.buf[0] = '\0';
    requests(&t, s);
    durations(&t, s);
    generation(&t, s);
    connections(&t, s, g);
    if (t.oom) {
        free(t.buf);
        return NULL;
    }
    *len = t.len;
    return t.buf;
}
