/*
 * glorot/client.h - libglorot-client: fetch deterministic initialised weight
 * tensors (Glorot, He, uniform, normal, truncated normal, constant, identity)
 * from a glorotd server, or generate the same bytes locally.
 *
 *   glorot_error err = {0};
 *   glorot_client *c = glorot_client_new("http://127.0.0.1:8080", NULL, &err);
 *   glorot_request req;
 *   glorot_request_init(&req);
 *   req.rank = 2; req.shape[0] = 256; req.shape[1] = 512;
 *   req.seed = 42; req.seed_set = 1;
 *   float w[256 * 512];
 *   if (glorot_fetch(c, &req, w, sizeof w, NULL, &err) != GLOROT_OK)
 *       fprintf(stderr, "%s\n", err.message);
 *   glorot_client_free(c);
 *
 * Every request is validated locally (by the same code the server runs)
 * before anything is sent, so a malformed request never reaches the network
 * and a caller always knows the exact byte count in advance.
 *
 * Threads: a glorot_client may be used by one thread at a time; distinct
 * clients may be used from distinct threads concurrently. Functions that take
 * no client are reentrant. The library's only global state is libcurl's and
 * libsodium's one-time initialisation, done thread-safely on first use.
 *
 * Errors: functions return a glorot_code and, when given a glorot_error,
 * explain the first failure in it (a non-GLOROT_OK err->code is kept). Pass
 * err zero-initialised; err may be NULL.
 *
 * Prefix: glorot_ (public). All exported symbols carry it.
 */
#ifndef GLOROT_CLIENT_H
#define GLOROT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GLOROT_API __attribute__((visibility("default")))
#else
#define GLOROT_API
#endif

#define GLOROT_CLIENT_VERSION "0.1.0"
#define GLOROT_MAX_RANK 8
/* glorot_size() for formats whose length is only known once produced (json). */
#define GLOROT_SIZE_UNKNOWN UINT64_MAX
/* glorot_options.retries: never retry. */
#define GLOROT_RETRIES_NONE (-1)

/* ---- errors ------------------------------------------------------------ */

typedef enum glorot_code {
    GLOROT_OK = 0,
    GLOROT_E_INVALID,  /* bad request fields or options, found locally before any transfer */
    GLOROT_E_BUFFER,   /* the caller's buffer is too small for the answer */
    GLOROT_E_CONNECT,  /* cannot reach the server (refused, unresolvable, reset before an answer) */
    GLOROT_E_TIMEOUT,  /* the configured time ran out */
    GLOROT_E_HTTP,     /* the server answered with an error status (see http_status) */
    GLOROT_E_PROTOCOL, /* malformed, inconsistent or short answer (e.g. broken mid-body) */
    GLOROT_E_VERIFY,   /* received bytes differ from local generation */
    GLOROT_E_NOMEM,    /* allocation failed */
    GLOROT_E_ABORTED,  /* the caller's chunk callback asked to stop */
    GLOROT_E_TLS,      /* TLS handshake or certificate verification failed */
    GLOROT_E_INTERNAL  /* a bug in the library or in libcurl's use */
} glorot_code;

typedef struct glorot_error {
    glorot_code code;
    int http_status;      /* the server's status for GLOROT_E_HTTP (else 0 or the last status) */
    char message[256];    /* one sentence; the server's message when it sent one */
    char param[32];       /* the offending parameter, "" when none applies */
    char server_code[32]; /* the server's machine-readable code ("invalid_parameter"), or "" */
} glorot_error;

/* glorot_strerror - generic text for a code.
 * Parameters: code, any value (unknown values get "unknown error").
 * Returns: a static NUL-terminated string, never NULL; do not free.
 * Thread safety: reentrant. */
GLOROT_API const char *glorot_strerror(glorot_code code);

/* glorot_version - the library's version, GLOROT_CLIENT_VERSION of the build.
 * Returns: a static string, never NULL. Thread safety: reentrant. */
GLOROT_API const char *glorot_version(void);

/* ---- client ------------------------------------------------------------ */

