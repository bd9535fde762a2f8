/*
 * reply.c - buffered replies: JSON errors, /healthz, /readyz and /v1/info.
 * Every reply carries the request's X-Request-Id.
 */
#include "metrics.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char oom_body[] =
    "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\",\"param\":\"\"}}";

enum MHD_Result gd_queue(struct MHD_Connection *c, gd_req *req, unsigned status,
                         struct MHD_Response *r, uint64_t body_len)
{
    if (r == NULL)
        return MHD_NO; /* out of memory: MHD closes the connection */
    if (MHD_add_response_header(r, "X-Request-Id", req->request_id) != MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    if (ok == MHD_YES) {
        req->status = status;
        req->fixed_bytes = req->is_head ? 0 : body_len;
    }
    return ok;
}

static struct MHD_Response *json_response(char *text, int must_free)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(text), text, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        if (must_free)
            free(text);
        return NULL;
    }
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES) {
        MHD_destroy_response(r);
        return NULL;
    }
    return r;
}

/* Headers that go with some errors (their row of gd_errors): the auth
 * challenge (RFC 6750) and when to retry after a limit. */
static int error_headers(struct MHD_Response *r, const gd_error *e)
{
    char seconds[24];
    if (e->kind == NULL)
        return 1;
    if (e->kind->challenge != NULL &&
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, e->kind->challenge) != MHD_YES)
        return 0;
    if (e->kind->retry_after == 0)
        return 1;
    snprintf(seconds, sizeof seconds, "%u", e->kind->retry_after);
    return MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, seconds) == MHD_YES;
}

enum MHD_Result gd_reply_error(struct MHD_Connection *c, gd_req *req, const gd_error *e,
                               const char *allow)
{
    char *text = gd_error_json(e);
    unsigned status = e->status;
    size_t len = text != NULL ? strlen(text) : sizeof oom_body - 1;
    struct MHD_Response *r;
    if (text != NULL) {
        r = json_response(text, 1);
    } else {
        status = 500;
        r = json_response((char *)oom_body, 0);
    }
    if (r == NULL)
        return MHD_NO;
    int ok = 1;
    if (allow != NULL)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) == MHD_YES;
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        ok = ok && MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
    ok = ok && error_headers(r, e);
    if (!ok) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return gd_queue(c, req, status, r, len);
}

enum MHD_Result gd_reply_json(struct MHD_Connection *c, gd_req *req, const char *json)
{
    return gd_queue(c, req, MHD_HTTP_OK, json_response((char *)json, 0), strlen(json));
}

enum MHD_Result gd_reply_ready(struct MHD_Connection *c, gd_req *req)
{
    static const char ready[] = "{\"status\":\"ready\"}";
    static const char draining[] = "{\"status\":\"draining\"}";
    if (!atomic_load(&req->srv->draining))
        return gd_reply_json(c, req, ready);
    return gd_queue(c, req, MHD_HTTP_SERVICE_UNAVAILABLE, json_response((char *)draining, 0),
                    sizeof draining - 1);
}

/* A request is counted when it completes, so a scrape never includes itself. */
enum MHD_Result gd_metrics_respond(struct MHD_Connection *c, gd_req *req)
{
    gd_stats_snapshot *s = malloc(sizeof *s);
    if (s == NULL)
        return MHD_NO;
    gd_stats_snapshot_take(s);
    const gd_server *srv = req->srv;
    gd_metrics_gauges g = {atomic_load(&srv->inflight),       !atomic_load(&srv->draining),
                           atomic_load(&srv->digest_running), atomic_load(&srv->digest_started),
                           atomic_load(&srv->digest_refused), atomic_load(&srv->digest_cached)};
    size_t len = 0;
    char *body = gd_metrics_render(s, &g, &len);
    free(s);
    if (body == NULL)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, GD_METRICS_CONTENT_TYPE) !=
        MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return gd_queue(c, req, MHD_HTTP_OK, r, len);
}
