/*
 * batch.c - glorot batch MANIFEST -o FILE [--shard R/W[,R/W...] | --rank R --world W]
 *           [--axis A[,A...]] [--split S] [--stride N] [--url URL | --local] [--json] [--quiet]
 *
 * One manifest in, one safetensors file out: POSTed to URL/v1/batch by
 * libglorot-client (glorot_batch_stream: retries and resume included), or,
 * with --local (or no --url and no $GLOROT_URL), generated here by the same
 * code the server runs (glorot_batch_generate_stream), byte for byte. --shard (or --rank/--world)
 * with --axis, --split and --stride replace the manifest's shard (axis:
 * --axis, else the manifest's, else 0); the library writes the override in
 * both cases (glorot_batch_manifest for --local).
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *manifest, *output, *url, *rank, *world, *axis, *shard, *split, *stride;
    int local, json, quiet;
} batch_args;

static int usage(const char *what)
{
    fprintf(stderr,
            "glorot batch: %s\nusage: glorot batch MANIFEST -o FILE [--shard R/W[,R/W...] | "
            "--rank R --world W] [--axis A[,A...]] [--split S] [--stride N] [--url URL | "
            "--local] [--json] [--quiet]\n",
            what);
    return CLI_EXIT_USAGE;
}

enum { B_URL = 256, B_RANK, B_WORLD, B_AXIS, B_SHARD, B_SPLIT, B_STRIDE, B_LOCAL, B_JSON };

#define ARG required_argument
static const cli_option defs[] = {
    {"output", 'o', "", 0, ARG},
    {"url", B_URL, "", 0, ARG},
    {"rank", B_RANK, "", 0, ARG},
    {"world", B_WORLD, "", 0, ARG},
    {"axis", B_AXIS, "", 0, ARG},
    {"shard", B_SHARD, "", 0, ARG},
    {"split", B_SPLIT, "", 0, ARG},
    {"stride", B_STRIDE, "", 0, ARG},
    {"local", B_LOCAL, "", 0, no_argument},
    {"json", B_JSON, "", 0, no_argument},
    {"quiet", 'q', "", 0, no_argument},
};
#undef ARG
#define NDEFS (sizeof defs / sizeof defs[0])

/* Where option id's value goes (a repeated option: the last one wins). */
static void apply(batch_args *a, int id, const char *value)
{
    const char **slot = id == 'o'        ? &a->output
                        : id == B_URL    ? &a->url
                        : id == B_RANK   ? &a->rank
                        : id == B_WORLD  ? &a->world
                        : id == B_AXIS   ? &a->axis
                        : id == B_SHARD  ? &a->shard
                        : id == B_SPLIT  ? &a->split
                        : id == B_STRIDE ? &a->stride
                                         : NULL;
    if (slot != NULL)
        *slot = value;
    a->local |= id == B_LOCAL;
    a->json |= id == B_JSON;
    a->quiet |= id == 'q';
}

static int parse(int argc, char **argv, batch_args *a)
{
    struct option longs[NDEFS + 1];
    cli_options it;
    const cli_option *d;
    const char *value;
    int found, first;
    memset(a, 0, sizeof *a);
    a->url = getenv("GLOROT_URL");
    cli_options_start(&it, defs, NDEFS, longs);
    while ((found = cli_options_next(&it, argc, argv, &d, &value, &first)) == CLI_OPT_FOUND)
        apply(a, d->id, value);
    if (found == CLI_OPT_NO_VALUE)
        return usage("an option needs a value");
    if (found == CLI_OPT_UNKNOWN || argc - first > 1 || (first < argc && argv[first][0] == '-'))
        return usage("unknown argument");
    a->manifest = first < argc ? argv[first] : NULL;
    if (a->manifest == NULL || a->output == NULL)
        return usage("MANIFEST and -o FILE are required");
    if ((a->rank == NULL) != (a->world == NULL))
        return usage("--rank and --world go together");
    if (a->shard != NULL && a->rank != NULL)
        return usage("give --shard or --rank/--world, not both");
    if ((a->axis || a->split || a->stride) && !a->rank && !a->shard)
        return usage("--axis, --split and --stride need --shard (or --rank/--world)");
    if (a->url == NULL || a->url[0] == '\0')
        a->local = 1;
    return CLI_EXIT_OK;
}

/* The whole file (malloc'ed, NUL-terminated), or NULL with a message. */
static unsigned char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *text = NULL;
    size_t cap = 0;
    *len = 0;
    while (f != NULL) {
        if (cap - *len < 2) {
            unsigned char *bigger = cap > SIZE_MAX / 4 ? NULL : realloc(text, cap ? cap * 2 : 4096);
            if (bigger == NULL)
                break;
            text = bigger;
            cap = cap ? cap * 2 : 4096;
        }
        size_t n = fread(text + *len, 1, cap - *len - 1, f);
        *len += n;
        if (n == 0) {
            int bad = ferror(f);
            fclose(f);
            text[*len] = '\0';
            if (!bad)
                return text;
            f = NULL;
            errno = EIO;
        }
    }
    fprintf(stderr, "glorot batch: cannot read %s: %s\n", path, strerror(errno));
    if (f != NULL)
        fclose(f);
    free(text);
    return NULL;
}

static int on_chunk(void *user, const glorot_batch_chunk *ch)
{
    return cli_output_chunk(user, ch->body_offset, ch->data, ch->len);
}

