/*
 * fetch.c - the public entry points: fetch into a buffer or a callback,
 * generate locally, and the two service calls (health, info).
 */
#include "client_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define GENERATE_CHUNK 65536
#define INFO_MAX (1024 * 1024)
#define HEALTH_MAX 4096

typedef struct {
    unsigned char *buf;
    size_t size;
} buffer_sink;

static int to_buffer(void *user, uint64_t offset, const void *data, size_t len)
{
    buffer_sink *b = user;
    /* transfer.c never passes bytes beyond the capacity; keep the promise local too. */
    if (offset > b->size || len > b->size - offset)
        return 1;
    memcpy(b->buf + offset, data, len);
    return 0;
}

static void clear_meta(glorot_meta *meta)
{
    if (meta != NULL)
        memset(meta, 0, sizeof *meta);
}

static glorot_code prepare(glorot_client *c, const glorot_request *req, glorotp_job *job,
                           glorot_error *err)
{
    if (c == NULL || req == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "client and request are required");
    memset(job, 0, sizeof *job);
    job->req = req;
    glorot_code rc = glorotp_resolve(req, &job->resolved, err);
    glorotp_tensor_path(&job->resolved, job->path_buf);
    job->path = job->path_buf;
    return rc;
}

glorot_code glorot_fetch(glorot_client *c, const glorot_request *req, void *buf, size_t buf_size,
                         glorot_meta *meta, glorot_error *err)
{
    glorotp_job job;
    uint64_t size;
    clear_meta(meta);
    glorot_code rc = prepare(c, req, &job, err);
    if (rc == GLOROT_OK)
        rc = glorotp_body_size(&job.resolved, &size, err);
    if (rc != GLOROT_OK)
        return rc;
    if (buf == NULL && buf_size != 0)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "buffer is NULL");
    if (size != GP_SIZE_UNKNOWN && size > buf_size)
        return glorotp_fail(err, GLOROT_E_BUFFER, "",
                            "the answer is %llu bytes; the buffer holds %zu",
                            (unsigned long long)size, buf_size);
    buffer_sink sink = {buf, buf_size};
    job.capacity = buf_size;
    job.sink = to_buffer;
    job.sink_user = &sink;
    return glorotp_transfer(c, &job, meta, NULL, err);
}

glorot_code glorot_fetch_stream(glorot_client *c, const glorot_request *req, glorot_chunk_fn fn,
                                void *user, glorot_meta *meta, glorot_error *err)
{
    glorotp_job job;
    clear_meta(meta);
    glorot_code rc = prepare(c, req, &job, err);
    if (rc != GLOROT_OK)
        return rc;
    if (fn == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "a chunk callback is required");
    job.capacity = UINT64_MAX;
    job.sink = fn;
    job.sink_user = user;
    return glorotp_transfer(c, &job, meta, NULL, err);
}

/* ---- local generation ---------------------------------------------------------- */

static glorot_code local_body(const glorot_request *req, gp_request *r, gp_body *body,
                              glorot_error *err)
{
    if (req == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "a request is required");
    glorot_code rc = glorotp_resolve(req, r, err);
    if (rc != GLOROT_OK)
        return rc;
    if (!r->seed_set)
        return glorotp_fail(err, GLOROT_E_INVALID, "seed",
                            "local generation needs a seed (seed_set)");
    gp_error gerr = {0};
    if (gp_body_init(body, r, &gerr) != GP_OK)
        return glorotp_from_gp(err, &gerr);
    return GLOROT_OK;
}

glorot_code glorot_generate_stream(const glorot_request *req, glorot_chunk_fn fn, void *user,
                                   glorot_meta *meta, glorot_error *err)
{
    gp_request r;
    clear_meta(meta);
    if (fn == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "a chunk callback is required");
    gp_body *body = malloc(sizeof *body);
    unsigned char *chunk = malloc(GENERATE_CHUNK);
    glorot_code rc = body != NULL && chunk != NULL
                         ? local_body(req, &r, body, err)
                         : glorotp_fail(err, GLOROT_E_NOMEM, "", "out of memory");
    uint64_t offset = 0;
    size_t n;
    while (rc == GLOROT_OK && (n = gp_body_read(body, offset, chunk, GENERATE_CHUNK)) > 0) {
        if (fn(user, offset, chunk, n) != 0)
            rc = glorotp_fail(err, GLOROT_E_ABORTED, "",
                              "the chunk callback stopped generation at byte %llu",
                              (unsigned long long)offset);
        offset += n;
    }
    if (rc == GLOROT_OK)
        glorotp_meta_fill(&r, offset, meta);
    free(chunk);
    free(body);
    return rc;
}

