/*
 * options.c - command-line parsing for the glorot command. Request options
 * go through glorot_request_set, so they are checked by the same code the
 * server uses; everything else is checked here.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ON_FETCH (1u << CMD_FETCH)
#define ON_GEN (1u << CMD_GEN)
#define ON_INFO (1u << CMD_INFO)
#define ON_HEALTH (1u << CMD_HEALTH)
#define ON_DIGEST (1u << CMD_DIGEST)
#define ON_TENSOR (ON_FETCH | ON_GEN)
#define ON_REQUEST (ON_TENSOR | ON_DIGEST)
#define ON_NETWORK (ON_FETCH | ON_INFO | ON_HEALTH | ON_DIGEST)
#define ON_ALL (ON_REQUEST | ON_INFO | ON_HEALTH)

enum {
    O_URL = 256,
    O_SHAPE,
    O_SEED,
    O_DTYPE,
    O_GAIN,
    O_ALGORITHM,
    O_FAN,
    O_FAN_IN,
    O_FAN_OUT,
    O_NAME,
    O_CALL,
    O_FORMAT,
    O_SLICE,
    O_SHARD,
    O_AXIS,
    O_SPLIT,
    O_STRIDE,
    O_INIT,
    O_MODE,
    O_LOW,
    O_HIGH,
    O_MEAN,
    O_STD,
    O_A,
    O_B,
    O_VALUE,
    O_VERIFY,
    O_TIMEOUT,
    O_CONNECT_TIMEOUT,
    O_RETRIES,
    O_CA_FILE,
    O_OUTPUT = 'o',
    O_QUIET = 'q'
};

#define ARG required_argument
static const cli_option defs[] = {
    {"url", O_URL, "", ON_NETWORK, ARG},
    {"shape", O_SHAPE, "shape", ON_REQUEST, ARG},
    {"seed", O_SEED, "seed", ON_REQUEST, ARG},
    {"dtype", O_DTYPE, "dtype", ON_REQUEST, ARG},
    {"init", O_INIT, "init", ON_REQUEST, ARG},
    {"gain", O_GAIN, "gain", ON_REQUEST, ARG},
    {"mode", O_MODE, "mode", ON_REQUEST, ARG},
    {"low", O_LOW, "low", ON_REQUEST, ARG},
    {"high", O_HIGH, "high", ON_REQUEST, ARG},
    {"mean", O_MEAN, "mean", ON_REQUEST, ARG},
    {"std", O_STD, "std", ON_REQUEST, ARG},
    {"a", O_A, "a", ON_REQUEST, ARG},
    {"b", O_B, "b", ON_REQUEST, ARG},
    {"value", O_VALUE, "value", ON_REQUEST, ARG},
    {"algorithm", O_ALGORITHM, "algorithm", ON_REQUEST, ARG},
    {"fan", O_FAN, "fan", ON_REQUEST, ARG},
    {"fan-in", O_FAN_IN, "fan_in", ON_REQUEST, ARG},
    {"fan-out", O_FAN_OUT, "fan_out", ON_REQUEST, ARG},
    {"name", O_NAME, "name", ON_REQUEST, ARG},
    {"call", O_CALL, "call", ON_REQUEST, ARG},
    {"format", O_FORMAT, "format", ON_REQUEST, ARG},
    {"slice", O_SLICE, "slice", ON_REQUEST, ARG},
    {"shard", O_SHARD, "shard", ON_REQUEST, ARG},
    {"axis", O_AXIS, "axis", ON_REQUEST, ARG},
    {"split", O_SPLIT, "split", ON_REQUEST, ARG},
    {"stride", O_STRIDE, "stride", ON_REQUEST, ARG},
    {"output", O_OUTPUT, "", ON_TENSOR, ARG},
    {"verify", O_VERIFY, "", ON_FETCH, ARG},
    {"timeout", O_TIMEOUT, "", ON_NETWORK, ARG},
    {"connect-timeout", O_CONNECT_TIMEOUT, "", ON_NETWORK, ARG},
    {"retries", O_RETRIES, "", ON_FETCH | ON_INFO | ON_DIGEST, ARG},
    {"ca-file", O_CA_FILE, "", ON_NETWORK, ARG},
    {"quiet", O_QUIET, "", ON_ALL, no_argument},
};
#undef ARG

#define NDEFS (sizeof defs / sizeof defs[0])
_Static_assert(NDEFS <= CLI_OPTIONS_MAX, "cli_options.shorts has room for every row");

void cli_options_start(cli_options *it, const cli_option *table, size_t count, struct option *longs)
{
    size_t k = 0;
    it->defs = table;
    it->count = count;
    it->longs = longs;
    it->shorts[k++] = ':'; /* a missing value is ':', not '?' */
    for (size_t i = 0; i < count; i++) {
        longs[i] = (struct option){table[i].name, table[i].has_arg, NULL, table[i].id};
        if (table[i].id < 256 && k + 3 <= sizeof it->shorts) {
            it->shorts[k++] = (char)table[i].id;
            if (table[i].has_arg == required_argument)
                it->shorts[k++] = ':';
        }
    }
    it->shorts[k] = '\0';
    longs[count] = (struct option){NULL, 0, NULL, 0};
    opterr = 0;
    optind = 1;
}

