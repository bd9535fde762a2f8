/*
 * test_client_batch.c - glorot_batch_fetch and glorot_batch_stream against a
 * live glorotd:
 *
 * - buffers and callbacks receive exactly the bytes gp_batch makes locally
 *   for the same manifest (mixed dtypes, names, a shard override), tensor 0
 *   equals the single-tensor endpoint, and the per-tensor metadata and ETag
 *   agree with the local batch;
 * - a too small or missing buffer is refused from the server's header
 *   before any tensor byte lands in a buffer; unlisted tensors may be skipped;
 * - a connection killed mid-batch (test_relay.h) resumes with Range +
 *   If-Range, gets a 206 and identical bytes;
 * - a manifest the server rejects surfaces its status, message and param.
 */
#include "glorot/client.h"
#include "test_relay.h"
#include "test_server_util.h"

#include <criterion/parameterized.h>

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    static const char *const extra[] = {"--threads", "2", NULL};
    ts_shared_start(extra);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    ts_shared_stop();
}

/* Three dtypes, names with dots and a non-ASCII one, one tensor larger than
 * libcurl's buffer so chunks split inside it. */
#define MANIFEST                                                                                   \
    "{\"seed\": \"42\", \"algorithm\": \"chacha20\", \"dtype\": \"bfloat16\", \"tensors\": ["      \
    "{\"name\": \"layers.0.attn.wq\", \"shape\": [64, 48]},"                                       \
    "{\"name\": \"layers.0.mlp.w1\", \"shape\": [300, 200], \"gain\": \"relu\", "                  \
    "\"dtype\": \"float32\"},"                                                                     \
    "{\"name\": \"caf\\u00e9\", \"shape\": [9, 7], \"dtype\": \"float64\"}%s]%s}"

static glorot_client *client_for(const char *url)
{
    glorot_options o = {0};
    glorot_error err = {0};
    o.retries = 3;
    o.retry_base_ms = 5;
    o.retry_max_ms = 20;
    o.timeout_ms = 60000;
    glorot_client *c = glorot_client_new(url, &o, &err);
    cr_assert_not_null(c, "%s", err.message);
    return c;
}

/* MANIFEST with extra tensors and a top-level tail (", \"shard\": ..."). */
static void manifest(char *out, size_t size, const char *more, const char *tail)
{
    snprintf(out, size, MANIFEST, more, tail);
}

/* The whole answer gp_batch makes locally for text (malloc'ed). */
static unsigned char *local_batch(const char *text, gp_batch **b, size_t *len)
{
    gp_error g = {0};
    cr_assert_eq(gp_batch_parse(text, strlen(text), GP_FORMAT_SAFETENSORS, NULL, b, &g), GP_OK,
                 "%s: %s", g.param, g.message);
    uint64_t size = gp_batch_size(*b);
    unsigned char *body = malloc((size_t)size);
    cr_assert_eq(gp_batch_read(*b, 0, body, (size_t)size), (size_t)size);
    *len = (size_t)size;
    return body;
}

/* The info of an answer agrees with the local batch. */
static void check_info(const glorot_batch_info *info, const gp_batch *b, size_t body_len)
{
    static const char *const names[] = {"float32", "float16", "bfloat16", "float64"};
    cr_assert_eq(info->count, gp_batch_count(b));
    cr_expect_eq(info->size, body_len);
    cr_expect_str_eq(info->etag, gp_batch_etag(b));
    cr_expect_eq(info->seed, 42);
    uint64_t at = 0;
    for (size_t i = 0; i < info->count; i++) {
        const gp_request *r = gp_batch_tensor(b, i);
        const glorot_batch_tensor *t = &info->tensors[i];
        cr_expect(strlen(t->name) == r->name_len && memcmp(t->name, r->name, r->name_len) == 0,
                  "tensor %zu is '%s'", i, t->name);
        cr_expect_str_eq(t->dtype, names[r->dtype]);
        cr_expect_eq(t->size, r->out_nbytes);
        cr_expect_eq(t->offset, at);
        cr_expect_eq(t->rank, r->rank);
        at += t->size;
    }
    cr_expect_eq(info->header_size + at, body_len);
}

