/*
 * test_client_cli.c - the glorot command against a real glorotd: fetch and
 * gen write identical files, output is atomic, and every exit code a script
 * relies on (0, 2, 3, 4) is produced by the case it documents. (5 and 6 are
 * in test_client_fake.c, which can make a server lie.)
 */
#define _XOPEN_SOURCE 700 /* posix_openpt and friends */
#include "glorot/client.h"
#include "test_server_util.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    ts_shared_start(NULL);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    ts_shared_stop();
}

#define MAX_ARGS 24

/* Run glorot CMD ARGS...; "{out}" in an argument is replaced by out_path. */
static int glorot(const char *command, const char (*args)[48], const char *out_path,
                  const char *stdout_path)
{
    const char *argv[MAX_ARGS + 4];
    size_t n = 0;
    argv[n++] = th_env("GLOROT_BIN");
    if (command != NULL)
        argv[n++] = command;
    for (size_t i = 0; i < MAX_ARGS && args != NULL && args[i][0] != '\0'; i++)
        argv[n++] = strcmp(args[i], "{out}") == 0 ? out_path : args[i];
    argv[n] = NULL;
    return th_run(argv, stdout_path, 120);
}

static void scratch_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/glorot-cli-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

/* Entries in dir other than . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d != NULL)
        closedir(d);
    return n;
}

/* ---- fetch == gen ------------------------------------------------------------- */

typedef struct {
    char label[32];
    char args[MAX_ARGS][48]; /* request options shared by fetch and gen */
} same_case;

ParameterizedTestParameters(cli, fetch_equals_gen)
{
    static same_case cases[] = {
        {"chacha20 f32", {"--shape", "256,512", "--seed", "7", ""}},
        {"mlx f16 npy",
         {"--shape", "64,32,3", "--seed", "1", "--algorithm", "mlx", "--dtype", "float16",
          "--format", "npy", ""}},
        {"bf16 safetensors",
         {"--shape", "17,19", "--seed", "3", "--dtype", "bfloat16", "--format", "safetensors",
          "--name", "layer.0", ""}},
        {"json relu torch",
         {"--shape", "12,10", "--seed", "9", "--format", "json", "--gain", "relu", "--fan", "torch",
          ""}},
        {"mlx-seeded call",
         {"--shape", "8,8", "--seed", "11", "--algorithm", "mlx-seeded", "--call", "4", ""}},
        {"f64 fans",
         {"--shape", "5,6", "--seed", "0", "--dtype", "float64", "--fan-in", "3", "--fan-out", "4",
          ""}},
    };
    return cr_make_param_array(same_case, cases, sizeof cases / sizeof cases[0]);
}

static void with_output(const char (*base)[48], const char *extra[], char (*out)[48])
{
    size_t n = 0;
    for (; n < MAX_ARGS && base[n][0] != '\0'; n++)
        snprintf(out[n], 48, "%s", base[n]);
    for (size_t i = 0; extra[i] != NULL && n < MAX_ARGS - 1; i++)
        snprintf(out[n++], 48, "%s", extra[i]);
    out[n][0] = '\0';
}

ParameterizedTest(same_case *sc, cli, fetch_equals_gen)
{
    char dir[64], fetched[96], generated[96], piped[96];
    scratch_dir(dir, sizeof dir);
    snprintf(fetched, sizeof fetched, "%s/fetched", dir);
    snprintf(generated, sizeof generated, "%s/generated", dir);
    snprintf(piped, sizeof piped, "%s/piped", dir);
    char args[MAX_ARGS][48];
    const char *fetch_extra[] = {"--url", ts_url(), "--verify", "full", "-o", "{out}", NULL};
    const char *gen_extra[] = {"-o", "{out}", NULL};
    const char *pipe_extra[] = {"-o", "-", NULL};

    with_output(sc->args, fetch_extra, args);
    cr_assert_eq(glorot("fetch", (const char(*)[48])args, fetched, NULL), 0, "%s", sc->label);
    with_output(sc->args, gen_extra, args);
    cr_assert_eq(glorot("gen", (const char(*)[48])args, generated, NULL), 0, "%s", sc->label);
    with_output(sc->args, pipe_extra, args);
    cr_assert_eq(glorot("gen", (const char(*)[48])args, NULL, piped), 0, "%s", sc->label);

    size_t a_len, b_len, c_len;
    unsigned char *a = th_read_file(fetched, &a_len);
    unsigned char *b = th_read_file(generated, &b_len);
    unsigned char *c = th_read_file(piped, &c_len);
    cr_assert(a != NULL && b != NULL && c != NULL);
    cr_assert_gt(a_len, 0);
    cr_assert_eq(a_len, b_len, "%s", sc->label);
    cr_assert_eq(a_len, c_len, "%s", sc->label);
    cr_expect_arr_eq(a, b, a_len, "%s: fetch and gen differ", sc->label);
    cr_expect_arr_eq(a, c, a_len, "%s: -o - differs", sc->label);
    cr_expect_eq(entries(dir), 3, "%s: temporary files left behind", sc->label);
    free(a);
    free(b);
    free(c);
    unlink(fetched);
    unlink(generated);
    unlink(piped);
    rmdir(dir);
}

