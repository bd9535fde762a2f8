/*
 * listener.c - the listening socket (see listener.h).
 */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned address_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
    return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
}

static int set_options(int fd, int ipv6)
{
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0)
        return -1;
    if (ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)
        return -1;
    int flags = fcntl(fd, F_GETFL);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int gd_listener_open(const gd_config *cfg, char *msg, size_t msg_size)
{
    const struct sockaddr *sa = (const struct sockaddr *)&cfg->addr;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && set_options(fd, cfg->ipv6) == 0 && bind(fd, sa, cfg->addr_len) == 0 &&
        listen(fd, SOMAXCONN) == 0)
        return fd;
    int err = errno;
    char where[80];
    gd_format_address(sa, address_port(sa), where, sizeof where);
    snprintf(msg, msg_size, "cannot listen on %s: %s", where, strerror(err));
    if (fd >= 0)
        close(fd);
    return -1;
}

unsigned gd_listener_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    return address_port((const struct sockaddr *)&ss);
}
