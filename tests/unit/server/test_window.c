/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Maintenance schedules (otter_window.c): weekly windows in a time zone of
 * the tz database, judged at fixed instants: in and out of a window, past
 * midnight, across both DST changes of America/New_York, in two zones at
 * the same instant, from two threads at once; and the strict JSON input.
 */
#include <pthread.h>

#include "otter_test.h"
#include "otter_campaign.h"
#include "otter_window.h"

static void load(const char *text, otter_schedule *s)
{
    otter_err err;
    assert_otter_ok(otter_schedule_parse(text, strlen(text), s, &err), err);
}

static int open_at(const char *text, int64_t t)
{
    otter_schedule s;
    otter_err err;
    int open = -1;
    load(text, &s);
    assert_otter_ok(otter_schedule_open(&s, t, &open, &err), err);
    return open;
}

#define SHANGHAI_NIGHTS                                                                            \
    "{\"time_zone\":\"Asia/Shanghai\",\"windows\":[{\"days\":[\"mon-fri\"],\"start\":\"01:00\","   \
    "\"end\":\"05:00\"}]}"

/* Mon-Fri 01:00-05:00 Asia/Shanghai: Monday there is still Sunday in UTC. */
static void test_zone_weekday(void **state)
{
    (void)state;
    assert_int_equal(open_at(SHANGHAI_NIGHTS, 1796578200), 1); /* Sun 17:30Z = Mon 01:30 CST */
    assert_int_equal(open_at(SHANGHAI_NIGHTS, 1796592600), 0); /* Mon 05:30 CST */
    assert_int_equal(open_at(SHANGHAI_NIGHTS, 1796491800), 0); /* Sun 01:30 CST: not a weekday */
}

#define FRIDAY_NIGHT(zone)                                                                         \
    "{\"time_zone\":\"" zone "\",\"windows\":[{\"days\":[\"fri\"],\"start\":\"22:00\","            \
    "\"end\":\"04:00\"}]}"

/* 22:00-04:00 on Friday runs into Saturday morning, not into Friday morning. */
static void test_across_midnight(void **state)
{
    (void)state;
    const char *utc = FRIDAY_NIGHT("UTC");
    assert_int_equal(open_at(utc, 1797030000), 1); /* Fri 2026-12-11 23:00Z */
    assert_int_equal(open_at(utc, 1797044400), 1); /* Sat 03:00Z */
    assert_int_equal(open_at(utc, 1797116400), 0); /* Sat 23:00Z */
    assert_int_equal(open_at(utc, 1796958000), 0); /* Fri 03:00Z */
    assert_int_equal(open_at(utc, 1797048000), 0); /* Sat 04:00Z: the end is not in */
    /* Sat 03:00 in Shanghai is Fri 19:00 in UTC. */
    assert_int_equal(open_at(FRIDAY_NIGHT("Asia/Shanghai"), 1797015600), 1);
}

#define NY(start, end)                                                                             \
    "{\"time_zone\":\"America/New_York\",\"windows\":[{\"days\":[\"sun\"],\"start\":\"" start      \
    "\",\"end\":\"" end "\"}]}"

/* The tz rules, not a fixed offset: 2026-03-08 02:00 EST became 03:00 EDT. */
static void test_dst(void **state)
{
    (void)state;
    assert_int_equal(open_at(NY("03:00", "04:00"), 1772955000), 1); /* 07:30Z = 03:30 EDT */
    assert_int_equal(open_at(NY("03:00", "04:00"), 1772958600), 0); /* 08:30Z = 04:30 EDT */
    assert_int_equal(open_at(NY("03:00", "04:00"), 1772350200), 0); /* a week before: 02:30 EST */
    assert_int_equal(open_at(NY("01:00", "02:00"), 1772951400), 1); /* 06:30Z = 01:30 EST */
    /* 2026-11-01: 01:00-02:00 happens twice, and the window is open both times. */
    assert_int_equal(open_at(NY("01:00", "02:00"), 1793511000), 1); /* 05:30Z = 01:30 EDT */
    assert_int_equal(open_at(NY("01:00", "02:00"), 1793514600), 1); /* 06:30Z = 01:30 EST */
}

