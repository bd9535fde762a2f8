/*
 * files.h - small files named by options (token file, TLS certificate and
 * key), read whole at start-up, before privileges are dropped.
 */
#ifndef GLOROTD_FILES_H
#define GLOROTD_FILES_H

#include <stddef.h>

/* Read the regular file at path, at most max bytes, into a malloc'd
 * NUL-terminated buffer (*len bytes before the NUL). *loose (may be NULL) is
 * set to 1 when group or others may read the file. Returns NULL with one line
 * in msg when the file is missing, unreadable, not a regular file, empty or
 * larger than max. The caller wipes (sodium_memzero) and free()s it. */
char *gd_file_read(const char *path, size_t max, size_t *len, int *loose, char *msg,
                   size_t msg_size);

/* sodium_memzero then free; NULL does nothing. */
void gd_file_wipe(char *buf, size_t len);

#endif
