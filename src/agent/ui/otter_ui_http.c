/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_ui_http.h"
#include "otter_ui.h"
#include "otter_ui_upload.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COOKIE "otter_ui"

typedef struct req {
    char body[OTTER_UI_BODY_MAX + 1];
    size_t len;
    int too_big;
    int is_upload; /* POST /api/upload: the body goes to up's file, not to body */
    otter_ui_upload up;
    /* An upload refused before its body, answered once the body is read and dropped. */
    unsigned refused;
    const char *refused_code; /* a static string */
    const char *refused_msg;  /* a static string */
} req;

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
                                 char *owned, size_t len, const char *cookie)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, owned, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(owned);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    /* Framed only by a page of the same origin (a gateway proxies it under its own). */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'self'; form-action 'none'");
    if (cookie)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *owned,
                                 const char *cookie)
{
    char *s = owned ? json_dumps(owned, JSON_COMPACT) : NULL;
    json_decref(owned);
    if (!s)
        return MHD_NO;
    return send_text(c, status, "application/json", s, strlen(s), cookie);
}

static enum MHD_Result fail(struct MHD_Connection *c, unsigned status, const char *code,
                            const char *msg)
{
    return send_json(c, status,
                     json_pack("{s:b,s:{s:s,s:s}}", "ok", 0, "error", "code", code, "message", msg),
                     NULL);
}

