/*
 * half.c - float32 <-> float16 / bfloat16 with round-to-nearest-even, in
 * integer arithmetic so the result never depends on _Float16 support, the
 * FPU's conversion instructions or the compiler.
 */
#include "gen/gen_internal.h"

#define F32_ABS_MASK 0x7FFFFFFFu
#define F32_INF 0x7F800000u
#define F16_INF 0x7C00u
#define F16_QNAN_BIT 0x0200u
/* |x| >= 65520 (half-way between 65504 and 2^16, tie to even = up) is inf. */
#define F16_OVERFLOW 0x477FF000u
/* Smallest normal float16, 2^-14, as float32 bits. */
#define F16_MIN_NORMAL 0x38800000u
/* Rebias the exponent from 127 to 15: 112 << 23. */
#define F16_REBIAS 0x38000000u

/* v >> shift (1..31) rounded to nearest, ties to even: adding half - 1 plus
 * the kept lsb carries exactly when the dropped part is above half, or is
 * half and the lsb is odd. No data-dependent branch. v < 2^31 here. */
static uint32_t shift_rne(uint32_t v, unsigned shift)
{
    return (v + ((1u << (shift - 1u)) - 1u) + ((v >> shift) & 1u)) >> shift;
}

/* |x| below 2^-14: a float16 subnormal (or zero) in units of 2^-24. */
static uint32_t f16_subnormal(uint32_t a)
{
    uint32_t exp = a >> 23;
    uint32_t mant = (a & 0x7FFFFFu) | 0x800000u;
    /* value * 2^24 = mant * 2^(exp - 126); exp <= 112 so shift >= 14. */
    uint32_t shift = 126u - exp;

    if (exp == 0 || shift > 24u)
        return 0; /* below 2^-25 (or exactly 2^-25: tie to even zero) */
    return shift_rne(mant, shift);
}

static inline uint16_t to_f16(float f)
{
    uint32_t x = gpi_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t a = x & F32_ABS_MASK;

    if (a > F32_INF)
        return (uint16_t)(sign | F16_INF | F16_QNAN_BIT | ((a >> 13) & 0x3FFu));
    if (a >= F16_OVERFLOW)
        return (uint16_t)(sign | F16_INF);
    if (a >= F16_MIN_NORMAL)
        return (uint16_t)(sign | shift_rne(a - F16_REBIAS,
                                           13)); /* carry may bump the exponent: still right */
    return (uint16_t)(sign | f16_subnormal(a));
}

static inline uint16_t to_bf16(float f)
{
    uint32_t x = gpi_f32_bits(f);

    if ((x & F32_ABS_MASK) > F32_INF)
        return (uint16_t)((x >> 16) | 0x0040u);
    /* Adds cannot wrap: the largest finite input is 0xFF7FFFFF. */
    return (uint16_t)((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

static inline float from_f16(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;

    if (exp == 0x1Fu)
        return gpi_f32_from_bits(sign | F32_INF | (mant << 13));
    if (exp != 0)
        return gpi_f32_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
    if (mant == 0)
        return gpi_f32_from_bits(sign);
    /* Subnormal: mant * 2^-24, normalised into float32. */
    exp = 113u;
    while (!(mant & 0x400u)) {
        mant <<= 1;
        exp--;
    }
    return gpi_f32_from_bits(sign | (exp << 23) | ((mant & 0x3FFu) << 13));
}

static inline float from_bf16(uint16_t h)
{
    return gpi_f32_from_bits((uint32_t)h << 16);
}

uint16_t gpi_f32_to_f16(float f)
{
    return to_f16(f);
}

uint16_t gpi_f32_to_bf16(float f)
{
    return to_bf16(f);
}

float gpi_f16_to_f32(uint16_t h)
{
    return from_f16(h);
}

float gpi_bf16_to_f32(uint16_t h)
{
    return from_bf16(h);
}

float gpi_round_f16(float f)
{
    return from_f16(to_f16(f));
}

float gpi_round_bf16(float f)
{
    return from_bf16(to_bf16(f));
}

/* Batches: one call per block of values keeps the generators' inner loops
 * free of per-element calls. */
void gpi_round_f16_n(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = from_f16(to_f16(v[i]));
}

void gpi_round_bf16_n(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = from_bf16(to_bf16(v[i]));
}

void gpi_store_f16_n(const float *v, size_t n, unsigned char *dst)
{
    for (size_t i = 0; i < n; i++)
        gpi_store_le16(dst + 2 * i, to_f16(v[i]));
}

void gpi_store_bf16_n(const float *v, size_t n, unsigned char *dst)
{
    for (size_t i = 0; i < n; i++)
        gpi_store_le16(dst + 2 * i, to_bf16(v[i]));
}

void gpi_store_half_n(gp_dtype d, const float *v, size_t n, unsigned char *dst)
{
    if (d == GP_FLOAT16)
        gpi_store_f16_n(v, n, dst);
    else
        gpi_store_bf16_n(v, n, dst);
}

float gpi_round_dtype(gp_dtype d, float f)
{
    switch (d) {
    case GP_FLOAT16:
        return gpi_round_f16(f);
    case GP_BFLOAT16:
        return gpi_round_bf16(f);
    case GP_FLOAT32:
    case GP_FLOAT64:
        break;
    }
    return f;
}
