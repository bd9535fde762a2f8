/*
 * fuzz_batch.c - the batch manifest parser (gp_batch_parse, POST /v1/batch).
 * First byte: the answer's format (even: safetensors, odd: json); the rest is
 * the manifest. An accepted batch must describe itself consistently: every
 * tensor finished with a canonical form that parses back to itself; for
 * safetensors, a header that is a JSON object whose data_offsets tile the
 * data, and each small tensor's bytes equal to its own single-tensor raw
 * body; for json, a body that parses as JSON.
 */
#include "fuzz_util.h"

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_BYTES 4096

static unsigned char *read_all(gp_batch *b, uint64_t from, size_t len)
{
    unsigned char *buf = malloc(len ? len : 1);
    FZ_CHECK(buf != NULL);
    size_t got = 0;
    while (got < len) {
        size_t n = gp_batch_read(b, from + got, buf + got, len - got);
        FZ_CHECK(n > 0);
        got += n;
    }
    return buf;
}

/* Tensor t's bytes in the answer equal its single raw body. */
static void check_tensor_bytes(gp_batch *b, const gp_request *t, uint64_t at)
{
    static gp_body one;
    gp_error err = {0};
    unsigned char want[SMALL_BYTES];
    FZ_CHECK(gp_body_init(&one, t, &err) == GP_OK);
    FZ_CHECK(gp_body_read(&one, 0, want, sizeof want) == t->out_nbytes);
    unsigned char *got = read_all(b, at, (size_t)t->out_nbytes);
    FZ_CHECK(memcmp(got, want, (size_t)t->out_nbytes) == 0);
    free(got);
}

static void check_safetensors(gp_batch *b)
{
    uint64_t size = gp_batch_size(b), hlen = 0, next = 0;
    FZ_CHECK(size != GP_SIZE_UNKNOWN && size >= 8);
    unsigned char *len8 = read_all(b, 0, 8);
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | len8[i];
    free(len8);
    FZ_CHECK(hlen <= size - 8);
    unsigned char *head = read_all(b, 8, (size_t)hlen);
    json_t *doc = json_loadb((const char *)head, (size_t)hlen, JSON_REJECT_DUPLICATES, NULL);
    free(head);
    FZ_CHECK(json_is_object(doc));
    for (size_t i = 0; i < gp_batch_count(b); i++) {
        const gp_request *t = gp_batch_tensor(b, i);
        json_t *entry = json_object_getn(doc, t->name, t->name_len);
        json_t *offs = json_object_get(entry, "data_offsets");
        FZ_CHECK(json_array_size(offs) == 2);
        uint64_t begin = (uint64_t)json_integer_value(json_array_get(offs, 0));
        uint64_t end = (uint64_t)json_integer_value(json_array_get(offs, 1));
        FZ_CHECK(begin == next && end - begin == t->out_nbytes);
        next = end;
        if (t->out_nbytes <= SMALL_BYTES)
            check_tensor_bytes(b, t, 8 + hlen + begin);
    }
    FZ_CHECK(8 + hlen + next == size);
    json_decref(doc);
}

static void check_json(gp_batch *b)
{
    enum { CAP = 1 << 16 };
    FZ_CHECK(gp_batch_size(b) == GP_SIZE_UNKNOWN);
    char *buf = malloc(CAP);
    FZ_CHECK(buf != NULL);
    size_t got = 0, n;
    while (got < CAP && (n = gp_batch_read(b, got, buf + got, CAP - got)) > 0)
        got += n;
    if (got < CAP) { /* the whole answer: it must parse */
        json_t *doc = json_loadb(buf, got, 0, NULL);
        FZ_CHECK(doc != NULL);
        json_decref(doc);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (size > FZ_MAX_INPUT)
        size = FZ_MAX_INPUT;
    gp_format format = data[0] & 1 ? GP_FORMAT_JSON : GP_FORMAT_SAFETENSORS;
    gp_batch_limits lim = {64, UINT64_C(1) << 26, 1 << 14};
    gp_batch *b = NULL;
    gp_error err = {0};
    if (gp_batch_parse((const char *)data + 1, size - 1, format, &lim, &b, &err) != GP_OK) {
        FZ_CHECK(b == NULL && err.message[0] != '\0');
        return 0;
    }
    FZ_CHECK(b != NULL && gp_batch_count(b) >= 1 && gp_batch_format(b) == format);
    gp_limits none = {0, 0, 0};
    for (size_t i = 0; i < gp_batch_count(b); i++) {
        const gp_request *t = gp_batch_tensor(b, i);
        FZ_CHECK(t->finished && t->seed_set);
        fz_check_finished(t, &none); /* canonical round trip, ETag, body */
    }
    if (format == GP_FORMAT_SAFETENSORS)
        check_safetensors(b);
    else
        check_json(b);
    gp_batch_free(b);
    return 0;
}
