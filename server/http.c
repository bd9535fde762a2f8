/*
 * http.c - libmicrohttpd glue: daemon start, routing, upload buffering and
 * the access log (request records: request.c).
 *
 * MHD calls the access handler several times per request: once when the
 * headers are in (we route and reject early), once per piece of upload data
 * (we buffer it, capped) and once more when the request is complete (we
 * answer). A reply queued on the first call makes MHD discard the body and
 * close the connection afterwards.
 */
#include "jobs.h"
#include "listener.h"
#include "log.h"
#include "params.h"
#include "server.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define UPLOAD_MIN_CAP 4096
/* After the body cap is passed (chunked uploads), this much more is read and
 * dropped so the client gets its 413; beyond it the connection is closed. */
#define UPLOAD_DRAIN_MAX (16u * 1024 * 1024)

static const gd_route_spec *find_route(const char *url, const char **init, gd_stats_endpoint *ep)
{
    static const char prefix[] = "/v1/";
    size_t count;
    const gd_route_spec *routes = gd_routes(&count);
    for (size_t i = 0; i < count; i++)
        if (strcmp(url, routes[i].path) == 0) {
            *ep = routes[i].endpoint;
            return &routes[i];
        }
    if (strncmp(url, prefix, sizeof prefix - 1) != 0)
        return NULL;
    const gp_init_info *inits = gp_inits(NULL);
    const gp_init_info *in = gp_init_find(url + sizeof prefix - 1, strlen(url + sizeof prefix - 1));
    if (in == NULL)
        return NULL;
    *init = in->name;
    *ep = (gd_stats_endpoint)(GD_STATS_EP_INIT + (size_t)(in - inits));
    return gd_route_tensor();
}

static int method_allowed(const gd_route_spec *rs, const char *method)
{
    if (rs->route == GD_ROUTE_BATCH) /* the manifest is the body, HEAD carries one too */
        return strcmp(method, MHD_HTTP_METHOD_POST) == 0 ||
               strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
        return 1;
    return (rs->route == GD_ROUTE_TENSOR || rs->route == GD_ROUTE_DIGEST) &&
           strcmp(method, MHD_HTTP_METHOD_POST) == 0;
}

/* ---- first call: route and reject early ----------------------------------- */

static int is_chunked(struct MHD_Connection *c)
{
    const char *te =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    return te != NULL && strcasecmp(te, "chunked") == 0;
}

/* 411, 413 or 415 for a POST whose headers already rule it out. */
static int check_upload_headers(struct MHD_Connection *c, const gd_config *cfg, gd_error *e)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL && !is_chunked(c))
        return gd_fail(e, GD_ERR_LENGTH_REQUIRED, "",
                       "POST needs a Content-Length header or chunked transfer encoding");
    uint64_t length;
    if (cl != NULL && (gp_parse_u64(cl, strlen(cl), 0, UINT64_MAX, 0, &length) != GP_U64_OK ||
                       length > cfg->max_body_bytes))
        return gd_fail(e, GD_ERR_BODY_TOO_LARGE, "",
                       "the body (Content-Length: %.24s) is larger than the limit of %llu "
                       "bytes (--max-body-bytes)",
                       cl, (unsigned long long)cfg->max_body_bytes);
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!gd_params_is_json(ct))
        return gd_fail(e, GD_ERR_UNSUPPORTED_MEDIA_TYPE, "",
                       "POST bodies must be sent as Content-Type: application/json "
                       "(charset utf-8)");
    return 0;
}

static enum MHD_Result on_headers(struct MHD_Connection *c, gd_req *req, const char *url,
                                  const char *method)
{
    gd_error e = {0};
    gd_stats_endpoint ep = GD_STATS_EP_OTHER;
    const gd_route_spec *rs = find_route(url, &req->init, &ep);
    if (rs != NULL) {
        req->route = rs->route;
        req->endpoint = ep;
    }
    if (atomic_load(&req->srv->shutting_down)) {
        gd_fail_plain(&e, GD_ERR_SHUTTING_DOWN, "");
        return gd_reply_error(c, req, &e, NULL);
    }
    if (gd_admit_auth(c, req, &e) != 0)
        return gd_reply_error(c, req, &e, NULL);
    if (rs == NULL) {
        gd_fail(&e, GD_ERR_NOT_FOUND, "",
                "no such resource; try GET /v1/glorot_uniform?shape=256,512 or GET /v1/info");
        return gd_reply_error(c, req, &e, NULL);
    }
    if (!method_allowed(rs, method)) {
        gd_fail(&e, GD_ERR_METHOD_NOT_ALLOWED, "", "method %.16s is not allowed here; use %s",
                req->method, rs->allow);
        return gd_reply_error(c, req, &e, rs->allow);
    }
    if (gd_admit_request(req, &e) != 0)
        return gd_reply_error(c, req, &e, NULL);
    if ((req->is_post || req->route == GD_ROUTE_BATCH) &&
        check_upload_headers(c, &req->srv->cfg, &e) != 0)
        return gd_reply_error(c, req, &e, NULL);
    return MHD_YES;
}

/* ---- upload ------------------------------------------------------------------ */

static int upload_grow(gd_req *req, size_t need, size_t cap_limit)
{
    size_t cap = req->upload_cap < UPLOAD_MIN_CAP ? UPLOAD_MIN_CAP : req->upload_cap;
    while (cap < need)
        cap = cap > cap_limit / 2 ? cap_limit : cap * 2;
    if (cap > cap_limit)
        cap = cap_limit;
    unsigned char *bigger = realloc(req->upload, cap);
    if (bigger == NULL)
        return -1;
    req->upload = bigger;
    req->upload_cap = cap;
    return 0;
}

