/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hawkBit DDI v1 for devices: authenticate (TargetToken or GatewayToken),
 * record that the device was seen, then answer the base poll, the
 * deployment of its open action, its feedback, configData and cancelation.
 * The action lifecycle (docs/ddi.md) is otter_fleet's: this file turns
 * requests into its events and stores what it answers. Every write runs
 * in one store transaction.
 */
#include "otter_ddi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "otter_auth.h"
#include "otter_ddi_internal.h"
#include "otter_ddi_json.h"
#include "otter_digest.h"
#include "otter_fleet.h"
#include "otter_reqjson.h"
#include "otter_rollout.h"
#include "otter_fmt.h"

#define PATH_MAX_BYTES 512

int otter_ddi_new(otter_store *store, const otter_server_config *cfg, otter_ddi **out,
                  otter_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    (*out)->store = store;
    (*out)->cfg = cfg;
    int ret = otter_pollcache_new((size_t)cfg->ddi_poll_cache, &(*out)->cache, err);
    if (ret == 0)
        ret = ddi_seen_new(store, &(*out)->seen, err);
    if (ret == 0 && cfg->ddi_poll_cache && (ret = ddi_warm_start(*out, err)) < 0)
        ddi_seen_free((*out)->seen);
    if (ret < 0) {
        otter_pollcache_free((*out)->cache);
        free(*out);
        *out = NULL;
    }
    return ret;
}

void otter_ddi_free(otter_ddi *ddi)
{
    if (ddi) {
        ddi_warm_stop(ddi);
        ddi_seen_free(ddi->seen);
        otter_pollcache_free(ddi->cache);
    }
    free(ddi);
}

void otter_ddi_set_metrics(otter_ddi *ddi, struct otter_metrics *metrics)
{
    ddi->metrics = metrics;
}

int otter_ddi_match(const char *path)
{
    if (path[0] != '/')
        return 0;
    const char *slash = strchr(path + 1, '/');
    return slash && slash > path + 1 && strncmp(slash, "/controller/v1/", 15) == 0;
}

static int reply(struct ddi_call *c, int status, json_t *doc)
{
    free(c->resp->body);
    c->resp->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (doc && !c->resp->body)
        return ddi_fail(c, 500, "out of memory");
    return status;
}

static int valid_host(const char *host)
{
    return host && *host && strlen(host) <= 255 &&
           strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
               strlen(host);
}

/*
 * The base of every link in the answer: [server] public_url when set.
 * Else scheme://host of the request (Host is checked so it cannot inject
 * into links); X-Forwarded-Proto and X-Forwarded-Host replace them only
 * when the peer is one of [server] trusted_proxies: from anyone else they
 * are ignored, or a client could have the server hand devices links to
 * any host, or http:// links behind the TLS proxy.
 */
static int set_base(struct ddi_call *c)
{
    const otter_server_config *cfg = c->ddi->cfg;
    if (cfg && cfg->public_url) {
        snprintf(c->base, sizeof c->base, "%s", cfg->public_url);
        return 0;
    }
    const char *host = otter_http_header(c->req, "Host");
    const char *scheme = c->req->tls ? "https" : "http";
    if (cfg && otter_server_config_trusted_proxy(cfg, c->req->client)) {
        const char *fh = otter_http_header(c->req, "X-Forwarded-Host");
        const char *fp = otter_http_header(c->req, "X-Forwarded-Proto");
        if (fh)
            host = fh;
        if (fp && strcmp(fp, "https") != 0 && strcmp(fp, "http") != 0)
            return ddi_fail(c, 400, "X-Forwarded-Proto must be http or https");
        if (fp)
            scheme = fp;
    }
    if (!valid_host(host))
        return ddi_fail(c, 400, "a valid Host header is required");
    snprintf(c->base, sizeof c->base, "%s://%s", scheme, host);
    return 0;
}

