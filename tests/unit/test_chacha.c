/*
 * test_chacha.c - the chacha20 generator (version 1, frozen):
 *  - golden vectors: request -> tensor key K, first elements' bits and the
 *    SHA-256 of the whole tensor's bytes, for all four dtypes, seeds 0, 1,
 *    42 and 2^64-1, names "weight", "" and UTF-8. Computed by this code and,
 *    independently, by a pure-Python ChaCha20 + hashlib.blake2b + numpy
 *    reference (docs/ALGORITHM.md, "Reference implementation"); both agreed
 *    on every row when the table was made.
 *  - an independent recomputation: K with one-shot crypto_generichash over
 *    an explicitly built message, the keystream with crypto_stream_chacha20
 *    (not _ic), and the value formula evaluated in double.
 *  - properties: every float32 value in (-L, L), never 0, the mapping
 *    symmetric; float16 / bfloat16 are the rounded float32 values.
 * Requests are built by hand with MLX's fan rule (no request.c).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_internal.h"
#include "tsv.h"

#define MAX_FIRST 8

/* ---- requests by hand ---------------------------------------------------- */

/* limit with MLX's fans: fan_in = shape[-1]*rf, fan_out = shape[0]*rf. */
static void make_request(gp_request *r, uint64_t seed, const char *name, gp_dtype dtype,
                         const char *shape_text, double gain)
{
    uint64_t shape[GP_MAX_RANK], rf = 1;
    size_t rank = parse_shape(shape_text, shape);

    cr_assert(rank >= 2);
    memset(r, 0, sizeof *r);
    r->algorithm = GP_ALG_CHACHA20;
    r->seed = seed;
    r->dtype = dtype;
    r->name_len = strlen(name);
    cr_assert(r->name_len <= GP_MAX_NAME);
    memcpy(r->name, name, r->name_len);
    r->numel = 1;
    for (size_t i = 0; i < rank; i++)
        r->numel *= shape[i];
    for (size_t i = 1; i + 1 < rank; i++)
        rf *= shape[i];
    r->limit = gain * sqrt(6.0 / (double)((shape[0] + shape[rank - 1]) * rf));
}

