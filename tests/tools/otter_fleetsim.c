/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter_fleetsim: many DDI devices in one process against one otter-server
 * on loopback. Each device polls its base resource every --interval
 * seconds (the first poll at a random point of the first interval, so the
 * fleet is spread), and sends configData once when a poll offers it, as
 * hawkBit clients do. Requests share a pool of --connections keep-alive
 * connections driven by one epoll loop. Prints polls/s, latency
 * percentiles, errors, and (with --server-pid) the server's RSS and CPU.
 * With --mqtt each device also holds its own broker connection, as
 * otter-agentd's [push] (fleetsim_mqtt.c), and polls at once on a wake-up
 * or a (re)subscription, besides its interval; --events logs per device
 * what happened when (wake-ups, the first poll offering an action), for
 * bench/fleet.sh's push figures.
 * Exit status: 0 every request answered 2xx/3xx, 1 some failed, 2 usage.
 */
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fleetsim_conn.h"
#include "fleetsim_mqtt.h"
#include "otter_fleetsim_opts.h"
#include "fleetsim_stats.h"

#define KIND_POLL 0
#define KIND_CONFIG 1

struct device {
    char *cid;
    char *token;
    int64_t due;     /* ns, monotonic */
    int config_sent; /* configData went out (answered 200) */
    int want_config;
    /* push: a device is in the schedule (heap), or woken (queued), or both */
    unsigned busy : 1;         /* a request of its own is in flight */
    unsigned urgent : 1;       /* that request came from a wake-up, not the schedule */
    unsigned queued : 1;       /* in the wake-up queue */
    unsigned wake_pending : 1; /* woken, and no poll started since: a poll is owed */
    unsigned reheap : 1;       /* its scheduled poll came while busy: reschedule at the end */
    char seen[40];             /* the last action offered ("deploymentBase/12") */
};

struct sim {
    struct opts o;
    struct device *dev;
    long ndev;
    int *heap; /* devices by due time (binary min-heap) */
    long nheap;
    fsim_conn *conn;
    int *idle; /* stack of connections without a request */
    long nidle;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[64];
    int epfd;
    fsim_stats st;
    fsim_mqtt *mq;
    int *woken; /* ring of devices to poll at once (woken or subscribed) */
    long whead, wlen;
    FILE *ev; /* --events */
    uint64_t wake_polls, offers;
};

static volatile sig_atomic_t stop_now; /* SIGTERM, SIGINT: end the run, report */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the schedule: a min-heap of device indices by due time ---- */

static int earlier(const struct sim *s, long a, long b)
{
    return s->dev[s->heap[a]].due < s->dev[s->heap[b]].due;
}

static void swap(struct sim *s, long a, long b)
{
    int t = s->heap[a];
    s->heap[a] = s->heap[b];
    s->heap[b] = t;
}

