/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_test.h"
#include "otter_bootchooser.h"
#include "otter_file.h"
#include "otter_state.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static otter_state *sample(void)
{
    otter_err err;
    otter_state *s = otter_state_new();
    assert_non_null(s);
    otter_state_image images[2] = {{"rootfs", "rootfs", SHA_A, 268435456},
                                   {"kernel", "kernel", SHA_B, 8388608}};
    assert_otter_ok(otter_state_set_slot(s, OTTER_SLOT_A, "2.4.0", 6, SHA_B, images, 2, &err), err);
    assert_otter_ok(otter_state_set_pending(s, OTTER_SLOT_B, "2.4.1", 7, SHA_A, 1764064800, &err),
                    err);
    assert_otter_ok(otter_state_set_result(s, OTTER_RESULT_FAILURE, "2.4.1", "health check failed",
                                           1764064900, &err),
                    err);
    assert_otter_ok(otter_state_feedback_push(s, "42", "proceeding", "installing", 1, &err), err);
    assert_otter_ok(otter_state_feedback_push(s, "43", "failure", "health check failed", 2, &err),
                    err);
    assert_otter_ok(otter_state_feedback_push(s, "42", "success", "", 3, &err), err);
    return s;
}

static void test_round_trip(void **state)
{
    otter_err err;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/state.json", otter_test_dir("state_rt"));
    otter_state *s = NULL;
    assert_otter_ok(otter_state_load(path, &s, &err), err); /* missing: fresh */
    assert_int_equal(s->booted, OTTER_SLOT_A);
    assert_false(s->slots[0].present);
    assert_false(s->pending.present);
    assert_int_equal(s->last.status, OTTER_RESULT_NONE);
    otter_state_free(s);

    s = sample();
    assert_otter_ok(otter_state_save(s, path, &err), err);
    otter_state_free(s);
    /* A temp file from a crash mid-save does not disturb the next load. */
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp.424242", path);
    assert_otter_ok(otter_file_write_atomic(tmp, "{\"format\": 1, \"boo", 18, 0600, &err), err);

    assert_otter_ok(otter_state_load(path, &s, &err), err);
    assert_true(s->slots[0].present);
    assert_string_equal(s->slots[0].version, "2.4.0");
    assert_int_equal(s->slots[0].security_version, 6);
    assert_string_equal(s->slots[0].manifest_sha256, SHA_B);
    assert_int_equal(s->slots[0].n_images, 2);
    assert_string_equal(s->slots[0].images[1].name, "kernel");
    assert_string_equal(s->slots[0].images[0].sha256, SHA_A);
    assert_int_equal(s->slots[0].images[0].size, 268435456);
    assert_false(s->slots[1].present);
    assert_true(s->pending.present);
    assert_int_equal(s->pending.slot, OTTER_SLOT_B);
    assert_int_equal(s->pending.security_version, 7);
    assert_int_equal(s->pending.time, 1764064800);
    assert_int_equal(s->last.status, OTTER_RESULT_FAILURE);
    assert_string_equal(s->last.reason, "health check failed");
    assert_int_equal(s->n_feedback, 3);

    /* Acked entries go, the others stay, in order. */
    assert_int_equal(otter_state_feedback_ack(s, "42"), 2);
    assert_int_equal(otter_state_feedback_ack(s, "42"), 0);
    assert_int_equal(s->n_feedback, 1);
    assert_string_equal(s->feedback[0].action_id, "43");
    otter_state_clear_pending(s);
    otter_state_clear_slot(s, OTTER_SLOT_A);
    assert_otter_ok(otter_state_save(s, path, &err), err);
    otter_state_free(s);
    assert_otter_ok(otter_state_load(path, &s, &err), err);
    assert_false(s->pending.present);
    assert_false(s->slots[0].present);
    assert_int_equal(s->n_feedback, 1);
    otter_state_free(s);
}

