/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter-agentd's choice between the full and the delta artifact of an
 * offered deployment, and when it falls back to the full one
 * (docs/ddi.md "Delta artifacts", docs/agent.md "Delta installs").
 */
#include "otter_test.h"
#include "otter_ddi.h"
#include "otter_ddi_delta.h"

#include <string.h>

static otter_ddi_deployment dep;

/* dep with one chunk holding the named artifacts, in this order. */
static void offer(const char *const *names, size_t n)
{
    memset(&dep, 0, sizeof dep);
    snprintf(dep.id, sizeof dep.id, "42");
    dep.n_chunks = 1;
    dep.chunks[0].n_artifacts = n;
    for (size_t i = 0; i < n; i++) {
        otter_ddi_artifact *a = &dep.chunks[0].artifacts[i];
        snprintf(a->filename, sizeof a->filename, "%s", names[i]);
        snprintf(a->download, sizeof a->download, "https://srv/a/%s", names[i]);
        a->size = 1000 + i;
    }
}

static void test_full_only(void **state)
{
    (void)state;
    const char *names[] = {"gw-2.0.zip"};
    offer(names, 1);
    otter_ddi_pick p;
    otter_err err;
    assert_int_equal(otter_ddi_pick_artifacts(&dep, &p, &err), 0);
    assert_ptr_equal(p.full, &dep.chunks[0].artifacts[0]);
    assert_null(p.delta);
    assert_ptr_equal(otter_ddi_first_artifact(&p), p.full);
    /* No delta was tried: exit 3 is no reason to take anything else. */
    assert_int_equal(otter_ddi_falls_back(&p, p.full, OTTER_DDI_EXIT_SOURCE), 0);
}

static void test_delta_is_taken_first(void **state)
{
    (void)state;
    const char *names[] = {"gw-2.0.zip", "gw-2.0.from-1.0.delta.zip"};
    otter_ddi_pick p;
    otter_err err;
    for (int order = 0; order < 2; order++) {
        const char *ordered[] = {names[order], names[1 - order]};
        offer(ordered, 2);
        assert_int_equal(otter_ddi_pick_artifacts(&dep, &p, &err), 0);
        assert_string_equal(p.full->filename, "gw-2.0.zip");
        assert_string_equal(p.delta->filename, "gw-2.0.from-1.0.delta.zip");
        assert_ptr_equal(otter_ddi_first_artifact(&p), p.delta);
    }
}

static void test_falls_back_only_on_a_source_mismatch(void **state)
{
    (void)state;
    const char *names[] = {"gw-2.0.zip", "gw-2.0.from-1.0.delta.zip"};
    offer(names, 2);
    otter_ddi_pick p;
    otter_err err;
    assert_int_equal(otter_ddi_pick_artifacts(&dep, &p, &err), 0);
    assert_int_equal(otter_ddi_falls_back(&p, p.delta, OTTER_DDI_EXIT_SOURCE), 1);
    /* Installed; refused for another reason (signature, digest: exit 1); a network failure. */
    assert_int_equal(otter_ddi_falls_back(&p, p.delta, 0), 0);
    assert_int_equal(otter_ddi_falls_back(&p, p.delta, 1), 0);
    assert_int_equal(otter_ddi_falls_back(&p, p.delta, 2), 0);
    /* The full package refused: nothing left to fall back to. */
    assert_int_equal(otter_ddi_falls_back(&p, p.full, OTTER_DDI_EXIT_SOURCE), 0);
    assert_int_equal(otter_ddi_falls_back(&p, NULL, OTTER_DDI_EXIT_SOURCE), 0);
}

static void test_refused_offers(void **state)
{
    (void)state;
    otter_ddi_pick p;
    otter_err err;
    const char *two_full[] = {"a.zip", "b.zip"};
    offer(two_full, 2);
    assert_int_equal(otter_ddi_pick_artifacts(&dep, &p, &err), OTTER_EFORMAT);
    assert_non_null(strstr(err.msg, "two full artifacts (a.zip, b.zip)"));
    assert_null(p.full);
    const char *two_delta[] = {"a.zip", "x.from-1.delta.zip", "x.from-2.delta.zip"};
    offer(two_delta, 3);
    assert_int_equal(otter_ddi_pick_artifacts(&dep, &p, &err), OTTER_EFORMAT);
    const char *two_delta_only[] = {"x.from-1.delta.zip", "x.from-2.delta.zip"};
    offer(two_delta_only, 2);
    assert_int_equal(otter_ddi_pick_artifacts(&dep, &p, &err), OTTER_EFORMAT);
    assert_non_null(
        strstr(err.msg, "two delta artifacts (x.from-1.delta.zip, x.from-2.delta.zip)"));
    const char *delta_only[] = {"gw-2.0.from-1.0.delta.zip"};
    offer(delta_only, 1);
    assert_int_equal(otter_ddi_pick_artifacts(&dep, &p, &err), OTTER_EFORMAT);
    assert_non_null(strstr(err.msg, "without the full package"));
    assert_null(p.full);
    const char *one[] = {"gw-2.0.zip"};
    offer(one, 1);
    dep.n_chunks = 2;
    assert_int_equal(otter_ddi_pick_artifacts(&dep, &p, &err), OTTER_EFORMAT);
    offer(one, 1);
    dep.chunks[0].n_artifacts = 0;
    assert_int_equal(otter_ddi_pick_artifacts(&dep, &p, &err), OTTER_EFORMAT);
}

static void test_delta_names(void **state)
{
    (void)state;
    assert_true(otter_ddi_is_delta_name("gw-2.0.from-1.0.delta.zip"));
    assert_false(otter_ddi_is_delta_name(".delta.zip"));
    assert_false(otter_ddi_is_delta_name("gw-2.0.zip"));
    assert_false(otter_ddi_is_delta_name("gw-2.0.delta.zip.sig"));
    assert_false(otter_ddi_is_delta_name("delta.zip"));
}

static void test_fallback_detail(void **state)
{
    (void)state;
    char out[256];
    otter_ddi_fallback_detail(out, sizeof out,
                              "otter-agent: https://srv/x: image rootfs: source mismatch",
                              "installed the full package");
    assert_string_equal(out, "delta refused: https://srv/x: image rootfs: source mismatch; "
                             "installed the full package");
    char small[24];
    otter_ddi_fallback_detail(small, sizeof small, "a very long reason indeed", "done");
    assert_int_equal(strlen(small), sizeof small - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_only),
        cmocka_unit_test(test_delta_is_taken_first),
        cmocka_unit_test(test_falls_back_only_on_a_source_mismatch),
        cmocka_unit_test(test_refused_offers),
        cmocka_unit_test(test_delta_names),
        cmocka_unit_test(test_fallback_detail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
