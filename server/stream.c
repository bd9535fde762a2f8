/*
 * stream.c - GET/HEAD/POST /v1/glorot_uniform: build the request through
 * gp_request_set/finish, then stream gp_body_read output block by block.
 * The tensor is never held: MHD's response buffer (GD_STREAM_BLOCK bytes) is
 * filled by the content reader on demand.
 */
#include "params.h"
#include "server.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* ---- parameters ---------------------------------------------------------- */

typedef struct {
    gp_request *r;
    gd_error *e;
} query_ctx;

static enum MHD_Result on_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                    size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    query_ctx *q = cls;
    if (value == NULL) { /* "?seed" without '=' */
        value = "";
        value_size = 0;
    }
    return gd_params_set(q->r, key, key_size, value, value_size, q->e) == 0 ? MHD_YES : MHD_NO;
}

/* Explicit `format` wins; otherwise the Accept header decides (406 if nothing fits). */
static int negotiate(struct MHD_Connection *c, gp_request *r, gd_error *e)
{
    if (r->format_set)
        return 0;
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    gp_format f;
    gp_error g = {0};
    if (gp_format_negotiate(accept, &f, &g) != GP_OK)
        return gd_fail(e, 406, "not_acceptable", "Accept", "%s",
                       g.message[0] ? g.message : "no acceptable format in the Accept header");
    const char *name = gp_format_name(f);
    return gd_params_set(r, "format", 6, name, strlen(name), e);
}

static int finish(gp_request *r, const gd_config *cfg, gd_error *e)
{
    if (!r->seed_set) {
        uint64_t seed;
        randombytes_buf(&seed, sizeof seed);
        gp_request_set_seed(r, seed);
    }
    gp_limits lim = {cfg->max_elements, 0};
    gp_error g = {0};
    if (gp_request_finish(r, &lim, &g) != GP_OK)
        return gd_fail_gp(e, &g);
    if (r->format == GP_FORMAT_JSON && r->numel > cfg->max_json_elements)
        return gd_fail(e, 413, gp_code_name(GP_ELIMIT), "shape",
                       "format=json is limited to %llu elements (--max-json-elements); this "
                       "shape has %llu: use raw, npy or safetensors",
                       (unsigned long long)cfg->max_json_elements, (unsigned long long)r->numel);
    return 0;
}

static int build_request(struct MHD_Connection *c, gd_req *req, gp_request *r, gd_error *e)
{
    const gd_config *cfg = &req->srv->cfg;
    gp_request_init(r);
    query_ctx q = {r, e};
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, on_query_arg, &q);
    if (e->status != 0)
        return -1;
    if (req->is_post && req->upload_too_large)
        return gd_fail(e, 413, "body_too_large", "",
                       "the body is larger than the limit of %llu bytes (--max-body-bytes)",
                       (unsigned long long)cfg->max_body_bytes);
    if (req->is_post && gd_params_json(r, (const char *)req->upload, req->upload_len, e) != 0)
        return -1;
    if (negotiate(c, r, e) != 0)
        return -1;
    return finish(r, cfg, e);
}

/* ---- headers ---------------------------------------------------------------- */

/* name with bytes outside printable ASCII, and '%', percent-encoded. */
static void header_safe(const char *in, size_t len, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < len && o + 4 <= size; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '%') {
            out[o++] = (char)ch;
            continue;
        }
        out[o++] = '%';
        out[o++] = hex[ch >> 4];
        out[o++] = hex[ch & 15];
    }
    out[o] = '\0';
}

