/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bandwidth caps across servers (otter_bwcap_sync.h, issue #15) on a
 * real store (SQLite, and PostgreSQL in the _pg run): two registries stand
 * for two server instances on one database. After a heartbeat each, a
 * tenant's cap is split by their downloads (2 here, 1 there: 2/3 and 1/3),
 * together never more than the cap; when one server's rows expire (it
 * died) the other takes the whole cap; a clean stop removes a server's
 * rows at once; a cap changed in the store reaches running downloads with
 * the next heartbeat.
 */
#include <string.h>
#include <time.h>

#include "otter_bwcap.h"
#include "otter_bwcap_sync.h"
#include "otter_store_bwcap.h"
#include "otter_store_caps.h"
#include "otter_test.h"
#include "store_test.h"

#define MS 1000000ull
#define CAP 3000000

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Bytes n paces get in ms milliseconds from t0 (each asks 64 KiB per millisecond). */
static uint64_t drive(otter_bwcap_pace **p, size_t n, uint64_t t0, unsigned ms)
{
    uint64_t got = 0;
    for (unsigned step = 1; step <= ms; step++)
        for (size_t i = 0; i < n; i++)
            got += otter_bwcap_take_at(p[i], 65536, t0 + step * MS);
    return got;
}

static void near(uint64_t got, double want, const char *what)
{
    if ((double)got < want * 0.95 || (double)got > want * 1.05)
        fail_msg("%s: %llu bytes, not %.0f within 5 %%", what, (unsigned long long)got, want);
}

static void test_two_servers_share_a_cap(void **state)
{
    (void)state;
    otter_err err;
    otter_store *s = otter_test_store_fresh("bwcap_sync");
    otter_bwcap *a, *b;
    otter_bwcap_pace *pa[2], *pb[1];
    int64_t tenant, now = 1700000000000LL;
    int pub_a = 0, pub_b = 0;
    assert_otter_ok(otter_store_tenant_create(s, "acme", 1, &tenant, &err), err);
    assert_otter_ok(otter_store_bwcap_set(s, 1, tenant, CAP, &err), err);
    assert_otter_ok(otter_bwcap_new(&a, &err), err);
    assert_otter_ok(otter_bwcap_new(&b, &err), err);
    assert_otter_ok(otter_bwcap_set(a, OTTER_BWCAP_TENANT, tenant, CAP, &err), err);
    assert_otter_ok(otter_bwcap_set(b, OTTER_BWCAP_TENANT, tenant, CAP, &err), err);
    for (int i = 0; i < 2; i++)
        assert_otter_ok(otter_bwcap_pace_new(a, 0, tenant, &pa[i], &err), err);
    assert_otter_ok(otter_bwcap_pace_new(b, 0, tenant, &pb[0], &err), err);
    /* Before any heartbeat each server believes it is alone: the old behaviour, 2 x the cap. */
    assert_otter_ok(otter_bwcap_sync_beat(a, s, "server-a", now, &pub_a, &err), err);
    assert_otter_ok(otter_bwcap_sync_beat(b, s, "server-b", now, &pub_b, &err), err);
    assert_otter_ok(otter_bwcap_sync_beat(a, s, "server-a", now + 500, &pub_a, &err), err);
    assert_int_equal(pub_a, 1);
    uint64_t t0 = mono_ns() + 10000 * MS;     /* past the starting bursts' refill */
    (void)drive(pa, 2, t0 - 1000 * MS, 1000); /* spend the starting credit and burst */
    (void)drive(pb, 1, t0 - 1000 * MS, 1000);
    uint64_t got_a = drive(pa, 2, t0, 10000), got_b = drive(pb, 1, t0, 10000);
    near(got_a, CAP * 10.0 * 2 / 3, "server a (2 downloads) over 10 s");
    near(got_b, CAP * 10.0 / 3, "server b (1 download) over 10 s");
    near(got_a + got_b, CAP * 10.0, "both servers together over 10 s");

    /* Server b dies: its rows expire after the TTL and a takes the whole cap. */
    assert_otter_ok(
        otter_bwcap_sync_beat(a, s, "server-a", now + 500 + OTTER_BWCAP_TTL_MS + 1, &pub_a, &err),
        err);
    near(drive(pa, 2, t0 + 10000 * MS, 10000), CAP * 10.0, "server a alone over 10 s");

    /* b comes back, then stops cleanly: its rows go at once, not after the TTL. */
    now += 10000;
    assert_otter_ok(otter_bwcap_sync_beat(b, s, "server-b", now, &pub_b, &err), err);
    assert_otter_ok(otter_bwcap_sync_beat(a, s, "server-a", now, &pub_a, &err), err);
    near(drive(pa, 2, t0 + 20000 * MS, 10000), CAP * 10.0 * 2 / 3, "server a beside b again");
    assert_otter_ok(otter_store_caps_beat(s, "server-b", now, 0, NULL, 0, &err), err);
    assert_otter_ok(otter_bwcap_sync_beat(a, s, "server-a", now + 1, &pub_a, &err), err);
    near(drive(pa, 2, t0 + 30000 * MS, 10000), CAP * 10.0, "server a after b stopped");

    /* A cap halved in the store (through another server) holds here after the next beat. */
    assert_otter_ok(otter_store_bwcap_set(s, 1, tenant, CAP / 2, &err), err);
    assert_otter_ok(otter_bwcap_sync_beat(a, s, "server-a", now + 2, &pub_a, &err), err);
    near(drive(pa, 2, t0 + 40000 * MS, 10000), CAP * 5.0, "server a under the halved cap");

    for (int i = 0; i < 2; i++)
        otter_bwcap_pace_free(pa[i]);
    otter_bwcap_pace_free(pb[0]);
    /* No downloads left: the next beat withdraws a's demand, the one after skips the store. */
    assert_otter_ok(otter_bwcap_sync_beat(a, s, "server-a", now + 3, &pub_a, &err), err);
    assert_int_equal(pub_a, 0);
    otter_bwcap_free(a);
    otter_bwcap_free(b);
    otter_store_free(s);
}