static json_t *href(struct ddi_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* {"href": "<base>/<tenant>/controller/v1/<cid>/<fmt...>"} */
static json_t *href(struct ddi_call *c, const char *fmt, ...)
{
    char tail[256], url[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    otter_err err;
    /* A link cut short would name another resource: none (the answer fails) instead. */
    if (otter_fmt(url, sizeof url, &err, "link", "%s/%s/controller/v1/%s%s", c->base,
                  c->tenant.name, c->dev->controller_id, tail) < 0)
        return NULL;
    return json_pack("{s:s}", "href", url);
}

/* ---- deploymentBase / installedBase ---- */

struct one_release {
    otter_release r;
    int found;
};

static int take_release(void *ctx, const otter_release *r)
{
    struct one_release *o = ctx;
    o->r = *r;
    o->r.manifest = o->r.meta = NULL;
    o->found = 1;
    return 0;
}

/* The device's action {id} (404 otherwise). */
static int load_action(struct ddi_call *c, const char *id_text, otter_action *a)
{
    otter_err err;
    int found = 0;
    char *end = NULL;
    long long id = strtoll(id_text, &end, 10);
    if (!*id_text || *end || id <= 0)
        return ddi_fail(c, 404, "no such action");
    if (otter_store_action_get(c->ddi->store, id, a, &found, &err) < 0)
        return ddi_fail_err(c, &err);
    if (!found || a->device_id != c->dev->id)
        return ddi_fail(c, 404, "no action %lld for this device", id);
    return 0;
}

/*
 * A rollout's action the device has not started is its to take only while
 * the poll would offer it (rollout running, stage reached, no older action
 * first): fetching deploymentBase or sending feedback by id must not get
 * around a pause or a stage not yet open. The store's offer rule decides,
 * the same one the poll and its cache use. 0 = may go on, else the status
 * already answered.
 */
static int refuse_held_back(struct ddi_call *c, const otter_action *a)
{
    otter_err err;
    otter_action offered;
    int found = 0;
    if (!a->rollout_id || otter_action_state_of(a) != OTTER_ACTION_SCHEDULED)
        return 0;
    if (otter_store_action_open(c->ddi->store, c->dev->id, &offered, &found, &err) < 0)
        return ddi_fail_err(c, &err);
    if (!found || offered.id != a->id)
        return ddi_fail(c, 404,
                        "action %lld is not offered now: its rollout is paused or has not "
                        "reached its stage",
                        (long long)a->id);
    return 0;
}

#define ARTIFACT_PATH "/softwaremodules/%lld/artifacts/%s"

/* One entry of a chunk's artifacts: name, hashes, size and the links to fetch it. */
static json_t *artifact_doc(struct ddi_call *c, int64_t release_id, const char *filename,
                            const char *sha1, const char *md5, const char *sha256, int64_t size)
{
    long long rid = (long long)release_id;
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:I, s:{s:o, s:o, s:o, s:o}}", "filename", filename,
                     "hashes", "sha1", sha1, "md5", md5, "sha256", sha256, "size", (json_int_t)size,
                     "_links", "download", href(c, ARTIFACT_PATH, rid, filename), "download-http",
                     href(c, ARTIFACT_PATH, rid, filename), "md5sum",
                     href(c, ARTIFACT_PATH ".MD5SUM", rid, filename), "md5sum-http",
                     href(c, ARTIFACT_PATH ".MD5SUM", rid, filename));
}

/* delta: offered second (docs/ddi.md "Delta artifacts"), or NULL. */
static json_t *deployment_doc(struct ddi_call *c, const otter_action *a, const otter_release *r,
                              const otter_delta *delta)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)a->id);
    json_t *arts =
        json_pack("[o]", artifact_doc(c, r->id, r->filename, r->sha1, r->md5, r->sha256, r->size));
    if (arts && delta)
        json_array_append_new(arts, artifact_doc(c, r->id, delta->filename, delta->sha1, delta->md5,
                                                 delta->sha256, delta->size));
    json_t *chunk = json_pack("{s:s, s:s, s:s, s:o}", "part", "os", "version", r->version, "name",
                              r->product, "artifacts", arts);
    json_t *dep = json_pack("{s:s, s:s, s:[o]}", "download", a->download, "update", a->update,
                            "chunks", chunk);
    if (dep && a->maintenance[0])
        json_object_set_new(dep, "maintenanceWindow", json_string(a->maintenance));
    return json_pack("{s:s, s:o}", "id", id, "deployment", dep);
}

struct delta_pick {
    const char *from_version;
    otter_delta d;
    int found;
};

static int pick_delta(void *ctx, const otter_delta *d)
{
    struct delta_pick *p = ctx;
    if (!p->found && strcmp(d->from_version, p->from_version) == 0) {
        p->d = *d;
        p->found = 1;
    }
    return 0;
}

/*
 * The delta of release_id this device gets (docs/ddi.md "Delta artifacts"):
 * only when its configData says otter.delta = "1" and its version is a
 * delta's from_version. *found = 0 for every other device, foreign DDI
 * clients included, which then see exactly the one full artifact.
 */
