/*
 * files.c - read a small file whole (see files.h).
 */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_all(int fd, char *buf, size_t want)
{
    size_t got = 0;
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

char *gd_file_read(const char *path, size_t max, size_t *len, int *loose, char *msg,
                   size_t msg_size)
{
    /* O_NONBLOCK: a FIFO at path must not hang start-up (it is refused below). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(msg, msg_size, "cannot open %.300s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(msg, msg_size, "%.300s is not a regular file", path);
        goto out;
    }
    if (st.st_size <= 0 || (unsigned long long)st.st_size > max) {
        snprintf(msg, msg_size, "%.300s is %s (%lld bytes; the limit is %zu)", path,
                 st.st_size <= 0 ? "empty" : "too large", (long long)st.st_size, max);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = malloc(size + 1);
    if (buf == NULL) {
        snprintf(msg, msg_size, "out of memory reading %.300s", path);
        goto out;
    }
    if (read_all(fd, buf, size) != 0) {
        snprintf(msg, msg_size, "cannot read %.300s", path);
        gd_file_wipe(buf, size);
        buf = NULL;
        goto out;
    }
    buf[size] = '\0';
    *len = size;
    if (loose != NULL)
        *loose = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
out:
    close(fd);
    return buf;
}

void gd_file_wipe(char *buf, size_t len)
{
    if (buf == NULL)
        return;
    sodium_memzero(buf, len);
    free(buf);
}
