/*
 * error.c - codes, messages and the library's one-time global set-up.
 */
#include "client_internal.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *glorot_strerror(glorot_code code)
{
    switch (code) {
    case GLOROT_OK:
        return "success";
    case GLOROT_E_INVALID:
        return "invalid request";
    case GLOROT_E_BUFFER:
        return "buffer too small";
    case GLOROT_E_CONNECT:
        return "cannot connect to the server";
    case GLOROT_E_TIMEOUT:
        return "timed out";
    case GLOROT_E_HTTP:
        return "the server answered with an error";
    case GLOROT_E_PROTOCOL:
        return "malformed or incomplete answer";
    case GLOROT_E_VERIFY:
        return "received bytes differ from local generation";
    case GLOROT_E_NOMEM:
        return "out of memory";
    case GLOROT_E_ABORTED:
        return "aborted by the callback";
    case GLOROT_E_TLS:
        return "TLS failure";
    case GLOROT_E_INTERNAL:
        return "internal error";
    }
    return "unknown error";
}

const char *glorot_version(void)
{
    return GLOROT_CLIENT_VERSION;
}

void glorot_free(void *ptr)
{
    free(ptr);
}

glorot_code glorotp_fail(glorot_error *err, glorot_code code, const char *param, const char *fmt,
                         ...)
{
    if (err == NULL || err->code != GLOROT_OK)
        return code;
    err->code = code;
    snprintf(err->param, sizeof err->param, "%s", param != NULL ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

glorot_code glorotp_from_gp(glorot_error *err, const gp_error *gerr)
{
    glorot_code code = GLOROT_E_INVALID;
    if (gerr->code == GP_ENOMEM)
        code = GLOROT_E_NOMEM;
    else if (gerr->code == GP_EINTERNAL)
        code = GLOROT_E_INTERNAL;
    return glorotp_fail(err, code, gerr->param, "%s", gerr->message);
}

void glorotp_error_set(glorot_error *dst, const glorot_error *src)
{
    if (dst != NULL)
        *dst = *src;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_curl_rc = -1;
static int global_gp_rc = -1;

static void global_init_once(void)
{
    global_curl_rc = (int)curl_global_init(CURL_GLOBAL_DEFAULT);
    global_gp_rc = gp_init();
}

glorot_code glorotp_global_init(glorot_error *err)
{
    if (pthread_once(&global_once, global_init_once) != 0)
        return glorotp_fail(err, GLOROT_E_INTERNAL, "", "one-time initialisation failed");
    if (global_curl_rc != (int)CURLE_OK)
        return glorotp_fail(err, GLOROT_E_INTERNAL, "", "libcurl failed to initialise: %s",
                            curl_easy_strerror((CURLcode)global_curl_rc));
    if (global_gp_rc != 0)
        return glorotp_fail(err, GLOROT_E_INTERNAL, "", "libsodium failed to initialise");
    return GLOROT_OK;
}
