/*
 * gen_internal.h - private to proto/: the building blocks of the two tensor
 * generators (chacha20 v1 and mlx v1). See docs/ALGORITHM.md for the frozen
 * definitions these functions implement.
 *
 * Every value computed here must be bit-exact on every host: float and
 * double operations are evaluated in their own type (no x87 excess
 * precision), never fused into FMAs (-ffp-contract=off; each rounding is its
 * own statement), and bytes are written little-endian by explicit shifts.
 */
#ifndef GLOROT_GEN_INTERNAL_H
#define GLOROT_GEN_INTERNAL_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/bits.h" /* float <-> bits, little-endian loads and stores */
#include "glorot_proto.h"

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error                                                                                             \
    "glorotd needs float/double evaluated in their own type (FLT_EVAL_METHOD == 0, e.g. SSE2, not x87)"
#endif
#if defined(__FAST_MATH__)
#error "glorotd must not be built with -ffast-math: tensor bits depend on IEEE rounding"
#endif

/* ---- half.c: float16 / bfloat16 ----------------------------------------- */

/* float32 -> float16 bits, round to nearest even: subnormals, overflow to
 * +-inf, inf kept, NaN becomes a quiet NaN of the same sign (payload top bits
 * kept). Integer-only. */
uint16_t gpi_f32_to_f16(float f);
/* float32 -> bfloat16 bits, round to nearest even; NaN stays a quiet NaN. */
uint16_t gpi_f32_to_bf16(float f);
/* Exact widening conversions. */
float gpi_f16_to_f32(uint16_t h);
float gpi_bf16_to_f32(uint16_t h);
/* The float32 value of RNE_T(f): the dtype's rounding, kept in a float. */
float gpi_round_f16(float f);
float gpi_round_bf16(float f);
/* RNE_T(f) for dtype d as a float (float32 and float64: f itself). */
float gpi_round_dtype(gp_dtype d, float f);
/* The same over arrays: round in place, or store as little-endian bits. */
void gpi_round_f16_n(float *v, size_t n);
void gpi_round_bf16_n(float *v, size_t n);
void gpi_store_f16_n(const float *v, size_t n, unsigned char *dst);
void gpi_store_bf16_n(const float *v, size_t n, unsigned char *dst);
/* gpi_store_f16_n for float16, gpi_store_bf16_n for bfloat16. */
void gpi_store_half_n(gp_dtype d, const float *v, size_t n, unsigned char *dst);

/* ---- threefry.c: Threefry-2x32-20 and MLX's key and bit layout ------------ */

/* One Threefry-2x32 block, 20 rounds (Random123): out = threefry(key, ctr). */
void gpi_threefry2x32(const uint32_t key[2], const uint32_t ctr[2], uint32_t out[2]);

/* MLX key(seed) = [seed >> 32, seed & 0xFFFFFFFF]. */
void gpi_mlx_key(uint64_t seed, uint32_t key[2]);

/* MLX split(key) pair form: (first, second) = rows 0 and 1 of split(key, 2). */
void gpi_mlx_split(const uint32_t key[2], uint32_t first[2], uint32_t second[2]);

/* The key MLX uses for the call-th un-keyed random call after
 * mx.random.seed(seed) (call >= 1; O(call) work). */
void gpi_mlx_seeded_key(uint64_t seed, uint64_t call, uint32_t key[2]);

/* Words [first, first + count) of MLX's RandomBits stream of nwords 32-bit
 * words for key (nwords < 2^32, first + count <= nwords; aborts otherwise),
 * as native uint32 values. */
void gpi_mlx_words(const uint32_t key[2], uint64_t nwords, uint64_t first, size_t count,
                   uint32_t *out);

/* MLX's below_one<T>(): the largest dtype value under 1, as a float32
 * (the clamp of every MLX uniform draw). */
float gpi_mlx_upper(gp_dtype d);

/* MLX uniform in [0, 1): min(RNE_f32(w) * 2^-32, upper) in float32. */
float gpi_mlx_uniform(uint32_t w, float upper);

/* The normal family's constants inside g (gen.c; the types are in
 * mlx_normal.h and chacha_normal.h). */
struct gpi_mlx_dist;
struct gpi_chacha_dist;
const struct gpi_mlx_dist *gpi_gen_mlx_dist_state(const gp_gen *g);
const struct gpi_chacha_dist *gpi_gen_chacha_dist_state(const gp_gen *g);

/* gp_gen_fill for GP_ALG_MLX and GP_ALG_MLX_SEEDED (range already checked). */
void gpi_mlx_fill(const gp_gen *g, uint64_t first, size_t count, unsigned char *out);

/* ---- chacha.c: the chacha20 v1 generator ---------------------------------- */

#define GPI_CHACHA_DOMAIN "glorotd/chacha20/v1"

/* K = BLAKE2b-256(GPI_CHACHA_DOMAIN || 0x00 || seed as u64 LE || name). */
void gpi_chacha_key(uint64_t seed, const char *name, size_t name_len, unsigned char key[32]);

/* Bytes [offset, offset + len) of the ChaCha20 (64-bit counter, zero 8-byte
 * nonce) keystream of key. offset + len must not exceed 2^70 (not checked
 * beyond the 64-bit arithmetic callers already bound). */
void gpi_chacha_keystream(const unsigned char key[32], uint64_t offset, size_t len,
                          unsigned char *out);

/* The value formulas: word -> float32 in (-1,1) times L, and the 64-bit
 * word -> double in (-1,1) times limit. */
