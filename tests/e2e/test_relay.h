/*
 * test_relay.h - a TCP relay between a client and the shared glorotd
 * (test_server_util.h) that kills its first connection after N response
 * bytes, and logs each connection's request head and status line: how the
 * client tests break a download mid-stream (test_sharding_client.c,
 * test_client_batch.c). Header-only, like test_server_util.h.
 */
#ifndef GLOROT_TEST_RELAY_H
#define GLOROT_TEST_RELAY_H

#include "test_server_util.h"

#include <poll.h>
#include <pthread.h>

#define RELAY_LOG 8

typedef struct {
    int listen_fd, port, upstream;
    char url[64];
    pthread_t thread;
    uint64_t cut_first; /* response bytes the first connection forwards before both ends close */
    pthread_mutex_t lock;
    int stop;
    size_t connections;
    char request[RELAY_LOG][2048]; /* each connection's first request head */
    char status[RELAY_LOG][64];    /* ... and its answer's status line */
} relay;

static inline int relay_stopping(relay *r)
{
    pthread_mutex_lock(&r->lock);
    int stop = r->stop;
    pthread_mutex_unlock(&r->lock);
    return stop;
}

static inline int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Keep the first bytes of a direction's stream (up to the first blank line). */
static inline void note(char *log, size_t size, const char *data, size_t n)
{
    size_t have = strlen(log);
    if (strstr(log, "\r\n\r\n") != NULL || have + 1 >= size)
        return;
    if (n > size - 1 - have)
        n = size - 1 - have;
    memcpy(log + have, data, n);
    log[have + n] = '\0';
}

/* Shuttle bytes both ways until either side closes, or `cut` response bytes
 * have gone through (then close both: the connection is killed). */
static inline void relay_one(relay *r, int client, size_t index)
{
    int up = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)r->upstream);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(up, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(up);
        return;
    }
    uint64_t cut = index == 0 ? r->cut_first : UINT64_MAX, sent = 0;
    char buf[16384], req[2048] = "", status[2048] = "";
    while (!relay_stopping(r) && sent < cut) {
        struct pollfd p[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
        if (poll(p, 2, 50) <= 0)
            continue;
        if (p[0].revents) {
            ssize_t n = recv(client, buf, sizeof buf, 0);
            if (n <= 0 || send_all(up, buf, (size_t)n) != 0)
                break;
            note(req, sizeof req, buf, (size_t)n);
        }
        if (p[1].revents) {
            ssize_t n = recv(up, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            size_t take = (uint64_t)n < cut - sent ? (size_t)n : (size_t)(cut - sent);
            note(status, sizeof status, buf, take);
            if (send_all(client, buf, take) != 0)
                break;
            sent += take;
        }
    }
    pthread_mutex_lock(&r->lock);
    if (index < RELAY_LOG) {
        snprintf(r->request[index], sizeof r->request[index], "%s", req);
        snprintf(r->status[index], sizeof r->status[index], "%.*s", (int)strcspn(status, "\r"),
                 status);
    }
    pthread_mutex_unlock(&r->lock);
    close(up);
}

static inline void *relay_main(void *arg)
{
    relay *r = arg;
    while (!relay_stopping(r)) {
        struct pollfd p = {r->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(r->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&r->lock);
        size_t index = r->connections++;
        pthread_mutex_unlock(&r->lock);
        relay_one(r, fd, index);
        close(fd);
    }
    return NULL;
}

static inline void relay_start(relay *r, uint64_t cut_first)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    r->cut_first = cut_first;
    r->upstream = ts_port();
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(bind(r->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(r->listen_fd, (struct sockaddr *)&a, &alen), 0);
    cr_assert_eq(listen(r->listen_fd, 8), 0);
    r->port = ntohs(a.sin_port);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%d", r->port);
    cr_assert_eq(pthread_create(&r->thread, NULL, relay_main, r), 0);
}

static inline size_t relay_stop(relay *r)
{
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    close(r->listen_fd);
    pthread_mutex_destroy(&r->lock);
    return r->connections;
}

#endif