/* The whole tensor (malloc; the caller frees). */
static unsigned char *generate(const gp_request *r, gp_gen *g)
{
    gp_error err = {0};
    unsigned char *out = malloc((size_t)r->numel * gp_dtype_size(r->dtype) + 1);

    cr_assert(out != NULL);
    cr_assert_eq(gp_gen_init(g, r, &err), GP_OK, "%s", err.message);
    gp_gen_fill(g, 0, (size_t)r->numel, out);
    return out;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ---- golden vectors -------------------------------------------------------- */

typedef struct {
    uint64_t seed;
    char name[48];
    gp_dtype dtype;
    char shape[16];
    double gain;
    char key[65];    /* K, hex */
    char first[160]; /* first elements' bits, hex, space-separated */
    char sha256[65]; /* of all numel * size bytes */
} golden_case;

/* "\xe5\xb1\xa4.\xe9\x87\x8d\xe3\x81\xbf/\xc3\x9f" is the UTF-8 of a CJK + German name. */
static golden_case golden_cases[] = {
    {UINT64_C(42), "weight", GP_FLOAT32, "2,2", 1.0,
     "3308e515399c37f2bd6811f9c2056378b2d8e70dd2f3b7d6c866998ef8ee88df",
     "3F02F915 3ED9347B 3F4C58A6 BE1EE602",
     "71ae98535eecf0a8700eebf0d784088e8afecc64e05f4732db6314e40eb82814"},
    {UINT64_C(0), "weight", GP_FLOAT32, "256,512", 1.0,
     "26574c8ff16dc6241590e1d074e940eb46ca811a49ba07f6d6ff1e03bfde6d6d",
     "BB8E841A 3D93ED2B BCCD4B5E 3DAD2E3A 3DB3360A 3D678B3E 3D6B8738 BD650D44",
     "44540ecc66fa9ca2ae2a1724d7801c57fb4de7c9f704af378610f366110d12c2"},
    {UINT64_C(18446744073709551615), "weight", GP_FLOAT32, "3,5", 1.0,
     "5bb7d8df700c10665551dde0eff5ccfc21677898e48d2e9cca296ea2adaa0bb1",
     "3E7D03F9 3E760C20 BF355A1C BF4C498A 3EF34B3D BF14F9EF 3F086F6C BF3F4F45",
     "96d70c4aa300250f4d1cf601da93883bc763f3251c9509efd5b6b44d8aecc14b"},
    {UINT64_C(42), "\xe5\xb1\xa4.\xe9\x87\x8d\xe3\x81\xbf/\xc3\x9f", GP_FLOAT32, "3,5", 1.0,
     "6ed63497a46fad7edff4f58ab2eac73fe75cec4492032a66862a5696edcea6bf",
     "BF2785EB 3F2819E1 BEB52FFD 3F571831 BE560D9C BF56A65B BCD953F6 BF3033E2",
     "5ee82fdbc72ee81b7acb08549b80e1e98f67c65d809bb7dbb17ff35eba99f9f9"},
    {UINT64_C(1), "encoder.layers.0.attn.q_proj.weight", GP_FLOAT32, "768,768", 1.0,
     "2dcde7807805d951844d206efe0dca0be3321f86d9e6e0d38cc4fb10c9564cce",
     "3D31C3F9 BD4BFC17 3D51AEE5 3C7B7534 BD242C2B 3C201C34 BC7323D4 BCF96DF6",
     "76526dd36f2120296ef08b3cd899f0db4e391be3aee40dd40e652c535f76c501"},
    {UINT64_C(0), "", GP_FLOAT16, "256,512", 1.0,
     "e453780261ff6353d6f5873fa11e010932464299136c5934aca274642e7e2278",
     "29B8 A3E8 AC04 13D1 AC70 292D 9508 ABA4",
     "9a044eb388124a481f207c62217814cdcb7de8cbe09f91afc6997bad926ffad9"},
    {UINT64_C(0), "weight", GP_FLOAT16, "4,3,3,2", 1.0,
     "26574c8ff16dc6241590e1d074e940eb46ca811a49ba07f6d6ff1e03bfde6d6d",
     "A433 345C AE0C 351A 3548 32D2 32F0 B2C0",
     "82df442236b0b82d0ce4de4be67875291bb9ede28277a51c0faace0237ff234e"},
    {UINT64_C(18446744073709551615), "\xe5\xb1\xa4.\xe9\x87\x8d\xe3\x81\xbf/\xc3\x9f", GP_FLOAT16,
     "64,33", 4.0, "00a97a0ce9a4288ec05ac57c26f9e0cb3e2ff3e778e79841384072b3ba24055c",
     "3196 BB5F B0C7 B8B0 3525 374C 2FF6 B116",
     "1e64be8a2234dc755ba17b11640016dee7c8af2bda829305c9c3c7555503f152"},
    {UINT64_C(42), "", GP_BFLOAT16, "64,33", 1.0,
     "af182d3086116c69b53a499328440e271391854bfc5b9ffa6947d2fa3d005611",
     "3D8D 3E4A BE1F BD2D 3DCF 3E0F BD9F 3D73",
     "9e1f90966d8464e71cc262965fadcde36a4365f94c785b29af4825bd0dd49ab4"},
    {UINT64_C(18446744073709551615), "", GP_BFLOAT16, "2,2", 1.0,
     "a68feddfbe36f91c56c39a9c1f1d33da53778896b5dee070d7f03103f9a7e8f4", "3F32 3F8D 3F96 BF7A",
     "328e99241637a41b48911d9c49a97b88009e8ab28b10fff3e18c734b1f02e091"},
    {UINT64_C(0), "\xe5\xb1\xa4.\xe9\x87\x8d\xe3\x81\xbf/\xc3\x9f", GP_BFLOAT16, "1000,3", 2.0,
     "12258ab72c78f0aedf9481c230db472f6467df26f71df03ede385d29c21af2a4",
     "3C24 BE16 BDD3 BE0A 3E04 3D0D 3E02 BDA2",
     "c52af10b05e3bf320d2e982dbf53f02ca7ffe410f35fc7b271648f0ef72fadb4"},
    {UINT64_C(42), "weight", GP_FLOAT64, "2,2", 1.0,
     "3308e515399c37f2bd6811f9c2056378b2d8e70dd2f3b7d6c866998ef8ee88df",
     "3FDB268F1B0182BE BFC3DCC0C630C3EC BFE71ACCE7221A08 BFE0D4FD92F47043",
     "a647f2af20f587d6a4782bd4474b121d0a184d5a36aa7b46a61d5c5aba077904"},
    {UINT64_C(18446744073709551615), "\xe5\xb1\xa4.\xe9\x87\x8d\xe3\x81\xbf/\xc3\x9f", GP_FLOAT64,
     "128,96", 1.0, "00a97a0ce9a4288ec05ac57c26f9e0cb3e2ff3e778e79841384072b3ba24055c",
     "BFC3682C021FF5BC BFB8AF91B5FFECCC 3FB33447D6316E5E BF9AC548DF1DBE94 BFB64281C0F7307D "
     "3F9A726DCFF2069A 3FB507274BEC1A98 3FAF10F05EF3A2DD",
     "300f1912e59eb8b03a2adefde9d7f6dd6f185196191da9b62b11c89bcdc662b3"},
    {UINT64_C(0), "", GP_FLOAT64, "5,7,3", 0.5,
     "e453780261ff6353d6f5873fa11e010932464299136c5934aca274642e7e2278",
     "BF9D46EA184D82AB 3F5CF2E7AB2B5931 3FB3293970333139 BFBC4BEE9444EEEF BFB72E91C59F4111 "
     "3F58C41A2D784321 3FBA4CB92339ACE3 3FBA1042E781D83B",
     "887d98326724076a804493401d1a20fd0beeb97847ab03cf230c0eb9cb934114"},
};

ParameterizedTestParameters(chacha, golden)
{
    return cr_make_param_array(golden_case, golden_cases,
                               sizeof golden_cases / sizeof golden_cases[0]);
}

ParameterizedTest(golden_case *c, chacha, golden)
{
    gp_request r;
    gp_gen g;
    unsigned char *out, digest[32];
    char key_hex[65], digest_hex[65];
    const char *p = c->first;
    size_t esize = gp_dtype_size(c->dtype), i = 0;

    make_request(&r, c->seed, c->name, c->dtype, c->shape, c->gain);
    out = generate(&r, &g);
    hex(g.chacha_key, 32, key_hex);
    cr_expect_str_eq(key_hex, c->key, "K for seed %llu", (unsigned long long)c->seed);
    while (*p != '\0') {
        char *end;
        uint64_t want = strtoull(p, &end, 16);
        cr_assert(end != p && i < r.numel);
        cr_expect_eq(load_le(out + i * esize, esize), want, "%s %s element %zu: %llX, want %llX",
                     gp_dtype_name(c->dtype), c->shape, i,
                     (unsigned long long)load_le(out + i * esize, esize), (unsigned long long)want);
        i++;
        p = end;
    }
    cr_assert(i == MAX_FIRST || i == r.numel, "table lists %zu elements", i);
    crypto_hash_sha256(digest, out, (unsigned long long)(r.numel * esize));
    hex(digest, 32, digest_hex);
    cr_expect_str_eq(digest_hex, c->sha256, "SHA-256 of %s %s", gp_dtype_name(c->dtype), c->shape);
    free(out);
}

/* ---- independent recomputation ------------------------------------------- */

typedef struct {
    uint64_t seed;
    char name[24];
    gp_dtype dtype;
    char shape[16];
    double gain;
} request_case;

static request_case independent_cases[] = {
    {0, "weight", GP_FLOAT32, "2,2", 1.0},
    {42, "", GP_FLOAT32, "17,33", 1.0},
    {UINT64_MAX, "w\xc3\xa9ight", GP_FLOAT32, "4,3,3,2", 3.0},
    {7, "weight", GP_FLOAT16, "31,5", 1.0},
    {UINT64_C(0x8000000000000000), "b", GP_BFLOAT16, "7,9,11", 1.0},
    {1, "weight", GP_FLOAT64, "3,5", 1.0},
    {UINT64_MAX, "", GP_FLOAT64, "33,17", 0.25},
};

ParameterizedTestParameters(chacha, independent)
{
    return cr_make_param_array(request_case, independent_cases,
                               sizeof independent_cases / sizeof independent_cases[0]);
}

/* K = BLAKE2b-256("glorotd/chacha20/v1" 0x00 seed_le name), one shot. */
static void independent_key(const request_case *c, unsigned char key[32])
{
    unsigned char msg[20 + 8 + 24];
    size_t n = 0, name_len = strlen(c->name);

    memcpy(msg, "glorotd/chacha20/v1", 19);
    n = 19;
    msg[n++] = 0x00;
    for (int i = 0; i < 8; i++)
        msg[n++] = (unsigned char)(c->seed >> (8 * i));
    memcpy(msg + n, c->name, name_len);
    n += name_len;
    cr_assert_eq(crypto_generichash(key, 32, msg, n, NULL, 0), 0);
}

/* Element i from its keystream bytes, evaluated in double then rounded once. */
static uint64_t independent_value(gp_dtype d, const unsigned char *ks, size_t i, double limit)
{
    if (d == GP_FLOAT64) {
        uint64_t w = load_le(ks + 8 * i, 8);
        double x = ldexp((double)(w >> 12) * 2.0 + 1.0 - 0x1p52, -52); /* exact */
        return gpi_f64_bits(x * limit);
    } else {
        uint64_t w = load_le(ks + 4 * i, 4);
        double x = ((double)(w >> 8) * 2.0 + 1.0 - 0x1p24) / 0x1p24; /* exact */
        float L = (float)limit;
        float v = (float)(x * (double)L); /* exact product, one rounding */
        if (d == GP_FLOAT16)
            return gpi_f32_to_f16(v);
        if (d == GP_BFLOAT16)
            return gpi_f32_to_bf16(v);
        return gpi_f32_bits(v);
    }
}

ParameterizedTest(request_case *c, chacha, independent)
{
    static const unsigned char nonce[8];
    gp_request r;
    gp_gen g;
    unsigned char key[32], *ks, *out;
    size_t esize = gp_dtype_size(c->dtype), words = c->dtype == GP_FLOAT64 ? 8 : 4;

    cr_assert_eq(sodium_init() < 0, 0);
    make_request(&r, c->seed, c->name, c->dtype, c->shape, c->gain);
    independent_key(c, key);
    ks = malloc((size_t)r.numel * words);
    cr_assert(ks != NULL);
    cr_assert_eq(crypto_stream_chacha20(ks, r.numel * words, nonce, key), 0);
    out = generate(&r, &g);
    cr_expect_eq(memcmp(g.chacha_key, key, 32), 0, "tensor key");
    for (size_t i = 0; i < r.numel; i++) {
        uint64_t want = independent_value(c->dtype, ks, i, r.limit);
        uint64_t got = load_le(out + i * esize, esize);
        cr_assert_eq(got, want, "%s %s element %zu: %llX, want %llX", gp_dtype_name(c->dtype),
                     c->shape, i, (unsigned long long)got, (unsigned long long)want);
    }
    free(ks);
    free(out);
}

/* ---- properties -------------------------------------------------------------- */

typedef struct {
    uint32_t limit_bits; /* float32 L */
} limit_case;

static limit_case limit_cases[] = {
    {0x3F800000u}, /* 1 */
    {0x3F5DB3D7u}, /* ~0.866 = sqrt(6/8), shape 3,5 */
    {0x3D0BD4C1u}, /* a small, odd-mantissa limit */
    {0x7F7FFFFFu}, /* FLT_MAX: the product must not overflow */
    {0x00000003u}, /* a subnormal limit */
};

ParameterizedTestParameters(chacha, f32_all_words)
{
    return cr_make_param_array(limit_case, limit_cases, sizeof limit_cases / sizeof limit_cases[0]);
}

/* All 2^24 values of m: v(m') = -v(m) for the mirrored m' = 2^24 - 1 - m,
 * the low 8 bits of the word are ignored, and for a normal L, |v| < L and
 * v != 0 (a subnormal L only gives |v| <= L: x * L may round to L). */
ParameterizedTest(limit_case *c, chacha, f32_all_words)
{
    float L = gpi_f32_from_bits(c->limit_bits);
    int normal = c->limit_bits >= 0x00800000u;

    for (uint32_t m = 0; m < (1u << 24); m++) {
        float v = gpi_chacha_f32(m << 8, L);
        float mirrored = gpi_chacha_f32((0xFFFFFFu - m) << 8 | 0xFFu, L);
        int inside = normal ? (v > -L && v < L && v != 0.0f) : (v >= -L && v <= L);
        if (!inside || mirrored != -v || gpi_chacha_f32(m << 8 | 0xA5u, L) != v)
            cr_assert_fail("L=%a m=%u: v=%a mirrored=%a", (double)L, m, (double)v,
                           (double)mirrored);
    }
}

/* float64: sampled words (a fixed LCG), |v| < limit, v != 0, symmetric. */
Test(chacha, f64_sampled_words)
{
    const double limits[] = {1.0, 0.0625, 0.7071067811865476, 1e300};
    uint64_t w = 0x9E3779B97F4A7C15u;

    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
        for (int i = 0; i < (1 << 18); i++) {
            double v, mirrored;
            w = w * 6364136223846793005u + 1442695040888963407u;
            v = gpi_chacha_f64(w, limits[k]);
            mirrored = gpi_chacha_f64(w ^ UINT64_C(0xFFFFFFFFFFFFF000), limits[k]);
            if (!(v > -limits[k] && v < limits[k]) || v == 0.0 || mirrored != -v ||
                gpi_chacha_f64(w ^ 0xFFFu, limits[k]) != v)
                cr_assert_fail("limit %g word %016llX: %a / %a", limits[k], (unsigned long long)w,
                               v, mirrored);
        }
    }
    /* The extremes of m: x = +-(1 - 2^-52). */
    cr_expect_eq(gpi_chacha_f64(UINT64_MAX, 1.0), 1.0 - 0x1p-52);
    cr_expect_eq(gpi_chacha_f64(0, 1.0), -(1.0 - 0x1p-52));
    cr_expect_eq(gpi_chacha_f32(UINT32_MAX, 1.0f), 1.0f - 0x1p-24f);
    cr_expect_eq(gpi_chacha_f32(0, 1.0f), -(1.0f - 0x1p-24f));
}