int cli_options_next(cli_options *it, int argc, char **argv, const cli_option **def,
                     const char **value, int *first)
{
    int id = getopt_long(argc, argv, it->shorts, it->longs, NULL);
    *def = NULL;
    *value = NULL;
    *first = optind;
    if (id == -1)
        return CLI_OPT_END;
    for (size_t i = 0; id != '?' && id != ':' && i < it->count; i++)
        if (it->defs[i].id == id)
            *def = &it->defs[i];
    if (*def == NULL) {
        *value = argv[optind - 1];
        return id == ':' ? CLI_OPT_NO_VALUE : CLI_OPT_UNKNOWN;
    }
    *value = optarg;
    return CLI_OPT_FOUND;
}

static const char *command_name(cli_command c)
{
    static const char names[][8] = {"fetch", "gen", "info", "health", "digest"};
    return names[c];
}

static int usage_error(cli_command c, const char *what, const char *detail)
{
    fprintf(stderr, "glorot %s: %s%s (see glorot --help)\n", command_name(c), what, detail);
    return CLI_EXIT_USAGE;
}

/* Whole seconds, 1..86400, as milliseconds. */
static int parse_seconds(const char *text, long *ms)
{
    char *end = NULL;
    if (text[0] < '0' || text[0] > '9')
        return -1;
    unsigned long v = strtoul(text, &end, 10);
    if (*end != '\0' || v < 1 || v > 86400)
        return -1;
    *ms = (long)v * 1000;
    return 0;
}

static int parse_retries(const char *text, int *retries)
{
    char *end = NULL;
    if (text[0] < '0' || text[0] > '9')
        return -1;
    unsigned long v = strtoul(text, &end, 10);
    if (*end != '\0' || v > 100)
        return -1;
    *retries = v == 0 ? GLOROT_RETRIES_NONE : (int)v;
    return 0;
}

static int parse_verify(const char *text, glorot_verify *mode)
{
    static const struct {
        char name[8];
        glorot_verify mode;
    } modes[] = {{"none", GLOROT_VERIFY_NONE},
                 {"sample", GLOROT_VERIFY_SAMPLE},
                 {"full", GLOROT_VERIFY_FULL}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(text, modes[i].name) == 0) {
            *mode = modes[i].mode;
            return 0;
        }
    return -1;
}

static int apply_client_option(cli_args *a, int id, const char *value)
{
    glorot_options *o = &a->client;
    switch (id) {
    case O_URL:
        a->url = value;
        return 0;
    case O_OUTPUT:
        a->output = value;
        return 0;
    case O_CA_FILE:
        o->ca_file = value;
        return 0;
    case O_QUIET:
        a->quiet = 1;
        return 0;
    case O_TIMEOUT:
        return parse_seconds(value, &o->timeout_ms);
    case O_CONNECT_TIMEOUT:
        return parse_seconds(value, &o->connect_timeout_ms);
    case O_RETRIES:
        return parse_retries(value, &o->retries);
    case O_VERIFY:
        return parse_verify(value, &o->verify);
    }
    return -1;
}

