/*
 * jobs.h - digest work off the request threads.
 *
 * A digest (GET /v1/digest, or the pass a Want-Repr-Digest /
 * Want-Content-Digest answer needs before its headers) costs a whole
 * generation: 16 GiB for a 65536x65536 float32 tensor. Done on a
 * libmicrohttpd worker it holds that thread, and every connection it serves,
 * for as long. Instead the handler suspends the connection
 * (MHD_suspend_connection; the daemon runs with MHD_ALLOW_SUSPEND_RESUME),
 * hands a job to a fixed pool of --max-digest-jobs digest threads, and
 * returns. The thread hashes block by block, checking between blocks for a
 * stop signal and for a client that hung up, then resumes the connection
 * (MHD_resume_connection; MHD_USE_ITC wakes the polling thread) and MHD calls
 * the access handler again, which answers from the job (gd_job_answer).
 * Above --max-digest-jobs jobs the answer is 503 busy with Retry-After.
 *
 * Finished digests of whole representations are kept in a small cache (256
 * entries, least recently used replaced) keyed by what fixes the bytes (a
 * tensor's canonical form, which names its format and part; a batch's
 * ETag): a digest can never change, so a repeat answers at once.
 *
 * Process-wide state (docs/GLOBAL_STATE.md): the pool and the cache, each
 * behind its own mutex.
 */
#ifndef GLOROTD_JOBS_H
#define GLOROTD_JOBS_H

#include "tensor.h"

#include <stddef.h>
#include <stdint.h>

/* Digests of a run of body bytes: SHA-256 always, SHA-512 when asked for. */
typedef struct {
    unsigned char sha256[32];
    unsigned char sha512[64];
    int has512;
    uint64_t length;
} gd_hashes;

/* The cache key of a representation: "t " + canonical form, or "b " + a
 * batch's ETag. */
#define GD_DIGEST_KEY_MAX (GP_CANONICAL_MAX + 8)

typedef enum { GD_JOB_DIGEST, GD_JOB_STREAM } gd_job_kind;

/* What an answer with digest fields needs: the algorithms chosen from the
 * Want-* fields (GP_DIGEST_NONE = not sent) and the digests. */
typedef struct {
    gp_digest_alg repr, content;
    gd_hashes full; /* the whole representation (Repr-Digest; Content-Digest of a 200) */
    gd_hashes part; /* the bytes of a 206 (its Content-Digest) */
} gd_digests;

/* One job. The handler fills the first part, gd_job_submit queues it; the
 * digest thread fills the results; after the resume the handler reads them
 * in gd_job_answer. Owned by its request (req->job), freed with it. */
typedef struct gd_job {
    gd_job_kind kind;
    gd_req *req;
    struct MHD_Connection *c;
    int fd; /* the client's socket, polled for a hang-up between blocks */
    /* what to hash */
    int from_batch;                   /* req->batch (safetensors); else body below */
    int want_full;                    /* hash the whole representation */
    int want512;                      /* SHA-512 too */
    uint64_t part_first, part_length; /* also hash these bytes apart (206) */
    char key[GD_DIGEST_KEY_MAX];      /* the cache key of the whole */
    /* results */
    gd_error e;      /* e.status != 0: failed (503 shutting_down, 500) */
    int client_gone; /* the client hung up: no answer */
    gd_hashes full, part;
    int counted; /* in srv->inflight until answered */
    /* how to answer afterwards (stream.c, digest.c) */
    union {
        gd_tensor t;
        unsigned char raw[sizeof(gd_tensor)];
    } ctx;
    gd_answer a;
    gd_range_plan plan;
    gd_digests d;
    struct gd_job *next; /* the pool's queue */
    gp_body body;        /* a tensor's own encoder (last: large) */
} gd_job;

/* Start n digest threads (n = --max-digest-jobs) for srv. 0 or -1. */
int gd_jobs_start(gd_server *srv, unsigned n);
/* Wait until no connection is left suspended (every job has resumed its
 * connection), at most timeout_ms; 0, or -1 on time-out. Called after the
 * stop flag is set and before MHD_stop_daemon, which must not meet a
 * suspended connection. */
int gd_jobs_quiesce(long timeout_ms);
/* Stop and join the threads (queued jobs are not run). */
void gd_jobs_stop(void);

/* A new job for req (zeroed, kind set, counted nowhere yet), attached to
 * req->job; NULL when out of memory. */
gd_job *gd_job_new(gd_req *req, gd_job_kind kind);
/* Queue req->job: suspend c and count it in srv->inflight. Returns 0, or -1
 * when --max-digest-jobs jobs are already running (nothing suspended: answer
 * 503 busy). Call from the access handler only. */
int gd_job_submit(struct MHD_Connection *c, gd_req *req);
/* Run the hashing of j here, on this thread: for small bodies, where a job
 * would cost more than the work. */
void gd_job_run_inline(gd_job *j);
/* After the resume: answer from req->job (digest.c or stream.c), then free
 * it. */
enum MHD_Result gd_job_answer(struct MHD_Connection *c, gd_req *req);
/* Free req->job (uncounting it from srv->inflight if still counted). */
void gd_job_free(gd_req *req);

/* Cached digests of key: 1 with *out (SHA-512 included when need512), 0
 * when not cached. */
int gd_digest_cache_get(const char *key, int need512, gd_hashes *out);
void gd_digest_cache_put(const char *key, const gd_hashes *h);

/* /metrics reads the srv->digest_* counters, which the pool keeps. */

/* ---- digest.c ---- */
/* Answer a finished GD_JOB_DIGEST job. */
enum MHD_Result gd_digest_finish(struct MHD_Connection *c, gd_req *req, gd_job *j);

/* ---- stream.c ---- */
/* Answer a finished GD_JOB_STREAM job: the answer it was started for, with
 * its digest fields. */
enum MHD_Result gd_stream_finish(struct MHD_Connection *c, gd_req *req, gd_job *j);

#endif
