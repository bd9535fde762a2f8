/*
 * test_digest_fields.c - RFC 9530 fields: Want-Repr-Digest /
 * Want-Content-Digest preferences (RFC 9530 4, RFC 8941 dictionaries) and
 * Repr-Digest / Content-Digest values.
 *
 * The digest values were computed independently with Python:
 *   base64.b64encode(hashlib.sha256(b"").digest())
 *   = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
 *   base64.b64encode(hashlib.sha512(b"abc").digest())
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "glorot_proto.h"

struct want_case {
    char value[160];
    char value2[64]; /* a second field line, "" = none */
    int choice;      /* gp_digest_alg */
};

static struct want_case want_cases[] = {
    /* RFC 9530 4's own examples */
    {"sha-256=1", "", GP_DIGEST_SHA256},
    {"sha-512=3, sha-256=10, unixsum=0", "", GP_DIGEST_SHA256},
    {"sha-512=8, sha-256=6, adler=0, sha=1", "", GP_DIGEST_SHA512},
    {"sha-512=10", "", GP_DIGEST_SHA512},
    {"sha-256=5, sha-512=5", "", GP_DIGEST_SHA256}, /* a tie: sha-256 */
    {"sha-256=0", "", GP_DIGEST_NONE},              /* not acceptable */
    {"sha-256=0, sha-512=1", "", GP_DIGEST_SHA512},
    {"md5=10, unixsum=3", "", GP_DIGEST_NONE}, /* only unknown algorithms */
    {"sha-256=11", "", GP_DIGEST_NONE},        /* out of 0..10: ignored */
    {"sha-256=-1", "", GP_DIGEST_NONE},
    {"sha-256=1.5", "", GP_DIGEST_NONE}, /* a Decimal, not an Integer */
    {"sha-256", "", GP_DIGEST_NONE},     /* Boolean true, not an Integer */
    {"sha-256=\"9\"", "", GP_DIGEST_NONE},
    {"sha-256=3;q=1, sha-512=2", "", GP_DIGEST_SHA256}, /* parameters are skipped */
    {"  sha-256=3  ,\tsha-512=4  ", "", GP_DIGEST_SHA512},
    {"sha-256=3, sha-256=0", "", GP_DIGEST_NONE}, /* the last duplicate wins */
    {"sha-256=2, x=(1 2 \"a\");p, y=:AAAA:, z=?1, t=tok/en", "", GP_DIGEST_SHA256},
    {"sha-256=1", "sha-512=2", GP_DIGEST_SHA512}, /* two lines: one dictionary */
    {"sha-512=2", "sha-512=0", GP_DIGEST_NONE},
    {"sha-256=1", "SHA-512=2", GP_DIGEST_NONE},       /* an invalid line voids the field */
    {"", "", GP_DIGEST_NONE},                         /* an empty dictionary */
    {"sha-256=1,", "", GP_DIGEST_NONE},               /* trailing comma */
    {"sha-256=1 sha-512=2", "", GP_DIGEST_NONE},      /* missing comma */
    {"Sha-256=1", "", GP_DIGEST_NONE},                /* keys are lowercase */
    {"sha-256=1234567890123456", "", GP_DIGEST_NONE}, /* 16 digits: not an Integer */
    {"sha-256=(1)", "", GP_DIGEST_NONE},              /* an inner list */
};

ParameterizedTestParameters(want, choice)
{
    return cr_make_param_array(struct want_case, want_cases,
                               sizeof want_cases / sizeof want_cases[0]);
}

ParameterizedTest(struct want_case *c, want, choice)
{
    gp_want_digest w;
    gp_want_digest_init(&w);
    gp_want_digest_add(&w, c->value, strlen(c->value));
    if (c->value2[0] != '\0')
        gp_want_digest_add(&w, c->value2, strlen(c->value2));
    int got = (int)gp_want_digest_choice(&w);
    cr_expect_eq(got, c->choice, "'%s' '%s': %d, want %d", c->value, c->value2, got, c->choice);
}

