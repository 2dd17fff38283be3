/* SPDX-License-Identifier: Apache-2.0 */
/* Weekly maintenance schedules in a time zone: parsing and "open now?" (otter_window.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otter_json.h"
#include "otter_window.h"

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
/* Week order for ranges: mon..sun (a range runs forward in this order). */
static const int week_order[7] = {1, 2, 3, 4, 5, 6, 0};

static int where_fail(char *where, otter_err *err, const char *why, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes the field's path into where and "<path>: <why>" into err. */
static int where_fail(char *where, otter_err *err, const char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(where, OTTER_WINDOW_WHERE_MAX, fmt, ap);
    va_end(ap);
    return otter_err_set(err, OTTER_EFORMAT, "%s: %s", where, why);
}

/* Position of a day name in week_order (0 = mon .. 6 = sun), -1 when unknown. */
static int week_pos(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        if (n == 3 && strncmp(s, day_names[week_order[i]], 3) == 0)
            return i;
    return -1;
}

/* "mon", "sat" or a forward range "mon-fri" as a day mask; -1 when malformed. */
static int day_mask(const char *s)
{
    const char *dash = strchr(s, '-');
    int a = week_pos(s, dash ? (size_t)(dash - s) : strlen(s));
    int b = dash ? week_pos(dash + 1, strlen(dash + 1)) : a;
    if (a < 0 || b < 0 || b < a)
        return -1;
    int mask = 0;
    for (int i = a; i <= b; i++)
        mask |= 1 << week_order[i];
    return mask;
}

/* "HH:MM" as minutes; max is 1439 for a start, 1440 (24:00) for an end; -1 when malformed. */
static int minutes_of(const char *s, int max)
{
    if (strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || h * 60 + m > max)
        return -1;
    return h * 60 + m;
}

static int parse_days(const json_t *w, const char *at, unsigned *days, char *where, otter_err *err)
{
    json_t *arr = NULL;
    char path[OTTER_WINDOW_WHERE_MAX];
    snprintf(where, OTTER_WINDOW_WHERE_MAX, "%s.days", at);
    if (otter_json_get_array(w, "days", 1, 7, at, &arr, err) < 0)
        return OTTER_EFORMAT;
    *days = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        int mask = s ? day_mask(s) : -1;
        snprintf(path, sizeof path, "%s.days[%zu]", at, i);
        if (mask < 0)
            return where_fail(where, err,
                              "want a day (mon tue wed thu fri sat sun) or a range like mon-fri",
                              "%s", path);
        *days |= (unsigned)mask;
    }
    return 0;
}

static int parse_time(const json_t *w, const char *at, const char *key, int max, int *out,
                      char *where, otter_err *err)
{
    const char *s = NULL;
    snprintf(where, OTTER_WINDOW_WHERE_MAX, "%s.%s", at, key);
    if (otter_json_get_string(w, key, 0, 5, at, &s, err) < 0)
        return OTTER_EFORMAT;
    if ((*out = minutes_of(s, max)) < 0)
        return where_fail(where, err,
                          max == 1440 ? "want HH:MM from 00:01 to 24:00"
                                      : "want HH:MM from 00:00 to 23:59",
                          "%s.%s", at, key);
    return 0;
}

static int parse_window(const json_t *w, const char *at, otter_window *out, char *where,
                        otter_err *err)
{
    static const char *const known[] = {"days", "start", "end", NULL};
    int ret;
    snprintf(where, OTTER_WINDOW_WHERE_MAX, "%s", at);
    if (!json_is_object(w))
        return where_fail(where, err, "want an object {days, start, end}", "%s", at);
    if ((ret = otter_json_known_keys(w, known, at, err)) < 0 ||
        (ret = parse_days(w, at, &out->days, where, err)) < 0 ||
        (ret = parse_time(w, at, "start", 1439, &out->start, where, err)) < 0 ||
        (ret = parse_time(w, at, "end", 1440, &out->end, where, err)) < 0)
        return ret;
    if (out->start == out->end)
        return where_fail(where, err, "start and end are the same time", "%s.end", at);
    return 0;
}

int otter_schedule_from_json(const json_t *obj, const char *at, otter_schedule *out,
                             char where[OTTER_WINDOW_WHERE_MAX], otter_err *err)
{
    static const char *const known[] = {"time_zone", "windows", NULL};
    const char *zone = NULL;
    json_t *arr = NULL;
    char path[OTTER_WINDOW_WHERE_MAX];
    snprintf(where, OTTER_WINDOW_WHERE_MAX, "%s", at);
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj))
        return where_fail(where, err, "want an object {time_zone, windows}", "%s", at);
    if (otter_json_known_keys(obj, known, at, err) < 0)
        return OTTER_EFORMAT;
    snprintf(where, OTTER_WINDOW_WHERE_MAX, "%s.time_zone", at);
    if (otter_json_get_string(obj, "time_zone", 0, OTTER_WINDOW_ZONE_MAX, at, &zone, err) < 0)
        return OTTER_EFORMAT;
    if (!otter_window_zone_ok(zone))
        return where_fail(where, err, "not a time zone of the tz database (like Asia/Shanghai)",
                          "%s.time_zone", at);
    snprintf(out->zone, sizeof out->zone, "%s", zone);
    snprintf(where, OTTER_WINDOW_WHERE_MAX, "%s.windows", at);
    if (otter_json_get_array(obj, "windows", 1, OTTER_WINDOWS_MAX, at, &arr, err) < 0)
        return OTTER_EFORMAT;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(path, sizeof path, "%s.windows[%zu]", at, i);
        int ret = parse_window(json_array_get(arr, i), path, &out->w[i], where, err);
        if (ret < 0)
            return ret;
        out->n++;
    }
    snprintf(where, OTTER_WINDOW_WHERE_MAX, "%s", at);
    return 0;
}

