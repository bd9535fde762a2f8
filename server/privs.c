/*
 * privs.c - the root check and the switch to --user (see privs.h).
 */
#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int lookup(const char *name, gd_privs *p, char *msg, size_t msg_size)
{
    errno = 0;
    const struct passwd *pw = getpwnam(name);
    if (pw == NULL) {
        snprintf(msg, msg_size, "--user %s: no such user%s%s", name, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return -1;
    }
    p->uid = pw->pw_uid;
    p->gid = pw->pw_gid;
    snprintf(p->name, sizeof p->name, "%s", name);
    return 0;
}

int gd_privs_plan(const gd_config *cfg, uid_t euid, gd_privs *p, char *msg, size_t msg_size)
{
    memset(p, 0, sizeof *p);
    if (cfg->user[0] == '\0') {
        if (euid == 0 && !cfg->allow_root) {
            snprintf(msg, msg_size,
                     "refusing to run as root: give --user NAME to switch to an unprivileged "
                     "user after binding, or --allow-root");
            return -1;
        }
        return 0;
    }
    if (euid != 0) {
        snprintf(msg, msg_size, "--user %s needs root (glorotd runs as uid %u)", cfg->user,
                 (unsigned)euid);
        return -1;
    }
    if (lookup(cfg->user, p, msg, msg_size) != 0)
        return -1;
    if (p->uid == 0 && !cfg->allow_root) {
        snprintf(msg, msg_size, "--user %s is root (uid 0): pick another user, or add --allow-root",
                 cfg->user);
        return -1;
    }
    p->drop = p->uid != 0;
    return 0;
}

int gd_privs_drop(const gd_privs *p, char *msg, size_t msg_size)
{
    if (!p->drop)
        return 0;
    if (setgroups(1, &p->gid) != 0 || setgid(p->gid) != 0 || setuid(p->uid) != 0) {
        snprintf(msg, msg_size, "cannot switch to user %s (uid %u, gid %u): %s", p->name,
                 (unsigned)p->uid, (unsigned)p->gid, strerror(errno));
        return -1;
    }
    if (getuid() != p->uid || geteuid() != p->uid || getgid() != p->gid || getegid() != p->gid ||
        setuid(0) == 0 || seteuid(0) == 0) {
        snprintf(msg, msg_size, "switching to user %s did not drop root for good", p->name);
        return -1;
    }
    return 0;
}