int ddi_delta_for(struct ddi_call *c, int64_t release_id, otter_delta *out, int *found,
                  otter_err *err)
{
    *found = 0;
    json_t *attrs = json_loads(c->dev->attributes[0] ? c->dev->attributes : "{}", 0, NULL);
    const char *cap = json_string_value(json_object_get(attrs, "otter.delta"));
    const char *version = json_string_value(json_object_get(attrs, "version"));
    int ret = 0;
    if (cap && strcmp(cap, "1") == 0 && version && *version) {
        struct delta_pick p = {.from_version = version};
        ret = otter_store_delta_list(c->ddi->store, release_id, 0, pick_delta, &p, err);
        if (ret == 0 && p.found) {
            *out = p.d;
            *found = 1;
        }
    }
    json_decref(attrs);
    return ret;
}

static int deployment_base(struct ddi_call *c, int installed)
{
    otter_err err;
    otter_action a;
    otter_action_state to, st;
    otter_action_result result;
    struct one_release o = {0};
    int moved = 0, status = load_action(c, c->seg[1], &a);
    if (status)
        return status;
    st = otter_action_state_of(&a);
    /* As hawkBit: installedBase of a closed action, not canceled. */
    if (installed && (otter_action_is_canceled(st) || otter_action_is_open(st)))
        return ddi_fail(c, 404, "action %lld is not closed", (long long)a.id);
    if (!installed && st == OTTER_ACTION_CANCELED)
        return ddi_refuse_canceled(c, &a);
    if (!installed &&
        otter_action_step(&a, OTTER_ACTION_EV_DEPLOYMENT_READ, &to, &result, &moved, &err) < 0)
        return ddi_fail(c, 404, "%s", err.msg);
    if (!installed && (status = refuse_held_back(c, &a)) != 0)
        return status;
    if (otter_store_release_list(c->ddi->store, c->tenant.id, a.release_id, take_release, &o,
                                 &err) < 0)
        return ddi_fail_err(c, &err);
    if (!o.found)
        return ddi_fail(c, 404, "the release of action %lld is gone", (long long)a.id);
    otter_delta delta;
    int has_delta = 0;
    if (!installed && ddi_delta_for(c, o.r.id, &delta, &has_delta, &err) < 0)
        return ddi_fail_err(c, &err);
    /* The device has seen its deployment: a scheduled action runs from now on. */
    if (!installed && moved &&
        otter_store_action_set_status(c->ddi->store, a.id, otter_action_state_word(to),
                                      otter_action_result_word(result), c->now, &err) < 0)
        return ddi_fail_err(c, &err);
    return reply(c, 200, deployment_doc(c, &a, &o.r, has_delta ? &delta : NULL));
}

/* ---- feedback ---- */

/*
 * After a rollout's action moved: let the rollout's automatic rules run
 * (advance, pause, finish) in a transaction of their own. The feedback is
 * already stored and acknowledged either way; a failure here is logged and
 * judged again at the next feedback.
 */
static void rollout_feedback(struct ddi_call *c, int64_t rollout_id)
{
    otter_err err;
    int found = 0, changed = 0;
    otter_rollout *r = malloc(sizeof *r);
    if (!r)
        return;
    if (otter_store_begin(c->ddi->store, &err) < 0)
        goto fail;
    if (otter_rollout_load(c->ddi->store, 0, rollout_id, r, &found, &err) < 0 ||
        (found && otter_rollout_evaluate(c->ddi->store, r, c->now, &changed, &err) < 0) ||
        otter_store_commit(c->ddi->store, &err) < 0) {
        otter_store_rollback(c->ddi->store);
        goto fail;
    }
    free(r);
    return;
fail:
    fprintf(stderr, "otter-server: rollout %lld: %s\n", (long long)rollout_id, err.msg);
    free(r);
}

/*
 * Bounded growth: an action keeps at most [ddi] max_feedback rows. Past
 * that, a message that leaves the action open is refused with 403, which
 * is hawkBit's answer to its own quota (maxStatusEntriesPerAction): DDI
 * clients take it as final and do not retry, while 429/503 would have them
 * send it again forever. A message that closes the action is always taken
 * (one row more at most: the action is closed after it), or a chatty
 * device could never report its result.
 */
