/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Batched last_seen (otter_ddi_seen.c) against a real SQLite file: notes
 * reach the database on flush and at free, in the order they were taken;
 * a full buffer refuses the next note and is written early; notes from
 * several threads all arrive.
 */
#include <pthread.h>
#include <time.h>

#include "otter_test.h"
#include "otter_ddi_seen.h"
#include "otter_store.h"

static otter_store *open_fresh(const char *name, int64_t *tenant)
{
    char url[PATH_MAX + 16];
    snprintf(url, sizeof url, "sqlite:%s/otter.db", otter_test_dir(name));
    otter_err err;
    otter_store *s = NULL;
    assert_otter_ok(otter_store_open(url, 1, 1000, &s, &err), err);
    assert_otter_ok(otter_store_migrate(s, &err), err);
    assert_otter_ok(otter_store_tenant_create(s, "acme", 1, tenant, &err), err);
    return s;
}

static int64_t seen(otter_store *s, int64_t tenant, const char *cid)
{
    otter_err err;
    otter_device *d = calloc(1, sizeof *d);
    int found = 0;
    assert_non_null(d);
    assert_otter_ok(otter_store_device_get(s, tenant, cid, d, &found, &err), err);
    assert_true(found);
    int64_t at = d->last_seen;
    free(d);
    return at;
}

static void test_flush_and_free(void **state)
{
    int64_t t, d1, d2;
    otter_err err;
    otter_store *s = open_fresh("ddi_seen_flush", &t);
    ddi_seen *seen_w = NULL;
    assert_otter_ok(otter_store_device_create(s, t, "d1", "m", NULL, NULL, 1, &d1, &err), err);
    assert_otter_ok(otter_store_device_create(s, t, "d2", "m", NULL, NULL, 1, &d2, &err), err);
    assert_otter_ok(ddi_seen_new(s, &seen_w, &err), err);
    ddi_seen_note(seen_w, d1, 100);
    ddi_seen_note(seen_w, d2, 200);
    ddi_seen_note(seen_w, d1, 300); /* the later note wins: written in order */
    assert_otter_ok(ddi_seen_flush(seen_w, &err), err);
    assert_int_equal(seen(s, t, "d1"), 300);
    assert_int_equal(seen(s, t, "d2"), 200);
    /* A flush with nothing noted is a no-op; a note of a deleted device harms nothing. */
    assert_otter_ok(ddi_seen_flush(seen_w, &err), err);
    ddi_seen_note(seen_w, 999999, 400);
    ddi_seen_note(seen_w, d2, 500);
    ddi_seen_free(seen_w); /* writes what is left */
    assert_int_equal(seen(s, t, "d2"), 500);
    otter_store_free(s);
}

static void test_full_buffer(void **state)
{
    int64_t t, d1;
    otter_err err;
    otter_store *s = open_fresh("ddi_seen_full", &t);
    ddi_seen *seen_w = NULL;
    assert_otter_ok(otter_store_device_create(s, t, "d1", "m", NULL, NULL, 1, &d1, &err), err);
    assert_otter_ok(ddi_seen_new(s, &seen_w, &err), err);
    /* One more note than the buffer holds: refused, and the flusher writes the batch early. */
    for (int i = 1; i <= OTTER_DDI_SEEN_MAX; i++)
        assert_int_equal(ddi_seen_note(seen_w, d1, i), 1);
    assert_int_equal(ddi_seen_note(seen_w, d1, OTTER_DDI_SEEN_MAX + 1), 0);
    struct timespec tick = {0, 10 * 1000000L};
    for (int i = 0; i < 300 && seen(s, t, "d1") != OTTER_DDI_SEEN_MAX; i++)
        nanosleep(&tick, NULL); /* the flusher was woken: usually well before its 1 s tick */
    assert_int_equal(seen(s, t, "d1"), OTTER_DDI_SEEN_MAX);
    /* Room again: the device's next poll is noted. */
    assert_int_equal(ddi_seen_note(seen_w, d1, OTTER_DDI_SEEN_MAX + 2), 1);
    ddi_seen_free(seen_w);
    assert_int_equal(seen(s, t, "d1"), OTTER_DDI_SEEN_MAX + 2);
    otter_store_free(s);
}

#define THREADS 4
#define DEVICES 50

struct hammer_arg {
    ddi_seen *w;
    int64_t first;
    int64_t at;
};

static void *hammer(void *p)
{
    struct hammer_arg *a = p;
    for (int64_t i = 0; i < DEVICES; i++)
        ddi_seen_note(a->w, a->first + i, a->at);
    return NULL;
}

static void test_threads(void **state)
{
    int64_t t, id = 0;
    otter_err err;
    otter_store *s = open_fresh("ddi_seen_threads", &t);
    ddi_seen *seen_w = NULL;
    char cid[32];
    for (int i = 0; i < THREADS * DEVICES; i++) {
        snprintf(cid, sizeof cid, "d%d", i);
        assert_otter_ok(otter_store_device_create(s, t, cid, "m", NULL, NULL, 1, &id, &err), err);
    }
    int64_t first = id - THREADS * DEVICES + 1;
    assert_otter_ok(ddi_seen_new(s, &seen_w, &err), err);
    pthread_t th[THREADS];
    struct hammer_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct hammer_arg){seen_w, first + i * DEVICES, 1000 + i};
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    ddi_seen_free(seen_w);
    for (int i = 0; i < THREADS * DEVICES; i++) {
        snprintf(cid, sizeof cid, "d%d", i);
        assert_int_equal(seen(s, t, cid), 1000 + i / DEVICES);
    }
    otter_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flush_and_free),
        cmocka_unit_test(test_full_buffer),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
