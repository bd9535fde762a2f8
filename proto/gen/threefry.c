/*
 * threefry.c - the mlx / mlx-seeded generator: Threefry-2x32-20, MLX's key,
 * split and RandomBits word layout, and MLX's uniform() arithmetic on CPU,
 * bit for bit. Spec: docs/ALGORITHM.md (mlx v1).
 *
 * Word layout for N words (h = N/2, c = N - h): counter (j, j + c) gives
 * words j and j + c for j < h; for odd N, word h is threefry((h, 0)).x0.
 * So word i needs one block (or half of one): random access is free, and
 * a fill that covers both j and j + c computes the block once.
 */
#include "gen/gen_internal.h"
#include "gen/mlx_normal.h"

#include <stdlib.h>

#define TF_PARITY 0x1BD11BDAu
#define TF_BATCH GPI_TF_BATCH /* counters per pass */

static inline uint32_t rotl32(uint32_t x, unsigned r)
{
    return (x << r) | (x >> (32u - r));
}

static inline void tf_round(uint32_t *x0, uint32_t *x1, unsigned r)
{
    *x0 += *x1;
    *x1 = rotl32(*x1, r) ^ *x0;
}

/* Four rounds, rotations r[0..3] (the even groups use 13, 15, 26, 6, the odd
 * ones 17, 29, 16, 24), then key injection: x0 += ka, x1 += kb + g. */
static inline void tf_group(uint32_t *x0, uint32_t *x1, const unsigned r[4], uint32_t ka,
                            uint32_t kb, uint32_t g)
{
    tf_round(x0, x1, r[0]);
    tf_round(x0, x1, r[1]);
    tf_round(x0, x1, r[2]);
    tf_round(x0, x1, r[3]);
    *x0 += ka;
    *x1 += kb + g;
}

/* Written out group by group: constant rotations keep the batch loop
 * vectorisable. */
static inline void tf_block(uint32_t k0, uint32_t k1, uint32_t *px0, uint32_t *px1)
{
    static const unsigned even[4] = {13, 15, 26, 6}, odd[4] = {17, 29, 16, 24};
    uint32_t k2 = k0 ^ k1 ^ TF_PARITY;
    uint32_t x0 = *px0 + k0, x1 = *px1 + k1;

    tf_group(&x0, &x1, even, k1, k2, 1);
    tf_group(&x0, &x1, odd, k2, k0, 2);
    tf_group(&x0, &x1, even, k0, k1, 3);
    tf_group(&x0, &x1, odd, k1, k2, 4);
    tf_group(&x0, &x1, even, k2, k0, 5);
    *px0 = x0;
    *px1 = x1;
}

void gpi_threefry2x32(const uint32_t key[2], const uint32_t ctr[2], uint32_t out[2])
{
    uint32_t x0 = ctr[0], x1 = ctr[1];

    tf_block(key[0], key[1], &x0, &x1);
    out[0] = x0;
    out[1] = x1;
}

/* Blocks for counters (b0 + k, b1 + k), k < TF_BATCH: the scalar
 * reference, or the same lanes in the active vector kernel. Counters wrap
 * mod 2^32 past the caller's end: those lanes are computed and ignored. */
static void tf_batch(const gpi_kernels *kern, const uint32_t key[2], uint32_t b0, uint32_t b1,
                     uint32_t o0[TF_BATCH], uint32_t o1[TF_BATCH])
{
    uint32_t k0 = key[0], k1 = key[1];

    if (kern->tf_batch != NULL) {
        kern->tf_batch(key, b0, b1, o0, o1);
        return;
    }
    for (uint32_t k = 0; k < TF_BATCH; k++) {
        uint32_t x0 = b0 + k, x1 = b1 + k;
        tf_block(k0, k1, &x0, &x1);
        o0[k] = x0;
        o1[k] = x1;
    }
}

void gpi_mlx_key(uint64_t seed, uint32_t key[2])
{
    key[0] = (uint32_t)(seed >> 32);
    key[1] = (uint32_t)seed;
}

void gpi_mlx_split(const uint32_t key[2], uint32_t first[2], uint32_t second[2])
{
    const uint32_t c0[2] = {0, 2}, c1[2] = {1, 3};
    uint32_t h0[2], h1[2];

    gpi_threefry2x32(key, c0, h0);
    gpi_threefry2x32(key, c1, h1);
    first[0] = h0[0];
    first[1] = h1[0];
    second[0] = h0[1];
    second[1] = h1[1];
}

