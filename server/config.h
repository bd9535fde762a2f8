/*
 * config.h - glorotd settings from command-line flags and GLOROTD_* variables.
 *
 * Every option has a flag and an environment variable; the flag wins. Parsing
 * does no I/O: the caller passes argv and an environment lookup, and gets a
 * message back on failure. Prefix gd_ is private to server/.
 */
#ifndef GLOROTD_CONFIG_H
#define GLOROTD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define GD_PATH_MAX 4096

typedef struct {
    struct sockaddr_storage addr; /* parsed --listen address */
    socklen_t addr_len;
    int ipv6;
    char port_file[GD_PATH_MAX]; /* "" = none */
    unsigned threads;
    uint64_t max_elements;
    uint64_t max_body_bytes;
    uint64_t max_json_elements;
    unsigned max_connections;
    unsigned timeout_s; /* 0 = no inactivity timeout */
    unsigned shutdown_grace_s;
} gd_config;

typedef enum {
    GD_CONFIG_RUN,     /* settings complete: start the daemon */
    GD_CONFIG_HELP,    /* --help: print gd_config_usage() and exit 0 */
    GD_CONFIG_VERSION, /* --version: print the version and exit 0 */
    GD_CONFIG_ERROR    /* msg says what is wrong: exit 2 */
} gd_config_result;

/* Environment lookup; getenv fits. Returns NULL when unset. */
typedef const char *(*gd_env_fn)(const char *name);

/* Fill c with defaults, then apply env (may be NULL) and argv[1..argc-1].
 * msg (msg_size bytes) receives one line on GD_CONFIG_ERROR. */
gd_config_result gd_config_load(gd_config *c, int argc, char *const argv[], gd_env_fn env,
                                char *msg, size_t msg_size);

/* Parse "A.B.C.D:PORT" or "[IPv6]:PORT" (port 0..65535; 0 = ephemeral).
 * Returns 0, or -1 with a message in msg. */
int gd_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len, int *ipv6,
                    char *msg, size_t msg_size);

/* Format an address as "A.B.C.D:PORT" or "[v6]:PORT" into out. */
void gd_format_address(const struct sockaddr *sa, unsigned port, char *out, size_t size);

/* Strict unsigned decimal: digits only, no sign, no spaces, min <= v <= max.
 * Returns 0, or -1 when text is not such a number. */
int gd_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* The --help text. */
const char *gd_config_usage(void);

#endif
