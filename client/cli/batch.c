/*
 * batch.c - glorot batch MANIFEST -o FILE [--rank R --world W [--axis A]]
 *           [--url URL | --local] [--json] [--quiet]
 *
 * One manifest in, one safetensors file out: POSTed to URL/v1/batch, or, with
 * --local (or no --url and no $GLOROT_URL), generated here by the same code
 * the server runs (gp_batch), byte for byte. --rank/--world replace the
 * manifest's shard (axis: --axis, else the manifest's, else 0).
 */
#include "cli.h"
#include "glorot_proto.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *manifest, *output, *url, *rank, *world, *axis;
    int local, json, quiet;
} batch_args;

static int usage(const char *what)
{
    fprintf(stderr, "glorot batch: %s\nusage: glorot batch MANIFEST -o FILE [--rank R --world W "
            "[--axis A]] [--url URL | --local] [--json] [--quiet]\n", what);
    return CLI_EXIT_USAGE;
}

static int parse(int argc, char **argv, batch_args *a)
{
    memset(a, 0, sizeof *a);
    a->url = getenv("GLOROT_URL");
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char **slot = strcmp(o, "-o") == 0 || strcmp(o, "--output") == 0 ? &a->output
                            : strcmp(o, "--url") == 0                          ? &a->url
                            : strcmp(o, "--rank") == 0                         ? &a->rank
                            : strcmp(o, "--world") == 0                        ? &a->world
                            : strcmp(o, "--axis") == 0                         ? &a->axis
                                                                               : NULL;
        if (slot != NULL) {
            if (i + 1 >= argc)
                return usage("an option needs a value");
            *slot = argv[++i];
        } else if (strcmp(o, "--local") == 0) {
            a->local = 1;
        } else if (strcmp(o, "--json") == 0) {
            a->json = 1;
        } else if (strcmp(o, "--quiet") == 0 || strcmp(o, "-q") == 0) {
            a->quiet = 1;
        } else if (o[0] != '-' && a->manifest == NULL) {
            a->manifest = o;
        } else {
            return usage("unknown argument");
        }
    }
    if (a->manifest == NULL || a->output == NULL)
        return usage("MANIFEST and -o FILE are required");
    if ((a->rank == NULL) != (a->world == NULL) || (a->axis && !a->rank))
        return usage("--rank and --world go together (--axis needs them)");
    if (a->url == NULL || a->url[0] == '\0')
        a->local = 1;
    return CLI_EXIT_OK;
}

static int set_int(json_t *obj, const char *key, const char *text)
{
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0')
        return -1;
    return json_object_set_new(obj, key, json_integer(v));
}

/* The manifest file, with --rank/--world/--axis applied, as compact JSON (malloc). */
static char *load_manifest(const batch_args *a)
{
    json_error_t jerr;
    json_t *root = json_load_file(a->manifest, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        fprintf(stderr, "glorot batch: %s: %s (line %d)\n", a->manifest, jerr.text, jerr.line);
        return NULL;
    }
    char *text = NULL;
    if (a->rank != NULL && json_is_object(root)) {
        json_t *old = json_object_get(root, "shard");
        json_t *axis = json_is_object(old) ? json_object_get(old, "axis") : NULL;
        json_t *shard = json_object();
        if (shard == NULL || set_int(shard, "rank", a->rank) != 0 ||
            set_int(shard, "world", a->world) != 0 ||
            (a->axis ? set_int(shard, "axis", a->axis)
                     : axis ? json_object_set(shard, "axis", axis) : 0) != 0) {
            fprintf(stderr, "glorot batch: --rank, --world and --axis take integers\n");
            json_decref(shard);
            json_decref(root);
            return NULL;
        }
        json_object_set_new(root, "shard", shard);
    }
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static int generate(const batch_args *a, const char *manifest, cli_output *out)
{
    gp_batch *b = NULL;
    gp_error err = {0};
    if (gp_batch_parse(manifest, strlen(manifest), a->json ? GP_FORMAT_JSON : GP_FORMAT_SAFETENSORS,
                       NULL, &b, &err) != GP_OK) {
        fprintf(stderr, "glorot batch: %s (parameter '%s')\n", err.message, err.param);
        return CLI_EXIT_REJECTED;
    }
    cli_output_progress(out, a->json ? GLOROT_SIZE_UNKNOWN : gp_batch_size(b), a->quiet);
    static unsigned char buf[1 << 20];
    uint64_t off = 0;
    size_t n;
    int code = CLI_EXIT_OK;
    while ((n = gp_batch_read(b, off, buf, sizeof buf)) > 0) {
        if (cli_output_chunk(out, off, buf, n) != 0) {
            code = CLI_EXIT_LOCAL;
            break;
        }
        off += n;
    }
    gp_batch_free(b);
    return code;
}

typedef struct {
    cli_output *out;
    uint64_t off;
    int failed;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    sink *s = user;
    if (cli_output_chunk(s->out, s->off, p, size * n) != 0) {
        s->failed = 1;
        return 0;
    }
    s->off += size * n;
    return size * n;
}

static int post(const batch_args *a, const char *manifest, cli_output *out)
{
    char url[2048], err[CURL_ERROR_SIZE] = "";
    snprintf(url, sizeof url, "%s/v1/batch%s", a->url, a->json ? "?format=json" : "");
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    sink s = {out, 0, 0};
    long status = 0;
    if (h == NULL || hdr == NULL) {
        curl_slist_free_all(hdr);
        curl_easy_cleanup(h);
        return CLI_EXIT_LOCAL;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, manifest);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    if (s.failed)
        return CLI_EXIT_LOCAL;
    if (rc != CURLE_OK) {
        fprintf(stderr, "glorot batch: %s: %s\n", url, err[0] ? err : curl_easy_strerror(rc));
        return CLI_EXIT_SERVER;
    }
    if (status != 200) {
        fprintf(stderr, "glorot batch: HTTP %ld from %s (the body has the error)\n", status, url);
        return status >= 400 && status < 500 ? CLI_EXIT_REJECTED : CLI_EXIT_SERVER;
    }
    return CLI_EXIT_OK;
}

int cli_batch(int argc, char **argv)
{
    batch_args a;
    int code = parse(argc, argv, &a);
    if (code != CLI_EXIT_OK)
        return code;
    char *manifest = load_manifest(&a);
    if (manifest == NULL)
        return CLI_EXIT_REJECTED;
    cli_output out;
    code = cli_output_open(&out, a.output, !a.json);
    if (code == CLI_EXIT_OK) {
        code = a.local ? generate(&a, manifest, &out) : post(&a, manifest, &out);
        if (code == CLI_EXIT_OK)
            code = cli_output_commit(&out);
        else
            cli_output_discard(&out);
    }
    free(manifest);
    return code;
}
