/* SPDX-License-Identifier: Apache-2.0 */
/* Login, logout, the caller's own account and API tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_api_internal.h"
#include "otter_auth.h"

/*
 * Failures count per (account, client address) pair, so a stranger's
 * guesses slow down the stranger, not the account's owner elsewhere; and
 * per address, so one source trying many names slows down too.
 */
static void throttle_key(struct call *c, const char *user, char *pkey)
{
    snprintf(pkey, OTTER_THROTTLE_KEY_MAX, "%s|%s", user, c->req->client);
}

/*
 * 429 with Retry-After while the pair or the address must wait; 0 when free
 * to try. where_pair names the field of the pair's account in the request.
 */
static int throttled(struct call *c, const char *pkey, const char *where_pair)
{
    uint64_t wp = otter_throttle_check(c->api->throttle_pair, pkey, (uint64_t)c->now);
    uint64_t wa = otter_throttle_check(c->api->throttle_addr, c->req->client, (uint64_t)c->now);
    uint64_t wait = wp > wa ? wp : wa;
    if (!wait)
        return 0;
    snprintf(c->resp->retry_after, sizeof c->resp->retry_after, "%llu", (unsigned long long)wait);
    return api_fail(c, 429, wp ? where_pair : "client address",
                    "too many failed logins; try again in %llu seconds", (unsigned long long)wait);
}

static void record_failure(struct call *c, const char *pkey, const char *user, const char *action)
{
    otter_err err;
    const char *addr = c->req->client;
    otter_throttle_fail(c->api->throttle_pair, pkey, addr, (uint64_t)c->now);
    otter_throttle_fail(c->api->throttle_addr, addr, addr, (uint64_t)c->now);
    /* Outside any transaction: the refused request must leave this trace anyway. */
    otter_audit_entry e = {
        .at = c->now, .actor = user, .action = action, .object = user, .client = c->req->client};
    if (otter_store_audit_append(c->api->store, &e, &err) < 0)
        fprintf(stderr, "otter-server: audit: %s\n", err.msg);
}

/*
 * A yescrypt check costs tens of milliseconds of CPU. The HTTP layer runs
 * these requests on a slow lane of [auth] login_concurrency threads per
 * listener (otter_api_slow()), so they never hold the pool that answers
 * device polls; this bound is the same number for the whole process (two
 * listeners, or a caller without the lane): one more check is refused at
 * once with 503 and Retry-After. Returns 0 with a slot taken (give it back
 * with hash_leave), else the status.
 */
static int hash_enter(struct call *c)
{
    unsigned running = atomic_fetch_add(&c->api->hashing, 1);
    if (running < c->api->cfg->login_concurrency)
        return 0;
    atomic_fetch_sub(&c->api->hashing, 1);
    snprintf(c->resp->retry_after, sizeof c->resp->retry_after, "1");
    return api_fail(c, 503, "body", "too many password checks at once; try again in a second");
}

static void hash_leave(struct call *c)
{
    atomic_fetch_sub(&c->api->hashing, 1);
}

int otter_api_slow(const otter_http_request *req)
{
    return (strcmp(req->method, "POST") == 0 && (strcmp(req->path, "/api/v1/login") == 0 ||
                                                 strcmp(req->path, "/api/v1/tokens") == 0)) ||
           (strcmp(req->method, "PUT") == 0 && strcmp(req->path, "/api/v1/me/password") == 0);
}

/*
 * The caller proves they know their own password (throttled and audited as
 * a login): 0 when it matched, else the status already answered. A stolen
 * session must become neither a password oracle nor a longer-lived
 * credential.
 */
static int check_own_password(struct call *c, const char *password, const char *where,
                              const char *what)
{
    otter_err err;
    int match = 0, status;
    char pkey[OTTER_THROTTLE_KEY_MAX];
    throttle_key(c, c->user.name, pkey);
    if ((status = throttled(c, pkey, where)) != 0 || (status = hash_enter(c)) != 0)
        return status;
    int verified = otter_auth_password_verify(password, c->user.password_hash, &match, &err);
    hash_leave(c);
    if (verified < 0)
        return api_fail_err(c, "body", &err);
    if (!match) {
        record_failure(c, pkey, c->user.name, "password.failed");
        return api_fail(c, 403, where, "%s is wrong", what);
    }
    return 0;
}

