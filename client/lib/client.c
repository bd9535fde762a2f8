/*
 * client.c - the glorot_client handle: a validated base URL, settings with
 * their defaults filled in, copied strings, and one reusable curl handle.
 */
#include "client_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URL_MAX 2048
#define TEXT_OPTION_MAX 4096

static char *copy_text(const char *text)
{
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (copy != NULL)
        memcpy(copy, text, len + 1);
    return copy;
}

static int has_control(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

static glorot_code check_url(const char *url, size_t *keep, glorot_error *err)
{
    size_t len = url != NULL ? strlen(url) : 0;
    size_t scheme = 0;
    if (url == NULL || len == 0)
        return glorotp_fail(err, GLOROT_E_INVALID, "url", "a server URL is required");
    if (len > URL_MAX)
        return glorotp_fail(err, GLOROT_E_INVALID, "url", "the URL is longer than %d bytes",
                            URL_MAX);
    if (strncasecmp(url, "http://", 7) == 0)
        scheme = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        scheme = 8;
    if (scheme == 0)
        return glorotp_fail(err, GLOROT_E_INVALID, "url",
                            "the URL must start with http:// or https://");
    if (has_control(url) || strpbrk(url, " ?#") != NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "url",
                            "the URL may not contain spaces, control characters, a query or a "
                            "fragment");
    while (len > scheme && url[len - 1] == '/')
        len--;
    if (len == scheme || url[scheme] == '/')
        return glorotp_fail(err, GLOROT_E_INVALID, "url", "the URL has no host");
    *keep = len;
    return GLOROT_OK;
}

static glorot_code check_text_option(const char *value, const char *name, glorot_error *err)
{
    if (value == NULL)
        return GLOROT_OK;
    if (*value == '\0' || strlen(value) > TEXT_OPTION_MAX || has_control(value))
        return glorotp_fail(err, GLOROT_E_INVALID, name,
                            "%s must be 1 to %d bytes without control characters", name,
                            TEXT_OPTION_MAX);
    return GLOROT_OK;
}

static long or_default(long value, long fallback)
{
    return value != 0 ? value : fallback;
}

static glorot_code settings_from(const glorot_options *o, glorotp_settings *s, glorot_error *err)
{
    if (o->connect_timeout_ms < 0 || o->timeout_ms < 0 || o->idle_timeout_ms < 0 ||
        o->retry_base_ms < 0 || o->retry_max_ms < 0)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "timeouts and delays cannot be negative");
    if (o->retries < GLOROT_RETRIES_NONE || o->retries > 100)
        return glorotp_fail(err, GLOROT_E_INVALID, "retries",
                            "retries must be GLOROT_RETRIES_NONE or 0 to 100");
    if (o->verify != GLOROT_VERIFY_NONE && o->verify != GLOROT_VERIFY_SAMPLE &&
        o->verify != GLOROT_VERIFY_FULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "verify", "unknown verification mode");
    s->connect_timeout_ms = or_default(o->connect_timeout_ms, 10000);
    s->timeout_ms = o->timeout_ms;
    s->idle_timeout_ms = or_default(o->idle_timeout_ms, 30000);
    s->retries = o->retries == 0 ? 3 : o->retries == GLOROT_RETRIES_NONE ? 0 : o->retries;
    s->retry_base_ms = or_default(o->retry_base_ms, 250);
    s->retry_max_ms = or_default(o->retry_max_ms, 8000);
    s->verify = o->verify;
    return GLOROT_OK;
}

static glorot_code check_options(const glorot_options *o, glorotp_settings *s, glorot_error *err)
{
    glorot_code rc = settings_from(o, s, err);
    if (rc == GLOROT_OK)
        rc = check_text_option(o->bearer_token, "bearer_token", err);
    if (rc == GLOROT_OK)
        rc = check_text_option(o->user_agent, "user_agent", err);
    if (rc == GLOROT_OK)
        rc = check_text_option(o->ca_file, "ca_file", err);
    return rc;
}

static glorot_code add_authorization(glorot_client *c)
{
    static const char prefix[] = "Authorization: Bearer ";
    size_t len = sizeof prefix - 1 + strlen(c->token);
    char *line = malloc(len + 1);
    if (line == NULL)
        return GLOROT_E_NOMEM;
    memcpy(line, prefix, sizeof prefix - 1);
    memcpy(line + sizeof prefix - 1, c->token, strlen(c->token) + 1);
    c->headers = curl_slist_append(NULL, line);
    sodium_memzero(line, len);
    free(line);
    return c->headers != NULL ? GLOROT_OK : GLOROT_E_NOMEM;
}

static glorot_code copy_strings(glorot_client *c, const char *url, size_t url_len,
                                const glorot_options *o)
{
    c->base_url = malloc(url_len + 1);
    if (c->base_url == NULL)
        return GLOROT_E_NOMEM;
    memcpy(c->base_url, url, url_len);
    c->base_url[url_len] = '\0';
    const char *ua =
        o->user_agent != NULL ? o->user_agent : "libglorot-client/" GLOROT_CLIENT_VERSION;
    c->user_agent = copy_text(ua);
    if (c->user_agent == NULL)
        return GLOROT_E_NOMEM;
    if (o->ca_file != NULL && (c->ca_file = copy_text(o->ca_file)) == NULL)
        return GLOROT_E_NOMEM;
    if (o->bearer_token != NULL) {
        if ((c->token = copy_text(o->bearer_token)) == NULL)
            return GLOROT_E_NOMEM;
        return add_authorization(c);
    }
    return GLOROT_OK;
}

glorot_client *glorot_client_new(const char *base_url, const glorot_options *opts,
                                 glorot_error *err)
{
    static const glorot_options defaults;
    const glorot_options *o = opts != NULL ? opts : &defaults;
    glorotp_settings s;
    size_t url_len = 0;
    if (glorotp_global_init(err) != GLOROT_OK || check_url(base_url, &url_len, err) != GLOROT_OK ||
        check_options(o, &s, err) != GLOROT_OK)
        return NULL;
    glorot_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        glorotp_fail(err, GLOROT_E_NOMEM, "", "out of memory creating the client");
        return NULL;
    }
    c->s = s;
    if (copy_strings(c, base_url, url_len, o) != GLOROT_OK) {
        glorotp_fail(err, GLOROT_E_NOMEM, "", "out of memory creating the client");
        glorot_client_free(c);
        return NULL;
    }
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        glorotp_fail(err, GLOROT_E_INTERNAL, "", "curl_easy_init failed");
        glorot_client_free(c);
        return NULL;
    }
    return c;
}

static void wipe_headers(struct curl_slist *list)
{
    for (struct curl_slist *item = list; item != NULL; item = item->next)
        sodium_memzero(item->data, strlen(item->data));
    curl_slist_free_all(list);
}

void glorot_client_free(glorot_client *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    wipe_headers(c->headers);
    if (c->token != NULL) {
        sodium_memzero(c->token, strlen(c->token));
        free(c->token);
    }
    free(c->base_url);
    free(c->ca_file);
    free(c->user_agent);
    free(c);
}