/* float16 / bfloat16 tensors are exactly the RNE of the float32 tensor of the
 * same request (the key does not depend on the dtype). */
Test(chacha, half_types_are_rounded_f32)
{
    gp_request r32, r16, rb16;
    gp_gen g32, g16, gb16;
    unsigned char *v32, *v16, *vb16;

    make_request(&r32, 5, "weight", GP_FLOAT32, "300,700", 2.0);
    make_request(&r16, 5, "weight", GP_FLOAT16, "300,700", 2.0);
    make_request(&rb16, 5, "weight", GP_BFLOAT16, "300,700", 2.0);
    v32 = generate(&r32, &g32);
    v16 = generate(&r16, &g16);
    vb16 = generate(&rb16, &gb16);
    for (size_t i = 0; i < r32.numel; i++) {
        float f = gpi_f32_from_bits(gpi_load_le32(v32 + 4 * i));
        cr_assert_eq(load_le(v16 + 2 * i, 2), gpi_f32_to_f16(f), "f16 element %zu", i);
        cr_assert_eq(load_le(vb16 + 2 * i, 2), gpi_f32_to_bf16(f), "bf16 element %zu", i);
    }
    free(v32);
    free(v16);
    free(vb16);
}

/* A coarse, deterministic check that values fill (-L, L) evenly: 2^16
 * values in 16 equal bins; each bin must hold 4096 +- 10%. */