static void heap_push(struct sim *s, int d)
{
    long i = s->nheap++;
    s->heap[i] = d;
    while (i > 0 && earlier(s, i, (i - 1) / 2)) {
        swap(s, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static int heap_pop(struct sim *s)
{
    int top = s->heap[0];
    s->heap[0] = s->heap[--s->nheap];
    for (long i = 0;;) {
        long l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nheap && earlier(s, l, m))
            m = l;
        if (r < s->nheap && earlier(s, r, m))
            m = r;
        if (m == i)
            break;
        swap(s, i, m);
        i = m;
    }
    return top;
}

/* ---- push: wake-ups and the events log ---- */

/* One line of --events: wall-clock seconds (the bench's t0 is `date +%s.%N`), device, what. */
static void note(struct sim *s, int d, const char *what, const char *arg)
{
    struct timespec ts;
    if (!s->ev)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(s->ev, "%lld.%06ld %s %s%s%s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000, s->dev[d].cid,
            what, arg ? " " : "", arg ? arg : "");
}

/* Device d gets the next free connection (once, however often it is queued). */
static void enqueue(struct sim *s, int d)
{
    struct device *v = &s->dev[d];
    if (v->busy || v->queued)
        return;
    v->queued = 1;
    s->woken[(s->whead + s->wlen++) % s->ndev] = d;
}

/* Device d polls as soon as a connection is free. The owed poll is only paid by a poll: a
   wake-up that finds the device sending its configData, or queued to send it, polls after
   that (found by the ASan CI run: such wake-ups were lost when the rollout started during
   the fleet's onboarding). */
static void wake(struct sim *s, int d)
{
    s->dev[d].wake_pending = 1;
    enqueue(s, d);
}

static void on_mqtt(void *ctx, int d, int event)
{
    static const char *const what[] = {
        [FSIM_MQTT_SUBSCRIBED] = "sub", [FSIM_MQTT_MESSAGE] = "wake", [FSIM_MQTT_LOST] = "lost"};
    struct sim *s = ctx;
    note(s, d, what[event], NULL);
    if (event != FSIM_MQTT_LOST)
        wake(s, d);
}

/* A poll's answer: log the action it offers when it is new to the device (cancel first). */
static void offered(struct sim *s, int d, const char *body)
{
    struct device *v = &s->dev[d];
    const char *p = strstr(body, "/cancelAction/");
    if (!p)
        p = strstr(body, "/deploymentBase/");
    if (!p && v->seen[0] && strcmp(v->seen, "none") != 0)
        p = "/none"; /* the action it had is gone (a cancel withdrew it before it started) */
    if (!p)
        return;
    size_t n = strcspn(++p, "?\"");
    if (n >= sizeof v->seen)
        n = sizeof v->seen - 1;
    if (strncmp(v->seen, p, n) == 0 && !v->seen[n])
        return;
    memcpy(v->seen, p, n);
    v->seen[n] = 0;
    s->offers++;
    note(s, d, "offer", v->seen);
}

/* ---- requests ---- */

/* Sends device d's next request (a poll, or its configData) on connection ci. */
static int start_request(struct sim *s, int ci, int d, otter_err *err)
{
    fsim_conn *c = &s->conn[ci];
    struct device *v = &s->dev[d];
    int n;
    c->device = d;
    c->kind = v->want_config ? KIND_CONFIG : KIND_POLL;
    if (c->kind == KIND_POLL)
        v->wake_pending = 0; /* this poll is the one a wake-up asked for */
    if (c->kind == KIND_CONFIG) {
        static const char body[] = "{\"mode\":\"merge\",\"data\":{\"sim\":\"otter_fleetsim\"}}";
        n = snprintf(c->out, sizeof c->out,
                     "PUT /%s/controller/v1/%s/configData HTTP/1.1\r\nHost: %s\r\n"
                     "Authorization: TargetToken %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     s->o.tenant, v->cid, s->host, v->token, sizeof body - 1, body);
    } else {
        n = snprintf(c->out, sizeof c->out,
                     "GET /%s/controller/v1/%s HTTP/1.1\r\nHost: %s\r\n"
                     "Authorization: TargetToken %s\r\nAccept: application/json\r\n\r\n",
                     s->o.tenant, v->cid, s->host, v->token);
    }
    if (n < 0 || (size_t)n >= sizeof c->out)
        return otter_err_set(err, OTTER_EUSAGE, "request for device %s too long", v->cid);
    c->out_len = (size_t)n;
    c->sent_ns = now_ns();
    return fsim_conn_start(c, s->epfd, (uint32_t)ci, (struct sockaddr *)&s->addr, s->addrlen, err);
}

/* The exchange on ci ended (ok: answered; a: the answer or NULL): account, reschedule. */
static void finish(struct sim *s, int ci, const fsim_answer *a, int timed_out)
{
    fsim_conn *c = &s->conn[ci];
    struct device *v = &s->dev[c->device];
    int64_t now = now_ns(), step = (int64_t)(s->o.interval * 1e9);
    int ok = a && a->status >= 200 && a->status < 400;
    if (!a)
        timed_out ? s->st.timeouts++ : s->st.io_errors++;
    else if (!ok)
        s->st.http_errors++;
    if (c->kind == KIND_POLL) {
        if (ok) {
            s->st.polls++;
            fsim_stats_add(&s->st, (uint64_t)(now - c->sent_ns) / 1000);
            /* The server offers configData until it has it: send it next, once. */
            v->want_config = !s->o.no_config && !v->config_sent && a->status == 200 &&
                             strstr(a->body, "configData");
            s->wake_polls += v->urgent;
            if (a->status == 200)
                offered(s, c->device, a->body);
        }
    } else {
        if (ok) {
            s->st.configs++;
            v->config_sent = 1;
        }
        v->want_config = 0;
    }
    v->busy = 0;
    if (v->urgent && !v->reheap) {
        if (v->want_config) /* the wake-up's poll asked for it: at once, the schedule unchanged */
            enqueue(s, c->device);
    } else if (v->want_config) {
        v->due = now;
    } else {
        /* Fixed rate: the next poll is one interval after the last was due. */
        v->due += step;
        if (v->due < now) {
            s->st.late++;
            v->due = now;
        }
    }
    if (!v->urgent || v->reheap)
        heap_push(s, c->device);
    v->reheap = 0;
    if (v->wake_pending)
        wake(s, c->device);
    c->device = -1;
    s->idle[s->nidle++] = ci;
}

/* Hands woken, then due devices to free connections. */
static void dispatch(struct sim *s, int64_t now, otter_err *err)
{
    while (s->nidle && (s->wlen || (s->nheap && s->dev[s->heap[0]].due <= now))) {
        int ci = s->idle[--s->nidle], d, woken = s->wlen > 0;
        if (woken) {
            d = s->woken[s->whead];
            s->whead = (s->whead + 1) % s->ndev;
            s->wlen--;
            s->dev[d].queued = 0;
        } else if (s->dev[d = heap_pop(s)].busy) {
            s->dev[d].reheap = 1; /* its woken poll is in flight: that is this one */
            s->idle[s->nidle++] = ci;
            continue;
        }
        s->dev[d].urgent = (unsigned)woken;
        s->dev[d].busy = 1;
        if (start_request(s, ci, d, err) < 0) {
            fprintf(stderr, "otter_fleetsim: %s\n", err->msg);
            s->conn[ci].device = d;
            finish(s, ci, NULL, 0);
        }
    }
}

static int run(struct sim *s, otter_err *err)
{
    int64_t start = now_ns(), end = start + (int64_t)(s->o.duration * 1e9);
    int64_t timeout = (int64_t)(s->o.timeout * 1e9);
    struct epoll_event ev[256];
    for (;;) {
        int64_t now = now_ns();
        if (s->o.until_configured && s->st.configs >= (uint64_t)s->ndev && end > now)
            end = now; /* onboarding done: every device has sent its configData */
        if (stop_now && end > now)
            end = now;
        if (s->mq && now < end)
            fsim_mqtt_tick(s->mq, now);
        if (now < end)
            dispatch(s, now, err);
        if (now >= end && s->nidle == s->o.connections)
            break;
        /* In-flight requests past the deadline are errors (their connection is dropped). */
        for (long i = 0; i < s->o.connections; i++)
            if (s->conn[i].device >= 0 && now - s->conn[i].sent_ns > timeout) {
                fsim_conn_close(&s->conn[i], s->epfd);
                finish(s, (int)i, NULL, 1);
            }
        int wait_ms = 10;
        if (now < end && s->wlen && s->nidle)
            wait_ms = 0;
        else if (now < end && s->nheap && s->nidle) {
            int64_t until = s->dev[s->heap[0]].due - now;
            wait_ms = until <= 0 ? 0 : until < 10000000 ? (int)(until / 1000000) : 10;
        }
        int n = epoll_wait(s->epfd, ev, 256, wait_ms);
        if (n < 0 && errno != EINTR)
            return otter_err_sys(err, OTTER_EIO, errno, "epoll_wait");
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u32 & FSIM_MQTT_TAG) {
                fsim_mqtt_event(s->mq, (int)(ev[i].data.u32 & ~FSIM_MQTT_TAG), ev[i].events);
                continue;
            }
            int ci = (int)ev[i].data.u32;
            fsim_conn *c = &s->conn[ci];
            fsim_answer a;
            int r = fsim_conn_event(c, s->epfd, ev[i].events, &a, err);
            if (r == 0 || c->device < 0)
                continue;
            if (r < 0 && c->reused && c->in_len == 0) {
                /* The server had just closed this kept-alive socket: once more, on a new one. */
                if (fsim_conn_start(c, s->epfd, (uint32_t)ci, (struct sockaddr *)&s->addr,
                                    s->addrlen, err) == 0)
                    continue;
            }
            if (r < 0)
                fprintf(stderr, "otter_fleetsim: device %s: %s\n", s->dev[c->device].cid, err->msg);
            finish(s, ci, r > 0 ? &a : NULL, 0);
        }
        if (s->ev)
            fflush(s->ev);
    }
    return 0;
}

/* ---- setup ---- */

/* Loopback only, by construction: this is a load generator. */
static int parse_url(struct sim *s, otter_err *err)
{
    const char *u = s->o.url;
    char host[48];
    unsigned port = 0;
    int n = 0;
    memset(&s->addr, 0, sizeof s->addr);
    if (sscanf(u, "http://127.0.0.1:%5u%n", &port, &n) == 1 && !u[n] && port && port < 65536) {
        struct sockaddr_in *a = (struct sockaddr_in *)&s->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s->addrlen = sizeof *a;
        snprintf(host, sizeof host, "127.0.0.1:%u", port);
    } else if (sscanf(u, "http://[::1]:%5u%n", &port, &n) == 1 && !u[n] && port && port < 65536) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        s->addrlen = sizeof *a;
        snprintf(host, sizeof host, "[::1]:%u", port);
    } else {
        return otter_err_set(err, OTTER_EUSAGE,
                             "--url '%s': want http://127.0.0.1:PORT or http://[::1]:PORT", u);
    }
    snprintf(s->host, sizeof s->host, "%s", host);
    return 0;
}

