/*
 * config.c - flags and GLOROTD_* environment variables, table-driven.
 */
#include "config.h"
#include "glorot_proto.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define GD_MAX_THREADS 256

typedef enum { OPT_ADDRESS, OPT_PATH, OPT_NUMBER, OPT_BOOL, OPT_LOG_FORMAT, OPT_USER } opt_kind;

typedef struct {
    const char *flag;
    const char *env;
    opt_kind kind;
    uint64_t min, max;
    size_t offset; /* field in gd_config */
    size_t width;  /* sizeof the field: 4 (unsigned) or 8 (uint64_t); the size of a path */
} opt_spec;

#define FIELD(field) offsetof(gd_config, field), sizeof(((gd_config *)0)->field)
#define NUM(flag, env, lo, hi, field)                                                              \
    {                                                                                              \
        flag, env, OPT_NUMBER, lo, hi, FIELD(field)                                                \
    }
#define OTHER(flag, env, kind, field)                                                              \
    {                                                                                              \
        flag, env, kind, 0, 0, FIELD(field)                                                        \
    }

static const opt_spec options[] = {
    OTHER("--listen", "GLOROTD_LISTEN", OPT_ADDRESS, addr),
    OTHER("--port-file", "GLOROTD_PORT_FILE", OPT_PATH, port_file),
    NUM("--threads", "GLOROTD_THREADS", 1, GD_MAX_THREADS, threads),
    NUM("--max-elements", "GLOROTD_MAX_ELEMENTS", 1, UINT64_C(1) << 62, max_elements),
    NUM("--max-body-bytes", "GLOROTD_MAX_BODY_BYTES", 2, UINT64_C(1) << 30, max_body_bytes),
    NUM("--max-json-elements", "GLOROTD_MAX_JSON_ELEMENTS", 1, UINT64_C(1) << 40,
        max_json_elements),
    NUM("--max-batch-tensors", "GLOROTD_MAX_BATCH_TENSORS", 1, 1048576, max_batch_tensors),
    NUM("--max-batch-bytes", "GLOROTD_MAX_BATCH_BYTES", 1, UINT64_C(1) << 62, max_batch_bytes),
    NUM("--max-connections", "GLOROTD_MAX_CONNECTIONS", 1, 65536, max_connections),
    NUM("--max-connections-per-ip", "GLOROTD_MAX_CONNECTIONS_PER_IP", 1, 65536,
        max_connections_per_ip),
    NUM("--max-requests", "GLOROTD_MAX_REQUESTS", 1, 65536, max_requests),
    NUM("--max-requests-per-ip", "GLOROTD_MAX_REQUESTS_PER_IP", 1, 65536, max_requests_per_ip),
    NUM("--max-header-bytes", "GLOROTD_MAX_HEADER_BYTES", 8192, 1048576, max_header_bytes),
    NUM("--max-digest-jobs", "GLOROTD_MAX_DIGEST_JOBS", 1, 256, max_digest_jobs),
    NUM("--timeout", "GLOROTD_TIMEOUT", 0, 86400, timeout_s),
    NUM("--drain-delay", "GLOROTD_DRAIN_DELAY", 0, 3600, drain_delay_s),
    NUM("--shutdown-grace", "GLOROTD_SHUTDOWN_GRACE", 0, 3600, shutdown_grace_s),
    OTHER("--token-file", "GLOROTD_TOKEN_FILE", OPT_PATH, token_file),
    OTHER("--public-metrics", "GLOROTD_PUBLIC_METRICS", OPT_BOOL, public_metrics),
    OTHER("--tls-cert", "GLOROTD_TLS_CERT", OPT_PATH, tls_cert),
    OTHER("--tls-key", "GLOROTD_TLS_KEY", OPT_PATH, tls_key),
    OTHER("--log-format", "GLOROTD_LOG_FORMAT", OPT_LOG_FORMAT, log_format),
    OTHER("--allow-root", "GLOROTD_ALLOW_ROOT", OPT_BOOL, allow_root),
    OTHER("--user", "GLOROTD_USER", OPT_USER, user),
};
#define N_OPTIONS (sizeof options / sizeof options[0])
_Static_assert(N_OPTIONS <= GD_OPTION_SLOTS, "raise GD_OPTION_SLOTS");

