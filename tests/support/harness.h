/*
 * harness.h - end-to-end test support: start a real glorotd on an ephemeral
 * loopback port, run commands (curl, glorot), read files.
 *
 * Binaries come from the environment `make check` sets: GLOROTD_BIN,
 * GLOROT_BIN, GLOROT_TESTS (the tests/ folder), GLOROT_PYTHON.
 */
#ifndef GLOROT_TEST_HARNESS_H
#define GLOROT_TEST_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;
    char dir[128];     /* scratch folder: port file, daemon stderr (daemon.log) */
    char base_url[64]; /* "http://127.0.0.1:PORT" */
} th_daemon;

/* Start glorotd with --listen 127.0.0.1:0 --port-file DIR/port (and
 * --allow-root when the tests run as root) plus extra
 * (NULL-terminated, may be NULL). Waits (bounded, 20 s) for the port file.
 * Returns 0, or -1 with the reason on stderr. */
int th_daemon_start(th_daemon *d, const char *const extra[]);

/* Send sig and wait for exit (bounded, 30 s, then SIGKILL). Returns the exit
 * status as from waitpid's WEXITSTATUS, 128+signal if killed, -1 on error. */
int th_daemon_signal_wait(th_daemon *d, int sig);

/* SIGTERM + wait + remove the scratch folder. */
int th_daemon_stop(th_daemon *d);

typedef struct {
    int status;          /* HTTP status curl saw, 0 if none */
    int exit_code;       /* curl's exit code */
    char *headers;       /* raw header block, NUL-terminated (malloc) */
    unsigned char *body; /* malloc, NUL-terminated for convenience */
    size_t body_len;
} th_response;

/* Run curl -sS with args (NULL-terminated) plus its own -o/-D/-w; fills r.
 * Returns 0 when curl ran (whatever the HTTP status), -1 otherwise. */
int th_curl(th_response *r, const char *const args[]);
void th_response_free(th_response *r);

/* Value of header `name` (case-insensitive) in r->headers, copied into out;
 * returns 0 if found, -1 if not. */
int th_header(const th_response *r, const char *name, char *out, size_t out_size);

/* Run argv (NULL-terminated) with stdout to stdout_path (NULL: /dev/null)
 * and stdin from /dev/null; returns the exit status or -1. Bounded by
 * timeout_s (then SIGKILL, returns -1). */
int th_run(const char *const argv[], const char *stdout_path, int timeout_s);

/* Read a whole file into a malloc'd buffer (NUL-terminated). NULL on error. */
unsigned char *th_read_file(const char *path, size_t *len);

/* Path helpers: getenv with a message on absence (aborts the test). */
const char *th_env(const char *name);

/* The decimal number text starts with (after blanks), as atoi read it but
 * with overflow checked: -1 when there is none or it exceeds LLONG_MAX. */
long long th_number(const char *text);

/* 1 in the ASan/UBSan build (make asan). The few tests that exercise no C
 * code the others do not, and cost minutes under the sanitizers (the 10^6-sample
 * statistics, the Chromium runs), skip themselves there; make check runs them. */
#if defined(__SANITIZE_ADDRESS__)
#define TH_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TH_UNDER_ASAN 1
#endif
#endif
#ifndef TH_UNDER_ASAN
#define TH_UNDER_ASAN 0
#endif

#endif
