/*
 * limits.h - per-client and global caps on connections and requests.
 *
 * A table keyed by client address counts open connections and requests in
 * progress per client, plus the requests in progress overall. Clients are
 * keyed by their IPv4 address (IPv4-mapped IPv6 included) or by the /64
 * prefix of their IPv6 address (one host usually holds a whole /64). The
 * table is an open-addressed hash (SipHash with a per-process random key, so
 * clients cannot choose colliding keys) behind one mutex; every call is
 * thread-safe. No I/O.
 */
#ifndef GLOROTD_LIMITS_H
#define GLOROTD_LIMITS_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct {
    unsigned char b[17]; /* b[0]: 4 or 6, then the address (IPv6: first 8 bytes) */
} gd_ipkey;

typedef struct gd_limits gd_limits;

typedef enum {
    GD_LIMIT_OK,     /* counted: call the matching _end/_close later */
    GD_LIMIT_PER_IP, /* the client is at its cap */
    GD_LIMIT_BUSY,   /* the daemon is at its global request cap */
    GD_LIMIT_FULL    /* the table has no room (more clients than connections) */
} gd_limit_verdict;

/* Key for a client address; -1 for a family other than IPv4/IPv6. */
int gd_ipkey_of(const struct sockaddr *sa, gd_ipkey *k);

/* A table for up to max_clients distinct clients at once, with the caps.
 * NULL when out of memory (or libsodium is not initialised). */
gd_limits *gd_limits_new(size_t max_clients, unsigned conns_per_ip, unsigned requests,
                         unsigned requests_per_ip);
void gd_limits_free(gd_limits *l);

/* At accept time: GD_LIMIT_OK when the client holds fewer than conns_per_ip
 * connections (nothing is counted yet), GD_LIMIT_PER_IP or GD_LIMIT_FULL. */
gd_limit_verdict gd_limits_conn_admit(gd_limits *l, const gd_ipkey *k);

/* Count an established connection, and its end. conn_open returns -1 when
 * the table is full (then do not call conn_close for it). */
int gd_limits_conn_open(gd_limits *l, const gd_ipkey *k);
void gd_limits_conn_close(gd_limits *l, const gd_ipkey *k);

/* Start counting a request unless the client is at requests_per_ip
 * (GD_LIMIT_PER_IP) or the daemon at requests (GD_LIMIT_BUSY). */
gd_limit_verdict gd_limits_req_begin(gd_limits *l, const gd_ipkey *k);
void gd_limits_req_end(gd_limits *l, const gd_ipkey *k);

/* Current counts (for tests): connections and requests of k, requests overall. */
void gd_limits_counts(gd_limits *l, const gd_ipkey *k, unsigned *conns, unsigned *reqs,
                      unsigned *total_reqs);

#endif
