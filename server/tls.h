/*
 * tls.h - the HTTPS certificate chain and key for libmicrohttpd (GnuTLS),
 * read at start-up, kept in memory for the daemon's lifetime, key wiped at
 * exit.
 */
#ifndef GLOROTD_TLS_H
#define GLOROTD_TLS_H

#include <stddef.h>

#define GD_TLS_FILE_MAX (1024 * 1024)

typedef struct {
    char *cert; /* PEM, NUL-terminated; NULL when TLS is off */
    size_t cert_len;
    char *key;
    size_t key_len;
    int key_loose; /* group or others may read the key file */
} gd_tls;

/* Read both PEM files. Checks they hold a "-----BEGIN CERTIFICATE-----" and
 * a "-----BEGIN ... PRIVATE KEY-----" block (whether GnuTLS accepts them is
 * known when the daemon starts). Also fails when this libmicrohttpd was built
 * without TLS. Returns 0, or -1 with one line in msg (t is left empty). */
int gd_tls_load(gd_tls *t, const char *cert_path, const char *key_path, char *msg, size_t msg_size);

/* Wipe the key, free both; safe on an empty or already freed t. */
void gd_tls_free(gd_tls *t);

#endif
