/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sharded hash table (see otter_pollcache.h). Keys are SHA-256 digests,
 * already uniformly spread, so their first bytes are the hash. Each shard
 * chains its entries by bucket and keeps them in insertion order on a
 * doubly linked list: a full shard drops its oldest entry, which needs no
 * bookkeeping on the read path (a hit only takes the shard's mutex).
 */
#include "otter_pollcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 64 /* a power of two; many more than server threads, so locks rarely meet */

struct node {
    struct node *chain;         /* next in the bucket */
    struct node *older, *newer; /* insertion order in the shard */
    uint64_t gen;
    unsigned char key[OTTER_POLLCACHE_KEY_LEN];
    otter_pollcache_facts facts;
    unsigned char tenant_len;
    char names[]; /* tenant, '\0', controller id, '\0' */
};

struct shard {
    pthread_mutex_t mx;
    struct node **buckets;
    size_t mask; /* buckets - 1 */
    size_t count, cap;
    struct node *oldest, *newest;
};

struct otter_pollcache {
    struct shard shard[SHARDS];
};

static uint64_t key_hash(const unsigned char *key)
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return h;
}

static struct shard *shard_of(otter_pollcache *pc, uint64_t h)
{
    return &pc->shard[h & (SHARDS - 1)];
}

static struct node **bucket_of(struct shard *s, uint64_t h)
{
    return &s->buckets[(h / SHARDS) & s->mask];
}

int otter_pollcache_new(size_t capacity, otter_pollcache **out, otter_err *err)
{
    otter_pollcache *pc = calloc(1, sizeof *pc);
    *out = NULL;
    if (!pc)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    /* Shard caps add up to exactly capacity; the buckets are the next power of two. */
    size_t per = capacity / SHARDS + (capacity % SHARDS != 0), nb = 1;
    while (nb < per)
        nb *= 2;
    for (size_t i = 0; i < SHARDS; i++) {
        struct shard *s = &pc->shard[i];
        pthread_mutex_init(&s->mx, NULL);
        s->cap = capacity / SHARDS + (i < capacity % SHARDS);
        s->mask = nb - 1;
        s->buckets = calloc(nb, sizeof *s->buckets);
        if (!s->buckets) {
            otter_pollcache_free(pc);
            return otter_err_set(err, OTTER_ENOMEM, "out of memory (poll cache of %zu entries)",
                                 capacity);
        }
    }
    *out = pc;
    return 0;
}

void otter_pollcache_free(otter_pollcache *pc)
{
    if (!pc)
        return;
    for (size_t i = 0; i < SHARDS; i++) {
        struct shard *s = &pc->shard[i];
        for (struct node *n = s->oldest, *next; n; n = next) {
            next = n->newer;
            free(n);
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->mx);
    }
    free(pc);
}

/* The node of key in s, or NULL; *link points at the pointer to it. Under s->mx. */
static struct node *find(struct shard *s, uint64_t h, const unsigned char *key, struct node ***link)
{
    struct node **l = bucket_of(s, h);
    for (; *l; l = &(*l)->chain)
        if (memcmp((*l)->key, key, OTTER_POLLCACHE_KEY_LEN) == 0)
            break;
    if (link)
        *link = l;
    return *l;
}

/* Takes n out of its bucket (through link) and the age list, and frees it. Under s->mx. */
static void drop(struct shard *s, struct node **link, struct node *n)
{
    *link = n->chain;
    if (n->older)
        n->older->newer = n->newer;
    else
        s->oldest = n->newer;
    if (n->newer)
        n->newer->older = n->older;
    else
        s->newest = n->older;
    s->count--;
    free(n);
}

int otter_pollcache_get(otter_pollcache *pc, const unsigned char key[OTTER_POLLCACHE_KEY_LEN],
                        const char *tenant, const char *controller_id, otter_pollcache_facts *out,
                        uint64_t *gen)
{
    uint64_t h = key_hash(key);
    struct shard *s = shard_of(pc, h);
    int hit = 0;
    pthread_mutex_lock(&s->mx);
    struct node *n = find(s, h, key, NULL);
    /* The names decide too: a valid token for another device's path is not that device. */
    if (n && strcmp(n->names, tenant) == 0 &&
        strcmp(n->names + n->tenant_len + 1, controller_id) == 0) {
        *out = n->facts;
        *gen = n->gen;
        hit = 1;
    }
    pthread_mutex_unlock(&s->mx);
    return hit;
}

int otter_pollcache_put(otter_pollcache *pc, const unsigned char key[OTTER_POLLCACHE_KEY_LEN],
                        uint64_t gen, const char *tenant, const char *controller_id,
                        const otter_pollcache_facts *facts, otter_err *err)
{
    size_t tl = strlen(tenant), cl = strlen(controller_id);
    uint64_t h = key_hash(key);
    struct shard *s = shard_of(pc, h);
    struct node **link;
    if (tl > OTTER_POLLCACHE_NAME_MAX || cl > OTTER_POLLCACHE_NAME_MAX || s->cap == 0)
        return 0;
    /* Allocated outside the lock: other threads' hits do not wait for malloc. */
    struct node *n = malloc(sizeof *n + tl + 1 + cl + 1);
    if (!n)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory (poll cache entry)");
    n->gen = gen;
    memcpy(n->key, key, OTTER_POLLCACHE_KEY_LEN);
    n->facts = *facts;
    n->tenant_len = (unsigned char)tl;
    memcpy(n->names, tenant, tl + 1);
    memcpy(n->names + tl + 1, controller_id, cl + 1);
    pthread_mutex_lock(&s->mx);
    struct node *old = find(s, h, key, &link);
    if (old)
        drop(s, link, old);
    if (s->count >= s->cap) {
        struct node *victim = s->oldest;
        find(s, key_hash(victim->key), victim->key, &link);
        drop(s, link, victim);
    }
    link = bucket_of(s, h);
    n->chain = *link;
    *link = n;
    n->older = s->newest;
    n->newer = NULL;
    if (s->newest)
        s->newest->newer = n;
    else
        s->oldest = n;
    s->newest = n;
    s->count++;
    pthread_mutex_unlock(&s->mx);
    return 0;
}

void otter_pollcache_note_seen(otter_pollcache *pc,
                               const unsigned char key[OTTER_POLLCACHE_KEY_LEN], int64_t at)
{
    uint64_t h = key_hash(key);
    struct shard *s = shard_of(pc, h);
    pthread_mutex_lock(&s->mx);
    struct node *n = find(s, h, key, NULL);
    if (n && n->facts.last_seen < at)
        n->facts.last_seen = at;
    pthread_mutex_unlock(&s->mx);
}

size_t otter_pollcache_count(otter_pollcache *pc)
{
    size_t total = 0;
    for (size_t i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&pc->shard[i].mx);
        total += pc->shard[i].count;
        pthread_mutex_unlock(&pc->shard[i].mx);
    }
    return total;
}

size_t otter_pollcache_entry_bytes(size_t tenant_len, size_t controller_id_len)
{
    return sizeof(struct node) + tenant_len + 1 + controller_id_len + 1;
}