typedef enum glorot_verify {
    GLOROT_VERIFY_NONE = 0, /* trust the server */
    GLOROT_VERIFY_SAMPLE,   /* compare ~4096 elements spread over the tensor, the first,
                               the last and every header byte (json: everything) */
    GLOROT_VERIFY_FULL      /* regenerate everything locally and compare */
} glorot_verify;

/* All fields zero = defaults. Strings are copied by glorot_client_new. */
typedef struct glorot_options {
    long connect_timeout_ms;  /* per connection attempt; 0 = 10000 */
    long timeout_ms;          /* whole call including retries and back-off; 0 = no limit */
    long idle_timeout_ms;     /* abort an attempt that receives nothing for this long
                                 (rounded up to whole seconds); 0 = 30000 */
    int retries;              /* extra attempts after a retryable failure; 0 = 3,
                                 GLOROT_RETRIES_NONE = none */
    long retry_base_ms;       /* first back-off delay, doubled per retry; 0 = 250 */
    long retry_max_ms;        /* cap on one delay, also on Retry-After; 0 = 8000 */
    const char *bearer_token; /* sent as "Authorization: Bearer ..."; NULL = none */
    const char *ca_file;      /* PEM bundle for https; NULL = system default */
    const char *user_agent;   /* NULL = "libglorot-client/VERSION" */
    glorot_verify verify;     /* check received bytes against local generation; any mode
                                 but NONE also sends "Want-Repr-Digest: sha-256=10" with
                                 tensor downloads and checks the answer's Repr-Digest
                                 (RFC 9530), when it has one, against the SHA-256 of every
                                 byte received (GLOROT_E_VERIFY on a mismatch) */
} glorot_options;

/* Opaque handle: holds the options and a reusable connection. */
typedef struct glorot_client glorot_client;

/* glorot_client_new - create a client for one server.
 * Parameters: base_url "http://host:port" or "https://host/prefix" (a
 *   trailing '/' is ignored; no query or fragment); opts NULL for defaults;
 *   err may be NULL.
 * Returns: a new client, or NULL with err set: GLOROT_E_INVALID (bad URL, a
 *   token or user agent holding control characters, negative timeouts),
 *   GLOROT_E_NOMEM, GLOROT_E_INTERNAL (libcurl or libsodium failed to start).
 * Ownership: the caller frees the client with glorot_client_free. base_url
 *   and every string in opts are copied; the token copy is wiped on free.
 * Thread safety: may be called from any thread. */
GLOROT_API glorot_client *glorot_client_new(const char *base_url, const glorot_options *opts,
                                            glorot_error *err);

/* glorot_client_free - close connections and free the client. NULL does nothing.
 * Thread safety: not while another thread uses the same client. */
GLOROT_API void glorot_client_free(glorot_client *client);

/* ---- requests ---------------------------------------------------------- */

/* The parameters of GET /v1/<init>. Text fields use the names of the
 * HTTP protocol (docs/PROTOCOL.md) and are NULL for the server's default;
 * they are not copied, so they must stay valid while the request is in use.
 * slice and shard select a part of the tensor (bit-identical to that part of
 * the whole); at most one of them. A shard is split as numpy.array_split
 * does unless split says chunk (torch.chunk, PyTorch DTensor) or even
 * (Megatron-LM, with stride); a part may be empty (zero elements). */
