/*
 * digest.c - GET /v1/digest: the server's SHA-256 and length of the body a
 * request would get, checked against what the request means locally (the
 * canonical form and ETag are recomputed here, the length too for binary
 * formats); and downloaded bytes checked against such a digest.
 */
#include "client_internal.h"

#include <jansson.h>
#include <sodium.h>
#include <string.h>

#define DIGEST_ANSWER_MAX 8192

static int to_text(void *user, uint64_t offset, const void *data, size_t len)
{
    (void)offset;
    return glorotp_str_add(user, data, len) != 0;
}

static int is_hex64(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 64;
}

/* repr_digest ("sha-256=:<base64>:", RFC 9530) names the same hash as the
 * hex sha256 (servers since the field was added send both). */
static int same_digest(const char *repr, const char *hex)
{
    unsigned char from_field[32], from_hex[32];
    size_t n = 0;
    return gp_digest_field_find(repr, strlen(repr), GP_DIGEST_SHA256, from_field) == 1 &&
           sodium_hex2bin(from_hex, sizeof from_hex, hex, 64, NULL, &n, NULL) == 0 && n == 32 &&
           memcmp(from_field, from_hex, 32) == 0;
}

static glorot_code malformed(glorot_error *err, const char *what)
{
    return glorotp_fail(err, GLOROT_E_PROTOCOL, "", "malformed /v1/digest answer: %s", what);
}

/* The JSON answer into out (fields only; no cross-checks yet). */
static glorot_code parse_answer(const glorotp_str *text, glorot_digest_info *out, glorot_error *err)
{
    const char *sha = NULL, *etag = NULL, *canonical = NULL, *seed = NULL, *repr = NULL;
    json_int_t length = -1;
    json_error_t jerr;
    json_t *root =
        json_loadb(text->data != NULL ? text->data : "", text->len, JSON_REJECT_DUPLICATES, &jerr);
    /* Not JSON_STRICT: a newer server may add fields. */
    int ok = root != NULL && json_unpack(root, "{s:s, s:I, s:s, s:s, s:s, s?s}", "sha256", &sha,
                                         "length", &length, "etag", &etag, "canonical", &canonical,
                                         "seed", &seed, "repr_digest", &repr) == 0;
    glorot_code rc = GLOROT_OK;
    if (!ok)
        rc = malformed(err, "not {sha256, length, etag, canonical, seed}");
    else if (!is_hex64(sha) || length < 0 || strlen(etag) >= sizeof out->etag ||
             strlen(canonical) >= sizeof out->canonical ||
             gp_parse_u64(seed, strlen(seed), 0, UINT64_MAX, GLOROTP_U64_LEN, &out->seed) !=
                 GP_U64_OK)
        rc = malformed(err, "a field is out of range");
    else if (repr != NULL && !same_digest(repr, sha))
        rc = malformed(err, "repr_digest is not the sha256 in base64");
    if (rc == GLOROT_OK) {
        memcpy(out->sha256, sha, 65);
        out->length = (uint64_t)length;
        memcpy(out->etag, etag, strlen(etag) + 1);
        memcpy(out->canonical, canonical, strlen(canonical) + 1);
    }
    json_decref(root);
    return rc;
}

/* The answer must describe r (its seed, when it had one, set from the answer). */
static glorot_code cross_check(gp_request *r, const glorot_digest_info *d, glorot_error *err)
{
    char canonical[GP_CANONICAL_MAX], etag[GP_ETAG_MAX];
    uint64_t size = 0;
    gp_error gerr = {0};
    if (r->seed_set && r->seed != d->seed)
        return glorotp_fail(err, GLOROT_E_PROTOCOL, "",
                            "the digest is for seed %llu; the request asked for %llu",
                            (unsigned long long)d->seed, (unsigned long long)r->seed);
    gp_request_set_seed(r, d->seed);
    if (gp_canonical(r, canonical, sizeof canonical, &gerr) != GP_OK ||
        gp_etag(r, canonical, etag, &gerr) != GP_OK)
        return glorotp_from_gp(err, &gerr);
    if (strcmp(canonical, d->canonical) != 0 || strcmp(etag, d->etag) != 0)
        return glorotp_fail(err, GLOROT_E_PROTOCOL, "",
                            "the digest describes '%.120s'; the request means '%.120s'",
                            d->canonical, canonical);
    glorot_code rc = glorotp_body_size(r, &size, err);
    if (rc == GLOROT_OK && size != GP_SIZE_UNKNOWN && size != d->length)
        rc = glorotp_fail(err, GLOROT_E_PROTOCOL, "",
                          "the digest is of %llu bytes; the request means %llu",
                          (unsigned long long)d->length, (unsigned long long)size);
    return rc;
}

glorot_code glorot_digest(glorot_client *c, const glorot_request *req, glorot_digest_info *out,
                          glorot_error *err)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (c == NULL || req == NULL || out == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "client, request and result are required");
    glorotp_job job;
    memset(&job, 0, sizeof job);
    job.path = "/v1/digest";
    job.req = req;
    job.digest = 1;
    glorot_code rc = glorotp_resolve(req, &job.resolved, err);
    if (rc != GLOROT_OK)
        return rc;
    glorotp_str text;
    glorotp_str_init(&text, DIGEST_ANSWER_MAX);
    job.capacity = DIGEST_ANSWER_MAX;
    job.sink = to_text;
    job.sink_user = &text;
    rc = glorotp_transfer(c, &job, NULL, NULL, err);
    if (rc == GLOROT_OK)
        rc = parse_answer(&text, out, err);
    if (rc == GLOROT_OK)
        rc = cross_check(&job.resolved, out, err);
    glorotp_str_free(&text);
    if (rc != GLOROT_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

glorot_code glorot_digest_check(const glorot_digest_info *d, const void *data, size_t len,
                                glorot_error *err)
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    if (d == NULL || (data == NULL && len != 0))
        return glorotp_fail(err, GLOROT_E_INVALID, "", "a digest and the data are required");
    if (len != d->length)
        return glorotp_fail(err, GLOROT_E_VERIFY, "", "%zu bytes; the digest says %llu", len,
                            (unsigned long long)d->length);
    crypto_hash_sha256(hash, data != NULL ? data : (const void *)"", len);
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    if (strcmp(hex, d->sha256) != 0)
        return glorotp_fail(err, GLOROT_E_VERIFY, "", "SHA-256 %s; the digest says %s", hex,
                            d->sha256);
    return GLOROT_OK;
}
