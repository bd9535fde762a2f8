/*
 * glorot_proto.h - the generation contract shared by glorotd and libglorot.
 *
 * A request (shape, gain, dtype, seed, algorithm, fan, name, format) maps to
 * exact tensor bytes. Nothing here does I/O; every function is reentrant and
 * touches no global state except libsodium (see gp_init).
 *
 * Flow:
 *   gp_request r; gp_request_init(&r);
 *   gp_request_set(&r, "shape", 5, "256,512", 7, &err);   ...one per key...
 *   gp_request_finish(&r, &limits, &err);                  cross-field checks
 *   gp_body b; gp_body_init(&b, &r, &err);                 one encoder per format
 *   while ((n = gp_body_read(&b, off, buf, sizeof buf)) > 0) off += n;
 *
 * Prefix: gp_ (public), gpi_ (private to proto/).
 */
#ifndef GLOROT_PROTO_H
#define GLOROT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GP_MAX_RANK 8
#define GP_MAX_NAME 256     /* bytes of UTF-8 */
#define GP_MAX_CALL 1000000 /* mlx-seeded: largest `call` (O(call) work) */
#define GP_DEFAULT_NAME "weight"

/* Frozen algorithm versions: a change of bytes is a new algorithm name. */
#define GP_CHACHA20_VERSION 1
#define GP_MLX_VERSION 1

/* Initialise libsodium once per process (thread-safe, idempotent).
 * Returns 0 on success, -1 if libsodium cannot be initialised. */
int gp_init(void);

/* ---- errors ------------------------------------------------------------ */

typedef enum {
    GP_OK = 0,
    GP_EPARAM,       /* malformed, unknown, repeated or out-of-range parameter (HTTP 400) */
    GP_EUNSUPPORTED, /* well-formed but impossible, e.g. float64 with mlx (HTTP 422) */
    GP_ELIMIT,       /* exceeds a configured cap, e.g. max elements (HTTP 413) */
    GP_ENOMEM,       /* allocation failed (HTTP 500) */
    GP_EINTERNAL     /* a bug: an invariant did not hold (HTTP 500) */
} gp_code;

typedef struct {
    gp_code code;
    char param[32];    /* the offending parameter, "" when none applies */
    char message[256]; /* one sentence saying what is wrong and what is allowed */
} gp_error;

/* Human-readable text for a code. Never NULL. */
const char *gp_strerror(gp_code code);
/* Stable machine-readable name for the JSON error body ("invalid_parameter",
 * "unsupported", "too_large", "out_of_memory", "internal"). Never NULL. */
const char *gp_code_name(gp_code code);

/* Record an error: the first error wins (a non-GP_OK err->code is kept).
 * err may be NULL. Returns code, so callers can `return gp_fail(...)`. */