/* The heartbeat thread itself: starts, beats, stops and removes its rows. */
static void test_thread_starts_and_stops(void **state)
{
    (void)state;
    otter_err err;
    otter_store *s = otter_test_store_fresh("bwcap_thread");
    otter_bwcap *a;
    otter_bwcap_sync *y;
    otter_bwcap_pace *p;
    int64_t tenant;
    assert_otter_ok(otter_store_tenant_create(s, "acme", 1, &tenant, &err), err);
    assert_otter_ok(otter_store_bwcap_set(s, 1, tenant, CAP, &err), err);
    assert_otter_ok(otter_bwcap_new(&a, &err), err);
    assert_otter_ok(otter_bwcap_set(a, OTTER_BWCAP_TENANT, tenant, CAP, &err), err);
    assert_otter_ok(otter_bwcap_sync_start(a, s, &y, &err), err);
    assert_otter_ok(otter_bwcap_pace_new(a, 0, tenant, &p, &err), err); /* wakes the beat */
    otter_store_caps_demand d = {.scope = 1, .id = tenant};
    int64_t now = (int64_t)time(NULL) * 1000;
    for (int i = 0; i < 500 && d.others == 0; i++) { /* seen by another server within 5 s */
        assert_otter_ok(otter_store_caps_beat(s, "observer", now, now, &d, 1, &err), err);
        struct timespec ten_ms = {0, 10000000};
        nanosleep(&ten_ms, NULL);
    }
    assert_int_equal(d.others, 1);
    otter_bwcap_pace_free(p);
    otter_bwcap_sync_stop(y);
    assert_otter_ok(otter_store_caps_beat(s, "observer", now, now, &d, 1, &err), err);
    assert_int_equal(d.others, 0); /* the stop removed the rows */
    otter_bwcap_free(a);
    otter_store_free(s);
}

int main(void)
{
    otter_test_store_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_servers_share_a_cap),
        cmocka_unit_test(test_thread_starts_and_stops),
    };
    return otter_test_store_done(cmocka_run_group_tests(tests, NULL, NULL));
}
