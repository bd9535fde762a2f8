/*
 * server.h - glorotd's shared state: the server context handed to every
 * libmicrohttpd callback and the per-request record.
 *
 * Lifetime of a request record (gd_req): allocated on the first access-handler
 * call, it holds one reference for the request (dropped in the
 * request-completed callback) and one more while a streaming response exists
 * (dropped in the response's free callback). gd_req_release frees it: the one
 * place it is freed.
 */
#ifndef GLOROTD_SERVER_H
#define GLOROTD_SERVER_H

#include "auth.h"
#include "config.h"
#include "errors.h"
#include "glorot_proto.h"
#include "limits.h"
#include "log.h"
#include "routes.h"
#include "stats.h"
#include "tls.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

/* Bytes per content-reader call (MHD's response buffer, one per download).
 * On loopback 256 KiB streamed as fast as 1 MiB (within noise, ~0.9-1.3
 * GiB/s chacha20) at a quarter of the memory; 16-64 KiB were slower.
 * Overridable for measurements (-DGD_STREAM_BLOCK=...). */
#ifndef GD_STREAM_BLOCK
#define GD_STREAM_BLOCK (256 * 1024)
#endif

typedef struct {
    gd_config cfg;
    struct MHD_Daemon *mhd;
    atomic_int shutting_down; /* 1 once the drain delay is over: new requests get 503 */
    atomic_int draining;      /* 1 once SIGTERM/SIGINT arrived: /readyz answers 503 */
    atomic_long inflight;     /* streaming responses not yet freed, digest jobs not answered */
    /* digest jobs (jobs.c), read by /metrics */
    atomic_uint digest_running;
    atomic_ullong digest_started, digest_refused, digest_cached;
    char *info_json;   /* the /v1/info body, built at start-up */
    int listen_fd;     /* opened by main before privileges are dropped */
    gd_auth *auth;     /* NULL = no --token-file: no authentication */
    gd_limits *limits; /* per-client and global caps */
    gd_tls tls;        /* cert and key, NULL when plain HTTP */
} gd_server;

typedef struct {
    gd_server *srv;
    atomic_int refs;
    struct timespec start; /* CLOCK_MONOTONIC */
    gd_route route;
    const char *init; /* GD_ROUTE_TENSOR: the path's initializer (gp_inits' name) */
    int is_post, is_head;
    gd_stats_endpoint endpoint; /* the metrics label */
    gd_ipkey client;            /* for the per-client caps */
    int client_known;           /* 0 when the address family is not IP */
    int admitted;               /* counted by gd_limits_req_begin: release when done */
    char request_id[GD_REQUEST_ID_MAX + 1];
    unsigned status;      /* status queued, 0 = none */
    uint64_t fixed_bytes; /* body length of a buffered reply */
    uint64_t streamed;    /* bytes handed out by the content reader */
    int streaming;
    char remote[64];
    char method[24];
    char path[256];        /* escaped for the log */
    unsigned char *upload; /* POST body so far (malloc), at most max_body_bytes */
    size_t upload_len, upload_cap;
    uint64_t upload_dropped; /* bytes discarded after the body cap was passed */
    int upload_too_large;
    uint64_t body_first;  /* the body byte the answer starts at (206: the range) */
    uint64_t body_length; /* bytes the answer carries, GP_SIZE_UNKNOWN for json */
    gp_batch *batch;      /* POST/HEAD /v1/batch: the answer's tensors (freed with req) */
    struct gd_job *job;   /* digest work while the connection is suspended (jobs.h) */
    /* Last, and not cleared with the rest (9 KiB): gp_body_init sets it up
     * before anything reads it. */
    gp_body body; /* the generator and encoder of a 200 reply */
} gd_req;
/* The pool clears a request up to offsetof(gd_req, body): body stays last. */
_Static_assert(sizeof(gd_req) - offsetof(gd_req, body) - sizeof(gp_body) < _Alignof(gd_req),
               "gd_req: body must be its last field");

