/*
 * bufpool.h - reusable response buffers: a body that fits one stream block is
 * generated into one of these and handed to MHD, which sends the headers and
 * the body in one writev. Buffers go back to the pool when MHD frees the
 * response, so a steady load allocates nothing and touches no fresh pages.
 */
#ifndef GLOROTD_BUFPOOL_H
#define GLOROTD_BUFPOOL_H

#include <stddef.h>

/* Bytes per buffer: a 256 KiB tensor with its npy or safetensors header. */
#define GD_BUFPOOL_SIZE (260u * 1024u)
/* Idle buffers kept (at most GD_BUFPOOL_SIZE * GD_BUFPOOL_IDLE bytes); more
 * are freed when they come back. */
#define GD_BUFPOOL_IDLE 32u

/* A buffer of GD_BUFPOOL_SIZE bytes (contents undefined), or NULL when memory
 * is exhausted. Thread-safe. */
void *gd_bufpool_get(void);
/* Give a buffer from gd_bufpool_get back. NULL does nothing. Thread-safe.
 * Idle buffers stay reachable from the pool until exit. */
void gd_bufpool_put(void *buf);

#endif /* GLOROTD_BUFPOOL_H */