#define DAILY(zone)                                                                                \
    "{\"time_zone\":\"" zone "\",\"windows\":[{\"days\":[\"mon-sun\"],\"start\":\"01:00\","        \
    "\"end\":\"05:00\"}]}"

/* One instant, two zones, two answers. */
static void test_two_zones(void **state)
{
    (void)state;
    assert_int_equal(open_at(DAILY("Asia/Shanghai"), 1796580000), 1);    /* 02:00 CST */
    assert_int_equal(open_at(DAILY("America/New_York"), 1796580000), 0); /* 13:00 EST */
    assert_int_equal(open_at(DAILY("Asia/Shanghai"), 1772951400), 0);    /* 14:30 CST */
    assert_int_equal(open_at(DAILY("America/New_York"), 1772951400), 1); /* 01:30 EST */
}

struct racer {
    const char *text;
    int64_t t;
    int want, wrong;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    otter_schedule s;
    otter_err err;
    if (otter_schedule_parse(r->text, strlen(r->text), &s, &err) < 0) {
        r->wrong = -1;
        return NULL;
    }
    for (int i = 0; i < 2000; i++) {
        int open = -1;
        if (otter_schedule_open(&s, r->t, &open, &err) < 0 || open != r->want)
            r->wrong++;
    }
    return NULL;
}

/* Two threads in two zones at once: each gets its own zone's answer every time. */
static void test_threads(void **state)
{
    (void)state;
    struct racer a = {DAILY("Asia/Shanghai"), 1796580000, 1, 0};
    struct racer b = {DAILY("America/New_York"), 1796580000, 0, 0};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.wrong, 0);
    assert_int_equal(b.wrong, 0);
}

static void refuse(const char *text, const char *where, const char *needle)
{
    otter_schedule s;
    otter_err err;
    char at[OTTER_WINDOW_WHERE_MAX];
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    assert_otter_error(otter_schedule_from_json(j, "body.s", &s, at, &err), err, OTTER_EFORMAT,
                       needle);
    json_decref(j);
    if (strcmp(at, where) != 0)
        fail_msg("where is '%s', want '%s' (%s)", at, where, err.msg);
}

#define W(days, start, end)                                                                        \
    "{\"time_zone\":\"UTC\",\"windows\":[{\"days\":" days ",\"start\":\"" start                    \
    "\",\"end\":\"" end "\"}]}"

static void test_refuses(void **state)
{
    (void)state;
    refuse(W("[\"monday\"]", "01:00", "05:00"), "body.s.windows[0].days[0]", "want a day");
    refuse(W("[\"mon\",\"Fri\"]", "01:00", "05:00"), "body.s.windows[0].days[1]", "want a day");
    refuse(W("[\"fri-mon\"]", "01:00", "05:00"), "body.s.windows[0].days[0]", "range");
    refuse(W("[]", "01:00", "05:00"), "body.s.windows[0].days", "days");
    refuse(W("[\"mon\"]", "25:00", "05:00"), "body.s.windows[0].start", "00:00 to 23:59");
    refuse(W("[\"mon\"]", "24:00", "05:00"), "body.s.windows[0].start", "00:00 to 23:59");
    refuse(W("[\"mon\"]", "01:00", "24:01"), "body.s.windows[0].end", "00:01 to 24:00");
    refuse(W("[\"mon\"]", "1:00", "05:00"), "body.s.windows[0].start", "HH:MM");
    refuse(W("[\"mon\"]", "01:60", "05:00"), "body.s.windows[0].start", "HH:MM");
    refuse(W("[\"mon\"]", "05:00", "05:00"), "body.s.windows[0].end", "the same time");
    refuse("{\"time_zone\":\"Mars/Olympus\",\"windows\":[]}", "body.s.time_zone", "tz database");
    refuse("{\"time_zone\":\"../../etc/passwd\",\"windows\":[]}", "body.s.time_zone", "tz");
    refuse("{\"time_zone\":\"UTC\",\"windows\":[],\"x\":1}", "body.s", "x");
    refuse("{\"time_zone\":\"UTC\",\"windows\":[]}", "body.s.windows", "windows");
    refuse("{\"time_zone\":\"UTC\",\"windows\":[{\"days\":[\"mon\"],\"start\":\"01:00\","
           "\"end\":\"02:00\",\"tz\":1}]}",
           "body.s.windows[0]", "tz");
    refuse("[]", "body.s", "want an object");
}

