/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control API's pure parts (#17): request lines, the offer read from
 * deploymentBase/confirmationBase metadata, hawkBit's user-consent answer
 * and its feedback body, the confirmationBase link of the base poll, and
 * the preconditions over a battery directory. The consent flow against a
 * real otter-server comes once its side (s8-consent) is merged.
 */
#include "otter_test.h"
#include "otter_agent_conf.h"
#include "otter_control_offer.h"
#include "otter_control_pre.h"
#include "otter_control_proto.h"
#include "otter_ddi.h"

#include <jansson.h>
#include <stdio.h>

static void test_requests(void **state)
{
    (void)state;
    otter_control_req r;
    otter_err err;
    const char *code = NULL;
    const char *ok = "{\"id\":\"a\",\"method\":\"postpone\",\"params\":{\"seconds\":600}}";
    assert_otter_ok(otter_control_req_parse(ok, strlen(ok), &r, &code, &err), err);
    assert_int_equal(r.method, OTTER_CONTROL_POSTPONE);
    assert_int_equal(r.seconds, 600);
    assert_string_equal(r.id, "\"a\"");
    const char *shortp = "{\"id\":1,\"method\":\"postpone\",\"params\":{\"seconds\":5}}";
    assert_otter_error(otter_control_req_parse(shortp, strlen(shortp), &r, &code, &err), err,
                       OTTER_EFORMAT, "params.seconds: expected an integer 60..2592000");
    assert_string_equal(r.id, "1"); /* the error still answers request 1 */
    const char *dup = "{\"id\":1,\"method\":\"check\",\"method\":\"start\"}";
    assert_otter_error(otter_control_req_parse(dup, strlen(dup), &r, &code, &err), err,
                       OTTER_EFORMAT, "not JSON");
    assert_string_equal(code, "parse");
    char big[OTTER_CONTROL_MAX_REQ + 2];
    memset(big, ' ', sizeof big);
    assert_otter_error(otter_control_req_parse(big, sizeof big, &r, &code, &err), err,
                       OTTER_EFORMAT, "at most 4096");
    assert_string_equal(code, "too_long");
    /* start {"reboot": false}: otter-agent install --from-server --no-reboot */
    const char *nr = "{\"id\":2,\"method\":\"start\",\"params\":{\"reboot\":false}}";
    assert_otter_ok(otter_control_req_parse(nr, strlen(nr), &r, &code, &err), err);
    assert_int_equal(r.method, OTTER_CONTROL_START);
    assert_int_equal(r.no_reboot, 1);
    const char *yr = "{\"id\":2,\"method\":\"start\",\"params\":{\"reboot\":true}}";
    assert_otter_ok(otter_control_req_parse(yr, strlen(yr), &r, &code, &err), err);
    assert_int_equal(r.no_reboot, 0);
    const char *br = "{\"id\":2,\"method\":\"start\",\"params\":{\"reboot\":0}}";
    assert_otter_error(otter_control_req_parse(br, strlen(br), &r, &code, &err), err, OTTER_EFORMAT,
                       "params.reboot: expected true or false");
    assert_string_equal(code, "bad_request");
    const char *pr =
        "{\"id\":2,\"method\":\"postpone\",\"params\":{\"seconds\":600,\"reboot\":false}}";
    assert_otter_error(otter_control_req_parse(pr, strlen(pr), &r, &code, &err), err, OTTER_EFORMAT,
                       "params.reboot: postpone takes no such field");
}

/* A bad escape before invalid UTF-8 (found by fuzz_control): jansson quotes the bytes in its
 * message, and an answer with them could not be made (no answer at all). */
static void test_parse_error_answer(void **state)
{
    (void)state;
    otter_control_req r;
    otter_err err;
    const char *code = NULL;
    const char bad[] = "{\"it\":\"\\\xef\xb1\xb1\xb1\\\\iim\"}";
    assert_otter_error(otter_control_req_parse(bad, strlen(bad), &r, &code, &err), err,
                       OTTER_EFORMAT, "not JSON at column");
    assert_string_equal(code, "parse");
    char *line = otter_control_answer_err(r.id, code, err.msg);
    assert_non_null(line);
    assert_non_null(strstr(line, "parse"));
    free(line);
}

