/*
 * test_batch.c - gp_batch_parse and gp_batch_read without a server: errors
 * name tensors[i].field (table), and every byte range of a batch equals the
 * header followed by each tensor's single-request raw body.
 */
#include "glorot_proto.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char manifest[256];
    gp_code code;
    char param[32];
} bad_case;

ParameterizedTestParameters(batch, errors)
{
    static bad_case cases[] = {
        {"", GP_EPARAM, "manifest"},
        {"[1]", GP_EPARAM, "manifest"},
        {"{\"tensors\":[{\"name\":\"a\",\"shape\":[2,2]}]}", GP_EPARAM, "seed"},
        {"{\"seed\":\"1\",\"tensors\":[]}", GP_EPARAM, "tensors"},
        {"{\"seed\":\"1\",\"x\":1,\"tensors\":[{\"name\":\"a\",\"shape\":[2,2]}]}", GP_EPARAM, "x"},
        {"{\"seed\":\"1\",\"tensors\":[{\"name\":\"a\",\"shape\":[2,2]},{\"name\":\"b\",\"shape\":["
         "2]}]}",
         GP_EPARAM, "tensors[1].shape"},
        {"{\"seed\":\"1\",\"tensors\":[{\"name\":\"a\",\"shape\":[2,2]},{\"name\":\"a\",\"shape\":["
         "2,2]}]}",
         GP_EPARAM, "tensors[1].name"},
        {"{\"seed\":\"1\",\"tensors\":[{\"name\":\"a\",\"shape\":[2,2],\"zz\":1}]}", GP_EPARAM,
         "tensors[0].zz"},
        {"{\"seed\":\"1\",\"algorithm\":\"mlx\",\"tensors\":[{\"name\":\"a\",\"shape\":[2,2],"
         "\"dtype\":\"float64\"}]}",
         GP_EUNSUPPORTED, "tensors[0].dtype"},
        {"{\"seed\":\"1\",\"tensors\":[{\"name\":\"a\",\"shape\":[2,2]},{\"name\":\"b\",\"shape\":["
         "2,2]},"
         "{\"name\":\"c\",\"shape\":[2,2]}]}",
         GP_ELIMIT, "tensors"},
        {"{\"seed\":\"1\",\"tensors\":[{\"name\":\"a\",\"shape\":[100,100]}]}", GP_ELIMIT,
         "tensors"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_case *c, batch, errors)
{
    gp_batch_limits lim = {2, 10000, 0};
    gp_batch *b = (gp_batch *)1;
    gp_error err = {0};
    gp_code rc =
        gp_batch_parse(c->manifest, strlen(c->manifest), GP_FORMAT_SAFETENSORS, &lim, &b, &err);
    cr_expect_eq(rc, c->code, "%s: %s", c->manifest, err.message);
    cr_expect_str_eq(err.param, c->param, "%s: %s", c->manifest, err.message);
    cr_expect_null(b);
}

static unsigned char *whole(gp_batch *b, uint64_t size)
{
    unsigned char *all = malloc(size);
    cr_assert_not_null(all);
    cr_assert_eq(gp_batch_read(b, 0, all, size), size);
    return all;
}

Test(batch, ranges_equal_single_bodies)
{
    static const char m[] =
        "{\"seed\":\"9\",\"dtype\":\"float16\",\"shard\":{\"rank\":1,\"world\":3,\"axis\":1},"
        "\"tensors\":[{\"name\":\"a\",\"shape\":[7,9]},{\"name\":\"b\",\"shape\":[5,6,3],"
        "\"dtype\":\"float32\"},{\"name\":\"c\",\"shape\":[4,4],\"shard\":null,\"dtype\":"
        "\"bfloat16\"}]}";
    gp_batch *b = NULL;
    gp_error err = {0};
    cr_assert_eq(gp_batch_parse(m, strlen(m), GP_FORMAT_SAFETENSORS, NULL, &b, &err), GP_OK, "%s",
                 err.message);
    uint64_t size = gp_batch_size(b);
    unsigned char *all = whole(b, size);
    uint64_t hlen = 8;
    for (int i = 0; i < 8; i++)
        hlen += (uint64_t)all[i] << (8 * i);
    cr_expect_eq(hlen % 8, 0);
    uint64_t off = hlen;
    for (size_t i = 0; i < gp_batch_count(b); i++) { /* each tensor = its raw single body */
        gp_body one;
        cr_assert_eq(gp_body_init(&one, gp_batch_tensor(b, i), NULL), GP_OK);
        uint64_t n = gp_body_size(&one);
        unsigned char *want = malloc(n);
        cr_assert_eq(gp_body_read(&one, 0, want, n), n);
        cr_expect_eq(memcmp(all + off, want, n), 0, "tensor %zu", i);
        off += n;
        free(want);
    }
    cr_expect_eq(off, size);
    for (uint64_t first = 0; first < size; first += 7) /* ranges across every border */
        for (uint64_t len = 1; len <= 41 && first + len <= size; len += 5) {
            unsigned char got[41];
            cr_assert_eq(gp_batch_read(b, first, got, len), len);
            cr_assert_eq(memcmp(got, all + first, len), 0, "[%lu, +%lu)", (unsigned long)first,
                         (unsigned long)len);
        }
    cr_expect_eq(gp_batch_read(b, size, all, 1), 0);
    free(all);
    gp_batch_free(b);
}

/* ---- element counts (the metrics) ---------------------------------------------------------- */

typedef struct {
    uint64_t per_tensor[8];
    const gp_batch *b;
} tally;

static void tally_add(void *user, const gp_request *r, uint64_t elements)
{
    tally *t = user;
    for (size_t i = 0; i < gp_batch_count(t->b); i++)
        if (gp_batch_tensor(t->b, i) == r)
            t->per_tensor[i] += elements;
}

/* Read in chunks of every size from 1 byte (the opening bracket alone, the
 * punctuation between tensors, single digits) to the whole answer: each
 * tensor's elements are counted exactly once, under that tensor, in both
 * formats. */
Test(batch, element_counts_follow_the_reads)
{
    static const char m[] = "{\"seed\":\"4\",\"tensors\":[{\"name\":\"a\",\"shape\":[3,5]},"
                            "{\"name\":\"b\",\"shape\":[1,1],\"dtype\":\"float16\"},"
                            "{\"name\":\"c\",\"shape\":[6,2],\"dtype\":\"float64\"}]}";
    static const uint64_t want[] = {15, 1, 12};
    static const gp_format formats[] = {GP_FORMAT_SAFETENSORS, GP_FORMAT_JSON};
    for (size_t f = 0; f < 2; f++)
        for (size_t chunk = 1; chunk <= 4096; chunk = chunk < 64 ? chunk + 1 : chunk * 4) {
            gp_batch *b = NULL;
            gp_error err = {0};
            cr_assert_eq(gp_batch_parse(m, strlen(m), formats[f], NULL, &b, &err), GP_OK, "%s",
                         err.message);
            tally t = {{0}, b};
            unsigned char buf[4096];
            uint64_t pos = 0, total = 0;
            size_t n;
            while ((n = gp_batch_read(b, pos, buf, chunk)) > 0) {
                gp_batch_elements_each(b, pos, n, tally_add, &t);
                pos += n;
            }
            for (size_t i = 0; i < 3; i++) {
                cr_expect_eq(t.per_tensor[i], want[i], "format %zu, chunk %zu, tensor %zu: %lu", f,
                             chunk, i, (unsigned long)t.per_tensor[i]);
                total += t.per_tensor[i];
            }
            cr_expect_eq(total, 28);
            gp_batch_free(b);
        }
}