typedef struct glorot_request {
    size_t rank; /* 2..GLOROT_MAX_RANK dimensions (required) */
    uint64_t shape[GLOROT_MAX_RANK];
    const char *gain;       /* "1.5", "relu", "leaky_relu:0.2"; NULL = 1 */
    const char *dtype;      /* float32 | float16 | bfloat16 | float64; NULL = float32 */
    const char *algorithm;  /* chacha20 | mlx | mlx-seeded; NULL = chacha20 */
    const char *fan;        /* mlx | torch | keras; NULL = mlx */
    uint64_t fan_in;        /* 0 = computed from shape and fan */
    uint64_t fan_out;       /* 0 = computed from shape and fan */
    uint64_t seed;          /* used when seed_set is nonzero */
    int seed_set;           /* 0: the server draws a seed (see glorot_meta.seed) */
    uint64_t call;          /* mlx-seeded only, >= 1; 0 = default (1) */
    const char *name;       /* tensor name for npy/safetensors; NULL = "weight" */
    const char *format;     /* raw | npy | safetensors | json; NULL = raw */
    const char *slice;      /* numpy start:stop per axis, "0:128,:,-64:"; NULL = whole tensor */
    uint64_t shard_rank;    /* with shard_world: part shard_rank (0-based) ... */
    uint64_t shard_world;   /* ... of shard_world parts of one axis (see split); 0 = no shard */
    int64_t axis;           /* the shard axis, negative counts from the end; default 0 */
    const char *shard_spec; /* the shards as the protocol writes them, "1/4" or one per axis
                               of a mesh, "1/4,0/2"; NULL = shard_rank/shard_world (not both) */
    const char *axis_spec;  /* the axes as text, one per shard, "0,1"; NULL = axis (not both) */
    const char *split;      /* array_split | chunk | even, one for all shards or one each,
                               "chunk,even"; NULL = array_split (numpy) */
    const char *stride;     /* Megatron's stride, needs split even: "3" or "1,3"; NULL = 1 */
    /* The initializer (GET /v1/<init>) and its own parameters, as the
     * protocol spells them; NULL = the initializer's default. */
    const char *init;     /* glorot_uniform (NULL) | glorot_normal | he_uniform | he_normal |
                             uniform | normal | truncated_normal | constant | zeros | ones |
                             identity */
    const char *mode;     /* he_*: fan_in | fan_out */
    const char *low;      /* uniform: decimal numbers ("-0.5") */
    const char *high;     /* uniform */
    const char *mean;     /* normal, truncated_normal */
    const char *std;      /* normal, truncated_normal */
    const char *a;        /* truncated_normal: absolute lower bound */
    const char *b;        /* truncated_normal: absolute upper bound */
    const char *value;    /* constant */
    uint64_t reserved[4]; /* must stay zero */
} glorot_request;

/* glorot_request_init - fill req with defaults (everything unset, rank 0).
 * Thread safety: reentrant. */
GLOROT_API void glorot_request_init(glorot_request *req);

/* glorot_request_set - set one field from its text form, as the CLI does.
 * Parameters: key is a protocol name (shape, gain, dtype, seed, algorithm,
 *   call, fan, fan_in, fan_out, name, format, slice, shard ("RANK/WORLD",
 *   or several: "1/4,0/2", kept in shard_spec), axis ("-1", or several:
 *   "0,1", kept in axis_spec), split ("chunk", "chunk,even"), stride ("3"),
 *   init, mode, low, high, mean, std, a, b, value); value its text
 *   ("256,512"). Whether the initializer takes a parameter is checked when
 *   the request is used (glorot_size, glorot_fetch, ...).
 * Returns: GLOROT_OK, or GLOROT_E_INVALID naming the key (unknown key, or a
 *   value the server would reject on its own, e.g. "float8" or "12x").
 * Ownership: numbers are parsed into req; for text keys req keeps the value
 *   pointer itself (not a copy), which must outlive req's use.
 * Thread safety: reentrant. */
GLOROT_API glorot_code glorot_request_set(glorot_request *req, const char *key, const char *value,
                                          glorot_error *err);

/* glorot_size - the exact byte count of the answer to req, computed locally.
 * Parameters: req; size receives the count, or GLOROT_SIZE_UNKNOWN for json.
 * Returns: GLOROT_OK, GLOROT_E_INVALID (the server would refuse req),
 *   GLOROT_E_NOMEM. Without a seed a format header that names the seed is
 *   sized for seed 0; glorot_fetch checks the server's exact size anyway.
 * Thread safety: reentrant. */
GLOROT_API glorot_code glorot_size(const glorot_request *req, uint64_t *size, glorot_error *err);

/* What the bytes are: from the server's Glorot-* headers, checked against
 * the request (or, for glorot_generate, from the request). */
