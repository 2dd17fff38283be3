/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact bytes (issue #12): the full-package equivalent of a download
 * (otter_traffic.h) and the per-tenant /metrics series
 * (otter_metrics_traffic.h).
 */
#include "otter_test.h"

#include "otter_metrics.h"
#include "otter_traffic.h"

static void test_full_equivalent(void **state)
{
    (void)state;
    /* The full package costs what it sent, ranges included. */
    assert_int_equal(otter_traffic_full_equivalent(0, 100, 50, 1000, 1000), 50);
    /* A whole delta stands for the whole full package. */
    assert_int_equal(otter_traffic_full_equivalent(1, 0, 333, 333, 1000003), 1000003);
    /* Adjoining ranges of a delta add up to exactly the full package, whatever the cuts. */
    for (uint64_t cut = 1; cut < 333; cut += 7) {
        uint64_t a = otter_traffic_full_equivalent(1, 0, cut, 333, 1000003);
        uint64_t b = otter_traffic_full_equivalent(1, cut, 333 - cut, 333, 1000003);
        assert_int_equal(a + b, 1000003);
    }
    /* Sizes near 2^53 do not overflow. */
    uint64_t big = (1ull << 53) - 1;
    assert_int_equal(otter_traffic_full_equivalent(1, 0, big, big, big - 5), big - 5);
    /* A range outside the artifact counts nothing. */
    assert_int_equal(otter_traffic_full_equivalent(1, 300, 100, 333, 1000), 0);
    assert_int_equal(otter_traffic_full_equivalent(1, 0, 1, 0, 1000), 0);
}

static void test_metrics_by_tenant(void **state)
{
    (void)state;
    otter_err err;
    otter_metrics *m = NULL;
    char *text = NULL;
    size_t len = 0;
    assert_otter_ok(otter_metrics_new(1, NULL, &m, &err), err);
    otter_metrics_artifact(m, "acme", 1, 300, 9000);
    otter_metrics_artifact(m, "acme", 0, 9000, 9000);
    otter_metrics_artifact(m, "acme", 1, 20, 600);
    otter_metrics_artifact(m, "beta", 0, 5, 5);
    assert_otter_ok(otter_metrics_render(m, &text, &len, &err), err);
    assert_non_null(strstr(text, "# TYPE otter_artifact_bytes_sent_total counter\n"));
    assert_non_null(
        strstr(text, "otter_artifact_bytes_sent_total{tenant=\"acme\",kind=\"delta\"} 320\n"));
    assert_non_null(
        strstr(text, "otter_artifact_bytes_sent_total{tenant=\"acme\",kind=\"full\"} 9000\n"));
    assert_non_null(
        strstr(text, "otter_artifact_downloads_total{tenant=\"acme\",kind=\"delta\"} 2\n"));
    assert_non_null(
        strstr(text, "otter_artifact_bytes_full_equivalent_total{tenant=\"acme\"} 18600\n"));
    assert_non_null(
        strstr(text, "otter_artifact_bytes_sent_total{tenant=\"beta\",kind=\"delta\"} 0\n"));
    assert_non_null(
        strstr(text, "otter_artifact_bytes_full_equivalent_total{tenant=\"beta\"} 5\n"));
    free(text);
    otter_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_equivalent),
        cmocka_unit_test(test_metrics_by_tenant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
