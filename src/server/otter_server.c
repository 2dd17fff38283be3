/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_server.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "otter_api.h"
#include "otter_artifact.h"
#include "otter_auth.h"
#include "otter_cdn.h"
#include "otter_bwcap.h"
#include "otter_bwcap_sync.h"
#include "otter_ddi.h"
#include "otter_file.h"
#include "otter_http.h"
#include "otter_metrics.h"
#include "otter_publish.h"
#include "otter_reqjson.h"
#include "otter_store.h"
#include "otter_web.h"

#define PEM_MAX_BYTES (1024 * 1024)

static int open_store(const otter_server_config *cfg, int create, otter_store **s, otter_err *err)
{
    int ret = otter_store_open(cfg->db_url, create, (unsigned)cfg->busy_timeout_ms, s, err);
    if (ret < 0)
        return ret;
    int version = 0;
    if (!create && (ret = otter_store_schema_version(*s, &version, err)) == 0 &&
        version != OTTER_STORE_SCHEMA_VERSION)
        ret = otter_err_set(err, OTTER_ESTATE,
                            "database schema version %d, this server needs %d: run "
                            "`otter-server init` first",
                            version, OTTER_STORE_SCHEMA_VERSION);
    if (ret < 0) {
        otter_store_free(*s);
        *s = NULL;
    }
    return ret;
}

/* The database url as it may be shown: a password in a postgresql:// url becomes "***". */
static const char *url_for_humans(const char *url, char *buf, size_t cap)
{
    const char *auth = strstr(url, "://");
    if (!auth)
        return url;
    auth += 3;
    size_t host_end = strcspn(auth, "/?");
    const char *at = memchr(auth, '@', host_end);
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon)
        return url;
    snprintf(buf, cap, "%.*s***%s", (int)(colon + 1 - url), url, at);
    return buf;
}

/* mkdir -p for the artifacts directory (private to the server user). */
static int make_dirs(const char *path, otter_err *err)
{
    char *p = strdup(path);
    int ret = 0;
    if (!p)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char saved = *s;
            *s = '\0';
            if (mkdir(p, 0750) < 0 && errno != EEXIST) {
                ret = otter_err_sys(err, OTTER_EIO, errno, "creating %s", p);
                break;
            }
            *s = saved;
            if (!saved)
                break;
        }
    }
    free(p);
    return ret;
}

/* Uses password, or generates one and prints it once. */
static int pick_password(const char *password, char *buf, size_t cap, const char *who, FILE *out,
                         const char **chosen, otter_err *err)
{
    if (password) {
        *chosen = password;
        return 0;
    }
    int ret = otter_auth_password_generate(buf, cap, err);
    if (ret == 0) {
        fprintf(out, "password for %s (shown once): %s\n", who, buf);
        fflush(out);
        *chosen = buf;
    }
    return ret;
}

static int audit_offline(otter_store *s, const char *action, const char *object, otter_err *err)
{
    otter_audit_entry e = {.at = (int64_t)time(NULL),
                           .actor = "otter-server (offline)",
                           .action = action,
                           .object = object,
                           .client = "local"};
    return otter_store_audit_append(s, &e, err);
}