typedef struct glorot_meta {
    uint64_t seed;      /* the seed used (drawn by the server if unset) */
    char algorithm[16]; /* "chacha20" */
    char dtype[16];     /* "float32" */
    char format[16];    /* "raw" */
    size_t rank;
    uint64_t shape[GLOROT_MAX_RANK];
    uint64_t fan_in;
    uint64_t fan_out;
    double limit;   /* glorot_uniform, he_uniform: values lie in [-limit, limit]; else 0 */
    char gain[48];  /* canonical gain text: "1", "relu" */
    uint64_t call;  /* mlx-seeded: the call number; else 0 */
    uint64_t numel; /* elements delivered (of the part, for a slice or shard) */
    uint64_t size;  /* body bytes delivered (format header included) */
    /* The part delivered: axis i covers [part_start[i], part_stop[i]) of
     * shape[i] (the whole axis without slice or shard). shape, fans and limit
     * are always those of the full tensor. For a strided shard (stride > 1)
     * these are the bounds of its first and last piece; numel counts the
     * elements delivered. */
    uint64_t part_start[GLOROT_MAX_RANK];
    uint64_t part_stop[GLOROT_MAX_RANK];
    char init[24];          /* the initializer asked for: "he_normal", "zeros" */
    char distribution[192]; /* what it draws, as Glorot-Distribution says:
                               "normal; mean=0; std=0.02" */
} glorot_meta;

/* glorot_describe - what glorot_fetch or glorot_generate would deliver for
 *   req, computed locally without producing a value: the full shape, the
 *   part (part_start/part_stop, numel), fans, limit, dtype, algorithm,
 *   format and size (GLOROT_SIZE_UNKNOWN for json). Lets a caller allocate
 *   the exact array for a slice or shard before fetching into it.
 * Parameters: req; meta receives the description (seed: req's, or 0 when
 *   unset, which the server draws at fetch time); err may be NULL.
 * Returns: GLOROT_OK, GLOROT_E_INVALID (the server would refuse req, or a
 *   NULL argument), GLOROT_E_NOMEM.
 * Thread safety: reentrant. */
GLOROT_API glorot_code glorot_describe(const glorot_request *req, glorot_meta *meta,
                                       glorot_error *err);

/* ---- fetching ---------------------------------------------------------- */

/* glorot_chunk_fn - receives the body in order: offset is the byte position
 * of data within the body; consecutive calls are contiguous. data is valid
 * only during the call. Return 0 to continue, nonzero to stop the transfer
 * (glorot_fetch_stream then returns GLOROT_E_ABORTED). */
typedef int (*glorot_chunk_fn)(void *user, uint64_t offset, const void *data, size_t len);

/* glorot_fetch - download the tensor (or the part of it) for req into buf.
 * Parameters: client; req (validated locally first); buf of buf_size bytes;
 *   meta (may be NULL) receives what was fetched; err may be NULL.
 * Returns: GLOROT_OK when buf holds exactly meta->size bytes, all of them.
 *   GLOROT_E_INVALID (checked locally, nothing sent); GLOROT_E_BUFFER when
 *   buf_size is smaller than the answer: refused before any transfer from the
 *   local size, or on the server's Content-Length; GLOROT_E_CONNECT,
 *   GLOROT_E_TIMEOUT, GLOROT_E_HTTP (err->http_status, message and param from
 *   the server), GLOROT_E_PROTOCOL, GLOROT_E_VERIFY, GLOROT_E_TLS,
 *   GLOROT_E_NOMEM. Never writes past buf_size; after an error buf's
 *   content is unspecified (json answers are sized only as they arrive).
 * Retries: connection failures, timeouts, 503 and 429 (honouring Retry-After) and
 *   transfers broken mid-body are retried with exponential back-off up to
 *   opts.retries times within opts.timeout_ms; a resumed transfer continues
 *   from the byte reached, with the seed of the first answer, so the result is
 *   identical to an unbroken one: binary formats ask for the rest only
 *   ("Range: bytes=N-" with If-Range set to the first answer's ETag); json,
 *   or a server that answers 200 anyway, is asked again and the delivered
 *   prefix skipped. Other error statuses are never retried.
 * Thread safety: one thread at a time per client. */
