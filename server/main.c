/*
 * main.c - glorotd: settings, start-up, privileges, signals and a graceful
 * stop.
 *
 * Start-up: settings; the root check; token, certificate and key files read
 * (while still privileged); the listening socket bound; the switch to --user;
 * then MHD and its threads; the port file last, so it means "serving".
 *
 * SIGTERM and SIGINT are blocked before MHD starts its threads (they inherit
 * the mask), so only main sees them, in sigwait. Stopping: /readyz answers
 * 503 at once while everything else is served as usual for --drain-delay
 * seconds; then new requests get 503, the listening socket is quiesced, and
 * downloads in flight get up to --shutdown-grace seconds. Each further
 * signal cuts the current wait short. Then MHD stops and glorotd exits 0.
 */
#include "config.h"
#include "jobs.h"
#include "listener.h"
#include "log.h"
#include "privs.h"
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

/* Write the port as decimal + newline, atomically (tmp file + rename), so a
 * reader polling the path never sees a partial number. */
static int write_port_file(const char *path, unsigned port)
{
    char tmp[GD_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    int ok = fprintf(f, "%u\n", port) > 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int announce(gd_server *srv)
{
    unsigned port = gd_http_port(srv);
    if (port == 0) {
        gd_log_note("cannot read the bound port");
        return -1;
    }
    if (srv->cfg.port_file[0] != '\0' && write_port_file(srv->cfg.port_file, port) != 0) {
        gd_log_note("cannot write the port file %s: %s", srv->cfg.port_file, strerror(errno));
        return -1;
    }
    char where[80];
    gd_format_address((const struct sockaddr *)&srv->cfg.addr, port, where, sizeof where);
    gd_log_line("glorotd %s listening on %s (%u threads, %s kernels)", GLOROT_VERSION, where,
                srv->cfg.threads, gp_kernels());
    return 0;
}

/* 1 when `a` is at or past `b`. */
static int reached(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

/* Wait up to `seconds` for one of sigs; returns 1 if one came. */
static int wait_signal(const sigset_t *sigs, unsigned seconds)
{
    struct timespec now, deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)seconds;
    for (clock_gettime(CLOCK_MONOTONIC, &now); !reached(&now, &deadline);
         clock_gettime(CLOCK_MONOTONIC, &now)) {
        const struct timespec tick = {0, 100 * 1000 * 1000};
        if (sigtimedwait(sigs, NULL, &tick) > 0)
            return 1;
    }
    return 0;
}

/* Wait until no download is in flight, the grace period ends, or another
 * signal arrives. */
static void drain(gd_server *srv, const sigset_t *sigs)
{
    struct timespec now, deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)srv->cfg.shutdown_grace_s;
    const struct timespec tick = {0, 10 * 1000 * 1000};
    while (atomic_load(&srv->inflight) > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (reached(&now, &deadline)) {
            gd_log_note("grace period over: closing %ld download(s)",
                        (long)atomic_load(&srv->inflight));
            return;
        }
        if (sigtimedwait(sigs, NULL, &tick) > 0) {
            gd_log_note("second signal: closing %ld download(s) now",
                        (long)atomic_load(&srv->inflight));
            return;
        }
    }
}

static void stop(gd_server *srv, int sig, const sigset_t *sigs)
{
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    atomic_store(&srv->draining, 1);
    if (srv->cfg.drain_delay_s > 0) {
        gd_log_note("%s received: draining for %u s (/readyz answers 503), %ld download(s) in "
                    "flight",
                    name, srv->cfg.drain_delay_s, (long)atomic_load(&srv->inflight));
        if (wait_signal(sigs, srv->cfg.drain_delay_s))
            gd_log_note("another signal: drain delay cut short");
        name = "drain over";
    } else {
        name = sig == SIGINT ? "SIGINT received" : "SIGTERM received";
    }
    atomic_store(&srv->shutting_down, 1);
    gd_log_note("%s: shutting down, %ld download(s) in flight (grace %u s)", name,
                (long)atomic_load(&srv->inflight), srv->cfg.shutdown_grace_s);
    MHD_socket listener = MHD_quiesce_daemon(srv->mhd);
    /* MHD stops polling the socket but it stays open (closing it before
     * MHD_stop_daemon is not allowed); shutting it down makes the kernel refuse
     * new connections now instead of queueing them until the end. */
    if (listener != MHD_INVALID_SOCKET)
        shutdown(listener, SHUT_RDWR);
    drain(srv, sigs);
    /* MHD must not be stopped with a connection suspended: digest jobs see
     * the flag between blocks and resume theirs (jobs.h). */
    if (gd_jobs_quiesce(10000) != 0)
        gd_log_note("a digest job did not stop within 10 s");
    MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
    if (listener != MHD_INVALID_SOCKET) { /* quiesced: ours to close */
        close(listener);
        srv->listen_fd = -1;
    }
    gd_log_note("stopped");
}

/* ---- settings and the files they name ---------------------------------------- */

static gd_config_result configure(gd_server *srv, int argc, char **argv, int *rc)
{
    char msg[512];
    gd_config_result r = gd_config_load(&srv->cfg, argc, argv, env_lookup, msg, sizeof msg);
    switch (r) {
    case GD_CONFIG_HELP:
        fputs(gd_config_usage(), stdout);
        *rc = 0;
        break;
    case GD_CONFIG_VERSION:
        printf("glorotd %s\n", GLOROT_VERSION);
        *rc = 0;
        break;
    case GD_CONFIG_ERROR:
        fprintf(stderr, "glorotd: %s\n", msg);
        *rc = 2;
        break;
    case GD_CONFIG_RUN:
    case GD_CONFIG_CHECK:
        break;
    }
    return r;
}

/* Everything --check-config validates: who we run as, tokens, TLS files.
 * Returns 0, or -1 with msg. Warnings go to the log. */
static int prepare(gd_server *srv, gd_privs *privs, char *msg, size_t msg_size)
{
    const gd_config *cfg = &srv->cfg;
    if (gd_privs_plan(cfg, geteuid(), privs, msg, msg_size) != 0)
        return -1;
    int loose = 0;
    if (cfg->token_file[0] != '\0') {
        srv->auth = gd_auth_load(cfg->token_file, &loose, msg, msg_size);
        if (srv->auth == NULL)
            return -1;
        if (loose)
            gd_log_note("warning: %s can be read by group or others (chmod 600)", cfg->token_file);
    } else if (!gd_config_is_loopback(cfg)) {
        gd_log_note("warning: no --token-file: anyone who can reach this address can use the API");
    }
    if (cfg->tls_cert[0] != '\0') {
        if (gd_tls_load(&srv->tls, cfg->tls_cert, cfg->tls_key, msg, msg_size) != 0)
            return -1;
        if (srv->tls.key_loose)
            gd_log_note("warning: %s can be read by group or others (chmod 600)", cfg->tls_key);
    }
    return 0;
}

static void print_check(const gd_server *srv, const gd_privs *privs)
{
    static char text[32 * (GD_PATH_MAX + 64)];
    gd_config_describe(&srv->cfg, text, sizeof text);
    fputs(text, stdout);
    printf("tokens: %zu%s\n", gd_auth_count(srv->auth),
           srv->auth != NULL ? " (values not shown)" : ": no authentication");
    printf("tls: %s\n", srv->tls.cert != NULL ? "on (certificate and key read)" : "off");
    if (privs->drop)
        printf("runs as: %s (uid %u, gid %u) after binding\n", privs->name, (unsigned)privs->uid,
               (unsigned)privs->gid);
    else
        printf("runs as: uid %u (the starting user)\n", (unsigned)geteuid());
    printf("settings OK\n");
}

static void cleanup(gd_server *srv)
{
    if (srv->mhd != NULL) {
        MHD_stop_daemon(srv->mhd); /* closes the listening socket it was given */
        srv->listen_fd = -1;
    }
    gd_jobs_stop();
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    gd_auth_free(srv->auth);
    gd_tls_free(&srv->tls);
    gd_limits_free(srv->limits);
    free(srv->info_json);
}

/* Bind, drop privileges, start MHD, announce. Returns 0, or 1 after logging. */
static int start(gd_server *srv, const gd_privs *privs)
{
    char msg[512];
    const gd_config *cfg = &srv->cfg;
    srv->info_json = gd_info_json(cfg);
    srv->limits =
        gd_limits_new((size_t)cfg->max_connections + cfg->threads, cfg->max_connections_per_ip,
                      cfg->max_requests, cfg->max_requests_per_ip);
    if (srv->info_json == NULL || srv->limits == NULL) {
        gd_log_note("out of memory");
        return 1;
    }
    srv->listen_fd = gd_listener_open(cfg, msg, sizeof msg);
    if (srv->listen_fd < 0 || gd_privs_drop(privs, msg, sizeof msg) != 0) {
        gd_log_note("%s", msg);
        return 1;
    }
    if (gd_jobs_start(srv, cfg->max_digest_jobs) != 0 || gd_http_start(srv) != 0 ||
        announce(srv) != 0)
        return 1;
    return 0;
}

int main(int argc, char **argv)
{
    static gd_server srv; /* large (holds paths); lives for the whole run */
    srv.listen_fd = -1;
    int rc = -1;
    gd_config_result r = configure(&srv, argc, argv, &rc);
    if (rc >= 0)
        return rc;
    if (gp_init() != 0) {
        fprintf(stderr, "glorotd: cannot initialise libsodium\n");
        return 1;
    }
    gd_log_set_format(srv.cfg.log_format);
    char msg[600];
    gd_privs privs;
    if (prepare(&srv, &privs, msg, sizeof msg) != 0) {
        fprintf(stderr, "glorotd: %s\n", msg);
        cleanup(&srv);
        return 2;
    }
    if (r == GD_CONFIG_CHECK) {
        print_check(&srv, &privs);
        cleanup(&srv);
        return 0;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = start(&srv, &privs);
    if (rc == 0) {
        int sig = SIGTERM;
        while (sigwait(&sigs, &sig) != 0)
            ;
        stop(&srv, sig, &sigs);
    }
    cleanup(&srv);
    return rc;
}
