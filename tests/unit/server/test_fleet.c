/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fleet's state machines (otter_fleet.h): every legal transition of
 * actions, approvals and rollouts is written out here once more, by hand,
 * and every other (state, event) pair must be refused; plus the word
 * mapping, the DDI feedback rules and the automatic rollout verdict.
 */
#include "otter_test.h"
#include "otter_fleet.h"

/* ---- actions ---- */

struct action_move {
    otter_action_state from;
    otter_action_event ev;
    otter_action_state to;
};

#define AS(x) OTTER_ACTION_##x
#define AE(x) OTTER_ACTION_EV_##x

static const struct action_move action_legal[] = {
    {AS(SCHEDULED), AE(DEPLOYMENT_READ), AS(RUNNING)},
    {AS(RUNNING), AE(DEPLOYMENT_READ), AS(RUNNING)},
    {AS(FINISHED), AE(DEPLOYMENT_READ), AS(FINISHED)},
    {AS(ERROR), AE(DEPLOYMENT_READ), AS(ERROR)},
    {AS(SCHEDULED), AE(FEEDBACK_PROGRESS), AS(RUNNING)},
    {AS(RUNNING), AE(FEEDBACK_PROGRESS), AS(RUNNING)},
    {AS(CANCELING), AE(FEEDBACK_PROGRESS), AS(CANCELING)},
    {AS(SCHEDULED), AE(FEEDBACK_SUCCESS), AS(FINISHED)},
    {AS(RUNNING), AE(FEEDBACK_SUCCESS), AS(FINISHED)},
    {AS(CANCELING), AE(FEEDBACK_SUCCESS), AS(FINISHED)},
    {AS(SCHEDULED), AE(FEEDBACK_FAILURE), AS(ERROR)},
    {AS(RUNNING), AE(FEEDBACK_FAILURE), AS(ERROR)},
    {AS(CANCELING), AE(FEEDBACK_FAILURE), AS(ERROR)},
    {AS(SCHEDULED), AE(FEEDBACK_CANCELED), AS(CANCELED)},
    {AS(RUNNING), AE(FEEDBACK_CANCELED), AS(CANCELED)},
    {AS(CANCELING), AE(FEEDBACK_CANCELED), AS(CANCELED)},
    {AS(SCHEDULED), AE(CANCEL), AS(CANCELED)},
    {AS(RUNNING), AE(CANCEL), AS(CANCELING)},
    {AS(CANCELING), AE(CANCEL_PROGRESS), AS(CANCELING)},
    {AS(CANCELING), AE(CANCEL_CONFIRMED), AS(CANCELED)},
    {AS(CANCELING), AE(CANCEL_REJECTED), AS(RUNNING)},
    {AS(CANCELING), AE(CANCEL_FAILED), AS(ERROR)},
};

static int action_expected(otter_action_state from, otter_action_event ev, otter_action_state *to)
{
    for (size_t i = 0; i < sizeof action_legal / sizeof *action_legal; i++)
        if (action_legal[i].from == from && action_legal[i].ev == ev) {
            *to = action_legal[i].to;
            return 1;
        }
    return 0;
}

static void test_action_table(void **state)
{
    (void)state;
    size_t legal = 0;
    for (int from = 0; from <= OTTER_ACTION_UNKNOWN; from++)
        for (int ev = 0; ev < OTTER_ACTION_EVENTS; ev++) {
            otter_err err;
            otter_action_state to = OTTER_ACTION_UNKNOWN, want;
            int ret =
                otter_action_next((otter_action_state)from, (otter_action_event)ev, &to, &err);
            if (action_expected((otter_action_state)from, (otter_action_event)ev, &want)) {
                assert_otter_ok(ret, err);
                assert_int_equal(to, want);
                legal++;
            } else {
                assert_int_equal(ret, OTTER_ESTATE);
                assert_int_equal(to, OTTER_ACTION_UNKNOWN); /* untouched */
            }
        }
    assert_int_equal(legal, sizeof action_legal / sizeof *action_legal);
}

