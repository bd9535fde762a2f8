/*
 * answer.c - what the server said: header lines, the Glorot-* description of
 * a 200 answer checked against the request, and JSON error bodies.
 */
#include "client_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
    char name[20];
    int id;
} known_headers[] = {
    {"glorot-seed", GLOROTP_H_SEED},
    {"glorot-algorithm", GLOROTP_H_ALGORITHM},
    {"glorot-dtype", GLOROTP_H_DTYPE},
    {"glorot-shape", GLOROTP_H_SHAPE},
    {"glorot-fan-in", GLOROTP_H_FAN_IN},
    {"glorot-fan-out", GLOROTP_H_FAN_OUT},
    {"glorot-limit", GLOROTP_H_LIMIT},
    {"glorot-gain", GLOROTP_H_GAIN},
    {"glorot-format", GLOROTP_H_FORMAT},
    {"glorot-call", GLOROTP_H_CALL},
    {"content-length", GLOROTP_H_CONTENT_LENGTH},
    {"retry-after", GLOROTP_H_RETRY_AFTER},
    {"glorot-slice", GLOROTP_H_SLICE},
    {"etag", GLOROTP_H_ETAG},
    {"content-range", GLOROTP_H_CONTENT_RANGE},
    {"repr-digest", GLOROTP_H_REPR_DIGEST},
    {"glorot-init", GLOROTP_H_INIT},
    {"glorot-distribution", GLOROTP_H_DISTRIBUTION},
};

void glorotp_headers_reset(glorotp_headers *h)
{
    memset(h, 0, sizeof *h);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* "HTTP/1.1 200 OK" -> 200; 0 if malformed. */
static long status_of(const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);
    uint64_t code;
    if (sp == NULL || (size_t)(line + len - sp) < 4)
        return 0;
    if (gp_parse_u64(sp + 1, 3, 0, 999, GLOROTP_U64_LEN, &code) != GP_U64_OK || code < 100)
        return 0;
    return (long)code;
}

static int header_id(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof known_headers / sizeof known_headers[0]; i++)
        if (strlen(known_headers[i].name) == len &&
            strncasecmp(known_headers[i].name, name, len) == 0)
            return known_headers[i].id;
    return -1;
}

static void mark_bad(glorotp_headers *h, const char *name, size_t len)
{
    if (h->bad)
        return;
    h->bad = 1;
    if (len >= sizeof h->bad_name)
        len = sizeof h->bad_name - 1;
    memcpy(h->bad_name, name, len);
    h->bad_name[len] = '\0';
}

static void store_field(glorotp_headers *h, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (colon == NULL)
        return;
    size_t name_len = (size_t)(colon - line);
    int id = header_id(line, name_len);
    if (id < 0)
        return;
    const char *v = colon + 1;
    size_t vlen = len - name_len - 1;
    while (vlen > 0 && is_space(*v)) {
        v++;
        vlen--;
    }
    while (vlen > 0 && is_space(v[vlen - 1]))
        vlen--;
    if (h->seen[id] || vlen >= GLOROTP_HEADER_VALUE_MAX || memchr(v, '\0', vlen) != NULL) {
        mark_bad(h, line, name_len);
        return;
    }
    memcpy(h->value[id], v, vlen);
    h->value[id][vlen] = '\0';
    h->seen[id] = 1;
}

int glorotp_header_line(glorotp_headers *h, const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        glorotp_headers_reset(h);
        h->status = status_of(line, len);
        return 0;
    }
    if (h->done)
        return 0; /* trailers after the body */
    if (len == 0) {
        h->done = 1;
        return 1;
    }
    store_field(h, line, len);
    return 0;
}

int glorotp_content_length(const glorotp_headers *h, uint64_t *len)
{
    if (!h->seen[GLOROTP_H_CONTENT_LENGTH])
        return 0;
    const char *v = h->value[GLOROTP_H_CONTENT_LENGTH];
    return gp_parse_u64(v, strlen(v), 0, UINT64_MAX - 1, GLOROTP_U64_LEN, len) == GP_U64_OK ? 1
                                                                                            : -1;
}

