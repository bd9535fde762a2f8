/*
 * listener.h - the listening socket, opened by glorotd itself (not by
 * libmicrohttpd) so that binding a privileged port happens before the switch
 * to --user and before any thread exists.
 */
#ifndef GLOROTD_LISTENER_H
#define GLOROTD_LISTENER_H

#include "config.h"

#include <stddef.h>

/* socket + SO_REUSEADDR (+ IPV6_V6ONLY) + bind + listen, non-blocking and
 * close-on-exec. Returns the descriptor, or -1 with one line in msg
 * ("cannot listen on 127.0.0.1:80: Permission denied"). */
int gd_listener_open(const gd_config *cfg, char *msg, size_t msg_size);

/* The bound port of fd, 0 when it cannot be read. */
unsigned gd_listener_port(int fd);

#endif
