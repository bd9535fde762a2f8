/*
 * main.c - glorotd: settings, start-up, signals and a graceful stop.
 *
 * SIGTERM and SIGINT are blocked before MHD starts its threads (they inherit
 * the mask), so only main sees them, in sigwait. Stopping: new requests get
 * 503, the listening socket is quiesced, downloads in flight get up to
 * --shutdown-grace seconds (a second signal cuts that short), then MHD stops.
 */
#include "config.h"
#include "log.h"
#include "server.h"

#include <errno.h>
#include <signal.h>
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
    gd_log_line("glorotd %s listening on %s (%u threads)", GLOROT_VERSION, where, srv->cfg.threads);
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
        if (now.tv_sec > deadline.tv_sec ||
            (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
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
    atomic_store(&srv->shutting_down, 1);
    gd_log_note("%s received: shutting down, %ld download(s) in flight (grace %u s)",
                sig == SIGINT ? "SIGINT" : "SIGTERM", (long)atomic_load(&srv->inflight),
                srv->cfg.shutdown_grace_s);
    MHD_socket listener = MHD_quiesce_daemon(srv->mhd);
    /* MHD stops polling the socket but it stays open (closing it before
     * MHD_stop_daemon is not allowed); shutting it down makes the kernel refuse
     * new connections now instead of queueing them until the end. */
    if (listener != MHD_INVALID_SOCKET)
        shutdown(listener, SHUT_RDWR);
    drain(srv, sigs);
    MHD_stop_daemon(srv->mhd);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    gd_log_note("stopped");
}

static int configure(gd_server *srv, int argc, char **argv)
{
    char msg[512];
    switch (gd_config_load(&srv->cfg, argc, argv, env_lookup, msg, sizeof msg)) {
    case GD_CONFIG_HELP:
        fputs(gd_config_usage(), stdout);
        return 0;
    case GD_CONFIG_VERSION:
        printf("glorotd %s\n", GLOROT_VERSION);
        return 0;
    case GD_CONFIG_ERROR:
        fprintf(stderr, "glorotd: %s\n", msg);
        return 2;
    case GD_CONFIG_RUN:
        break;
    }
    return -1;
}

int main(int argc, char **argv)
{
    static gd_server srv; /* large (holds paths); lives for the whole run */
    int rc = configure(&srv, argc, argv);
    if (rc >= 0)
        return rc;
    if (gp_init() != 0) {
        fprintf(stderr, "glorotd: cannot initialise libsodium\n");
        return 1;
    }
    srv.info_json = gd_info_json(&srv.cfg);
    if (srv.info_json == NULL) {
        fprintf(stderr, "glorotd: out of memory\n");
        return 1;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (gd_http_start(&srv) != 0) {
        free(srv.info_json);
        return 1;
    }
    if (announce(&srv) != 0) {
        MHD_stop_daemon(srv.mhd);
        free(srv.info_json);
        return 1;
    }
    int sig = SIGTERM;
    while (sigwait(&sigs, &sig) != 0)
        ;
    stop(&srv, sig, &sigs);
    free(srv.info_json);
    return 0;
}