const char *gd_config_usage(void)
{
    return "usage: glorotd [options]\n"
           "Serve deterministic Glorot-uniform weight tensors over HTTP.\n"
           "Each option also reads from the environment variable in brackets.\n"
           "\n"
           "  --listen ADDR:PORT        address to bind; IPv6 as [::1]:8080; port 0 picks a\n"
           "                            free port (GLOROTD_LISTEN, default 127.0.0.1:8080)\n"
           "  --port-file PATH          write the bound port there once serving\n"
           "                            (GLOROTD_PORT_FILE)\n"
           "  --threads N               worker threads, 1-256 (GLOROTD_THREADS,\n"
           "                            default: online CPUs)\n"
           "  --max-elements N          largest tensor, in elements (GLOROTD_MAX_ELEMENTS,\n"
           "                            default 4294967296)\n"
           "  --max-body-bytes N        largest POST body (GLOROTD_MAX_BODY_BYTES,\n"
           "                            default 1048576)\n"
           "  --max-json-elements N     largest tensor served as format=json\n"
           "                            (GLOROTD_MAX_JSON_ELEMENTS, default 1048576)\n"
           "  --max-batch-tensors N     tensors in one /v1/batch manifest\n"
           "                            (GLOROTD_MAX_BATCH_TENSORS, default 4096)\n"
           "  --max-batch-bytes N       bytes of one /v1/batch answer\n"
           "                            (GLOROTD_MAX_BATCH_BYTES, default 68719476736)\n"
           "  --max-connections N       concurrent connections; more wait in the kernel's\n"
           "                            queue (GLOROTD_MAX_CONNECTIONS, default 1024)\n"
           "  --max-connections-per-ip N  connections from one client address; more are\n"
           "                            closed at once (GLOROTD_MAX_CONNECTIONS_PER_IP,\n"
           "                            default 32)\n"
           "  --max-requests N          requests served at once; more get 503\n"
           "                            (GLOROTD_MAX_REQUESTS, default 256)\n"
           "  --max-requests-per-ip N   requests at once from one client address; more get\n"
           "                            429 (GLOROTD_MAX_REQUESTS_PER_IP, default 8)\n"
           "  --max-header-bytes N      memory per connection for the request line and\n"
           "                            headers, 8192-1048576; larger requests get 431\n"
           "                            (GLOROTD_MAX_HEADER_BYTES, default 16384)\n"
           "  --max-digest-jobs N       digests computed at once (/v1/digest, Want-Repr-Digest),\n"
           "                            each on its own thread; more get 503\n"
           "                            (GLOROTD_MAX_DIGEST_JOBS, default 2)\n"
           "  --timeout SECONDS         close idle connections after this long, 0 = never\n"
           "                            (GLOROTD_TIMEOUT, default 60)\n"
           "  --drain-delay SECONDS     on SIGTERM, keep serving this long with /readyz\n"
           "                            answering 503 (GLOROTD_DRAIN_DELAY, default 0)\n"
           "  --shutdown-grace SECONDS  then wait this long for downloads in flight\n"
           "                            (GLOROTD_SHUTDOWN_GRACE, default 30)\n"
           "  --token-file PATH         bearer tokens, one per line; requests without one\n"
           "                            get 401 (GLOROTD_TOKEN_FILE, default: no auth)\n"
           "  --public-metrics          serve /metrics without a token\n"
           "                            (GLOROTD_PUBLIC_METRICS=1, default off)\n"
           "  --tls-cert PATH           PEM certificate chain: serve HTTPS\n"
           "                            (GLOROTD_TLS_CERT; needs --tls-key)\n"
           "  --tls-key PATH            PEM private key (GLOROTD_TLS_KEY)\n"
           "  --log-format text|json    access log and notes on stderr\n"
           "                            (GLOROTD_LOG_FORMAT, default text)\n"
           "  --allow-root              run as root without --user\n"
           "                            (GLOROTD_ALLOW_ROOT=1, default off)\n"
           "  --user NAME               after binding, switch to this user and its group\n"
           "                            (GLOROTD_USER; needs root)\n"
           "  --check-config            validate the settings, print them, exit 0 (or 2)\n"
           "  --help                    this text\n"
           "  --version                 print the version\n"
           "\n"
           "Flags win over environment variables.\n";
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > GD_MAX_THREADS ? GD_MAX_THREADS : (unsigned)n;
}

