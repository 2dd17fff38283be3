/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_throttle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    char key[OTTER_THROTTLE_KEY_MAX];
    uint64_t window_start;
    uint64_t last;
    unsigned failures;
};

struct otter_throttle {
    pthread_mutex_t lock;
    unsigned max_failures;
    uint64_t window;
    unsigned capacity;
    struct slot *slots;
};

otter_throttle *otter_throttle_new(unsigned max_failures, uint64_t window_secs, unsigned capacity)
{
    otter_throttle *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->slots = calloc(capacity ? capacity : 1, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->max_failures = max_failures;
    t->window = window_secs;
    t->capacity = capacity ? capacity : 1;
    return t;
}

void otter_throttle_free(otter_throttle *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->slots);
    free(t);
}

static struct slot *find(otter_throttle *t, const char *key)
{
    for (unsigned i = 0; i < t->capacity; i++)
        if (t->slots[i].key[0] && strncmp(t->slots[i].key, key, OTTER_THROTTLE_KEY_MAX - 1) == 0)
            return &t->slots[i];
    return NULL;
}

uint64_t otter_throttle_check(otter_throttle *t, const char *key, uint64_t now)
{
    uint64_t wait = 0;
    pthread_mutex_lock(&t->lock);
    struct slot *s = find(t, key);
    if (s && s->failures >= t->max_failures && now < s->window_start + t->window)
        wait = s->window_start + t->window - now;
    pthread_mutex_unlock(&t->lock);
    return wait;
}

void otter_throttle_fail(otter_throttle *t, const char *key, uint64_t now)
{
    pthread_mutex_lock(&t->lock);
    struct slot *s = find(t, key);
    if (!s) {
        /* Reuse an empty slot, else the one idle for longest. */
        s = &t->slots[0];
        for (unsigned i = 0; i < t->capacity; i++) {
            if (!t->slots[i].key[0]) {
                s = &t->slots[i];
                break;
            }
            if (t->slots[i].last < s->last)
                s = &t->slots[i];
        }
        memset(s, 0, sizeof *s);
        strncpy(s->key, key, sizeof s->key - 1);
        s->window_start = now;
    }
    if (now >= s->window_start + t->window) {
        s->window_start = now;
        s->failures = 0;
    }
    s->failures++;
    s->last = now;
    pthread_mutex_unlock(&t->lock);
}

void otter_throttle_reset(otter_throttle *t, const char *key)
{
    pthread_mutex_lock(&t->lock);
    struct slot *s = find(t, key);
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&t->lock);
}