/* install_file names an upload: a plain name, nothing else; other methods take no file. */
static void test_install_file(void **state)
{
    (void)state;
    otter_control_req r;
    otter_err err;
    const char *code = NULL;
    const char *ok =
        "{\"id\":2,\"method\":\"install_file\",\"params\":{\"file\":\"upload-ab_1.zip\"}}";
    assert_otter_ok(otter_control_req_parse(ok, strlen(ok), &r, &code, &err), err);
    assert_int_equal(r.method, OTTER_CONTROL_INSTALL_FILE);
    assert_string_equal(r.file, "upload-ab_1.zip");
    const char *bad[][2] = {
        {"{\"id\":2,\"method\":\"install_file\"}", "params.file: missing"},
        {"{\"id\":2,\"method\":\"install_file\",\"params\":{\"file\":\"../x.zip\"}}",
         "never a path"},
        {"{\"id\":2,\"method\":\"install_file\",\"params\":{\"file\":\"/etc/shadow\"}}",
         "never a path"},
        {"{\"id\":2,\"method\":\"install_file\",\"params\":{\"file\":\".x\"}}", "never a path"},
        {"{\"id\":2,\"method\":\"install_file\",\"params\":{\"file\":\"a b.zip\"}}",
         "never a path"},
        {"{\"id\":2,\"method\":\"install_file\",\"params\":{\"file\":\"\"}}", "never a path"},
        {"{\"id\":2,\"method\":\"install_file\",\"params\":{\"file\":7}}", "expected a string"},
        {"{\"id\":2,\"method\":\"install_file\",\"params\":{\"file\":\"a\",\"url\":\"x\"}}",
         "params.url: install_file takes no such field"},
        {"{\"id\":2,\"method\":\"start\",\"params\":{\"file\":\"a.zip\"}}",
         "params.file: start takes no such field"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_otter_error(otter_control_req_parse(bad[i][0], strlen(bad[i][0]), &r, &code, &err),
                           err, OTTER_EFORMAT, bad[i][1]);
        assert_string_equal(code, "bad_request");
        assert_string_equal(r.id, "2");
    }
    char longname[80];
    memset(longname, 'a', sizeof longname);
    assert_int_equal(otter_control_file_name_ok(longname, OTTER_CONTROL_MAX_FILE), 1);
    assert_int_equal(otter_control_file_name_ok(longname, OTTER_CONTROL_MAX_FILE + 1), 0);
}

static const char *DEPLOYMENT =
    "{\"id\":\"42\",\"deployment\":{\"download\":\"forced\",\"update\":\"attempt\","
    "\"chunks\":[{\"part\":\"os\",\"version\":\"2.0\",\"name\":\"gw\","
    "\"artifacts\":[{\"filename\":\"gw.zip\",\"size\":1000}],"
    "\"metadata\":[{\"key\":\"otter.notes.en\",\"value\":\"Faster boot.\"},"
    "{\"key\":\"otter.notes.zh-CN\",\"value\":\"\\u542f\\u52a8\\u66f4\\u5feb\"},"
    "{\"key\":\"otter.security\",\"value\":\"1\"},{\"key\":\"vendor.x\",\"value\":\"y\"}]}]}}";

static void test_offer(void **state)
{
    (void)state;
    otter_control_offer o = {0};
    otter_err err;
    assert_otter_ok(
        otter_control_offer_parse(DEPLOYMENT, strlen(DEPLOYMENT), "deployment", &o, &err), err);
    assert_string_equal(o.action, "42");
    assert_string_equal(o.version, "2.0");
    assert_int_equal(o.size, 1000); /* no otter.size: the artifact's */
    assert_int_equal(o.security, 1);
    assert_int_equal(o.consent, 0);
    assert_int_equal(o.n_notes, 2);
    assert_string_equal(o.lang[1], "zh-CN");
    assert_string_equal(o.notes[0], "Faster boot.");
    otter_control_offer_clear(&o);
}

/* The rollout's deferral limits (issue #15): read from the metadata, shown in the state. */
static void test_offer_deferrals(void **state)
{
    (void)state;
    otter_control_offer o = {0};
    otter_err err;
    const char *limited = "{\"id\":\"7\",\"deployment\":{\"chunks\":[{\"metadata\":["
                          "{\"key\":\"otter.deferrals_left\",\"value\":\"2\"},"
                          "{\"key\":\"otter.deferral_max_seconds\",\"value\":\"3600\"}]}]}}";
    assert_otter_ok(otter_control_offer_parse(limited, strlen(limited), "deployment", &o, &err),
                    err);
    assert_int_equal(o.deferrals_limited, 1);
    assert_int_equal(o.deferrals_left, 2);
    assert_int_equal(o.deferral_max, 3600);
    assert_int_equal(o.urgent, 0);
    otter_control_offer_clear(&o);
    memset(&o, 0, sizeof o);
    const char *urgent = "{\"id\":\"7\",\"deployment\":{\"chunks\":[{\"metadata\":["
                         "{\"key\":\"otter.urgent\",\"value\":\"1\"}]}]}}";
    assert_otter_ok(otter_control_offer_parse(urgent, strlen(urgent), "deployment", &o, &err), err);
    assert_int_equal(o.urgent, 1);
    otter_control_offer_clear(&o);
    memset(&o, 0, sizeof o);
    assert_otter_ok(
        otter_control_offer_parse(DEPLOYMENT, strlen(DEPLOYMENT), "deployment", &o, &err), err);
    assert_int_equal(o.deferrals_limited, 0); /* no limit from the server */
    otter_control_offer_clear(&o);
    const char *bad = "{\"id\":\"7\",\"deployment\":{\"chunks\":[{\"metadata\":["
                      "{\"key\":\"otter.deferrals_left\",\"value\":\"-1\"}]}]}}";
    assert_otter_error(otter_control_offer_parse(bad, strlen(bad), "deployment", &o, &err), err,
                       OTTER_EFORMAT, "otter.deferrals_left: expected a count");
}

/* otter.deadline (docs/device-ui.md): a UTC moment, shown as the state's offer.deadline. */
static void test_offer_deadline(void **state)
{
    (void)state;
    otter_control_offer o = {0};
    otter_err err;
#define DEADLINE_FMT                                                                               \
    "{\"id\":\"7\",\"deployment\":{\"chunks\":[{\"version\":\"2.0\",\"metadata\":[{\"key\":"       \
    "\"otter.deadline\",\"value\":\"%s\"}]}]}}"
    char body[512];
    snprintf(body, sizeof body, DEADLINE_FMT, "2026-12-24T18:00:00Z");
    assert_otter_ok(otter_control_offer_parse(body, strlen(body), "deployment", &o, &err), err);
    assert_string_equal(o.deadline, "2026-12-24T18:00:00Z");
    otter_control_state st = {.phase = OTTER_CONTROL_READY, .have_offer = 1, .offer = o};
    char *js = otter_control_state_json(&st);
    assert_non_null(strstr(js, "\"deadline\":\"2026-12-24T18:00:00Z\""));
    free(js);
    otter_control_offer_clear(&o);
    const char *bad[] = {"2026-02-30T00:00:00Z", "2026-12-24 18:00:00", "2026-12-24T18:00:00+01:00",
                         "tomorrow", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, DEADLINE_FMT, bad[i]);
        assert_otter_error(otter_control_offer_parse(body, strlen(body), "deployment", &o, &err),
                           err, OTTER_EFORMAT, "otter.deadline: expected a UTC time");
        otter_control_offer_clear(&o);
    }
    /* No deadline given: none shown. */
    assert_otter_ok(
        otter_control_offer_parse(DEPLOYMENT, strlen(DEPLOYMENT), "deployment", &o, &err), err);
    assert_string_equal(o.deadline, "");
    otter_control_offer_clear(&o);
}