GLOROT_API glorot_code glorot_fetch(glorot_client *client, const glorot_request *req, void *buf,
                                    size_t buf_size, glorot_meta *meta, glorot_error *err);

/* glorot_fetch_stream - download the tensor for req, handing the body to fn
 * chunk by chunk, in order, each byte exactly once (also across retries).
 * With verification, a chunk is checked before fn sees it.
 * Parameters: as glorot_fetch; fn and user receive the chunks.
 * Returns: as glorot_fetch (without GLOROT_E_BUFFER), plus GLOROT_E_ABORTED
 *   when fn returned nonzero. On error fn may have seen a prefix of the body.
 * Thread safety: one thread at a time per client; fn runs on the caller's thread. */
GLOROT_API glorot_code glorot_fetch_stream(glorot_client *client, const glorot_request *req,
                                           glorot_chunk_fn fn, void *user, glorot_meta *meta,
                                           glorot_error *err);

/* glorot_generate - produce the same bytes locally, without a server.
 * Parameters: req with seed_set (GLOROT_E_INVALID otherwise); buf, buf_size,
 *   meta (may be NULL), err as for glorot_fetch.
 * Returns: GLOROT_OK, GLOROT_E_INVALID, GLOROT_E_BUFFER (checked before
 *   writing, except for json which is checked as it is produced), GLOROT_E_NOMEM.
 * Thread safety: reentrant. */
GLOROT_API glorot_code glorot_generate(const glorot_request *req, void *buf, size_t buf_size,
                                       glorot_meta *meta, glorot_error *err);

/* glorot_generate_stream - glorot_generate handing chunks to fn instead.
 * Returns: as glorot_generate (without GLOROT_E_BUFFER), plus GLOROT_E_ABORTED.
 * Thread safety: reentrant; fn runs on the caller's thread. */
GLOROT_API glorot_code glorot_generate_stream(const glorot_request *req, glorot_chunk_fn fn,
                                              void *user, glorot_meta *meta, glorot_error *err);

/* ---- digests ------------------------------------------------------------ */

/* What GET /v1/digest says about the body a request would get. */
typedef struct glorot_digest_info {
    char sha256[65];      /* lowercase hex SHA-256 of the body */
    uint64_t length;      /* its bytes */
    uint64_t seed;        /* the seed it is for (drawn by the server if unset) */
    char etag[48];        /* the body's strong ETag, quotes included */
    char canonical[3584]; /* the canonical request: every parameter explicit (a long name
                             and a strided part of many pieces need the room) */
} glorot_digest_info;

/* glorot_digest - ask the server for the SHA-256 and length of the body req
 *   would get, without downloading it (the server generates it once).
 * Parameters: client; req (validated locally first; give a seed, or the
 *   digest is of a tensor with a seed drawn for this call only, reported in
 *   out->seed); out receives the answer; err may be NULL.
 * Returns: GLOROT_OK; GLOROT_E_PROTOCOL when the answer is malformed or its
 *   length, seed, ETag or canonical form disagree with the request; otherwise
 *   as glorot_fetch (retried the same way).
 * Thread safety: one thread at a time per client. */
GLOROT_API glorot_code glorot_digest(glorot_client *client, const glorot_request *req,
                                     glorot_digest_info *out, glorot_error *err);

/* glorot_digest_check - check downloaded bytes against a digest.
 * Returns: GLOROT_OK when data (len bytes) has d's length and SHA-256,
 *   GLOROT_E_VERIFY otherwise, GLOROT_E_INVALID for NULL arguments.
 * Thread safety: reentrant. */
GLOROT_API glorot_code glorot_digest_check(const glorot_digest_info *d, const void *data,
                                           size_t len, glorot_error *err);

/* ---- batches: a whole model in one answer (POST /v1/batch) ------------- */

/* What to ask /v1/batch for (docs/BATCH.md). Nothing is copied; the
 * manifest must stay valid during the call. */