void gpi_mlx_seeded_key(uint64_t seed, uint64_t call, uint32_t key[2])
{
    uint32_t state[2], first[2], second[2] = {0, 0};

    gpi_mlx_key(seed, state);
    for (uint64_t n = 0; n < call; n++) {
        gpi_mlx_split(state, first, second);
        state[0] = first[0];
        state[1] = first[1];
    }
    key[0] = second[0];
    key[1] = second[1];
}

float gpi_mlx_uniform(uint32_t w, float upper)
{
    float u = (float)w * 0x1p-32f; /* exact scaling of RNE_f32(w) */

    return u < upper ? u : upper;
}

/* ---- from words to values ------------------------------------------------ */

typedef enum { EMIT_WORDS, EMIT_F32, EMIT_F16, EMIT_BF16, EMIT_DIST } emit_kind;

typedef struct {
    uint32_t key[2];
    uint64_t h, c;  /* layout of the N-word stream */
    uint64_t first; /* element written at out[0] */
    unsigned char *out;
    size_t esize; /* bytes per element in out */
    emit_kind kind;
    gpi_values values;        /* upper, range, lo: dtype-rounded MLX constants, as float32 */
    const gpi_mlx_dist *dist; /* EMIT_DIST: the normal family (mlx_normal.c) */
    const gpi_kernels *kern;
} mlx_job;

static void emit_f32(const mlx_job *jb, const uint32_t *w, size_t n, unsigned char *dst, size_t i)
{
    for (; i < n; i++) {
        float u = gpi_mlx_uniform(w[i], jb->values.upper);
        float p = jb->values.range * u; /* rounded on its own: no FMA */
        float v = p + jb->values.lo;
        gpi_store_le32(dst + 4 * i, gpi_f32_bits(v));
    }
}

/* Half types: every MLX op rounds to the dtype (exact products, see
 * docs/ALGORITHM.md), computed in float32 then rounded, a batch per step. */
static void emit_half(const mlx_job *jb, const uint32_t *w, size_t n, unsigned char *dst,
                      size_t done)
{
    float v[TF_BATCH];
    int f16 = jb->kind == EMIT_F16;
    void (*round_n)(float *, size_t) = f16 ? gpi_round_f16_n : gpi_round_bf16_n;

    w += done;
    n -= done;
    dst += 2 * done;
    for (size_t i = 0; i < n; i++)
        v[i] = gpi_mlx_uniform(w[i], jb->values.upper);
    round_n(v, n); /* u = RNE_T(u) */
    for (size_t i = 0; i < n; i++)
        v[i] = jb->values.range * v[i];
    round_n(v, n); /* p = RNE_T(range * u) */
    for (size_t i = 0; i < n; i++)
        v[i] = v[i] + jb->values.lo;
    if (f16) /* RNE_T(p + lo), stored */
        gpi_store_f16_n(v, n, dst);
    else
        gpi_store_bf16_n(v, n, dst);
}

/* Values for words w[0..n) at element elem: the vector kernel takes a
 * prefix, the scalar reference the rest. */
static void emit(const mlx_job *jb, const uint32_t *w, size_t n, uint64_t elem)
{
    unsigned char *dst = jb->out + (size_t)(elem - jb->first) * jb->esize;
    size_t done = 0;

    if (jb->kind == EMIT_DIST) {
        gpi_mlx_dist_values(jb->dist, w, n, dst);
        return;
    }
    if (jb->kind != EMIT_WORDS && jb->kern->mlx_values != NULL)
        done = jb->kern->mlx_values(&jb->values, w, n, dst);
    switch (jb->kind) {
    case EMIT_WORDS:
        memcpy(dst, w, n * sizeof *w);
        break;
    case EMIT_F32:
        emit_f32(jb, w, n, dst, done);
        break;
    case EMIT_F16:
    case EMIT_BF16:
        emit_half(jb, w, n, dst, done);
        break;
    case EMIT_DIST:
        break;
    }
}

#define WANT_X0 1u /* words j */
#define WANT_X1 2u /* words j + c */

