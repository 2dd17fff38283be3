/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus metrics: fixed arrays of C11 atomics, written with relaxed
 * fetch_add from the request threads (no ordering between counters is
 * promised, so none is paid for) and read once each by a scrape. Every
 * label value comes from a closed set, so the series count is fixed and a
 * client cannot grow it.
 */
#include "otter_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "otter_auth.h"
#include "otter_metrics_traffic.h"

/* Upper bounds of the latency buckets, in nanoseconds (0.5 ms .. 5 s), then +Inf. */
static const uint64_t bucket_ns[] = {500000,     1000000,    2500000,   5000000,   10000000,
                                     25000000,   50000000,   100000000, 250000000, 500000000,
                                     1000000000, 2500000000, 5000000000};
static const char *const bucket_text[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
                                          "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
                                          "1",      "2.5",   "5"};
#define NBUCKETS (sizeof bucket_ns / sizeof bucket_ns[0])

static const char *const route_names[OTTER_ROUTE_COUNT] = {
    "ddi_poll", "ddi_download", "ddi_feedback", "ddi_other", "api", "metrics", "web"};

/* DDI feedback values (docs/ddi.md); anything else lands in the last slot, "other". */
static const char *const results[] = {"success", "failure", "none", "other"};
static const char *const executions[] = {"closed",     "proceeding", "canceled",
                                         "scheduled",  "rejected",   "resumed",
                                         "downloaded", "download",   "other"};
#define NRESULTS (sizeof results / sizeof results[0])
#define NEXECUTIONS (sizeof executions / sizeof executions[0])

struct route_stats {
    atomic_uint_fast64_t bucket[NBUCKETS + 1]; /* not cumulative; the last is above 5 s */
    atomic_uint_fast64_t sum_ns;
    atomic_uint_fast64_t code[5]; /* 1xx .. 5xx */
};

struct otter_metrics {
    int64_t start_time;
    int has_token;
    char token_sha[OTTER_AUTH_SHA256_HEX];
    struct route_stats route[OTTER_ROUTE_COUNT];
    atomic_uint_fast64_t polls;
    atomic_uint_fast64_t downloads;
    atomic_uint_fast64_t download_bytes;
    atomic_uint_fast64_t feedback_result[NRESULTS];
    atomic_uint_fast64_t feedback_execution[NEXECUTIONS];
    atomic_uint_fast64_t poll_cache[2]; /* misses, hits */
    atomic_int_fast64_t open_connections;
    otter_metrics_traffic *traffic; /* artifact bytes by tenant */
    struct {
        void (*render)(void *ctx, void (*put)(void *put_ctx, const char *fmt, ...), void *put_ctx);
        void *ctx;
    } extra[OTTER_METRICS_EXTRA_MAX];
    size_t n_extra;
};

int otter_metrics_set_extra(otter_metrics *m,
                            void (*render)(void *ctx,
                                           void (*put)(void *put_ctx, const char *fmt, ...),
                                           void *put_ctx),
                            void *ctx)
{
    if (m->n_extra == OTTER_METRICS_EXTRA_MAX)
        return -1;
    m->extra[m->n_extra].render = render;
    m->extra[m->n_extra++].ctx = ctx;
    return 0;
}

otter_metrics_route otter_metrics_route_of(const char *path, int is_ddi)
{
    if (strcmp(path, "/metrics") == 0)
        return OTTER_ROUTE_METRICS;
    if (strncmp(path, "/api/", 5) == 0 && !is_ddi)
        return OTTER_ROUTE_API;
    if (!is_ddi)
        return OTTER_ROUTE_WEB;
    /* /{tenant}/controller/v1/{cid}[/rest]: count the segments after v1/. */
    const char *p = strstr(path + 1, "/controller/v1/") + 15;
    const char *rest = strchr(p, '/');
    if (!rest || !rest[1])
        return OTTER_ROUTE_DDI_POLL;
    if (strncmp(rest, "/softwaremodules/", 17) == 0)
        return OTTER_ROUTE_DDI_DOWNLOAD;
    size_t n = strlen(rest);
    if (n >= 9 && strcmp(rest + n - 9, "/feedback") == 0)
        return OTTER_ROUTE_DDI_FEEDBACK;
    return OTTER_ROUTE_DDI_OTHER;
}

