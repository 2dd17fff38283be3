/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The token buckets of the bandwidth caps (otter_bwcap.h, issue #15), on a
 * simulated clock: over t seconds a capped download gets rate x t bytes
 * plus at most one burst; two rollouts under one tenant cap share it; the
 * smaller of a rollout's and its tenant's cap wins; no cap means no pace;
 * a cap changed or lifted mid-download holds at once; /metrics series.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "otter_bwcap.h"
#include "otter_test.h"

#define MS 1000000ull

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Each pace asks for a 64 KiB block every millisecond for ms milliseconds,
 * in turn (as parked connections woken together); bytes each got.
 */
static void drive(otter_bwcap_pace **p, size_t n, uint64_t t0, unsigned ms, uint64_t *got)
{
    for (unsigned step = 1; step <= ms; step++)
        for (size_t i = 0; i < n; i++)
            got[(i + step) % n] += otter_bwcap_take_at(p[(i + step) % n], 65536, t0 + step * MS);
}

static void test_one_rollout_rate(void **state)
{
    (void)state;
    otter_err err;
    otter_bwcap *b;
    otter_bwcap_pace *p[3];
    uint64_t got[3] = {0};
    assert_otter_ok(otter_bwcap_new(&b, &err), err);
    assert_otter_ok(otter_bwcap_set(b, OTTER_BWCAP_ROLLOUT, 7, 1000000, &err), err);
    for (int i = 0; i < 3; i++) {
        assert_otter_ok(otter_bwcap_pace_new(b, 7, 1, &p[i], &err), err);
        assert_non_null(p[i]);
    }
    uint64_t t0 = mono_ns();
    drive(p, 3, t0, 10000, got); /* 10 s */
    uint64_t total = got[0] + got[1] + got[2];
    /* rate x 10 s plus the starting burst (a quarter of a second), never more. */
    assert_true(total <= 10000000 + 250000 + 65536);
    assert_true(total >= 10000000 - 65536);
    for (int i = 0; i < 3; i++)
        otter_bwcap_pace_free(p[i]);
    otter_bwcap_free(b);
}

static void test_tenant_cap_bounds_rollouts_together(void **state)
{
    (void)state;
    otter_err err;
    otter_bwcap *b;
    otter_bwcap_pace *p[2];
    uint64_t got[2] = {0};
    assert_otter_ok(otter_bwcap_new(&b, &err), err);
    /* Rollout 1 allows 4 MB/s, rollout 2 has no cap; the tenant allows 2 MB/s for both. */
    assert_otter_ok(otter_bwcap_set(b, OTTER_BWCAP_ROLLOUT, 1, 4000000, &err), err);
    assert_otter_ok(otter_bwcap_set(b, OTTER_BWCAP_TENANT, 9, 2000000, &err), err);
    assert_otter_ok(otter_bwcap_pace_new(b, 1, 9, &p[0], &err), err);
    assert_otter_ok(otter_bwcap_pace_new(b, 2, 9, &p[1], &err), err);
    assert_non_null(p[0]);
    assert_non_null(p[1]);
    uint64_t t0 = mono_ns();
    drive(p, 2, t0, 5000, got);
    uint64_t total = got[0] + got[1];
    assert_true(total <= 10000000 + 500000 + 65536);
    assert_true(total >= 10000000 - 65536);
    assert_true(got[1] > 0); /* the uncapped rollout had its share of the tenant */
    otter_bwcap_pace_free(p[0]);
    otter_bwcap_pace_free(p[1]);
    otter_bwcap_free(b);
}

/*
 * Fairness: three downloads asking always in the same order (the first
 * woken first at every tick) get a third of the cap each, not first come
 * takes all; a fourth that starts later gets its quarter at once.
 */
static void test_downloads_share_fairly(void **state)
{
    (void)state;
    otter_err err;
    otter_bwcap *b;
    otter_bwcap_pace *p[4];
    uint64_t got[4] = {0};
    assert_otter_ok(otter_bwcap_new(&b, &err), err);
    assert_otter_ok(otter_bwcap_set(b, OTTER_BWCAP_ROLLOUT, 7, 3000000, &err), err);
    for (int i = 0; i < 4; i++)
        assert_otter_ok(otter_bwcap_pace_new(b, 7, 1, &p[i], &err), err);
    otter_bwcap_pace_free(p[3]); /* made and dropped: a 4th that comes later */
    uint64_t t0 = mono_ns();
    for (unsigned ms = 1; ms <= 10000; ms++)
        for (int i = 0; i < 3; i++)
            got[i] += otter_bwcap_take_at(p[i], 65536, t0 + ms * MS);
    for (int i = 0; i < 3; i++) {
        /* 1 MB/s x 10 s each, within 5 %. */
        if (got[i] < 9500000 || got[i] > 10500000)
            fail_msg("download %d got %llu bytes in 10 s, not about 10000000", i,
                     (unsigned long long)got[i]);
    }
    assert_otter_ok(otter_bwcap_pace_new(b, 7, 1, &p[3], &err), err);
    memset(got, 0, sizeof got);
    for (unsigned ms = 10001; ms <= 12000; ms++)
        for (int i = 0; i < 4; i++) /* the newcomer asks last */
            got[i] += otter_bwcap_take_at(p[i], 65536, t0 + ms * MS);
    /*
     * 750 kB/s each over 2 s: the newcomer is not starved by the three before
     * it (it may have its starting credit on top, a quarter of a second of its rate).
     */
    for (int i = 0; i < 4; i++)
        if (got[i] < 1350000 || got[i] > 1500000 + 187500 + 65536)
            fail_msg("download %d got %llu bytes in 2 s, not about 1500000", i,
                     (unsigned long long)got[i]);
    for (int i = 0; i < 4; i++)
        otter_bwcap_pace_free(p[i]);
    otter_bwcap_free(b);
}

static void test_no_cap_no_pace(void **state)
{
    (void)state;
    otter_err err;
    otter_bwcap *b;
    otter_bwcap_pace *p = (otter_bwcap_pace *)&err; /* must be set to NULL */
    assert_otter_ok(otter_bwcap_new(&b, &err), err);
    assert_otter_ok(otter_bwcap_pace_new(b, 3, 4, &p, &err), err);
    assert_null(p);
    /* A cap of another rollout is not this one's. */
    assert_otter_ok(otter_bwcap_set(b, OTTER_BWCAP_ROLLOUT, 5, 1000, &err), err);
    assert_otter_ok(otter_bwcap_pace_new(b, 3, 4, &p, &err), err);
    assert_null(p);
    otter_bwcap_free(b);
}

static void test_cap_changes_mid_download(void **state)
{
    (void)state;
    otter_err err;
    otter_bwcap *b;
    otter_bwcap_pace *p;
    uint64_t got = 0;
    assert_otter_ok(otter_bwcap_new(&b, &err), err);
    assert_otter_ok(otter_bwcap_set(b, OTTER_BWCAP_TENANT, 1, 100000, &err), err);
    assert_otter_ok(otter_bwcap_pace_new(b, 0, 1, &p, &err), err);
    assert_non_null(p);
    uint64_t t0 = mono_ns();
    drive(&p, 1, t0, 1000, &got);
    assert_true(got <= 100000 + 25000 + 4096);
    /* Tokens are spent: nothing now, and a block smaller than 4 KiB is not worth a write. */
    assert_int_equal(otter_bwcap_take_at(p, 65536, t0 + 1000 * MS), 0);
    /* Lifted: the download goes unpaced from the next block on. */
    assert_otter_ok(otter_bwcap_set(b, OTTER_BWCAP_TENANT, 1, 0, &err), err);
    assert_int_equal(otter_bwcap_take_at(p, 65536, t0 + 1000 * MS), 65536);
    otter_bwcap_pace_free(p);
    otter_bwcap_free(b);
}

struct text {
    char buf[4096];
    size_t len;
};

static void put(void *ctx, const char *fmt, ...)
{
    struct text *t = ctx;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof t->buf - t->len)
        t->len += (size_t)n;
}