/* ---- exit codes ----------------------------------------------------------------- */

typedef struct {
    char label[40];
    char command[8];         /* "" = none */
    char args[MAX_ARGS][48]; /* "{url}" = the daemon, "{dead}" = a closed port */
    int exit_code;
} exit_case;

ParameterizedTestParameters(cli, exit_codes)
{
    static exit_case cases[] = {
        {"help", "", {"--help", ""}, 0},
        {"version", "", {"--version", ""}, 0},
        {"no command", "", {""}, 2},
        {"unknown command", "fletch", {""}, 2},
        {"unknown option",
         "fetch",
         {"--url", "{url}", "--shape", "4,4", "--colour", "red", "-o", "{out}", ""},
         2},
        {"missing value", "fetch", {"--url", "{url}", "-o", "{out}", "--shape", ""}, 2},
        {"no url", "fetch", {"--shape", "4,4", "-o", "{out}", ""}, 2},
        {"no shape", "fetch", {"--url", "{url}", "-o", "{out}", ""}, 2},
        {"no output", "fetch", {"--url", "{url}", "--shape", "4,4", ""}, 2},
        {"twice",
         "fetch",
         {"--url", "{url}", "--shape", "4,4", "--shape", "4,4", "-o", "{out}", ""},
         2},
        {"gen with url",
         "gen",
         {"--url", "{url}", "--shape", "4,4", "--seed", "1", "-o", "{out}", ""},
         2},
        {"gen without seed", "gen", {"--shape", "4,4", "-o", "{out}", ""}, 2},
        {"bad timeout",
         "fetch",
         {"--url", "{url}", "--shape", "4,4", "--timeout", "soon", "-o", "{out}", ""},
         2},
        {"bad verify",
         "fetch",
         {"--url", "{url}", "--shape", "4,4", "--verify", "some", "-o", "{out}", ""},
         2},
        {"stray argument", "info", {"--url", "{url}", "extra", ""}, 2},
        {"bad url", "info", {"--url", "ftp://x", ""}, 2},
        {"bad dtype",
         "fetch",
         {"--url", "{url}", "--shape", "4,4", "--dtype", "float8", "-o", "{out}", ""},
         3},
        {"rank 1", "gen", {"--shape", "5", "--seed", "1", "-o", "{out}", ""}, 3},
        {"mlx float64",
         "fetch",
         {"--url", "{url}", "--shape", "4,4", "--algorithm", "mlx", "--dtype", "float64", "-o",
          "{out}", ""},
         3},
        {"server 413",
         "fetch",
         {"--url", "{url}", "--shape", "1024,1025", "--format", "json", "-o", "{out}", ""},
         3},
        {"unreachable fetch",
         "fetch",
         {"--url", "{dead}", "--shape", "4,4", "--retries", "0", "-o", "{out}", ""},
         4},
        {"unreachable health", "health", {"--url", "{dead}", ""}, 4},
        {"unreachable info", "info", {"--url", "{dead}", "--retries", "0", ""}, 4},
        {"health", "health", {"--url", "{url}", ""}, 0},
        {"info", "info", {"--url", "{url}", ""}, 0},
        {"fetch", "fetch", {"--url", "{url}", "--shape", "4,4", "-q", "-o", "{out}", ""}, 0},
    };
    return cr_make_param_array(exit_case, cases, sizeof cases / sizeof cases[0]);
}

/* A loopback port nobody listens on (bound, not listening: connections are refused). */
static int dead_port(char *url, size_t size)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, size, "http://127.0.0.1:%d", ntohs(a.sin_port));
    return fd;
}