typedef struct {
    unsigned char *body;
    size_t len, cap;
    int out_of_order; /* a chunk's body_offset was not where the last one ended */
    int inconsistent; /* a chunk's tensor offset disagrees with its body offset */
    size_t header_chunks;
} collected;

static int collect(void *user, const glorot_batch_chunk *ch)
{
    collected *c = user;
    if (ch->body_offset != c->len)
        c->out_of_order = 1;
    if (ch->index == GLOROT_BATCH_HEADER) {
        c->header_chunks++;
        c->inconsistent |= ch->tensor != NULL || ch->offset != ch->body_offset;
    } else {
        c->inconsistent |= ch->tensor == NULL || ch->offset + ch->len > ch->tensor->size;
    }
    if (c->len + ch->len > c->cap) {
        c->cap = (c->len + ch->len) * 2;
        c->body = realloc(c->body, c->cap);
    }
    memcpy(c->body + c->len, ch->data, ch->len);
    c->len += ch->len;
    return 0;
}

typedef struct {
    char tail[64];     /* top-level additions to MANIFEST */
    char expected[64]; /* the tail the local batch writes (the override written out) */
    uint64_t rank, world;
    int stream;
    char single[200]; /* tensor 0 from /v1/glorot_uniform */
} batch_case;

ParameterizedTestParameters(client_batch, answer_equals_local_batch)
{
    static batch_case cases[] = {
        {"", "", 0, 0, 0, "name=layers.0.attn.wq&shape=64,48&seed=42&dtype=bfloat16"},
        {"", "", 0, 0, 1, "name=layers.0.attn.wq&shape=64,48&seed=42&dtype=bfloat16"},
        {"", ", \"shard\": {\"rank\": 1, \"world\": 3}", 1, 3, 0,
         "name=layers.0.attn.wq&shape=64,48&seed=42&dtype=bfloat16&shard=1/3"},
        {", \"shard\": {\"rank\": 0, \"world\": 2, \"axis\": 1}",
         ", \"shard\": {\"rank\": 2, \"world\": 3, \"axis\": 1}", 2, 3, 1,
         "name=layers.0.attn.wq&shape=64,48&seed=42&dtype=bfloat16&shard=2/3&axis=1"},
    };
    return cr_make_param_array(batch_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(batch_case *bc, client_batch, answer_equals_local_batch)
{
    char sent[1024], expected[1024];
    manifest(sent, sizeof sent, "", bc->tail);
    manifest(expected, sizeof expected, "", bc->expected[0] ? bc->expected : bc->tail);
    gp_batch *b = NULL;
    size_t len = 0;
    unsigned char *want = local_batch(expected, &b, &len);
    glorot_client *c = client_for(ts_url());
    glorot_batch_request breq;
    glorot_batch_request_init(&breq);
    breq.manifest = sent;
    breq.shard_rank = bc->rank;
    breq.shard_world = bc->world;
    glorot_batch_info info;
    glorot_error err = {0};
    size_t n = gp_batch_count(b);
    glorot_batch_buffer bufs[8];
    char names[8][64];
    if (bc->stream) {
        collected got = {0};
        cr_assert_eq(glorot_batch_stream(c, &breq, collect, &got, &info, &err), GLOROT_OK, "%s",
                     err.message);
        cr_assert_eq(got.len, len);
        cr_expect_not(got.out_of_order);
        cr_expect_not(got.inconsistent);
        cr_expect_eq(got.header_chunks, 1, "the header comes whole");
        cr_assert_arr_eq(got.body, want, len, "the streamed batch differs from gp_batch");
        free(got.body);
    } else {
        for (size_t i = 0; i < n; i++) { /* the table in reverse: matched by name */
            const gp_request *r = gp_batch_tensor(b, n - 1 - i);
            snprintf(names[i], sizeof names[i], "%.*s", (int)r->name_len, r->name);
            bufs[i] = (glorot_batch_buffer){names[i], calloc(1, (size_t)r->out_nbytes + 16),
                                            (size_t)r->out_nbytes + 16};
        }
        cr_assert_eq(glorot_batch_fetch(c, &breq, bufs, n, 0, &info, &err), GLOROT_OK, "%s",
                     err.message);
    }
    check_info(&info, b, len);
    for (size_t i = 0; i < n && !bc->stream; i++) {
        const glorot_batch_tensor *t = &info.tensors[n - 1 - i];
        cr_expect_arr_eq(bufs[i].buf, want + info.header_size + t->offset, (size_t)t->size,
                         "tensor '%s' differs", t->name);
    }
    /* tensor 0 is the single-tensor endpoint's tensor */
    char text[200];
    snprintf(text, sizeof text, "%s", bc->single);
    glorot_request req;
    glorot_request_init(&req);
    for (char *kv = text, *next; kv != NULL; kv = next) {
        next = strchr(kv, '&');
        if (next != NULL)
            *next++ = '\0';
        char *eq = strchr(kv, '=');
        *eq = '\0';
        cr_assert_eq(glorot_request_set(&req, kv, eq + 1, &err), GLOROT_OK, "%s", err.message);
    }
    size_t size0 = (size_t)info.tensors[0].size;
    unsigned char *single = malloc(size0);
    glorot_meta meta;
    cr_assert_eq(glorot_fetch(c, &req, single, size0, &meta, &err), GLOROT_OK, "%s", err.message);
    cr_assert_eq(meta.size, size0);
    cr_expect_arr_eq(single, want + info.header_size, size0, "tensor 0 is not the single tensor");
    free(single);
    for (size_t i = 0; i < n && !bc->stream; i++)
        free(bufs[i].buf);
    glorot_free(info.tensors);
    glorot_client_free(c);
    gp_batch_free(b);
    free(want);
}

/* ---- buffers refused from the header ------------------------------------------------ */

typedef struct {
    size_t shrink; /* bytes taken off layers.0.mlp.w1's buffer */
    int drop_last; /* no buffer for the last tensor */
    unsigned flags;
    int extra; /* a buffer naming no tensor */
    glorot_code want;
} buffer_case;

ParameterizedTestParameters(client_batch, buffers_checked_before_any_tensor_byte)
{
    static buffer_case cases[] = {
        {1, 0, 0, 0, GLOROT_E_BUFFER},
        {0, 1, 0, 0, GLOROT_E_BUFFER},
        {0, 1, GLOROT_BATCH_SKIP_UNLISTED, 0, GLOROT_OK},
        {0, 0, 0, 1, GLOROT_E_INVALID},
    };
    return cr_make_param_array(buffer_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(buffer_case *bc, client_batch, buffers_checked_before_any_tensor_byte)
{
    char text[1024];
    manifest(text, sizeof text, "", "");
    gp_batch *b = NULL;
    size_t len = 0;
    unsigned char *want = local_batch(text, &b, &len);
    static const char *const names[] = {"layers.0.attn.wq", "layers.0.mlp.w1", "caf\xc3\xa9",
                                        "nope"};
    glorot_batch_buffer bufs[4];
    size_t n = 0;
    for (size_t i = 0; i < 3 + (size_t)bc->extra; i++) {
        if (i == 2 && bc->drop_last)
            continue;
        size_t size = i < 3 ? (size_t)gp_batch_tensor(b, i)->out_nbytes : 8;
        if (i == 1)
            size -= bc->shrink;
        bufs[n] = (glorot_batch_buffer){names[i], malloc(size), size};
        memset(bufs[n].buf, 0xA5, size);
        n++;
    }
    glorot_client *c = client_for(ts_url());
    glorot_batch_request breq;
    glorot_batch_request_init(&breq);
    breq.manifest = text;
    glorot_error err = {0};
    glorot_batch_info info;
    glorot_code rc = glorot_batch_fetch(c, &breq, bufs, n, bc->flags, &info, &err);
    cr_assert_eq(rc, bc->want, "%d: %s", rc, err.message);
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = bufs[i].buf;
        size_t untouched = 0;
        while (untouched < bufs[i].size && p[untouched] == 0xA5)
            untouched++;
        if (rc != GLOROT_OK)
            cr_expect_eq(untouched, bufs[i].size, "%s: buffer '%s' was written", err.message,
                         bufs[i].name);
        else
            cr_expect_arr_eq(p, want + info.header_size + info.tensors[i].offset, bufs[i].size);
        free(bufs[i].buf);
    }
    if (rc == GLOROT_E_BUFFER)
        cr_expect(strstr(err.message, "layers.0.mlp.w1") != NULL ||
                      strstr(err.message, "caf") != NULL,
                  "%s", err.message);
    if (rc == GLOROT_E_INVALID)
        cr_expect_str_eq(err.param, "buffers");
    if (rc == GLOROT_OK)
        glorot_free(info.tensors);
    else
        cr_expect_null(info.tensors);
    glorot_client_free(c);
    gp_batch_free(b);
    free(want);
}

/* ---- resume ----------------------------------------------------------------------------- */

typedef struct {
    uint64_t cut; /* response bytes (HTTP head included) before the kill */
    int stream;
} resume_case;

ParameterizedTestParameters(client_batch, killed_connection_resumes_identically)
{
    static resume_case cases[] = {
        {700, 1},    /* inside the safetensors header */
        {100000, 0}, /* inside layers.0.mlp.w1 */
        {240001, 1}, /* near the end of layers.0.mlp.w1, mid-element */
    };
    return cr_make_param_array(resume_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(resume_case *rc, client_batch, killed_connection_resumes_identically)
{
    char text[1024];
    manifest(text, sizeof text, "", "");
    gp_batch *b = NULL;
    size_t len = 0;
    unsigned char *want = local_batch(text, &b, &len);
    cr_assert_lt(rc->cut, len, "the cut must fall inside the body");
    relay r;
    relay_start(&r, rc->cut);
    glorot_client *c = client_for(r.url);
    glorot_batch_request breq;
    glorot_batch_request_init(&breq);
    breq.manifest = text;
    glorot_error err = {0};
    glorot_batch_info info;
    collected got = {0};
    unsigned char *bufs_mem[3] = {0};
    glorot_batch_buffer bufs[3];
    for (size_t i = 0; i < 3; i++) {
        const gp_request *t = gp_batch_tensor(b, i);
        bufs_mem[i] = malloc((size_t)t->out_nbytes);
        bufs[i] = (glorot_batch_buffer){NULL, bufs_mem[i], (size_t)t->out_nbytes};
    }
    bufs[0].name = "layers.0.attn.wq";
    bufs[1].name = "layers.0.mlp.w1";
    bufs[2].name = "caf\xc3\xa9";
    glorot_code code = rc->stream ? glorot_batch_stream(c, &breq, collect, &got, &info, &err)
                                  : glorot_batch_fetch(c, &breq, bufs, 3, 0, &info, &err);
    glorot_client_free(c);
    size_t connections = relay_stop(&r);
    cr_assert_eq(code, GLOROT_OK, "%s", err.message);
    cr_assert_eq(connections, 2, "%zu connections", connections);
    cr_expect(strncmp(r.status[0], "HTTP/1.1 200", 12) == 0, "%s", r.status[0]);
    cr_expect(ts_find_ci(r.request[1], "\r\nRange: bytes=") != NULL, "%s", r.request[1]);
    cr_expect(ts_find_ci(r.request[1], "\r\nIf-Range: \"") != NULL, "%s", r.request[1]);
    cr_expect(strncmp(r.request[1], "POST /v1/batch", 14) == 0, "%s", r.request[1]);
    cr_expect(strncmp(r.status[1], "HTTP/1.1 206", 12) == 0, "retry got %s", r.status[1]);
    if (rc->stream) {
        cr_assert_eq(got.len, len);
        cr_expect_not(got.out_of_order);
        cr_expect_not(got.inconsistent);
        cr_assert_arr_eq(got.body, want, len, "resumed bytes differ");
    } else {
        for (size_t i = 0; i < 3; i++)
            cr_expect_arr_eq(bufs_mem[i], want + info.header_size + info.tensors[i].offset,
                             bufs[i].size, "tensor %zu differs after the resume", i);
    }
    cr_expect_str_eq(info.etag, gp_batch_etag(b));
    for (size_t i = 0; i < 3; i++)
        free(bufs_mem[i]);
    free(got.body);
    glorot_free(info.tensors);
    gp_batch_free(b);
    free(want);
}

/* ---- errors ------------------------------------------------------------------------------- */

typedef struct {
    char more[160]; /* tensors appended to MANIFEST */
    char format[16];
    int axis_only; /* axis_set without a shard: refused locally */
    glorot_code want;
    int status;
    char param[32];
    char server_code[32];
} error_case;

ParameterizedTestParameters(client_batch, errors_surface)
{
    static error_case cases[] = {
        {", {\"name\": \"z\", \"shape\": [0, 4]}", "", 0, GLOROT_E_HTTP, 400, "tensors[3].shape",
         "invalid_parameter"},
        {", {\"name\": \"caf\\u00e9\", \"shape\": [2, 4]}", "", 0, GLOROT_E_HTTP, 400,
         "tensors[3].name", "invalid_parameter"},
        {", {\"name\": \"z\", \"shape\": [2, 4], \"dtype\": \"float8\"}", "", 0, GLOROT_E_HTTP, 400,
         "tensors[3].dtype", "invalid_parameter"},
        {"", "npy", 0, GLOROT_E_INVALID, 0, "format", ""},
        {"", "", 1, GLOROT_E_INVALID, 0, "axis", ""},
    };
    return cr_make_param_array(error_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(error_case *ec, client_batch, errors_surface)
{
    char text[1024];
    manifest(text, sizeof text, ec->more, "");
    glorot_client *c = client_for(ts_url());
    glorot_batch_request breq;
    glorot_batch_request_init(&breq);
    breq.manifest = text;
    breq.format = ec->format[0] ? ec->format : NULL;
    breq.axis_set = ec->axis_only;
    glorot_error err = {0};
    glorot_batch_info info;
    collected got = {0};
    glorot_code rc = glorot_batch_stream(c, &breq, collect, &got, &info, &err);
    cr_assert_eq(rc, ec->want, "%d: %s", rc, err.message);
    cr_expect_eq(err.http_status, ec->status);
    cr_expect_str_eq(err.param, ec->param, "%s", err.message);
    cr_expect_str_eq(err.server_code, ec->server_code);
    cr_expect_gt(strlen(err.message), 10);
    cr_expect_eq(got.len, 0, "nothing reaches the callback");
    cr_expect_null(info.tensors);
    glorot_client_free(c);
}

/* ---- local batches: glorot_batch_plan and glorot_batch_generate ---------------------- */

typedef struct {
    char tail[64]; /* top-level additions to MANIFEST */
    uint64_t rank, world;
} local_case;

ParameterizedTestParameters(client_batch, generate_equals_fetch)
{
    static local_case cases[] = {
        {"", 0, 0},
        {"", 1, 3},
        {", \"shard\": {\"rank\": 0, \"world\": 2, \"axis\": 1}", 0, 0},
        {", \"shard\": {\"rank\": 0, \"world\": 2, \"axis\": 1}", 4, 5},
        {", \"algorithm\": \"mlx-seeded\", \"shard\": {\"rank\": 1, \"world\": 2}", 0, 0},
    };
    return cr_make_param_array(local_case, cases, sizeof cases / sizeof cases[0]);
}

/* The plan agrees with the answer's info; the locally generated tensors with the fetched ones. */
ParameterizedTest(local_case *lc, client_batch, generate_equals_fetch)
{
    char text[1024];
    if (strstr(lc->tail, "mlx") != NULL) /* mlx: no float64 tensor */
        snprintf(text, sizeof text,
                 "{\"seed\": \"42\", \"dtype\": \"bfloat16\", \"tensors\": ["
                 "{\"name\": \"a\", \"shape\": [64, 48]}, {\"name\": \"b\", \"shape\": [30, 20], "
                 "\"dtype\": \"float16\"}]%s}",
                 lc->tail);
    else
        manifest(text, sizeof text, "", lc->tail);
    glorot_batch_request breq;
    glorot_batch_request_init(&breq);
    breq.manifest = text;
    breq.shard_rank = lc->rank;
    breq.shard_world = lc->world;
    glorot_batch_info plan, fetched, local;
    glorot_error err = {0};
    cr_assert_eq(glorot_batch_plan(&breq, &plan, &err), GLOROT_OK, "%s", err.message);
    glorot_batch_buffer a[8], b[8];
    for (size_t i = 0; i < plan.count; i++) {
        a[i] = (glorot_batch_buffer){plan.tensors[i].name, malloc(plan.tensors[i].size + 1),
                                     (size_t)plan.tensors[i].size};
        b[i] = (glorot_batch_buffer){plan.tensors[i].name, malloc(plan.tensors[i].size + 1),
                                     (size_t)plan.tensors[i].size};
    }
    glorot_client *c = client_for(ts_url());
    cr_assert_eq(glorot_batch_fetch(c, &breq, a, plan.count, 0, &fetched, &err), GLOROT_OK, "%s",
                 err.message);
    cr_assert_eq(glorot_batch_generate(&breq, b, plan.count, 0, &local, &err), GLOROT_OK, "%s",
                 err.message);
    const glorot_batch_info *infos[] = {&fetched, &local};
    for (size_t k = 0; k < 2; k++) {
        const glorot_batch_info *in = infos[k];
        cr_assert_eq(in->count, plan.count);
        cr_expect_eq(in->seed, 42);
        cr_expect_str_eq(in->etag, plan.etag, "info %zu", k);
        cr_expect_eq(in->size, plan.size, "info %zu", k);
        cr_expect_eq(in->header_size, plan.header_size, "info %zu", k);
        cr_expect_arr_eq(in->tensors, plan.tensors, plan.count * sizeof plan.tensors[0],
                         "info %zu: the tensors differ from the plan", k);
    }
    for (size_t i = 0; i < plan.count; i++) {
        cr_expect_arr_eq(a[i].buf, b[i].buf, a[i].size, "tensor '%s' differs", a[i].name);
        free(a[i].buf);
        free(b[i].buf);
    }
    glorot_free(plan.tensors);
    glorot_free(fetched.tensors);
    glorot_free(local.tensors);
    glorot_client_free(c);
}

typedef struct {
    char manifest[160];
    size_t shrink; /* bytes taken off tensor w's buffer */
    int extra;     /* a buffer naming no tensor */
    int drop;      /* no buffer for w */
    unsigned flags;
    glorot_code want;
    char param[32];
} local_error_case;

ParameterizedTestParameters(client_batch, generate_refuses)
{
    static local_error_case cases[] = {
        {"{\"tensors\": [{\"name\": \"w\", \"shape\": [4, 4]}]}", 0, 0, 0, 0, GLOROT_E_INVALID,
         "seed"},
        {"{\"seed\": \"1\", \"tensors\": [{\"name\": \"w\", \"shape\": [4, 0]}]}", 0, 0, 0, 0,
         GLOROT_E_INVALID, "tensors[0].shape"},
        {"{\"seed\": \"1\", \"tensors\": [{\"name\": \"w\", \"shape\": [4, 4]}]}", 1, 0, 0, 0,
         GLOROT_E_BUFFER, ""},
        {"{\"seed\": \"1\", \"tensors\": [{\"name\": \"w\", \"shape\": [4, 4]}]}", 0, 1, 0, 0,
         GLOROT_E_INVALID, "buffers"},
        {"{\"seed\": \"1\", \"tensors\": [{\"name\": \"w\", \"shape\": [4, 4]}]}", 0, 0, 1, 0,
         GLOROT_E_BUFFER, ""},
        {"{\"seed\": \"1\", \"tensors\": [{\"name\": \"w\", \"shape\": [4, 4]}]}", 0, 0, 1,
         GLOROT_BATCH_SKIP_UNLISTED, GLOROT_OK, ""},
        {"[1]", 0, 0, 0, 0, GLOROT_E_INVALID, "manifest"},
    };
    return cr_make_param_array(local_error_case, cases, sizeof cases / sizeof cases[0]);
}

/* Refusals come before any value is written: the buffer keeps its sentinel bytes. */
ParameterizedTest(local_error_case *ec, client_batch, generate_refuses)
{
    unsigned char w[64], other[8];
    memset(w, 0xA5, sizeof w);
    glorot_batch_buffer bufs[2];
    size_t n = 0;
    if (!ec->drop)
        bufs[n++] = (glorot_batch_buffer){"w", w, sizeof w - ec->shrink};
    if (ec->extra)
        bufs[n++] = (glorot_batch_buffer){"nope", other, sizeof other};
    glorot_batch_request breq;
    glorot_batch_request_init(&breq);
    breq.manifest = ec->manifest;
    glorot_batch_info info;
    glorot_error err = {0};
    glorot_code rc = glorot_batch_generate(&breq, bufs, n, ec->flags, &info, &err);
    cr_assert_eq(rc, ec->want, "%d: %s", rc, err.message);
    cr_expect_str_eq(err.param, ec->param, "%s", err.message);
    if (rc != GLOROT_OK) {
        cr_expect_gt(strlen(err.message), 10);
        cr_expect_null(info.tensors);
        for (size_t i = 0; i < sizeof w; i++)
            cr_assert_eq(w[i], 0xA5, "byte %zu written before the refusal", i);
    } else {
        cr_expect_eq(info.count, 1);
        glorot_free(info.tensors);
    }
}

/* ---- local streaming: glorot_batch_generate_stream ------------------------------------ */

/* The streamed body is gp_batch's, byte for byte, in order, split at tensor
 * boundaries; json bodies too. */
Test(client_batch, generate_stream_equals_gp_batch)
{
    static const char *const formats[] = {NULL, "json"};
    char text[1024];
    manifest(text, sizeof text, "", "");
    for (size_t k = 0; k < 2; k++) {
        gp_batch *b = NULL;
        gp_error g = {0};
        cr_assert_eq(gp_batch_parse(text, strlen(text),
                                    formats[k] ? GP_FORMAT_JSON : GP_FORMAT_SAFETENSORS, NULL, &b,
                                    &g),
                     GP_OK, "%s", g.message);
        size_t len = 0, n;
        unsigned char *body = malloc(1 << 20);
        while ((n = gp_batch_read(b, len, body + len, 4096)) > 0) /* json: size unknown */
            len += n;
        glorot_batch_request breq;
        glorot_batch_request_init(&breq);
        breq.manifest = text;
        breq.format = formats[k];
        collected got = {0};
        glorot_batch_info info;
        glorot_error err = {0};
        cr_assert_eq(glorot_batch_generate_stream(&breq, collect, &got, &info, &err), GLOROT_OK,
                     "%s", err.message);
        cr_expect_eq(got.out_of_order, 0);
        cr_expect_eq(got.inconsistent, 0);
        cr_assert_eq(got.len, len, "format %s", formats[k] ? formats[k] : "safetensors");
        cr_expect_arr_eq(got.body, body, len);
        if (formats[k] == NULL)
            check_info(&info, b, len);
        else
            cr_expect(info.count == 0 && info.size == len && info.header_size == 0);
        glorot_free(info.tensors);
        free(got.body);
        free(body);
        gp_batch_free(b);
    }
}

static int stop_at_once(void *user, const glorot_batch_chunk *ch)
{
    (void)user;
    (void)ch;
    return 1;
}

Test(client_batch, generate_stream_errors)
{
    char text[1024];
    manifest(text, sizeof text, "", "");
    glorot_batch_request breq;
    glorot_batch_request_init(&breq);
    breq.manifest = text;
    glorot_error err = {0};
    cr_expect_eq(glorot_batch_generate_stream(&breq, NULL, NULL, NULL, &err), GLOROT_E_INVALID);
    memset(&err, 0, sizeof err);
    cr_expect_eq(glorot_batch_generate_stream(&breq, stop_at_once, NULL, NULL, &err),
                 GLOROT_E_ABORTED);
    memset(&err, 0, sizeof err);
    breq.manifest = "{\"seed\": \"1\", \"tensors\": [{\"name\": \"w\", \"shape\": [0]}]}";
    cr_expect_eq(glorot_batch_generate_stream(&breq, stop_at_once, NULL, NULL, &err),
                 GLOROT_E_INVALID);
    cr_expect_str_eq(err.param, "tensors[0].shape");
}