void gd_config_defaults(gd_config *c)
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
    c->max_batch_tensors = 4096;
    c->max_batch_bytes = UINT64_C(64) << 30;
    c->max_connections = 1024;
    c->max_connections_per_ip = 32;
    c->max_requests = 256;
    c->max_requests_per_ip = 8;
    c->max_header_bytes = 16384;
    c->max_digest_jobs = 2;
    c->timeout_s = 60;
    c->shutdown_grace_s = 30;
    c->log_format = GD_LOG_TEXT;
}

static int parse_port(const char *text, in_port_t *port)
{
    uint64_t v;
    if (gp_parse_u64(text, strlen(text), 0, 65535, 0, &v) != GP_U64_OK)
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

int gd_parse_bool(const char *text)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return 1;
        if (strcasecmp(text, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* A user name as useradd accepts it: letters, digits, '.', '_', '-', not
 * starting with '-', at most GD_USER_MAX - 1 bytes. */
static int valid_user(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= GD_USER_MAX || name[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && strchr("._-", name[i]) == NULL)
            return 0;
    return 1;
}

static void *field_of(gd_config *c, const opt_spec *o)
{
    return (unsigned char *)c + o->offset;
}

static void store_number(gd_config *c, const opt_spec *o, uint64_t v)
{
    if (o->width == sizeof(uint64_t)) {
        memcpy(field_of(c, o), &v, sizeof v);
    } else {
        unsigned u = (unsigned)v; /* o->max fits in unsigned */
        memcpy(field_of(c, o), &u, sizeof u);
    }
}

static int store_int(gd_config *c, const opt_spec *o, int v)
{
    memcpy(field_of(c, o), &v, sizeof v);
    return 0;
}

static int apply_text(gd_config *c, const opt_spec *o, const char *value, const char *source,
                      char *msg, size_t msg_size)
{
    if (o->kind == OPT_USER) {
        if (valid_user(value)) {
            snprintf(c->user, sizeof c->user, "%s", value);
            return 0;
        }
        snprintf(msg, msg_size, "%s: '%.64s' is not a user name (letters, digits, . _ -)", source,
                 value);
        return -1;
    }
    if (value[0] != '\0' && strlen(value) < o->width - 8) { /* room for ".tmp" */
        snprintf(field_of(c, o), o->width, "%s", value);
        return 0;
    }
    snprintf(msg, msg_size, "%s: expected a file path (1 to %zu bytes)", source, o->width - 9);
    return -1;
}

static int apply_choice(gd_config *c, const opt_spec *o, const char *value, const char *source,
                        char *msg, size_t msg_size)
{
    if (o->kind == OPT_BOOL) {
        int b = gd_parse_bool(value);
        if (b >= 0)
            return store_int(c, o, b);
        snprintf(msg, msg_size, "%s: '%.64s' is not a boolean (1/0, true/false, yes/no, on/off)",
                 source, value);
        return -1;
    }
    if (strcmp(value, "text") == 0 || strcmp(value, "json") == 0) {
        c->log_format = value[0] == 'j' ? GD_LOG_JSON : GD_LOG_TEXT;
        return 0;
    }
    snprintf(msg, msg_size, "%s: '%.64s' is not a log format (text or json)", source, value);
    return -1;
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
    case OPT_USER:
        return apply_text(c, o, value, source, msg, msg_size);
    case OPT_BOOL:
    case OPT_LOG_FORMAT:
        return apply_choice(c, o, value, source, msg, msg_size);
    case OPT_NUMBER:
        if (gp_parse_u64(value, strlen(value), o->min, o->max, 0, &v) == GP_U64_OK) {
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
        if (v == NULL)
            continue;
        if (apply(c, &options[i], v, options[i].env, msg, msg_size) != 0)
            return -1;
        c->from[i] = GD_FROM_ENV;
    }
    return 0;
}

static int is_action(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "--version") == 0 ||
           strcmp(arg, "--check-config") == 0;
}

/* One flag at argv[*i]: "--flag value" or "--flag=value"; a boolean flag
 * alone means true. */
static int apply_flag(gd_config *c, int argc, char *const argv[], int *i, char *msg,
                      size_t msg_size)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    const opt_spec *o = find_flag(arg, name_len);
    if (o == NULL) {
        snprintf(msg, msg_size, "unknown option '%.100s' (see --help)", arg);
        return -1;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (value == NULL && o->kind == OPT_BOOL)
        value = "1";
    if (value == NULL) {
        if (*i + 1 >= argc) {
            snprintf(msg, msg_size, "%s needs a value (see --help)", o->flag);
            return -1;
        }
        value = argv[++*i];
    }
    if (apply(c, o, value, o->flag, msg, msg_size) != 0)
        return -1;
    c->from[o - options] = GD_FROM_FLAG;
    return 0;
}

/* Cross-option rules. */
static int check_together(const gd_config *c, char *msg, size_t msg_size)
{
    if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0')) {
        snprintf(msg, msg_size, "--tls-cert and --tls-key go together: give both or neither");
        return -1;
    }
    return 0;
}

gd_config_result gd_config_load(gd_config *c, int argc, char *const argv[], gd_env_fn env,
                                char *msg, size_t msg_size)
{
    gd_config_defaults(c);
    int check = 0;
    /* --help and --version work even when the environment holds bad values. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return GD_CONFIG_HELP;
        if (strcmp(argv[i], "--version") == 0)
            return GD_CONFIG_VERSION;
        check |= strcmp(argv[i], "--check-config") == 0;
    }
    if (apply_env(c, argc, argv, env, msg, msg_size) != 0)
        return GD_CONFIG_ERROR;
    for (int i = 1; i < argc; i++)
        if (!is_action(argv[i]) && apply_flag(c, argc, argv, &i, msg, msg_size) != 0)
            return GD_CONFIG_ERROR;
    if (check_together(c, msg, msg_size) != 0)
        return GD_CONFIG_ERROR;
    return check ? GD_CONFIG_CHECK : GD_CONFIG_RUN;
}

/* ---- describe ------------------------------------------------------------------ */

static unsigned listen_port(const gd_config *c)
{
    const struct sockaddr *sa = (const struct sockaddr *)&c->addr;
    return ntohs(sa->sa_family == AF_INET6
                     ? ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port
                     : ((const struct sockaddr_in *)(const void *)sa)->sin_port);
}

static void value_text(const gd_config *c, const opt_spec *o, char *out, size_t size)
{
    const unsigned char *field = (const unsigned char *)c + o->offset;
    uint64_t v = 0;
    unsigned u = 0;
    int b = 0;
    switch (o->kind) {
    case OPT_ADDRESS:
        gd_format_address((const struct sockaddr *)&c->addr, listen_port(c), out, size);
        return;
    case OPT_PATH:
    case OPT_USER:
        snprintf(out, size, "%s", field[0] != '\0' ? (const char *)field : "(none)");
        return;
    case OPT_BOOL:
        memcpy(&b, field, sizeof b);
        snprintf(out, size, "%s", b ? "true" : "false");
        return;
    case OPT_LOG_FORMAT:
        snprintf(out, size, "%s", c->log_format == GD_LOG_JSON ? "json" : "text");
        return;
    case OPT_NUMBER:
        if (o->width == sizeof v) {
            memcpy(&v, field, sizeof v);
        } else {
            memcpy(&u, field, sizeof u);
            v = u;
        }
        snprintf(out, size, "%llu", (unsigned long long)v);
        return;
    }
}

size_t gd_config_describe(const gd_config *c, char *out, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_OPTIONS && used < size; i++) {
        char value[GD_PATH_MAX + 16];
        value_text(c, &options[i], value, sizeof value);
        const char *from = c->from[i] == GD_FROM_FLAG  ? options[i].flag
                           : c->from[i] == GD_FROM_ENV ? options[i].env
                                                       : "default";
        int n = snprintf(out + used, size - used, "%-25s %s  (%s)\n", options[i].flag, value, from);
        if (n < 0)
            break;
        used += (size_t)n < size - used ? (size_t)n : size - used - 1;
    }
    return used;
}

size_t gd_config_option_count(void)
{
    return N_OPTIONS;
}

void gd_config_option_names(size_t i, const char **flag, const char **env)
{
    *flag = options[i].flag;
    *env = options[i].env;
}

int gd_config_is_loopback(const gd_config *c)
{
    const struct sockaddr *sa = (const struct sockaddr *)&c->addr;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
    uint32_t a = ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);
    return (a >> 24) == 127;
}
