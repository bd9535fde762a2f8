/*
 * pool.c - mutex-protected stacks of idle blocks (see pool.h). Process-wide
 * state shared by all MHD worker threads (docs/GLOBAL_STATE.md).
 */
#include "pool.h"

#include <stdlib.h>

gd_pool gd_buffers = GD_POOL_INIT(GD_BUFPOOL_SIZE, GD_POOL_IDLE_MAX);

void *gd_pool_get(gd_pool *pool)
{
    void *block = NULL;

    pthread_mutex_lock(&pool->lock);
    if (pool->n_idle > 0)
        block = pool->idle[--pool->n_idle];
    pthread_mutex_unlock(&pool->lock);
    return block != NULL ? block : malloc(pool->size);
}

void gd_pool_put(gd_pool *pool, void *block)
{
    if (block == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    if (pool->n_idle < pool->keep && pool->n_idle < GD_POOL_IDLE_MAX) {
        pool->idle[pool->n_idle++] = block;
        block = NULL;
    }
    pthread_mutex_unlock(&pool->lock);
    free(block);
}