static void test_offer_refusals(void **state)
{
    (void)state;
    otter_control_offer o = {0};
    otter_err err;
    const char *bad_sec = "{\"id\":\"1\",\"deployment\":{\"chunks\":[{\"metadata\":"
                          "[{\"key\":\"otter.security\",\"value\":\"yes\"}]}]}}";
    assert_otter_error(otter_control_offer_parse(bad_sec, strlen(bad_sec), "deployment", &o, &err),
                       err, OTTER_EFORMAT, "otter.security: expected \"0\" or \"1\"");
    char *huge = malloc(OTTER_CONTROL_MAX_NOTE + 200);
    assert_non_null(huge);
    int n = snprintf(huge, 200,
                     "{\"id\":\"1\",\"deployment\":{\"chunks\":[{\"metadata\":"
                     "[{\"key\":\"otter.notes.en\",\"value\":\"");
    memset(huge + n, 'x', OTTER_CONTROL_MAX_NOTE + 1);
    strcpy(huge + n + OTTER_CONTROL_MAX_NOTE + 1, "\"}]}]}}");
    assert_otter_error(otter_control_offer_parse(huge, strlen(huge), "deployment", &o, &err), err,
                       OTTER_EFORMAT, "otter.notes.en: expected a language tag and at most 8192");
    free(huge);
    const char *bad_lang = "{\"id\":\"1\",\"deployment\":{\"chunks\":[{\"metadata\":"
                           "[{\"key\":\"otter.notes.e n\",\"value\":\"x\"}]}]}}";
    assert_otter_error(
        otter_control_offer_parse(bad_lang, strlen(bad_lang), "deployment", &o, &err), err,
        OTTER_EFORMAT, "otter.notes.e n");
    const char *size = "{\"id\":\"1\",\"deployment\":{\"chunks\":[{\"metadata\":"
                       "[{\"key\":\"otter.size\",\"value\":\"-5\"}]}]}}";
    assert_otter_error(otter_control_offer_parse(size, strlen(size), "deployment", &o, &err), err,
                       OTTER_EFORMAT, "otter.size: expected a byte count");
}