static void shape_text(const gp_request *r, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->rank && used < size; i++) {
        int n = snprintf(out + used, size - used, "%s%llu", i ? "," : "",
                         (unsigned long long)r->shape[i]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}

#define HEADER_VALUE_MAX (GP_MAX_NAME * 3 + 1)

typedef struct {
    const char *name;
    char value[HEADER_VALUE_MAX];
} header;

enum {
    H_TYPE,
    H_DISPOSITION,
    H_SEED,
    H_ALGORITHM,
    H_DTYPE,
    H_SHAPE,
    H_FAN_IN,
    H_FAN_OUT,
    H_LIMIT,
    H_GAIN,
    H_NAME,
    H_FORMAT,
    H_CALL,
    H_COUNT
};

static void fill_headers(const gp_request *r, header h[H_COUNT])
{
    static const char *const names[H_COUNT] = {
        "Content-Type", "Content-Disposition", "Glorot-Seed",    "Glorot-Algorithm", "Glorot-Dtype",
        "Glorot-Shape", "Glorot-Fan-In",       "Glorot-Fan-Out", "Glorot-Limit",     "Glorot-Gain",
        "Glorot-Name",  "Glorot-Format",       "Glorot-Call"};
    char file[200];
    for (size_t i = 0; i < H_COUNT; i++) {
        h[i].name = names[i];
        h[i].value[0] = '\0';
    }
    gp_filename(r, file, sizeof file);
    snprintf(h[H_TYPE].value, HEADER_VALUE_MAX, "%s", gp_format_content_type(r->format));
    snprintf(h[H_DISPOSITION].value, HEADER_VALUE_MAX, "attachment; filename=\"%s\"", file);
    snprintf(h[H_SEED].value, HEADER_VALUE_MAX, "%llu", (unsigned long long)r->seed);
    snprintf(h[H_ALGORITHM].value, HEADER_VALUE_MAX, "%s", gp_algorithm_name(r->algorithm));
    snprintf(h[H_DTYPE].value, HEADER_VALUE_MAX, "%s", gp_dtype_name(r->dtype));
    shape_text(r, h[H_SHAPE].value, HEADER_VALUE_MAX);
    snprintf(h[H_FAN_IN].value, HEADER_VALUE_MAX, "%llu", (unsigned long long)r->fan_in);
    snprintf(h[H_FAN_OUT].value, HEADER_VALUE_MAX, "%llu", (unsigned long long)r->fan_out);
    snprintf(h[H_LIMIT].value, HEADER_VALUE_MAX, "%.17g", r->limit);
    snprintf(h[H_GAIN].value, HEADER_VALUE_MAX, "%s", r->gain_spec);
    header_safe(r->name, r->name_len, h[H_NAME].value, HEADER_VALUE_MAX);
    snprintf(h[H_FORMAT].value, HEADER_VALUE_MAX, "%s", gp_format_name(r->format));
    if (r->algorithm == GP_ALG_MLX_SEEDED)
        snprintf(h[H_CALL].value, HEADER_VALUE_MAX, "%llu", (unsigned long long)r->call);
}

static int add_headers(struct MHD_Response *resp, const gp_request *r)
{
    header h[H_COUNT];
    fill_headers(r, h);
    for (size_t i = 0; i < H_COUNT; i++)
        if (h[i].value[0] != '\0' &&
            MHD_add_response_header(resp, h[i].name, h[i].value) != MHD_YES)
            return -1;
    return 0;
}

/* ---- the stream --------------------------------------------------------------- */

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    gd_req *req = cls;
    size_t n = gp_body_read(&req->body, pos, buf, max);
    if (n == 0) {
        uint64_t size = gp_body_size(&req->body);
        return size == GP_SIZE_UNKNOWN || pos >= size ? MHD_CONTENT_READER_END_OF_STREAM
                                                      : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    req->streamed = pos + n;
    return (ssize_t)n;
}

static void free_body(void *cls)
{
    gd_req *req = cls;
    atomic_fetch_sub(&req->srv->inflight, 1);
    gd_req_release(req);
}

/* Create the streaming response. The caller has already counted it in
 * srv->inflight; from here on free_body undoes that. */
static struct MHD_Response *make_stream(gd_req *req, gd_error *e)
{
    uint64_t size = gp_body_size(&req->body);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(size == GP_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN : size,
                                          GD_STREAM_BLOCK, read_body, req, free_body);
    if (resp == NULL) {
        atomic_fetch_sub(&req->srv->inflight, 1);
        gd_fail(e, 500, "out_of_memory", "", "cannot allocate the response");
        return NULL;
    }
    atomic_fetch_add(&req->refs, 1);
    req->streaming = 1;
    if (add_headers(resp, &req->body.req) != 0) {
        MHD_destroy_response(resp);
        req->streaming = 0;
        gd_fail(e, 500, "internal", "", "cannot add the response headers");
        return NULL;
    }
    return resp;
}

enum MHD_Result gd_stream_respond(struct MHD_Connection *c, gd_req *req)
{
    gd_error e = {0};
    gp_request r;
    if (build_request(c, req, &r, &e) != 0)
        return gd_reply_error(c, req, &e, NULL);
    gp_error g = {0};
    if (gp_body_init(&req->body, &r, &g) != GP_OK) {
        gd_fail_gp(&e, &g);
        return gd_reply_error(c, req, &e, NULL);
    }
    /* Count first, then look at the flag: main sets the flag, then waits for
     * the count, so one of the two always sees the other. */
    atomic_fetch_add(&req->srv->inflight, 1);
    if (atomic_load(&req->srv->shutting_down)) {
        atomic_fetch_sub(&req->srv->inflight, 1);
        gd_fail(&e, 503, "shutting_down", "", "the server is shutting down; retry later");
        return gd_reply_error(c, req, &e, NULL);
    }
    struct MHD_Response *resp = make_stream(req, &e);
    if (resp == NULL)
        return gd_reply_error(c, req, &e, NULL);
    return gd_queue(c, req, MHD_HTTP_OK, resp, 0);
}