/* The canonical form lists single days in week order and round-trips. */
static void test_canonical(void **state)
{
    (void)state;
    otter_schedule s, again;
    otter_err err;
    char text[OTTER_SCHEDULE_TEXT_MAX + 1];
    load(W("[\"sat-sun\",\"mon\"]", "23:30", "24:00"), &s);
    assert_otter_ok(otter_schedule_text(&s, text, sizeof text, &err), err);
    assert_string_equal(text, "{\"time_zone\":\"UTC\",\"windows\":[{\"days\":[\"mon\",\"sat\","
                              "\"sun\"],\"start\":\"23:30\",\"end\":\"24:00\"}]}");
    load(text, &again);
    assert_memory_equal(&s, &again, sizeof s);
}

static void campaign(const char *body, otter_campaign *k)
{
    otter_err err;
    char where[OTTER_CAMPAIGN_WHERE_MAX];
    assert_otter_ok(otter_campaign_request_parse(body, strlen(body), 16, k, where, &err), err);
}

/* The deferral rule: count, length, urgent; and what an offer says is left. */
static void test_deferrals(void **state)
{
    (void)state;
    otter_campaign k;
    otter_err err;
    campaign("{\"deferrals\":{\"max\":2,\"max_seconds\":3600}}", &k);
    assert_int_equal(otter_campaign_deferral_check(&k, 0, 3600, &err), 0);
    assert_otter_error(otter_campaign_deferral_check(&k, 0, 3601, &err), err, OTTER_ESTATE,
                       "longer than this update allows");
    assert_int_equal(otter_campaign_deferral_check(&k, 1, 60, &err), 0);
    assert_otter_error(otter_campaign_deferral_check(&k, 2, 60, &err), err, OTTER_ESTATE,
                       "all 2 postponements");
    assert_int_equal(otter_campaign_deferrals_left(&k, 1), 1);
    assert_int_equal(otter_campaign_deferrals_left(&k, 5), 0);
    campaign("{\"urgent\":true}", &k);
    assert_otter_error(otter_campaign_deferral_check(&k, 0, 60, &err), err, OTTER_ESTATE, "urgent");
    assert_int_equal(otter_campaign_deferrals_left(&k, 0), 0);
    campaign("{}", &k); /* no limits: as before */
    assert_int_equal(otter_campaign_deferral_check(&k, 1000, 2592000, &err), 0);
    assert_int_equal(otter_campaign_deferrals_left(&k, 1000), -1);
    char where[OTTER_CAMPAIGN_WHERE_MAX];
    const char *bad = "{\"urgent\":true,\"deferrals\":{\"max\":1}}";
    assert_otter_error(otter_campaign_request_parse(bad, strlen(bad), 16, &k, where, &err), err,
                       OTTER_EFORMAT, "urgent");
    assert_string_equal(where, "body.urgent");
    bad = "{\"deferrals\":{\"max\":1,\"every\":2}}";
    assert_otter_error(otter_campaign_request_parse(bad, strlen(bad), 16, &k, where, &err), err,
                       OTTER_EFORMAT, "every");
    assert_string_equal(where, "body.deferrals");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zone_weekday), cmocka_unit_test(test_across_midnight),
        cmocka_unit_test(test_dst),          cmocka_unit_test(test_two_zones),
        cmocka_unit_test(test_threads),      cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_canonical),    cmocka_unit_test(test_deferrals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
