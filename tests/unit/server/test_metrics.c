/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Prometheus text of otter_metrics: route families, exact sample lines
 * after known recordings (cumulative buckets, count equal to +Inf, sum in
 * seconds), the exposition format's line grammar, and concurrent updates
 * from several threads adding up exactly; the standard process_* series
 * read from /proc.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "otter_test.h"
#include "otter_ddi.h"
#include "otter_metrics.h"

static char *render(const otter_metrics *m)
{
    otter_err err;
    char *text = NULL;
    size_t len = 0;
    assert_otter_ok(otter_metrics_render(m, &text, &len, &err), err);
    assert_int_equal(strlen(text), len);
    return text;
}

/* Asserts that text has the whole line `line`. */
static void has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return;
    fail_msg("missing line: %s", line);
}

/* As the server classifies a request: DDI paths are otter_ddi's to recognise. */
static otter_metrics_route route_of(const char *path)
{
    return otter_metrics_route_of(path, otter_ddi_match(path));
}

static void test_route_of(void **state)
{
    assert_int_equal(route_of("/acme/controller/v1/d1"), OTTER_ROUTE_DDI_POLL);
    assert_int_equal(route_of("/acme/controller/v1/d1/"), OTTER_ROUTE_DDI_POLL);
    assert_int_equal(route_of("/acme/controller/v1/d1/softwaremodules/3/artifacts/u.zip"),
                     OTTER_ROUTE_DDI_DOWNLOAD);
    assert_int_equal(route_of("/acme/controller/v1/d1/deploymentBase/7/feedback"),
                     OTTER_ROUTE_DDI_FEEDBACK);
    assert_int_equal(route_of("/acme/controller/v1/d1/cancelAction/7/feedback"),
                     OTTER_ROUTE_DDI_FEEDBACK);
    assert_int_equal(route_of("/acme/controller/v1/d1/deploymentBase/7"), OTTER_ROUTE_DDI_OTHER);
    assert_int_equal(route_of("/acme/controller/v1/d1/configData"), OTTER_ROUTE_DDI_OTHER);
    /* A tenant called "api" has its DDI under /api/controller/v1/: that is DDI. */
    assert_int_equal(route_of("/api/controller/v1/d1"), OTTER_ROUTE_DDI_POLL);
    assert_int_equal(route_of("/api/v1/me"), OTTER_ROUTE_API);
    assert_int_equal(route_of("/metrics"), OTTER_ROUTE_METRICS);
    assert_int_equal(route_of("/metrics/x"), OTTER_ROUTE_WEB);
    assert_int_equal(route_of("/"), OTTER_ROUTE_WEB);
    assert_int_equal(route_of("/app.js"), OTTER_ROUTE_WEB);
    assert_string_equal(otter_metrics_route_name(OTTER_ROUTE_DDI_POLL), "ddi_poll");
    assert_string_equal(otter_metrics_route_name(OTTER_ROUTE_WEB), "web");
}