static int create_user(otter_store *s, const char *name, int is_admin, const char *tenant,
                       const char *role_name, const char *password, FILE *out, otter_err *err)
{
    char buf[32], *hash = NULL;
    const char *pw;
    otter_role role = OTTER_ROLE_NONE;
    otter_tenant t;
    int64_t uid = 0;
    int ret, found = 0;
    if (!otter_reqjson_name_ok(name))
        return otter_err_set(err, OTTER_EUSAGE, "user name '%s': use 1..64 of A-Z a-z 0-9 . _ @ -",
                             name);
    if ((tenant != NULL) != (role_name != NULL))
        return otter_err_set(err, OTTER_EUSAGE, "--tenant and --role go together");
    if (role_name && (ret = otter_rbac_role_parse(role_name, &role, err)) < 0)
        return ret;
    if (tenant) {
        if ((ret = otter_store_tenant_get(s, tenant, &t, &found, err)) < 0)
            return ret;
        if (!found)
            return otter_err_set(err, OTTER_EUSAGE, "no tenant '%s'", tenant);
    }
    if ((ret = pick_password(password, buf, sizeof buf, name, out, &pw, err)) < 0 ||
        (ret = otter_auth_password_hash(pw, &hash, err)) < 0)
        goto out;
    if ((ret = otter_store_begin(s, err)) < 0)
        goto out;
    if ((ret = otter_store_user_create(s, name, hash, is_admin, (int64_t)time(NULL), &uid, err)) <
            0 ||
        (tenant && (ret = otter_store_member_set(s, uid, t.id, role, err)) < 0) ||
        (ret = audit_offline(s, "user.create", name, err)) < 0) {
        otter_store_rollback(s);
        goto out;
    }
    ret = otter_store_commit(s, err);
out:
    free(hash);
    return ret < 0 ? otter_err_prefix(err, "adding user %s", name) : 0;
}

int otter_server_init(const otter_server_config *cfg, const char *admin_name, const char *password,
                      FILE *out, otter_err *err)
{
    otter_store *s = NULL;
    int version = 0, ret;
    if ((ret = make_dirs(cfg->artifacts_dir, err)) < 0)
        return ret;
    if ((ret = open_store(cfg, 1, &s, err)) < 0)
        return ret;
    if ((ret = otter_store_schema_version(s, &version, err)) < 0 ||
        (ret = otter_store_migrate(s, err)) < 0)
        goto out;
    char shown[1024];
    fprintf(out, "database %s: schema version %d%s\n",
            url_for_humans(cfg->db_url, shown, sizeof shown), OTTER_STORE_SCHEMA_VERSION,
            version == OTTER_STORE_SCHEMA_VERSION ? " (already current)" : "");
    int64_t admins = 0;
    if ((ret = otter_store_user_count_admins(s, &admins, err)) < 0)
        goto out;
    if (admins > 0) {
        fprintf(out, "a global admin exists already; not creating '%s'\n", admin_name);
        goto out;
    }
    if ((ret = create_user(s, admin_name, 1, NULL, NULL, password, out, err)) < 0)
        goto out;
    fprintf(out, "created global admin '%s'\n", admin_name);
out:
    otter_store_free(s);
    return ret;
}

int otter_server_user_add(const otter_server_config *cfg, const char *name, int is_admin,
                          const char *tenant, const char *role, const char *password, FILE *out,
                          otter_err *err)
{
    otter_store *s = NULL;
    int ret = open_store(cfg, 0, &s, err);
    if (ret == 0)
        ret = create_user(s, name, is_admin, tenant, role, password, out, err);
    otter_store_free(s);
    return ret;
}

int otter_server_user_passwd(const otter_server_config *cfg, const char *name, const char *password,
                             FILE *out, otter_err *err)
{
    otter_store *s = NULL;
    otter_user u;
    char buf[32], *hash = NULL;
    const char *pw;
    int found = 0;
    int64_t now = (int64_t)time(NULL);
    int ret = open_store(cfg, 0, &s, err);
    if (ret < 0)
        return ret;
    if ((ret = otter_store_user_get(s, name, &u, &found, err)) < 0)
        goto out;
    if (!found) {
        ret = otter_err_set(err, OTTER_EUSAGE, "no user '%s'", name);
        goto out;
    }
    if ((ret = pick_password(password, buf, sizeof buf, name, out, &pw, err)) < 0 ||
        (ret = otter_auth_password_hash(pw, &hash, err)) < 0 ||
        (ret = otter_store_begin(s, err)) < 0)
        goto out;
    if ((ret = otter_store_user_set_password(s, u.id, hash, now, err)) < 0 ||
        (ret = otter_store_token_revoke_user(s, u.id, now, err)) < 0 ||
        (ret = audit_offline(s, "user.password", name, err)) < 0) {
        otter_store_rollback(s);
        goto out;
    }
    ret = otter_store_commit(s, err);
out:
    free(hash);
    otter_store_free(s);
    return ret;
}