/* json is sized only as it is produced: fill the buffer, then make sure nothing is left. */
static glorot_code generate_sequential(gp_body *body, unsigned char *buf, size_t buf_size,
                                       uint64_t *produced, glorot_error *err)
{
    size_t done = 0, n;
    unsigned char probe;
    while (done < buf_size && (n = gp_body_read(body, done, buf + done, buf_size - done)) > 0)
        done += n;
    if (gp_body_read(body, done, &probe, 1) > 0)
        return glorotp_fail(err, GLOROT_E_BUFFER, "",
                            "the answer is longer than the buffer's %zu bytes", buf_size);
    *produced = done;
    return GLOROT_OK;
}

glorot_code glorot_generate(const glorot_request *req, void *buf, size_t buf_size,
                            glorot_meta *meta, glorot_error *err)
{
    gp_request r;
    uint64_t size = 0;
    clear_meta(meta);
    if (buf == NULL && buf_size != 0)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "buffer is NULL");
    gp_body *body = malloc(sizeof *body);
    if (body == NULL)
        return glorotp_fail(err, GLOROT_E_NOMEM, "", "out of memory");
    glorot_code rc = local_body(req, &r, body, err);
    if (rc == GLOROT_OK && gp_body_size(body) == GP_SIZE_UNKNOWN) {
        rc = generate_sequential(body, buf, buf_size, &size, err);
    } else if (rc == GLOROT_OK) {
        size = gp_body_size(body);
        if (size > buf_size)
            rc = glorotp_fail(err, GLOROT_E_BUFFER, "",
                              "the answer is %llu bytes; the buffer holds %zu",
                              (unsigned long long)size, buf_size);
        else if (size > 0 && gp_body_read(body, 0, buf, (size_t)size) != size)
            rc = glorotp_fail(err, GLOROT_E_INTERNAL, "", "the body ended early");
    }
    if (rc == GLOROT_OK)
        glorotp_meta_fill(&r, size, meta);
    free(body);
    return rc;
}

/* ---- service calls ---------------------------------------------------------------- */

static int to_text(void *user, uint64_t offset, const void *data, size_t len)
{
    (void)offset;
    return glorotp_str_add(user, data, len) != 0;
}

static int discard(void *user, uint64_t offset, const void *data, size_t len)
{
    (void)user;
    (void)offset;
    (void)data;
    (void)len;
    return 0;
}

glorot_code glorot_health(glorot_client *c, glorot_error *err)
{
    if (c == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "a client is required");
    glorotp_job job;
    memset(&job, 0, sizeof job);
    job.path = "/healthz";
    job.single_attempt = 1;
    job.capacity = HEALTH_MAX;
    job.sink = discard;
    return glorotp_transfer(c, &job, NULL, NULL, err);
}

static glorot_code check_object(const glorotp_str *text, glorot_error *err)
{
    json_error_t jerr;
    json_t *root =
        json_loadb(text->data != NULL ? text->data : "", text->len, JSON_REJECT_DUPLICATES, &jerr);
    int ok = json_is_object(root);
    json_decref(root);
    if (!ok)
        return glorotp_fail(err, GLOROT_E_PROTOCOL, "", "/v1/info did not answer a JSON object");
    return GLOROT_OK;
}

glorot_code glorot_info(glorot_client *c, char **json, glorot_error *err)
{
    if (json != NULL)
        *json = NULL;
    if (c == NULL || json == NULL)
        return glorotp_fail(err, GLOROT_E_INVALID, "", "client and result pointer are required");
    glorotp_str text;
    glorotp_str_init(&text, INFO_MAX);
    glorotp_job job;
    memset(&job, 0, sizeof job);
    job.path = "/v1/info";
    job.capacity = INFO_MAX;
    job.sink = to_text;
    job.sink_user = &text;
    glorot_code rc = glorotp_transfer(c, &job, NULL, NULL, err);
    if (rc == GLOROT_OK)
        rc = check_object(&text, err);
    if (rc == GLOROT_OK && text.data == NULL)
        rc = glorotp_fail(err, GLOROT_E_PROTOCOL, "", "/v1/info answered nothing");
    if (rc != GLOROT_OK) {
        glorotp_str_free(&text);
        return rc;
    }
    *json = text.data;
    return GLOROT_OK;
}