ParameterizedTest(exit_case *ec, cli, exit_codes)
{
    char dir[64], out[96], stdout_path[96], dead[64];
    scratch_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/out.bin", dir);
    snprintf(stdout_path, sizeof stdout_path, "%s/stdout", dir);
    int fd = dead_port(dead, sizeof dead);
    char args[MAX_ARGS][48];
    for (size_t i = 0; i < MAX_ARGS; i++) {
        const char *a = ec->args[i];
        if (strcmp(a, "{url}") == 0)
            a = ts_url();
        else if (strcmp(a, "{dead}") == 0)
            a = dead;
        snprintf(args[i], sizeof args[i], "%.47s", a);
        if (a[0] == '\0')
            break;
    }
    unsetenv("GLOROT_URL");
    int code =
        glorot(ec->command[0] ? ec->command : NULL, (const char(*)[48])args, out, stdout_path);
    cr_expect_eq(code, ec->exit_code, "%s: exit %d, expected %d", ec->label, code, ec->exit_code);
    size_t len = 0;
    unsigned char *text = th_read_file(stdout_path, &len);
    if (strcmp(ec->label, "help") == 0)
        cr_expect(text && strstr((char *)text, "exit codes") != NULL);
    if (strcmp(ec->label, "info") == 0)
        cr_expect(text && strstr((char *)text, "\"glorotd\"") != NULL, "%s", text);
    if (strcmp(ec->label, "version") == 0)
        cr_expect(text && strstr((char *)text, GLOROT_CLIENT_VERSION) != NULL);
    free(text);
    unsigned char *file = th_read_file(out, &len);
    cr_expect_eq(file != NULL, ec->exit_code == 0 && strcmp(ec->command, "fetch") == 0,
                 "%s: output file presence", ec->label);
    free(file);
    unlink(out);
    unlink(stdout_path);
    cr_expect_eq(rmdir(dir), 0, "%s: files left behind", ec->label);
    close(fd);
}

Test(cli, url_from_environment)
{
    char dir[64], out[96];
    scratch_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/w", dir);
    setenv("GLOROT_URL", ts_url(), 1);
    const char *argv[] = {
        th_env("GLOROT_BIN"), "fetch", "--shape", "3,3", "--seed", "1", "-o", out, NULL};
    cr_expect_eq(th_run(argv, NULL, 60), 0);
    const char *health[] = {th_env("GLOROT_BIN"), "health", NULL};
    cr_expect_eq(th_run(health, NULL, 60), 0);
    unlink(out);
    rmdir(dir);
}

/* ---- atomic output ---------------------------------------------------------------- */

Test(cli, failed_fetch_leaves_existing_file_alone)
{
    char dir[64], out[96];
    scratch_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/weights.bin", dir);
    FILE *f = fopen(out, "wb");
    cr_assert_not_null(f);
    fputs("previous contents", f);
    fclose(f);

    /* rejected by the server (json beyond max_json_elements) after the temp file exists */
    const char *bad[] = {th_env("GLOROT_BIN"), "fetch", "--url", ts_url(), "--shape", "1024,1025",
                         "--format",           "json",  "-o",    out,      NULL};
    cr_expect_eq(th_run(bad, NULL, 60), 3);
    size_t len;
    unsigned char *text = th_read_file(out, &len);
    cr_expect(text != NULL && strcmp((char *)text, "previous contents") == 0);
    free(text);
    cr_expect_eq(entries(dir), 1, "the temporary file was not removed");

    const char *good[] = {th_env("GLOROT_BIN"),
                          "fetch",
                          "--url",
                          ts_url(),
                          "--shape",
                          "16,16",
                          "--seed",
                          "2",
                          "-o",
                          out,
                          NULL};
    cr_expect_eq(th_run(good, NULL, 60), 0);
    text = th_read_file(out, &len);
    cr_expect_eq(len, 16 * 16 * 4, "the successful fetch replaced the file");
    free(text);
    cr_expect_eq(entries(dir), 1);
    unlink(out);
    rmdir(dir);
}

Test(cli, unwritable_destination_is_local_error)
{
    const char *argv[] = {th_env("GLOROT_BIN"),     "gen", "--shape", "4,4", "--seed", "1", "-o",
                          "/nonexistent-dir/w.bin", NULL};
    cr_expect_eq(th_run(argv, NULL, 60), 5);
    const char *full[] = {
        th_env("GLOROT_BIN"), "gen", "--shape", "4,4", "--seed", "1", "-o", "-", NULL};
    /* /dev/full: every write fails with ENOSPC */
    cr_expect_eq(th_run(full, "/dev/full", 60), 5);
}

/* An existing FIFO (like /dev/null or a device) is written in place: the
 * temporary-file-and-rename path would replace it with a plain file. */
