/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_throttle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    char key[OTTER_THROTTLE_KEY_MAX];
    char group[OTTER_THROTTLE_GROUP_MAX];
    uint64_t last; /* time of the last failure */
    unsigned failures;
};

struct otter_throttle {
    pthread_mutex_t lock;
    unsigned max_failures;
    uint64_t first_delay;
    uint64_t window;
    unsigned capacity;
    struct slot *slots;
};

otter_throttle *otter_throttle_new(unsigned max_failures, uint64_t first_delay_secs,
                                   uint64_t window_secs, unsigned capacity)
{
    otter_throttle *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->capacity = capacity ? capacity : 1;
    t->slots = calloc(t->capacity, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->max_failures = max_failures;
    t->window = window_secs ? window_secs : 1;
    t->first_delay = first_delay_secs ? first_delay_secs : 1;
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

/* Seconds a key with this many failures waits after its last one: 0, then first, 2 first ...
 * window. */
static uint64_t delay_of(const otter_throttle *t, unsigned failures)
{
    if (failures < t->max_failures)
        return 0;
    uint64_t d = t->first_delay;
    for (unsigned i = t->max_failures; i < failures && d < t->window; i++)
        d *= 2;
    return d < t->window ? d : t->window;
}

static int forgotten(const otter_throttle *t, const struct slot *s, uint64_t now)
{
    return !s->key[0] || now >= s->last + delay_of(t, s->failures) + t->window;
}

static struct slot *find(otter_throttle *t, const char *key)
{
    for (unsigned i = 0; i < t->capacity; i++)
        if (t->slots[i].key[0] && strncmp(t->slots[i].key, key, OTTER_THROTTLE_KEY_MAX - 1) == 0)
            return &t->slots[i];
    return NULL;
}

/*
 * How much a slot is worth keeping (lower goes first): forgotten, then not
 * slowed down yet (the newcomer's group before others), then slowed down;
 * of two equals, the one with fewer failures, then the older, goes first.
 */
static unsigned keep_rank(const otter_throttle *t, const struct slot *s, const char *group,
                          uint64_t now)
{
    if (forgotten(t, s, now))
        return 0;
    unsigned other_group = strncmp(s->group, group, OTTER_THROTTLE_GROUP_MAX - 1) != 0;
    return (s->failures >= t->max_failures ? 3 : 1) + other_group;
}

static struct slot *take_slot(otter_throttle *t, const char *group, uint64_t now)
{
    struct slot *best = &t->slots[0];
    unsigned best_rank = keep_rank(t, best, group, now);
    for (unsigned i = 1; i < t->capacity && best_rank > 0; i++) {
        struct slot *s = &t->slots[i];
        unsigned r = keep_rank(t, s, group, now);
        int weaker =
            s->failures < best->failures || (s->failures == best->failures && s->last < best->last);
        if (r < best_rank || (r == best_rank && weaker)) {
            best = s;
            best_rank = r;
        }
    }
    return best;
}

uint64_t otter_throttle_check(otter_throttle *t, const char *key, uint64_t now)
{
    uint64_t wait = 0;
    pthread_mutex_lock(&t->lock);
    struct slot *s = find(t, key);
    if (s && !forgotten(t, s, now)) {
        uint64_t until = s->last + delay_of(t, s->failures);
        wait = now < until ? until - now : 0;
    }
    pthread_mutex_unlock(&t->lock);
    return wait;
}

void otter_throttle_fail(otter_throttle *t, const char *key, const char *group, uint64_t now)
{
    pthread_mutex_lock(&t->lock);
    struct slot *s = find(t, key);
    if (s && forgotten(t, s, now))
        s->failures = 0;
    if (!s) {
        s = take_slot(t, group, now);
        memset(s, 0, sizeof *s);
        strncpy(s->key, key, sizeof s->key - 1);
    }
    strncpy(s->group, group, sizeof s->group - 1);
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