/* ---- http.c ---- */
/* Start libmicrohttpd on srv->cfg. Returns 0, or -1 after logging why. */
int gd_http_start(gd_server *srv);
/* The bound port (after gd_http_start). */
unsigned gd_http_port(const gd_server *srv);

/* ---- request.c ---- */
/* The record of a request MHD has just announced (url and method as MHD gives
 * them), with its one reference; NULL when memory is exhausted. */
gd_req *gd_req_new(gd_server *srv, struct MHD_Connection *c, const char *url, const char *method);
/* Drop one reference; the last one frees the record (NULL does nothing). */
void gd_req_release(gd_req *req);

/* ---- reply.c ---- */
/* Answer GET/HEAD /metrics (Prometheus text format, metrics.c). */
enum MHD_Result gd_metrics_respond(struct MHD_Connection *c, gd_req *req);
/* Queue r with status, recording it for the log; destroys our reference to
 * r. body_len is what the log reports as sent. Returns MHD's verdict. */
enum MHD_Result gd_queue(struct MHD_Connection *c, gd_req *req, unsigned status,
                         struct MHD_Response *r, uint64_t body_len);
/* Queue the JSON error reply for e (405 gets Allow: allow, 503 gets
 * Connection: close, 401 WWW-Authenticate, 429 and 503 busy Retry-After).
 * Every reply, this one included, carries X-Request-Id. */
enum MHD_Result gd_reply_error(struct MHD_Connection *c, gd_req *req, const gd_error *e,
                               const char *allow);
/* Queue a 200 reply with a static JSON body. */
enum MHD_Result gd_reply_json(struct MHD_Connection *c, gd_req *req, const char *json);
/* /readyz: 200 {"status":"ready"}, or 503 {"status":"draining"} once a stop
 * signal arrived. */
enum MHD_Result gd_reply_ready(struct MHD_Connection *c, gd_req *req);

/* ---- admit.c ---- */
/* MHD_AcceptPolicyCallback: refuse a connection from a client already at
 * --max-connections-per-ip (counted in stats as rejected). */
enum MHD_Result gd_admit_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
/* MHD_NotifyConnectionCallback: count connections opened and closed. */
void gd_admit_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe);
/* 401 for a request that needs a token and has none or a wrong one (routes
 * other than /healthz, /readyz and, with --public-metrics, /metrics).
 * Returns 0, or -1 with e filled. */
int gd_admit_auth(struct MHD_Connection *c, const gd_req *req, gd_error *e);
/* Count the request against --max-requests-per-ip (429) and --max-requests
 * (503 busy); probes and /metrics are not counted. Returns 0 or -1 (e). */
int gd_admit_request(gd_req *req, gd_error *e);
/* Release what gd_admit_request counted. */
void gd_admit_done(gd_req *req);

/* ---- info.c ---- */
/* The /v1/info document for cfg; malloc'd, free() it; NULL when out of memory. */
char *gd_info_json(const gd_config *cfg);

/* ---- stream.c ---- */
/* Answer GET/HEAD/POST /v1/glorot_uniform: parameters from the query (and,
 * for POST, the JSON body in req->upload), then a streamed 200 or an error. */
enum MHD_Result gd_stream_respond(struct MHD_Connection *c, gd_req *req);

/* ---- page.c ---- */
/* Answer GET/HEAD /: the request explorer page (server/page.html, with its
 * CSP and ETag; 304 on a matching If-None-Match), or the JSON index of the
 * endpoints when Accept prefers application/json (page.h). */
enum MHD_Result gd_page_respond(struct MHD_Connection *c, gd_req *req);

/* ---- digest.c ---- */
/* Answer GET/HEAD/POST /v1/digest: the same parameters, then a JSON object
 * with the SHA-256 and length of the body the tensor request would send. */
enum MHD_Result gd_digest_respond(struct MHD_Connection *c, gd_req *req);

/* ---- batch.c ---- */
/* Answer POST/HEAD /v1/batch: the manifest in req->upload, then one
 * safetensors file (or a json array) through gd_stream_answer. */
enum MHD_Result gd_batch_respond(struct MHD_Connection *c, gd_req *req);

#endif