static enum MHD_Result serve_file(otter_ui_front *f, struct MHD_Connection *c, const char *url)
{
    static const char *const files[][3] = {
        {"/", "index.html", "text/html; charset=utf-8"},
        {"/index.html", "index.html", "text/html; charset=utf-8"},
        {"/app.js", "app.js", "text/javascript"},
        {"/style.css", "style.css", "text/css"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (strcmp(url, files[i][0]) != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", f->conf->ui_web_dir, files[i][1]);
        FILE *fp = fopen(path, "rb");
        char *buf = fp ? malloc(OTTER_UI_FILE_MAX) : NULL;
        size_t n = buf ? fread(buf, 1, OTTER_UI_FILE_MAX, fp) : 0;
        if (fp)
            fclose(fp);
        if (!buf)
            return fail(c, 500, "page", "the page's files are missing ([ui] web_dir)");
        return send_text(c, 200, files[i][2], buf, n, NULL);
    }
    return fail(c, 404, "not_found", "no such page");
}

/* A POST from another origin (a page on the LAN or the Internet) is refused before anything. */
static int same_origin(struct MHD_Connection *c)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    if (!host || !host[0])
        return 0;
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return 0;
    if (!origin)
        return 1; /* not a browser's cross-site request: those carry Origin on POST */
    const char *rest = !strncmp(origin, "http://", 7)    ? origin + 7
                       : !strncmp(origin, "https://", 8) ? origin + 8
                                                         : NULL;
    return rest && strcmp(rest, host) == 0;
}

static enum MHD_Result login(otter_ui_front *f, struct MHD_Connection *c, const req *r)
{
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncmp(type, "application/json", 16) != 0)
        return fail(c, 415, "bad_request", "login: Content-Type must be application/json");
    json_error_t je;
    json_t *j = json_loadb(r->body, r->len, 0, &je);
    const char *pw = json_string_value(json_object_get(j, "password"));
    if (!pw) {
        json_decref(j);
        return fail(c, 400, "bad_request", "login: want {\"password\": \"...\"}");
    }
    int why = 0;
    otter_ui_session *s =
        otter_ui_sess_login(&f->sessions, f->conf->ui_password_hash, pw, time(NULL), &why);
    json_decref(j);
    if (!s)
        return why == 429   ? fail(c, 429, "locked", "too many wrong passwords: wait a minute")
               : why == 401 ? fail(c, 401, "password", "wrong password")
                            : fail(c, 500, "random", "no randomness for a session");
    char cookie[160];
    snprintf(cookie, sizeof cookie, COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict", s->cookie);
    return send_json(c, 200, json_pack("{s:b,s:s}", "ok", 1, "csrf", s->csrf), cookie);
}

/* The control API's answer, passed on: 200 when it said ok, 409 when it refused. */
static enum MHD_Result control(otter_ui_front *f, struct MHD_Connection *c, const char *method,
                               const char *params)
{
    char *answer = NULL;
    otter_err err;
    if (otter_ui_control_call(f->conf->control_socket, method, params, &answer, &err) != 0)
        return fail(c, 503, "daemon", err.msg);
    json_t *j = json_loads(answer, 0, NULL);
    int ok = json_is_true(json_object_get(j, "ok"));
    json_decref(j);
    return send_text(c, ok ? 200 : 409, "application/json", answer, strlen(answer), NULL);
}

/* The control API's state object, with the running version the front read at its start. */
static enum MHD_Result status(otter_ui_front *f, struct MHD_Connection *c)
{
    char *answer = NULL;
    otter_err err;
    if (otter_ui_control_call(f->conf->control_socket, "status", NULL, &answer, &err) != 0)
        return fail(c, 503, "daemon", err.msg);
    json_t *j = json_loads(answer, 0, NULL);
    free(answer);
    json_t *res = json_object_get(j, "result");
    if (!json_is_object(res)) {
        json_decref(j);
        return fail(c, 502, "daemon", "the control socket's status answer has no result");
    }
    json_object_set_new(res, "installed",
                        f->installed[0] ? json_string(f->installed) : json_null());
    return send_json(c, 200, j, NULL);
}

static enum MHD_Result postpone(otter_ui_front *f, struct MHD_Connection *c, const req *r)
{
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    json_t *sec = json_object_get(j, "seconds");
    json_int_t n = json_is_integer(sec) ? json_integer_value(sec) : -1;
    json_decref(j);
    if (n < 0 || n > 100000000)
        return fail(c, 400, "bad_request", "postpone: want {\"seconds\": N}");
    char params[64];
    snprintf(params, sizeof params, "{\"seconds\":%lld}", (long long)n);
    return control(f, c, "postpone", params);
}

/*
 * POST /api/upload, before its body is read: the same origin, session and
 * CSRF checks as every action, and a Content-Length within [ui]
 * max_upload_mb, so that nothing reaches the disk from a stranger or past
 * the limit. MHD_YES with the file open, or the refusal queued.
 */
static enum MHD_Result upload_begin(otter_ui_front *f, struct MHD_Connection *c, req *r)
{
    r->is_upload = 1;
    r->up.fd = -1;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    uint64_t max = otter_ui_upload_max(f->conf);
    unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;
    const char *tok = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
    otter_ui_session *s = NULL;
    if (!same_origin(c))
        r->refused = 403, r->refused_code = "origin",
        r->refused_msg = "request from another origin";
    else if (!(s = otter_ui_sess_find(&f->sessions, tok, time(NULL))))
        r->refused = 401, r->refused_code = "login", r->refused_msg = "not logged in";
    else if (!otter_ui_sess_csrf_ok(
                 s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token")))
        r->refused = 403, r->refused_code = "csrf",
        r->refused_msg = "missing or wrong X-CSRF-Token";
    /*
     * Answered at once, with the body unread, libmicrohttpd closes the
     * connection while the client may still be sending (curl waits only 1 s
     * for "100 Continue", a browser does not wait at all): the client's next
     * write draws a reset and the answer is lost with it. A refused body
     * within the limit is read and dropped (never stored), then answered.
     */
    if (r->refused && cl && n <= max)
        return MHD_YES;
    if (r->refused)
        return fail(c, r->refused, r->refused_code, r->refused_msg);
    char msg[160];
    if (!cl)
        return fail(c, 411, "length", "upload: the request needs a Content-Length");
    if (n > max) {
        snprintf(msg, sizeof msg,
                 "update.zip too large: %llu bytes, this device takes at most %ld MiB "
                 "([ui] max_upload_mb)",
                 n, f->conf->ui_max_upload_mb);
        return fail(c, 413, "too_large", msg);
    }
    if (n == 0)
        return fail(c, 400, "bad_request", "upload: empty file");
    otter_err err;
    if (otter_ui_upload_open(&r->up, f->conf, &err) != 0)
        return fail(c, 500, "upload", err.msg);
    return MHD_YES;
}

/* The whole body is in the file: the daemon is asked to install it; its answer passed on. */
static enum MHD_Result upload_end(otter_ui_front *f, struct MHD_Connection *c, req *r)
{
    if (r->up.too_big || r->up.failed) {
        int big = r->up.too_big;
        otter_ui_upload_abort(&r->up);
        return big ? fail(c, 413, "too_large", "update.zip larger than its Content-Length")
                   : fail(c, 507, "upload", "upload: cannot write it ([ui] upload_dir full?)");
    }
    char *answer = NULL;
    otter_err err;
    if (otter_ui_upload_finish(&r->up, f->conf, &answer, &err) != 0)
        return fail(c, 503, "daemon", err.msg);
    json_t *j = json_loads(answer, 0, NULL);
    int ok = json_is_true(json_object_get(j, "ok"));
    json_decref(j);
    return send_text(c, ok ? 200 : 409, "application/json", answer, strlen(answer), NULL);
}

static enum MHD_Result api(otter_ui_front *f, struct MHD_Connection *c, const char *url, int post,
                           const req *r)
{
    static const char *const actions[] = {"check",   "download", "start",   "cancel",
                                          "decline", "verify",   "postpone"};
    const char *name = url + 5; /* after "/api/" */
    if (post && !same_origin(c))
        return fail(c, 403, "origin", "request from another origin");
    if (post && !strcmp(name, "login"))
        return login(f, c, r);
    const char *tok = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
    otter_ui_session *s = otter_ui_sess_find(&f->sessions, tok, time(NULL));
    if (!s)
        return fail(c, 401, "login", "not logged in");
    if (!post && !strcmp(name, "session"))
        return send_json(c, 200,
                         json_pack("{s:b,s:s,s:I}", "ok", 1, "csrf", s->csrf, "max_upload",
                                   (json_int_t)otter_ui_upload_max(f->conf)),
                         NULL);
    if (!post && !strcmp(name, "status"))
        return status(f, c);
    if (!post)
        return fail(c, 404, "not_found", "no such API");
    if (!otter_ui_sess_csrf_ok(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token")))
        return fail(c, 403, "csrf", "missing or wrong X-CSRF-Token");
    if (!strcmp(name, "logout")) {
        otter_ui_sess_drop(s);
        return send_json(c, 200, json_pack("{s:b}", "ok", 1),
                         COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    }
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (!strcmp(name, actions[i]))
            return i == 6 ? postpone(f, c, r) : control(f, c, actions[i], NULL);
    return fail(c, 404, "not_found", "no such action");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)version;
    otter_ui_front *f = cls;
    req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        *con_cls = r;
        if (!strcmp(method, "POST") && !strcmp(url, "/api/upload"))
            return upload_begin(f, c, r);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > OTTER_UI_BODY_MAX) /* refused before reading it */
            return fail(c, 413, "too_large", "request body too large");
        return MHD_YES;
    }
    if (*data_size && r->is_upload) {
        if (!r->refused)
            otter_ui_upload_write(&r->up, data, *data_size); /* streamed: never whole in memory */
        *data_size = 0;
        return MHD_YES;
    }
    if (r->is_upload && r->refused)
        return fail(c, r->refused, r->refused_code, r->refused_msg);
    if (r->is_upload)
        return upload_end(f, c, r);
    if (*data_size) {
        if (r->len + *data_size > OTTER_UI_BODY_MAX)
            r->too_big = 1;
        else
            memcpy(r->body + r->len, data, *data_size), r->len += *data_size;
        *data_size = 0;
        return MHD_YES;
    }
    if (r->too_big)
        return fail(c, 413, "too_large", "request body too large");
    int post = !strcmp(method, "POST");
    if (!post && strcmp(method, "GET") != 0)
        return fail(c, 405, "method", "GET or POST only");
    if (!strncmp(url, "/api/", 5))
        return api(f, c, url, post, r);
    return post ? fail(c, 405, "method", "GET only") : serve_file(f, c, url);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    req *r = *con_cls;
    if (r && r->is_upload)
        otter_ui_upload_abort(&r->up); /* broken off, or refused: the file goes */
    free(*con_cls);
    *con_cls = NULL;
}

struct MHD_Daemon *otter_ui_http_start(otter_ui_front *f, const struct sockaddr *sa)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     (sa->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, f, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_NOTIFY_COMPLETED,
        on_done, f, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)OTTER_UI_CONN_MEMORY,
        MHD_OPTION_CONNECTION_LIMIT, 32U, MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_END);
}