/* Creates a token row for the caller (c->user) and returns the secret in token. */
static int issue_token(struct call *c, otter_token_kind kind, const char *name, int64_t ttl,
                       char *token, int64_t *id, otter_token *t, otter_err *err)
{
    char sha[OTTER_AUTH_SHA256_HEX];
    const char *prefix = kind == OTTER_TOKEN_API      ? OTTER_AUTH_TOKEN_PREFIX_API
                         : kind == OTTER_TOKEN_TICKET ? OTTER_AUTH_TOKEN_PREFIX_TICKET
                                                      : OTTER_AUTH_TOKEN_PREFIX_SESSION;
    int ret = otter_auth_token_new(prefix, token, OTTER_AUTH_TOKEN_MAX, sha, err);
    if (ret < 0)
        return ret;
    *t = (otter_token){
        .user_id = c->user.id, .kind = kind, .created_at = c->now, .expires_at = c->now + ttl};
    snprintf(t->name, sizeof t->name, "%s", name);
    return otter_store_token_create(c->api->store, t, sha, id, err);
}

int api_login(struct call *c)
{
    otter_err err;
    int found = 0, match = 0, status;
    const char *name = otter_reqjson_str(&c->body, "username");
    const char *password = otter_reqjson_str(&c->body, "password");
    char pkey[OTTER_THROTTLE_KEY_MAX];
    throttle_key(c, name, pkey);
    if ((status = throttled(c, pkey, "body.username")) != 0)
        return status;
    if (otter_store_user_get(c->api->store, name, &c->user, &found, &err) < 0)
        return api_fail_err(c, "body", &err);
    if ((status = hash_enter(c)) != 0)
        return status;
    /* Verify even for unknown users (against a decoy) so timing does not tell them apart. */
    int verified =
        otter_auth_password_verify(password, found ? c->user.password_hash : NULL, &match, &err);
    hash_leave(c);
    if (verified < 0)
        return api_fail_err(c, "body", &err);
    if (!found || !match) {
        record_failure(c, pkey, name, "login.failed");
        /* Every 401 names its scheme (RFC 9110 11.6.1): a client learns to send a Bearer token. */
        c->resp->www_authenticate = "Bearer realm=\"otter\"";
        return api_fail(c, 401, "body", "wrong user name or password");
    }
    otter_throttle_reset(c->api->throttle_pair, pkey);
    c->authed = 1;
    char token[OTTER_AUTH_TOKEN_MAX];
    otter_token t;
    int64_t id;
    if (api_begin(c, &err) < 0 ||
        issue_token(c, OTTER_TOKEN_SESSION, "", (int64_t)c->api->cfg->session_ttl, token, &id, &t,
                    &err) < 0 ||
        api_audit(c, "login", name, NULL, &err) < 0)
        return api_fail_err(c, "body", &err);
    return api_reply(c, 200,
                     json_pack("{s:s, s:s, s:o, s:s}", "token", token, "token_type", "Bearer",
                               "expires_at", api_time(t.expires_at), "username", c->user.name));
}

int api_logout(struct call *c)
{
    otter_err err;
    int found;
    if (api_begin(c, &err) < 0 ||
        otter_store_token_revoke(c->api->store, c->token.id, c->user.id, c->now, &found, &err) <
            0 ||
        api_audit(c, "logout", c->user.name, NULL, &err) < 0)
        return api_fail_err(c, "token", &err);
    return api_reply(c, 204, NULL);
}

int api_me(struct call *c)
{
    otter_err err;
    json_t *doc = NULL;
    if (api_user_doc(c, &c->user, &doc, &err) < 0)
        return api_fail_err(c, "user", &err);
    return api_reply(c, 200, doc);
}

int api_me_password(struct call *c)
{
    int status;
    if ((status = check_own_password(c, otter_reqjson_str(&c->body, "old_password"),
                                     "body.old_password", "old password")) != 0)
        return status;
    return api_password_set(c, &c->user, "new_password");
}

static int add_token(void *ctx, const otter_token *t)
{
    json_t *arr = ctx;
    return json_array_append_new(arr,
                                 json_pack("{s:I, s:s, s:o, s:o}", "id", (json_int_t)t->id, "name",
                                           t->name, "created_at", api_time(t->created_at),
                                           "expires_at", api_time(t->expires_at))) == 0
               ? 0
               : OTTER_ENOMEM;
}

