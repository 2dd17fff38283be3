/* SPDX-License-Identifier: Apache-2.0 */
/* DDI request bodies: feedback and configData, as real clients send them and as attackers do. */
#include "otter_test.h"
#include "otter_ddi.h"
#include "otter_ddi_json.h"

static int parse(const char *text, otter_ddi_feedback *f, otter_err *err)
{
    return otter_ddi_feedback_parse(text, strlen(text), f, err);
}

static void test_feedback_ok(void **state)
{
    otter_ddi_feedback f;
    otter_err err;
    /* What SWUpdate 2022.12 sends. */
    assert_otter_ok(parse("{\"id\": 7, \"time\": \"20261125T100000\", \"status\": {\"result\": "
                          "{\"progress\": {\"cnt\": 2, \"of\": 5}, \"finished\": \"none\"}, "
                          "\"execution\": \"proceeding\", \"details\": [\"Installed Chunk.\"]}}",
                          &f, &err),
                    err);
    assert_true(f.has_id);
    assert_int_equal(f.id, 7);
    assert_string_equal(f.execution, "proceeding");
    assert_string_equal(f.finished, "none");
    assert_int_equal(f.progress_cnt, 2);
    assert_int_equal(f.progress_of, 5);
    assert_string_equal(f.details, "[\"Installed Chunk.\"]");
    otter_ddi_feedback_clear(&f);
    /* hawkBit's documented shape: string id, timestamp, code. */
    assert_otter_ok(parse("{\"id\":\"12\",\"timestamp\":1700000000,\"status\":{\"execution\":"
                          "\"closed\",\"result\":{\"finished\":\"success\"},\"code\":200}}",
                          &f, &err),
                    err);
    assert_int_equal(f.id, 12);
    assert_string_equal(f.details, "[]");
    assert_int_equal(f.progress_cnt, -1);
    otter_ddi_feedback_clear(&f);
}

static void test_feedback_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"status\":",
        "{}",
        "{\"status\":{\"execution\":\"closed\"}}",
        "{\"status\":{\"execution\":\"done\",\"result\":{\"finished\":\"success\"}}}",
        "{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"great\"}}}",
        "{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"success\"}},\"x\":1}",
        "{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"success\"},\"details\":["
        "1]}}",
        "{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"success\",\"progress\":"
        "{\"cnt\":-1}}}}",
        "{\"id\":\"1x\",\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"success\"}}"
        "}",
        "{\"status\":{\"execution\":\"clo\\u0000sed\",\"result\":{\"finished\":\"success\"}}}",
        "{\"status\":{\"execution\":\"closed\",\"execution\":\"closed\",\"result\":{\"finished\":"
        "\"success\"}}}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
        "]]]]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        otter_ddi_feedback f;
        otter_err err;
        if (parse(bad[i], &f, &err) != OTTER_EFORMAT)
            fail_msg("accepted: %s", bad[i]);
        assert_null(f.details);
    }
}

static void apply(const char *body, const char *cur, const char *want)
{
    otter_err err;
    char *out = NULL;
    assert_otter_ok(otter_ddi_config_apply(body, strlen(body), cur, &out, &err), err);
    assert_string_equal(out, want);
    free(out);
}

static void test_config(void **state)
{
    apply("{\"mode\":\"merge\",\"data\":{\"b\":\"2\"}}", "{\"a\":\"1\"}",
          "{\"a\":\"1\",\"b\":\"2\"}");
    apply("{\"data\":{\"a\":\"9\"}}", "{\"a\":\"1\"}", "{\"a\":\"9\"}");
    apply("{\"mode\":\"replace\",\"data\":{\"c\":\"3\"}}", "{\"a\":\"1\"}", "{\"c\":\"3\"}");
    apply("{\"mode\":\"remove\",\"data\":{\"a\":\"\"}}", "{\"a\":\"1\",\"b\":\"2\"}",
          "{\"b\":\"2\"}");
    /* Older clients send id, time and status too. */
    apply("{\"id\":\"\",\"time\":\"x\",\"status\":{\"execution\":\"closed\",\"result\":{}},"
          "\"data\":{\"k\":\"v\"}}",
          "not json", "{\"k\":\"v\"}");
    otter_err err;
    char *out = NULL;
    static const char *const bad[] = {
        "{\"mode\":\"merge\"}",
        "{\"data\":{\"a\":1}}",
        "{\"data\":[]}",
        "{\"mode\":\"wipe\",\"data\":{}}",
        "{\"data\":{},\"extra\":true}",
        "{\"data\":{\"\":\"x\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (otter_ddi_config_apply(bad[i], strlen(bad[i]), "{}", &out, &err) != OTTER_EFORMAT)
            fail_msg("accepted: %s", bad[i]);
        assert_null(out);
    }
}

static void test_sleep_text(void **state)
{
    char buf[16];
    otter_ddi_sleep_text(90, buf, sizeof buf);
    assert_string_equal(buf, "00:01:30");
    otter_ddi_sleep_text(86400, buf, sizeof buf);
    assert_string_equal(buf, "24:00:00");
    otter_ddi_sleep_text(1000000, buf, sizeof buf);
    assert_string_equal(buf, "99:59:59");
    assert_true(otter_ddi_match("/acme/controller/v1/dev"));
    assert_false(otter_ddi_match("/api/v1/tenants"));
    assert_false(otter_ddi_match("//controller/v1/x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feedback_ok),
        cmocka_unit_test(test_feedback_refused),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_sleep_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