Test(chacha, evenly_spread)
{
    gp_request r;
    gp_gen g;
    unsigned char *out;
    size_t bins[16] = {0};
    float L;

    make_request(&r, 11, "weight", GP_FLOAT32, "256,256", 1.0);
    out = generate(&r, &g);
    L = (float)r.limit;
    for (size_t i = 0; i < r.numel; i++) {
        float v = gpi_f32_from_bits(gpi_load_le32(out + 4 * i));
        size_t b = (size_t)(((double)v + L) / (2.0 * L) * 16.0);
        cr_assert(b < 16);
        bins[b]++;
    }
    for (size_t b = 0; b < 16; b++)
        cr_expect(bins[b] > 3686 && bins[b] < 4506, "bin %zu holds %zu", b, bins[b]);
    free(out);
}

/* Only name_len bytes of the name count; seed and name both change K. */
Test(chacha, key_inputs)
{
    unsigned char a[32], b[32], c[32], d[32];

    cr_assert_eq(gp_init(), 0);
    gpi_chacha_key(1, "weightXYZ", 6, a);
    gpi_chacha_key(1, "weight", 6, b);
    gpi_chacha_key(2, "weight", 6, c);
    gpi_chacha_key(1, "weighs", 6, d);
    cr_expect_eq(memcmp(a, b, 32), 0);
    cr_expect_neq(memcmp(b, c, 32), 0);
    cr_expect_neq(memcmp(b, d, 32), 0);
}

