/*
 * test_half.c - float32 -> float16 / bfloat16 round-to-nearest-even, checked
 * EXHAUSTIVELY over all 2^32 float32 bit patterns against an independent
 * formulation: the target's values come from the IEEE definition (ldexp),
 * the midpoint between neighbours a < b is computed in double, and an input
 * below it must give a, above it b, exactly on it the even encoding (the
 * overflow threshold is the midpoint to 2^(emax+1)); NaN stays NaN. Also
 * the widening conversions over all 2^16 patterns and named values.
 *
 * The 2^32 sweep is split into 64 parameterized tests per target type
 * (sign and the top five magnitude bits) so --jobs spreads it out.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <string.h>

#include "gen/gen_internal.h"

/* A binary format with p significant bits (implicit bit included) and
 * exponent bias; emin = 1 - bias, emax = bias. */
typedef struct {
    char name[12];
    int p;
    int bias;
    uint16_t (*round)(float);
    float (*widen)(uint16_t);
} half_format;

static const half_format formats[] = {
    {"float16", 11, 15, gpi_f32_to_f16, gpi_f16_to_f32},
    {"bfloat16", 8, 127, gpi_f32_to_bf16, gpi_bf16_to_f32},
};

static uint32_t inf_bits(const half_format *t)
{
    return (uint32_t)(2 * t->bias + 1) << (t->p - 1);
}

/* The value of positive encoding k by the IEEE definition (ldexp, no bit
 * tricks); k == inf_bits is the virtual next value 2^(emax+1), so the
 * overflow threshold is one more midpoint. */
static double value_of(const half_format *t, uint32_t k)
{
    int mbits = t->p - 1;
    uint32_t exp = k >> mbits, mant = k & ((1u << mbits) - 1u);

    if (exp == 0)
        return ldexp((double)mant, 1 - t->bias - mbits);
    return ldexp((double)((1u << mbits) + mant), (int)exp - t->bias - mbits);
}

/* Round to nearest, ties to even, as a walk over the positive float32 bit
 * patterns in increasing order: between the target neighbours k and k + 1
 * (values a < b) an input below the midpoint (a+b)/2 is nearer a, above it
 * nearer b, and exactly on it goes to the even encoding. mid[k] is that
 * midpoint as float32 bits (exact: it has p + 1 significant bits). */
typedef struct {
    uint32_t n; /* finite positive encodings: inf_bits */
    uint32_t mid[32768];
} midpoints;

static void make_midpoints(const half_format *t, midpoints *m)
{
    m->n = inf_bits(t);
    cr_assert(m->n <= 32768);
    for (uint32_t k = 0; k < m->n; k++) {
        double mid = (value_of(t, k) + value_of(t, k + 1)) / 2; /* exact */
        float f = (float)mid;
        cr_assert((double)f == mid, "%s midpoint %u not exact", t->name, k);
        m->mid[k] = gpi_f32_bits(f);
    }
}

static void check_nan(const half_format *t, uint32_t x)
{
    uint32_t sign = (x >> 31) << 15;
    uint16_t got = t->round(gpi_f32_from_bits(x));
    uint32_t mant_mask = (1u << (t->p - 1)) - 1u;

    if ((got & 0x8000u) != sign || (got & inf_bits(t)) != inf_bits(t) || !(got & mant_mask))
        cr_assert_fail("%s(%08X) = %04X, want a NaN of the same sign", t->name, x, got);
}

typedef struct {
    int format;
    uint32_t chunk; /* sign (bit 5) and the top 5 bits of the magnitude */
} sweep_case;

ParameterizedTestParameters(half, exhaustive)
{
    static sweep_case cases[128];

    for (int f = 0; f < 2; f++)
        for (uint32_t chunk = 0; chunk < 64; chunk++)
            cases[f * 64 + (int)chunk] = (sweep_case){f, chunk};
    return cr_make_param_array(sweep_case, cases, 128);
}

#define CHUNK_BITS 26 /* 2^31 magnitudes / 32 chunks */

static void fail_at(const half_format *t, uint32_t x, uint32_t got, uint32_t want)
{
    cr_assert_fail("%s(%08X = %a) = %04X, want %04X", t->name, x, (double)gpi_f32_from_bits(x), got,
                   want);
}

