/*
 * fuzz_request.c - the full request -> headers path of a tensor answer
 * without a socket: query, POST body, Accept, the server's caps
 * (gd_tensor_negotiate/finish), the response headers (gd_tensor_headers on a
 * real MHD_Response), If-None-Match, Range + If-Range and Content-Range,
 * and the error body. Input: lines "query", "Accept", "Range", "If-Range",
 * "If-None-Match", then the POST body (absent = GET). Every header value
 * must be printable ASCII (no header injection), every error a JSON body
 * with a 4xx/5xx status.
 */
#include "fuzz_util.h"
#include "params.h"
#include "tensor.h"

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { F_QUERY, F_ACCEPT, F_RANGE, F_IF_RANGE, F_INM, F_COUNT };

typedef struct {
    const char *p[F_COUNT];
    size_t n[F_COUNT];
    char accept[FZ_MAX_INPUT + 1];
    const char *body; /* NULL: GET */
    size_t body_len;
} fields;

static void split(const char *d, size_t size, fields *f)
{
    size_t at = 0;
    for (int i = 0; i < F_COUNT; i++) {
        const char *nl = at < size ? memchr(d + at, '\n', size - at) : NULL;
        size_t n = nl ? (size_t)(nl - (d + at)) : size - (at < size ? at : size);
        f->p[i] = d + (at < size ? at : size);
        f->n[i] = n;
        at += n + 1;
    }
    f->body = at <= size ? d + at : NULL;
    f->body_len = at <= size ? size - at : 0;
    memcpy(f->accept, f->p[F_ACCEPT], f->n[F_ACCEPT]);
    f->accept[f->n[F_ACCEPT]] = '\0';
}

typedef struct {
    gd_tensor *t;
    gd_error *e;
} query_ctx;

static int set_pair(void *user, const char *key, size_t key_len, const char *value,
                    size_t value_len)
{
    query_ctx *q = user;
    return gd_params_set(&q->t->r, key, key_len, value, value_len, q->e) == 0 ? 0 : 1;
}

static void check_error(const gd_error *e)
{
    FZ_CHECK(e->status >= 400 && e->status <= 599);
    char *text = gd_error_json(e);
    FZ_CHECK(text != NULL);
    json_t *doc = json_loads(text, 0, NULL);
    FZ_CHECK(json_is_object(json_object_get(doc, "error")));
    json_decref(doc);
    free(text);
}

static enum MHD_Result check_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)cls;
    (void)kind;
    FZ_CHECK(key != NULL && value != NULL && key[0] != '\0');
    for (const char *p = key; *p; p++)
        FZ_CHECK(*p > 0x20 && *p < 0x7f && *p != ':');
    for (const char *p = value; *p; p++)
        FZ_CHECK(*p >= 0x20 && *p < 0x7f);
    return MHD_YES;
}

static void answer(const gd_tensor *t, const fields *f)
{
    static gp_body body;
    gp_error err = {0};
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    FZ_CHECK(resp != NULL);
    FZ_CHECK(gd_tensor_headers(resp, t, 1) == 0);
    /* A finished request can still be one the generators cannot address
     * (more than 2^61 - 1 elements, however small the part asked for):
     * gp_body_init refuses it with GP_ELIMIT and the server answers 413, as
     * server/stream.c does (tests/unit/test_slice.c pins it). */
    gp_code rc = gp_body_init(&body, &t->r, &err);
    if (rc != GP_OK) {
        FZ_CHECK(rc == GP_ELIMIT && t->r.numel > UINT64_MAX / 8 && strcmp(err.param, "shape") == 0);
        MHD_destroy_response(resp);
        return;
    }
    uint64_t size = gp_body_size(&body);
    int inm = gp_etag_none_match(f->p[F_INM], f->n[F_INM], t->etag);
    int ifr = gp_etag_if_range(f->p[F_IF_RANGE], f->n[F_IF_RANGE], t->etag);
    FZ_CHECK((inm == 0 || inm == 1) && (ifr == 0 || ifr == 1));
    uint64_t first = 0, last = 0;
    if (size != GP_SIZE_UNKNOWN &&
        gp_range_parse(f->p[F_RANGE], f->n[F_RANGE], size, &first, &last) == GP_RANGES_ONE) {
        gd_range_plan plan = {206, first, last - first + 1, size};
        unsigned char buf[256];
        FZ_CHECK(gd_range_headers(resp, &plan) == 0);
        size_t want = plan.length < sizeof buf ? (size_t)plan.length : sizeof buf;
        FZ_CHECK(gp_body_read(&body, first, buf, sizeof buf) >= want);
    }
    MHD_get_response_headers(resp, check_header, NULL);
    MHD_destroy_response(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gd_tensor t;
    static fields f;
    gd_config cfg;
    gd_error e = {0};
    if (size > FZ_MAX_INPUT)
        size = FZ_MAX_INPUT;
    split((const char *)data, size, &f);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_elements = UINT64_C(1) << 32;
    cfg.max_json_elements = 1 << 20;
    query_ctx q = {&t, &e};
    gd_tensor_init(&t);
    if (fz_query_each(f.p[F_QUERY], f.n[F_QUERY], set_pair, &q) != 0 ||
        (f.body != NULL && gd_params_json(&t.r, f.body, f.body_len, &e) != 0) ||
        gd_tensor_negotiate(&t, f.n[F_ACCEPT] ? f.accept : NULL, &e) != 0 ||
        gd_tensor_finish(&t, &cfg, &e) != 0) {
        check_error(&e);
        return 0;
    }
    answer(&t, &f);
    return 0;
}
