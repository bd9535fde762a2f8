/*
 * test_range.c - gp_range_parse, the HTTP Range header against a body size:
 * every form RFC 9110 allows, the invalid ones (ignored: the whole body),
 * the unsatisfiable ones (416), several ranges, saturation of huge numbers,
 * buffers without a NUL, and a bounded fuzz over the header's alphabet.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <string.h>

#include "glorot_proto.h"

typedef struct {
    char value[64];
    uint64_t size;
    gp_ranges want;
    uint64_t first, last;
} range_case;

#define ONE GP_RANGES_ONE
#define MANY GP_RANGES_MANY
#define NONE GP_RANGES_UNSATISFIABLE
#define IGN GP_RANGES_IGNORE

ParameterizedTestParameters(range, parse)
{
    static range_case cases[] = {
        /* one satisfiable range */
        {"bytes=0-0", 1000, ONE, 0, 0},
        {"bytes=0-499", 1000, ONE, 0, 499},
        {"bytes=500-", 1000, ONE, 500, 999},
        {"bytes=-500", 1000, ONE, 500, 999},
        {"bytes=-1", 1000, ONE, 999, 999},
        {"bytes=999-999", 1000, ONE, 999, 999},
        {"bytes=999-5000", 1000, ONE, 999, 999},
        {"bytes=-5000", 1000, ONE, 0, 999},
        {"bytes=-1000", 1000, ONE, 0, 999},
        {"bytes=0-", 1000, ONE, 0, 999},
        {"bytes=0-18446744073709551615", 1000, ONE, 0, 999},
        {"bytes=0-99999999999999999999999", 1000, ONE, 0, 999},
        {"bytes=-99999999999999999999999", 1000, ONE, 0, 999},
        {"bytes=0007-0008", 1000, ONE, 7, 8},
        {"BYTES=1-2", 1000, ONE, 1, 2},
        {"Bytes=1-2", 1000, ONE, 1, 2},
        {" \tbytes=1-2 \t", 1000, ONE, 1, 2},
        {"bytes= 1-2", 1000, ONE, 1, 2},
        {"bytes=1-2,", 1000, ONE, 1, 2},
        {"bytes=,1-2", 1000, ONE, 1, 2},
        {"bytes=, ,1-2 , ,", 1000, ONE, 1, 2},
        {"bytes=-1", 1, ONE, 0, 0},
        {"bytes=0-", 1, ONE, 0, 0},
        {"bytes=18446744073709551614-", 18446744073709551615ull, ONE, 18446744073709551614ull,
         18446744073709551614ull},
        /* several: the whole body (glorotd sends 200) */
        {"bytes=1-2, 5-6", 1000, MANY, 0, 0},
        {"bytes=1-2,5-6", 1000, MANY, 0, 0},
        {"bytes=1-2 ,\t5-6", 1000, MANY, 0, 0},
        {"bytes=0-0,-1", 1000, MANY, 0, 0},
        {"bytes=1000-, 0-0", 1000, MANY, 0, 0},
        {"bytes=0-999,0-999", 1000, MANY, 0, 0},
        /* nothing satisfiable: 416 */
        {"bytes=1000-", 1000, NONE, 0, 0},
        {"bytes=1000-2000", 1000, NONE, 0, 0},
        {"bytes=-0", 1000, NONE, 0, 0},
        {"bytes=5000-, 6000-", 1000, NONE, 0, 0},
        {"bytes=99999999999999999999999-", 1000, NONE, 0, 0},
        {"bytes=18446744073709551615-", 18446744073709551615ull, NONE, 0, 0},
        {"bytes=0-", 0, NONE, 0, 0},
        {"bytes=-1", 0, NONE, 0, 0},
        {"bytes=1-", 1, NONE, 0, 0},
        /* invalid: ignored */
        {"", 1000, IGN, 0, 0},
        {"   ", 1000, IGN, 0, 0},
        {"bytes", 1000, IGN, 0, 0},
        {"bytes=", 1000, IGN, 0, 0},
        {"bytes=,", 1000, IGN, 0, 0},
        {"bytes= , ", 1000, IGN, 0, 0},
        {"bytes=a-b", 1000, IGN, 0, 0},
        {"bytes=5-3", 1000, IGN, 0, 0},
        {"bytes=1-2-3", 1000, IGN, 0, 0},
        {"bytes=--1", 1000, IGN, 0, 0},
        {"bytes=-", 1000, IGN, 0, 0},
        {"bytes=1", 1000, IGN, 0, 0},
        {"bytes=+1-2", 1000, IGN, 0, 0},
        {"bytes=0x1-2", 1000, IGN, 0, 0},
        {"bytes=1-2;x", 1000, IGN, 0, 0},
        {"bytes=0 -1", 1000, IGN, 0, 0},
        {"bytes=0- 1", 1000, IGN, 0, 0},
        {"bytes=0-1, 3-2", 1000, IGN, 0, 0},
        {"bytes=0-1,x", 1000, IGN, 0, 0},
        {"bytes =0-1", 1000, IGN, 0, 0},
        {"bytesx=0-1", 1000, IGN, 0, 0},
        {"byte=0-1", 1000, IGN, 0, 0},
        {"items=0-1", 1000, IGN, 0, 0},
        {"=0-1", 1000, IGN, 0, 0},
        {"bytes==0-1", 1000, IGN, 0, 0},
        {"0-1", 1000, IGN, 0, 0},
        {"bytes=5000-1", 1000, IGN, 0, 0},
    };
    return cr_make_param_array(range_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(range_case *c, range, parse)
{
    uint64_t first = 12345, last = 67890;
    gp_ranges got = gp_range_parse(c->value, strlen(c->value), c->size, &first, &last);
    cr_expect_eq(got, c->want, "\"%s\" of %llu: got %d, want %d", c->value,
                 (unsigned long long)c->size, (int)got, (int)c->want);
    if (c->want == ONE) {
        cr_expect_eq(first, c->first, "\"%s\": first %llu", c->value, (unsigned long long)first);
        cr_expect_eq(last, c->last, "\"%s\": last %llu", c->value, (unsigned long long)last);
    } else {
        cr_expect(first == 12345 && last == 67890, "\"%s\": outputs touched", c->value);
    }
}

Test(range, uses_only_len_bytes)
{
    uint64_t first = 0, last = 0;
    const char text[] = "bytes=0-12345";
    cr_expect_eq(gp_range_parse(text, 9, 1000, &first, &last), ONE);
    cr_expect_eq(last, 1);
    cr_expect_eq(gp_range_parse(text, 5, 1000, &first, &last), IGN);
    cr_expect_eq(gp_range_parse(text, 0, 1000, &first, &last), IGN);
    cr_expect_eq(gp_range_parse(NULL, 0, 1000, &first, &last), IGN);
}

Test(range, embedded_nul_is_invalid)
{
    uint64_t first = 0, last = 0;
    const char text[] = "bytes=0-1\0";
    cr_expect_eq(gp_range_parse(text, sizeof text - 1, 1000, &first, &last), IGN);
    const char inner[] = "bytes=0\0-1";
    cr_expect_eq(gp_range_parse(inner, sizeof inner - 1, 1000, &first, &last), IGN);
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* Random headers: plain characters, or pieces that often form valid specs. */
static size_t random_header(uint64_t *s, char *text, size_t cap)
{
    static const char alphabet[] = "bytesBYTES=-0123456789, \t";
    static const char *const pieces[] = {
        "0", "1", "7", "49", "-", "-", "-", ",", ", ", " ", "99999999999999999999999", "x"};
    size_t len = 0;
    if (lcg(s) % 2 == 0) {
        memcpy(text, "bytes=", 6);
        len = 6;
        for (size_t k = lcg(s) % 8; k > 0; k--) {
            const char *p = pieces[lcg(s) % (sizeof pieces / sizeof pieces[0])];
            size_t n = strlen(p);
            if (len + n > cap)
                break;
            memcpy(text + len, p, n);
            len += n;
        }
        return len;
    }
    for (size_t k = lcg(s) % 24; k > 0 && len < cap; k--)
        text[len++] = alphabet[lcg(s) % (sizeof alphabet - 1)];
    return len;
}

/* Random headers never crash, and a ONE verdict always lies inside the body.
 * (A bounded fuzz; the ASan build runs it too.) */
Test(range, fuzz_stays_inside_the_body)
{
    uint64_t s = 7;
    unsigned counts[4] = {0};
    for (int n = 0; n < 200000; n++) {
        char text[64];
        size_t len = random_header(&s, text, sizeof text);
        uint64_t size = lcg(&s) % 50, first = 0, last = 0;
        gp_ranges r = gp_range_parse(text, len, size, &first, &last);
        counts[r]++;
        if (r == ONE)
            cr_assert(first <= last && last < size, "\"%.*s\" of %llu: %llu-%llu", (int)len, text,
                      (unsigned long long)size, (unsigned long long)first,
                      (unsigned long long)last);
    }
    for (int k = 0; k < 4; k++)
        cr_expect_gt(counts[k], 100, "verdict %d seen only %u times", k, counts[k]);
}
