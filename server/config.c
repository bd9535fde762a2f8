/*
 * config.c - flags and GLOROTD_* environment variables, table-driven.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define GD_MAX_THREADS 256

typedef enum { OPT_ADDRESS, OPT_PATH, OPT_NUMBER } opt_kind;

typedef struct {
    const char *flag;
    const char *env;
    opt_kind kind;
    uint64_t min, max;
    size_t offset; /* field in gd_config */
    size_t width;  /* sizeof the field: 4 (unsigned) or 8 (uint64_t) */
} opt_spec;

#define NUM(flag, env, lo, hi, field)                                                              \
    {                                                                                              \
        flag, env, OPT_NUMBER, lo, hi, offsetof(gd_config, field), sizeof(((gd_config *)0)->field) \
    }

static const opt_spec options[] = {
    {"--listen", "GLOROTD_LISTEN", OPT_ADDRESS, 0, 0, 0, 0},
    {"--port-file", "GLOROTD_PORT_FILE", OPT_PATH, 0, 0, 0, 0},
    NUM("--threads", "GLOROTD_THREADS", 1, GD_MAX_THREADS, threads),
    NUM("--max-elements", "GLOROTD_MAX_ELEMENTS", 1, UINT64_C(1) << 62, max_elements),
    NUM("--max-body-bytes", "GLOROTD_MAX_BODY_BYTES", 2, UINT64_C(1) << 30, max_body_bytes),
    NUM("--max-json-elements", "GLOROTD_MAX_JSON_ELEMENTS", 1, UINT64_C(1) << 40,
        max_json_elements),
    NUM("--max-connections", "GLOROTD_MAX_CONNECTIONS", 1, 65536, max_connections),
    NUM("--timeout", "GLOROTD_TIMEOUT", 0, 86400, timeout_s),
    NUM("--shutdown-grace", "GLOROTD_SHUTDOWN_GRACE", 0, 3600, shutdown_grace_s),
};
#define N_OPTIONS (sizeof options / sizeof options[0])

const char *gd_config_usage(void)
{
    return "usage: glorotd [options]\n"
           "Serve deterministic Glorot-uniform weight tensors over HTTP.\n"
           "\n"
           "  --listen ADDR:PORT        address to bind; IPv6 as [::1]:8080; port 0 picks a\n"
           "                            free port (GLOROTD_LISTEN, default 127.0.0.1:8080)\n"
           "  --port-file PATH          write the bound port there once listening\n"
           "                            (GLOROTD_PORT_FILE)\n"
           "  --threads N               worker threads, 1-256 (GLOROTD_THREADS,\n"
           "                            default: online CPUs)\n"
           "  --max-elements N          largest tensor, in elements (GLOROTD_MAX_ELEMENTS,\n"
           "                            default 4294967296)\n"
           "  --max-body-bytes N        largest POST body (GLOROTD_MAX_BODY_BYTES,\n"
           "                            default 1048576)\n"
           "  --max-json-elements N     largest tensor served as format=json\n"
           "                            (GLOROTD_MAX_JSON_ELEMENTS, default 1048576)\n"
           "  --max-connections N       concurrent connections (GLOROTD_MAX_CONNECTIONS,\n"
           "                            default 1024)\n"
           "  --timeout SECONDS         close idle connections after this long, 0 = never\n"
           "                            (GLOROTD_TIMEOUT, default 60)\n"
           "  --shutdown-grace SECONDS  on SIGTERM/SIGINT, wait this long for downloads in\n"
           "                            flight (GLOROTD_SHUTDOWN_GRACE, default 30)\n"
           "  --help                    this text\n"
           "  --version                 print the version\n"
           "\n"
           "Flags win over environment variables.\n";
}

int gd_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (text == NULL || *text == '\0')
        return -1;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned digit = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > GD_MAX_THREADS ? GD_MAX_THREADS : (unsigned)n;
}

static void set_defaults(gd_config *c)
{
    memset(c, 0, sizeof *c);
    struct sockaddr_in *in = (struct sockaddr_in *)&c->addr;
    in->sin_family = AF_INET;
    in->sin_port = htons(8080);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->addr_len = sizeof *in;
    c->threads = default_threads();
    c->max_elements = UINT64_C(4294967296);
    c->max_body_bytes = 1048576;
    c->max_json_elements = 1048576;
    c->max_connections = 1024;
    c->timeout_s = 60;
    c->shutdown_grace_s = 30;
}

static int parse_port(const char *text, in_port_t *port)
{
    uint64_t v;
    if (gd_parse_u64(text, 0, 65535, &v) != 0)
        return -1;
    *port = htons((uint16_t)v);
    return 0;
}

static int parse_ipv6(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *close = strchr(text, ']');
    char host[INET6_ADDRSTRLEN];
    size_t n = close ? (size_t)(close - text - 1) : 0;
    if (close == NULL || close[1] != ':' || n == 0 || n >= sizeof host)
        return -1;
    memcpy(host, text + 1, n);
    host[n] = '\0';
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    in6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1 || parse_port(close + 2, &in6->sin6_port))
        return -1;
    *len = sizeof *in6;
    return 0;
}

