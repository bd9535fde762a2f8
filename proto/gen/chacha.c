/*
 * chacha.c - the chacha20 generator, version 1 (frozen; docs/ALGORITHM.md).
 *
 * Tensor key K = BLAKE2b-256("glorotd/chacha20/v1" || 0x00 || seed u64 LE ||
 * name). Keystream: original ChaCha20 (64-bit block counter, zero 8-byte
 * nonce). 32-bit word j = keystream bytes 4j..4j+3, little-endian.
 * float32/16/bf16 element i uses word i; float64 element i uses words 2i, 2i+1.
 */
#include "gen/gen_internal.h"

#include <sodium.h>
#include <stdlib.h>

#define CHACHA_BLOCK 64u
#define ZERO_CHUNK 4096u /* keystream bytes per libsodium call */
#define HALF_CHUNK 256u  /* 16-bit dtypes: words per stack buffer */

static const unsigned char zero_nonce[crypto_stream_chacha20_NONCEBYTES];
static const unsigned char zeros[ZERO_CHUNK];

void gpi_chacha_key(uint64_t seed, const char *name, size_t name_len, unsigned char key[32])
{
    crypto_generichash_state st;
    unsigned char seed_le[8];

    gpi_store_le64(seed_le, seed);
    crypto_generichash_init(&st, NULL, 0, 32);
    /* sizeof includes the terminating NUL: that is the 0x00 separator. */
    crypto_generichash_update(&st, (const unsigned char *)GPI_CHACHA_DOMAIN,
                              sizeof GPI_CHACHA_DOMAIN);
    crypto_generichash_update(&st, seed_le, sizeof seed_le);
    crypto_generichash_update(&st, (const unsigned char *)name, name_len);
    crypto_generichash_final(&st, key, 32);
}

/* Keystream bytes starting at a block boundary: whole blocks from the
 * active vector kernel, the rest (or all, on the scalar path) from libsodium,
 * the reference. */
static void keystream_blocks(const unsigned char key[32], uint64_t block, size_t len,
                             unsigned char *out)
{
    const gpi_kernels *kern = gpi_kernels_active();

    if (kern->chacha_blocks != NULL) {
        static const gpi_values raw = {GPI_OUT_RAW, 0, 0, 0, 0, 0};
        size_t done = kern->chacha_blocks(key, block, len / CHACHA_BLOCK, &raw, out);
        block += done;
        out += done * CHACHA_BLOCK;
        len -= done * CHACHA_BLOCK;
    }
    while (len > 0) {
        size_t n = len < ZERO_CHUNK ? len : ZERO_CHUNK;
        crypto_stream_chacha20_xor_ic(out, zeros, n, zero_nonce, block, key);
        out += n;
        len -= n;
        block += ZERO_CHUNK / CHACHA_BLOCK;
    }
}

void gpi_chacha_keystream(const unsigned char key[32], uint64_t offset, size_t len,
                          unsigned char *out)
{
    uint64_t block = offset / CHACHA_BLOCK;
    size_t skip = (size_t)(offset % CHACHA_BLOCK);

    if (skip != 0 && len > 0) {
        unsigned char buf[CHACHA_BLOCK];
        size_t n = CHACHA_BLOCK - skip < len ? CHACHA_BLOCK - skip : len;
        keystream_blocks(key, block, sizeof buf, buf);
        memcpy(out, buf + skip, n);
        out += n;
        len -= n;
        block++;
    }
    keystream_blocks(key, block, len, out);
}

float gpi_chacha_f32(uint32_t w, float L)
{
    int32_t m = (int32_t)(w >> 8);
    float x = (float)(2 * m + 1 - 0x1000000) * 0x1p-24f; /* exact */

    return x * L;
}

double gpi_chacha_f64(uint64_t w, double limit)
{
    int64_t m = (int64_t)(w >> 12);
    double x = (double)(2 * m + 1 - INT64_C(0x10000000000000)) * 0x1p-52; /* exact */

    return x * limit;
}

/* float32: keystream straight into out, then converted in place. */
static void fill_f32(const gp_gen *g, uint64_t first, size_t count, unsigned char *out)
{
    gpi_chacha_keystream(g->chacha_key, first * 4, count * 4, out);
    for (size_t i = 0; i < count; i++) {
        unsigned char *p = out + 4 * i;
        gpi_store_le32(p, gpi_f32_bits(gpi_chacha_f32(gpi_load_le32(p), g->limit_f32)));
    }
}

static void fill_f64(const gp_gen *g, uint64_t first, size_t count, unsigned char *out)
{
    gpi_chacha_keystream(g->chacha_key, first * 8, count * 8, out);
    for (size_t i = 0; i < count; i++) {
        unsigned char *p = out + 8 * i;
        gpi_store_le64(p, gpi_f64_bits(gpi_chacha_f64(gpi_load_le64(p), g->limit)));
    }
}

