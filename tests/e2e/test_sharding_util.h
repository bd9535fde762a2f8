/*
 * test_sharding_util.h - helpers for the slice, shard, range, ETag and digest
 * tests (test_sharding*.c): HTTP through an in-process libcurl handle (one
 * kept-alive connection per test, so a few hundred requests stay cheap), the
 * answer's headers, a deterministic PRNG, /metrics counters, and the
 * expected bytes computed by the core library.
 *
 * Header-only (static functions), like test_server_util.h.
 */
#ifndef GLOROT_TEST_SHARDING_UTIL_H
#define GLOROT_TEST_SHARDING_UTIL_H

#include "../support/harness.h"
#include "glorot_proto.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- HTTP ------------------------------------------------------------------ */

typedef struct {
    long status;
    unsigned char *body; /* malloc'd, NUL-terminated */
    size_t len, cap;
    char head[32768]; /* the last header block, as received */
    size_t head_len;
} sh_resp;

static size_t sh_on_body(char *data, size_t size, size_t count, void *user)
{
    sh_resp *r = user;
    size_t n = size * count;
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 65536;
        while (cap < r->len + n + 1)
            cap *= 2;
        unsigned char *bigger = realloc(r->body, cap);
        if (bigger == NULL)
            return 0;
        r->body = bigger;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static size_t sh_on_header(char *line, size_t size, size_t count, void *user)
{
    sh_resp *r = user;
    size_t n = size * count;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0)
        r->head_len = 0; /* a new block (100 Continue) */
    if (r->head_len + n < sizeof r->head) {
        memcpy(r->head + r->head_len, line, n);
        r->head_len += n;
        r->head[r->head_len] = '\0';
    }
    return n;
}

static void sh_free(sh_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* One request: method "GET", "HEAD" or "POST" (body as JSON); headers is
 * NULL-terminated (may be NULL). r is reset first. */
static void sh_request(CURL *h, sh_resp *r, const char *method, const char *url,
                       const char *const headers[], const char *body)
{
    struct curl_slist *list = NULL;
    sh_free(r);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        list = curl_slist_append(list, headers[i]);
    if (body != NULL)
        list = curl_slist_append(list, "Content-Type: application/json");
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sh_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, sh_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(list);
    cr_assert_eq(cc, CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(cc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->body == NULL) {
        r->body = calloc(1, 1);
        cr_assert_not_null(r->body);
    }
}

/* base + path + query into a static buffer (one URL at a time). */
static const char *sh_url(const char *base, const char *path, const char *query)
{
    static char url[4096];
    snprintf(url, sizeof url, "%s%s%s%s", base, path, query[0] ? "?" : "", query);
    return url;
}

static void sh_get(CURL *h, sh_resp *r, const char *base, const char *query,
                   const char *const headers[])
{
    sh_request(h, r, "GET", sh_url(base, "/v1/glorot_uniform", query), headers, NULL);
}

/* A response header's value (case-insensitive name); 0 if found. */
static int sh_header(const sh_resp *r, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *line = r->head; *line != '\0';) {
        size_t len = strcspn(line, "\r\n");
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t vlen = (size_t)(line + len - v);
            if (vlen >= size)
                vlen = size - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 0;
        }
        line += len;
        while (*line == '\r' || *line == '\n')
            line++;
    }
    return -1;
}

/* A header that must be there. */
static const char *sh_must(const sh_resp *r, const char *name)
{
    static char value[4][2048];
    static int next;
    char *out = value[next++ % 4];
    cr_assert_eq(sh_header(r, name, out, sizeof value[0]), 0, "no %s header in:\n%s", name,
                 r->head);
    return out;
}

/* ---- numbers ------------------------------------------------------------------ */

/* splitmix64: the tests' deterministic random choices. */
static inline uint64_t sh_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The sum of glorotd_generated_elements_total over every label, from /metrics. */
static inline uint64_t sh_generated(CURL *h, const char *base)
{
    sh_resp r = {0};
    static const char family[] = "glorotd_generated_elements_total{";
    uint64_t total = 0;
    size_t lines = 0;
    sh_request(h, &r, "GET", sh_url(base, "/metrics", ""), NULL, NULL);
    cr_assert_eq(r.status, 200, "/metrics: %ld", r.status);
    for (const char *p = (const char *)r.body; (p = strstr(p, family)) != NULL; p++) {
        const char *brace = strchr(p, '}');
        cr_assert_not_null(brace);
        total += strtoull(brace + 1, NULL, 10);
        lines++;
    }
    cr_assert_gt(lines, 0, "no %s lines in /metrics", family);
    sh_free(&r);
    return total;
}

/* ---- expected bytes -------------------------------------------------------------- */

/* Finish a request from "k=v&k=v" (no percent-escapes) with the core library. */
static void sh_build(const char *query, gp_request *r)
{
    gp_error err = {0};
    char copy[2048];
    snprintf(copy, sizeof copy, "%s", query);
    gp_request_init(r);
    for (char *p = copy; *p != '\0';) {
        size_t len = strcspn(p, "&");
        char *eq = memchr(p, '=', len);
        cr_assert_not_null(eq, "%s", query);
        cr_assert_eq(
            gp_request_set(r, p, (size_t)(eq - p), eq + 1, len - (size_t)(eq - p) - 1, &err), GP_OK,
            "%s: %s", query, err.message);
        p += len + (p[len] == '&');
    }
    cr_assert_eq(gp_request_finish(r, NULL, &err), GP_OK, "%s: %s", query, err.message);
}

#endif
