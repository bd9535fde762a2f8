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
 * Errors and misuse: anything a request controls (keys, values, limits) is
 * returned as a gp_code with a message in a caller's gp_error (may be NULL).
 * Programming errors are not request errors and abort(), as libsodium does:
 *   gp_request_set       r NULL, r already finished, key or value NULL
 *                        with a nonzero length;
 *   gp_request_set_json  r NULL, or json NULL with a nonzero length;
 *   gp_request_finish    r NULL;
 *   gp_gen_init          g or r NULL;
 *   gp_gen_fill          g NULL, out NULL with count > 0, or [first,
 *                        first + count) not inside [0, numel);
 *   gp_shape_text        rank > GP_MAX_RANK.
 * The functions that need a finished request check it and return
 * GP_EINTERNAL instead (gp_body_init, gp_canonical).
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
/* How `shard` cuts an axis of n elements into WORLD parts (docs/PROTOCOL.md):
 * numpy.array_split (the first n % WORLD parts one longer), torch.chunk
 * (parts of ceil(n / WORLD), trailing ones short or empty: DTensor Shard),
 * even (Megatron-LM: WORLD * stride must divide n). */
typedef enum { GP_SPLIT_ARRAY_SPLIT, GP_SPLIT_CHUNK, GP_SPLIT_EVEN } gp_split;
#define GP_MAX_STRIDE 64 /* largest `stride` */

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
size_t gp_dtype_size(gp_dtype d); /* 4, 2, 2, 8 */
/* A dtype as a file format names it: npy's descr ("<f4", "<f2", "<V2",
 * "<f8"), safetensors' dtype ("F32", "F16", "BF16", "F64") and the KServe v2
 * datatype ("FP32", "FP16", "BF16", "FP64"); and back (0, or -1 for a tag
 * naming none). */
typedef enum { GP_TAG_NPY, GP_TAG_SAFETENSORS, GP_TAG_KSERVE } gp_dtype_tag_of;
const char *gp_dtype_tag(gp_dtype d, gp_dtype_tag_of format);
int gp_dtype_from_tag(gp_dtype_tag_of format, const char *tag, gp_dtype *out);
const char *gp_split_name(gp_split s);      /* "array_split", "chunk", "even" */
const char *gp_init_name(gp_initializer i); /* "glorot_uniform", ... */
const char *gp_dist_name(gp_dist d);        /* "uniform", "normal", "truncated_normal", ... */
const char *gp_mode_name(gp_mode m);        /* "fan_in", "fan_out" */
int gp_algorithm_version(gp_algorithm a);   /* GP_CHACHA20_VERSION, GP_MLX_VERSION */

/* Each enumeration above has one table of names (proto/base/names.c) that
 * the gp_*_name functions print, the request parser accepts and listings
 * (/v1/info) iterate. */
typedef enum {
    GP_NAMES_DTYPE,
    GP_NAMES_ALGORITHM,
    GP_NAMES_FAN,
    GP_NAMES_FORMAT,
    GP_NAMES_SPLIT,
    GP_NAMES_DIST,
    GP_NAMES_MODE
} gp_names_of;

/* Name i of which: the canonical names first, in value order, then the
 * aliases accepted on input (fan=jax); NULL when i is past the last. *value
 * and *alias (each may be NULL) receive the value it names and whether it is
 * an alias. The strings are static. */
const char *gp_name_at(gp_names_of which, size_t i, int *value, int *alias);

/* The value named s[0..n) (canonical or alias) into *value. Returns 0, or -1
 * when which has no such name. */
