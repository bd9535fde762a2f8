/*
 * test_pool.c - the free lists of server/pool.c: blocks are reused, at most
 * `keep` are kept, threads can share one. (The bodies on both sides of a
 * pooled buffer, on a live daemon: tests/e2e/test_server_pool.c.)
 */
#include "pool.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* ---- the pool ------------------------------------------------------------------- */

Test(pool, reuses_what_comes_back)
{
    unsigned char *a = gd_pool_get(&gd_buffers);
    cr_assert_not_null(a);
    memset(a, 0x5A, GD_BUFPOOL_SIZE); /* the whole size is writable (ASan checks) */
    gd_pool_put(&gd_buffers, a);
    cr_expect_eq(gd_pool_get(&gd_buffers), a, "the idle buffer is handed out again");
    gd_pool_put(&gd_buffers, a);
    gd_pool_put(&gd_buffers, NULL);
}

/* More than `keep` blocks coming back: the extra ones are freed (LeakSanitizer
 * would report them otherwise), the kept ones are handed out again first.
 * (Addresses alone cannot tell: malloc may hand a freed block out again.) */
static void keeps_at_most(gd_pool *pool)
{
    enum { N = GD_POOL_IDLE_MAX + 5 };
    void *held[N];
    for (size_t i = 0; i < N; i++) {
        held[i] = gd_pool_get(pool);
        cr_assert_not_null(held[i]);
        memset(held[i], 0xA5, pool->size);
    }
    cr_expect_eq(pool->n_idle, 0);
    for (size_t i = 0; i < N; i++)
        gd_pool_put(pool, held[i]);
    cr_expect_eq(pool->n_idle, pool->keep, "%zu idle, want %zu", pool->n_idle, pool->keep);
    for (size_t i = 0; i < pool->keep; i++) { /* last in, first out */
        void *again = gd_pool_get(pool);
        cr_expect_eq(again, held[pool->keep - 1 - i], "block %zu", i);
        held[pool->keep - 1 - i] = again;
    }
    cr_expect_eq(pool->n_idle, 0);
    for (size_t i = 0; i < pool->keep; i++)
        gd_pool_put(pool, held[i]);
}

Test(pool, keeps_at_most_its_idle_count)
{
    keeps_at_most(&gd_buffers);
    static gd_pool small = GD_POOL_INIT(24, 3);
    keeps_at_most(&small);
    static gd_pool none = GD_POOL_INIT(100, 0);
    keeps_at_most(&none);
}

static void *churn(void *arg)
{
    unsigned char tag = (unsigned char)(uintptr_t)arg;
    for (int i = 0; i < 2000; i++) {
        unsigned char *b = gd_pool_get(&gd_buffers);
        if (b == NULL)
            return (void *)1;
        b[0] = tag;
        b[GD_BUFPOOL_SIZE - 1] = tag;
        if (b[0] != tag || b[GD_BUFPOOL_SIZE - 1] != tag)
            return (void *)1;
        gd_pool_put(&gd_buffers, b);
    }
    return NULL;
}

Test(pool, threads_share_it)
{
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, churn, (void *)(i + 1)), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        cr_expect_null(rc, "thread %d saw a buffer it did not own", i);
    }
}