/* Keystream at any byte offset equals the same bytes of one long stream. */
Test(chacha, keystream_offsets)
{
    static const unsigned char nonce[8];
    unsigned char key[32], whole[1000], part[300];
    const uint64_t offsets[] = {0, 1, 63, 64, 65, 127, 500, 699};

    cr_assert_eq(gp_init(), 0);
    for (int i = 0; i < 32; i++)
        key[i] = (unsigned char)(i * 7 + 1);
    crypto_stream_chacha20(whole, sizeof whole, nonce, key);
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        for (size_t len = 0; len <= 300; len += 37) {
            gpi_chacha_keystream(key, offsets[k], len, part);
            cr_expect_eq(memcmp(part, whole + offsets[k], len), 0, "offset %llu len %zu",
                         (unsigned long long)offsets[k], len);
        }
    }
}

/* ---- what gp_gen_init refuses ---------------------------------------------- */

typedef struct {
    char what[40];
    gp_dtype dtype;
    uint64_t numel;
    double limit;
    size_t name_len;
    gp_code code;
    char param[16];
} init_case;

static init_case init_cases[] = {
    {"NaN limit", GP_FLOAT32, 4, NAN, 6, GP_EPARAM, "gain"},
    {"-inf limit", GP_FLOAT64, 4, -INFINITY, 6, GP_EPARAM, "gain"},
    {"limit beyond float32", GP_FLOAT32, 4, 1e39, 6, GP_EUNSUPPORTED, "gain"},
    {"limit beyond float16", GP_FLOAT16, 4, 70000.0, 6, GP_EUNSUPPORTED, "gain"},
    {"limit that rounds to float16 inf", GP_FLOAT16, 4, 65520.0, 6, GP_EUNSUPPORTED, "gain"},
    {"largest float16 limit", GP_FLOAT16, 4, 65519.0, 6, GP_OK, ""},
    {"limit beyond bfloat16", GP_BFLOAT16, 4, 3.4e38, 6, GP_EUNSUPPORTED, "gain"},
    {"huge float64 limit", GP_FLOAT64, 4, 1e300, 6, GP_OK, ""},
    {"name too long", GP_FLOAT32, 4, 0.5, GP_MAX_NAME + 1, GP_EPARAM, "name"},
    {"longest name", GP_FLOAT32, 4, 0.5, GP_MAX_NAME, GP_OK, ""},
    {"too many elements", GP_FLOAT64, UINT64_MAX / 8 + 1, 0.5, 6, GP_ELIMIT, "shape"},
    {"zero elements", GP_FLOAT64, 0, 0.5, 6, GP_OK, ""},
};