struct list_ctx {
    otter_store *s;
    FILE *out;
};

static int print_role(void *ctx, const otter_member *m)
{
    fprintf(ctx, " %s:%s", m->tenant, otter_rbac_role_name(m->role));
    return 0;
}

static int print_user(void *ctx, const otter_user *u)
{
    struct list_ctx *l = ctx;
    otter_err err;
    fprintf(l->out, "%s%s", u->name, u->is_admin ? " (global admin)" : "");
    int ret = otter_store_member_list_user(l->s, u->id, print_role, l->out, &err);
    fputc('\n', l->out);
    return ret;
}

int otter_server_user_list(const otter_server_config *cfg, FILE *out, otter_err *err)
{
    otter_store *s = NULL;
    int ret = open_store(cfg, 0, &s, err);
    if (ret < 0)
        return ret;
    struct list_ctx l = {s, out};
    ret = otter_store_user_list(s, print_user, &l, err);
    otter_store_free(s);
    return ret;
}

/* ---- serve ---- */

/* /api/ is the management API; every other path is the dashboard (otter_web). */
static void base_url(const char *hostport, int tls, unsigned port, char *out, size_t cap)
{
    char *host = NULL;
    unsigned p;
    otter_err err;
    if (otter_server_config_split_hostport(hostport, &host, &p, &err) < 0)
        host = NULL;
    const char *h = host ? host : "0.0.0.0";
    int v6 = strchr(h, ':') != NULL;
    snprintf(out, cap, "%s://%s%s%s:%u", tls ? "https" : "http", v6 ? "[" : "", h, v6 ? "]" : "",
             port);
    free(host);
}

/* ---- dispatch ---- */

struct dispatch {
    const otter_server_config *cfg;
    otter_api *api;
    otter_ddi *ddi;
    otter_metrics *metrics; /* NULL when [metrics] enabled = false */
    otter_cdn *cdn;         /* s10-cdn: NULL when [cdn] is not set */
};

void otter_server_route_other(const otter_server_config *cfg, const otter_http_request *req,
                              otter_http_response *resp)
{
    (void)cfg;
    /* The dashboard's embedded files; its own 404 for anything else. */
    otter_web_handle(req, resp);
}

/* Device API, management API, then everything else: one decision per request. */
static void dispatch(void *ctx, const otter_http_request *req, otter_http_response *resp)
{
    struct dispatch *d = ctx;
    /* DDI first: a tenant may be called "api", and /api/controller/v1/ is then its DDI. */
    if (otter_ddi_match(req->path))
        otter_ddi_handle(d->ddi, req, resp);
    else if (otter_cdn_match(req->path))
        otter_cdn_handle(d->cdn, req, resp);
    else if (d->metrics && strcmp(req->path, "/metrics") == 0)
        otter_metrics_handle(d->metrics, req, resp);
    else if (strncmp(req->path, "/api/", 5) == 0)
        otter_api_handle(d->api, req, resp);
    else
        otter_server_route_other(d->cfg, req, resp);
}

static int dispatch_upload_open(void *ctx, const otter_http_request *req, void **sink,
                                uint64_t *limit)
{
    struct dispatch *d = ctx;
    if (otter_ddi_match(req->path) || strncmp(req->path, "/api/", 5) != 0)
        return 0;
    return otter_api_upload_open(d->api, req, sink, limit);
}

/* The password checks: handlers that take a pool thread for tens of milliseconds. */
static int dispatch_slow(void *ctx, const otter_http_request *req)
{
    (void)ctx;
    return !otter_ddi_match(req->path) && otter_api_slow(req);
}

static const otter_http_upload upload_hooks = {
    .open = dispatch_upload_open,
    .write = otter_api_upload_write,
    .close = otter_api_upload_close,
};