int glorotp_content_range(const glorotp_headers *h, uint64_t *first, uint64_t *last, uint64_t *size)
{
    if (!h->seen[GLOROTP_H_CONTENT_RANGE])
        return 0;
    const char *v = h->value[GLOROTP_H_CONTENT_RANGE];
    const char *dash = strchr(v, '-'), *slash = strchr(v, '/');
    if (strncmp(v, "bytes ", 6) != 0 || dash == NULL || slash == NULL || slash < dash ||
        gp_parse_u64(v + 6, (size_t)(dash - v - 6), 0, UINT64_MAX, GLOROTP_U64_LEN, first) !=
            GP_U64_OK ||
        gp_parse_u64(dash + 1, (size_t)(slash - dash - 1), 0, UINT64_MAX, GLOROTP_U64_LEN, last) !=
            GP_U64_OK ||
        gp_parse_u64(slash + 1, strlen(slash + 1), 0, UINT64_MAX, GLOROTP_U64_LEN, size) !=
            GP_U64_OK ||
        *last < *first || *last >= *size)
        return -1;
    return 1;
}

long glorotp_retry_after_ms(const glorotp_headers *h, long cap_ms)
{
    uint64_t seconds;
    const char *v = h->value[GLOROTP_H_RETRY_AFTER];
    if (!h->seen[GLOROTP_H_RETRY_AFTER] ||
        gp_parse_u64(v, strlen(v), 0, UINT64_MAX, GLOROTP_U64_LEN, &seconds) != GP_U64_OK)
        return -1;
    if (seconds > (uint64_t)cap_ms / 1000)
        return cap_ms;
    return (long)seconds * 1000;
}

/* ---- a 200 answer against the request --------------------------------------- */

static const char header_names[GLOROTP_H_COUNT][20] = {
    [GLOROTP_H_SEED] = "Glorot-Seed",
    [GLOROTP_H_ALGORITHM] = "Glorot-Algorithm",
    [GLOROTP_H_DTYPE] = "Glorot-Dtype",
    [GLOROTP_H_SHAPE] = "Glorot-Shape",
    [GLOROTP_H_FAN_IN] = "Glorot-Fan-In",
    [GLOROTP_H_FAN_OUT] = "Glorot-Fan-Out",
    [GLOROTP_H_LIMIT] = "Glorot-Limit",
    [GLOROTP_H_GAIN] = "Glorot-Gain",
    [GLOROTP_H_FORMAT] = "Glorot-Format",
    [GLOROTP_H_CALL] = "Glorot-Call",
    [GLOROTP_H_CONTENT_LENGTH] = "Content-Length",
    [GLOROTP_H_RETRY_AFTER] = "Retry-After",
    [GLOROTP_H_SLICE] = "Glorot-Slice",
    [GLOROTP_H_ETAG] = "ETag",
    [GLOROTP_H_CONTENT_RANGE] = "Content-Range",
    [GLOROTP_H_REPR_DIGEST] = "Repr-Digest",
    [GLOROTP_H_INIT] = "Glorot-Init",
    [GLOROTP_H_DISTRIBUTION] = "Glorot-Distribution",
};

static glorot_code disagree(int id, const char *got, const char *want, glorot_error *err)
{
    return glorotp_fail(err, GLOROT_E_PROTOCOL, "",
                        "the server's %s is '%s' but the request means '%s'", header_names[id], got,
                        want);
}

static glorot_code check_text(const glorotp_headers *h, int id, const char *want, glorot_error *err)
{
    if (!h->seen[id] || strcmp(h->value[id], want) == 0)
        return GLOROT_OK;
    return disagree(id, h->value[id], want, err);
}

static glorot_code check_number(const glorotp_headers *h, int id, uint64_t want, glorot_error *err)
{
    uint64_t got;
    const char *v = h->value[id];
    if (!h->seen[id])
        return GLOROT_OK;
    if (gp_parse_u64(v, strlen(v), 0, UINT64_MAX, GLOROTP_U64_LEN, &got) == GP_U64_OK &&
        got == want)
        return GLOROT_OK;
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)want);
    return disagree(id, v, text, err);
}

static glorot_code check_limit(const glorotp_headers *h, double want, glorot_error *err)
{
    double got;
    const char *v = h->value[GLOROTP_H_LIMIT];
    if (!h->seen[GLOROTP_H_LIMIT])
        return GLOROT_OK;
    if (gp_parse_real(v, strlen(v), &got) == 0 && got == want)
        return GLOROT_OK;
    char text[32];
    snprintf(text, sizeof text, "%.17g", want);
    return disagree(GLOROTP_H_LIMIT, v, text, err);
}

