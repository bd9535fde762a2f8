#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *th_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "harness: %s is not set (run the tests through make check)\n", name);
        abort();
    }
    return v;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

unsigned char *th_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap + 1);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        unsigned char *bigger = realloc(buf, cap * 2 + 1);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

/* Wait for pid up to timeout_ms; returns waitpid status or -1 on timeout. */
static int wait_bounded(pid_t pid, long timeout_ms, int *status)
{
    for (long waited = 0;; waited += 10) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (waited >= timeout_ms)
            return -1;
        sleep_ms(10);
    }
}

static int decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

static pid_t spawn(const char *const argv[], const char *stdout_path, const char *stderr_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, stdout_path ? stdout_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (stderr_path != NULL)
        posix_spawn_file_actions_addopen(&fa, 2, stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "harness: cannot start %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    return pid;
}

int th_run(const char *const argv[], const char *stdout_path, int timeout_s)
{
    pid_t pid = spawn(argv, stdout_path, NULL);
    if (pid < 0)
        return -1;
    int status;
    if (wait_bounded(pid, timeout_s * 1000L, &status) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fprintf(stderr, "harness: %s did not finish within %d s\n", argv[0], timeout_s);
        return -1;
    }
    return decode_status(status);
}

int th_daemon_start(th_daemon *d, const char *const extra[])
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/glorot-test-XXXXXX");
    if (mkdtemp(d->dir) == NULL) {
        perror("harness: mkdtemp");
        return -1;
    }
    char port_file[192], log_file[192];
    snprintf(port_file, sizeof port_file, "%s/port", d->dir);
    snprintf(log_file, sizeof log_file, "%s/daemon.log", d->dir);

    const char *argv[64];
    size_t n = 0;
    argv[n++] = th_env("GLOROTD_BIN");
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--port-file";
    argv[n++] = port_file;
    if (geteuid() == 0) /* glorotd refuses root without it (the tests run as root in CI) */
        argv[n++] = "--allow-root";
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 63; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    d->pid = spawn(argv, NULL, log_file);
    if (d->pid < 0)
        return -1;
    for (int waited = 0; waited < 20000; waited += 10) {
        unsigned char *text = th_read_file(port_file, NULL);
        if (text != NULL) {
            int port = (int)th_number((const char *)text);
            free(text);
            if (port > 0) {
                d->port = port;
                snprintf(d->base_url, sizeof d->base_url, "http://127.0.0.1:%d", port);
                return 0;
            }
        }
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            fprintf(stderr, "harness: glorotd exited (%d) before listening; see %s\n",
                    decode_status(status), log_file);
            d->pid = 0;
            return -1;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "harness: glorotd wrote no port file within 20 s\n");
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    return -1;
}

int th_daemon_signal_wait(th_daemon *d, int sig)
{
    if (d->pid <= 0)
        return -1;
    int status;
    kill(d->pid, sig);
    if (wait_bounded(d->pid, 30000, &status) != 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &status, 0);
        d->pid = 0;
        return -1;
    }
    d->pid = 0;
    return decode_status(status);
}

int th_daemon_stop(th_daemon *d)
{
    int rc = d->pid > 0 ? th_daemon_signal_wait(d, SIGTERM) : 0;
    if (d->dir[0] != '\0') {
        char path[192];
        snprintf(path, sizeof path, "%s/port", d->dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/daemon.log", d->dir);
        unlink(path);
        rmdir(d->dir);
        d->dir[0] = '\0';
    }
    return rc;
}

int th_curl(th_response *r, const char *const args[])
{
    memset(r, 0, sizeof *r);
    char dir[] = "/tmp/glorot-curl-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return -1;
    char body[64], hdr[64], code[64];
    snprintf(body, sizeof body, "%s/body", dir);
    snprintf(hdr, sizeof hdr, "%s/headers", dir);
    snprintf(code, sizeof code, "%s/code", dir);

    const char *argv[96];
    size_t n = 0;
    argv[n++] = "curl";
    argv[n++] = "-sS";
    argv[n++] = "--max-time";
    argv[n++] = "120";
    argv[n++] = "-o";
    argv[n++] = body;
    argv[n++] = "-D";
    argv[n++] = hdr;
    argv[n++] = "-w";
    argv[n++] = "%{http_code}";
    for (size_t i = 0; args[i] != NULL && n < 95; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    r->exit_code = th_run(argv, code, 150);
    unsigned char *c = th_read_file(code, NULL);
    r->status = c ? (int)th_number((const char *)c) : 0;
    free(c);
    r->headers = (char *)th_read_file(hdr, NULL);
    r->body = th_read_file(body, &r->body_len);
    if (r->headers == NULL)
        r->headers = calloc(1, 1);
    if (r->body == NULL) {
        r->body = calloc(1, 1);
        r->body_len = 0;
    }
    unlink(body);
    unlink(hdr);
    unlink(code);
    rmdir(dir);
    return r->exit_code < 0 ? -1 : 0;
}

void th_response_free(th_response *r)
{
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

int th_header(const th_response *r, const char *name, char *out, size_t out_size)
{
    size_t nlen = strlen(name);
    /* With redirects or 100-continue several blocks may be present: use the last. */
    const char *found = NULL;
    for (const char *line = r->headers; line != NULL && *line != '\0';) {
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':')
            found = line + nlen + 1;
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    if (found == NULL)
        return -1;
    while (*found == ' ' || *found == '\t')
        found++;
    size_t len = strcspn(found, "\r\n");
    if (out_size == 0)
        return 0;
    if (len >= out_size)
        len = out_size - 1;
    memcpy(out, found, len);
    out[len] = '\0';
    return 0;
}

long long th_number(const char *text)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || errno != 0 || v < 0)
        return -1;
    return v;
}
