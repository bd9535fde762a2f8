/*
 * tensor.c - a tensor request from the query, the POST body and Accept, all
 * through gp_request_set/finish; the headers that describe its answer.
 */
#include "tensor.h"
#include "params.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- the request ----------------------------------------------------------------- */

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

int gd_tensor_negotiate(gd_tensor *t, const char *accept, gd_error *e)
{
    if (t->r.format_set)
        return 0;
    gp_format f;
    gp_error g = {0};
    t->negotiated = 1;
    if (gp_format_negotiate(accept, &f, &g) != GP_OK)
        return gd_fail(e, GD_ERR_NOT_ACCEPTABLE, "Accept", "%s",
                       g.message[0] ? g.message : "no acceptable format in the Accept header");
    const char *name = gp_format_name(f);
    return gd_params_set(&t->r, "format", 6, name, strlen(name), e);
}

int gd_tensor_finish(gd_tensor *t, const gd_config *cfg, gd_error *e)
{
    gp_request *r = &t->r;
    if (!r->seed_set) {
        uint64_t seed;
        randombytes_buf(&seed, sizeof seed);
        gp_request_set_seed(r, seed);
        t->seed_drawn = 1;
    }
    gp_limits lim = {cfg->max_elements, 0, cfg->max_json_elements};
    gp_error g = {0};
    if (gp_request_finish(r, &lim, &g) != GP_OK)
        return gd_fail_gp(e, &g);
    if (gp_canonical(r, t->canonical, sizeof t->canonical, &g) != GP_OK ||
        gp_etag(r, t->canonical, t->etag, &g) != GP_OK)
        return gd_fail_gp(e, &g);
    return 0;
}

void gd_tensor_init(gd_tensor *t)
{
    memset(t, 0, offsetof(gd_tensor, etag));
    t->etag[0] = t->canonical[0] = '\0';
    gp_request_init(&t->r);
}

int gd_tensor_build(struct MHD_Connection *c, gd_req *req, gd_tensor *t, gd_error *e)
{
    const gd_config *cfg = &req->srv->cfg;
    gd_tensor_init(t);
    query_ctx q = {&t->r, e};
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, on_query_arg, &q);
    if (e->status != 0)
        return -1;
    if (req->is_post && req->upload_too_large)
        return gd_fail(e, GD_ERR_BODY_TOO_LARGE, "",
                       "the body is larger than the limit of %llu bytes (--max-body-bytes)",
                       (unsigned long long)cfg->max_body_bytes);
    if (req->is_post && gd_params_json(&t->r, (const char *)req->upload, req->upload_len, e) != 0)
        return -1;
    if (gd_tensor_path_init(t, req->init, e) != 0)
        return -1;
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    if (gd_tensor_negotiate(t, accept, e) != 0)
        return -1;
    return gd_tensor_finish(t, cfg, e);
}

int gd_tensor_path_init(gd_tensor *t, const char *init, gd_error *e)
{
    if (init == NULL)
        return 0;
    if (!gp_request_given(&t->r, "init"))
        return gd_params_set(&t->r, "init", 4, init, strlen(init), e);
    if (strcmp(t->r.init_as, init) != 0)
        return gd_fail(e, GD_ERR_INVALID_PARAMETER, "init",
                       "init: this path serves %s, but the request asks for %s; leave init out "
                       "or ask /v1/%s",
                       init, t->r.init_as, t->r.init_as);
    return 0;
}

/* ---- headers ------------------------------------------------------------------------ */

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

/* "256,512": at most GP_MAX_RANK numbers of 20 digits and their commas.
 * Headers are built per request, so none of them goes through snprintf. */
static void shape_text(const gp_request *r, char out[GP_MAX_RANK * 21 + 1])
{
    gp_shape_text(r->shape, r->rank, out, GP_MAX_RANK * 21 + 1);
}

static int add(struct MHD_Response *resp, const char *name, const char *value)
{
    return MHD_add_response_header(resp, name, value) == MHD_YES ? 0 : -1;
}

static int add_u64(struct MHD_Response *resp, const char *name, uint64_t v)
{
    char text[GP_U64_TEXT_MAX];
    gp_u64_text(v, 1, text);
    return add(resp, name, text);
}