static void test_action_words(void **state)
{
    (void)state;
    const char *words[] = {"scheduled", "running", "canceling", "finished", "error", "canceled"};
    for (int s = 0; s < OTTER_ACTION_UNKNOWN; s++) {
        assert_string_equal(otter_action_state_word((otter_action_state)s), words[s]);
        assert_int_equal(otter_action_state_parse(words[s]), s);
    }
    assert_int_equal(otter_action_state_parse("unknown"), OTTER_ACTION_UNKNOWN);
    assert_int_equal(otter_action_state_parse("Running"), OTTER_ACTION_UNKNOWN);
    assert_int_equal(otter_action_state_parse(""), OTTER_ACTION_UNKNOWN);
    assert_string_equal(otter_action_result_word(OTTER_RESULT_NONE), "none");
    assert_string_equal(otter_action_result_word(OTTER_RESULT_SUCCESS), "success");
    assert_string_equal(otter_action_result_word(OTTER_RESULT_FAILURE), "failure");
    assert_true(otter_action_finished_known("none"));
    assert_false(otter_action_finished_known("partial"));
    assert_true(otter_action_execution_known("downloaded"));
    assert_false(otter_action_execution_known("finished"));
}

static otter_action action(const char *status, const char *result)
{
    otter_action a = {.id = 7};
    snprintf(a.status, sizeof a.status, "%s", status);
    snprintf(a.result, sizeof a.result, "%s", result);
    return a;
}

static void test_action_step(void **state)
{
    (void)state;
    otter_err err;
    otter_action_state to;
    otter_action_result res;
    int moved = -1;
    otter_action a = action("scheduled", "none");
    assert_otter_ok(otter_action_step(&a, AE(DEPLOYMENT_READ), &to, &res, &moved, &err), err);
    assert_int_equal(to, AS(RUNNING));
    assert_int_equal(res, OTTER_RESULT_NONE);
    assert_int_equal(moved, 1);
    a = action("running", "none");
    assert_otter_ok(otter_action_step(&a, AE(FEEDBACK_PROGRESS), &to, &res, &moved, &err), err);
    assert_int_equal(moved, 0); /* nothing to write */
    assert_otter_ok(otter_action_step(&a, AE(FEEDBACK_FAILURE), &to, &res, &moved, &err), err);
    assert_int_equal(res, OTTER_RESULT_FAILURE);
    assert_int_equal(moved, 1);
    /* Reading a closed action's deployment keeps its result. */
    a = action("finished", "success");
    assert_otter_ok(otter_action_step(&a, AE(DEPLOYMENT_READ), &to, &res, &moved, &err), err);
    assert_int_equal(to, AS(FINISHED));
    assert_int_equal(res, OTTER_RESULT_SUCCESS);
    assert_int_equal(moved, 0);
    a = action("canceling", "none");
    assert_otter_ok(otter_action_step(&a, AE(CANCEL_FAILED), &to, &res, &moved, &err), err);
    assert_int_equal(to, AS(ERROR));
    assert_int_equal(res, OTTER_RESULT_FAILURE);
    /* Refusals name the action and say why, in the words the APIs answered before. */
    a = action("finished", "success");
    assert_otter_error(otter_action_step(&a, AE(CANCEL), &to, &res, &moved, &err), err,
                       OTTER_ESTATE, "action 7 is finished and cannot be canceled");
    a = action("running", "none");
    assert_otter_error(otter_action_step(&a, AE(CANCEL_CONFIRMED), &to, &res, &moved, &err), err,
                       OTTER_ESTATE, "action 7 is not being canceled");
    a = action("canceling", "none");
    assert_otter_error(otter_action_step(&a, AE(DEPLOYMENT_READ), &to, &res, &moved, &err), err,
                       OTTER_ESTATE, "action 7 is being canceled");
    a = action("bogus", "none");
    assert_otter_error(otter_action_step(&a, AE(FEEDBACK_SUCCESS), &to, &res, &moved, &err), err,
                       OTTER_ESTATE, "action 7 is bogus");
}

