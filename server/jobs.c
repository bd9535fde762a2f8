/*
 * jobs.c - the digest threads and the digest cache (see jobs.h).
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include "jobs.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HASH_BLOCK (256 * 1024)
/* Digest threads run at a lower priority than the request threads, so a
 * core busy hashing still gives /healthz and small tensors their time. */
#define JOB_NICE 10
#define CACHE_SLOTS 256

/* ---- the pool -------------------------------------------------------------- */

static struct {
    gd_job *head, *tail;
    unsigned busy;      /* admitted and not finished */
    unsigned suspended; /* connections whose resume is not requested yet */
    unsigned max;
    int quit;
    pthread_t *threads;
    unsigned n_threads;
    gd_server *srv; /* its digest_* counters */
} pool;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER; /* a job was queued, or quit */
static pthread_cond_t pool_idle = PTHREAD_COND_INITIALIZER; /* suspended went down */

/* ---- hashing ------------------------------------------------------------------ */

typedef struct {
    crypto_hash_sha256_state s256;
    crypto_hash_sha512_state s512;
    int with512;
    uint64_t length;
} hasher;

static void hasher_init(hasher *h, int with512)
{
    crypto_hash_sha256_init(&h->s256);
    if (with512)
        crypto_hash_sha512_init(&h->s512);
    h->with512 = with512;
    h->length = 0;
}

static void hasher_update(hasher *h, const unsigned char *data, size_t n)
{
    crypto_hash_sha256_update(&h->s256, data, n);
    if (h->with512)
        crypto_hash_sha512_update(&h->s512, data, n);
    h->length += n;
}

static void hasher_final(hasher *h, gd_hashes *out)
{
    crypto_hash_sha256_final(&h->s256, out->sha256);
    if (h->with512)
        crypto_hash_sha512_final(&h->s512, out->sha512);
    out->has512 = h->with512;
    out->length = h->length;
}