/* Positive patterns [lo, hi] (all <= inf) with sign: k is the lower
 * neighbour's encoding, next = mid[k] the boundary to the upper one. */
static void sweep(const half_format *t, const midpoints *m, uint32_t sign, uint32_t lo, uint32_t hi)
{
    uint32_t k = 0, next;
    uint16_t (*round)(float) = t->round;

    while (k < m->n && m->mid[k] < lo)
        k++;
    next = k < m->n ? m->mid[k] : UINT32_MAX;
    for (uint32_t a = lo;; a++) {
        uint32_t want = k, got;
        if (a == next) {
            want = (k & 1u) ? k + 1 : k; /* a tie: to the even encoding */
            k++;
            next = k < m->n ? m->mid[k] : UINT32_MAX;
        }
        got = round(gpi_f32_from_bits(sign << 31 | a));
        if (got != (sign << 15 | want))
            fail_at(t, sign << 31 | a, got, sign << 15 | want);
        if (a == hi)
            break;
    }
}

ParameterizedTest(sweep_case *c, half, exhaustive)
{
    const half_format *t = &formats[c->format];
    static midpoints m;
    uint32_t sign = c->chunk >> 5;
    uint32_t lo = (c->chunk & 31u) << CHUNK_BITS, hi = lo + (1u << CHUNK_BITS) - 1u;

    make_midpoints(t, &m);
    if (hi > 0x7F800000u) { /* the last chunk ends with inf and the NaNs */
        for (uint32_t a = 0x7F800001u; a >= lo && a <= hi; a++)
            check_nan(t, sign << 31 | a);
        hi = 0x7F800000u;
    }
    sweep(t, &m, sign, lo, hi);
}

/* ---- widening: all 2^16 patterns against ldexp ---------------------------- */

ParameterizedTestParameters(half, widen_all)
{
    static int which[] = {0, 1};
    return cr_make_param_array(int, which, 2);
}

ParameterizedTest(int *which, half, widen_all)
{
    const half_format *t = &formats[*which];
    int mbits = t->p - 1;

    for (uint32_t h = 0; h < 65536u; h++) {
        uint32_t exp = (h & 0x7FFFu) >> mbits, mant = h & ((1u << mbits) - 1u);
        double mag, want;
        float got = t->widen((uint16_t)h);
        if (exp == (uint32_t)(2 * t->bias + 1)) {
            cr_assert(mant ? isnan(got) : isinf(got), "%s %04X", t->name, h);
            cr_assert_eq(!!signbit(got), h >> 15, "%s %04X sign", t->name, h);
            if (mant)
                cr_assert_eq(gpi_f32_bits(got) & 0x7FFFFFu, mant << (23 - mbits), "%s %04X payload",
                             t->name, h);
            continue;
        }
        mag = exp == 0 ? ldexp((double)mant, 1 - t->bias - mbits)
                       : ldexp((double)((1u << mbits) + mant), (int)exp - t->bias - mbits);
        want = (h >> 15) ? -mag : mag;
        cr_assert((double)got == want && !!signbit(got) == !!signbit(want), "%s %04X: %a, want %a",
                  t->name, h, (double)got, want);
        /* Every non-NaN value survives the round trip to the same bits. */
        cr_assert_eq(t->round(got), h, "%s %04X round trip", t->name, h);
    }
}

/* ---- named values (IEEE 754 binary16; bfloat16 = top half of binary32) ---- */

typedef struct {
    uint32_t in; /* float32 bits */
    uint16_t f16;
    uint16_t bf16;
} named_case;