/* 16-bit dtypes: 4 keystream bytes per element, staged on the stack. */
static void fill_half(const gp_gen *g, uint64_t first, size_t count, unsigned char *out)
{
    unsigned char ks[4 * HALF_CHUNK];
    float v[HALF_CHUNK];

    while (count > 0) {
        size_t n = count < HALF_CHUNK ? count : HALF_CHUNK;
        gpi_chacha_keystream(g->chacha_key, first * 4, n * 4, ks);
        for (size_t i = 0; i < n; i++)
            v[i] = gpi_chacha_f32(gpi_load_le32(ks + 4 * i), g->limit_f32);
        gpi_store_half_n(g->dtype, v, n, out);
        first += n;
        count -= n;
        out += 2 * n;
    }
}

static void fill_scalar(const gp_gen *g, uint64_t first, size_t count, unsigned char *out)
{
    if (count == 0)
        return;
    switch (g->dtype) {
    case GP_FLOAT32:
        fill_f32(g, first, count, out);
        break;
    case GP_FLOAT64:
        fill_f64(g, first, count, out);
        break;
    case GP_FLOAT16:
    case GP_BFLOAT16:
        fill_half(g, first, count, out);
        break;
    }
}

static gpi_out out_kind(gp_dtype d)
{
    switch (d) {
    case GP_FLOAT16:
        return GPI_OUT_F16;
    case GP_BFLOAT16:
        return GPI_OUT_BF16;
    case GP_FLOAT64:
        return GPI_OUT_F64;
    case GP_FLOAT32:
        break;
    }
    return GPI_OUT_F32;
}

/* Whole keystream blocks go to the vector kernel, which writes the values
 * straight into out; a partial block at either end takes the scalar path. */
static void fill_centered(const gp_gen *g, uint64_t first, size_t count, unsigned char *out)
{
    const gpi_kernels *kern = gpi_kernels_active();
    size_t esize = gp_dtype_size(g->dtype);
    size_t per = CHACHA_BLOCK / (g->dtype == GP_FLOAT64 ? 8 : 4); /* elements per block */
    size_t head = (size_t)((per - first % per) % per), done;
    gpi_values v = {out_kind(g->dtype), g->limit_f32, g->limit, 0, 0, 0};

    if (kern->chacha_blocks == NULL || count < head + per) {
        fill_scalar(g, first, count, out);
        return;
    }
    fill_scalar(g, first, head, out);
    first += head;
    count -= head;
    out += head * esize;
    done = kern->chacha_blocks(g->chacha_key, first / per, count / per, &v, out) * per;
    fill_scalar(g, first + done, count - done, out + done * esize);
}

/* uniform(low, high) with a midpoint m != 0: y = RNE(x * h) as for (-h, h),
 * then RNE(y + m) in float32 (float64: in double), then the dtype's rounding. */
static void add_mid_f32(const gp_gen *g, unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++, p += 4)
        gpi_store_le32(p, gpi_f32_bits(gpi_f32_from_bits(gpi_load_le32(p)) + g->mid_f32));
}

static void fill_offset(const gp_gen *g, uint64_t first, size_t count, unsigned char *out)
{
    float v[HALF_CHUNK];
    gp_gen f32 = *g;

    if (g->dtype == GP_FLOAT64) {
        fill_centered(g, first, count, out);
        for (size_t i = 0; i < count; i++, out += 8)
            gpi_store_le64(out, gpi_f64_bits(gpi_f64_from_bits(gpi_load_le64(out)) + g->mid));
        return;
    }
    if (g->dtype == GP_FLOAT32) {
        fill_centered(g, first, count, out);
        add_mid_f32(g, out, count);
        return;
    }
    f32.dtype = GP_FLOAT32;
    while (count > 0) {
        size_t n = count < HALF_CHUNK ? count : HALF_CHUNK;
        fill_centered(&f32, first, n, (unsigned char *)v);
        add_mid_f32(g, (unsigned char *)v, n);
        for (size_t i = 0; i < n; i++) /* back from little-endian bytes to floats */
            v[i] = gpi_f32_from_bits(gpi_load_le32((unsigned char *)&v[i]));
        gpi_store_half_n(g->dtype, v, n, out);
        first += n;
        count -= n;
        out += 2 * n;
    }
}

void gpi_chacha_fill(const gp_gen *g, uint64_t first, size_t count, unsigned char *out)
{
    int has_mid = g->dtype == GP_FLOAT64 ? g->mid != 0.0 : g->mid_f32 != 0.0f;
    if (has_mid)
        fill_offset(g, first, count, out);
    else
        fill_centered(g, first, count, out);
}