static int load_tokens(struct sim *s, otter_err *err)
{
    FILE *f = fopen(s->o.tokens, "r");
    char line[512], cid[128], tok[256];
    long cap = s->o.devices ? s->o.devices : 1000000, lineno = 0;
    if (!f)
        return otter_err_sys(err, OTTER_EIO, errno, "%s", s->o.tokens);
    s->dev = calloc((size_t)cap, sizeof *s->dev);
    int ret = s->dev ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    while (ret == 0 && s->ndev < cap && fgets(line, sizeof line, f)) {
        lineno++;
        char extra;
        if (sscanf(line, "%127s %255s %c", cid, tok, &extra) != 2) {
            ret = otter_err_set(err, OTTER_EFORMAT, "%s: line %ld: want \"controller_id token\"",
                                s->o.tokens, lineno);
            break;
        }
        struct device *v = &s->dev[s->ndev];
        v->cid = strdup(cid);
        v->token = strdup(tok);
        if (!v->cid || !v->token)
            ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        s->ndev++;
    }
    fclose(f);
    if (ret == 0 && (s->ndev == 0 || (s->o.devices && s->ndev < s->o.devices)))
        ret = otter_err_set(err, OTTER_EUSAGE, "%s: %ld devices, want %ld", s->o.tokens, s->ndev,
                            s->o.devices ? s->o.devices : 1);
    return ret;
}