static void test_action_feedback_events(void **state)
{
    (void)state;
    assert_int_equal(otter_action_feedback_event(0, "closed", "success"), AE(FEEDBACK_SUCCESS));
    /* hawkBit: closed without a result is a success. */
    assert_int_equal(otter_action_feedback_event(0, "closed", "none"), AE(FEEDBACK_SUCCESS));
    assert_int_equal(otter_action_feedback_event(0, "closed", "failure"), AE(FEEDBACK_FAILURE));
    assert_int_equal(otter_action_feedback_event(0, "canceled", "none"), AE(FEEDBACK_CANCELED));
    assert_int_equal(otter_action_feedback_event(0, "proceeding", "none"), AE(FEEDBACK_PROGRESS));
    assert_int_equal(otter_action_feedback_event(0, "rejected", "none"), AE(FEEDBACK_PROGRESS));
    assert_int_equal(otter_action_feedback_event(1, "rejected", "none"), AE(CANCEL_REJECTED));
    assert_int_equal(otter_action_feedback_event(1, "closed", "failure"), AE(CANCEL_FAILED));
    assert_int_equal(otter_action_feedback_event(1, "closed", "success"), AE(CANCEL_CONFIRMED));
    assert_int_equal(otter_action_feedback_event(1, "canceled", "none"), AE(CANCEL_CONFIRMED));
    assert_int_equal(otter_action_feedback_event(1, "proceeding", "none"), AE(CANCEL_PROGRESS));
}

static void test_action_predicates_and_tally(void **state)
{
    (void)state;
    assert_true(otter_action_is_open(AS(SCHEDULED)) && otter_action_is_open(AS(RUNNING)) &&
                otter_action_is_open(AS(CANCELING)));
    assert_false(otter_action_is_open(AS(FINISHED)) || otter_action_is_open(AS(ERROR)) ||
                 otter_action_is_open(AS(CANCELED)) || otter_action_is_open(AS(UNKNOWN)));
    assert_false(otter_action_is_started(AS(SCHEDULED)) || otter_action_is_started(AS(CANCELED)));
    assert_true(otter_action_is_started(AS(RUNNING)) && otter_action_is_started(AS(ERROR)));
    assert_int_equal(otter_action_tally_of("scheduled", "none", 0), OTTER_TALLY_WAITING);
    assert_int_equal(otter_action_tally_of("scheduled", "none", 1), OTTER_TALLY_SCHEDULED);
    assert_int_equal(otter_action_tally_of("canceling", "none", 1), OTTER_TALLY_RUNNING);
    assert_int_equal(otter_action_tally_of("finished", "success", 1), OTTER_TALLY_SUCCESS);
    assert_int_equal(otter_action_tally_of("finished", "failure", 1), OTTER_TALLY_FAILURE);
    assert_int_equal(otter_action_tally_of("error", "failure", 1), OTTER_TALLY_FAILURE);
    assert_int_equal(otter_action_tally_of("canceled", "none", 1), OTTER_TALLY_CANCELED);
}

/* ---- approvals ---- */

static void test_approval_table(void **state)
{
    (void)state;
    /* want[event][from], -1 = refused; from: pending, approved, rejected, revoked, unknown. */
    static const int want[OTTER_APPROVAL_EVENTS][OTTER_APPROVAL_UNKNOWN + 1] = {
        [OTTER_APPROVAL_EV_APPROVE] = {OTTER_APPROVAL_APPROVED, -1, OTTER_APPROVAL_APPROVED,
                                       OTTER_APPROVAL_APPROVED, -1},
        [OTTER_APPROVAL_EV_REJECT] = {OTTER_APPROVAL_REJECTED, OTTER_APPROVAL_REJECTED, -1,
                                      OTTER_APPROVAL_REJECTED, -1},
        [OTTER_APPROVAL_EV_REVOKE] = {-1, OTTER_APPROVAL_REVOKED, -1, -1, -1},
    };
    for (int ev = 0; ev < OTTER_APPROVAL_EVENTS; ev++)
        for (int from = 0; from <= OTTER_APPROVAL_UNKNOWN; from++) {
            otter_err err;
            otter_approval_state to = OTTER_APPROVAL_UNKNOWN;
            int ret = otter_approval_next((otter_approval_state)from, (otter_approval_event)ev, &to,
                                          &err);
            if (want[ev][from] < 0) {
                assert_int_equal(ret, OTTER_ESTATE);
            } else {
                assert_otter_ok(ret, err);
                assert_int_equal(to, want[ev][from]);
            }
        }
    const char *words[] = {"pending", "approved", "rejected", "revoked"};
    for (int s = 0; s < OTTER_APPROVAL_UNKNOWN; s++) {
        assert_string_equal(otter_approval_state_word((otter_approval_state)s), words[s]);
        assert_int_equal(otter_approval_state_parse(words[s]), s);
    }
    assert_int_equal(otter_approval_state_parse("maybe"), OTTER_APPROVAL_UNKNOWN);
    assert_true(otter_approval_allows_rollout(OTTER_APPROVAL_APPROVED));
    for (int s = 0; s <= OTTER_APPROVAL_UNKNOWN; s++)
        if (s != OTTER_APPROVAL_APPROVED)
            assert_false(otter_approval_allows_rollout((otter_approval_state)s));
}