static glorot_code check_seed(const glorotp_headers *h, const gp_request *r, uint64_t *seed,
                              glorot_error *err)
{
    const char *v = h->value[GLOROTP_H_SEED];
    if (!h->seen[GLOROTP_H_SEED])
        return glorotp_fail(err, GLOROT_E_PROTOCOL, "", "the answer has no Glorot-Seed header");
    if (gp_parse_u64(v, strlen(v), 0, UINT64_MAX, GLOROTP_U64_LEN, seed) != GP_U64_OK)
        return glorotp_fail(err, GLOROT_E_PROTOCOL, "", "malformed Glorot-Seed '%s'", v);
    if (r->seed_set)
        return check_number(h, GLOROTP_H_SEED, r->seed, err);
    return GLOROT_OK;
}

glorot_code glorotp_check_answer(const glorotp_headers *h, const gp_request *r, uint64_t *seed,
                                 glorot_error *err)
{
    char shape[GLOROT_MAX_RANK * 21 + 1];
    gp_shape_text(r->shape, r->rank, shape, sizeof shape);
    if (h->bad)
        return glorotp_fail(err, GLOROT_E_PROTOCOL, "",
                            "the answer's %s header is repeated or too long", h->bad_name);
    glorot_code rc = check_seed(h, r, seed, err);
    if (rc == GLOROT_OK)
        rc = check_text(h, GLOROTP_H_ALGORITHM, gp_algorithm_name(r->algorithm), err);
    if (rc == GLOROT_OK)
        rc = check_text(h, GLOROTP_H_DTYPE, gp_dtype_name(r->dtype), err);
    if (rc == GLOROT_OK)
        rc = check_text(h, GLOROTP_H_FORMAT, gp_format_name(r->format), err);
    if (rc == GLOROT_OK)
        rc = check_text(h, GLOROTP_H_SHAPE, shape, err);
    if (rc == GLOROT_OK)
        rc = check_text(h, GLOROTP_H_GAIN, r->gain_spec, err);
    if (rc == GLOROT_OK)
        rc = check_number(h, GLOROTP_H_FAN_IN, r->fan_in, err);
    if (rc == GLOROT_OK)
        rc = check_number(h, GLOROTP_H_FAN_OUT, r->fan_out, err);
    if (rc == GLOROT_OK && r->algorithm == GP_ALG_MLX_SEEDED)
        rc = check_number(h, GLOROTP_H_CALL, r->call, err);
    if (rc == GLOROT_OK)
        rc = check_limit(h, r->limit, err);
    if (rc == GLOROT_OK)
        rc = check_text(h, GLOROTP_H_INIT, r->init_as, err);
    if (rc == GLOROT_OK) {
        char dist[GP_DIST_TEXT_MAX];
        gp_dist_text(r, dist, sizeof dist);
        rc = check_text(h, GLOROTP_H_DISTRIBUTION, dist, err);
    }
    if (rc == GLOROT_OK) {
        char part[GP_PART_TEXT_MAX];
        gp_part_text(r, part, sizeof part);
        rc = check_text(h, GLOROTP_H_SLICE, part, err);
    }
    return rc;
}

/* ---- error bodies --------------------------------------------------------------- */

glorot_code glorotp_http_error(long status, const char *body, size_t len, glorot_error *err)
{
    int record = err != NULL && err->code == GLOROT_OK;
    const char *code = NULL, *message = NULL, *param = "";
    json_error_t jerr;
    /* Not JSON_STRICT: a newer server may add fields, and the caller should
     * still see the message. Types are checked. */
    json_t *root = len > 0 ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    int parsed = root != NULL && json_unpack(root, "{s:{s:s, s:s, s?s}}", "error", "code", &code,
                                             "message", &message, "param", &param) == 0;
    if (parsed)
        glorotp_fail(err, GLOROT_E_HTTP, param, "%s", message);
    else
        glorotp_fail(err, GLOROT_E_HTTP, "", "the server answered HTTP %ld", status);
    if (record) {
        err->http_status = (int)status;
        snprintf(err->server_code, sizeof err->server_code, "%s", parsed ? code : "");
    }
    json_decref(root);
    return GLOROT_E_HTTP;
}