ParameterizedTestParameters(chacha_init, refusals)
{
    return cr_make_param_array(init_case, init_cases, sizeof init_cases / sizeof init_cases[0]);
}

ParameterizedTest(init_case *c, chacha_init, refusals)
{
    gp_request r;
    gp_gen g;
    gp_error err = {0};
    gp_code rc;

    memset(&r, 0, sizeof r);
    r.algorithm = GP_ALG_CHACHA20;
    r.dtype = c->dtype;
    r.numel = c->numel;
    r.limit = c->limit;
    memset(r.name, 'n', GP_MAX_NAME);
    r.name_len = c->name_len;
    rc = gp_gen_init(&g, &r, &err);
    cr_expect_eq(rc, c->code, "%s: code %d (%s)", c->what, (int)rc, err.message);
    cr_expect_str_eq(err.param, c->param, "%s", c->what);
    if (c->code != GP_OK)
        cr_expect(err.message[0] != '\0', "%s: no message", c->what);
}

/* A float16 tensor at the largest accepted limit has no infinities. */
Test(chacha_init, float16_largest_limit_finite)
{
    gp_request r;
    gp_gen g;
    unsigned char *out;

    make_request(&r, 3, "weight", GP_FLOAT16, "100,100", 1.0);
    r.limit = 65519.0;
    out = generate(&r, &g);
    for (size_t i = 0; i < r.numel; i++)
        cr_assert(isfinite(gpi_f16_to_f32((uint16_t)load_le(out + 2 * i, 2))), "element %zu", i);
    free(out);
}