Test(cli, fifo_destination_written_in_place)
{
    char dir[64], fifo[96];
    scratch_dir(dir, sizeof dir);
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    pid_t reader = fork();
    cr_assert_neq(reader, -1);
    if (reader == 0) { /* count the bytes that come through, exit with count / 64 */
        alarm(60);     /* no writer ever comes if the FIFO was replaced */
        int fd = open(fifo, O_RDONLY);
        unsigned char buf[4096];
        size_t total = 0;
        ssize_t n;
        while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
            total += (size_t)n;
        _exit((int)(total / 64));
    }
    const char *argv[] = {
        th_env("GLOROT_BIN"), "gen", "--shape", "16,16", "--seed", "1", "-o", fifo, NULL};
    cr_expect_eq(th_run(argv, NULL, 60), 0);
    int status = 0;
    cr_assert_eq(waitpid(reader, &status, 0), reader);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 16 * 16 * 4 / 64,
              "the reader saw %d x 64 bytes", WEXITSTATUS(status));
    struct stat st;
    cr_assert_eq(stat(fifo, &st), 0);
    cr_expect(S_ISFIFO(st.st_mode), "the FIFO was replaced by a plain file");
    cr_expect_eq(entries(dir), 1, "no temporary file is left");
    unlink(fifo);
    rmdir(dir);
}

/* ---- terminals ----------------------------------------------------------------- */

/* Run glorot with stdout and/or stderr on a new pseudo-terminal; collect what
 * the terminal received. Returns the exit status. */
static int run_on_pty(const char *const argv[], int on_stdout, char *seen, size_t seen_size)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    cr_assert(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
    const char *slave_name = ptsname(master);
    cr_assert_not_null(slave_name);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int slave = open(slave_name, O_RDWR);
        int null = open("/dev/null", O_WRONLY);
        if (slave < 0 || null < 0)
            _exit(127);
        dup2(on_stdout ? slave : null, STDOUT_FILENO);
        dup2(on_stdout ? null : slave, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    size_t used = 0;
    int status = 0, exited = 0;
    for (;;) {
        struct pollfd p = {master, POLLIN, 0};
        int ready = poll(&p, 1, exited ? 0 : 100);
        ssize_t n = 0;
        if (ready > 0) {
            char buf[4096];
            n = read(master, buf, sizeof buf);
            if (n > 0 && used + (size_t)n < seen_size) {
                memcpy(seen + used, buf, (size_t)n);
                used += (size_t)n;
            }
        }
        if (exited && n <= 0)
            break; /* drained after the exit */
        if (!exited && waitpid(pid, &status, WNOHANG) == pid)
            exited = 1;
    }
    seen[used] = '\0';
    close(master);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(cli, binary_refused_on_terminal)
{
    static char seen[1 << 16];
    const char *raw[] = {
        th_env("GLOROT_BIN"), "gen", "--shape", "4,4", "--seed", "1", "-o", "-", NULL};
    cr_expect_eq(run_on_pty(raw, 1, seen, sizeof seen), 2);
    const char *json[] = {th_env("GLOROT_BIN"), "gen",  "--shape", "2,2", "--seed", "1",
                          "--format",           "json", "-o",      "-",   NULL};
    cr_expect_eq(run_on_pty(json, 1, seen, sizeof seen), 0);
    cr_expect(strchr(seen, '[') != NULL, "json reaches the terminal: %s", seen);
}

Test(cli, progress_bar_only_for_large_outputs_on_terminals)
{
    static char seen[1 << 20];
    char dir[64], out[96];
    scratch_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/w", dir);
    const char *large[] = {
        th_env("GLOROT_BIN"), "gen", "--shape", "4096,1024", "--seed", "1", "-o", out, NULL};
    cr_expect_eq(run_on_pty(large, 0, seen, sizeof seen), 0);
    cr_expect(strstr(seen, "100.0%") != NULL, "no progress bar on a terminal");
    const char *quiet[] = {
        th_env("GLOROT_BIN"), "gen", "--shape", "4096,1024", "--seed", "1", "-q", "-o", out, NULL};
    cr_expect_eq(run_on_pty(quiet, 0, seen, sizeof seen), 0);
    cr_expect_str_eq(seen, "", "--quiet still drew: %s", seen);
    const char *small[] = {
        th_env("GLOROT_BIN"), "gen", "--shape", "64,64", "--seed", "1", "-o", out, NULL};
    cr_expect_eq(run_on_pty(small, 0, seen, sizeof seen), 0);
    cr_expect_str_eq(seen, "", "a small output drew a bar: %s", seen);
    unlink(out);
    rmdir(dir);
}