/* Content-Type, Content-Disposition and Accept-Ranges. */
static int content_headers(struct MHD_Response *resp, const gp_request *r)
{
    static const char prefix[] = "attachment; filename=\"";
    char disposition[sizeof prefix + GP_PART_TEXT_MAX + 200 + 2];
    size_t n = sizeof prefix - 1;
    memcpy(disposition, prefix, n);
    size_t room = sizeof disposition - n - 2; /* and then '"' and NUL */
    size_t file = gp_filename(r, disposition + n, room);
    n += file < room ? file : room - 1;
    memcpy(disposition + n, "\"", 2);
    int bad = add(resp, MHD_HTTP_HEADER_CONTENT_TYPE, gp_format_content_type(r->format));
    bad |= add(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
    bad |= add(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, r->format == GP_FORMAT_JSON ? "none" : "bytes");
    return bad;
}

/* The Glorot-* description of what is generated (the full shape; the part in
 * Glorot-Slice, the shards as asked in Glorot-Shard). */
static int glorot_headers(struct MHD_Response *resp, const gd_tensor *t)
{
    const gp_request *r = &t->r;
    char text[GP_MAX_NAME * 3 + 1];
    _Static_assert(sizeof text > GP_MAX_RANK * 21, "room for the shape");
    _Static_assert(sizeof text >= GP_DIST_TEXT_MAX, "room for the distribution");
    int bad = add_u64(resp, "Glorot-Seed", r->seed);
    bad |= add(resp, "Glorot-Algorithm", gp_algorithm_name(r->algorithm));
    bad |= add(resp, "Glorot-Dtype", gp_dtype_name(r->dtype));
    shape_text(r, text);
    bad |= add(resp, "Glorot-Shape", text);
    bad |= add(resp, "Glorot-Init", r->init_as);
    gp_dist_text(r, text, sizeof text);
    bad |= add(resp, "Glorot-Distribution", text);
    if (r->fan_in != 0) { /* an initializer with fans */
        bad |= add_u64(resp, "Glorot-Fan-In", r->fan_in);
        bad |= add_u64(resp, "Glorot-Fan-Out", r->fan_out);
        bad |= add(resp, "Glorot-Gain", r->gain_spec);
    }
    if (r->dist == GP_DIST_UNIFORM && r->init != GP_INIT_UNIFORM) {
        snprintf(text, sizeof text, "%.17g", r->limit);
        bad |= add(resp, "Glorot-Limit", text);
    }
    header_safe(r->name, r->name_len, text, sizeof text);
    bad |= add(resp, "Glorot-Name", text);
    bad |= add(resp, "Glorot-Format", gp_format_name(r->format));
    if (r->algorithm == GP_ALG_MLX_SEEDED)
        bad |= add_u64(resp, "Glorot-Call", r->call);
    if (r->slice_axes > 0 || r->shard_count > 0) {
        char part[GP_PART_TEXT_MAX];
        gp_part_text(r, part, sizeof part);
        bad |= add(resp, "Glorot-Slice", part);
    }
    if (r->shard_count > 0) {
        char shards[GP_SHARD_TEXT_MAX];
        gp_shard_text(r, shards, sizeof shards);
        bad |= add(resp, "Glorot-Shard", shards);
    }
    bad |= add(resp, "Glorot-Canonical", t->canonical);
    return bad;
}

int gd_tensor_headers(struct MHD_Response *resp, const gd_tensor *t, int with_content)
{
    int bad = glorot_headers(resp, t);
    bad |= add(resp, MHD_HTTP_HEADER_ETAG, t->etag);
    bad |= add(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
               t->seed_drawn ? "no-store" : "public, max-age=31536000, immutable");
    if (t->negotiated)
        bad |= add(resp, MHD_HTTP_HEADER_VARY, "Accept");
    if (with_content)
        bad |= content_headers(resp, &t->r);
    return bad ? -1 : 0;
}

/* ---- request headers -------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int (*fn)(void *user, const char *value, size_t len);
    void *user;
    size_t seen;
    int stop;
} header_walk;

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    header_walk *w = cls;
    if (key_size != strlen(w->name) || strncasecmp(key, w->name, key_size) != 0)
        return MHD_YES;
    w->seen++;
    if (w->fn != NULL && !w->stop)
        w->stop = w->fn(w->user, value != NULL ? value : "", value != NULL ? value_size : 0);
    return MHD_YES;
}

size_t gd_header_values(struct MHD_Connection *c, const char *name,
                        int (*fn)(void *user, const char *value, size_t len), void *user)
{
    header_walk w = {name, fn, user, 0, 0};
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, on_header, &w);
    return w.seen;
}

/* ---- metrics ------------------------------------------------------------------------------ */

void gd_count_elements(void *user, const gp_request *r, uint64_t elements)
{
    (void)user;
    gd_stats_add_generated(r->algorithm, r->dtype, elements);
}