int gp_name_value(gp_names_of which, const char *s, size_t n, int *value);

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
 * ones after constant); *count receives how many (GP_INIT_COUNT, a constant
 * for tables sized by it, such as the server's per-endpoint counters).
 * Static; never NULL. */
#define GP_INIT_COUNT 11
const gp_init_info *gp_inits(size_t *count);
/* The entry whose wire name is name[0..len), or NULL. */
const gp_init_info *gp_init_find(const char *name, size_t len);
/* The keys initializers take beyond the common ones, in wire order: "gain",
 * "mode", "low", "high", "mean", "std", "a", "b", "value" for i = 0..8
 * (GP_INIT_PARAM_COUNT of them), then NULL. Every gp_init_info.params entry
 * is one of them. Static strings. */
#define GP_INIT_PARAM_COUNT 9
const char *gp_init_param(size_t i);
/* 1 when the value of key (one of gp_init_param's) is a name from a table
 * (mode: GP_NAMES_MODE), with *which set; else 0. For listings. */
int gp_init_param_names(const char *key, gp_names_of *which);

/* ---- request ------------------------------------------------------------ */

typedef struct {
    uint64_t max_elements;      /* 0 = no cap */
    uint64_t max_bytes;         /* cap on the tensor's data bytes, 0 = no cap */
    uint64_t max_json_elements; /* format=json: cap on the elements, 0 = no cap */
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

    /* Slices and shards, as asked (keys slice, shard, axis, split, stride). */
    size_t slice_axes;                  /* axes given in `slice`; 0 = no slice */
    int64_t slice_from[GP_MAX_RANK];    /* numpy start (of the first piece), or GP_SLICE_OMITTED */
    int64_t slice_to[GP_MAX_RANK];      /* numpy stop (of the first piece), or GP_SLICE_OMITTED */
    uint64_t slice_pieces[GP_MAX_RANK]; /* pieces on the axis ("0:2;4:6" is 2); 1 = plain */
    uint64_t slice_step[GP_MAX_RANK];   /* distance between piece starts, when pieces > 1 */
    size_t shard_count;                 /* shards given in `shard` ("0/2,1/4" is 2); 0 = none */
    uint64_t shard_rank[GP_MAX_RANK];   /* shard k: part shard_rank[k] of shard_world[k] */
    uint64_t shard_world[GP_MAX_RANK];
    size_t axis_count;               /* values given in `axis`; 0 = the default, 0 */
    int64_t shard_axis[GP_MAX_RANK]; /* negative counts from the end */
    size_t split_count;              /* values given in `split`: 0 (array_split), 1 or one
                                        per shard */
    gp_split shard_split[GP_MAX_RANK];
    size_t stride_count; /* values given in `stride`: 0 (1), 1 or one per shard */
    uint64_t shard_stride[GP_MAX_RANK];

    /* Resolved by gp_request_finish: the part of the tensor that is sent.
     * Axis i covers [part_start[i], part_stop[i]) of shape[i]; without slice
     * or shard that is the whole tensor. numel, nbytes, the fans and the
     * limit always describe the FULL shape (the values of a part are those
     * of the whole); out_* describe the elements and bytes actually sent. */
    uint64_t part_start[GP_MAX_RANK];
    uint64_t part_stop[GP_MAX_RANK];
    /* A strided shard (stride > 1) takes several pieces of an axis: axis i
     * holds piece_count[i] pieces of piece_len[i] elements, piece j starting
     * at part_start[i] + j * piece_step[i]; part_stop[i] is the end of the
     * last one. Contiguous axes have one piece (piece_len = the length). An
     * empty part has one empty piece per empty axis and starts at 0 on every
     * axis: its shape alone describes it. */
    uint64_t piece_len[GP_MAX_RANK];
    uint64_t piece_count[GP_MAX_RANK];
    uint64_t piece_step[GP_MAX_RANK];
    uint64_t out_shape[GP_MAX_RANK]; /* piece_count * piece_len; may be 0 */
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
 * per axis, no steps; "0:2;4:6" lists equally long, evenly spaced pieces of
 * an axis), shard ("RANK/WORLD", or several: "0/2,1/4"), axis (the shard
 * axis, may be negative; one per shard: "0,1"), split (array_split | chunk |
 * even, one for all shards or one per shard), stride (1..GP_MAX_STRIDE, the
 * same), init (an initializer's wire name, gp_inits), mode (fan_in |
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
 * the part sent (out_numel, out_nbytes; max_json_elements only with
 * format=json), all GP_ELIMIT naming shape, overflow of every product of the
 * full shape, float64 with mlx/mlx-seeded (GP_EUNSUPPORTED), `call` only with
 * mlx-seeded, numel < 2^32 (full shape) for the mlx generators, the
 * initializer's rank range and parameters (a parameter it does not take is
 * GP_EPARAM naming it; so are std <= 0, low > high, a >= b and values not
 * finite in the dtype), then the distribution (dist_*). Slices and shards:
 * slice and shard exclude each other, axis, split and stride need shard, a
 * slice may name at most rank axes (later axes are whole); bounds are
 * clamped like numpy's; split=even needs WORLD x stride to divide the axis,
 * stride > 1 needs split=even, several shards need one axis each. A part
 * with no elements is an answer (out_numel 0), as numpy and torch give one. */
gp_code gp_request_finish(gp_request *r, const gp_limits *lim, gp_error *err);

/* The resolved part of a finished request as text, one "start:stop" per
 * axis, and "start:stop;start:stop;..." for an axis of several pieces:
 * "0:128,0:512", "0:2;4:6;8:10,0:16" (what the Glorot-Slice header and the
 * canonical form carry; `slice=` reads it back). Writes at most size bytes,
 * NUL-terminated (truncated if needed; GP_PART_TEXT_MAX always suffices for
 * a finished request: gp_request_finish refuses parts whose text is
 * longer); returns the full length. */
#define GP_PART_TEXT_MAX 1024
size_t gp_part_text(const gp_request *r, char *out, size_t size);

/* The shards of a finished request as asked, with defaults filled in and
 * axes made non-negative, for the Glorot-Shard header: "1/4; axis=0;
 * split=chunk; stride=1", several joined by ", ". "" without shards. Writes
 * at most size bytes, NUL-terminated; returns the full length. */
#define GP_SHARD_TEXT_MAX (GP_MAX_RANK * 96)
size_t gp_shard_text(const gp_request *r, char *out, size_t size);

/* Set shard (and axis, split, stride) from the JSON form of a "shard" value
 * (len bytes of JSON text): a "R/W" string, an object {"rank": R, "world": W,
 * "axis": A, "split": "chunk", "stride": N} (axis, split and stride
 * optional), or a list of such objects, one per shard (axis in all of them
 * or none). Errors as gp_request_set. */
gp_code gp_request_set_shard_json(gp_request *r, const char *json, size_t len, gp_error *err);

/* Set parameters from a JSON request body (len bytes of JSON text, no NUL
 * needed; json may be NULL when len is 0): an object whose members are
 * parameters, each given to gp_request_set as the equivalent query text - a
 * string as it is, an integer in decimal, a real in "%.17g" with ".0" added
 * when it would read as an integer (a seed of 42.0 is refused), shape as an
 * array of integers ([256, 512] is "256,512"), axis and stride as arrays of
 * integers and split as an array of names, one per shard ("0,1"), shard
 * also as gp_request_set_shard_json reads it (an object or a list of them).
 * Errors: GP_EPARAM when the body itself is refused - empty, not valid JSON,
 * a key given twice, an integer beyond 9223372036854775807, not an object,
 * or more than GP_JSON_MAX_STRUCTURE structure characters ({ [ : , outside
 * strings; counted before parsing, as jansson spends ~40 bytes per value) -
 * with param "" and *malformed set to 1; GP_EPARAM naming the key for a
 * member of another type (true, false, null, an object, an array for any
 * other key) with *malformed 0; then whatever gp_request_set reports (also
 * *malformed 0). malformed may be NULL. Members are applied in order, so the
 * ones before a failing member stay set. Nothing is kept of json. */
#define GP_JSON_MAX_STRUCTURE 256
gp_code gp_request_set_json(gp_request *r, const char *json, size_t len, int *malformed,
                            gp_error *err);

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

/* The finite double a strict decimal s[0..n) names, read as every real
 * parameter is: [-] (D+ [. D*] | . D+) [(e|E) [+|-] D+], at most 64
 * characters, C locale (no blanks, no '+', no hex, inf or nan). 0 with *out
 * set, or -1 (*out untouched). Reentrant. */
int gp_parse_real(const char *s, size_t n, double *out);

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
    uint64_t json_counted;  /* elements already reported by gp_body_elements_each */
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

/* Receives a count of elements (tensor values) of request r, for metrics. */
typedef void (*gp_elements_fn)(void *user, const gp_request *r, uint64_t elements);

/* The elements in body bytes [pos, pos + n) just read, for metrics: calls
 * fn(user, r, count) with r the body's request when count > 0. Binary
 * formats count the elements whose first byte lies in the range (so a
 * range split anywhere counts each element once); json, read front to
 * back, counts the elements printed since the previous call. */
void gp_body_elements_each(gp_body *b, uint64_t pos, size_t n, gp_elements_fn fn, void *user);

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

/* ---- text toolkit (base/text.c) -------------------------------------------- */

/* Why gp_parse_u64 refused a text (GP_U64_OK: it did not). */
typedef enum {
    GP_U64_OK = 0,
    GP_U64_EMPTY,  /* n == 0 */
    GP_U64_SYNTAX, /* a byte other than '0'..'9' (no sign, space or prefix) */
    GP_U64_LONG,   /* digits only, but more than max_len of them */
    GP_U64_RANGE   /* digits only, but the value is below min, above max or above 2^64-1 */
} gp_u64_status;

/* gp_parse_u64 - a strict unsigned decimal integer.
 *   Does:    reads s[0..n) (not NUL-terminated) as decimal digits only;
 *            leading zeros are allowed. The checks run in the order of
 *            gp_u64_status, so a text with a bad byte is GP_U64_SYNTAX
 *            however long or large it is.
 *   Params:  min, max - the accepted values (inclusive); max_len - the most
 *            characters accepted, leading zeros included, or 0 for any.
 *   Returns: GP_U64_OK with *out set, or the first reason it failed
 *            (*out untouched). Never overflows, whatever the text.
 *   Owns:    nothing. Threads: reentrant. */
gp_u64_status gp_parse_u64(const char *s, size_t n, uint64_t min, uint64_t max, size_t max_len,
                           uint64_t *out);

/* The longest gp_shape_text of GP_MAX_RANK dimensions, with its NUL. */
#define GP_SHAPE_TEXT_MAX (GP_MAX_RANK * GP_U64_TEXT_MAX)

/* gp_shape_text - a shape as the shape= parameter writes it: "256,512".
 *   Does:    joins shape[0..rank) in decimal with ',' (rank 0: "").
 *   Params:  rank <= GP_MAX_RANK (more aborts: a programming error); out has
 *            size bytes; GP_SHAPE_TEXT_MAX always suffices.
 *   Returns: the full text's length; out holds it NUL-terminated, truncated
 *            to size - 1 bytes like snprintf (nothing written when size is 0).
 *   Owns:    nothing. Threads: reentrant. */
size_t gp_shape_text(const uint64_t *shape, size_t rank, char *out, size_t size);

/* ---- canonical form and ETag (canonical.c) ------------------------------- */

/* The canonical form of a finished request with its seed: the query string
 * that asks for exactly the same bytes, every parameter explicit and
 * resolved, keys in alphabetical order:
 *   algorithm=chacha20&dtype=float32&fan=mlx&fan_in=512&fan_out=256&format=raw
 *   &gain=1&name=weight&seed=42&shape=256,512
 * plus call= (mlx-seeded only) and slice= (only when the part is not the
 * whole tensor; a shard appears as its slice, pieces and all, so requests
 * for the same elements share one form). Values are percent-encoded
 * except A-Z a-z 0-9 - . _ ~ , : (so it is printable ASCII, fit for a header).
 * Two requests with the same canonical form get the same bytes.
 * Returns GP_OK, or GP_EINTERNAL when r is not finished or has no seed, or
 * the text does not fit in size bytes (GP_CANONICAL_MAX always suffices). */
#define GP_CANONICAL_MAX 3584 /* main's 2048 plus a part of several pieces */
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
/* The elements (tensor values) in answer bytes [pos, pos + n), for metrics,
 * as gp_body_elements_each counts them: fn(user, r, elements) once per
 * tensor i with elements > 0, r = gp_batch_tensor(b, i), in order. For
 * safetensors the elements whose bytes start in the range; for json, which
 * is read front to back, those printed since the previous call (pos and n
 * only say whether anything was read: n == 0 counts nothing). */
void gp_batch_elements_each(gp_batch *b, uint64_t pos, size_t n, gp_elements_fn fn, void *user);

/* ---- RFC 9530 digest fields (digest_fields.c) ------------------------------- */

/* The hashing algorithms glorotd offers, by their RFC 9530 5 names. */
typedef enum { GP_DIGEST_NONE = 0, GP_DIGEST_SHA256 = 1, GP_DIGEST_SHA512 = 2 } gp_digest_alg;

/* "sha-256", "sha-512"; "" for GP_DIGEST_NONE. */
const char *gp_digest_alg_name(gp_digest_alg a);
/* Hash bytes: 32, 64; 0 for GP_DIGEST_NONE. */
size_t gp_digest_alg_size(gp_digest_alg a);

/* A Want-Repr-Digest or Want-Content-Digest field (RFC 9530 4): a
 * Structured Field Dictionary of algorithm = preference (Integer 0..10, 0 =
 * not acceptable). Unknown algorithms, and values that are not an Integer
 * in range, are ignored; a field that is not a valid Dictionary is ignored
 * as a whole (RFC 8941 4.2). */
typedef struct {
    int present; /* at least one line was added */
    int invalid; /* a line failed to parse: the whole field is ignored */
    int pref[3]; /* by gp_digest_alg; -1 = not named */
} gp_want_digest;

void gp_want_digest_init(gp_want_digest *w);
/* Add one field line (a field sent on several lines is their concatenation
 * with commas: add them in order; a later member overrides an earlier). */
void gp_want_digest_add(gp_want_digest *w, const char *value, size_t len);
/* The algorithm to answer with: the offered one with the highest preference
 * above 0, sha-256 on a tie; GP_DIGEST_NONE when the field is absent,
 * invalid, or accepts neither. */
gp_digest_alg gp_want_digest_choice(const gp_want_digest *w);

/* Longest value gp_digest_field writes: "sha-512=:" 88 base64 ":" and NUL. */
#define GP_DIGEST_FIELD_MAX 100
/* A Repr-Digest / Content-Digest value for one digest, as RFC 9530's
 * examples write it: "sha-256=:<base64 with padding>:". hash holds
 * gp_digest_alg_size(a) bytes. Returns the length written (NUL not
 * counted), 0 when size is too small or a is GP_DIGEST_NONE. */
size_t gp_digest_field(gp_digest_alg a, const unsigned char *hash, char *out, size_t size);
/* Find algorithm a in a Repr-Digest / Content-Digest value of len bytes:
 * 1 with its gp_digest_alg_size(a) bytes in hash; 0 when the field does not
 * name a; -1 when the field is not a valid Dictionary or a's value is not a
 * Byte Sequence of the right length. */
int gp_digest_field_find(const char *value, size_t len, gp_digest_alg a, unsigned char *hash);

#ifdef __cplusplus
}
#endif

#endif /* GLOROT_PROTO_H */
