/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_http_lane.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
    void (*run)(void *job);
    void *arg;
};

struct otter_http_lane {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *ring; /* queue_max slots */
    unsigned queue_max, head, count;
    int stopping;
    unsigned n_threads;
    pthread_t *threads;
};

static void *lane_main(void *arg)
{
    otter_http_lane *l = arg;
    pthread_mutex_lock(&l->lock);
    for (;;) {
        while (!l->count && !l->stopping)
            pthread_cond_wait(&l->cond, &l->lock);
        if (!l->count)
            break; /* stopping and drained */
        struct job j = l->ring[l->head];
        l->head = (l->head + 1) % l->queue_max;
        l->count--;
        pthread_mutex_unlock(&l->lock);
        j.run(j.arg);
        pthread_mutex_lock(&l->lock);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

otter_http_lane *otter_http_lane_new(unsigned threads, unsigned queue_max)
{
    otter_http_lane *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->queue_max = queue_max ? queue_max : 1;
    l->ring = calloc(l->queue_max, sizeof *l->ring);
    l->threads = calloc(threads ? threads : 1, sizeof *l->threads);
    if (!l->ring || !l->threads) {
        free(l->ring);
        free(l->threads);
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    for (unsigned i = 0; i < (threads ? threads : 1); i++) {
        if (pthread_create(&l->threads[i], NULL, lane_main, l) != 0)
            break;
        l->n_threads++;
    }
    if (!l->n_threads) {
        otter_http_lane_free(l);
        return NULL;
    }
    return l;
}

int otter_http_lane_submit(otter_http_lane *l, void (*run)(void *job), void *job)
{
    int ret = -1;
    pthread_mutex_lock(&l->lock);
    if (!l->stopping && l->count < l->queue_max) {
        l->ring[(l->head + l->count) % l->queue_max] = (struct job){run, job};
        l->count++;
        pthread_cond_signal(&l->cond);
        ret = 0;
    }
    pthread_mutex_unlock(&l->lock);
    return ret;
}

void otter_http_lane_free(otter_http_lane *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stopping = 1;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
    for (unsigned i = 0; i < l->n_threads; i++)
        pthread_join(l->threads[i], NULL);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
    free(l->ring);
    free(l->threads);
    free(l);
}
