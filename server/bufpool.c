/*
 * bufpool.c - a mutex-protected stack of idle response buffers (see
 * bufpool.h). Process-wide state: one pool for all MHD worker threads.
 */
#include "bufpool.h"

#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *idle[GD_BUFPOOL_IDLE];
static size_t n_idle;

void *gd_bufpool_get(void)
{
    void *buf = NULL;

    pthread_mutex_lock(&lock);
    if (n_idle > 0)
        buf = idle[--n_idle];
    pthread_mutex_unlock(&lock);
    return buf != NULL ? buf : malloc(GD_BUFPOOL_SIZE);
}

void gd_bufpool_put(void *buf)
{
    if (buf == NULL)
        return;
    pthread_mutex_lock(&lock);
    if (n_idle < GD_BUFPOOL_IDLE) {
        idle[n_idle++] = buf;
        buf = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(buf);
}