/* --mqtt and --events: the broker connections (made by the run), the wake-up queue, the log. */
static int setup_push(struct sim *s, otter_err *err)
{
    int ret = 0;
    if (s->o.events && !(s->ev = fopen(s->o.events, "w")))
        return otter_err_sys(err, OTTER_EIO, errno, "%s", s->o.events);
    if (!s->o.mqtt)
        return 0;
    char **cids = calloc((size_t)s->ndev, sizeof *cids);
    if (!cids || !(s->woken = calloc((size_t)s->ndev, sizeof *s->woken))) {
        free(cids);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    for (long d = 0; d < s->ndev; d++)
        cids[d] = s->dev[d].cid;
    ret = fsim_mqtt_new(&s->mq, s->o.mqtt, s->o.prefix, s->o.tenant, cids, s->ndev, s->epfd,
                        on_mqtt, s, err);
    free(cids);
    return ret;
}

static int setup(struct sim *s, otter_err *err)
{
    int ret;
    if ((ret = parse_url(s, err)) < 0 || (ret = load_tokens(s, err)) < 0)
        return ret;
    struct rlimit rl;
    /* One descriptor per connection, plus a few; with --mqtt three per device: its broker
       connection and the socket pair libmosquitto makes for every client. */
    rlim_t want = (rlim_t)s->o.connections + 64 + (s->o.mqtt ? 3 * (rlim_t)s->ndev : 0);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max;
        if (rl.rlim_max < want) /* root may raise the hard limit too */
            rl.rlim_cur = rl.rlim_max = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
            rl.rlim_max >= want) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
            return otter_err_set(err, OTTER_EUSAGE,
                                 "%lu descriptors needed, the limit is %lu (ulimit -n, -Hn)",
                                 (unsigned long)want, (unsigned long)rl.rlim_cur);
    }
    s->heap = calloc((size_t)s->ndev, sizeof *s->heap);
    s->conn = calloc((size_t)s->o.connections, sizeof *s->conn);
    s->idle = calloc((size_t)s->o.connections, sizeof *s->idle);
    if (!s->heap || !s->conn || !s->idle)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "epoll_create1");
    for (long i = 0; i < s->o.connections; i++) {
        s->conn[i] = (fsim_conn){.fd = -1, .device = -1};
        s->idle[s->nidle++] = (int)(s->o.connections - 1 - i);
    }
    if ((ret = setup_push(s, err)) < 0)
        return ret;
    /* First polls spread over the first interval, reproducibly (--seed). */
    srand48((long)s->o.seed);
    int64_t start = now_ns();
    for (long d = 0; d < s->ndev; d++) {
        s->dev[d].due = start + (int64_t)(drand48() * s->o.interval * 1e9);
        heap_push(s, (int)d);
    }
    return 0;
}

