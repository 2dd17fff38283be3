/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_control_client.h"
#include "otter_agent_conf.h"
#include "otter_control_proto.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LINE (1024 * 1024) /* an answer or event: the notes make states long */

typedef struct conn {
    int fd;
    char *buf;
    size_t used;
} conn;

/* 0 connected; 1 no daemon; 2 an error said on stderr. */
static int connect_to(const char *conf_path, conn *c)
{
    otter_agent_conf *conf = NULL;
    otter_err err;
    if (otter_agent_conf_parse_file(conf_path, &conf, &err) != 0) {
        fprintf(stderr, "otter-agent: %s\n", err.msg);
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int ret = 1;
    if (!conf->control_socket[0] || strlen(conf->control_socket) >= sizeof sa.sun_path)
        goto out;
    memcpy(sa.sun_path, conf->control_socket, strlen(conf->control_socket) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd >= 0 && connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        ret = 0;
        goto out;
    }
    if (errno != ENOENT && errno != ECONNREFUSED) {
        fprintf(stderr, "otter-agent: the update daemon's socket %s: %s\n", sa.sun_path,
                strerror(errno));
        ret = 2;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
out:
    otter_agent_conf_free(conf);
    return ret;
}

/* The next line as JSON (caller decrefs), NULL at the end or on trouble. */
static json_t *next(conn *c)
{
    for (;;) {
        char *nl = c->used ? memchr(c->buf, '\n', c->used) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            json_t *j = json_loadb(c->buf, n, 0, NULL);
            memmove(c->buf, nl + 1, c->used - n - 1);
            c->used -= n + 1;
            return j ? j : json_object();
        }
        if (c->used == MAX_LINE)
            return NULL;
        ssize_t r = read(c->fd, c->buf + c->used, MAX_LINE - c->used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        c->used += (size_t)r;
    }
}

/* Sends a request (params: a JSON object's text or NULL) and returns its answer (events before
   it are dropped): NULL when the daemon left. */
static json_t *call(conn *c, int id, const char *method, const char *params)
{
    char line[160];
    snprintf(line, sizeof line, "{\"id\":%d,\"method\":\"%s\"%s%s}\n", id, method,
             params ? ",\"params\":" : "", params ? params : "");
    if (write(c->fd, line, strlen(line)) != (ssize_t)strlen(line))
        return NULL;
    json_t *j;
    while ((j = next(c)) != NULL) {
        if (json_integer_value(json_object_get(j, "id")) == id && json_object_get(j, "ok"))
            return j;
        json_decref(j);
    }
    return NULL;
}

static void print_offer(json_t *offer)
{
    if (!json_is_object(offer))
        return;
    printf("offer: version %s, %lld bytes%s (action %s)\n",
           json_string_value(json_object_get(offer, "version")),
           (long long)json_integer_value(json_object_get(offer, "size")),
           json_is_true(json_object_get(offer, "security")) ? ", security update" : "",
           json_string_value(json_object_get(offer, "action")));
    const char *lang;
    json_t *v;
    json_object_foreach(json_object_get(offer, "notes"), lang, v)
        printf("notes [%s]:\n%s\n", lang, json_string_value(v));
}

/* One state, as text, a bar, or a JSON line. */
static void show(json_t *st, const otter_cli_opts *o, int final)
{
    if (o->json) {
        char *s = json_dumps(st, JSON_COMPACT);
        printf("%s\n", s ? s : "{}");
        free(s);
        fflush(stdout);
        return;
    }
    const char *state = json_string_value(json_object_get(st, "state"));
    json_t *pct = json_object_get(st, "percent");
    if (o->tty && json_is_integer(pct)) {
        int p = (int)json_integer_value(pct), w = p * 30 / 100;
        printf("\r%-11s [%.*s%*s] %3d%%", state, w, "##############################", 30 - w, "",
               p);
        fflush(stdout);
        if (!final)
            return;
        printf("\n");
    }
    if (o->tty && !final && !json_is_integer(pct))
        printf("\r%*s\r", 60, "");
    printf("update: %s", state);
    if (json_is_integer(pct))
        printf(" %d%%", (int)json_integer_value(pct));
    const char *reason = json_string_value(json_object_get(st, "reason"));
    printf("%s%s\n", reason ? ": " : "", reason ? reason : "");
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(st, "start_blockers"), i, b)
        printf("start blocked: %s\n", json_string_value(json_object_get(b, "message")));
    fflush(stdout);
}

/*
 * Follows state events until done() says so; returns the exit status it
 * gives (0 ok, 1 refused, 2 trouble). The daemon gone: 2.
 */
static int follow(conn *c, const otter_cli_opts *o, json_t *first,
                  int (*done)(json_t *st, long base, long vbase), long base, long vbase)
{
    json_t *st = json_incref(first);
    for (;;) {
        int rc = done(st, base, vbase);
        show(st, o, rc >= 0);
        json_decref(st);
        if (rc >= 0)
            return rc;
        json_t *e;
        while ((e = next(c)) != NULL && !json_object_get(e, "event"))
            json_decref(e);
        if (!e) {
            fprintf(stderr, "otter-agent: the update daemon closed the connection\n");
            return 2;
        }
        st = json_incref(json_object_get(e, "state"));
        json_decref(e);
    }
}

static int done_never(json_t *st, long base, long vbase)
{
    (void)st, (void)base, (void)vbase;
    return -1;
}

/* base: refusals before the request; one more is the daemon saying no (rc 1). */
static int done_download(json_t *st, long base, long vbase)
{
    (void)vbase;
    const char *s = json_string_value(json_object_get(st, "state"));
    if (json_integer_value(json_object_get(st, "refusals")) > base)
        return 1;
    return !strcmp(s, "ready") ? 0 : !strcmp(s, "failed") ? 1 : -1;
}

static int done_start(json_t *st, long base, long vbase)
{
    (void)vbase;
    const char *s = json_string_value(json_object_get(st, "state"));
    if (json_integer_value(json_object_get(st, "refusals")) > base)
        return 1;
    return !strcmp(s, "reboot") ? 0 : !strcmp(s, "failed") ? 1 : -1;
}

static int done_check(json_t *st, long base, long vbase)
{
    (void)vbase;
    return json_integer_value(json_object_get(st, "checks")) > base ? 0 : -1;
}

static int done_verify(json_t *st, long base, long vbase)
{
    (void)base;
    if (json_integer_value(json_object_get(st, "verifies")) <= vbase)
        return -1;
    json_t *v = json_object_get(st, "connection");
    return json_is_true(json_object_get(v, "ok")) ? 0 : 1;
}

static const char *method_of(int cmd)
{
    return cmd == OTTER_CLI_CHECK      ? "check"
           : cmd == OTTER_CLI_VERIFY   ? "verify"
           : cmd == OTTER_CLI_DOWNLOAD ? "download"
           : cmd == OTTER_CLI_START    ? "start"
                                       : NULL;
}

static int after(int cmd, json_t *st, const otter_cli_opts *o, int rc)
{
    if (o->json)
        return rc;
    if (cmd == OTTER_CLI_CHECK) {
        const char *e = json_string_value(json_object_get(st, "check_error"));
        if (e)
            printf("the server could not be reached: %s\n", e);
        if (json_is_object(json_object_get(st, "offer")))
            print_offer(json_object_get(st, "offer"));
        else
            printf("no update offered\n");
        return e ? 2 : 0;
    }
    const char *refusal = json_string_value(json_object_get(st, "refusal"));
    if ((cmd == OTTER_CLI_START || cmd == OTTER_CLI_DOWNLOAD) && rc == 1 && refusal)
        fprintf(stderr, "otter-agent: %s\n", refusal);
    if (cmd == OTTER_CLI_VERIFY) {
        json_t *v = json_object_get(st, "connection");
        const char *f = json_string_value(json_object_get(v, "failure"));
        printf("connection: %s%s%s\n", f && f[0] ? f : "ok", f && f[0] ? ": " : "",
               f && f[0] ? json_string_value(json_object_get(v, "message")) : "");
    }
    return rc;
}

static int run(conn *c, int cmd, const otter_cli_opts *o)
{
    json_t *a = call(c, 1, cmd == OTTER_CLI_STATUS ? "status" : "subscribe", NULL);
    json_t *st = json_object_get(a, "result");
    if (!json_is_object(st)) {
        fprintf(stderr, "otter-agent: the update daemon answered nothing usable\n");
        json_decref(a);
        return 2;
    }
    int rc = 0;
    const char *method = method_of(cmd);
    if (!method) {
        /* progress --follow: every change until the daemon stops or the user does (^C). */
        if (o->follow && cmd == OTTER_CLI_PROGRESS)
            follow(c, o, st, done_never, 0, 0);
        else
            show(st, o, 1);
        json_decref(a);
        return 0;
    }
    int counts_checks = cmd == OTTER_CLI_CHECK || cmd == OTTER_CLI_VERIFY;
    long base =
        (long)json_integer_value(json_object_get(st, counts_checks ? "checks" : "refusals"));
    long vbase = (long)json_integer_value(json_object_get(st, "verifies"));
    json_t *ans =
        call(c, 2, method, cmd == OTTER_CLI_START && o->no_reboot ? "{\"reboot\":false}" : NULL);
    if (!json_is_true(json_object_get(ans, "ok"))) {
        json_t *e = json_object_get(ans, "error");
        fprintf(stderr, "otter-agent: %s\n",
                ans ? json_string_value(json_object_get(e, "message")) : "the daemon left");
        const char *code = json_string_value(json_object_get(e, "code"));
        rc = code && (!strcmp(code, "state") || !strcmp(code, "preconditions")) ? 1 : 2;
        goto out;
    }
    int (*done)(json_t *, long, long) = cmd == OTTER_CLI_CHECK      ? done_check
                                        : cmd == OTTER_CLI_VERIFY   ? done_verify
                                        : cmd == OTTER_CLI_DOWNLOAD ? done_download
                                                                    : done_start;
    /* The state that ends the wait is the last one shown: keep it for the summary. */
    json_t *e, *last = json_incref(st);
    int quiet = cmd == OTTER_CLI_CHECK || cmd == OTTER_CLI_VERIFY;
    for (;;) {
        rc = done(last, base, vbase);
        if (rc >= 0)
            break;
        if (!quiet)
            show(last, o, 0);
        while ((e = next(c)) != NULL && !json_object_get(e, "event"))
            json_decref(e);
        if (!e) {
            rc = 2;
            break;
        }
        json_decref(last);
        last = json_incref(json_object_get(e, "state"));
        json_decref(e);
    }
    if (rc != 2 && (!quiet || o->json))
        show(last, o, 1);
    rc = after(cmd, last, o, rc);
    json_decref(last);
out:
    json_decref(ans);
    json_decref(a);
    return rc;
}

int otter_control_cli(const char *conf_path, int cmd, const otter_cli_opts *o, int *handled)
{
    conn c = {.fd = -1};
    int r = connect_to(conf_path, &c);
    *handled = r != 1;
    if (r)
        return r;
    c.buf = malloc(MAX_LINE);
    int rc = c.buf ? run(&c, cmd, o) : 2;
    free(c.buf);
    close(c.fd);
    return rc;
}