float gpi_chacha_f32(uint32_t w, float L);
double gpi_chacha_f64(uint64_t w, double limit);

/* gp_gen_fill for GP_ALG_CHACHA20 (range already checked). */
void gpi_chacha_fill(const gp_gen *g, uint64_t first, size_t count, unsigned char *out);

/* ---- cpu.c and simd_*.c: vector kernels chosen at run time ----------------- */

/* Kernel sets, narrowest first. Every set gives the same bytes as the scalar
 * reference (the code above and libsodium); the wide ones are only faster. */
typedef enum { GPI_SIMD_SCALAR, GPI_SIMD_AVX2, GPI_SIMD_AVX512, GPI_SIMD_COUNT } gpi_simd;

/* What a kernel turns words into: the chacha20 v1 formulas, or raw keystream. */
typedef enum { GPI_OUT_RAW, GPI_OUT_F32, GPI_OUT_F16, GPI_OUT_BF16, GPI_OUT_F64 } gpi_out;

/* Constants a value kernel reads: chacha20 uses limit_f32 / limit, mlx uses
 * upper, range and lo (all as in gp_gen). */
typedef struct {
    gpi_out out;
    float limit_f32;
    double limit;
    float upper, range, lo;
} gpi_values;

struct gpi_mlx_dist; /* mlx_normal.h */

/* Threefry counters per tf_batch call (and per mlx emit step). */
#define GPI_TF_BATCH 128

struct gpi_chacha_dist; /* chacha_normal.h */

/* A wide kernel set. Each value kernel handles a prefix of its input (a
 * multiple of its vector width) and returns how much it did; the caller
 * finishes the rest with the scalar reference. */
typedef struct {
    const char *name;
    /* Threefry-2x32-20 of counters (b0 + k, b1 + k) mod 2^32, k < GPI_TF_BATCH. */
    void (*tf_batch)(const uint32_t key[2], uint32_t b0, uint32_t b1, uint32_t *o0, uint32_t *o1);
    /* MLX values from n words, stored little-endian (F32, F16 or BF16). */
    size_t (*mlx_values)(const gpi_values *v, const uint32_t *w, size_t n, unsigned char *dst);
    /* ChaCha20 blocks [block, block + nblocks) (64-bit counter, zero nonce),
     * as raw keystream or chacha20 v1 values (16 words per block: 16 32-bit
     * values or 8 float64 values). */
    size_t (*chacha_blocks)(const unsigned char key[32], uint64_t block, size_t nblocks,
                            const gpi_values *v, unsigned char *dst);
    /* The dtype rounding on n float32 values (kind GPI_OUT_F16 or BF16): as
     * little-endian 16-bit patterns (round == 0, like gpi_store_*_n) or as
     * float32 values (round != 0, like gpi_round_*_n). For the tests. */
    size_t (*half)(gpi_out kind, int round, const float *src, size_t n, void *dst);
    /* MLX's normal family (mlx_normal.h gpi_mlx_dist_values) on n words. */
    size_t (*mlx_normal)(const struct gpi_mlx_dist *d, const uint32_t *w, size_t n,
                         unsigned char *dst);
    /* chacha20 v1 normal family (chacha_normal.c, docs/ALGORITHM.md 3.7):
     * value_d of distribution d for the LE u64 words at ks + 8k, for a prefix
     * of the n words (a multiple of the width; 0 for what the kernel leaves
     * to the scalar code), stored as doubles, or as RNE_f32(value_d) floats
     * when float32 != 0; returns the prefix length. */
    size_t (*cnormal)(const struct gpi_chacha_dist *d, const unsigned char *ks, size_t n,
                      int float32, void *out);
} gpi_kernels;

/* The kernel set in use: the widest the CPU runs, capped by the environment
 * variable GLOROT_SIMD=scalar|avx2|avx512 read on first use, or the level a
 * test forced. Never NULL; fields of the scalar set are NULL. Thread-safe. */
const gpi_kernels *gpi_kernels_active(void);
/* The level in use and the widest this CPU (and this build) supports. */
gpi_simd gpi_simd_active(void);
gpi_simd gpi_simd_supported(void);
/* Tests and benchmarks: use level from now on (process-wide). Returns 0, or
 * -1 (nothing changed) when the CPU or build cannot run it. */
int gpi_simd_force(gpi_simd level);
/* "scalar", "avx2", "avx512". */
const char *gpi_simd_name(gpi_simd level);

#if defined(__x86_64__) && defined(__GNUC__)
#define GPI_HAVE_X86_SIMD 1
extern const gpi_kernels gpi_kernels_avx2;
extern const gpi_kernels gpi_kernels_avx512;
/* simd_normal_avx2.c, simd_normal_avx512.c: the mlx_normal kernels. */
size_t gpi_avx2_mlx_normal(const struct gpi_mlx_dist *d, const uint32_t *w, size_t n,
                           unsigned char *dst);
size_t gpi_avx512_mlx_normal(const struct gpi_mlx_dist *d, const uint32_t *w, size_t n,
                             unsigned char *dst);
size_t gpi_cnormal_avx2(const struct gpi_chacha_dist *d, const unsigned char *ks, size_t n,
                        int float32, void *out);
size_t gpi_cnormal_avx512(const struct gpi_chacha_dist *d, const unsigned char *ks, size_t n,
                          int float32, void *out);
#endif

#endif /* GLOROT_GEN_INTERNAL_H */
