/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Batched last_seen (see otter_ddi_seen.h). Two buffers: polls append to
 * `notes` under `mx` (a few instructions); a flush swaps in the empty
 * `spare` and writes the full one outside `mx`, holding `flush_mx` so
 * batches never overlap and stay in order.
 */
#include "otter_ddi_seen.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct note {
    int64_t device_id;
    int64_t at;
};

struct ddi_seen {
    otter_store *store;
    pthread_mutex_t mx; /* notes, n, stop */
    pthread_cond_t wake;
    pthread_mutex_t flush_mx; /* spare; one flush at a time */
    struct note *notes, *spare;
    size_t n;
    int stop;
    int early; /* the buffer filled up: flush without waiting for the interval */
    pthread_t thread;
    int started;
};

int ddi_seen_flush(ddi_seen *s, otter_err *err)
{
    int ret = 0;
    pthread_mutex_lock(&s->flush_mx);
    pthread_mutex_lock(&s->mx);
    struct note *batch = s->notes;
    size_t n = s->n;
    s->notes = s->spare;
    s->n = 0;
    pthread_mutex_unlock(&s->mx);
    s->spare = batch;
    if (n == 0)
        goto out;
    if ((ret = otter_store_begin(s->store, err)) < 0)
        goto out;
    for (size_t i = 0; i < n && ret == 0; i++)
        ret = otter_store_device_seen(s->store, batch[i].device_id, batch[i].at, err);
    if (ret == 0)
        ret = otter_store_commit(s->store, err);
    if (ret < 0)
        otter_store_rollback(s->store);
out:
    pthread_mutex_unlock(&s->flush_mx);
    /* Lost notes are not lost devices: last_seen stays old, so the next poll notes again. */
    return ret < 0 ? otter_err_prefix(err, "writing last_seen of %zu devices", n) : 0;
}

static void flush_logged(ddi_seen *s)
{
    otter_err err;
    if (ddi_seen_flush(s, &err) < 0)
        fprintf(stderr, "otter-server: %s\n", err.msg);
}

int ddi_seen_note(ddi_seen *s, int64_t device_id, int64_t now)
{
    pthread_mutex_lock(&s->mx);
    int room = s->n < OTTER_DDI_SEEN_MAX;
    if (room) {
        s->notes[s->n++] = (struct note){device_id, now};
    } else if (!s->early) {
        s->early = 1; /* more than a buffer per interval: flush now, not at the next tick */
        pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->mx);
    return room;
}

static void *flusher(void *arg)
{
    ddi_seen *s = arg;
    pthread_mutex_lock(&s->mx);
    while (!s->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)OTTER_DDI_SEEN_INTERVAL_MS % 1000 * 1000000;
        until.tv_sec += OTTER_DDI_SEEN_INTERVAL_MS / 1000 + until.tv_nsec / 1000000000;
        until.tv_nsec %= 1000000000;
        int rc = 0;
        while (!s->stop && !s->early && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&s->wake, &s->mx, &until);
        if (s->stop)
            break;
        s->early = 0;
        pthread_mutex_unlock(&s->mx);
        flush_logged(s);
        pthread_mutex_lock(&s->mx);
    }
    pthread_mutex_unlock(&s->mx);
    return NULL;
}

int ddi_seen_new(otter_store *store, ddi_seen **out, otter_err *err)
{
    int ret = OTTER_ENOMEM;
    ddi_seen *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    s->store = store;
    pthread_mutex_init(&s->mx, NULL);
    pthread_mutex_init(&s->flush_mx, NULL);
    pthread_cond_init(&s->wake, NULL);
    s->notes = malloc(OTTER_DDI_SEEN_MAX * sizeof *s->notes);
    s->spare = malloc(OTTER_DDI_SEEN_MAX * sizeof *s->spare);
    if (!s->notes || !s->spare) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    int rc = pthread_create(&s->thread, NULL, flusher, s);
    if (rc != 0) {
        ret = otter_err_sys(err, OTTER_EIO, rc, "starting the last_seen writer");
        goto out;
    }
    s->started = 1;
    *out = s;
    s = NULL;
    ret = 0;
out:
    ddi_seen_free(s);
    return ret;
}

void ddi_seen_free(ddi_seen *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mx);
        s->stop = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mx);
        pthread_join(s->thread, NULL);
        flush_logged(s);
    }
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->flush_mx);
    pthread_mutex_destroy(&s->mx);
    free(s->notes);
    free(s->spare);
    free(s);
}