static int feedback_quota(struct ddi_call *c, const otter_action *a, otter_action_state to,
                          otter_err *err)
{
    int64_t n = 0;
    if (!otter_action_is_open(to))
        return 0;
    if (otter_store_feedback_count(c->ddi->store, a->id, &n, err) < 0)
        return ddi_fail_err(c, err);
    if ((uint64_t)n < c->ddi->cfg->ddi_max_feedback)
        return 0;
    return ddi_fail(c, 403,
                    "action %lld has %lld feedback messages, the most kept ([ddi] "
                    "max_feedback); only its closing result is taken now",
                    (long long)a->id, (long long)n);
}

/* Stores feedback f on a and a's move to (to, result) when moved, in one transaction. */
static int feedback_store(struct ddi_call *c, const otter_action *a, const otter_ddi_feedback *f,
                          int cancel, otter_action_state to, otter_action_result result, int moved)
{
    otter_err err;
    int ret;
    otter_feedback row = {.action_id = a->id,
                          .at = c->now,
                          .kind = cancel ? "cancel" : "deployment",
                          .execution = f->execution,
                          .finished = f->finished,
                          .progress_cnt = f->progress_cnt,
                          .progress_of = f->progress_of,
                          .details = f->details};
    if (otter_store_begin(c->ddi->store, &err) < 0)
        return ddi_fail_err(c, &err);
    if ((ret = feedback_quota(c, a, to, &err)) != 0) {
        otter_store_rollback(c->ddi->store);
        return ret;
    }
    if (otter_store_feedback_add(c->ddi->store, &row, &err) < 0 ||
        (moved &&
         otter_store_action_set_status(c->ddi->store, a->id, otter_action_state_word(to),
                                       otter_action_result_word(result), c->now, &err) < 0) ||
        otter_store_commit(c->ddi->store, &err) < 0) {
        otter_store_rollback(c->ddi->store);
        return ddi_fail_err(c, &err);
    }
    return 0;
}

static int feedback(struct ddi_call *c, int cancel)
{
    otter_err err;
    otter_action a;
    otter_ddi_feedback f;
    otter_action_state to;
    otter_action_result result;
    int moved = 0, ret = load_action(c, c->seg[1], &a);
    if (ret)
        return ret;
    if (otter_ddi_feedback_parse(c->req->body, c->req->body_len, &f, &err) < 0)
        return ddi_fail(c, err.code == OTTER_ENOMEM ? 500 : 400, "%s", err.msg);
    if (f.has_id && f.id != a.id) {
        ret = ddi_fail(c, 400, "id %lld does not match action %lld", (long long)f.id,
                       (long long)a.id);
        goto out;
    }
    if (!otter_action_is_open(otter_action_state_of(&a))) {
        /* A retry of the message that closed it is answered like the first one. */
        int replay =
            strcmp(a.last_execution, f.execution) == 0 && strcmp(a.last_finished, f.finished) == 0;
        ret = replay ? reply(c, 200, NULL)
                     : ddi_fail(c, 410, "action %lld is %s", (long long)a.id, a.status);
        goto out;
    }
    if (otter_action_step(&a, otter_action_feedback_event(cancel, f.execution, f.finished), &to,
                          &result, &moved, &err) < 0) {
        ret = ddi_fail(c, 410, "%s", err.msg);
        goto out;
    }
    if (!cancel && (ret = refuse_held_back(c, &a)) != 0)
        goto out;
    if ((ret = feedback_store(c, &a, &f, cancel, to, result, moved)) != 0)
        goto out;
    otter_metrics_feedback(c->ddi->metrics, f.execution, f.finished);
    if (a.rollout_id && moved) {
        /*
         * Event streams show every move; the rules only change their verdict
         * when an action closes (judging counts the whole rollout's actions).
         */
        otter_rollout_touch();
        if (!otter_action_is_open(to))
            rollout_feedback(c, a.rollout_id);
    }
    /* 200, not 204: some clients (SWUpdate) take anything else as a failure. */
    ret = reply(c, 200, NULL);
out:
    otter_ddi_feedback_clear(&f);
    return ret;
}

/* ---- cancelAction, configData ---- */

static int cancel_action(struct ddi_call *c)
{
    otter_action a;
    int status = load_action(c, c->seg[1], &a);
    if (status)
        return status;
    if (!otter_action_is_canceled(otter_action_state_of(&a)))
        return ddi_fail(c, 404, "action %lld is not being canceled", (long long)a.id);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)a.id);
    return reply(c, 200, json_pack("{s:s, s:{s:s}}", "id", id, "cancelAction", "stopId", id));
}