int otter_schedule_parse(const char *buf, size_t len, otter_schedule *out, otter_err *err)
{
    json_t *root = NULL;
    char where[OTTER_WINDOW_WHERE_MAX];
    int ret = otter_json_load(buf, len, OTTER_SCHEDULE_TEXT_MAX, "schedule", &root, err);
    if (ret == 0)
        ret = otter_schedule_from_json(root, "schedule", out, where, err);
    json_decref(root);
    return ret;
}

json_t *otter_schedule_json(const otter_schedule *s)
{
    json_t *wins = json_array();
    for (size_t i = 0; wins && i < s->n; i++) {
        char start[8], end[8];
        json_t *days = json_array();
        for (int k = 0; days && k < 7; k++)
            if (s->w[i].days & (1u << week_order[k]))
                json_array_append_new(days, json_string(day_names[week_order[k]]));
        snprintf(start, sizeof start, "%02d:%02d", s->w[i].start / 60, s->w[i].start % 60);
        snprintf(end, sizeof end, "%02d:%02d", s->w[i].end / 60, s->w[i].end % 60);
        json_array_append_new(
            wins, json_pack("{s:o, s:s, s:s}", "days", days, "start", start, "end", end));
    }
    return json_pack("{s:s, s:o}", "time_zone", s->zone, "windows", wins);
}

int otter_schedule_text(const otter_schedule *s, char *buf, size_t size, otter_err *err)
{
    json_t *doc = otter_schedule_json(s);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return otter_err_set(err, OTTER_ENOMEM, "schedule: out of memory");
    int ret = 0;
    if (strlen(text) >= size)
        ret = otter_err_set(err, OTTER_EFORMAT, "schedule: longer than %zu bytes", size - 1);
    else
        memcpy(buf, text, strlen(text) + 1);
    free(text);
    return ret;
}

/* ---- the tz database ---- */

int otter_window_zone_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > OTTER_WINDOW_ZONE_MAX || name[0] == '/' || name[n - 1] == '/' ||
        strstr(name, "//") ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789/_+-") != n)
        return 0;
    /* No component may start with '.' (no "..", no hidden files). */
    for (const char *p = name; p; p = strchr(p, '/')) {
        p += *p == '/';
        if (*p == '.')
            return 0;
    }
    const char *dir = getenv("TZDIR");
    char path[512], magic[4];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    int ok = f && fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    if (f)
        fclose(f);
    return ok;
}

/*
 * The C library keeps one time zone per process, named by TZ: switching
 * it is the only per-zone conversion glibc offers. One lock serializes
 * every switch and conversion. TZ is left at the last zone used: the
 * server itself only formats UTC (gmtime_r), so no other thread depends
 * on it, and glibc re-reads a zone file only when TZ changes, so a run
 * of lookups in one zone costs no file access. Once TZ exists, glibc's
 * setenv replaces its entry in place (no environment array is freed
 * under a concurrent getenv).
 */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

static int local_time(const char *zone, int64_t now, struct tm *tm)
{
    char want[OTTER_WINDOW_ZONE_MAX + 2];
    time_t t = (time_t)now;
    snprintf(want, sizeof want, ":%s", zone);
    pthread_mutex_lock(&tz_lock);
    const char *cur = getenv("TZ");
    int ok = (cur && strcmp(cur, want) == 0) || setenv("TZ", want, 1) == 0;
    if (ok) {
        tzset();
        ok = localtime_r(&t, tm) != NULL;
    }
    pthread_mutex_unlock(&tz_lock);
    return ok ? 0 : -1;
}

/* Open at local weekday wday, minute m of the day? */
static int window_open(const otter_window *w, int wday, int m)
{
    int yesterday = (wday + 6) % 7;
    if (w->start < w->end)
        return (w->days & (1u << wday)) && m >= w->start && m < w->end;
    /* Wraps: the evening part on a listed day, the morning part the day after one. */
    return ((w->days & (1u << wday)) && m >= w->start) ||
           ((w->days & (1u << yesterday)) && m < w->end);
}

int otter_schedule_open(const otter_schedule *s, int64_t now, int *open, otter_err *err)
{
    struct tm tm;
    *open = 0;
    if (!otter_window_zone_ok(s->zone))
        return otter_err_set(err, OTTER_EFORMAT,
                             "maintenance schedule: time zone %s is not in the tz database",
                             s->zone);
    if (local_time(s->zone, now, &tm) < 0)
        return otter_err_set(err, OTTER_EIO, "maintenance schedule: local time in %s failed",
                             s->zone);
    int m = tm.tm_hour * 60 + tm.tm_min;
    for (size_t i = 0; i < s->n && !*open; i++)
        *open = window_open(&s->w[i], tm.tm_wday, m);
    return 0;
}

int64_t otter_window_now(void)
{
#ifdef OTTER_TEST_HOOKS
    /* Read on every call, so a test moves a running server's clock by rewriting the file. */
    const char *path = getenv("OTTER_TEST_NOW_FILE");
    FILE *f = path && *path ? fopen(path, "r") : NULL;
    long long t = 0;
    int got = f && fscanf(f, "%lld", &t) == 1;
    if (f)
        fclose(f);
    if (got)
        return (int64_t)t;
#endif
    return (int64_t)time(NULL);
}