typedef struct glorot_batch_request {
    const char *manifest;   /* the JSON manifest text (required) */
    size_t manifest_len;    /* its bytes; 0 = strlen(manifest) */
    uint64_t shard_rank;    /* with shard_world: replace the manifest's top-level shard ... */
    uint64_t shard_world;   /* ... by part shard_rank of shard_world; 0 = keep the manifest's */
    int64_t axis;           /* the shard axis when axis_set ... */
    int axis_set;           /* ... else the manifest's shard axis, else 0 */
    const char *shard_spec; /* the override as the protocol writes it, "1/4" or one per axis
                               of a mesh, "1/4,0/2"; NULL = shard_rank/shard_world (not both) */
    const char *axis_spec;  /* the axes, one per shard, "0,1"; NULL = axis (not both) */
    const char *split;      /* array_split | chunk | even, one or one per shard; needs a shard */
    const char *stride;     /* Megatron's stride ("3", "1,3"), needs split even and a shard */
    const char *format;     /* safetensors | json; NULL = safetensors (json: glorot_batch_stream
                               only, delivered whole as GLOROT_BATCH_HEADER chunks) */
    uint64_t reserved[4];   /* must stay zero */
} glorot_batch_request;

/* glorot_batch_request_init - fill breq with defaults (no manifest, no override).
 * Thread safety: reentrant. */
GLOROT_API void glorot_batch_request_init(glorot_batch_request *breq);

/* One tensor of a safetensors batch answer, from the server's header. */
typedef struct glorot_batch_tensor {
    char name[257]; /* NUL-terminated, 1..256 bytes */
    char dtype[16]; /* "float32" | "float16" | "bfloat16" | "float64" */
    size_t rank;
    uint64_t shape[GLOROT_MAX_RANK]; /* of the part sent (after slice or shard) */
    uint64_t offset; /* of its first byte within the tensor data (after the header) */
    uint64_t size;   /* its bytes: product(shape) * element size */
} glorot_batch_tensor;

/* What a batch answer held. */
typedef struct glorot_batch_info {
    uint64_t seed;                /* Glorot-Seed of the answer */
    char etag[48];                /* the server's strong ETag of the answer, quotes included */
    uint64_t size;                /* body bytes */
    uint64_t header_size;         /* safetensors: 8 + the header's length; the data starts here */
    size_t count;                 /* tensors in the answer (0 for json) */
    glorot_batch_tensor *tensors; /* count entries in answer (manifest) order; the
                                     caller's, freed with glorot_free; NULL on error */
} glorot_batch_info;

/* glorot_batch_fetch flags. */
#define GLOROT_BATCH_SKIP_UNLISTED                                                                 \
    1u /* tensors without a buffer are received and dropped                                        \
          (default: GLOROT_E_BUFFER before any tensor byte) */

/* A caller buffer for the tensor called name (glorot_batch_fetch). */
typedef struct glorot_batch_buffer {
    const char *name; /* the tensor's name in the manifest */
    void *buf;        /* receives exactly the tensor's bytes (safetensors layout, little-endian) */
    size_t size;      /* buf's bytes: at least the tensor's */
} glorot_batch_buffer;

/* The body's bytes that belong to no tensor: the safetensors header, or a json answer. */
#define GLOROT_BATCH_HEADER ((size_t)-1)

/* One piece of a batch answer, handed over in body order, each byte once. */
typedef struct glorot_batch_chunk {
    size_t index;                      /* tensor index, or GLOROT_BATCH_HEADER */
    const glorot_batch_tensor *tensor; /* that tensor (NULL for GLOROT_BATCH_HEADER) */
    uint64_t offset;                   /* of data within the tensor (or within the header) */
    uint64_t body_offset;              /* of data within the whole answer */
    const void *data;                  /* valid only during the call */
    size_t len;
} glorot_batch_chunk;

/* Return 0 to continue, nonzero to stop (the call returns GLOROT_E_ABORTED). */
typedef int (*glorot_batch_fn)(void *user, const glorot_batch_chunk *chunk);