static void test_samples(void **state)
{
    otter_err err;
    otter_metrics *m = NULL;
    assert_otter_ok(otter_metrics_new(1795600000, NULL, &m, &err), err);
    /* Three polls: 0.3 ms, 0.5 ms (on the bound: in le=0.0005), 2 ms; one refused (401). */
    otter_metrics_request(m, OTTER_ROUTE_DDI_POLL, 200, 1, 0, 300, 300000);
    otter_metrics_request(m, OTTER_ROUTE_DDI_POLL, 304, 1, 0, 0, 500000);
    otter_metrics_request(m, OTTER_ROUTE_DDI_POLL, 200, 1, 0, 300, 2000000);
    otter_metrics_request(m, OTTER_ROUTE_DDI_POLL, 401, 1, 0, 50, 100000);
    /* Downloads: a full one, a range, a HEAD, an interrupted one: bytes of the first two only. */
    otter_metrics_request(m, OTTER_ROUTE_DDI_DOWNLOAD, 200, 1, 0, 1000, 7000000000ull);
    otter_metrics_request(m, OTTER_ROUTE_DDI_DOWNLOAD, 206, 1, 0, 24, 1000);
    otter_metrics_request(m, OTTER_ROUTE_DDI_DOWNLOAD, 200, 1, 1, 1000, 1000);
    otter_metrics_request(m, OTTER_ROUTE_DDI_DOWNLOAD, 200, 0, 0, 1000, 1000);
    /* No answer at all: nothing recorded. */
    otter_metrics_request(m, OTTER_ROUTE_API, 0, 0, 0, 0, 1000);
    otter_metrics_request(m, OTTER_ROUTE_API, 503, 1, 0, 10, 1000);
    otter_metrics_feedback(m, "proceeding", "none");
    otter_metrics_feedback(m, "closed", "success");
    otter_metrics_feedback(m, "closed", "failure");
    otter_metrics_feedback(m, "bogus", NULL);
    otter_metrics_connection(m, 1);
    otter_metrics_connection(m, 1);
    otter_metrics_connection(m, -1);

    char *t = render(m);
    has_line(t, "# TYPE otter_http_request_duration_seconds histogram");
    has_line(t, "otter_http_request_duration_seconds_bucket{route=\"ddi_poll\",le=\"0.0005\"} 3");
    has_line(t, "otter_http_request_duration_seconds_bucket{route=\"ddi_poll\",le=\"0.001\"} 3");
    has_line(t, "otter_http_request_duration_seconds_bucket{route=\"ddi_poll\",le=\"0.0025\"} 4");
    has_line(t, "otter_http_request_duration_seconds_bucket{route=\"ddi_poll\",le=\"+Inf\"} 4");
    has_line(t, "otter_http_request_duration_seconds_sum{route=\"ddi_poll\"} 0.002900000");
    has_line(t, "otter_http_request_duration_seconds_count{route=\"ddi_poll\"} 4");
    has_line(t, "otter_http_request_duration_seconds_bucket{route=\"ddi_download\",le=\"5\"} 3");
    has_line(t, "otter_http_request_duration_seconds_bucket{route=\"ddi_download\",le=\"+Inf\"} 4");
    has_line(t, "otter_http_request_duration_seconds_sum{route=\"ddi_download\"} 7.000003000");
    has_line(t, "otter_http_requests_total{route=\"ddi_poll\",code=\"2xx\"} 2");
    has_line(t, "otter_http_requests_total{route=\"ddi_poll\",code=\"3xx\"} 1");
    has_line(t, "otter_http_requests_total{route=\"ddi_poll\",code=\"4xx\"} 1");
    has_line(t, "otter_http_requests_total{route=\"api\",code=\"5xx\"} 1");
    has_line(t, "otter_http_requests_total{route=\"api\",code=\"2xx\"} 0");
    has_line(t, "otter_http_request_duration_seconds_count{route=\"api\"} 1");
    has_line(t, "otter_ddi_polls_total 3");
    has_line(t, "otter_ddi_downloads_total 2");
    has_line(t, "otter_ddi_download_bytes_total 1024");
    has_line(t, "otter_ddi_feedback_total{result=\"success\"} 1");
    has_line(t, "otter_ddi_feedback_total{result=\"failure\"} 1");
    has_line(t, "otter_ddi_feedback_total{result=\"none\"} 1");
    has_line(t, "otter_ddi_feedback_total{result=\"other\"} 1");
    has_line(t, "otter_ddi_feedback_executions_total{execution=\"closed\"} 2");
    has_line(t, "otter_ddi_feedback_executions_total{execution=\"proceeding\"} 1");
    has_line(t, "otter_ddi_feedback_executions_total{execution=\"other\"} 1");
    has_line(t, "otter_ddi_feedback_executions_total{execution=\"rejected\"} 0");
    has_line(t, "otter_http_open_connections 1");
    has_line(t, "otter_process_start_time_seconds 1795600000");
    free(t);
    otter_metrics_free(m);
}

/*
 * The exposition grammar, line by line: comments are "# HELP name text" or
 * "# TYPE name counter|gauge|histogram" and precede their samples; samples
 * are "name{labels} value" with a name TYPEd before; the text ends with \n.
 */
static void test_format(void **state)
{
    otter_err err;
    otter_metrics *m = NULL;
    assert_otter_ok(otter_metrics_new(1, "a-token-of-16-bytes", &m, &err), err);
    otter_metrics_request(m, OTTER_ROUTE_WEB, 200, 1, 0, 10, 1000);
    char *t = render(m);
    assert_true(t[strlen(t) - 1] == '\n');
    assert_null(strstr(t, "a-token-of-16-bytes"));
    char typed[64][80];
    size_t ntyped = 0, samples = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        char name[80], kind[16];
        if (strncmp(line, "# HELP ", 7) == 0) {
            assert_true(strchr(line + 7, ' ') != NULL);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%79s %15s", name, kind), 2);
            assert_true(strcmp(kind, "counter") == 0 || strcmp(kind, "gauge") == 0 ||
                        strcmp(kind, "histogram") == 0);
            assert_true(ntyped < 64);
            strcpy(typed[ntyped++], name);
            continue;
        }
        assert_true(line[0] != '#');
        size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz_");
        assert_true(n > 0 && n < sizeof name);
        memcpy(name, line, n);
        name[n] = '\0';
        /* A histogram's samples carry the _bucket/_sum/_count suffix of a TYPEd name. */
        int known = 0;
        for (size_t i = 0; i < ntyped; i++) {
            size_t k = strlen(typed[i]);
            if (strncmp(name, typed[i], k) == 0 &&
                (!name[k] || !strcmp(name + k, "_bucket") || !strcmp(name + k, "_sum") ||
                 !strcmp(name + k, "_count")))
                known = 1;
        }
        if (!known)
            fail_msg("sample before its TYPE: %s", line);
        const char *v = line + n;
        if (*v == '{') {
            const char *close = strchr(v, '}');
            assert_non_null(close);
            v = close + 1;
        }
        assert_true(*v == ' ');
        char *end;
        strtod(v + 1, &end);
        if (*end || end == v + 1)
            fail_msg("bad value: %s", line);
        samples++;
    }
    assert_true(ntyped >= 7);
    assert_true(samples > 100);
    free(t);
    otter_metrics_free(m);
}