/* 1 when the peer closed its side: nothing it asked for can be delivered. */
static int client_gone(int fd)
{
    if (fd < 0)
        return 0;
    struct pollfd p = {fd, POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

static size_t job_read(gd_job *j, uint64_t pos, unsigned char *buf, size_t len)
{
    if (j->from_batch)
        return gp_batch_read(j->req->batch, pos, buf, len);
    return gp_body_read(&j->body, pos, buf, len);
}

/* Feed bytes [pos, pos + n) to the part's hasher where they overlap it. */
static void feed_part(gd_job *j, hasher *part, uint64_t pos, const unsigned char *buf, size_t n)
{
    uint64_t lo = j->part_first, hi = j->part_first + j->part_length;
    uint64_t a = pos > lo ? pos : lo, b = pos + n < hi ? pos + n : hi;
    if (j->part_length > 0 && a < b)
        hasher_update(part, buf + (a - pos), (size_t)(b - a));
}

/* Stop between blocks: 1 (with j->e or j->client_gone set) to stop. */
static int should_stop(gd_job *j)
{
    if (atomic_load(&j->req->srv->shutting_down)) {
        gd_fail_plain(&j->e, GD_ERR_SHUTTING_DOWN, "");
        return 1;
    }
    j->client_gone = client_gone(j->fd);
    return j->client_gone;
}

static void hash_job(gd_job *j)
{
    unsigned char *block = malloc(HASH_BLOCK);
    hasher full, part;
    uint64_t pos = j->want_full ? 0 : j->part_first;
    uint64_t end = j->want_full ? UINT64_MAX : j->part_first + j->part_length;
    size_t n;
    if (block == NULL) {
        gd_fail(&j->e, GD_ERR_OUT_OF_MEMORY, "", "cannot allocate the digest buffer");
        return;
    }
    hasher_init(&full, j->want512);
    hasher_init(&part, j->want512);
    while (pos < end) {
        size_t want = end - pos < HASH_BLOCK ? (size_t)(end - pos) : HASH_BLOCK;
        if ((n = job_read(j, pos, block, want)) == 0)
            break;
        if (j->kind == GD_JOB_DIGEST)
            gp_body_elements_each(&j->body, pos, n, gd_count_elements, NULL);
        if (j->want_full)
            hasher_update(&full, block, n);
        feed_part(j, &part, pos, block, n);
        pos += n;
        if (should_stop(j))
            break;
    }
    free(block);
    hasher_final(&full, &j->full);
    hasher_final(&part, &j->part);
}

/* Check what was hashed against what the answer will send. */
static void check_lengths(gd_job *j, uint64_t size)
{
    if (j->e.status != 0 || j->client_gone)
        return;
    if (j->want_full && size != GP_SIZE_UNKNOWN && j->full.length != size)
        gd_fail(&j->e, GD_ERR_INTERNAL, "", "the body ended after %llu of %llu bytes",
                (unsigned long long)j->full.length, (unsigned long long)size);
    else if (j->part.length != j->part_length)
        gd_fail(&j->e, GD_ERR_INTERNAL, "", "the part ended after %llu of %llu bytes",
                (unsigned long long)j->part.length, (unsigned long long)j->part_length);
    else if (j->want_full)
        gd_digest_cache_put(j->key, &j->full);
}

void gd_job_run_inline(gd_job *j)
{
    hash_job(j);
    check_lengths(j, j->from_batch ? gp_batch_size(j->req->batch) : gp_body_size(&j->body));
}

static void lower_priority(void)
{
    /* Linux: a thread's nice value is per thread (setpriority on its tid). */
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (setpriority(PRIO_PROCESS, (id_t)tid, JOB_NICE) != 0)
        gd_log_note("digest thread: cannot lower its priority: %s", strerror(errno));
}

static void *worker(void *arg)
{
    (void)arg;
    lower_priority();
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        while (pool.head == NULL && !pool.quit)
            pthread_cond_wait(&pool_wake, &pool_lock);
        if (pool.quit)
            break;
        gd_job *j = pool.head;
        pool.head = j->next;
        if (pool.head == NULL)
            pool.tail = NULL;
        pthread_mutex_unlock(&pool_lock);
        gd_job_run_inline(j);
        struct MHD_Connection *c = j->c; /* j is the handler's from the resume on */
        atomic_fetch_sub(&j->req->srv->digest_running, 1);
        pthread_mutex_lock(&pool_lock);
        pool.busy--;
        pthread_mutex_unlock(&pool_lock);
        MHD_resume_connection(c);
        pthread_mutex_lock(&pool_lock);
        pool.suspended--;
        pthread_cond_broadcast(&pool_idle);
    }
    pthread_mutex_unlock(&pool_lock);
    return NULL;
}

int gd_jobs_start(gd_server *srv, unsigned n)
{
    pool.srv = srv;
    pool.max = n;
    pool.threads = calloc(n, sizeof *pool.threads);
    if (pool.threads == NULL)
        return -1;
    for (pool.n_threads = 0; pool.n_threads < n; pool.n_threads++)
        if (pthread_create(&pool.threads[pool.n_threads], NULL, worker, NULL) != 0) {
            gd_log_note("cannot start digest thread %u", pool.n_threads + 1);
            return -1;
        }
    return 0;
}

int gd_jobs_quiesce(long timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&pool_lock);
    while (pool.suspended > 0 && rc == 0)
        rc = pthread_cond_timedwait(&pool_idle, &pool_lock, &deadline) == ETIMEDOUT ? -1 : 0;
    rc = pool.suspended > 0 ? -1 : 0;
    pthread_mutex_unlock(&pool_lock);
    return rc;
}

void gd_jobs_stop(void)
{
    pthread_mutex_lock(&pool_lock);
    pool.quit = 1;
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_lock);
    for (unsigned i = 0; i < pool.n_threads; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.n_threads = 0;
}

/* ---- jobs -------------------------------------------------------------------------- */

