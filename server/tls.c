/*
 * tls.c - certificate and key files for HTTPS (see tls.h).
 */
#include "tls.h"

#include "files.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

/* The PEM text holds a block whose BEGIN line contains `label`. */
static int has_block(const char *pem, const char *label)
{
    for (const char *p = strstr(pem, "-----BEGIN "); p != NULL; p = strstr(p + 1, "-----BEGIN ")) {
        const char *eol = strchr(p, '\n');
        const char *hit = strstr(p, label);
        if (hit != NULL && (eol == NULL || hit < eol))
            return 1;
    }
    return 0;
}

int gd_tls_load(gd_tls *t, const char *cert_path, const char *key_path, char *msg, size_t msg_size)
{
    memset(t, 0, sizeof *t);
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(msg, msg_size, "this libmicrohttpd was built without TLS support");
        return -1;
    }
    t->cert = gd_file_read(cert_path, GD_TLS_FILE_MAX, &t->cert_len, NULL, msg, msg_size);
    if (t->cert == NULL)
        return -1;
    if (!has_block(t->cert, "CERTIFICATE-----")) {
        snprintf(msg, msg_size, "%.300s holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                 cert_path);
        gd_tls_free(t);
        return -1;
    }
    t->key = gd_file_read(key_path, GD_TLS_FILE_MAX, &t->key_len, &t->key_loose, msg, msg_size);
    if (t->key == NULL) {
        gd_tls_free(t);
        return -1;
    }
    if (!has_block(t->key, "PRIVATE KEY-----")) {
        snprintf(msg, msg_size, "%.300s holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)",
                 key_path);
        gd_tls_free(t);
        return -1;
    }
    return 0;
}

void gd_tls_free(gd_tls *t)
{
    gd_file_wipe(t->key, t->key_len);
    gd_file_wipe(t->cert, t->cert_len);
    t->key = t->cert = NULL;
    t->key_len = t->cert_len = 0;
}
