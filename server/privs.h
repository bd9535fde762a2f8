/*
 * privs.h - who glorotd runs as. It refuses to run as root unless told
 * (--allow-root), and can bind as root and then switch for good to an
 * unprivileged --user (its primary group only, no supplementary groups).
 */
#ifndef GLOROTD_PRIVS_H
#define GLOROTD_PRIVS_H

#include "config.h"

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    int drop; /* 1: switch to uid/gid after binding */
    uid_t uid;
    gid_t gid;
    char name[GD_USER_MAX];
} gd_privs;

/* Decide, for a process running with effective uid euid, whether cfg may
 * start and whom to become. Looks the --user up in the user database
 * (getpwnam). Refuses: root without --user or --allow-root; --user when not
 * root; an unknown user; a --user that is root itself, unless --allow-root.
 * Returns 0 (p filled), or -1 with one line in msg. */
int gd_privs_plan(const gd_config *cfg, uid_t euid, gd_privs *p, char *msg, size_t msg_size);

/* Switch to p's user and group if p->drop: setgroups, setgid, setuid, then
 * verify that the ids changed and that root cannot be regained. Call before
 * any thread starts. Returns 0, or -1 with msg. */
int gd_privs_drop(const gd_privs *p, char *msg, size_t msg_size);

#endif