static named_case named_cases[] = {
    {0x00000000u, 0x0000u, 0x0000u}, /* +0 */
    {0x80000000u, 0x8000u, 0x8000u}, /* -0 */
    {0x3F800000u, 0x3C00u, 0x3F80u}, /* 1 */
    {0x477FE000u, 0x7BFFu, 0x4780u}, /* 65504, float16 max (bf16: 65536) */
    {0x477FEFFFu, 0x7BFFu, 0x4780u}, /* just below 65520 */
    {0x477FF000u, 0x7C00u, 0x4780u}, /* 65520: tie, to even = inf */
    {0x33800000u, 0x0001u, 0x3380u}, /* 2^-24, smallest float16 subnormal */
    {0x33000000u, 0x0000u, 0x3300u}, /* 2^-25: tie, to even = 0 */
    {0x33000001u, 0x0001u, 0x3300u}, /* just above 2^-25 */
    {0x33C00000u, 0x0002u, 0x33C0u}, /* 1.5 * 2^-24: tie, to even = 2 */
    {0x387FC000u, 0x03FFu, 0x3880u}, /* largest float16 subnormal (bf16 rounds up) */
    {0x387FE000u, 0x0400u, 0x3880u}, /* tie between max subnormal and min normal */
    {0x3F808000u, 0x3C04u, 0x3F80u}, /* 1 + 2^-8: bf16 tie to even (down) */
    {0x3F818000u, 0x3C0Cu, 0x3F82u}, /* 1 + 3*2^-8: bf16 tie to even (up) */
    {0x3F801000u, 0x3C00u, 0x3F80u}, /* 1 + 2^-11: float16 tie to even (down) */
    {0x3F803000u, 0x3C02u, 0x3F80u}, /* 1 + 3*2^-11: float16 tie to even (up) */
    {0x7F7FFFFFu, 0x7C00u, 0x7F80u}, /* FLT_MAX: inf in both */
    {0xFF800000u, 0xFC00u, 0xFF80u}, /* -inf */
    {0x00000001u, 0x0000u, 0x0000u}, /* smallest float32 subnormal */
};

ParameterizedTestParameters(half, named)
{
    return cr_make_param_array(named_case, named_cases, sizeof named_cases / sizeof named_cases[0]);
}

ParameterizedTest(named_case *c, half, named)
{
    float f = gpi_f32_from_bits(c->in);

    cr_expect_eq(gpi_f32_to_f16(f), c->f16, "f16(%08X) = %04X, want %04X", c->in, gpi_f32_to_f16(f),
                 c->f16);
    cr_expect_eq(gpi_f32_to_bf16(f), c->bf16, "bf16(%08X) = %04X, want %04X", c->in,
                 gpi_f32_to_bf16(f), c->bf16);
    cr_expect_eq(gpi_f32_bits(gpi_round_f16(f)), gpi_f32_bits(gpi_f16_to_f32(c->f16)));
    cr_expect_eq(gpi_f32_bits(gpi_round_bf16(f)), gpi_f32_bits(gpi_bf16_to_f32(c->bf16)));
}

Test(half, nan_stays_nan)
{
    static const uint32_t nans[] = {0x7FC00000u, 0x7F800001u, 0xFFFFFFFFu, 0x7FBFFFFFu};

    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        float f = gpi_f32_from_bits(nans[i]);
        cr_expect(isnan(gpi_f16_to_f32(gpi_f32_to_f16(f))), "f16 %08X", nans[i]);
        cr_expect(isnan(gpi_bf16_to_f32(gpi_f32_to_bf16(f))), "bf16 %08X", nans[i]);
    }
}

/* The batch forms the generators use agree with the scalar conversions
 * (every 257th float32 pattern, so every binade and many mantissas). */
Test(half, batches_match_scalar)
{
    enum { N = 1024 };
    float in[N], r16[N], rb16[N];
    unsigned char s16[2 * N], sb16[2 * N];
    uint64_t x = 0;

    while (x < (UINT64_C(1) << 32)) {
        for (size_t i = 0; i < N; i++, x += 257)
            in[i] = gpi_f32_from_bits((uint32_t)x);
        memcpy(r16, in, sizeof in);
        memcpy(rb16, in, sizeof in);
        gpi_round_f16_n(r16, N);
        gpi_round_bf16_n(rb16, N);
        gpi_store_f16_n(in, N, s16);
        gpi_store_bf16_n(in, N, sb16);
        for (size_t i = 0; i < N; i++) {
            uint16_t h = gpi_f32_to_f16(in[i]), b = gpi_f32_to_bf16(in[i]);
            if ((s16[2 * i] | s16[2 * i + 1] << 8) != h ||
                (sb16[2 * i] | sb16[2 * i + 1] << 8) != b ||
                gpi_f32_bits(r16[i]) != gpi_f32_bits(gpi_f16_to_f32(h)) ||
                gpi_f32_bits(rb16[i]) != gpi_f32_bits(gpi_bf16_to_f32(b)))
                cr_assert_fail("batch differs at %08X", gpi_f32_bits(in[i]));
        }
    }
}