/* The manifest (shard options already written in) generated here by
 * libglorot-client, as the server would answer it. */
static int generate(const batch_args *a, const char *manifest, cli_output *out)
{
    glorot_batch_request breq;
    glorot_batch_info plan = {0};
    glorot_error err = {0};
    glorot_batch_request_init(&breq);
    breq.manifest = manifest;
    breq.format = a->json ? "json" : NULL;
    glorot_code rc = a->json ? GLOROT_OK : glorot_batch_plan(&breq, &plan, &err);
    if (rc == GLOROT_OK) {
        cli_output_progress(out, a->json ? GLOROT_SIZE_UNKNOWN : plan.size, a->quiet);
        glorot_free(plan.tensors);
        rc = glorot_batch_generate_stream(&breq, on_chunk, out, NULL, &err);
    }
    if (rc == GLOROT_E_ABORTED && out->error != 0)
        return CLI_EXIT_LOCAL;
    if (rc != GLOROT_OK) {
        fprintf(stderr, "glorot batch: %s (parameter '%s')\n", err.message, err.param);
        return CLI_EXIT_REJECTED;
    }
    return CLI_EXIT_OK;
}

/* The options as the library's shard override ("--axis 0,1" is a list). */
static int shard_override(const batch_args *a, glorot_batch_request *breq)
{
    char *end = NULL;
    breq->shard_spec = a->shard;
    breq->split = a->split;
    breq->stride = a->stride;
    if (a->axis != NULL && strchr(a->axis, ',') != NULL) {
        breq->axis_spec = a->axis;
    } else if (a->axis != NULL) {
        breq->axis_set = 1;
        breq->axis = strtoll(a->axis, &end, 10);
        if (end == a->axis || *end != '\0')
            return -1;
    }
    if (a->rank == NULL)
        return 0;
    breq->shard_rank = strtoull(a->rank, &end, 10);
    if (end == a->rank || *end != '\0' || a->rank[0] == '-')
        return -1;
    breq->shard_world = strtoull(a->world, &end, 10);
    if (end == a->world || *end != '\0' || a->world[0] == '-' || breq->shard_world == 0)
        return -1;
    return 0;
}

/* The manifest file with the shard options applied, as the server would get
 * it (malloc'ed), or NULL with a message. */
static char *load_manifest(const batch_args *a)
{
    size_t len = 0;
    char *text = (char *)read_text(a->manifest, &len), *out = NULL;
    glorot_batch_request breq;
    glorot_error err = {0};
    glorot_batch_request_init(&breq);
    if (text == NULL)
        return NULL;
    breq.manifest = text;
    breq.manifest_len = len;
    if (shard_override(a, &breq) != 0)
        fprintf(stderr, "glorot batch: --rank, --world and --axis take integers (world >= 1)\n");
    else if (glorot_batch_manifest(&breq, &out, &err) != GLOROT_OK)
        cli_report(&err);
    free(text);
    return out;
}

/* POST the manifest file's text through libglorot-client (glorot_batch_stream). */
static int post(const batch_args *a, cli_output *out)
{
    glorot_error err = {0};
    glorot_options opts = {0};
    glorot_batch_request breq;
    glorot_batch_request_init(&breq);
    breq.format = a->json ? "json" : NULL;
    if (shard_override(a, &breq) != 0) {
        fprintf(stderr, "glorot batch: --rank, --world and --axis take integers (world >= 1)\n");
        return CLI_EXIT_USAGE;
    }
    size_t len = 0;
    char *manifest = (char *)read_text(a->manifest, &len);
    if (manifest == NULL)
        return CLI_EXIT_REJECTED;
    opts.bearer_token = getenv("GLOROT_TOKEN");
    if (opts.bearer_token != NULL && opts.bearer_token[0] == '\0')
        opts.bearer_token = NULL;
    breq.manifest = manifest;
    breq.manifest_len = len;
    glorot_code rc = GLOROT_E_INVALID;
    glorot_client *c = glorot_client_new(a->url, &opts, &err);
    if (c != NULL)
        rc = glorot_batch_stream(c, &breq, on_chunk, out, NULL, &err);
    glorot_client_free(c);
    free(manifest);
    if (rc == GLOROT_E_ABORTED && out->error != 0) {
        fprintf(stderr, "glorot batch: cannot write %s: %s\n", a->output, strerror(out->error));
        return CLI_EXIT_LOCAL;
    }
    if (rc != GLOROT_OK) {
        cli_report(&err);
        return c == NULL && err.code == GLOROT_E_INVALID ? CLI_EXIT_USAGE : cli_exit_for(rc, &err);
    }
    return CLI_EXIT_OK;
}

int cli_batch(int argc, char **argv)
{
    batch_args a;
    int code = parse(argc, argv, &a);
    if (code != CLI_EXIT_OK)
        return code;
    char *manifest = a.local ? load_manifest(&a) : NULL;
    if (a.local && manifest == NULL)
        return CLI_EXIT_REJECTED;
    cli_output out;
    code = cli_output_open(&out, a.output, !a.json);
    if (code == CLI_EXIT_OK) {
        code = a.local ? generate(&a, manifest, &out) : post(&a, &out);
        if (code == CLI_EXIT_OK)
            code = cli_output_commit(&out);
        else
            cli_output_discard(&out);
    }
    free(manifest);
    return code;
}
