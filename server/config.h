/*
 * config.h - glorotd settings from command-line flags and GLOROTD_* variables.
 *
 * Every option has a flag and an environment variable; the flag wins. Parsing
 * does no I/O: the caller passes argv and an environment lookup, and gets a
 * message back on failure. Files named by options (tokens, TLS) are read
 * later, by their modules. Prefix gd_ is private to server/.
 * docs/OPERATIONS.md lists every option with its default.
 */
#ifndef GLOROTD_CONFIG_H
#define GLOROTD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define GD_PATH_MAX 4096
#define GD_USER_MAX 64
#define GD_OPTION_SLOTS 32 /* >= the number of options (checked at compile time) */

typedef enum { GD_LOG_TEXT, GD_LOG_JSON } gd_log_format;

/* Where an option's value came from (gd_config_describe prints it). */
typedef enum { GD_FROM_DEFAULT, GD_FROM_ENV, GD_FROM_FLAG } gd_from;

typedef struct {
    struct sockaddr_storage addr; /* parsed --listen address */
    socklen_t addr_len;
    int ipv6;
    char port_file[GD_PATH_MAX]; /* "" = none */
    unsigned threads;
    uint64_t max_elements;
    uint64_t max_body_bytes;
    uint64_t max_json_elements;
    uint64_t max_batch_tensors; /* tensors in one /v1/batch manifest */
    uint64_t max_batch_bytes;   /* bytes of one /v1/batch answer */
    unsigned max_connections;
    unsigned max_connections_per_ip;
    unsigned max_requests;        /* requests being served at once (503 busy beyond) */
    unsigned max_requests_per_ip; /* the same per client address (429 beyond) */
    unsigned max_header_bytes;    /* libmicrohttpd's per-connection memory pool */
    unsigned max_digest_jobs;     /* digest threads: jobs at once (503 busy beyond) */
    unsigned timeout_s;           /* 0 = no inactivity timeout */
    unsigned drain_delay_s;       /* after SIGTERM: keep serving, /readyz 503 */
    unsigned shutdown_grace_s;
    char token_file[GD_PATH_MAX]; /* "" = no authentication */
    int public_metrics;           /* /metrics without a token */
    char tls_cert[GD_PATH_MAX];   /* both "" = plain HTTP */
    char tls_key[GD_PATH_MAX];
    gd_log_format log_format;
    int allow_root;
    char user[GD_USER_MAX];              /* "" = keep the starting user */
    unsigned char from[GD_OPTION_SLOTS]; /* gd_from per option, in table order */
} gd_config;

typedef enum {
    GD_CONFIG_RUN,     /* settings complete: start the daemon */
    GD_CONFIG_CHECK,   /* --check-config: settings complete, validate and print them */
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

/* Fill c with the defaults, where gd_config_load starts. */
void gd_config_defaults(gd_config *c);

/* How many options there are, and option i's flag and environment variable
 * (i < gd_config_option_count(); static strings). */
size_t gd_config_option_count(void);
void gd_config_option_names(size_t i, const char **flag, const char **env);

/* The resolved settings, one "--flag value  (source)" line each, into out
 * (NUL-terminated, truncated to size). Secrets are never in a gd_config
 * (tokens live in their file), so nothing needs redacting here. Returns the
 * length written. */
size_t gd_config_describe(const gd_config *c, char *out, size_t size);

/* 1 when the listen address is a loopback address (127.0.0.0/8, ::1). */
int gd_config_is_loopback(const gd_config *c);

/* Parse "A.B.C.D:PORT" or "[IPv6]:PORT" (port 0..65535; 0 = ephemeral).
 * Returns 0, or -1 with a message in msg. */
int gd_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len, int *ipv6,
                    char *msg, size_t msg_size);

/* Format an address as "A.B.C.D:PORT" or "[v6]:PORT" into out. */
void gd_format_address(const struct sockaddr *sa, unsigned port, char *out, size_t size);

/* "1", "true", "yes", "on" -> 1; "0", "false", "no", "off" -> 0 (any case);
 * anything else -> -1. */
int gd_parse_bool(const char *text);

/* The --help text. */
const char *gd_config_usage(void);

#endif