#define THREADS 4
#define PER_THREAD 100000

static void *hammer(void *arg)
{
    otter_metrics *m = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        otter_metrics_request(m, OTTER_ROUTE_DDI_POLL, 200, 1, 0, 300, 1000);
        otter_metrics_feedback(m, "closed", "success");
    }
    return NULL;
}

/* Lock-free, but not lossy: concurrent increments all count. */
static void test_concurrent(void **state)
{
    otter_err err;
    otter_metrics *m = NULL;
    pthread_t th[THREADS];
    assert_otter_ok(otter_metrics_new(1, NULL, &m, &err), err);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, m), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    char *t = render(m);
    char want[128];
    snprintf(want, sizeof want, "otter_ddi_polls_total %d", THREADS * PER_THREAD);
    has_line(t, want);
    snprintf(want, sizeof want, "otter_ddi_feedback_total{result=\"success\"} %d",
             THREADS * PER_THREAD);
    has_line(t, want);
    snprintf(want, sizeof want,
             "otter_http_request_duration_seconds_bucket{route=\"ddi_poll\",le=\"0.0005\"} %d",
             THREADS * PER_THREAD);
    has_line(t, want);
    free(t);
    otter_metrics_free(m);
}

/* The value of the unlabelled sample name, after checking its # TYPE is kind. */
static double sample(const char *text, const char *name, const char *kind)
{
    char want[128];
    snprintf(want, sizeof want, "# TYPE %s %s", name, kind);
    has_line(text, want);
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    fail_msg("no sample %s", name);
    return -1;
}

static double process_sample(const otter_metrics *m, const char *name, const char *kind)
{
    char *t = render(m);
    double v = sample(t, name, kind);
    free(t);
    return v;
}

static double cpu_seconds_used(void)
{
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/*
 * The standard process_* series, under their usual names and types, move
 * with what this process does: descriptors opened, the descriptor limit
 * lowered, memory mapped and touched, CPU burnt.
 */
static void test_process(void **state)
{
    otter_err err;
    otter_metrics *m = NULL;
    assert_otter_ok(otter_metrics_new(1, NULL, &m, &err), err);

    double fds = process_sample(m, "process_open_fds", "gauge");
    int extra[5];
    for (int i = 0; i < 5; i++)
        assert_true((extra[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
    assert_true(process_sample(m, "process_open_fds", "gauge") == fds + 5);
    for (int i = 0; i < 5; i++)
        close(extra[i]);
    assert_true(process_sample(m, "process_open_fds", "gauge") == fds);

    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 300;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    double max = process_sample(m, "process_max_fds", "gauge");
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_true(max == 300);

    const size_t size = 64u << 20;
    double vsz = process_sample(m, "process_virtual_memory_bytes", "gauge");
    double rss = process_sample(m, "process_resident_memory_bytes", "gauge");
    char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    memset(mem, 1, size); /* resident now */
    assert_true(process_sample(m, "process_virtual_memory_bytes", "gauge") >= vsz + (double)size);
    assert_true(process_sample(m, "process_resident_memory_bytes", "gauge") >=
                rss + (double)size / 2);
    munmap(mem, size);

    double cpu = process_sample(m, "process_cpu_seconds_total", "counter");
    volatile unsigned long spin = 0;
    for (double until = cpu_seconds_used() + 0.3; cpu_seconds_used() < until;)
        for (int i = 0; i < 100000; i++)
            spin += (unsigned long)i;
    assert_true(process_sample(m, "process_cpu_seconds_total", "counter") >= cpu + 0.25);

    /* Unix seconds (not ticks since boot), and not in the future. */
    double start = process_sample(m, "process_start_time_seconds", "gauge");
    time_t now = time(NULL);
    assert_true(start <= (double)now + 1 && start > (double)now - 86400);
    otter_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_of), cmocka_unit_test(test_samples),
        cmocka_unit_test(test_format),   cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
