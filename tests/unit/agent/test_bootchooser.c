/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_bootchooser.h"

static void test_parse_and_format(void **state)
{
    otter_err err;
    otter_bootvars v;
    assert_otter_ok(otter_bootchooser_parse(NULL, NULL, NULL, 3, &v, &err), err);
    assert_int_equal(v.n_order, 2);
    assert_int_equal(v.order[0], OTTER_SLOT_A);
    assert_int_equal(v.left[0], 3);
    assert_int_equal(v.left[1], 3);
    assert_otter_ok(otter_bootchooser_parse("B", "0", "12", 3, &v, &err), err);
    assert_int_equal(v.n_order, 1);
    assert_int_equal(v.order[0], OTTER_SLOT_B);
    assert_int_equal(v.left[1], 12);
    char order[8], a[4], b[4];
    otter_bootchooser_format(&v, order, a, b);
    assert_string_equal(order, "B");
    assert_string_equal(a, "0");
    assert_string_equal(b, "12");
    assert_otter_ok(otter_bootchooser_parse("B A", "1", "2", 3, &v, &err), err);
    otter_bootchooser_format(&v, order, a, b);
    assert_string_equal(order, "B A");

    const char *bad_orders[] = {"", "A A", "A  B", "a b", "C", "A B ", "AB", "A B A"};
    for (size_t i = 0; i < sizeof bad_orders / sizeof *bad_orders; i++) {
        char want[128];
        snprintf(want, sizeof want, "BOOT_ORDER: '%s' is not one of", bad_orders[i]);
        assert_otter_error(otter_bootchooser_parse(bad_orders[i], "1", "1", 3, &v, &err), err,
                           OTTER_EFORMAT, want);
    }
    assert_otter_error(otter_bootchooser_parse("A B", "-1", "1", 3, &v, &err), err, OTTER_EFORMAT,
                       "BOOT_A_LEFT: '-1' is not a number 0..99");
    assert_otter_error(otter_bootchooser_parse("A B", "1", "100", 3, &v, &err), err, OTTER_EFORMAT,
                       "BOOT_B_LEFT: '100' is not a number 0..99");
    assert_otter_error(otter_bootchooser_parse("A B", "1", "", 3, &v, &err), err, OTTER_EFORMAT,
                       "BOOT_B_LEFT: '' is not a number 0..99");
}

/* The whole A/B story as the bootloader and the agent play it. */
static void test_update_fallback_story(void **state)
{
    otter_err err;
    otter_bootvars v;
    assert_otter_ok(otter_bootchooser_parse("A B", "3", "3", 3, &v, &err), err);
    assert_int_equal(otter_bootchooser_next(&v), OTTER_SLOT_A);
    otter_bootchooser_mark_good(&v, OTTER_SLOT_A, 3);
    assert_int_equal(v.left[0], 3);

    /* Install into B: B first with 2 tries; both boots fail, then A again. */
    otter_bootchooser_activate(&v, OTTER_SLOT_B, 2);
    assert_int_equal(v.order[0], OTTER_SLOT_B);
    assert_int_equal(otter_bootchooser_next(&v), OTTER_SLOT_B);
    assert_int_equal(otter_bootchooser_next(&v), OTTER_SLOT_B);
    assert_int_equal(v.left[1], 0);
    assert_int_equal(otter_bootchooser_next(&v), OTTER_SLOT_A);
    assert_int_equal(v.left[0], 2);

    /* Install into B again; this time it is marked good and stays. */
    otter_bootchooser_activate(&v, OTTER_SLOT_B, 3);
    assert_int_equal(otter_bootchooser_next(&v), OTTER_SLOT_B);
    otter_bootchooser_mark_good(&v, OTTER_SLOT_B, 3);
    assert_int_equal(otter_bootchooser_next(&v), OTTER_SLOT_B);
    assert_int_equal(v.left[1], 2);

    /* Marked bad: B goes last with no tries. */
    otter_bootchooser_mark_bad(&v, OTTER_SLOT_B);
    assert_int_equal(v.order[0], OTTER_SLOT_A);
    assert_int_equal(v.order[1], OTTER_SLOT_B);
    assert_int_equal(v.left[1], 0);

    /* Nothing left: no slot. */
    v.left[0] = 0;
    assert_int_equal(otter_bootchooser_next(&v), OTTER_SLOT_NONE);
    /* Only "B" in the order: A is never tried even with tries left. */
    assert_otter_ok(otter_bootchooser_parse("B", "3", "0", 3, &v, &err), err);
    assert_int_equal(otter_bootchooser_next(&v), OTTER_SLOT_NONE);
    assert_int_equal(otter_bootchooser_index("b"), OTTER_SLOT_B);
    assert_int_equal(otter_bootchooser_index("AB"), OTTER_SLOT_NONE);
    assert_int_equal(otter_bootchooser_letter(OTTER_SLOT_A), 'A');
}

/* A slot below the anti-rollback counter leaves BOOT_ORDER; a new install brings it back. */
static void test_retire(void **state)
{
    (void)state;
    otter_err err;
    otter_bootvars v;
    char order[8], a[4], b[4];
    assert_otter_ok(otter_bootchooser_parse("B A", "3", "3", 3, &v, &err), err);
    otter_bootchooser_retire(&v, OTTER_SLOT_A);
    otter_bootchooser_format(&v, order, a, b);
    assert_string_equal(order, "B");
    assert_string_equal(a, "0");
    /* Even with its counter reset (a boot script out of tries), A is not tried. */
    v.left[0] = 3;
    v.left[1] = 0;
    assert_int_equal(otter_bootchooser_next(&v), OTTER_SLOT_NONE);
    otter_bootchooser_activate(&v, OTTER_SLOT_A, 3);
    otter_bootchooser_format(&v, order, a, b);
    assert_string_equal(order, "A B");
    otter_bootchooser_retire(&v, 7); /* not a slot: nothing changes */
    otter_bootchooser_format(&v, order, a, b);
    assert_string_equal(order, "A B");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_format),
        cmocka_unit_test(test_update_fallback_story),
        cmocka_unit_test(test_retire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