int api_tokens_list(struct call *c)
{
    otter_err err;
    json_t *arr = json_array();
    if (!arr)
        return api_fail(c, 500, "tokens", "out of memory");
    if (otter_store_token_list(c->api->store, c->user.id, OTTER_TOKEN_API, c->now, add_token, arr,
                               &err) < 0) {
        json_decref(arr);
        return api_fail_err(c, "tokens", &err);
    }
    return api_reply(c, 200, json_pack("{s:o}", "tokens", arr));
}

int api_tokens_create(struct call *c)
{
    otter_err err;
    const char *name = otter_reqjson_str(&c->body, "name");
    int64_t max = (int64_t)c->api->cfg->token_max_ttl;
    int64_t ttl =
        otter_reqjson_has(&c->body, "expires_in") ? otter_reqjson_int(&c->body, "expires_in") : max;
    if (ttl < 60 || ttl > max)
        return api_fail(c, 400, "body.expires_in", "expires_in must be 60..%lld seconds",
                        (long long)max);
    /* An 8-hour session must not turn into a 365-day token without the password. */
    int status = check_own_password(c, otter_reqjson_str(&c->body, "password"), "body.password",
                                    "your password");
    if (status)
        return status;
    char token[OTTER_AUTH_TOKEN_MAX];
    otter_token t;
    int64_t id;
    if (api_begin(c, &err) < 0 ||
        issue_token(c, OTTER_TOKEN_API, name, ttl, token, &id, &t, &err) < 0 ||
        api_audit(c, "token.create", name, NULL, &err) < 0)
        return api_fail_err(c, "body", &err);
    return api_reply(c, 201,
                     json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)id, "name", name,
                               "token", token, "created_at", api_time(t.created_at), "expires_at",
                               api_time(t.expires_at)));
}

int api_tokens_delete(struct call *c)
{
    otter_err err;
    int found = 0;
    const char *p = c->param[0];
    if (strlen(p) > 18 || strspn(p, "0123456789") != strlen(p))
        return api_fail(c, 404, "path", "no token '%.20s'", p);
    int64_t id = strtoll(p, NULL, 10);
    if (api_begin(c, &err) < 0 ||
        otter_store_token_revoke(c->api->store, id, c->user.id, c->now, &found, &err) < 0)
        return api_fail_err(c, "path", &err);
    if (!found)
        return api_fail(c, 404, "path", "no live token %lld of yours", (long long)id);
    if (api_audit(c, "token.revoke", p, NULL, &err) < 0)
        return api_fail_err(c, "path", &err);
    return api_reply(c, 204, NULL);
}

/*
 * A ticket lets a browser's EventSource (which cannot send an
 * Authorization header) open event streams as the caller: short-lived,
 * accepted only as ?ticket= and only by the stream routes, so a ticket
 * that leaks into a log grants a few minutes of read-only events. Its
 * name is the SHA-256 of the token that made it: revoking that token (a
 * logout) ends the ticket and the event streams it opened too.
 */
int api_tickets_create(struct call *c)
{
    otter_err err;
    char token[OTTER_AUTH_TOKEN_MAX];
    otter_token t;
    int64_t id;
    if (c->token.kind == OTTER_TOKEN_TICKET)
        return api_fail(c, 403, "header Authorization", "a ticket cannot make tickets");
    char detail[48];
    if (api_begin(c, &err) < 0 ||
        issue_token(c, OTTER_TOKEN_TICKET, c->token_sha, API_TICKET_TTL, token, &id, &t, &err) < 0)
        return api_fail_err(c, "body", &err);
    /* A ticket is a credential too: who got one, when, from where. */
    snprintf(detail, sizeof detail, "{\"ticket\":%lld}", (long long)id);
    if (api_audit(c, "ticket.create", NULL, detail, &err) < 0)
        return api_fail_err(c, "body", &err);
    return api_reply(c, 201,
                     json_pack("{s:s, s:I, s:o}", "ticket", token, "expires_in",
                               (json_int_t)API_TICKET_TTL, "expires_at", api_time(t.expires_at)));
}
