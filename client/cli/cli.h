/*
 * cli.h - the glorot command's parts: option parsing (options.c), the
 * atomic output file and progress bar (output.c), and the commands (main.c).
 */
#ifndef GLOROT_CLI_H
#define GLOROT_CLI_H

#include "glorot/client.h"

#include <stdint.h>
#include <stdio.h>

/* Exit codes a script can rely on (documented in --help and docs/CLIENT.md). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_REJECTED = 3, /* request rejected: invalid locally or a 4xx answer */
    CLI_EXIT_SERVER = 4,   /* server or network failure */
    CLI_EXIT_LOCAL = 5,    /* local I/O error */
    CLI_EXIT_VERIFY = 6    /* received bytes differ from local generation */
};

typedef enum { CMD_FETCH, CMD_GEN, CMD_INFO, CMD_HEALTH, CMD_DIGEST } cli_command;

typedef struct {
    cli_command command;
    const char *url;
    const char *output;
    glorot_request req;
    glorot_options client;
    int quiet;
} cli_args;

/* Parse argv for a command (argv[0] is the command name). Returns
 * CLI_EXIT_OK, CLI_EXIT_USAGE or CLI_EXIT_REJECTED with a message printed. */
int cli_parse(cli_command command, int argc, char **argv, cli_args *args);

/* glorot batch (batch.c): argv[0] is "batch". Returns an exit code. */
int cli_batch(int argc, char **argv);

/* Print the usage text to f. */
void cli_usage(FILE *f);

/* Map a library result to an exit code. */
int cli_exit_for(glorot_code rc, const glorot_error *err);

/* Print "glorot: message (HTTP 400, parameter 'shape')" to stderr. */
void cli_report(const glorot_error *err);

/* ---- output: a file written atomically, or stdout ------------------------------ */

typedef struct {
    int fd;
    int is_stdout;
    int is_special; /* an existing device or FIFO, written in place (no rename) */
    char *path;     /* final name */
    char *tmp;      /* temporary name in the same folder */
    int error;      /* errno of the first write failure, 0 if none */
    uint64_t written;
    /* progress bar on stderr */
    int progress;
    uint64_t total; /* GLOROT_SIZE_UNKNOWN when not known */
    unsigned shown; /* per-mille last drawn */
} cli_output;

/* Open path ("-" = stdout). binary refuses a terminal on stdout (CLI_EXIT_USAGE).
 * Returns CLI_EXIT_OK or an exit code with a message printed. */
int cli_output_open(cli_output *out, const char *path, int binary);

/* Enable the progress bar when stderr is a terminal and total is large. */
void cli_output_progress(cli_output *out, uint64_t total, int quiet);

/* glorot_chunk_fn writing to out; nonzero (and out->error) on failure. */
int cli_output_chunk(void *user, uint64_t offset, const void *data, size_t len);

/* Make the file appear under its name (fsync + rename). CLI_EXIT_OK or
 * CLI_EXIT_LOCAL with a message printed. */
int cli_output_commit(cli_output *out);

/* Remove the temporary file; the final name is left as it was. */
void cli_output_discard(cli_output *out);

#endif
