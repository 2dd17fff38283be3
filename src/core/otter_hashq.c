/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_hashq.h"

#include <pthread.h>
#include <stdlib.h>

struct otter_hashq {
    otter_sha256 *sha;
    size_t nbufs, bufsize;
    uint8_t *mem;
    size_t *lens;
    int threaded;
    /* Ring state: buffers [hashed, submitted) wait for the hasher; buffer
     * `submitted` (mod nbufs) is the one the caller fills next. */
    size_t submitted, hashed;
    int stop;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work, done;
};

static void *hasher(void *arg)
{
    otter_hashq *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (q->hashed == q->submitted && !q->stop)
            pthread_cond_wait(&q->work, &q->lock);
        if (q->hashed == q->submitted && q->stop)
            break;
        size_t i = q->hashed % q->nbufs;
        pthread_mutex_unlock(&q->lock);
        otter_sha256_update(q->sha, q->mem + i * q->bufsize, q->lens[i]);
        pthread_mutex_lock(&q->lock);
        q->hashed++;
        pthread_cond_broadcast(&q->done);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

otter_hashq *otter_hashq_new(size_t nbufs, size_t bufsize, int threaded)
{
    otter_hashq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->nbufs = nbufs < 2 ? 2 : nbufs;
    q->bufsize = bufsize;
    q->threaded = threaded;
    q->sha = otter_sha256_new();
    q->mem = malloc(q->nbufs * bufsize);
    q->lens = calloc(q->nbufs, sizeof *q->lens);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->work, NULL);
    pthread_cond_init(&q->done, NULL);
    if (!q->sha || !q->mem || !q->lens) {
        q->threaded = 0;
        otter_hashq_free(q);
        return NULL;
    }
    if (threaded && pthread_create(&q->thread, NULL, hasher, q) != 0) {
        q->threaded = 0;
        otter_hashq_free(q);
        return NULL;
    }
    return q;
}

size_t otter_hashq_bufsize(const otter_hashq *q)
{
    return q->bufsize;
}

uint8_t *otter_hashq_acquire(otter_hashq *q)
{
    if (q->threaded) {
        pthread_mutex_lock(&q->lock);
        while (q->submitted - q->hashed >= q->nbufs)
            pthread_cond_wait(&q->done, &q->lock);
        pthread_mutex_unlock(&q->lock);
    }
    return q->mem + (q->submitted % q->nbufs) * q->bufsize;
}

void otter_hashq_submit(otter_hashq *q, size_t len)
{
    size_t i = q->submitted % q->nbufs;
    if (len == 0)
        return;
    if (!q->threaded) {
        otter_sha256_update(q->sha, q->mem + i * q->bufsize, len);
        return;
    }
    pthread_mutex_lock(&q->lock);
    q->lens[i] = len;
    q->submitted++;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->lock);
}
void otter_hashq_finish(otter_hashq *q, uint8_t out[OTTER_SHA256_LEN])
{
    if (q->threaded) {
        pthread_mutex_lock(&q->lock);
        while (q->hashed != q->submitted)
            pthread_cond_wait(&q->done, &q->lock);
        pthread_mutex_unlock(&q->lock);
    }
    otter_sha256_final(q->sha, out);
    otter_sha256_reset(q->sha);
}

void otter_hashq_free(otter_hashq *q)
{
    if (!q)
        return;
    if (q->threaded) {
        pthread_mutex_lock(&q->lock);
        q->stop = 1;
        pthread_cond_signal(&q->work);
        pthread_mutex_unlock(&q->lock);
        pthread_join(q->thread, NULL);
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->work);
    pthread_cond_destroy(&q->done);
    otter_sha256_free(q->sha);
    free(q->mem);
    free(q->lens);
    free(q);
}