gd_job *gd_job_new(gd_req *req, gd_job_kind kind)
{
    gd_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->kind = kind;
    j->req = req;
    j->fd = -1;
    req->job = j;
    return j;
}

void gd_job_free(gd_req *req)
{
    gd_job *j = req->job;
    if (j == NULL)
        return;
    if (j->counted)
        atomic_fetch_sub(&req->srv->inflight, 1);
    req->job = NULL;
    free(j);
}

int gd_job_submit(struct MHD_Connection *c, gd_req *req)
{
    gd_job *j = req->job;
    pthread_mutex_lock(&pool_lock);
    if (pool.busy >= pool.max || pool.quit) {
        pthread_mutex_unlock(&pool_lock);
        atomic_fetch_add(&req->srv->digest_refused, 1);
        return -1;
    }
    pool.busy++;
    pool.suspended++;
    pthread_mutex_unlock(&pool_lock);
    atomic_fetch_add(&req->srv->digest_started, 1);
    atomic_fetch_add(&req->srv->digest_running, 1);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    j->fd = ci != NULL ? ci->connect_fd : -1;
    j->c = c;
    j->counted = 1;
    atomic_fetch_add(&req->srv->inflight, 1);
    MHD_suspend_connection(c);
    pthread_mutex_lock(&pool_lock);
    if (pool.tail != NULL)
        pool.tail->next = j;
    else
        pool.head = j;
    pool.tail = j;
    pthread_cond_signal(&pool_wake);
    pthread_mutex_unlock(&pool_lock);
    return 0;
}

enum MHD_Result gd_job_answer(struct MHD_Connection *c, gd_req *req)
{
    gd_job *j = req->job;
    enum MHD_Result rc;
    if (j->client_gone)
        rc = MHD_NO; /* nobody to answer: close */
    else if (j->kind == GD_JOB_DIGEST)
        rc = gd_digest_finish(c, req, j);
    else
        rc = gd_stream_finish(c, req, j);
    gd_job_free(req);
    return rc;
}

/* ---- the cache ---------------------------------------------------------------------- */

typedef struct {
    char *key;
    gd_hashes h;
    uint64_t used; /* cache.clock at the last hit or store */
} cache_slot;

static struct {
    cache_slot slots[CACHE_SLOTS];
    uint64_t clock;
} cache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static cache_slot *find_slot(const char *key)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (cache.slots[i].key != NULL && strcmp(cache.slots[i].key, key) == 0)
            return &cache.slots[i];
    return NULL;
}

int gd_digest_cache_get(const char *key, int need512, gd_hashes *out)
{
    int hit = 0;
    pthread_mutex_lock(&cache_lock);
    cache_slot *s = find_slot(key);
    if (s != NULL && (!need512 || s->h.has512)) {
        *out = s->h;
        s->used = ++cache.clock;
        hit = 1;
    }
    pthread_mutex_unlock(&cache_lock);
    if (hit && pool.srv != NULL)
        atomic_fetch_add(&pool.srv->digest_cached, 1);
    return hit;
}

void gd_digest_cache_put(const char *key, const gd_hashes *h)
{
    char *copy = strdup(key);
    if (copy == NULL)
        return; /* a cache entry is only a saving */
    pthread_mutex_lock(&cache_lock);
    cache_slot *s = find_slot(key);
    if (s != NULL && s->h.has512 && !h->has512) { /* keep the fuller entry */
        pthread_mutex_unlock(&cache_lock);
        free(copy);
        return;
    }
    if (s == NULL) {
        s = &cache.slots[0];
        for (size_t i = 1; i < CACHE_SLOTS && s->key != NULL; i++)
            if (cache.slots[i].key == NULL || cache.slots[i].used < s->used)
                s = &cache.slots[i];
    }
    free(s->key);
    s->key = copy;
    s->h = *h;
    s->used = ++cache.clock;
    pthread_mutex_unlock(&cache_lock);
}