const char *otter_metrics_route_name(otter_metrics_route r)
{
    return (unsigned)r < OTTER_ROUTE_COUNT ? route_names[r] : "web";
}

int otter_metrics_new(int64_t start_time, const char *token, otter_metrics **out, otter_err *err)
{
    /* calloc is a valid zero state for atomics of integer type on every target we build for. */
    otter_metrics *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    m->start_time = start_time;
    if (otter_metrics_traffic_new(&m->traffic, err) < 0) {
        free(m);
        return err->code;
    }
    if (token && *token) {
        /* Kept as its SHA-256 only: compared in constant time, never echoed. */
        otter_auth_token_hash(token, m->token_sha);
        m->has_token = 1;
    }
    *out = m;
    return 0;
}

void otter_metrics_free(otter_metrics *m)
{
    if (m)
        otter_metrics_traffic_free(m->traffic);
    free(m);
}

static void add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void otter_metrics_request(otter_metrics *m, int route, int status, int completed, int head,
                           uint64_t body_bytes, uint64_t nanos)
{
    if (!m || status < 100 || status > 599)
        return;
    if (route < 0 || route >= OTTER_ROUTE_COUNT)
        route = OTTER_ROUTE_WEB;
    struct route_stats *r = &m->route[route];
    size_t b = 0;
    while (b < NBUCKETS && nanos > bucket_ns[b])
        b++;
    add(&r->bucket[b], 1);
    add(&r->sum_ns, nanos);
    add(&r->code[status / 100 - 1], 1);
    if (route == OTTER_ROUTE_DDI_POLL && (status == 200 || status == 304))
        add(&m->polls, 1);
    /* Bytes sent: only bodies that went out in full are known to have been sent. */
    if (route == OTTER_ROUTE_DDI_DOWNLOAD && !head && completed &&
        (status == 200 || status == 206)) {
        add(&m->downloads, 1);
        add(&m->download_bytes, body_bytes);
    }
}

void otter_metrics_connection(otter_metrics *m, int delta)
{
    if (m)
        atomic_fetch_add_explicit(&m->open_connections, delta, memory_order_relaxed);
}

static size_t slot(const char *const *names, size_t n, const char *v)
{
    for (size_t i = 0; v && i + 1 < n; i++)
        if (strcmp(names[i], v) == 0)
            return i;
    return n - 1;
}

void otter_metrics_feedback(otter_metrics *m, const char *execution, const char *finished)
{
    if (!m)
        return;
    add(&m->feedback_result[slot(results, NRESULTS, finished)], 1);
    add(&m->feedback_execution[slot(executions, NEXECUTIONS, execution)], 1);
}

void otter_metrics_artifact(otter_metrics *m, const char *tenant, int delta, uint64_t bytes,
                            uint64_t full_equivalent)
{
    if (m)
        otter_metrics_traffic_add(m->traffic, tenant, delta, bytes, full_equivalent);
}

void otter_metrics_poll_cache(otter_metrics *m, int hit)
{
    if (m)
        add(&m->poll_cache[hit != 0], 1);
}

/* ---- exposition text ---- */

struct text {
    char *buf;
    size_t len, cap;
    int failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_ctx(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void vput(struct text *t, const char *fmt, va_list args)
    __attribute__((format(printf, 2, 0)));

static void vput(struct text *t, const char *fmt, va_list args)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_copy(ap, args);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2;
        char *nb = realloc(t->buf, cap);
        if (!nb) {
            t->failed = 1;
            return;
        }
        t->buf = nb;
        t->cap = cap;
    }
}

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vput(t, fmt, ap);
    va_end(ap);
}

/* put() for otter_metrics_traffic_render(). */
static void put_ctx(void *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vput(ctx, fmt, ap);
    va_end(ap);
}