static void test_metrics_series(void **state)
{
    (void)state;
    otter_err err;
    otter_bwcap *b;
    struct text t = {.len = 0};
    int64_t cap, rate;
    assert_otter_ok(otter_bwcap_new(&b, &err), err);
    assert_otter_ok(otter_bwcap_set(b, OTTER_BWCAP_ROLLOUT, 12, 2097152, &err), err);
    assert_otter_ok(otter_bwcap_set(b, OTTER_BWCAP_TENANT, 3, 4194304, &err), err);
    otter_bwcap_get(b, OTTER_BWCAP_ROLLOUT, 12, &cap, &rate);
    assert_int_equal(cap, 2097152);
    assert_int_equal(rate, 0);
    otter_bwcap_render(b, put, &t);
    assert_non_null(strstr(
        t.buf, "otter_bandwidth_cap_bytes_per_second{scope=\"rollout\",id=\"12\"} 2097152\n"));
    assert_non_null(
        strstr(t.buf, "otter_bandwidth_cap_bytes_per_second{scope=\"tenant\",id=\"3\"} 4194304\n"));
    assert_non_null(
        strstr(t.buf, "otter_bandwidth_rate_bytes_per_second{scope=\"rollout\",id=\"12\"} 0\n"));
    /* A lifted cap leaves no series. */
    assert_otter_ok(otter_bwcap_set(b, OTTER_BWCAP_ROLLOUT, 12, 0, &err), err);
    t.len = 0;
    otter_bwcap_render(b, put, &t);
    assert_null(strstr(t.buf, "scope=\"rollout\""));
    otter_bwcap_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_rollout_rate),
        cmocka_unit_test(test_tenant_cap_bounds_rollouts_together),
        cmocka_unit_test(test_downloads_share_fairly),
        cmocka_unit_test(test_no_cap_no_pace),
        cmocka_unit_test(test_cap_changes_mid_download),
        cmocka_unit_test(test_metrics_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