/* The HTTP layer's accounting hooks, forwarded to the metrics (ctx). */
static int observe_classify(void *ctx, const char *path)
{
    (void)ctx;
    return (int)otter_metrics_route_of(path, otter_ddi_match(path));
}

static void observe_done(void *ctx, int route, int status, int completed, int head,
                         uint64_t body_bytes, uint64_t nanos)
{
    otter_metrics_request(ctx, route, status, completed, head, body_bytes, nanos);
}

static void observe_connection(void *ctx, int delta)
{
    otter_metrics_connection(ctx, delta);
}

/* Uploads interrupted by a crash left temporary files; a day old is surely abandoned. */
static void sweep_uploads(const otter_server_config *cfg)
{
    otter_err err;
    unsigned swept = 0;
    if (otter_artifact_sweep(cfg->artifacts_dir, (int64_t)time(NULL), 24 * 3600, &swept, &err) < 0)
        fprintf(stderr, "otter-server: warning: %s\n", err.msg);
    else if (swept)
        fprintf(stderr, "otter-server: removed %u abandoned upload(s)\n", swept);
}

/*
 * One listener per configured address, plain then TLS; each one's base URL
 * (at most 127 bytes) is appended to urls as a line. listeners[0..*n) are
 * the caller's to stop, also on failure.
 */
static int start_listeners(const otter_server_config *cfg, struct dispatch *d, const char *cert,
                           const char *key, const otter_http_observer *observer,
                           otter_http **listeners, size_t *n, char *urls, size_t *urls_len,
                           otter_err *err)
{
    int ret;
    for (int tls = 0; tls < 2; tls++) {
        size_t count = tls ? cfg->n_listen_tls : cfg->n_listen;
        for (size_t i = 0; i < count; i++) {
            const char *addr = tls ? cfg->listen_tls[i] : cfg->listen[i];
            otter_http_opts o = {.threads = (unsigned)cfg->threads,
                                 .connection_timeout = (unsigned)cfg->connection_timeout,
                                 .head_timeout = (unsigned)cfg->head_timeout,
                                 .max_connections = (unsigned)cfg->max_connections,
                                 .max_connections_per_ip = (unsigned)cfg->max_connections_per_ip,
                                 .max_body = cfg->max_body,
                                 .cert_pem = tls ? cert : NULL,
                                 .key_pem = tls ? key : NULL,
                                 .request_client_cert = tls && cfg->tls_client_cert,
                                 .upload = &upload_hooks,
                                 .slow = dispatch_slow,
                                 .slow_threads = (unsigned)cfg->login_concurrency,
                                 .observer = observer};
            if ((ret = otter_http_start(addr, &o, dispatch, d, &listeners[*n], err)) < 0)
                return ret;
            char url[128];
            base_url(addr, tls, otter_http_port(listeners[*n]), url, sizeof url);
            (*n)++;
            fprintf(stderr, "otter-server: listening on %s\n", url);
            *urls_len += (size_t)snprintf(urls + *urls_len, 128, "%s\n", url);
        }
    }
    return 0;
}

/* The server's parts behind its listeners; each NULL until made. */
struct parts {
    otter_store *s;
    otter_api *api;
    otter_ddi *ddi;
    otter_metrics *metrics;
    otter_publish *publish; /* NULL: push off */
    otter_bwcap *bwcap;
    /* The caps shared by the servers on one database (issue #15). */
    otter_bwcap_sync *bwcap_sync;
    otter_cdn *cdn; /* NULL: no [cdn] */
};