static int config_data(struct ddi_call *c)
{
    otter_err err;
    char *attrs = NULL;
    if (otter_ddi_config_apply(c->req->body, c->req->body_len, c->dev->attributes, &attrs, &err) <
        0)
        return ddi_fail(c, err.code == OTTER_ENOMEM ? 500 : 400, "%s", err.msg);
    int ret = otter_store_device_set_attributes(c->ddi->store, c->dev->id, attrs, &err);
    free(attrs);
    if (ret < 0)
        return err.code == OTTER_EFORMAT ? ddi_fail(c, 400, "%s", err.msg) : ddi_fail_err(c, &err);
    return reply(c, 200, NULL);
}

/* ---- dispatch ---- */

static int route(struct ddi_call *c)
{
    const char *m = c->req->method;
    int get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    const char *what = c->nseg ? c->seg[0] : "";
    if (c->req->body_len && !post && strcmp(m, "PUT") != 0)
        return ddi_fail(c, 400, "this request takes no body");
    if (c->nseg == 0)
        return get ? ddi_poll(c) : ddi_fail(c, 405, "%s is not allowed here", m);
    if (strcmp(what, "deploymentBase") == 0 && c->nseg == 2)
        return get ? deployment_base(c, 0) : ddi_fail(c, 405, "%s is not allowed here", m);
    if (strcmp(what, "installedBase") == 0 && c->nseg == 2)
        return get ? deployment_base(c, 1) : ddi_fail(c, 405, "%s is not allowed here", m);
    if (strcmp(what, "cancelAction") == 0 && c->nseg == 2)
        return get ? cancel_action(c) : ddi_fail(c, 405, "%s is not allowed here", m);
    if ((strcmp(what, "deploymentBase") == 0 || strcmp(what, "cancelAction") == 0) &&
        c->nseg == 3 && strcmp(c->seg[2], "feedback") == 0)
        return post ? feedback(c, what[0] == 'c') : ddi_fail(c, 405, "%s is not allowed here", m);
    if (strcmp(what, "configData") == 0 && c->nseg == 1)
        return strcmp(m, "PUT") == 0 ? config_data(c)
                                     : ddi_fail(c, 405, "%s is not allowed here", m);
    if (strcmp(what, "softwaremodules") == 0 && c->nseg == 4 && strcmp(c->seg[2], "artifacts") == 0)
        return get || strcmp(m, "HEAD") == 0 ? ddi_download(c)
                                             : ddi_fail(c, 405, "%s is not allowed here", m);
    if (strcmp(what, "otter") == 0 && c->nseg == 2 && strcmp(c->seg[1], "roots") == 0)
        return get ? ddi_roots(c) : ddi_fail(c, 405, "%s is not allowed here", m);
    return ddi_fail(c, 404, "no such DDI resource");
}

void otter_ddi_handle(void *ctx, const otter_http_request *req, otter_http_response *resp)
{
    struct ddi_call c = {.ddi = ctx, .req = req, .resp = resp, .now = (int64_t)time(NULL)};
    char buf[PATH_MAX_BYTES];
    char *all[DDI_SEG_MAX + 4];
    int n = 0, status;
    if (strlen(req->path) >= sizeof buf) {
        status = ddi_fail(&c, 404, "path too long");
        goto out;
    }
    strcpy(buf, req->path + 1);
    for (char *p = buf; p && n < DDI_SEG_MAX + 4;) {
        all[n++] = p;
        if ((p = strchr(p, '/')))
            *p++ = '\0';
    }
    /* all: tenant, "controller", "v1", controllerId, rest... */
    if (n < 4 || n >= DDI_SEG_MAX + 4 || !all[3][0] || (n > 4 && !all[n - 1][0])) {
        status = ddi_fail(&c, 404, "no such DDI resource");
        goto out;
    }
    c.nseg = n - 4;
    for (int i = 0; i < c.nseg; i++)
        c.seg[i] = all[4 + i];
    if ((status = set_base(&c)) != 0)
        goto out;
    /* The base poll, most of the traffic, authenticates from memory when it can. */
    if (c.nseg == 0 && strcmp(req->method, "GET") == 0 && !req->body_len) {
        status = ddi_poll_fast(&c, all[0], all[3]);
        goto out;
    }
    if ((status = ddi_authenticate(&c, all[0], all[3])) != 0)
        goto out;
    status = route(&c);
out:
    resp->status = status;
    free(c.dev);
}
