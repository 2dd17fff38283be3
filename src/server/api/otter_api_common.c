/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every management API handler shares: replies and errors in the API's
 * one shape, the transaction and its audit entry, timestamps, path ids, and
 * the lookups several resources make (a release, a user's document). The
 * dispatch (otter_api.c) and the handlers (otter_api_*.c) call this file;
 * it calls neither, so no two API files depend on each other in a circle.
 */
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otter_api_internal.h"
#include "otter_reqjson.h"
#include "otter_artifact.h"
#include "otter_blob.h"
#include "otter_rbac.h"

int api_reply(struct call *c, int status, json_t *doc)
{
    json_decref(c->out);
    c->out = doc;
    return status;
}

static const char *error_code(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 409:
        return "conflict";
    case 410:
        return "gone";
    case 411:
        return "length_required";
    case 413:
        return "payload_too_large";
    case 415:
        return "unsupported_media_type";
    case 422:
        return "unprocessable_entity";
    case 429:
        return "too_many_requests";
    case 503:
        return "unavailable";
    default:
        return status >= 500 ? "internal_error" : "error";
    }
}

int api_fail(struct call *c, int status, const char *where, const char *fmt, ...)
{
    char msg[OTTER_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return api_reply(c, status,
                     json_pack("{s:{s:s, s:s, s:s}}", "error", "code", error_code(status),
                               "message", msg, "where", where));
}

void api_fail_where(struct call *c, const char *where)
{
    json_t *e = json_object_get(c->out, "error");
    if (json_is_object(e))
        json_object_set_new(e, "where", json_string(where));
}

int api_fail_err(struct call *c, const char *where, const otter_err *err)
{
    if (err->code == OTTER_ESTATE)
        return api_fail(c, 409, where, "%s", err->msg);
    if (err->code == OTTER_EFORMAT || err->code == OTTER_EUSAGE)
        return api_fail(c, 400, where, "%s", err->msg);
    fprintf(stderr, "otter-server: %s %s: %s\n", c->req->method, c->req->path, err->msg);
    return api_fail(c, 500, where, "internal error: %s", err->msg);
}

/* The group the path names ({group}, c->param[0]) in the caller's tenant; 404 when none. */
int api_load_group(struct call *c, otter_group *g)
{
    otter_err err;
    int found = 0;
    if (!otter_reqjson_name_ok(c->param[0]))
        return api_fail(c, 404, "path", "no group '%.64s'", c->param[0]);
    if (otter_store_group_get(c->api->store, c->tenant.id, c->param[0], g, &found, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (!found)
        return api_fail(c, 404, "path", "no group '%s'", c->param[0]);
    return 0;
}

int api_begin(struct call *c, otter_err *err)
{
    int ret = otter_store_begin(c->api->store, err);
    if (ret == 0)
        c->in_tx = 1;
    return ret;
}

int api_audit(struct call *c, const char *action, const char *object, const char *detail,
              otter_err *err)
{
    otter_audit_entry e = {
        .at = c->now,
        .actor_id = c->authed ? c->user.id : 0,
        .actor = c->authed ? c->user.name : NULL,
        .tenant_id = c->has_tenant ? c->tenant.id : 0,
        .tenant = c->has_tenant ? c->tenant.name : NULL,
        .action = action,
        .object = object,
        .detail = detail,
        .client = c->req->client,
    };
    return otter_store_audit_append(c->api->store, &e, err);
}

json_t *api_time(int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return json_string(buf);
}

int api_token_live(otter_store *store, const char *sha, int64_t now, int *live, otter_err *err)
{
    otter_token t;
    int found = 0;
    *live = 0;
    if (otter_store_token_find(store, sha, &t, &found, err) < 0)
        return -1;
    *live = found && !t.revoked_at && t.expires_at > now;
    return 0;
}

/* line errors reported at most */

int64_t api_id_param(const char *s)
{
    char *end = NULL;
    if (!s || *s < '1' || *s > '9' || strlen(s) > 18)
        return 0;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno || *end ? 0 : (int64_t)v;
}

static int copy_release(void *ctx, const otter_release *r)
{
    otter_release *out = ctx;
    *out = *r;
    out->manifest = out->meta = NULL; /* borrowed from the row: gone after this call */
    return 0;
}

/* Loads release {id} of the tenant (without manifest and meta) or answers 404. */
int api_load_release(struct call *c, int64_t id, otter_release *r)
{
    otter_err err;
    r->id = 0;
    if (id <= 0)
        return api_fail(c, 404, "path", "no such release");
    if (otter_store_release_list(c->api->store, c->tenant.id, id, copy_release, r, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (r->id == 0)
        return api_fail(c, 404, "path", "no release %lld", (long long)id);
    return 0;
}

static int add_membership(void *ctx, const otter_member *m)
{
    json_t *arr = ctx;
    return json_array_append_new(arr, json_pack("{s:s, s:s}", "tenant", m->tenant, "role",
                                                otter_rbac_role_name(m->role))) == 0
               ? 0
               : OTTER_ENOMEM;
}

/* {username, is_admin, created_at, memberships[]} of user u. */
int api_user_doc(struct call *c, const otter_user *u, json_t **out, otter_err *err)
{
    json_t *ms = json_array();
    int ret = ms ? otter_store_member_list_user(c->api->store, u->id, add_membership, ms, err)
                 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
    if (ret < 0) {
        json_decref(ms);
        return ret;
    }
    *out = json_pack("{s:s, s:b, s:o, s:o, s:o}", "username", u->name, "is_admin", u->is_admin,
                     "created_at", api_time(u->created_at), "password_changed_at",
                     api_time(u->password_changed_at), "memberships", ms);
    return *out ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
}

/*
 * Answers with the stored artifact sha256 as an attachment named filename
 * (sendfile); what names the object in the error when the file is missing.
 */
int api_send_artifact(struct call *c, const char *sha256, const char *filename, const char *what)
{
    otter_err err;
    char path[4200], disp[OTTER_STORE_FILENAME_MAX + 40];
    struct stat st;
    /* s10-cdn: a server that did not take the upload fills its directory from the database. */
    if (c->api->cfg->storage_database &&
        otter_blob_local(c->api->store, c->api->cfg->artifacts_dir, sha256, &err) < 0)
        fprintf(stderr, "otter-server: %s\n", err.msg);
    if (otter_artifact_path(c->api->cfg->artifacts_dir, sha256, path, sizeof path, &err) < 0)
        return api_fail_err(c, "path", &err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return api_fail(c, 500, "path", "the file of %s is missing", what);
    }
    snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", filename);
    c->resp->fd_set = 1;
    c->resp->fd = fd;
    c->resp->fd_offset = 0;
    c->resp->fd_len = (uint64_t)st.st_size;
    c->resp->content_type = "application/octet-stream";
    otter_http_add_header(c->resp, "Content-Disposition", disp);
    return 200;
}
