/*
 * limits.c - per-client connection and request counts (see limits.h).
 *
 * Linear probing; a slot is free when both of its counts are zero, and
 * deletion shifts later members of the probe run back (Knuth's algorithm R),
 * so there are no tombstones and lookups stop at the first free slot.
 */
#include "limits.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    gd_ipkey key;
    unsigned conns, reqs;
} slot;

struct gd_limits {
    pthread_mutex_t lock;
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    size_t mask; /* capacity - 1, capacity a power of two */
    slot *slots;
    unsigned conns_per_ip, requests, requests_per_ip;
    unsigned total_reqs;
};

int gd_ipkey_of(const struct sockaddr *sa, gd_ipkey *k)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(k, 0, sizeof *k);
    if (sa->sa_family == AF_INET) {
        k->b[0] = 4;
        memcpy(k->b + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family != AF_INET6)
        return -1;
    const unsigned char *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
    if (memcmp(a, v4mapped, sizeof v4mapped) == 0) {
        k->b[0] = 4;
        memcpy(k->b + 1, a + 12, 4);
    } else {
        k->b[0] = 6;
        memcpy(k->b + 1, a, 8); /* the /64 prefix */
    }
    return 0;
}

gd_limits *gd_limits_new(size_t max_clients, unsigned conns_per_ip, unsigned requests,
                         unsigned requests_per_ip)
{
    size_t cap = 16;
    while (cap / 2 < max_clients && cap <= SIZE_MAX / 4 / sizeof(slot))
        cap *= 2;
    gd_limits *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->slots = calloc(cap, sizeof *l->slots);
    if (l->slots == NULL || pthread_mutex_init(&l->lock, NULL) != 0) {
        free(l->slots);
        free(l);
        return NULL;
    }
    crypto_shorthash_keygen(l->hash_key);
    l->mask = cap - 1;
    l->conns_per_ip = conns_per_ip;
    l->requests = requests;
    l->requests_per_ip = requests_per_ip;
    return l;
}

void gd_limits_free(gd_limits *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l->slots);
    free(l);
}

static size_t home_of(const gd_limits *l, const gd_ipkey *k)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, k->b, sizeof k->b, l->hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)v & l->mask;
}

static int is_free(const slot *s)
{
    return s->conns == 0 && s->reqs == 0;
}

/* The slot holding k, or the free slot where it would go (NULL when full). */
static slot *find(gd_limits *l, const gd_ipkey *k)
{
    size_t i = home_of(l, k);
    for (size_t probes = 0; probes <= l->mask; probes++, i = (i + 1) & l->mask) {
        slot *s = &l->slots[i];
        if (is_free(s) || memcmp(&s->key, k, sizeof *k) == 0)
            return s;
    }
    return NULL;
}

/* s became free: move later members of its run back so lookups still find them. */
static void remove_at(gd_limits *l, slot *s)
{
    size_t hole = (size_t)(s - l->slots);
    for (size_t j = (hole + 1) & l->mask; !is_free(&l->slots[j]); j = (j + 1) & l->mask) {
        size_t home = home_of(l, &l->slots[j].key);
        /* j may move to hole unless its home lies cyclically in (hole, j] */
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        l->slots[hole] = l->slots[j];
        memset(&l->slots[j], 0, sizeof l->slots[j]);
        hole = j;
    }
}

gd_limit_verdict gd_limits_conn_admit(gd_limits *l, const gd_ipkey *k)
{
    pthread_mutex_lock(&l->lock);
    const slot *s = find(l, k);
    gd_limit_verdict v = s == NULL                     ? GD_LIMIT_FULL
                         : s->conns >= l->conns_per_ip ? GD_LIMIT_PER_IP
                                                       : GD_LIMIT_OK;
    pthread_mutex_unlock(&l->lock);
    return v;
}

int gd_limits_conn_open(gd_limits *l, const gd_ipkey *k)
{
    pthread_mutex_lock(&l->lock);
    slot *s = find(l, k);
    if (s != NULL) {
        s->key = *k;
        s->conns++;
    }
    pthread_mutex_unlock(&l->lock);
    return s != NULL ? 0 : -1;
}

void gd_limits_conn_close(gd_limits *l, const gd_ipkey *k)
{
    pthread_mutex_lock(&l->lock);
    slot *s = find(l, k);
    if (s != NULL && s->conns > 0 && --s->conns == 0 && s->reqs == 0)
        remove_at(l, s);
    pthread_mutex_unlock(&l->lock);
}

gd_limit_verdict gd_limits_req_begin(gd_limits *l, const gd_ipkey *k)
{
    pthread_mutex_lock(&l->lock);
    slot *s = find(l, k);
    gd_limit_verdict v = GD_LIMIT_OK;
    if (s == NULL)
        v = GD_LIMIT_FULL;
    else if (s->reqs >= l->requests_per_ip)
        v = GD_LIMIT_PER_IP;
    else if (l->total_reqs >= l->requests)
        v = GD_LIMIT_BUSY;
    if (v == GD_LIMIT_OK) {
        s->key = *k;
        s->reqs++;
        l->total_reqs++;
    }
    pthread_mutex_unlock(&l->lock);
    return v;
}

void gd_limits_req_end(gd_limits *l, const gd_ipkey *k)
{
    pthread_mutex_lock(&l->lock);
    slot *s = find(l, k);
    if (s != NULL && s->reqs > 0) {
        s->reqs--;
        l->total_reqs--;
        if (is_free(s))
            remove_at(l, s);
    }
    pthread_mutex_unlock(&l->lock);
}

void gd_limits_counts(gd_limits *l, const gd_ipkey *k, unsigned *conns, unsigned *reqs,
                      unsigned *total_reqs)
{
    pthread_mutex_lock(&l->lock);
    const slot *s = find(l, k);
    *conns = s != NULL && !is_free(s) ? s->conns : 0;
    *reqs = s != NULL && !is_free(s) ? s->reqs : 0;
    *total_reqs = l->total_reqs;
    pthread_mutex_unlock(&l->lock);
}