/* Keep POST bodies for /v1/<initializer> and /v1/digest up to the cap; drop anything else. */
static enum MHD_Result on_upload(gd_req *req, const char *data, size_t size)
{
    int keep = ((req->route == GD_ROUTE_TENSOR || req->route == GD_ROUTE_DIGEST) && req->is_post) ||
               req->route == GD_ROUTE_BATCH;
    if (!keep)
        return MHD_YES;
    size_t cap = (size_t)req->srv->cfg.max_body_bytes;
    if (!req->upload_too_large && size > cap - req->upload_len) {
        req->upload_too_large = 1;
        free(req->upload);
        req->upload = NULL;
        req->upload_len = req->upload_cap = 0;
    }
    if (req->upload_too_large) {
        req->upload_dropped += size;
        return req->upload_dropped > UPLOAD_DRAIN_MAX ? MHD_NO : MHD_YES;
    }
    if (req->upload_len + size > req->upload_cap &&
        upload_grow(req, req->upload_len + size, cap) != 0)
        return MHD_NO;
    memcpy(req->upload + req->upload_len, data, size);
    req->upload_len += size;
    return MHD_YES;
}

/* ---- the handler ------------------------------------------------------------- */

static enum MHD_Result on_complete(struct MHD_Connection *c, gd_req *req)
{
    if (req->job != NULL) /* called again after a digest job resumed the connection */
        return gd_job_answer(c, req);
    switch (req->route) {
    case GD_ROUTE_HEALTHZ:
        return gd_reply_json(c, req, "{\"status\":\"ok\"}");
    case GD_ROUTE_READYZ:
        return gd_reply_ready(c, req);
    case GD_ROUTE_METRICS:
        return gd_metrics_respond(c, req);
    case GD_ROUTE_INFO:
        return gd_reply_json(c, req, req->srv->info_json);
    case GD_ROUTE_TENSOR:
        return gd_stream_respond(c, req);
    case GD_ROUTE_DIGEST:
        return gd_digest_respond(c, req);
    case GD_ROUTE_BATCH:
        return gd_batch_respond(c, req);
    case GD_ROUTE_PAGE:
        return gd_page_respond(c, req);
    case GD_ROUTE_NONE:
        break;
    }
    return MHD_NO; /* unreachable: unrouted requests were answered on the first call */
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    gd_req *req = *con_cls;
    if (req == NULL) {
        req = gd_req_new(cls, c, url, method);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        return on_headers(c, req, url, method);
    }
    if (*upload_data_size != 0) {
        enum MHD_Result ok = on_upload(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return ok;
    }
    return on_complete(c, req);
}

static int64_t elapsed_ns(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ns =
        (int64_t)(now.tv_sec - start->tv_sec) * 1000000000 + (now.tv_nsec - start->tv_nsec);
    return ns > 0 ? ns : 0;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    gd_req *req = *con_cls;
    if (req == NULL)
        return;
    *con_cls = NULL;
    uint64_t bytes = req->streaming                               ? req->streamed
                     : toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? req->fixed_bytes
                                                                  : 0;
    gd_access a = {req->remote, req->method, req->path,      req->status,
                   bytes,       req->start,  req->request_id};
    gd_log_access(&a);
    uint64_t ns = (uint64_t)elapsed_ns(&req->start);
    gd_stats_request_done(req->endpoint, req->status, bytes, ns);
    gd_admit_done(req);
    gd_req_release(req);
}

/* ---- daemon -------------------------------------------------------------------- */

int gd_http_start(gd_server *srv)
{
    const gd_config *cfg = &srv->cfg;
    /* Digest jobs suspend their connection (jobs.h): MHD_ALLOW_SUSPEND_RESUME
     * (= 8192 | MHD_USE_ITC in microhttpd.h 0.9.75). MHD_suspend_connection's
     * documentation: "not applicable to thread-per-connection!" (glorotd runs
     * an internal epoll thread pool, which it fits) and "If you use this API
     * in conjunction with an "internal" socket polling, you must set the
     * option MHD_USE_ITC to ensure that a resumed connection is immediately
     * processed by MHD." */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (cfg->ipv6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls[] = {{MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls.key},
                                   {MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls.cert},
                                   {MHD_OPTION_END, 0, NULL}};
    if (srv->tls.cert != NULL)
        flags |= MHD_USE_TLS;
    else
        tls[0].option = MHD_OPTION_END;
    /* glorotd enforces --max-connections-per-ip itself (gd_admit_accept) so
     * that refusals are counted; MHD's own per-IP cap is a backstop for
     * connections accepted at the same moment by different threads. */
    unsigned per_ip_backstop = cfg->max_connections_per_ip + cfg->threads;
    /* The logger goes first so MHD reports problems with later options through it. */
    srv->mhd = MHD_start_daemon(
        flags, 0, gd_admit_accept, srv, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER, gd_log_mhd, srv,
        MHD_OPTION_LISTEN_SOCKET, srv->listen_fd, MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        per_ip_backstop, MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_header_bytes,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION,
        gd_admit_notify, srv, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (srv->mhd == NULL) {
        gd_log_note("cannot start libmicrohttpd%s",
                    srv->tls.cert != NULL ? " (is the TLS key the certificate's?)" : "");
        return -1;
    }
    return 0;
}

unsigned gd_http_port(const gd_server *srv)
{
    return gd_listener_port(srv->listen_fd);
}