static uint64_t get(const atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void put_histogram(struct text *t, const otter_metrics *m)
{
    put(t, "# HELP otter_http_request_duration_seconds Time from a request's headers to the end "
           "of its response.\n"
           "# TYPE otter_http_request_duration_seconds histogram\n");
    for (int r = 0; r < OTTER_ROUTE_COUNT; r++) {
        const struct route_stats *s = &m->route[r];
        uint64_t cum = 0;
        for (size_t b = 0; b <= NBUCKETS; b++) {
            cum += get(&s->bucket[b]);
            put(t, "otter_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %llu\n",
                route_names[r], b < NBUCKETS ? bucket_text[b] : "+Inf", (unsigned long long)cum);
        }
        uint64_t ns = get(&s->sum_ns);
        put(t, "otter_http_request_duration_seconds_sum{route=\"%s\"} %llu.%09llu\n",
            route_names[r], (unsigned long long)(ns / 1000000000u),
            (unsigned long long)(ns % 1000000000u));
        /* The count is the +Inf bucket, so the two always agree within one scrape. */
        put(t, "otter_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_names[r],
            (unsigned long long)cum);
    }
}

/* ---- process_*: what every Prometheus client library exports, read from /proc ---- */

/* Reads a small /proc file into buf (NUL-terminated); its length, or -1. */
static ssize_t read_proc(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    for (ssize_t r; n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) != 0; n += (size_t)r)
        if (r < 0) {
            close(fd);
            return -1;
        }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

/* The value after "key" on its line of /proc/stat-like text, or -1. */
static long long proc_field(const char *text, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, key, k) == 0)
            return strtoll(p + k, NULL, 10);
    return -1;
}

/* /proc/self/stat: CPU time, start time, virtual and resident size (proc(5)). */
static void put_process_stat(struct text *t)
{
    char stat[1024], sys[8192];
    const char *close_paren;
    unsigned long long ut, st, start, vsize, rss;
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    /* The command name (field 2) may hold spaces and ')': the fields follow its last ')'. */
    if (read_proc("/proc/self/stat", stat, sizeof stat) < 0 ||
        !(close_paren = strrchr(stat, ')')) || tick <= 0 || page <= 0 ||
        sscanf(close_paren + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
               "%llu %llu %llu",
               &ut, &st, &start, &vsize, &rss) != 5)
        return; /* no /proc: the series are left out, as the client libraries do */
    put(t,
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
        "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n"
        "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
        "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n"
        "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
        "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n",
        (double)(ut + st) / (double)tick, vsize, rss * (unsigned long long)page);
    long long btime = read_proc("/proc/stat", sys, sizeof sys) < 0 ? -1 : proc_field(sys, "btime ");
    if (btime >= 0)
        put(t,
            "# HELP process_start_time_seconds Start time of the process since unix epoch in "
            "seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.2f\n",
            (double)btime + (double)start / (double)tick);
}

/* Open descriptors (/proc/self/fd, without the one reading it) and their soft limit. */
static void put_process_fds(struct text *t)
{
    char limits[4096];
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long long n = 0;
        for (struct dirent *e; (e = readdir(d));)
            if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
                n++;
        closedir(d);
        put(t,
            "# HELP process_open_fds Number of open file descriptors.\n"
            "# TYPE process_open_fds gauge\nprocess_open_fds %lld\n",
            n);
    }
    long long max = read_proc("/proc/self/limits", limits, sizeof limits) < 0
                        ? -1
                        : proc_field(limits, "Max open files ");
    if (max >= 0)
        put(t,
            "# HELP process_max_fds Maximum number of open file descriptors.\n"
            "# TYPE process_max_fds gauge\nprocess_max_fds %lld\n",
            max);
}

