/*
 * cli.h - the glorot command's parts: option parsing (options.c), the
 * atomic output file and progress bar (output.c), and the commands (main.c).
 */
#ifndef GLOROT_CLI_H
#define GLOROT_CLI_H

#include "glorot/client.h"

#include <getopt.h>
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

/* ---- options: one table-driven parser for every command ------------------------ */

/* One option of a command's table. getopt_long's long options are built from
 * the table, and the short ones from the ids below 256 ('o', 'q'). */
typedef struct {
    char name[16];
    int id;
    char key[12];      /* glorot_request_set key, "" for other options */
    unsigned commands; /* where the option is allowed (1u << cli_command); 0: one command's own */
    int has_arg;       /* getopt_long's has_arg */
} cli_option;

#define CLI_OPTIONS_MAX 48

/* The state of one pass over argv (cli_options_start, then cli_options_next). */
typedef struct {
    const cli_option *defs;
    size_t count;
    struct option *longs; /* count + 1 entries, built by cli_options_start */
    char shorts[2 + 2 * CLI_OPTIONS_MAX];
} cli_options;

enum { CLI_OPT_END = 0, CLI_OPT_FOUND = 1, CLI_OPT_UNKNOWN = -1, CLI_OPT_NO_VALUE = -2 };

/* Begin a pass over argv with defs (count <= CLI_OPTIONS_MAX rows); longs
 * holds count + 1 entries and must outlive the pass. */
void cli_options_start(cli_options *it, const cli_option *defs, size_t count, struct option *longs);

/* The next option: CLI_OPT_FOUND with *def and *value (NULL without an
 * argument); CLI_OPT_END when only positional arguments remain, from argv[*first]
 * (getopt_long moves them to the end); CLI_OPT_UNKNOWN or CLI_OPT_NO_VALUE with
 * *value the offending argument. */
int cli_options_next(cli_options *it, int argc, char **argv, const cli_option **def,
                     const char **value, int *first);

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