/* Opens the store and makes the parts, each wired to the ones it serves with. */
static int parts_open(const otter_server_config *cfg, struct parts *p, otter_err *err)
{
    int ret;
    if ((ret = open_store(cfg, 0, &p->s, err)) < 0 ||
        (ret = otter_api_new(p->s, cfg, &p->api, err)) < 0 ||
        (ret = otter_ddi_new(p->s, cfg, &p->ddi, err)) < 0 ||
        (ret = otter_cdn_new(cfg, p->s, &p->cdn, err)) < 0 ||
        (ret = otter_publish_new(cfg, &p->publish, err)) < 0 ||
        (ret = otter_bwcap_new(&p->bwcap, err)) < 0 ||
        (ret = otter_bwcap_sync_start(p->bwcap, p->s, &p->bwcap_sync, err)) < 0)
        return ret;
    otter_ddi_set_bwcap(p->ddi, p->bwcap); /* issue #15: bandwidth caps */
    otter_api_set_bwcap(p->api, p->bwcap);
    if ((ret = otter_api_history_start(p->api, err)) < 0) /* issue #15: the rollout chart's past */
        return ret;
    otter_ddi_set_cdn(p->ddi, p->cdn);
    otter_api_set_publish(p->api, p->publish);
    otter_ddi_set_publish(p->ddi, p->publish);
    if (!cfg->metrics_enabled)
        return 0;
    if ((ret = otter_metrics_new((int64_t)time(NULL), cfg->metrics_token, &p->metrics, err)) < 0)
        return ret;
    otter_ddi_set_metrics(p->ddi, p->metrics);
    if (p->publish)
        (void)otter_metrics_set_extra(p->metrics, otter_publish_render, p->publish);
    (void)otter_metrics_set_extra(p->metrics, otter_bwcap_render, p->bwcap);
    return 0;
}

/* After the listeners stopped: the history thread first, then the parts it reads. */
static void parts_close(struct parts *p)
{
    otter_api_history_stop(p->api);
    otter_bwcap_sync_stop(p->bwcap_sync);
    otter_ddi_free(p->ddi);
    otter_cdn_free(p->cdn);
    otter_publish_free(p->publish);
    otter_metrics_free(p->metrics);
    otter_api_free(p->api);
    otter_bwcap_free(p->bwcap);
    otter_store_free(p->s);
}

int otter_server_serve(const otter_server_config *cfg, const char *ready_file, otter_err *err)
{
    struct parts p = {0};
    otter_http_observer observer = {
        .classify = observe_classify, .done = observe_done, .connection = observe_connection};
    struct dispatch d = {.cfg = cfg};
    otter_http *listeners[2 * OTTER_SERVER_LISTEN_MAX] = {0};
    size_t n = 0;
    char *cert = NULL, *key = NULL, *urls = NULL;
    size_t urls_len = 0, len;
    int ret;
    sigset_t stop;

    /* Block the stop signals before any thread exists, so only sigwait() sees them. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (cfg->n_listen_tls &&
        ((ret = otter_file_read_all(cfg->tls_cert, PEM_MAX_BYTES, &cert, &len, err)) < 0 ||
         (ret = otter_file_read_all(cfg->tls_key, PEM_MAX_BYTES, &key, &len, err)) < 0))
        goto out;
    sweep_uploads(cfg);
    if ((ret = parts_open(cfg, &p, err)) < 0)
        goto out;
    observer.ctx = p.metrics;
    d.api = p.api;
    d.ddi = p.ddi;
    d.metrics = p.metrics;
    d.cdn = p.cdn;
    urls = calloc(2 * OTTER_SERVER_LISTEN_MAX, 128);
    if (!urls) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    if ((ret = start_listeners(cfg, &d, cert, key, p.metrics ? &observer : NULL, listeners, &n,
                               urls, &urls_len, err)) < 0)
        goto out;
    if (ready_file && (ret = otter_file_write_atomic(ready_file, urls, urls_len, 0644, err)) < 0)
        goto out;
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "otter-server: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    ret = 0;
out:
    for (size_t i = 0; i < n; i++)
        otter_http_stop(listeners[i]);
    parts_close(&p);
    if (key)
        memset(key, 0, strlen(key));
    free(cert);
    free(key);
    free(urls);
    return ret;
}
