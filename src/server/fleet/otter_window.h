/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Maintenance windows as weekly schedules in a time zone (issue #15,
 * docs/rollouts.md "Maintenance schedules"): e.g. Mon-Fri 01:00-05:00
 * Asia/Shanghai. A schedule is open at an instant when the local wall
 * time in its zone falls in one of its windows; the zone's rules come
 * from the C library's tz database (tzdata), never from our own DST code.
 *
 * JSON form (the management API's and the store's):
 *   {"time_zone": "Asia/Shanghai",
 *    "windows": [{"days": ["mon-fri"], "start": "01:00", "end": "05:00"}]}
 * days: mon tue wed thu fri sat sun, or a range "mon-fri" (ascending);
 * start 00:00..23:59, end 00:01..24:00, start != end; end before start
 * wraps past midnight (22:00-04:00 is open from 22:00 on a listed day to
 * 04:00 the next day).
 */
#ifndef OTTER_WINDOW_H
#define OTTER_WINDOW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

#define OTTER_WINDOWS_MAX 16
#define OTTER_WINDOW_ZONE_MAX 64
#define OTTER_WINDOW_WHERE_MAX 128
#define OTTER_SCHEDULE_TEXT_MAX 4096 /* the JSON text of the largest schedule */

typedef struct otter_window {
    unsigned days; /* bit d set: open on weekday d (0 = Sunday, as struct tm) */
    int start;     /* minutes after local midnight, 0..1439 */
    int end;       /* 1..1440; below start: the window wraps past midnight */
} otter_window;

typedef struct otter_schedule {
    char zone[OTTER_WINDOW_ZONE_MAX + 1]; /* tz database name: "Asia/Shanghai", "UTC" */
    size_t n;
    otter_window w[OTTER_WINDOWS_MAX];
} otter_schedule;

/*
 * Reads a schedule object strictly: unknown keys, bad day names, 25:00,
 * an unknown time zone are refused with the field's path (below `at`,
 * e.g. "body.maintenance_schedule") in where and err.
 */
int otter_schedule_from_json(const json_t *obj, const char *at, otter_schedule *out,
                             char where[OTTER_WINDOW_WHERE_MAX], otter_err *err);
/* The same from JSON text (stored schedules, the fuzz target). */
int otter_schedule_parse(const char *buf, size_t len, otter_schedule *out, otter_err *err);
/* The canonical JSON object of s (days as single names); caller owns it. NULL: out of memory. */
json_t *otter_schedule_json(const otter_schedule *s);
/* Its compact text into buf (OTTER_SCHEDULE_TEXT_MAX + 1 bytes). */
int otter_schedule_text(const otter_schedule *s, char *buf, size_t size, otter_err *err);

/*
 * *open = 1 when the local time of `now` (unix seconds) in s->zone is in
 * one of s's windows. Thread-safe (one lock around the C library's time
 * zone state). OTTER_EFORMAT when the zone's file is gone from the tz
 * database: callers treat that as closed.
 */
int otter_schedule_open(const otter_schedule *s, int64_t now, int *open, otter_err *err);

/* 1 when name is a zone of the tz database (a TZif file under TZDIR or /usr/share/zoneinfo). */
int otter_window_zone_ok(const char *name);

/*
 * The instant schedules are judged at: time(NULL); in OTTER_TEST_HOOKS
 * builds only, OTTER_TEST_NOW_FILE names a file holding unix seconds that
 * fix it (read at each call), so tests can move a running server before,
 * in and after a window. A product build has no such seam.
 */
int64_t otter_window_now(void);

#endif