static int apply_option(cli_args *a, const cli_option *d, const char *value)
{
    if (d->key[0] != '\0') {
        glorot_error err = {0};
        if (glorot_request_set(&a->req, d->key, value, &err) != GLOROT_OK) {
            cli_report(&err);
            return CLI_EXIT_REJECTED;
        }
        return CLI_EXIT_OK;
    }
    if (apply_client_option(a, d->id, value) != 0) {
        fprintf(stderr, "glorot %s: invalid value '%s' for --%s (see glorot --help)\n",
                command_name(a->command), value, d->name);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int check_required(const cli_args *a)
{
    if (a->command != CMD_GEN && a->url == NULL)
        return usage_error(a->command, "--url (or GLOROT_URL) is required", "");
    if (a->command != CMD_FETCH && a->command != CMD_GEN && a->command != CMD_DIGEST)
        return CLI_EXIT_OK;
    if (a->req.rank == 0)
        return usage_error(a->command, "--shape is required", "");
    if (a->command == CMD_DIGEST)
        return CLI_EXIT_OK;
    if (a->command == CMD_GEN && !a->req.seed_set)
        return usage_error(a->command, "--seed is required for local generation", "");
    if (a->output == NULL)
        return usage_error(a->command, "-o FILE (or -o - for stdout) is required", "");
    return CLI_EXIT_OK;
}

static void set_defaults(cli_command command, cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->command = command;
    glorot_request_init(&a->req);
    a->url = getenv("GLOROT_URL");
    if (a->url != NULL && a->url[0] == '\0')
        a->url = NULL;
    a->client.bearer_token = getenv("GLOROT_TOKEN");
    if (a->client.bearer_token != NULL && a->client.bearer_token[0] == '\0')
        a->client.bearer_token = NULL;
    a->client.verify = GLOROT_VERIFY_SAMPLE;
    if (command == CMD_HEALTH) {
        /* a health probe must answer quickly */
        a->client.connect_timeout_ms = 2000;
        a->client.timeout_ms = 5000;
    }
}

int cli_parse(cli_command command, int argc, char **argv, cli_args *a)
{
    unsigned char seen[NDEFS] = {0};
    struct option longs[NDEFS + 1];
    cli_options it;
    const cli_option *d;
    const char *value;
    int found, first;
    cli_options_start(&it, defs, NDEFS, longs);
    set_defaults(command, a);
    while ((found = cli_options_next(&it, argc, argv, &d, &value, &first)) == CLI_OPT_FOUND) {
        if (!(d->commands & (1u << command)))
            return usage_error(command, "option not allowed here: --", d->name);
        if (seen[d - defs]++)
            return usage_error(command, "option given twice: --", d->name);
        int rc = apply_option(a, d, value);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    if (found != CLI_OPT_END)
        return usage_error(
            command, found == CLI_OPT_NO_VALUE ? "missing value for " : "unknown option ", value);
    if (first < argc)
        return usage_error(command, "unexpected argument ", argv[first]);
    return check_required(a);
}

int cli_exit_for(glorot_code rc, const glorot_error *err)
{
    switch (rc) {
    case GLOROT_OK:
        return CLI_EXIT_OK;
    case GLOROT_E_INVALID:
        return CLI_EXIT_REJECTED;
    case GLOROT_E_HTTP:
        return err->http_status >= 400 && err->http_status < 500 ? CLI_EXIT_REJECTED
                                                                 : CLI_EXIT_SERVER;
    case GLOROT_E_VERIFY:
        return CLI_EXIT_VERIFY;
    case GLOROT_E_BUFFER:
    case GLOROT_E_NOMEM:
    case GLOROT_E_ABORTED:
        return CLI_EXIT_LOCAL;
    case GLOROT_E_CONNECT:
    case GLOROT_E_TIMEOUT:
    case GLOROT_E_PROTOCOL:
    case GLOROT_E_TLS:
    case GLOROT_E_INTERNAL:
        break;
    }
    return CLI_EXIT_SERVER;
}

void cli_report(const glorot_error *err)
{
    const char *msg = err->message[0] != '\0' ? err->message : glorot_strerror(err->code);
    fprintf(stderr, "glorot: %s", msg);
    if (err->code == GLOROT_E_HTTP)
        fprintf(stderr, " (HTTP %d%s%s)", err->http_status, err->server_code[0] ? ", " : "",
                err->server_code);
    if (err->param[0] != '\0')
        fprintf(stderr, " [parameter %s]", err->param);
    fputc('\n', stderr);
}

void cli_usage(FILE *f)
{
    fputs("usage: glorot fetch --url URL --shape D1,D2[,...] [request options] -o FILE|-\n"
          "       glorot gen --shape D1,D2[,...] --seed N [request options] -o FILE|-\n"
          "       glorot digest --url URL --shape D1,D2[,...] [request options]\n"
          "       glorot info --url URL\n"
          "       glorot health --url URL\n"
          "       glorot --help | --version\n"
          "\n"
          "fetch downloads initialised weights from glorotd; gen writes the same bytes\n"
          "computed locally, without a server. Output files are written atomically: a\n"
          "temporary file renamed into place, so a failed run never leaves a partial file.\n"
          "-o - writes to stdout (binary formats are refused on a terminal). digest prints\n"
          "the server's SHA-256 and length of the body the same fetch would get.\n"
          "\n"
          "request options (names and values as in the HTTP protocol):\n"
          "  --shape D1,D2,...   1 to 8 dimensions (required; 2 to 8 with fans)\n"
          "  --seed N            0..2^64-1 (fetch: the server draws one if absent and it is\n"
          "                      reported on stderr)\n"
          "  --dtype T           float32 (default), float16, bfloat16, float64\n"
          "  --init I            glorot_uniform (default), glorot_normal, he_uniform,\n"
          "                      he_normal, uniform, normal, truncated_normal, constant,\n"
          "                      zeros, ones, identity\n"
          "  --gain G            glorot_*, he_*: number or nonlinearity: 1 (default), relu,\n"
          "                      tanh, leaky_relu:0.2\n"
          "  --mode M            he_*: fan_in (default) or fan_out\n"
          "  --low X, --high X   uniform: bounds (default 0, 1)\n"
          "  --mean X, --std X   normal, truncated_normal (default 0, 1)\n"
          "  --a X, --b X        truncated_normal: absolute bounds (default -2, 2)\n"
          "  --value X           constant (default 0)\n"
          "  --algorithm A       chacha20 (default), mlx, mlx-seeded\n"
          "  --call N            mlx-seeded: which call of the seeded generator (default 1)\n"
          "  --fan F             mlx (default), torch, keras\n"
          "  --fan-in N, --fan-out N   override the fans computed from the shape\n"
          "  --name NAME         tensor name in npy/safetensors (default weight)\n"
          "  --format F          raw (default), npy, safetensors, json\n"
          "  --slice S           a part: numpy start:stop per axis, e.g. 0:128,:,-64:\n"
          "  --shard R/W         part R of W parts of one axis; R0/W0,R1/W1 for a 2-D mesh\n"
          "  --axis N            the shard axis (default 0; negative from the end); one per\n"
          "                      shard for several: 0,1\n"
          "  --split S           how a shard cuts its axis: array_split (numpy, default),\n"
          "                      chunk (torch.chunk: DTensor, FSDP2), even (Megatron-LM);\n"
          "                      one for all shards or one per shard: chunk,even\n"
          "  --stride N          Megatron's stride for fused weights (QKV: 3), split even\n"
          "  -o, --output FILE   where to write; - for stdout\n"
          "\n"
          "network options (fetch, digest, info, health):\n"
          "  --url URL           server base URL; default $GLOROT_URL\n"
          "  --timeout S         whole-command limit in seconds (health: default 5)\n"
          "  --connect-timeout S per connection attempt (default 10, health: 2)\n"
          "  --retries N         retries after network failures and 503 (default 3; 0 = none)\n"
          "  --verify MODE       fetch: none, sample (default) or full comparison with\n"
          "                      local generation\n"
          "  --ca-file FILE      CA bundle for https\n"
          "  -q, --quiet         no progress bar and no notes on stderr\n"
          "  $GLOROT_TOKEN       bearer token sent as Authorization: Bearer\n"
          "\n"
          "exit codes:\n"
          "  0 ok   2 usage error   3 request rejected (invalid locally or HTTP 4xx)\n"
          "  4 server or network failure   5 local I/O error   6 verification mismatch\n",
          f);
}
