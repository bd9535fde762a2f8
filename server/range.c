/*
 * range.c - byte ranges for the binary formats (RFC 9110 14): which part of
 * the body a GET gets (gp_range_parse does the parsing), If-Range against
 * the ETag, Content-Range, and the 416 answer. libmicrohttpd does none of
 * this itself.
 *
 * Several ranges in one request are answered with the whole body (200), as
 * RFC 9110 allows, rather than multipart/byteranges. json bodies are only
 * produced front to back and their length is not known in advance: ranges
 * are ignored there (Accept-Ranges: none).
 */
#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *value;
    size_t len;
} first_value;

static int take_first(void *user, const char *value, size_t len)
{
    first_value *f = user;
    f->value = value;
    f->len = len;
    return 1;
}

/* The one value of a header; NULL when it is absent or repeated. */
static const char *single_header(struct MHD_Connection *c, const char *name, size_t *len)
{
    first_value f = {NULL, 0};
    if (gd_header_values(c, name, take_first, &f) != 1)
        return NULL;
    *len = f.len;
    return f.value;
}

void gd_range_plan_for(struct MHD_Connection *c, const gd_req *req, const char *etag, int ranged,
                       uint64_t size, gd_range_plan *plan)
{
    size_t len = 0, if_len = 0;
    uint64_t first = 0, last = 0;
    plan->status = 200;
    plan->first = 0;
    plan->length = size;
    plan->size = size;
    if (req->is_head || !ranged)
        return;
    const char *range = single_header(c, MHD_HTTP_HEADER_RANGE, &len);
    if (range == NULL)
        return;
    const char *if_range = single_header(c, MHD_HTTP_HEADER_IF_RANGE, &if_len);
    if (gd_header_values(c, MHD_HTTP_HEADER_IF_RANGE, NULL, NULL) > 0 &&
        !gp_etag_if_range(if_range, if_len, etag))
        return; /* the client's copy is another one: send the whole body */
    switch (gp_range_parse(range, len, size, &first, &last)) {
    case GP_RANGES_ONE:
        plan->status = 206;
        plan->first = first;
        plan->length = last - first + 1;
        return;
    case GP_RANGES_UNSATISFIABLE:
        plan->status = 416;
        plan->length = 0;
        return;
    case GP_RANGES_MANY:
    case GP_RANGES_IGNORE:
        return;
    }
}

int gd_range_headers(struct MHD_Response *resp, const gd_range_plan *plan)
{
    char text[80];
    snprintf(text, sizeof text, "bytes %llu-%llu/%llu", (unsigned long long)plan->first,
             (unsigned long long)(plan->first + plan->length - 1), (unsigned long long)plan->size);
    return MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, text) == MHD_YES ? 0 : -1;
}

enum MHD_Result gd_range_reply_416(struct MHD_Connection *c, gd_req *req, uint64_t size)
{
    gd_error e = {0};
    char range[48];
    gd_fail(&e, GD_ERR_RANGE_NOT_SATISFIABLE, "Range",
            "no byte of the requested range lies within the %llu-byte body",
            (unsigned long long)size);
    char *text = gd_error_json(&e);
    if (text == NULL)
        return MHD_NO;
    size_t len = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    snprintf(range, sizeof range, "bytes */%llu", (unsigned long long)size);
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") !=
            MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, range) != MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes") != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return gd_queue(c, req, 416, resp, len);
}