Test(want, absent_means_none)
{
    gp_want_digest w;
    gp_want_digest_init(&w);
    cr_expect_eq(gp_want_digest_choice(&w), GP_DIGEST_NONE);
    gp_want_digest_add(&w, NULL, 0);
    cr_expect_eq(gp_want_digest_choice(&w), GP_DIGEST_NONE);
}

Test(want, only_len_bytes_are_read)
{
    gp_want_digest w;
    gp_want_digest_init(&w);
    const char text[] = "sha-512=9, sha-256=1"; /* len stops before the comma */
    gp_want_digest_add(&w, text, strlen("sha-512=9"));
    cr_expect_eq(gp_want_digest_choice(&w), GP_DIGEST_SHA512);
}

/* ---- digest values ---------------------------------------------------------------- */

Test(field, sha256_of_nothing)
{
    unsigned char hash[32];
    char text[GP_DIGEST_FIELD_MAX];
    crypto_hash_sha256(hash, (const unsigned char *)"", 0);
    size_t n = gp_digest_field(GP_DIGEST_SHA256, hash, text, sizeof text);
    cr_assert_str_eq(text, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
    cr_expect_eq(n, strlen(text));
    unsigned char back[32];
    cr_expect_eq(gp_digest_field_find(text, n, GP_DIGEST_SHA256, back), 1);
    cr_expect_eq(memcmp(back, hash, 32), 0);
    cr_expect_eq(gp_digest_field_find(text, n, GP_DIGEST_SHA512, back), 0);
}

Test(field, sha512_fits_and_round_trips)
{
    unsigned char hash[64], back[64];
    char text[GP_DIGEST_FIELD_MAX];
    crypto_hash_sha512(hash, (const unsigned char *)"abc", 3);
    size_t n = gp_digest_field(GP_DIGEST_SHA512, hash, text, sizeof text);
    cr_assert_gt(n, 0);
    cr_expect_eq(strncmp(text,
                         "sha-512=:3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/"
                         "uu9RU1EI2Q86A4qmslPpUyknw==:",
                         n),
                 0, "%s", text);
    cr_expect_eq(gp_digest_field(GP_DIGEST_SHA512, hash, text, n), 0, "too small");
    cr_expect_eq(gp_digest_field(GP_DIGEST_NONE, hash, text, sizeof text), 0);
    cr_expect_eq(gp_digest_field_find(text, n - 2, GP_DIGEST_SHA512, back), -1, "cut short");
    n = gp_digest_field(GP_DIGEST_SHA512, hash, text, sizeof text);
    cr_expect_eq(gp_digest_field_find(text, n, GP_DIGEST_SHA512, back), 1);
    cr_expect_eq(memcmp(back, hash, 64), 0);
}

struct find_case {
    char value[200];
    int found;
};

static struct find_case find_cases[] = {
    {"sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:", 1},
    {"sha-512=:AAAA:, sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:", 1},
    {"sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:;p=1", 1},
    {"sha-512=:AAAA:", 0},
    {"sha-256=:AAAA:", -1},                                          /* wrong length */
    {"sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", -1},    /* not a byte sequence */
    {"sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", -1},   /* unterminated */
    {"sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:,", -1}, /* trailing comma */
};

ParameterizedTestParameters(field, find)
{
    return cr_make_param_array(struct find_case, find_cases,
                               sizeof find_cases / sizeof find_cases[0]);
}

ParameterizedTest(struct find_case *c, field, find)
{
    unsigned char hash[32], empty[32];
    crypto_hash_sha256(empty, (const unsigned char *)"", 0);
    int got = gp_digest_field_find(c->value, strlen(c->value), GP_DIGEST_SHA256, hash);
    cr_expect_eq(got, c->found, "'%s': %d", c->value, got);
    if (got == 1)
        cr_expect_eq(memcmp(hash, empty, 32), 0);
}
