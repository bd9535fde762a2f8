/*
 * request.c - the request records (gd_req): taken from a pool when a request
 * arrives, handed back by the last gd_req_release (lifetime: server.h).
 */
#include "jobs.h"
#include "log.h"
#include "pool.h"
#include "server.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void client_address(struct MHD_Connection *c, gd_req *req, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, size, "-");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    req->client_known = gd_ipkey_of(sa, &req->client) == 0;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)size);
}

/* Records of finished requests, kept for the next ones (pool.h). */
static gd_pool requests = GD_POOL_INIT(sizeof(gd_req), GD_POOL_IDLE_MAX);

gd_req *gd_req_new(gd_server *srv, struct MHD_Connection *c, const char *url, const char *method)
{
    gd_req *req = gd_pool_get(&requests);
    if (req == NULL)
        return NULL;
    memset(req, 0, offsetof(gd_req, body)); /* req->body: see server.h */
    req->srv = srv;
    atomic_init(&req->refs, 1);
    clock_gettime(CLOCK_MONOTONIC, &req->start);
    req->is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    req->is_head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    gd_log_escape(method, req->method, sizeof req->method);
    gd_log_escape(url, req->path, sizeof req->path);
    client_address(c, req, req->remote, sizeof req->remote);
    gd_request_id(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id"), req->request_id);
    req->endpoint = GD_STATS_EP_OTHER;
    return req;
}

void gd_req_release(gd_req *req)
{
    if (req == NULL || atomic_fetch_sub(&req->refs, 1) != 1)
        return;
    gd_job_free(req); /* a job never answered: the daemon is stopping */
    free(req->upload);
    gp_batch_free(req->batch);
    gd_pool_put(&requests, req);
}
