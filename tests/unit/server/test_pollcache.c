/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The poll cache (otter_pollcache.c): hits only for the same key,
 * generation, tenant and controller id; a full cache drops its oldest
 * entries and never holds more than its capacity; capacity 0 holds
 * nothing; several threads at once keep it consistent.
 */
#include <pthread.h>

#include "otter_pollcache.h"
#include "otter_test.h"

static void key_of(unsigned n, unsigned char key[OTTER_POLLCACHE_KEY_LEN])
{
    /* Spread like a digest: the low bytes pick shard and bucket. */
    uint64_t x = n * 0x9e3779b97f4a7c15ull;
    memset(key, 0, OTTER_POLLCACHE_KEY_LEN);
    memcpy(key, &x, sizeof x);
    memcpy(key + 8, &n, sizeof n);
}

/* A hit stamped gen (whether a stamp is still good is the store's call, see test_store). */
static int get_at(otter_pollcache *pc, const unsigned char *k, uint64_t gen, const char *tenant,
                  const char *cid, otter_pollcache_facts *out)
{
    uint64_t stamp = ~(uint64_t)0;
    return otter_pollcache_get(pc, k, tenant, cid, out, &stamp) && stamp == gen;
}

static otter_pollcache_facts facts_of(int64_t dev)
{
    return (otter_pollcache_facts){.device_id = dev,
                                   .open_action = dev * 10,
                                   .installed_action = 0,
                                   .last_seen = 100,
                                   .canceling = 0,
                                   .config_sent = 1};
}

static void test_hits_and_misses(void **state)
{
    otter_err err;
    otter_pollcache *pc = NULL;
    unsigned char k1[OTTER_POLLCACHE_KEY_LEN], k2[OTTER_POLLCACHE_KEY_LEN];
    otter_pollcache_facts f = facts_of(7), out;
    key_of(1, k1);
    key_of(2, k2);
    assert_otter_ok(otter_pollcache_new(1000, &pc, &err), err);
    assert_false(get_at(pc, k1, 5, "acme", "d1", &out));
    assert_otter_ok(otter_pollcache_put(pc, k1, 5, "acme", "d1", &f, &err), err);
    assert_true(get_at(pc, k1, 5, "acme", "d1", &out));
    assert_int_equal(out.device_id, 7);
    assert_int_equal(out.open_action, 70);
    assert_int_equal(out.config_sent, 1);
    /* Another stamp, path or key is not this entry. */
    assert_false(get_at(pc, k1, 6, "acme", "d1", &out));
    assert_false(get_at(pc, k1, 5, "acme", "d2", &out));
    assert_false(get_at(pc, k1, 5, "acm", "d1", &out));
    assert_false(get_at(pc, k1, 5, "acmed", "1", &out));
    assert_false(get_at(pc, k2, 5, "acme", "d1", &out));
    /* A refill replaces: one entry, the new facts. */
    f.open_action = 0;
    assert_otter_ok(otter_pollcache_put(pc, k1, 6, "acme", "d1", &f, &err), err);
    assert_int_equal(otter_pollcache_count(pc), 1);
    assert_false(get_at(pc, k1, 5, "acme", "d1", &out));
    assert_true(get_at(pc, k1, 6, "acme", "d1", &out));
    assert_int_equal(out.open_action, 0);
    /* last_seen only moves forward. */
    otter_pollcache_note_seen(pc, k1, 200);
    otter_pollcache_note_seen(pc, k1, 150);
    otter_pollcache_note_seen(pc, k2, 300); /* not cached: nothing happens */
    assert_true(get_at(pc, k1, 6, "acme", "d1", &out));
    assert_int_equal(out.last_seen, 200);
    /* Names longer than a store name are not cached. */
    char longname[OTTER_POLLCACHE_NAME_MAX + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_otter_ok(otter_pollcache_put(pc, k2, 6, longname, "d1", &f, &err), err);
    assert_false(get_at(pc, k2, 6, longname, "d1", &out));
    assert_int_equal(otter_pollcache_count(pc), 1);
    otter_pollcache_free(pc);
    otter_pollcache_free(NULL);
}

static void test_bounded(void **state)
{
    otter_err err;
    otter_pollcache *pc = NULL;
    unsigned char k[OTTER_POLLCACHE_KEY_LEN];
    otter_pollcache_facts f = facts_of(1), out;
    const unsigned cap = 1000, n = 20000;
    assert_otter_ok(otter_pollcache_new(cap, &pc, &err), err);
    for (unsigned i = 0; i < n; i++) {
        key_of(i, k);
        f.device_id = i;
        assert_otter_ok(otter_pollcache_put(pc, k, 1, "acme", "d", &f, &err), err);
        assert_true(otter_pollcache_count(pc) <= cap);
    }
    /* Full, and what survived is the newest: the first keys are gone, the last one is there. */
    assert_true(otter_pollcache_count(pc) > cap * 9 / 10);
    key_of(0, k);
    assert_false(get_at(pc, k, 1, "acme", "d", &out));
    key_of(n - 1, k);
    assert_true(get_at(pc, k, 1, "acme", "d", &out));
    assert_int_equal(out.device_id, n - 1);
    otter_pollcache_free(pc);

    /* Capacity 0: a cache that holds nothing. Capacity 1: one entry in all. */
    assert_otter_ok(otter_pollcache_new(0, &pc, &err), err);
    key_of(1, k);
    assert_otter_ok(otter_pollcache_put(pc, k, 1, "acme", "d", &f, &err), err);
    assert_false(get_at(pc, k, 1, "acme", "d", &out));
    assert_int_equal(otter_pollcache_count(pc), 0);
    otter_pollcache_free(pc);
    assert_otter_ok(otter_pollcache_new(1, &pc, &err), err);
    for (unsigned i = 0; i < 200; i++) {
        key_of(i, k);
        assert_otter_ok(otter_pollcache_put(pc, k, 1, "acme", "d", &f, &err), err);
    }
    assert_true(otter_pollcache_count(pc) <= 1);
    otter_pollcache_free(pc);
    assert_true(otter_pollcache_entry_bytes(5, 9) < 160);
}

struct worker {
    otter_pollcache *pc;
    unsigned base;
    int bad;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    otter_err err;
    unsigned char k[OTTER_POLLCACHE_KEY_LEN];
    otter_pollcache_facts f, out;
    for (unsigned round = 0; round < 50; round++)
        for (unsigned i = 0; i < 500; i++) {
            unsigned id = w->base + i;
            key_of(id, k);
            f = facts_of(id);
            if (otter_pollcache_put(w->pc, k, round, "acme", "d", &f, &err) < 0)
                w->bad = 1;
            /* Another thread may have evicted it, never changed it. */
            if (get_at(w->pc, k, round, "acme", "d", &out) && out.device_id != id)
                w->bad = 1;
            otter_pollcache_note_seen(w->pc, k, round);
        }
    return NULL;
}

static void test_threads(void **state)
{
    otter_err err;
    otter_pollcache *pc = NULL;
    pthread_t th[4];
    struct worker w[4];
    assert_otter_ok(otter_pollcache_new(1200, &pc, &err), err);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.pc = pc, .base = (unsigned)i * 1000};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_false(w[i].bad);
    }
    assert_true(otter_pollcache_count(pc) <= 1200);
    otter_pollcache_free(pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hits_and_misses),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