static void test_approval_decide(void **state)
{
    (void)state;
    otter_err err;
    otter_approval a = {.state = "pending"};
    assert_otter_error(otter_approval_decide(3, &a, OTTER_APPROVAL_EV_REVOKE, &err), err,
                       OTTER_ESTATE, "release 3 is pending: only an approval can be revoked");
    assert_string_equal(a.state, "pending");
    assert_otter_ok(otter_approval_decide(3, &a, OTTER_APPROVAL_EV_APPROVE, &err), err);
    assert_string_equal(a.state, "approved");
    assert_otter_error(otter_approval_decide(3, &a, OTTER_APPROVAL_EV_APPROVE, &err), err,
                       OTTER_ESTATE, "release 3 is already approved");
    assert_otter_ok(otter_approval_decide(3, &a, OTTER_APPROVAL_EV_REVOKE, &err), err);
    assert_string_equal(a.state, "revoked");
    assert_string_equal(otter_approval_event_verb(OTTER_APPROVAL_EV_REVOKE), "revoke");
}

/* ---- rollouts ---- */

#define RS(x) OTTER_ROLLOUT_##x
#define RE(x) OTTER_ROLLOUT_EV_##x

static void test_rollout_table(void **state)
{
    (void)state;
    /* want[event][from], -1 = refused; from: draft, running, paused, finished, canceled,
       unknown. */
    static const int want[OTTER_ROLLOUT_EVENTS][OTTER_ROLLOUT_UNKNOWN + 1] = {
        [RE(START)] = {RS(RUNNING), -1, -1, -1, -1, -1},
        [RE(PAUSE)] = {-1, RS(PAUSED), -1, -1, -1, -1},
        [RE(RESUME)] = {-1, -1, RS(RUNNING), -1, -1, -1},
        [RE(ADVANCE)] = {-1, RS(RUNNING), RS(PAUSED), -1, -1, -1},
        [RE(CANCEL)] = {RS(CANCELED), RS(CANCELED), RS(CANCELED), -1, -1, -1},
        [RE(FAILURES)] = {-1, RS(PAUSED), -1, -1, -1, -1},
        [RE(STAGE_PASSED)] = {-1, RS(RUNNING), -1, -1, -1, -1},
        [RE(COMPLETE)] = {-1, RS(FINISHED), -1, -1, -1, -1},
        [RE(APPROVAL_REVOKED)] = {-1, RS(PAUSED), -1, -1, -1, -1},
    };
    for (int ev = 0; ev < OTTER_ROLLOUT_EVENTS; ev++)
        for (int from = 0; from <= OTTER_ROLLOUT_UNKNOWN; from++) {
            otter_err err;
            otter_rollout_state to = OTTER_ROLLOUT_UNKNOWN;
            int ret =
                otter_rollout_next((otter_rollout_state)from, (otter_rollout_event)ev, &to, &err);
            if (want[ev][from] < 0) {
                assert_int_equal(ret, OTTER_ESTATE);
            } else {
                assert_otter_ok(ret, err);
                assert_int_equal(to, want[ev][from]);
            }
        }
    const char *words[] = {"draft", "running", "paused", "finished", "canceled"};
    for (int s = 0; s < OTTER_ROLLOUT_UNKNOWN; s++) {
        assert_string_equal(otter_rollout_state_word((otter_rollout_state)s), words[s]);
        assert_int_equal(otter_rollout_state_parse(words[s]), s);
    }
}

static otter_rollout rollout(const char *st, int64_t stage, size_t n_stages)
{
    otter_rollout r = {.id = 5, .current_stage = stage, .n_stages = n_stages};
    snprintf(r.state, sizeof r.state, "%s", st);
    for (size_t i = 0; i < n_stages; i++)
        r.stages[i] = (otter_rollout_stage){.percent = (int)(100 * (i + 1) / n_stages),
                                            .success_threshold = 90,
                                            .failure_threshold = 20};
    return r;
}