/* The good document with one substring replaced must be refused with want. */
static void expect_refusal(const char *from, const char *to, int code, const char *want)
{
    otter_err err;
    otter_state *s = sample();
    char *json = NULL;
    size_t len = 0;
    assert_otter_ok(otter_state_to_json(s, &json, &len, &err), err);
    otter_state_free(s);
    char *at = strstr(json, from);
    if (!at)
        fail_msg("'%s' not in %s", from, json);
    char doc[16384];
    snprintf(doc, sizeof doc, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
    free(json);
    s = (otter_state *)0x1;
    int ret = otter_state_parse_mem(doc, strlen(doc), "state.json", &s, &err);
    if (ret != code || strcmp(err.msg, want) != 0)
        fail_msg("for %s -> %s: expected %d \"%s\", got %d \"%s\"", from, to, code, want, ret,
                 err.msg);
    assert_null(s);
}

static void test_refusals(void **state)
{
    expect_refusal("\"format\": 1", "\"format\": 2", OTTER_EFORMAT,
                   "state.json: format: expected 1");
    expect_refusal("\"booted\": \"A\"", "\"booted\": \"a\"", OTTER_EFORMAT,
                   "state.json: booted: expected \"A\" or \"B\"");
    expect_refusal("\"booted\": \"A\"", "\"booted\": \"A\", \"colour\": 1", OTTER_EFORMAT,
                   "state.json: unknown key 'colour'");
    expect_refusal("\"booted\": \"A\",", "", OTTER_EFORMAT, "state.json: missing key 'booted'");
    expect_refusal("\"booted\": \"A\"", "\"booted\": \"A\", \"booted\": \"B\"", OTTER_EFORMAT,
                   "state.json:3:25: duplicate object key near '\"booted\"'");
    expect_refusal("\"size\": 8388608", "\"size\": -1", OTTER_EFORMAT,
                   "state.json: slots.A.images[1].size: expected a non-negative integer");
    expect_refusal("\"sha256\": \"aaaa", "\"sha256\": \"Aaaa", OTTER_EFORMAT,
                   "state.json: slots.A.images[0].sha256: expected 64 lowercase hex digits");
    expect_refusal("\"name\": \"rootfs\"", "\"name\": \"root fs\"", OTTER_EFORMAT,
                   "state.json: slots.A.images[0].name: expected only letters, digits and . _ + "
                   ": ~ -");
    expect_refusal("\"security_version\": 7", "\"security_version\": 7.5", OTTER_EFORMAT,
                   "state.json: pending.security_version: expected a non-negative integer");
    expect_refusal("\"status\": \"failure\",\n    \"version\"",
                   "\"status\": \"meh\",\n \"version\"", OTTER_EFORMAT,
                   "state.json: last_result.status: expected \"success\" or \"failure\"");
    expect_refusal("\"proceeding\"", "\"done\"", OTTER_EFORMAT,
                   "state.json: feedback[0].status: expected proceeding, downloaded, success, "
                   "failure, canceled or rejected");
    expect_refusal("\"detail\": \"installing\"", "\"detail\": \"a\\nb\"", OTTER_EFORMAT,
                   "state.json: feedback[0].detail: control character");
    expect_refusal("\"B\": null", "\"B\": null, \"C\": null", OTTER_EFORMAT,
                   "state.json: slots: unknown key 'C'");
    expect_refusal("\"B\": null", "\"B\": []", OTTER_EFORMAT,
                   "state.json: slots.B: expected an object");
    expect_refusal("{", "[", OTTER_EFORMAT, "state.json:2:11: ']' expected near ':'");

    otter_err err;
    otter_state *s = NULL;
    char big[OTTER_STATE_MAX_BYTES + 1];
    memset(big, ' ', sizeof big);
    assert_otter_error(otter_state_parse_mem(big, sizeof big, "state.json", &s, &err), err,
                       OTTER_EFORMAT, "state.json: too large (262145 bytes, limit 262144)");
    assert_otter_error(otter_state_parse_mem("", 0, "state.json", &s, &err), err, OTTER_EFORMAT,
                       "state.json:1:0:");
    /* Deep nesting is refused by the JSON parser, not by the stack. */
    char deep[8192];
    memset(deep, '[', sizeof deep);
    assert_otter_error(otter_state_parse_mem(deep, sizeof deep, "state.json", &s, &err), err,
                       OTTER_EFORMAT, "state.json:1:");
}

static void test_setter_refusals_and_limits(void **state)
{
    otter_err err;
    otter_state *s = otter_state_new();
    otter_state_image im = {"rootfs", "rootfs", SHA_A, 1};
    assert_otter_error(otter_state_set_slot(s, 2, "1.0", 1, SHA_A, &im, 1, &err), err, OTTER_EUSAGE,
                       "state: slot: expected A or B");
    assert_otter_error(otter_state_set_slot(s, OTTER_SLOT_A, "1.0", 1, "abc", &im, 1, &err), err,
                       OTTER_EUSAGE, "state: manifest_sha256: expected 64 lowercase hex digits");
    assert_otter_error(otter_state_set_slot(s, OTTER_SLOT_A, "", 1, SHA_A, &im, 1, &err), err,
                       OTTER_EUSAGE, "state: version: expected 1 to 64 characters");
    assert_otter_error(otter_state_set_pending(s, OTTER_SLOT_B, "1.0", UINT64_MAX, SHA_A, 0, &err),
                       err, OTTER_EUSAGE, "state: pending security_version: above 2^63-1");
    assert_otter_error(otter_state_set_result(s, OTTER_RESULT_NONE, "1.0", "", 0, &err), err,
                       OTTER_EUSAGE, "state: result: expected success or failure");
    assert_false(s->slots[0].present);
    for (int i = 0; i < OTTER_STATE_MAX_FEEDBACK; i++)
        assert_otter_ok(otter_state_feedback_push(s, "7", "proceeding", "", i, &err), err);
    assert_otter_error(otter_state_feedback_push(s, "8", "success", "", 99, &err), err,
                       OTTER_ESTATE, "state: feedback queue full (64 entries not acknowledged)");
    /* A full queue still round-trips within the file limit. */
    char *json = NULL;
    size_t len = 0;
    assert_otter_ok(otter_state_to_json(s, &json, &len, &err), err);
    otter_state *back = NULL;
    assert_otter_ok(otter_state_parse_mem(json, len, "state.json", &back, &err), err);
    assert_int_equal(back->n_feedback, OTTER_STATE_MAX_FEEDBACK);
    otter_state_free(back);
    free(json);
    otter_state_free(s);
}

/* pending.switched: "false" only between the record and the boot switch; the record a
 * finished install leaves (switched) has no key, as an older agent's has none and means
 * switched (docs/agent.md, "State file"). */
static void test_pending_switched(void **state)
{
    (void)state;
    otter_err err;
    otter_state *s = sample(), *back = NULL;
    assert_false(s->pending.switched); /* a new record: not switched yet */
    char *json = NULL;
    size_t len = 0;
    assert_otter_ok(otter_state_to_json(s, &json, &len, &err), err);
    assert_non_null(strstr(json, "\"time\": 1764064800,\n    \"switched\": false\n"));
    assert_otter_ok(otter_state_parse_mem(json, len, "state.json", &back, &err), err);
    assert_true(back->pending.present);
    assert_false(back->pending.switched);
    otter_state_free(back);
    free(json);

    s->pending.switched = 1;
    assert_otter_ok(otter_state_to_json(s, &json, &len, &err), err);
    assert_null(strstr(json, "switched"));
    assert_otter_ok(otter_state_parse_mem(json, len, "state.json", &back, &err), err);
    assert_true(back->pending.switched);
    otter_state_free(back);
    free(json);
    otter_state_free(s);

    expect_refusal("\"switched\": false", "\"switched\": 0", OTTER_EFORMAT,
                   "state.json: pending.switched: expected true or false");
    expect_refusal("\"switched\": false", "\"switched\": \"no\"", OTTER_EFORMAT,
                   "state.json: pending.switched: expected true or false");
    expect_refusal("\"switched\": false", "\"switched\": false, \"colour\": 1", OTTER_EFORMAT,
                   "state.json: pending: unknown key 'colour'");
    expect_refusal("\"time\": 1764064800,\n    \"switched\": false", "\"switched\": false",
                   OTTER_EFORMAT, "state.json: pending: missing key 'time'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_setter_refusals_and_limits),
        cmocka_unit_test(test_pending_switched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
