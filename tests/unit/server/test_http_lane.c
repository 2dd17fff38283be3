/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP layer's slow lane (otter_http_lane.h): jobs run on its own
 * threads, at most queue_max wait (one more is refused at once), and
 * freeing it runs every job still queued, so no parked connection is left
 * behind when a listener stops.
 */
#include "otter_test.h"

#include <pthread.h>

#include "otter_http_lane.h"

static pthread_mutex_t mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started, gate_open, ran;

/* The first job: says it started, then holds the lane's only thread until the gate opens. */
static void blocker(void *job)
{
    (void)job;
    pthread_mutex_lock(&mx);
    started = 1;
    pthread_cond_broadcast(&cv);
    while (!gate_open)
        pthread_cond_wait(&cv, &mx);
    ran++;
    pthread_mutex_unlock(&mx);
}

static void counter(void *job)
{
    (void)job;
    pthread_mutex_lock(&mx);
    ran++;
    pthread_mutex_unlock(&mx);
}

static void test_bounded_queue_and_drain(void **state)
{
    otter_http_lane *l = otter_http_lane_new(1, 2);
    assert_non_null(l);
    assert_int_equal(otter_http_lane_submit(l, blocker, NULL), 0);
    pthread_mutex_lock(&mx);
    while (!started)
        pthread_cond_wait(&cv, &mx);
    pthread_mutex_unlock(&mx);
    /* The thread is busy: two may wait, the third is refused at once. */
    assert_int_equal(otter_http_lane_submit(l, counter, NULL), 0);
    assert_int_equal(otter_http_lane_submit(l, counter, NULL), 0);
    assert_int_equal(otter_http_lane_submit(l, counter, NULL), -1);
    pthread_mutex_lock(&mx);
    gate_open = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mx);
    /* Freeing runs what was queued: the blocker and both waiting jobs, not the refused one. */
    otter_http_lane_free(l);
    assert_int_equal(ran, 3);
    otter_http_lane_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounded_queue_and_drain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