gp_code gp_fail(gp_error *err, gp_code code, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* ---- enumerations -------------------------------------------------------- */

typedef enum { GP_FLOAT32, GP_FLOAT16, GP_BFLOAT16, GP_FLOAT64 } gp_dtype;
typedef enum { GP_ALG_CHACHA20, GP_ALG_MLX, GP_ALG_MLX_SEEDED } gp_algorithm;
typedef enum { GP_FAN_MLX, GP_FAN_TORCH, GP_FAN_KERAS } gp_fan;
typedef enum { GP_FORMAT_RAW, GP_FORMAT_NPY, GP_FORMAT_SAFETENSORS, GP_FORMAT_JSON } gp_format;

/* The initializers, one endpoint each (/v1/glorot_uniform, ...), and the
 * distributions they resolve to. `zeros` and `ones` are names for constant
 * with value 0 and 1 (see gp_inits). */
typedef enum {
    GP_INIT_GLOROT_UNIFORM,
    GP_INIT_GLOROT_NORMAL,
    GP_INIT_HE_UNIFORM,
    GP_INIT_HE_NORMAL,
    GP_INIT_UNIFORM,
    GP_INIT_NORMAL,
    GP_INIT_TRUNCATED_NORMAL,
    GP_INIT_CONSTANT,
    GP_INIT_IDENTITY
} gp_initializer;
typedef enum {
    GP_DIST_UNIFORM,          /* [low, high) */
    GP_DIST_NORMAL,           /* mean + std * N(0, 1) */
    GP_DIST_TRUNCATED_NORMAL, /* N(mean, std) restricted to [a, b] */
    GP_DIST_CONSTANT,         /* value everywhere */
    GP_DIST_IDENTITY          /* ones on the main diagonal of a 2-D shape */
} gp_dist;
typedef enum { GP_MODE_FAN_IN, GP_MODE_FAN_OUT } gp_mode; /* He: which fan */

/* Canonical lowercase names as they appear on the wire ("float32",
 * "chacha20", "mlx-seeded", "torch", "safetensors"). Never NULL. */
const char *gp_dtype_name(gp_dtype d);
const char *gp_algorithm_name(gp_algorithm a);
const char *gp_fan_name(gp_fan f);
const char *gp_format_name(gp_format f);
size_t gp_dtype_size(gp_dtype d);           /* 4, 2, 2, 8 */
const char *gp_init_name(gp_initializer i); /* "glorot_uniform", ... */
const char *gp_dist_name(gp_dist d);        /* "uniform", "normal", "truncated_normal", ... */
const char *gp_mode_name(gp_mode m);        /* "fan_in", "fan_out" */

/* ---- initializers (init.c) ----------------------------------------------- */

/* What an initializer takes, for listings (/v1/info, CLI help) and routing.
 * Parameters beyond the common ones (shape, seed, dtype, ...) are listed in
 * params with their default text; `fans` says whether fan, fan_in and
 * fan_out apply. Aliases (zeros, ones) fix their parameters instead. */
#define GP_INIT_PARAMS_MAX 4
typedef struct {
    const char *name; /* wire name: the endpoint /v1/<name> and the `init` value */
    gp_initializer init;
    gp_dist dist;
    int fans;
    size_t min_rank, max_rank;
    const char *params[GP_INIT_PARAMS_MAX + 1];   /* NULL-terminated keys */
    const char *defaults[GP_INIT_PARAMS_MAX + 1]; /* their default text */
    const char *alias_of;                         /* "constant" for zeros/ones, else NULL */
} gp_init_info;

/* The initializers in listing order (glorot_uniform first, then zeros and
 * ones after constant); *count receives how many. Static; never NULL. */
const gp_init_info *gp_inits(size_t *count);
/* The entry whose wire name is name[0..len), or NULL. */
const gp_init_info *gp_init_find(const char *name, size_t len);

/* ---- request ------------------------------------------------------------ */

typedef struct {
    uint64_t max_elements; /* 0 = no cap */
    uint64_t max_bytes;    /* cap on the tensor's data bytes, 0 = no cap */
} gp_limits;

/* Plain data; read any field, write only through the functions below. */
typedef struct {
    /* As asked (gp_request_set). Unset fields hold their defaults. */
    size_t rank; /* 0 until shape is given */
    uint64_t shape[GP_MAX_RANK];
    double gain;        /* default 1 */
    char gain_spec[48]; /* canonical text of gain: "1", "relu", "leaky_relu:0.2" */
    gp_dtype dtype;     /* default float32 */
    uint64_t seed;
    int seed_set;             /* 0: the caller must draw one (gp_request_set_seed) */
    gp_algorithm algorithm;   /* default chacha20 */
    uint64_t call;            /* mlx-seeded only, >= 1; default 1 */
    gp_fan fan;               /* default mlx */
    uint64_t fan_in_override; /* 0 = computed from shape */
    uint64_t fan_out_override;
    char name[GP_MAX_NAME + 1]; /* NUL-terminated; default "weight" */
    size_t name_len;
    gp_format format;  /* default raw */
    int format_set;    /* 1 when `format` was given explicitly */
    unsigned set_mask; /* private: which keys were given (repeat detection) */

    /* The initializer and its parameters, as asked (defaults otherwise). */
    gp_initializer init; /* default glorot_uniform */
    char init_as[20];    /* the name asked for: "zeros" where init is constant */
    gp_mode mode;        /* he_*: default fan_in */
    double low, high;    /* uniform: default 0, 1 */
    double mean, std;    /* normal, truncated_normal: default 0, 1 */
    double a, b;         /* truncated_normal: absolute bounds, default -2, 2 */
    double value;        /* constant: default 0 */

    /* Resolved by gp_request_finish. */
    uint64_t numel;
    uint64_t nbytes; /* numel * gp_dtype_size(dtype) */
    uint64_t fan_in;
    uint64_t fan_out;
    double limit; /* uniform family with fans: the bound (glorot: gain * sqrt(6 / (fan_in +
                     fan_out)), he: gain * sqrt(3 / fan)), in double; else 0 */
    /* The distribution the initializer resolves to, in double, as the
     * reference frameworks compute it (docs/ALGORITHM.md): */
    gp_dist dist;
    double dist_low, dist_high; /* GP_DIST_UNIFORM */
    double dist_mean, dist_std; /* GP_DIST_NORMAL, GP_DIST_TRUNCATED_NORMAL */
    int dist_has_mean;          /* normal, truncated_normal: mean is added (MLX passes loc) */
    double dist_a, dist_b;      /* GP_DIST_TRUNCATED_NORMAL: absolute bounds */
    double dist_value;          /* GP_DIST_CONSTANT */
    int finished;

    /* Slices and shards, as asked (keys slice, shard, axis). */
    size_t slice_axes;               /* axes given in `slice`; 0 = no slice */
    int64_t slice_from[GP_MAX_RANK]; /* numpy start, or GP_SLICE_OMITTED */
    int64_t slice_to[GP_MAX_RANK];   /* numpy stop, or GP_SLICE_OMITTED */
    uint64_t shard_rank;             /* part shard_rank of shard_world */
    uint64_t shard_world;            /* 0 = no shard */
    int64_t shard_axis;              /* default 0; negative counts from the end */

    /* Resolved by gp_request_finish: the part of the tensor that is sent.
     * Axis i covers [part_start[i], part_stop[i]) of shape[i]; without slice
     * or shard that is the whole tensor. numel, nbytes, the fans and the
     * limit always describe the FULL shape (the values of a part are those
     * of the whole); out_* describe the elements and bytes actually sent. */
    uint64_t part_start[GP_MAX_RANK];
    uint64_t part_stop[GP_MAX_RANK];
    uint64_t out_shape[GP_MAX_RANK]; /* part_stop - part_start */
    uint64_t out_numel;              /* elements sent */
    uint64_t out_nbytes;             /* out_numel * gp_dtype_size(dtype) */
    int partial;                     /* 1 when the part is not the whole tensor */
} gp_request;

#define GP_SLICE_OMITTED INT64_MIN /* slice_from/slice_to: the bound was left out */

/* Fill r with defaults. */
void gp_request_init(gp_request *r);

/* Set one parameter from its text form. key and value need not be
 * NUL-terminated; embedded NULs are errors. Keys: shape ("256,512"), gain
 * (number or nonlinearity name), dtype, seed (decimal u64), algorithm, call,
 * fan, fan_in, fan_out, name, format, slice ("0:128,:,-64:", numpy start:stop
 * per axis, no steps), shard ("RANK/WORLD"), axis (shard axis, may be
 * negative), init (an initializer's wire name, gp_inits), mode (fan_in |
 * fan_out), and the finite decimal numbers low, high, mean, std, a, b, value.
 * Unknown keys and keys given twice are GP_EPARAM naming the key; whether the
 * initializer takes a key is checked by gp_request_finish. */
gp_code gp_request_set(gp_request *r, const char *key, size_t key_len, const char *value,
                       size_t value_len, gp_error *err);

/* 1 when key (a NUL-terminated parameter name) was given to gp_request_set,
 * 0 otherwise (also for unknown keys). */
int gp_request_given(const gp_request *r, const char *key);

/* Set the seed directly (e.g. one drawn by the server). */
void gp_request_set_seed(gp_request *r, uint64_t seed);

/* Cross-field validation and resolution (numel, nbytes, fans, limit, the
 * part sent). Requires shape; checks caps from lim (NULL = no caps) against
 * the part sent (out_numel, out_nbytes), overflow of every product of the
 * full shape, float64 with mlx/mlx-seeded (GP_EUNSUPPORTED), `call` only with
 * mlx-seeded, numel < 2^32 (full shape) for the mlx generators, the
 * initializer's rank range and parameters (a parameter it does not take is
 * GP_EPARAM naming it; so are std <= 0, low > high, a >= b and values not
 * finite in the dtype), then the distribution (dist_*). Slices and
 * shards: slice and shard exclude each other, axis needs shard, a slice may
 * name at most rank axes (later axes are whole); bounds are clamped like
 * numpy's; a part with no elements is GP_EPARAM. */
gp_code gp_request_finish(gp_request *r, const gp_limits *lim, gp_error *err);

/* The resolved part of a finished request as text, one "start:stop" per
 * axis: "0:128,0:512" (what the Glorot-Slice header and the canonical form
 * carry). Writes at most size bytes, NUL-terminated (truncated if needed;
 * GP_PART_TEXT_MAX always suffices); returns the full length. */
#define GP_PART_TEXT_MAX (GP_MAX_RANK * 42)
size_t gp_part_text(const gp_request *r, char *out, size_t size);

/* Fans for a shape under a convention; GP_EPARAM on overflow or rank < 2. */
gp_code gp_fans(const uint64_t *shape, size_t rank, gp_fan fan, uint64_t *fan_in, uint64_t *fan_out,
                gp_error *err);

/* limit = gain * sqrt(6 / (fan_in + fan_out)) in IEEE double. */
double gp_limit(double gain, uint64_t fan_in, uint64_t fan_out);

/* The resolved distribution of a finished request as one header value:
 * "uniform; low=-0.5; high=0.5", "normal; mean=0; std=0.02",
 * "truncated_normal; mean=0; std=1; a=-2; b=2", "constant; value=1",
 * "identity"; numbers in their shortest round-trip decimal form. Writes at
 * most size bytes, NUL-terminated (GP_DIST_TEXT_MAX always suffices);
 * returns the full length. */
#define GP_DIST_TEXT_MAX 192
size_t gp_dist_text(const gp_request *r, char *out, size_t size);

/* The shortest decimal text that reads back as the finite double x, as
 * Python's repr writes it ("0.02", "1e-07", "-3"); NUL-terminated in out
 * (GP_REAL_TEXT_MAX bytes always suffice). Returns the length. */
#define GP_REAL_TEXT_MAX 32
size_t gp_real_text(double x, char out[GP_REAL_TEXT_MAX]);

/* ---- generators ------------------------------------------------------- */

/* Plain data so it can live on the stack or inside a connection; private fields. */
typedef struct {
    gp_algorithm algorithm;
    gp_dtype dtype;
    gp_dist dist;
    uint64_t numel;
    uint64_t cols;                /* identity: columns of the 2-D shape */
    uint32_t mlx_key[2];          /* threefry key */
    unsigned char chacha_key[32]; /* BLAKE2b-256 tensor key */
    double limit;
    float limit_f32;
    float lo_f32, range_f32; /* mlx bounds, already rounded to dtype */
    float upper_f32;         /* mlx clamp below 1 for the dtype */
    float mid_f32;           /* chacha20 uniform: (low + high) / 2, added when not 0 */
    double mid;              /* the same for float64 */
    unsigned char fill[8];   /* constant / identity one: the value's little-endian bytes */
    /* The normal family's dtype-rounded constants (gen.c; private). */
    union {
        double d[16];
        float f[32];
        uint64_t u[16];
    } dist_state;
} gp_gen;

/* Prepare a generator for a finished request. */
gp_code gp_gen_init(gp_gen *g, const gp_request *r, gp_error *err);

/* Write elements [first, first + count) as little-endian dtype values to out
 * (count * gp_dtype_size bytes). first + count must be <= numel (checked:
 * aborts on misuse). Element i depends only on (request, i). */
void gp_gen_fill(const gp_gen *g, uint64_t first, size_t count, void *out);

/* The kernel set this process generates with: "avx512", "avx2" or "scalar",
 * the widest the CPU runs, capped by GLOROT_SIMD. Bytes never depend on it;
 * speed does (operators see it in /v1/info and the startup line). */
const char *gp_kernels(void);

/* ---- bodies: one encoder per format ------------------------------------ */

#define GP_SIZE_UNKNOWN UINT64_MAX
#define GP_HEADER_MAX 4096

typedef struct {
    gp_gen gen;
    gp_request req;
    gp_format format;
    uint64_t size;        /* total bytes, or GP_SIZE_UNKNOWN (json) */
    uint64_t data_offset; /* where tensor bytes begin */
    size_t header_len;
    /* json: sequential state */
    uint64_t json_next;     /* next element to print */
    uint64_t json_produced; /* bytes handed out so far */
    size_t pending_len, pending_pos;
    int json_done;
    /* The bytes of a part are runs of consecutive elements of the full
     * tensor: body element o lies in run o / run_len, whose position comes
     * from the axes before run_axis (one run for the whole tensor). */
    uint64_t run_len;
    size_t run_axis;
    uint64_t stride[GP_MAX_RANK]; /* full-tensor element strides */
    /* Buffers last: gp_body_init clears everything before them; only their
     * first header_len / pending_len bytes mean anything. */
    unsigned char header[GP_HEADER_MAX];  /* format prefix (npy / safetensors) */
    unsigned char pending[GP_HEADER_MAX]; /* json text not yet handed out */
} gp_body;

/* Build the encoder for r->format. r must be finished. The body holds the
 * part of the tensor r selects (r->out_shape, in row-major order); its format
 * header describes that part. */
gp_code gp_body_init(gp_body *b, const gp_request *r, gp_error *err);

/* Total size in bytes, GP_SIZE_UNKNOWN for streamed-text formats. */
uint64_t gp_body_size(const gp_body *b);

/* Copy up to len bytes of the body starting at byte offset into buf; returns
 * the count written, 0 at the end. Binary formats allow any offset (random
 * access, for ranges and resumption); json must be read sequentially from 0
 * (offset == bytes already returned). */
size_t gp_body_read(gp_body *b, uint64_t offset, void *buf, size_t len);

/* Choose a format from an HTTP Accept header value: application/octet-stream,
 * application/x-npy, application/vnd.safetensors (or application/octet-stream;
 * format=safetensors), application/json, with q-values and wildcards.
 * NULL or empty accept = raw. GP_EPARAM (param "Accept") when nothing offered
 * is acceptable: the server answers 406. An explicit `format` parameter wins
 * over Accept and is not checked here. */
gp_code gp_format_negotiate(const char *accept, gp_format *out, gp_error *err);

/* MIME type and file extension for a format ("application/octet-stream", ".bin"). */
const char *gp_format_content_type(gp_format f);
const char *gp_format_extension(gp_format f);

/* Count JSON structure characters ({ [ : ,) outside strings in s[0..len),
 * stopping once the count passes stop_at. jansson spends ~40 bytes per value,
 * so bodies are bounded by this count BEFORE they are parsed: a 1 MiB body of
 * tiny values would otherwise cost ~20 MiB. */
size_t gp_json_structure_count(const char *s, size_t len, size_t stop_at);

/* Suggested download file name for a finished request, built from shape,
 * dtype and seed with the format's extension: "glorot_256x512_float32_seed42.npy";
 * a part adds its bounds: "glorot_256x512_float32_seed42_slice0-128x0-512.npy".
 * Plain ASCII, safe in a quoted Content-Disposition. Writes at most size bytes
 * (NUL-terminated, truncated if needed); returns the full length. */
size_t gp_filename(const gp_request *r, char *out, size_t size);

/* v in decimal at out, at least min_digits digits (zero-padded; at most 20),
 * NUL-terminated; returns the length. out holds GP_U64_TEXT_MAX bytes. For
 * text built per request, where snprintf's cost shows. */
#define GP_U64_TEXT_MAX 21
size_t gp_u64_text(uint64_t v, unsigned min_digits, char out[GP_U64_TEXT_MAX]);

/* ---- canonical form and ETag (canonical.c) ------------------------------- */

/* The canonical form of a finished request with its seed: the query string
 * that asks for exactly the same bytes, every parameter explicit and
 * resolved, keys in alphabetical order:
 *   algorithm=chacha20&dtype=float32&fan=mlx&fan_in=512&fan_out=256&format=raw
 *   &gain=1&name=weight&seed=42&shape=256,512
 * plus call= (mlx-seeded only) and slice= (only when the part is not the
 * whole tensor; a shard appears as its slice). Values are percent-encoded
 * except A-Z a-z 0-9 - . _ ~ , : (so it is printable ASCII, fit for a header).
 * Two requests with the same canonical form get the same bytes.
 * Returns GP_OK, or GP_EINTERNAL when r is not finished or has no seed, or
 * the text does not fit in size bytes (GP_CANONICAL_MAX always suffices). */
#define GP_CANONICAL_MAX 2048
gp_code gp_canonical(const gp_request *r, char *out, size_t size, gp_error *err);

/* The strong ETag of a finished request with its seed: a quoted 32-digit
 * lowercase hex BLAKE2b-128 of the canonical form, the algorithm's name and
 * frozen version, and the version of the encoders' byte layout, quotes
 * included: "8f3c...". NUL-terminated. canonical is r's canonical form when
 * the caller already has it (gp_canonical's text), or NULL to compute it
 * here. Errors as gp_canonical. */
#define GP_ETAG_MAX 40
gp_code gp_etag(const gp_request *r, const char *canonical, char out[GP_ETAG_MAX], gp_error *err);

/* If-None-Match (RFC 9110 13.1.2): 1 when value (len bytes: "*" or a
 * comma-separated list of entity tags, W/ allowed) matches etag under the
 * weak comparison, else 0 (also for a malformed list). */
int gp_etag_none_match(const char *value, size_t len, const char *etag);

/* If-Range (RFC 9110 13.1.5): 1 when value (len bytes, surrounding spaces
 * ignored) is exactly the strong etag, else 0 (a date, a weak tag, another
 * tag: the condition is false and the whole body is sent). */
int gp_etag_if_range(const char *value, size_t len, const char *etag);

/* ---- HTTP byte ranges (range.c) ----------------------------------------- */

typedef enum {
    GP_RANGES_IGNORE,       /* not a valid "bytes=" range set (or another unit): send 200 */
    GP_RANGES_ONE,          /* one satisfiable range [*first, *last]: send 206 */
    GP_RANGES_MANY,         /* several ranges, at least one satisfiable: glorotd sends 200 */
    GP_RANGES_UNSATISFIABLE /* no range overlaps the body: send 416 */
} gp_ranges;

/* Parse a Range header value (RFC 9110 14.1.2; len bytes, no NUL needed)
 * against a body of size bytes: "bytes=a-b", "bytes=a-", "bytes=-n", a
 * case-insensitive unit, optional whitespace around commas, empty list
 * elements. A last-pos past the end is clamped; a suffix longer than the
 * body means the whole body; numbers too large for 64 bits saturate. For
 * GP_RANGES_ONE, *first and *last (inclusive) are set. Pure; any input is
 * safe, and the work is linear in len. */
gp_ranges gp_range_parse(const char *value, size_t len, uint64_t size, uint64_t *first,
                         uint64_t *last);

/* ---- batches: a whole model in one answer (batch.c) --------------------- */

/* A parsed and resolved manifest (POST /v1/batch): the tensors in manifest
 * order, each a finished gp_request, and the layout of the one answer
 * (safetensors: every offset known before any value is generated; json: an
 * array of per-tensor KServe objects, streamed). Opaque; gp_batch_free. */
typedef struct gp_batch gp_batch;

typedef struct {
    uint64_t max_tensors;       /* 0 = no cap */
    uint64_t max_bytes;         /* cap on the whole safetensors answer, 0 = no cap */
    uint64_t max_json_elements; /* json: cap on the elements of all tensors, 0 = no cap */
} gp_batch_limits;

/* Parse a JSON manifest (len bytes, no NUL needed) and resolve every tensor
 * through gp_request_set / gp_request_finish (top-level seed, algorithm,
 * dtype, fan, gain, slice, shard are defaults; a tensor may override gain,
 * dtype, fan, slice, shard, fan_in, fan_out). format: GP_FORMAT_SAFETENSORS
 * or GP_FORMAT_JSON (others: GP_EUNSUPPORTED, param "format"). Keys per
 * tensor: chacha20 from (seed, name); mlx-seeded: tensor k (1-based) gets
 * call=k; mlx: every tensor uses key(seed). Errors name the tensor and field
 * in err->param ("tensors[3].shape"); GP_ELIMIT for the caps in lim (NULL =
 * none). A pure function over (buf, len): no I/O, fuzzable (the fuzz target
 * is gp_batch_parse). On success *out is a new batch the caller frees with
 * gp_batch_free; on error *out is NULL. Reentrant. */
gp_code gp_batch_parse(const char *buf, size_t len, gp_format format, const gp_batch_limits *lim,
                       gp_batch **out, gp_error *err);

/* Free a batch. NULL does nothing. */
void gp_batch_free(gp_batch *b);

/* Total bytes of the answer, GP_SIZE_UNKNOWN for json. */
uint64_t gp_batch_size(const gp_batch *b);

/* Copy up to len bytes of the answer from byte offset into buf; returns the
 * count, 0 at the end. safetensors allows any offset; json must be read
 * sequentially from 0. One reader at a time per batch (it caches the
 * tensor being read). */
size_t gp_batch_read(gp_batch *b, uint64_t offset, void *buf, size_t len);

/* The tensors: count, and tensor i (finished, seed set, format raw: its
 * canonical form asks for exactly its bytes in the answer). */
size_t gp_batch_count(const gp_batch *b);
const gp_request *gp_batch_tensor(const gp_batch *b, size_t i);
gp_format gp_batch_format(const gp_batch *b);
/* The strong ETag of the answer (quoted, NUL-terminated): BLAKE2b-128 of the
 * tensors' canonical forms in order and the format. */
const char *gp_batch_etag(const gp_batch *b);
/* Elements of the tensors whose body bytes start in [pos, pos + n) of a
 * safetensors answer (for metrics). For json, which is read front to back,
 * the elements printed since the previous call (pos and n only say whether
 * anything was read: n == 0 counts nothing). */
uint64_t gp_batch_elements_in(gp_batch *b, uint64_t pos, size_t n);
/* The same count split by tensor: fn(user, r, elements) once per tensor i
 * with elements > 0, r = gp_batch_tensor(b, i), in order (for metrics per
 * algorithm and dtype). */
void gp_batch_elements_each(gp_batch *b, uint64_t pos, size_t n,
                            void (*fn)(void *user, const gp_request *r, uint64_t elements),
                            void *user);

#ifdef __cplusplus
}
#endif

#endif /* GLOROT_PROTO_H */
