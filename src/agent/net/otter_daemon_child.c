/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_daemon_child.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

typedef struct follow {
    const otter_daemon_child_ops *ops;
    int to_child;         /* its standard input, for the switch answer */
    otter_broker *broker; /* started it, stops it, knows its exit status */
    int stopped;
    char *why;
    size_t why_len;
} follow;

static void stop_child(follow *f)
{
    if (!f->stopped)
        otter_broker_stop(f->broker);
    f->stopped = 1;
}

static void on_line(follow *f, char *line)
{
    if (line[0] != '{') {
        if (line[0])
            snprintf(f->why, f->why_len, "%s", line);
        return;
    }
    json_t *j = json_loads(line, 0, NULL);
    const char *event = j ? json_string_value(json_object_get(j, "event")) : NULL;
    if (event && strcmp(event, "progress") == 0 && f->ops->progress) {
        const char *image = json_string_value(json_object_get(j, "image"));
        json_int_t done = json_integer_value(json_object_get(j, "done"));
        json_int_t total = json_integer_value(json_object_get(j, "total"));
        f->ops->progress(f->ops->ctx, image ? image : "?", (uint64_t)done, (uint64_t)total);
    } else if (event && strcmp(event, "verified") == 0) {
        const char *version = json_string_value(json_object_get(j, "version"));
        int go = f->ops->verified ? f->ops->verified(f->ops->ctx, version ? version : "") : 1;
        const char *answer = go && !f->stopped ? "switch\n" : "stop\n";
        if (!go || f->stopped)
            f->stopped = 1;
        if (write(f->to_child, answer, strlen(answer)) < 0)
            f->stopped = 1; /* the child reads EOF and stops on its own */
    }
    json_decref(j);
}

static void close_all(int *out, int *in)
{
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (in[i] >= 0)
            close(in[i]);
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int otter_daemon_child_run(otter_broker *broker, const otter_broker_req *req,
                           const otter_daemon_child_ops *ops, char *why, size_t why_len,
                           int *stopped)
{
    int out[2] = {-1, -1}, in[2] = {-1, -1};
    char *buf = malloc(LINE_MAX_BYTES);
    follow f = {.ops = ops, .why = why, .why_len = why_len, .to_child = -1, .broker = broker};
    otter_err err;
    *stopped = 0;
    snprintf(why, why_len, "otter-agent failed");
    if (!buf || pipe2(out, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0)
        goto fail;
    if (otter_broker_spawn(broker, req, in[0], out[1], &err) != 0) {
        /* A link the broker refuses is a refusal (1), like the installer's own. */
        snprintf(why, why_len, "%s", err.msg);
        close_all(out, in);
        free(buf);
        return otter_err_is_refusal(err.code) ? 1 : 2;
    }
    close(out[1]);
    close(in[0]);
    out[1] = in[0] = -1;
    f.to_child = in[1];
    signal(SIGPIPE, SIG_IGN); /* a child gone before our answer is an EPIPE */
    size_t used = 0;
    long last_tick = now_ms();
    for (;;) {
        struct pollfd p = {out[0], POLLIN, 0};
        int r = poll(&p, 1, 250);
        if (r < 0 && errno != EINTR)
            break;
        if (now_ms() - last_tick >= 1000) {
            last_tick = now_ms();
            if (!f.stopped && ops->tick && ops->tick(ops->ctx))
                stop_child(&f);
        }
        if (r <= 0)
            continue;
        ssize_t n = read(out[0], buf + used, LINE_MAX_BYTES - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', used - (size_t)(start - buf))) != NULL) {
            *nl = '\0';
            on_line(&f, start);
            start = nl + 1;
        }
        used -= (size_t)(start - buf);
        memmove(buf, start, used);
        if (used == LINE_MAX_BYTES - 1) /* an endless line: keep its tail only */
            used = 0;
    }
    if (used) {
        buf[used] = '\0';
        on_line(&f, buf);
    }
    int rc = otter_broker_wait(broker);
    *stopped = f.stopped;
    close(out[0]);
    close(in[1]);
    free(buf);
    return rc;
fail:
    snprintf(why, why_len, "cannot start otter-agent: %s", strerror(errno));
    close_all(out, in);
    free(buf);
    return 2;
}
