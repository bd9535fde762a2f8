/*
 * main.c - the glorot command: fetch, gen, digest, info, health, batch.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#ifndef GLOROT_VERSION
#define GLOROT_VERSION GLOROT_CLIENT_VERSION
#endif

static int is_binary(const glorot_request *req)
{
    return req->format == NULL || strcmp(req->format, "json") != 0;
}

static glorot_client *connect_client(const cli_args *a, int *exit_code)
{
    glorot_error err = {0};
    glorot_client *c = glorot_client_new(a->url, &a->client, &err);
    if (c == NULL) {
        cli_report(&err);
        *exit_code = err.code == GLOROT_E_INVALID ? CLI_EXIT_USAGE : cli_exit_for(err.code, &err);
    }
    return c;
}

static void note_seed(const cli_args *a, const glorot_meta *meta)
{
    if (!a->req.seed_set && !a->quiet)
        fprintf(stderr, "glorot: seed %llu (drawn by the server)\n",
                (unsigned long long)meta->seed);
}

/* Run the transfer (fetch) or generation (gen) into out. */
static glorot_code produce(const cli_args *a, glorot_client *c, cli_output *out, glorot_meta *meta,
                           glorot_error *err)
{
    uint64_t size = GLOROT_SIZE_UNKNOWN;
    glorot_code rc = glorot_size(&a->req, &size, err);
    if (rc != GLOROT_OK)
        return rc;
    cli_output_progress(out, size, a->quiet);
    if (c == NULL)
        return glorot_generate_stream(&a->req, cli_output_chunk, out, meta, err);
    return glorot_fetch_stream(c, &a->req, cli_output_chunk, out, meta, err);
}

static int finish(const cli_args *a, cli_output *out, glorot_code rc, const glorot_error *err,
                  const glorot_meta *meta)
{
    if (rc == GLOROT_E_ABORTED && out->error != 0) {
        cli_output_discard(out);
        fprintf(stderr, "glorot: cannot write %s: %s\n", a->output, strerror(out->error));
        return CLI_EXIT_LOCAL;
    }
    if (rc != GLOROT_OK) {
        cli_output_discard(out);
        cli_report(err);
        return cli_exit_for(rc, err);
    }
    int code = cli_output_commit(out);
    if (code == CLI_EXIT_OK && a->command == CMD_FETCH)
        note_seed(a, meta);
    return code;
}

static int cmd_tensor(const cli_args *a)
{
    int code = CLI_EXIT_OK;
    glorot_client *c = NULL;
    if (a->command == CMD_FETCH && (c = connect_client(a, &code)) == NULL)
        return code;
    cli_output out;
    code = cli_output_open(&out, a->output, is_binary(&a->req));
    if (code != CLI_EXIT_OK) {
        glorot_client_free(c);
        return code;
    }
    glorot_error err = {0};
    glorot_meta meta;
    glorot_code rc = produce(a, c, &out, &meta, &err);
    code = finish(a, &out, rc, &err, &meta);
    glorot_client_free(c);
    return code;
}

static int cmd_info(const cli_args *a)
{
    int code = CLI_EXIT_OK;
    glorot_client *c = connect_client(a, &code);
    if (c == NULL)
        return code;
    glorot_error err = {0};
    char *json = NULL;
    glorot_code rc = glorot_info(c, &json, &err);
    glorot_client_free(c);
    if (rc != GLOROT_OK) {
        cli_report(&err);
        return cli_exit_for(rc, &err);
    }
    size_t len = strlen(json);
    int ok = fputs(json, stdout) >= 0;
    if (ok && (len == 0 || json[len - 1] != '\n'))
        ok = putchar('\n') != EOF;
    glorot_free(json);
    if (fflush(stdout) != 0 || !ok) {
        fprintf(stderr, "glorot: cannot write to stdout\n");
        return CLI_EXIT_LOCAL;
    }
    return CLI_EXIT_OK;
}

/* One "key value" line each, for scripts: sha256, length, seed, etag, canonical. */
static int cmd_digest(const cli_args *a)
{
    int code = CLI_EXIT_OK;
    glorot_client *c = connect_client(a, &code);
    if (c == NULL)
        return code;
    glorot_error err = {0};
    glorot_digest_info d;
    glorot_code rc = glorot_digest(c, &a->req, &d, &err);
    glorot_client_free(c);
    if (rc != GLOROT_OK) {
        cli_report(&err);
        return cli_exit_for(rc, &err);
    }
    int ok =
        printf("sha256 %s\nlength %llu\nseed %llu\netag %s\ncanonical %s\n", d.sha256,
               (unsigned long long)d.length, (unsigned long long)d.seed, d.etag, d.canonical) > 0;
    if (fflush(stdout) != 0 || !ok) {
        fprintf(stderr, "glorot: cannot write to stdout\n");
        return CLI_EXIT_LOCAL;
    }
    return CLI_EXIT_OK;
}

static int cmd_health(const cli_args *a)
{
    int code = CLI_EXIT_OK;
    glorot_client *c = connect_client(a, &code);
    if (c == NULL)
        return code;
    glorot_error err = {0};
    glorot_code rc = glorot_health(c, &err);
    glorot_client_free(c);
    if (rc != GLOROT_OK) {
        cli_report(&err);
        return cli_exit_for(rc, &err);
    }
    if (!a->quiet)
        puts("ok");
    return CLI_EXIT_OK;
}

static const struct {
    char name[8];
    cli_command command;
} commands[] = {{"fetch", CMD_FETCH},
                {"gen", CMD_GEN},
                {"info", CMD_INFO},
                {"health", CMD_HEALTH},
                {"digest", CMD_DIGEST}};

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("glorot %s (libglorot-client %s)\n", GLOROT_VERSION, glorot_version());
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "batch") == 0)
        return cli_batch(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        cli_args a;
        int code = cli_parse(commands[i].command, argc - 1, argv + 1, &a);
        if (code != CLI_EXIT_OK)
            return code;
        if (a.command == CMD_INFO)
            return cmd_info(&a);
        if (a.command == CMD_HEALTH)
            return cmd_health(&a);
        if (a.command == CMD_DIGEST)
            return cmd_digest(&a);
        return cmd_tensor(&a);
    }
    fprintf(stderr, "glorot: unknown command '%s' (see glorot --help)\n", argv[1]);
    return CLI_EXIT_USAGE;
}