static void test_consent(void **state)
{
    (void)state;
    otter_control_offer o = {0};
    otter_err err;
    const char *conf = "{\"id\":\"7\",\"confirmation\":{\"download\":\"forced\",\"update\":"
                       "\"forced\",\"chunks\":[{\"version\":\"3.1\",\"artifacts\":[{\"size\":5}],"
                       "\"metadata\":[{\"key\":\"otter.size\",\"value\":\"123456\"}]}]},"
                       "\"actionHistory\":{\"status\":\"WAIT_FOR_CONFIRMATION\"}}";
    assert_otter_ok(otter_control_offer_parse(conf, strlen(conf), "confirmation", &o, &err), err);
    assert_int_equal(o.consent, 1);
    assert_string_equal(o.version, "3.1");
    assert_int_equal(o.size, 123456); /* otter.size wins over the artifact's */
    otter_control_offer_clear(&o);
    /* Who agrees to what: the request must be about this very offer. */
    assert_int_equal(otter_control_consent_answer("7", 1, 0, 0, "7"), 1);
    assert_int_equal(otter_control_consent_answer("7", 0, 1, 0, "7"), 1);
    assert_int_equal(otter_control_consent_answer("7", 0, 0, 1, "7"), -1);
    assert_int_equal(otter_control_consent_answer("6", 1, 1, 0, "7"), 0);
    assert_int_equal(otter_control_consent_answer("", 0, 0, 0, "7"), 0);
    /* The feedback body, as hawkBit's DDI API has it. */
    char *body = otter_control_confirmation_new(0, "otter.user=declined");
    json_t *j = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "confirmation")), "denied");
    assert_int_equal(json_integer_value(json_object_get(j, "code")), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "details"), 0)),
                        "otter.user=declined");
    json_decref(j);
    free(body);
    /* The base poll's link. */
    const char *base = "{\"config\":{\"polling\":{\"sleep\":\"00:00:10\"}},\"_links\":"
                       "{\"confirmationBase\":{\"href\":\"https://s/t/controller/v1/d/"
                       "confirmationBase/7\"}}}";
    otter_ddi_base b;
    assert_otter_ok(otter_ddi_parse_base(base, strlen(base), &b, &err), err);
    assert_string_equal(b.confirmation, "https://s/t/controller/v1/d/confirmationBase/7");
    assert_string_equal(b.deployment, "");
}

static void put(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_battery(void **state)
{
    (void)state;
    const char *dir = otter_test_dir("control-battery");
    char text[8192];
    snprintf(text, sizeof text,
             "[device]\nproduct = p\nmodel = m\n[boot]\nbackend = file\npath = %s/env\n"
             "[server]\nspool = %s\n[slot.rootfs]\na = %s/a\nb = %s/b\n"
             "[preconditions]\npower_supply = %s\nmin_battery = 40\nneed_charging = yes\n",
             dir, dir, dir, dir, dir);
    otter_agent_conf *conf = NULL;
    otter_err err;
    assert_otter_ok(otter_agent_conf_parse_mem(text, strlen(text), "agent.conf", &conf, &err), err);
    otter_control_state st = {0};
    /* No files yet: unreadable is a blocker too (the UI must not guess a level). */
    assert_int_equal(otter_control_pre_check(conf, 0, OTTER_CONTROL_PRE_START, &st), 1);
    assert_non_null(strstr(st.blocker_why[0], "cannot read the battery level ("));
    put(dir, "capacity", "39\n");
    put(dir, "status", "Not charging\n");
    assert_int_equal(otter_control_pre_check(conf, 0, OTTER_CONTROL_PRE_START, &st), 2);
    assert_string_equal(st.blocker_why[0], "battery at 39 %, at least 40 % needed");
    assert_string_equal(st.blocker_why[1], "not charging (Not charging): connect the charger");
    put(dir, "capacity", "40\n");
    put(dir, "status", "Full\n");
    assert_int_equal(otter_control_pre_check(conf, 0, OTTER_CONTROL_PRE_START, &st), 0);
    /* A download larger than the spool's file system can take. */
    assert_int_equal(
        otter_control_pre_check(conf, (uint64_t)1 << 62, OTTER_CONTROL_PRE_DOWNLOAD, &st), 1);
    assert_string_equal(st.blocker_what[0], "space");
    otter_agent_conf_free(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests),       cmocka_unit_test(test_offer),
        cmocka_unit_test(test_offer_refusals), cmocka_unit_test(test_consent),
        cmocka_unit_test(test_battery),        cmocka_unit_test(test_offer_deferrals),
        cmocka_unit_test(test_install_file),   cmocka_unit_test(test_parse_error_answer),
        cmocka_unit_test(test_offer_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
