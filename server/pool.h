/*
 * pool.h - free lists of fixed-size blocks the daemon needs per request: the
 * response buffers (a body that fits one stream block is generated into one
 * and handed to MHD, which sends headers and body in one writev) and the
 * request records. Blocks go back to their pool when the request or response
 * is done, so a steady load allocates nothing: no fresh pages to fault in,
 * and no large malloc per request (each one made glibc consolidate its small
 * chunks, several percent of a small answer).
 */
#ifndef GLOROTD_POOL_H
#define GLOROTD_POOL_H

#include <pthread.h>
#include <stddef.h>

/* The most idle blocks one pool keeps. */
#define GD_POOL_IDLE_MAX 32u

typedef struct {
    pthread_mutex_t lock;
    size_t size; /* bytes per block */
    size_t keep; /* idle blocks kept, at most GD_POOL_IDLE_MAX; more are freed */
    size_t n_idle;
    void *idle[GD_POOL_IDLE_MAX];
} gd_pool;

#define GD_POOL_INIT(block_size, idle_kept)                                                        \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, (block_size), (idle_kept), 0,                                   \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* A block of pool->size bytes (contents undefined), or NULL when memory is
 * exhausted. Thread-safe. */
void *gd_pool_get(gd_pool *pool);
/* Give a block from gd_pool_get back. NULL does nothing. Thread-safe. Idle
 * blocks stay reachable from the pool until exit. */
void gd_pool_put(gd_pool *pool, void *block);

/* Response buffers: a 256 KiB tensor with its npy or safetensors header. At
 * most GD_BUFPOOL_SIZE * GD_POOL_IDLE_MAX bytes stay idle. */
#define GD_BUFPOOL_SIZE (260u * 1024u)
extern gd_pool gd_buffers;

#endif /* GLOROTD_POOL_H */