static void test_rollout_apply(void **state)
{
    (void)state;
    otter_err err;
    otter_rollout r = rollout("draft", 0, 2);
    assert_otter_error(otter_rollout_apply(&r, RE(PAUSE), "x", &err), err, OTTER_ESTATE,
                       "rollout 5 is draft: cannot pause it");
    assert_otter_ok(otter_rollout_apply(&r, RE(START), NULL, &err), err);
    assert_string_equal(r.state, "running");
    assert_otter_ok(otter_rollout_apply(&r, RE(PAUSE), "paused by olga", &err), err);
    assert_string_equal(r.state, "paused");
    assert_string_equal(r.pause_reason, "paused by olga");
    /* Advancing a paused rollout opens the next stage and leaves it paused. */
    assert_otter_ok(otter_rollout_apply(&r, RE(ADVANCE), NULL, &err), err);
    assert_int_equal(r.current_stage, 1);
    assert_string_equal(r.state, "paused");
    assert_string_equal(r.pause_reason, "paused by olga");
    assert_otter_error(otter_rollout_apply(&r, RE(ADVANCE), NULL, &err), err, OTTER_ESTATE,
                       "rollout 5 is at its last stage (paused)");
    assert_int_equal(r.current_stage, 1);
    assert_otter_ok(otter_rollout_apply(&r, RE(RESUME), NULL, &err), err);
    assert_string_equal(r.state, "running");
    assert_string_equal(r.pause_reason, "");
    assert_otter_ok(otter_rollout_apply(&r, RE(COMPLETE), NULL, &err), err);
    assert_string_equal(r.state, "finished");
    assert_otter_error(otter_rollout_apply(&r, RE(CANCEL), NULL, &err), err, OTTER_ESTATE,
                       "rollout 5 is finished: cannot cancel it");
    assert_string_equal(r.state, "finished");
}

static void test_rollout_judge(void **state)
{
    (void)state;
    otter_rollout_event ev = RE(START);
    char reason[OTTER_FLEET_REASON_MAX];
    otter_rollout r = rollout("running", 0, 2);
    otter_rollout_stats st = {0};
    st.stage[0] = (otter_rollout_tally){.devices = 10, .running = 10};
    st.stage[1] = (otter_rollout_tally){.devices = 10, .waiting = 10};
    st.total = (otter_rollout_tally){.devices = 20, .running = 10, .waiting = 10};
    assert_int_equal(otter_rollout_judge(&r, &st, &ev, reason), 0);
    /* 2 of 10 failed: 20 % reaches the threshold. */
    st.stage[0].running = 8;
    st.stage[0].failure = st.total.failure = 2;
    assert_int_equal(otter_rollout_judge(&r, &st, &ev, reason), 1);
    assert_int_equal(ev, RE(FAILURES));
    assert_string_equal(reason, "failure threshold of stage 1 reached (2 of 10 devices failed)");
    /* Resumed past those two: they do not pause it again. */
    r.accepted_failures = 2;
    assert_int_equal(otter_rollout_judge(&r, &st, &ev, reason), 0);
    /* 9 of 10 done... all done with 8 successes and 2 failures: 80 % < 90 % does not pass. */
    st.stage[0].running = 0;
    st.stage[0].success = 8;
    assert_int_equal(otter_rollout_judge(&r, &st, &ev, reason), 0);
    st.stage[0].success = 18;
    st.stage[0].devices = 20;
    assert_int_equal(otter_rollout_judge(&r, &st, &ev, reason), 1);
    assert_int_equal(ev, RE(STAGE_PASSED));
    /* Last stage current and nothing open: finish. */
    r.current_stage = 1;
    st.total.waiting = st.total.running = st.total.scheduled = 0;
    assert_int_equal(otter_rollout_judge(&r, &st, &ev, reason), 1);
    assert_int_equal(ev, RE(COMPLETE));
    /* Only a running rollout is judged. */
    snprintf(r.state, sizeof r.state, "paused");
    assert_int_equal(otter_rollout_judge(&r, &st, &ev, reason), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_action_table),
        cmocka_unit_test(test_action_words),
        cmocka_unit_test(test_action_step),
        cmocka_unit_test(test_action_feedback_events),
        cmocka_unit_test(test_action_predicates_and_tally),
        cmocka_unit_test(test_approval_table),
        cmocka_unit_test(test_approval_decide),
        cmocka_unit_test(test_rollout_table),
        cmocka_unit_test(test_rollout_apply),
        cmocka_unit_test(test_rollout_judge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