/* Blocks j in [lo, hi) (all < h): emit x0 as word j and/or x1 as word j+c. */
static void mlx_span(const mlx_job *jb, uint64_t lo, uint64_t hi, unsigned want)
{
    uint32_t w0[TF_BATCH], w1[TF_BATCH];

    for (uint64_t j = lo; j < hi; j += TF_BATCH) {
        size_t n = hi - j < TF_BATCH ? (size_t)(hi - j) : TF_BATCH;
        tf_batch(jb->kern, jb->key, (uint32_t)j, (uint32_t)(j + jb->c), w0, w1);
        if (want & WANT_X0)
            emit(jb, w0, n, j);
        if (want & WANT_X1)
            emit(jb, w1, n, j + jb->c);
    }
}

static uint64_t u64_min(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t u64_max(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Words [first, last) of the stream. Block j < h serves word j (x0) and
 * word j + c (x1). J0 = [a0, b0) are the blocks whose x0 is wanted, J1 =
 * [a1, b1) those whose x1 is; always a1 <= a0 and b1 <= b0 (c >= h and
 * last <= h + c), so "x1 only", "both" and "x0 only" are three consecutive spans
 * and every block is computed once. */
static void mlx_run(const mlx_job *jb, uint64_t last)
{
    uint64_t a0 = jb->first, b0 = u64_min(last, jb->h);
    uint64_t a1 = u64_max(jb->first, jb->c) - jb->c;
    uint64_t b1 = last > jb->c ? last - jb->c : 0;

    mlx_span(jb, a1, u64_min(b1, a0), WANT_X1);
    mlx_span(jb, a0, b1, WANT_X0 | WANT_X1);
    mlx_span(jb, u64_max(a0, b1), b0, WANT_X0);
    if (jb->h != jb->c && jb->first <= jb->h && jb->h < last) {
        const uint32_t ctr[2] = {(uint32_t)jb->h, 0};
        uint32_t o[2];
        gpi_threefry2x32(jb->key, ctr, o);
        emit(jb, o, 1, jb->h);
    }
}

static void mlx_job_layout(mlx_job *jb, const uint32_t key[2], uint64_t nwords, uint64_t first,
                           void *out)
{
    jb->key[0] = key[0];
    jb->key[1] = key[1];
    jb->h = nwords / 2;
    jb->c = nwords - jb->h;
    jb->first = first;
    jb->out = out;
    jb->kern = gpi_kernels_active();
}

void gpi_mlx_words(const uint32_t key[2], uint64_t nwords, uint64_t first, size_t count,
                   uint32_t *out)
{
    mlx_job jb;

    if (nwords > UINT32_MAX || first > nwords || count > nwords - first)
        abort();
    memset(&jb, 0, sizeof jb);
    mlx_job_layout(&jb, key, nwords, first, out);
    jb.kind = EMIT_WORDS;
    jb.esize = sizeof(uint32_t);
    mlx_run(&jb, first + count);
}

void gpi_mlx_fill(const gp_gen *g, uint64_t first, size_t count, unsigned char *out)
{
    mlx_job jb;

    memset(&jb, 0, sizeof jb);
    mlx_job_layout(&jb, g->mlx_key, g->numel, first, out);
    jb.values.upper = g->upper_f32;
    jb.values.range = g->range_f32;
    jb.values.lo = g->lo_f32;
    jb.esize = gp_dtype_size(g->dtype);
    if (g->dist == GP_DIST_NORMAL || g->dist == GP_DIST_TRUNCATED_NORMAL) {
        jb.kind = EMIT_DIST;
        jb.dist = gpi_gen_mlx_dist_state(g);
        mlx_run(&jb, first + count);
        return;
    }
    switch (g->dtype) {
    case GP_FLOAT16:
        jb.kind = EMIT_F16;
        jb.values.out = GPI_OUT_F16;
        break;
    case GP_BFLOAT16:
        jb.kind = EMIT_BF16;
        jb.values.out = GPI_OUT_BF16;
        break;
    case GP_FLOAT32:
        jb.kind = EMIT_F32;
        jb.values.out = GPI_OUT_F32;
        break;
    case GP_FLOAT64:
        abort(); /* gp_gen_init refuses it */
    }
    mlx_run(&jb, first + count);
}

float gpi_mlx_upper(gp_dtype d)
{
    switch (d) {
    case GP_FLOAT16:
        return 0x1.ffcp-1f; /* 1 - 2^-11, f16 0x3BFF */
    case GP_BFLOAT16:
        return 0x1.fep-1f; /* 1 - 2^-8, bf16 0x3F7F */
    case GP_FLOAT32:
    case GP_FLOAT64:
        break;
    }
    return 0x1.fffffep-1f; /* 1 - 2^-24 = nextafter(1f, 0f) */
}
