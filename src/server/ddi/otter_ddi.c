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

void otter_ddi_set_cdn(otter_ddi *ddi, struct otter_cdn *cdn)
{
    ddi->cdn = cdn;
}

void otter_ddi_set_publish(otter_ddi *ddi, struct otter_publish *publish)
{
    ddi->publish = publish;
}

int otter_ddi_match(const char *path)
{
    if (path[0] != '/')
        return 0;
    const char *slash = strchr(path + 1, '/');
    return slash && slash > path + 1 && strncmp(slash, "/controller/v1/", 15) == 0;
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

/* ---- deploymentBase / installedBase ---- */
static int deployment_base(struct ddi_call *c, int installed)
{
    otter_err err;
    otter_action a;
    otter_action_state to, st;
    otter_action_result result;
    json_t *doc = NULL;
    int moved = 0, status = ddi_load_action(c, c->seg[1], &a);
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
    if (!installed && (status = ddi_refuse_held_back(c, &a)) != 0)
        return status;
    if (!installed && (status = ddi_refuse_unconfirmed(c, &a)) != 0)
        return status;
    if ((status = ddi_offer_doc(c, &a, installed, "deployment", &doc)) != 0)
        return status;
    /* The device has seen its deployment: a scheduled action runs from now on. */
    if (!installed && moved &&
        otter_store_action_set_status(c->ddi->store, a.id, otter_action_state_word(to),
                                      otter_action_result_word(result), c->now, &err) < 0) {
        json_decref(doc);
        return ddi_fail_err(c, &err);
    }
    return ddi_reply(c, 200, doc);
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
    int64_t stage = -1;
    if (otter_rollout_load(c->ddi->store, 0, rollout_id, r, &found, &err) < 0 ||
        (found && (stage = r->current_stage,
                   otter_rollout_evaluate(c->ddi->store, r, c->now, &changed, &err) < 0)) ||
        otter_store_commit(c->ddi->store, &err) < 0) {
        otter_store_rollback(c->ddi->store);
        goto fail;
    }
    /* Push: the next stage's devices, once it is committed (otter_publish.h). */
    otter_publish_batch *wake = NULL;
    if (changed && r->current_stage > stage && strcmp(r->state, "running") == 0 &&
        otter_publish_batch_rollout(c->ddi->publish, &wake, c->ddi->store, c->tenant.name, r->id,
                                    r->current_stage, "scheduled", &err) < 0)
        fprintf(stderr, "otter-server: rollout %lld: push: %s\n", (long long)rollout_id, err.msg);
    otter_publish_send(c->ddi->publish, wake);
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

/*
 * Stores feedback f on a, a's move to (to, result) when moved and the
 * user's choice when f named one (choice not ""), in one transaction.
 */
static int feedback_store(struct ddi_call *c, const otter_action *a, const otter_ddi_feedback *f,
                          int cancel, otter_action_state to, otter_action_result result, int moved,
                          const char *choice, int64_t until)
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
        (choice[0] &&
         otter_store_action_set_user(c->ddi->store, a->id, choice, until, c->now, &err) < 0) ||
        (strcmp(choice, "postponed") == 0 &&
         otter_store_action_defer(c->ddi->store, a->id, &err) < 0) ||
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
    char choice[16] = "";
    int64_t until = 0;
    int moved = 0, ret = ddi_load_action(c, c->seg[1], &a);
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
        ret = replay ? ddi_reply(c, 200, NULL)
                     : ddi_fail(c, 410, "action %lld is %s", (long long)a.id, a.status);
        goto out;
    }
    if (otter_action_step(&a, otter_action_feedback_event(cancel, f.execution, f.finished), &to,
                          &result, &moved, &err) < 0) {
        ret = ddi_fail(c, 410, "%s", err.msg);
        goto out;
    }
    if (!cancel &&
        ((ret = ddi_refuse_held_back(c, &a)) != 0 || (ret = ddi_refuse_unconfirmed(c, &a)) != 0 ||
         (ret = ddi_user_choice_check(c, f.details, choice, &until)) != 0 ||
         (ret = ddi_deferral_check(c, &a, choice, until)) != 0))
        goto out;
    if ((ret = feedback_store(c, &a, &f, cancel, to, result, moved, choice, until)) != 0)
        goto out;
    otter_metrics_feedback(c->ddi->metrics, f.execution, f.finished);
    if (a.rollout_id && (moved || choice[0])) {
        /*
         * Event streams show every move; the rules only change their verdict
         * when an action closes (judging counts the whole rollout's actions).
         */
        otter_rollout_touch();
        if (moved && !otter_action_is_open(to))
            rollout_feedback(c, a.rollout_id);
    }
    /* 200, not 204: some clients (SWUpdate) take anything else as a failure. */
    ret = ddi_reply(c, 200, NULL);
out:
    otter_ddi_feedback_clear(&f);
    return ret;
}

/* ---- cancelAction, configData ---- */

static int cancel_action(struct ddi_call *c)
{
    otter_action a;
    int status = ddi_load_action(c, c->seg[1], &a);
    if (status)
        return status;
    if (!otter_action_is_canceled(otter_action_state_of(&a)))
        return ddi_fail(c, 404, "action %lld is not being canceled", (long long)a.id);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)a.id);
    return ddi_reply(c, 200, json_pack("{s:s, s:{s:s}}", "id", id, "cancelAction", "stopId", id));
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
    return ddi_reply(c, 200, NULL);
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
    if (strcmp(what, "confirmationBase") == 0)
        return ddi_confirmation(c);
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