static void report(const struct sim *s, double secs, const fsim_proc *p0, const fsim_proc *p1)
{
    const fsim_stats *st = &s->st;
    uint64_t errors = st->http_errors + st->io_errors + st->timeouts;
    printf("devices: %ld  connections: %ld  interval: %.3f s  duration: %.2f s\n", s->ndev,
           s->o.connections, s->o.interval, secs);
    printf("polls: %llu  polls/s: %.1f  configData: %llu  late: %llu\n",
           (unsigned long long)st->polls, (double)st->polls / secs, (unsigned long long)st->configs,
           (unsigned long long)st->late);
    printf("latency_ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
           fsim_stats_quantile(st, 0.5) / 1000.0, fsim_stats_quantile(st, 0.9) / 1000.0,
           fsim_stats_quantile(st, 0.99) / 1000.0, st->max_us / 1000.0);
    printf("errors: %llu  (http %llu, io %llu, timeout %llu)\n", (unsigned long long)errors,
           (unsigned long long)st->http_errors, (unsigned long long)st->io_errors,
           (unsigned long long)st->timeouts);
    if (p0 && p1)
        printf("server: pid %ld  cpu %.1f %% of one core  rss %.1f MiB  peak rss %.1f MiB\n",
               s->o.server_pid, 100.0 * (p1->cpu_s - p0->cpu_s) / secs, p1->rss_kib / 1024.0,
               p1->hwm_kib / 1024.0);
    if (s->mq) {
        fsim_mqtt_counts k;
        fsim_mqtt_counts_get(s->mq, &k);
        printf("mqtt: subscribed now %ld  connects %llu  failed %llu  subscriptions %llu  "
               "lost %llu  refused %llu\n",
               k.up, (unsigned long long)k.connects, (unsigned long long)k.failed,
               (unsigned long long)k.subscribed, (unsigned long long)k.lost,
               (unsigned long long)k.refused);
        printf("push: wake-ups %llu  ignored %llu  polls at once %llu  actions offered %llu\n",
               (unsigned long long)k.messages, (unsigned long long)k.ignored,
               (unsigned long long)s->wake_polls, (unsigned long long)s->offers);
    }
}

static void on_stop(int sig)
{
    (void)sig;
    stop_now = 1;
}

int main(int argc, char **argv)
{
    struct sim *s = calloc(1, sizeof *s);
    otter_err err;
    fsim_proc p0, p1;
    int ret, have_proc = 0;
    if (!s)
        return 2;
    s->epfd = -1;
    /* No SA_RESTART: epoll_wait returns, the loop sees stop_now. */
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if ((ret = fsim_opts_parse(argc, argv, &s->o, &err)) < 0) {
        fprintf(stderr, "otter_fleetsim: %s\n%s", err.msg, fsim_usage);
        free(s);
        return 2;
    }
    if ((ret = setup(s, &err)) < 0 ||
        (s->o.server_pid && (ret = fsim_proc_read(s->o.server_pid, &p0, &err)) < 0))
        goto out;
    int64_t t0 = now_ns();
    if ((ret = run(s, &err)) < 0)
        goto out;
    double secs = (double)(now_ns() - t0) / 1e9;
    have_proc = s->o.server_pid && fsim_proc_read(s->o.server_pid, &p1, &err) == 0;
    report(s, secs, have_proc ? &p0 : NULL, have_proc ? &p1 : NULL);
out:
    if (ret < 0)
        fprintf(stderr, "otter_fleetsim: %s\n", err.msg);
    int status = ret < 0 ? 2 : s->st.http_errors + s->st.io_errors + s->st.timeouts ? 1 : 0;
    for (long i = 0; s->conn && i < s->o.connections; i++)
        fsim_conn_close(&s->conn[i], s->epfd);
    fsim_mqtt_free(s->mq);
    if (s->ev)
        fclose(s->ev);
    if (s->epfd >= 0)
        close(s->epfd);
    for (long d = 0; d < s->ndev; d++) {
        free(s->dev[d].cid);
        free(s->dev[d].token);
    }
    free(s->dev);
    free(s->heap);
    free(s->conn);
    free(s->idle);
    free(s->woken);
    free(s);
    return status;
}