/* glorot_batch_fetch - POST the manifest to /v1/batch and write each tensor
 *   of the safetensors answer into the caller's buffer of the same name.
 * Parameters: client; breq (format must be NULL or "safetensors"); bufs, a
 *   table of nbufs buffers with distinct names; flags 0 or
 *   GLOROT_BATCH_SKIP_UNLISTED; info (may be NULL) receives the tensors;
 *   err may be NULL.
 * Returns: GLOROT_OK when every listed buffer holds its tensor's bytes.
 *   GLOROT_E_INVALID (bad breq, manifest not a JSON object, duplicate buffer
 *   names: nothing sent; or a buffer naming no tensor of the answer, param
 *   "buffers[i]"); GLOROT_E_BUFFER when a buffer is too small or a tensor has
 *   none (without the flag): both found from the server's header, before any
 *   tensor byte is received into a buffer; GLOROT_E_PROTOCOL when the header
 *   is malformed (offsets not contiguous from 0 or not matching the body,
 *   unknown dtype, sizes not shape times element size, over 64 MiB);
 *   otherwise as glorot_fetch (GLOROT_E_HTTP carries the server's status,
 *   message and param such as "tensors[1].shape").
 * Retries: as glorot_fetch: a broken answer resumes with "Range: bytes=N-"
 *   and If-Range set to the server's ETag, so no byte is written twice.
 *   opts.verify does not apply to batches.
 * Ownership: info->tensors is the caller's (glorot_free).
 * Thread safety: one thread at a time per client. */
GLOROT_API glorot_code glorot_batch_fetch(glorot_client *client, const glorot_batch_request *breq,
                                          const glorot_batch_buffer *bufs, size_t nbufs,
                                          unsigned flags, glorot_batch_info *info,
                                          glorot_error *err);

/* glorot_batch_stream - POST the manifest to /v1/batch and hand the answer
 *   to fn: first the whole safetensors header (one GLOROT_BATCH_HEADER
 *   chunk, once it is parsed and checked), then each tensor's bytes in
 *   order, split at tensor boundaries. A json answer (breq->format "json")
 *   is handed over as GLOROT_BATCH_HEADER chunks as it arrives.
 * Parameters: client; breq; fn and user receive the chunks; info (may be
 *   NULL) as for glorot_batch_fetch; err may be NULL.
 * Returns: as glorot_batch_fetch (without GLOROT_E_BUFFER), plus
 *   GLOROT_E_ABORTED when fn returned nonzero. On error fn may have seen a
 *   prefix of the answer.
 * Thread safety: one thread at a time per client; fn runs on the caller's thread. */
GLOROT_API glorot_code glorot_batch_stream(glorot_client *client, const glorot_batch_request *breq,
                                           glorot_batch_fn fn, void *user, glorot_batch_info *info,
                                           glorot_error *err);

/* glorot_batch_manifest - the manifest text glorot_batch_fetch and
 *   glorot_batch_stream send for breq: breq->manifest with the shard
 *   override (shard_rank/shard_world or shard_spec, axis, split, stride)
 *   written in as its top-level "shard" (an object, or a list of objects for
 *   several shards). For generating a batch locally (gp_batch, `glorot batch
 *   --local`) exactly as the server would.
 * Parameters: breq as for glorot_batch_fetch; manifest receives the text
 *   (NUL-terminated); err may be NULL.
 * Returns: GLOROT_OK; GLOROT_E_INVALID (bad breq, a shard the server would
 *   refuse on its own, a manifest that is not a JSON object when there is an
 *   override), GLOROT_E_NOMEM.
 * Ownership: *manifest is the caller's, freed with glorot_free; NULL on error.
 * Thread safety: reentrant. */
GLOROT_API glorot_code glorot_batch_manifest(const glorot_batch_request *breq, char **manifest,
                                             glorot_error *err);

/* glorot_batch_plan - the tensors a safetensors answer to breq will hold,
 *   computed locally from the manifest without a server or any value:
 *   names, dtypes, shapes of the parts, offsets and sizes, the ETag and the
 *   body's size. Lets a caller allocate each tensor's buffer before
 *   glorot_batch_fetch or glorot_batch_generate.
 * Parameters: breq (format NULL or "safetensors"; the manifest needs its
 *   seed, as for the server); info receives the layout; err may be NULL.
 * Returns: GLOROT_OK; GLOROT_E_INVALID when the server would refuse the
 *   manifest (err->param names the field, "tensors[1].shape"), also for bad
 *   breq fields; GLOROT_E_NOMEM. The server's own caps (--max-batch-*) are
 *   not known here.
 * Ownership: info->tensors is the caller's (glorot_free).
 * Thread safety: reentrant. */