int otter_metrics_render(const otter_metrics *m, char **out, size_t *len, otter_err *err)
{
    struct text t = {.buf = malloc(16384), .cap = 16384};
    *out = NULL;
    *len = 0;
    if (!t.buf)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    put(&t, "# HELP otter_http_requests_total Requests answered, by route family and status "
            "class.\n# TYPE otter_http_requests_total counter\n");
    for (int r = 0; r < OTTER_ROUTE_COUNT; r++)
        for (int c = 0; c < 5; c++)
            put(&t, "otter_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n", route_names[r],
                c + 1, (unsigned long long)get(&m->route[r].code[c]));
    put_histogram(&t, m);
    put(&t,
        "# HELP otter_ddi_polls_total DDI base polls answered 200 or 304.\n"
        "# TYPE otter_ddi_polls_total counter\notter_ddi_polls_total %llu\n"
        "# HELP otter_ddi_downloads_total Artifact downloads (200 or 206) sent in full.\n"
        "# TYPE otter_ddi_downloads_total counter\notter_ddi_downloads_total %llu\n"
        "# HELP otter_ddi_download_bytes_total Body bytes of the downloads sent in full.\n"
        "# TYPE otter_ddi_download_bytes_total counter\notter_ddi_download_bytes_total %llu\n",
        (unsigned long long)get(&m->polls), (unsigned long long)get(&m->downloads),
        (unsigned long long)get(&m->download_bytes));
    otter_metrics_traffic_render(m->traffic, put_ctx, &t);
    for (size_t i = 0; i < m->n_extra; i++)
        m->extra[i].render(m->extra[i].ctx, put_ctx, &t);
    put(&t, "# HELP otter_ddi_feedback_total Accepted DDI feedback messages, by "
            "status.result.finished.\n# TYPE otter_ddi_feedback_total counter\n");
    for (size_t i = 0; i < NRESULTS; i++)
        put(&t, "otter_ddi_feedback_total{result=\"%s\"} %llu\n", results[i],
            (unsigned long long)get(&m->feedback_result[i]));
    put(&t, "# HELP otter_ddi_feedback_executions_total Accepted DDI feedback messages, by "
            "status.execution.\n# TYPE otter_ddi_feedback_executions_total counter\n");
    for (size_t i = 0; i < NEXECUTIONS; i++)
        put(&t, "otter_ddi_feedback_executions_total{execution=\"%s\"} %llu\n", executions[i],
            (unsigned long long)get(&m->feedback_execution[i]));
    put(&t,
        "# HELP otter_ddi_poll_cache_total Base polls while the poll cache was current, by "
        "whether the cache answered.\n# TYPE otter_ddi_poll_cache_total counter\n"
        "otter_ddi_poll_cache_total{result=\"hit\"} %llu\n"
        "otter_ddi_poll_cache_total{result=\"miss\"} %llu\n",
        (unsigned long long)get(&m->poll_cache[1]), (unsigned long long)get(&m->poll_cache[0]));
    put(&t,
        "# HELP otter_http_open_connections Client connections open now, all listeners.\n"
        "# TYPE otter_http_open_connections gauge\notter_http_open_connections %lld\n"
        "# HELP otter_process_start_time_seconds Start time of the server, unix seconds.\n"
        "# TYPE otter_process_start_time_seconds gauge\notter_process_start_time_seconds %lld\n",
        (long long)atomic_load_explicit(&m->open_connections, memory_order_relaxed),
        (long long)m->start_time);
    put_process_stat(&t);
    put_process_fds(&t);
    if (t.failed) {
        free(t.buf);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    *out = t.buf;
    *len = t.len;
    return 0;
}

/* Compares two hex digests without an early exit, so timing tells nothing. */
static int same_digest(const char *a, const char *b)
{
    unsigned char diff = 0;
    for (size_t i = 0; i < OTTER_AUTH_SHA256_HEX - 1; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static void fail(otter_http_response *resp, int status, const char *json)
{
    resp->status = status;
    resp->body = strdup(json);
}

void otter_metrics_handle(void *ctx, const otter_http_request *req, otter_http_response *resp)
{
    otter_metrics *m = ctx;
    otter_err err;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        fail(resp, 405,
             "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"use GET\","
             "\"where\":\"method\"}}");
        return;
    }
    if (m->has_token) {
        const char *h = otter_http_header(req, "Authorization");
        char sha[OTTER_AUTH_SHA256_HEX];
        int ok = 0;
        if (h && strncasecmp(h, "Bearer ", 7) == 0 && strlen(h + 7) <= 256) {
            otter_auth_token_hash(h + 7, sha);
            ok = same_digest(sha, m->token_sha);
        }
        if (!ok) {
            resp->www_authenticate = "Bearer realm=\"otter-metrics\"";
            fail(resp, 401,
                 "{\"error\":{\"code\":\"unauthorized\","
                 "\"message\":\"a valid metrics token is required\","
                 "\"where\":\"header Authorization\"}}");
            return;
        }
    }
    if (req->body_len) {
        fail(resp, 400,
             "{\"error\":{\"code\":\"bad_request\",\"message\":\"this request takes no body\","
             "\"where\":\"body\"}}");
        return;
    }
    size_t len;
    if (otter_metrics_render(m, &resp->body, &len, &err) < 0) {
        fail(resp, 500,
             "{\"error\":{\"code\":\"internal_error\",\"message\":\"out of memory\","
             "\"where\":\"server\"}}");
        return;
    }
    resp->body_len = len;
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