static int parse_ipv4(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *colon = strrchr(text, ':');
    char host[INET_ADDRSTRLEN];
    size_t n = colon ? (size_t)(colon - text) : 0;
    if (colon == NULL || n == 0 || n >= sizeof host)
        return -1;
    memcpy(host, text, n);
    host[n] = '\0';
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof *ss);
    in->sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &in->sin_addr) != 1 || parse_port(colon + 1, &in->sin_port))
        return -1;
    *len = sizeof *in;
    return 0;
}

int gd_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len, int *ipv6,
                    char *msg, size_t msg_size)
{
    int v6 = text[0] == '[';
    int rc = v6 ? parse_ipv6(text, ss, len) : parse_ipv4(text, ss, len);
    if (rc != 0) {
        snprintf(msg, msg_size,
                 "invalid address '%.200s': expected A.B.C.D:PORT or [IPv6]:PORT with PORT "
                 "0-65535",
                 text);
        return -1;
    }
    *ipv6 = v6;
    return 0;
}

void gd_format_address(const struct sockaddr *sa, unsigned port, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
        snprintf(out, size, "[%s]:%u", host, port);
        return;
    }
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
    snprintf(out, size, "%s:%u", host, port);
}

static void store_number(gd_config *c, const opt_spec *o, uint64_t v)
{
    unsigned char *field = (unsigned char *)c + o->offset;
    if (o->width == sizeof(uint64_t)) {
        memcpy(field, &v, sizeof v);
    } else {
        unsigned u = (unsigned)v; /* o->max fits in unsigned */
        memcpy(field, &u, sizeof u);
    }
}

/* Apply one option's text; `source` names the flag or variable in messages. */
static int apply(gd_config *c, const opt_spec *o, const char *value, const char *source, char *msg,
                 size_t msg_size)
{
    uint64_t v;
    switch (o->kind) {
    case OPT_ADDRESS: {
        char why[320];
        if (gd_parse_listen(value, &c->addr, &c->addr_len, &c->ipv6, why, sizeof why) == 0)
            return 0;
        snprintf(msg, msg_size, "%s: %s", source, why);
        return -1;
    }
    case OPT_PATH:
        if (value[0] != '\0' && strlen(value) < sizeof c->port_file - 8) {
            snprintf(c->port_file, sizeof c->port_file, "%s", value);
            return 0;
        }
        snprintf(msg, msg_size, "%s: expected a file path (1 to %zu bytes)", source,
                 sizeof c->port_file - 9);
        return -1;
    case OPT_NUMBER:
        if (gd_parse_u64(value, o->min, o->max, &v) == 0) {
            store_number(c, o, v);
            return 0;
        }
        snprintf(msg, msg_size, "%s: '%.64s' is not a whole number from %llu to %llu (digits only)",
                 source, value, (unsigned long long)o->min, (unsigned long long)o->max);
        return -1;
    }
    return -1;
}

static const opt_spec *find_flag(const char *arg, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].flag) == len && strncmp(options[i].flag, arg, len) == 0)
            return &options[i];
    return NULL;
}

/* 1 when argv sets o, so its variable is not even parsed: the flag wins. */
static int flag_given(int argc, char *const argv[], const opt_spec *o)
{
    size_t n = strlen(o->flag);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], o->flag, n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '='))
            return 1;
    return 0;
}

static int apply_env(gd_config *c, int argc, char *const argv[], gd_env_fn env, char *msg,
                     size_t msg_size)
{
    for (size_t i = 0; env != NULL && i < N_OPTIONS; i++) {
        if (flag_given(argc, argv, &options[i]))
            continue;
        const char *v = env(options[i].env);
        if (v != NULL && apply(c, &options[i], v, options[i].env, msg, msg_size) != 0)
            return -1;
    }
    return 0;
}

/* One flag at argv[*i]: "--flag value" or "--flag=value". */
static gd_config_result apply_flag(gd_config *c, int argc, char *const argv[], int *i, char *msg,
                                   size_t msg_size)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
        return GD_CONFIG_HELP;
    if (strcmp(arg, "--version") == 0)
        return GD_CONFIG_VERSION;
    const char *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    const opt_spec *o = find_flag(arg, name_len);
    if (o == NULL) {
        snprintf(msg, msg_size, "unknown option '%.100s' (see --help)", arg);
        return GD_CONFIG_ERROR;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (value == NULL) {
        if (*i + 1 >= argc) {
            snprintf(msg, msg_size, "%s needs a value (see --help)", o->flag);
            return GD_CONFIG_ERROR;
        }
        value = argv[++*i];
    }
    return apply(c, o, value, o->flag, msg, msg_size) == 0 ? GD_CONFIG_RUN : GD_CONFIG_ERROR;
}

gd_config_result gd_config_load(gd_config *c, int argc, char *const argv[], gd_env_fn env,
                                char *msg, size_t msg_size)
{
    set_defaults(c);
    /* --help and --version work even when the environment holds bad values. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return GD_CONFIG_HELP;
        if (strcmp(argv[i], "--version") == 0)
            return GD_CONFIG_VERSION;
    }
    if (apply_env(c, argc, argv, env, msg, msg_size) != 0)
        return GD_CONFIG_ERROR;
    for (int i = 1; i < argc; i++) {
        gd_config_result r = apply_flag(c, argc, argv, &i, msg, msg_size);
        if (r != GD_CONFIG_RUN)
            return r;
    }
    return GD_CONFIG_RUN;
}
