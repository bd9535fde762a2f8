/*
 * admit.c - who gets in: the per-client connection cap at accept time,
 * connection counts, bearer tokens and the request caps (429/503).
 */
#include "server.h"

#include <string.h>

/* socket_context mark of a connection counted in srv->limits. */
static const char counted_mark;

static int connection_key(struct MHD_Connection *c, gd_ipkey *k)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL)
        return -1;
    return gd_ipkey_of(ci->client_addr, k);
}

enum MHD_Result gd_admit_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    gd_server *srv = cls;
    gd_ipkey k;
    (void)addrlen;
    if (addr == NULL || gd_ipkey_of(addr, &k) != 0)
        return MHD_YES;
    gd_limit_verdict v = gd_limits_conn_admit(srv->limits, &k);
    if (v == GD_LIMIT_OK)
        return MHD_YES;
    /* No log line: a flood of refusals would become a flood of lines; the
     * metric counts them. */
    gd_stats_connection_rejected(v == GD_LIMIT_PER_IP ? GD_STATS_REJECT_PER_IP
                                                      : GD_STATS_REJECT_TABLE_FULL);
    return MHD_NO;
}

void gd_admit_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe)
{
    gd_server *srv = cls;
    gd_ipkey k;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        gd_stats_connection_opened();
        if (connection_key(c, &k) == 0 && gd_limits_conn_open(srv->limits, &k) == 0)
            *socket_context = (void *)&counted_mark;
        return;
    }
    gd_stats_connection_closed();
    if (*socket_context == &counted_mark && connection_key(c, &k) == 0)
        gd_limits_conn_close(srv->limits, &k);
    *socket_context = NULL;
}

/* The page at / is public: it is the same static bytes for everyone, and a
 * browser cannot send a bearer token when it opens it; the API calls it
 * makes carry the token typed into it. */
static int is_public(gd_route route, const gd_config *cfg)
{
    return route == GD_ROUTE_HEALTHZ || route == GD_ROUTE_READYZ || route == GD_ROUTE_PAGE ||
           (route == GD_ROUTE_METRICS && cfg->public_metrics);
}

int gd_admit_auth(struct MHD_Connection *c, const gd_req *req, gd_error *e)
{
    const gd_server *srv = req->srv;
    if (srv->auth == NULL || is_public(req->route, &srv->cfg))
        return 0;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    switch (gd_auth_check(srv->auth, h)) {
    case GD_AUTH_OK:
        return 0;
    case GD_AUTH_MISSING:
        return gd_fail(e, GD_ERR_UNAUTHORIZED, "Authorization",
                       "this server needs a bearer token: send Authorization: Bearer TOKEN");
    case GD_AUTH_INVALID:
        break;
    }
    return gd_fail(e, GD_ERR_INVALID_TOKEN, "Authorization",
                   "the Authorization header does not hold a bearer token this server accepts");
}

int gd_admit_request(gd_req *req, gd_error *e)
{
    const gd_config *cfg = &req->srv->cfg;
    if (req->route == GD_ROUTE_HEALTHZ || req->route == GD_ROUTE_READYZ ||
        req->route == GD_ROUTE_METRICS || !req->client_known)
        return 0;
    switch (gd_limits_req_begin(req->srv->limits, &req->client)) {
    case GD_LIMIT_OK:
        req->admitted = 1;
        return 0;
    case GD_LIMIT_PER_IP:
        gd_stats_request_limited(GD_STATS_LIMIT_PER_IP);
        return gd_fail(e, GD_ERR_TOO_MANY_REQUESTS, "",
                       "more than %u requests at once from %s (--max-requests-per-ip); retry "
                       "after the ones in progress",
                       cfg->max_requests_per_ip, req->remote);
    case GD_LIMIT_BUSY:
    case GD_LIMIT_FULL:
        break;
    }
    gd_stats_request_limited(GD_STATS_LIMIT_BUSY);
    return gd_fail(e, GD_ERR_BUSY, "",
                   "the server is serving its maximum of %u requests at once (--max-requests); "
                   "retry later",
                   cfg->max_requests);
}

void gd_admit_done(gd_req *req)
{
    if (!req->admitted)
        return;
    req->admitted = 0;
    gd_limits_req_end(req->srv->limits, &req->client);
}