GLOROT_API glorot_code glorot_batch_plan(const glorot_batch_request *breq, glorot_batch_info *info,
                                         glorot_error *err);

/* glorot_batch_generate - glorot_batch_fetch without a server: each tensor
 *   of the manifest is produced locally, straight into the caller's buffer
 *   of the same name, byte-identical to what /v1/batch sends for it (the
 *   same proto code resolves the manifest and generates the values).
 * Parameters: as glorot_batch_fetch without the client (format NULL or
 *   "safetensors").
 * Returns: GLOROT_OK when every listed buffer holds its tensor's bytes;
 *   GLOROT_E_INVALID (bad breq or manifest, duplicate buffer names, a buffer
 *   naming no tensor); GLOROT_E_BUFFER (a buffer too small, or a tensor
 *   without one unless GLOROT_BATCH_SKIP_UNLISTED), both before any value
 *   is written; GLOROT_E_NOMEM. info as for glorot_batch_fetch, with the
 *   manifest's seed and the ETag the server would send.
 * Ownership: info->tensors is the caller's (glorot_free).
 * Thread safety: reentrant. */
GLOROT_API glorot_code glorot_batch_generate(const glorot_batch_request *breq,
                                             const glorot_batch_buffer *bufs, size_t nbufs,
                                             unsigned flags, glorot_batch_info *info,
                                             glorot_error *err);

/* glorot_batch_generate_stream - glorot_batch_stream without a server: the
 *   whole answer /v1/batch sends for breq, produced locally and handed to fn
 *   in body order: the safetensors header as GLOROT_BATCH_HEADER chunks, then
 *   each tensor's bytes split at tensor boundaries; a json body (breq->format
 *   "json") as GLOROT_BATCH_HEADER chunks. Chunks are at most 1 MiB.
 * Parameters: breq (format NULL, "safetensors" or "json"); fn and user
 *   receive the chunks; info (may be NULL) as for glorot_batch_generate,
 *   filled on success (count 0 for json); err may be NULL.
 * Returns: GLOROT_OK; GLOROT_E_INVALID (bad breq or manifest: err->param
 *   names the field, as the server would); GLOROT_E_ABORTED when fn returned
 *   nonzero; GLOROT_E_NOMEM. On error fn may have seen a prefix of the body.
 * Ownership: info->tensors is the caller's (glorot_free).
 * Thread safety: reentrant; fn runs on the caller's thread. */
GLOROT_API glorot_code glorot_batch_generate_stream(const glorot_batch_request *breq,
                                                    glorot_batch_fn fn, void *user,
                                                    glorot_batch_info *info, glorot_error *err);

/* ---- service ----------------------------------------------------------- */

/* glorot_health - GET /healthz once (no retries), with the client's timeouts.
 * Returns: GLOROT_OK on 200; GLOROT_E_HTTP, GLOROT_E_CONNECT,
 *   GLOROT_E_TIMEOUT, GLOROT_E_TLS, GLOROT_E_NOMEM otherwise.
 * Thread safety: one thread at a time per client. */
GLOROT_API glorot_code glorot_health(glorot_client *client, glorot_error *err);

/* glorot_info - GET /v1/info (retried like a fetch).
 * Parameters: json receives the server's JSON object as NUL-terminated text.
 * Returns: GLOROT_OK; GLOROT_E_PROTOCOL if the answer is not a JSON object
 *   or exceeds 1 MiB; otherwise as glorot_health.
 * Ownership: *json is the caller's, freed with glorot_free; NULL on error.
 * Thread safety: one thread at a time per client. */
GLOROT_API glorot_code glorot_info(glorot_client *client, char **json, glorot_error *err);

/* glorot_free - free memory the library returned (glorot_info,
 * glorot_batch_info.tensors, glorot_batch_manifest). NULL does nothing. */
GLOROT_API void glorot_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* GLOROT_CLIENT_H */
