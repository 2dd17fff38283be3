/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_server_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "otter_file.h"
#include "otter_push_msg.h"

/* inih cuts lines at INI_MAX_LINE and parses the rest as a new line; we refuse instead. */
#define LINE_MAX_BYTES (INI_MAX_LINE - 1)

enum kind {
    K_STR,   /* one string */
    K_MULTI, /* string that may repeat (listen addresses) */
    K_SIZE,  /* byte count, optional K/M/G suffix (powers of 1024) */
    K_SECS,  /* duration, optional s/m/h/d suffix */
    K_UINT,  /* plain unsigned integer */
    K_BOOL,  /* "true" or "false" (nothing else: a typo must not read as false) */
};

struct entry {
    const char *section;
    const char *key;
    enum kind kind;
    size_t offset;    /* of the field (char *, char *[] or uint64_t) */
    size_t count_off; /* K_MULTI: offset of the size_t count */
    const char *def;  /* default as config text; NULL = unset */
    uint64_t min, max;
};

#define F(field) offsetof(otter_server_config, field)
#define KIB 1024ull
#define MIB (1024ull * 1024)
#define GIB (1024ull * 1024 * 1024)
#define DAY (24ull * 3600)

/* The whole configuration surface. docs/server.md mirrors this table. */
static const struct entry table[] = {
    {"http", "listen", K_MULTI, F(listen), F(n_listen), NULL, 0, 0},
    {"http", "listen_tls", K_MULTI, F(listen_tls), F(n_listen_tls), NULL, 0, 0},
    {"http", "tls_cert", K_STR, F(tls_cert), 0, NULL, 0, 0},
    {"http", "tls_key", K_STR, F(tls_key), 0, NULL, 0, 0},
    {"database", "url", K_STR, F(db_url), 0, "sqlite:/var/lib/otter/otter.db", 0, 0},
    {"database", "busy_timeout", K_UINT, F(busy_timeout_ms), 0, "5000", 0, 600000},
    {"storage", "artifacts", K_STR, F(artifacts_dir), 0, "/var/lib/otter/artifacts", 0, 0},
    {"trust", "root", K_STR, F(trust_root), 0, NULL, 0, 0},
    {"limits", "max_body", K_SIZE, F(max_body), 0, "64K", 1 * KIB, 16 * MIB},
    {"limits", "max_upload", K_SIZE, F(max_upload), 0, "2G", 1 * KIB, 64 * GIB},
    {"limits", "threads", K_UINT, F(threads), 0, "4", 1, 256},
    {"limits", "json_depth", K_UINT, F(json_depth), 0, "16", 2, 64},
    {"limits", "connection_timeout", K_SECS, F(connection_timeout), 0, "30", 1, 3600},
    {"limits", "max_connections", K_UINT, F(max_connections), 0, "1024", 1, 65536},
    {"limits", "max_connections_per_ip", K_UINT, F(max_connections_per_ip), 0, "64", 0, 65536},
    {"limits", "head_timeout", K_SECS, F(head_timeout), 0, "10", 1, 3600},
    {"limits", "max_streams_per_user", K_UINT, F(max_streams_per_user), 0, "8", 1, 256},
    {"auth", "session_ttl", K_SECS, F(session_ttl), 0, "8h", 60, 30 * DAY},
    {"auth", "token_max_ttl", K_SECS, F(token_max_ttl), 0, "365d", 60, 3650 * DAY},
    {"auth", "login_max_failures", K_UINT, F(login_max_failures), 0, "5", 1, 1000},
    {"auth", "login_max_failures_addr", K_UINT, F(login_max_failures_addr), 0, "20", 1, 100000},
    {"auth", "login_delay", K_SECS, F(login_delay), 0, "1", 1, DAY},
    {"auth", "login_window", K_SECS, F(login_window), 0, "5m", 1, DAY},
    {"auth", "login_throttle_entries", K_UINT, F(login_throttle_entries), 0, "4096", 16, 1000000},
    {"auth", "login_concurrency", K_UINT, F(login_concurrency), 0, "2", 1, 256},
    {"ddi", "polling", K_SECS, F(ddi_polling), 0, "5m", 1, DAY},
    {"ddi", "poll_cache", K_UINT, F(ddi_poll_cache), 0, "262144", 0, 16777216},
    {"ddi", "max_feedback", K_UINT, F(ddi_max_feedback), 0, "1000", 10, 1000000},
    {"metrics", "enabled", K_BOOL, F(metrics_enabled), 0, "false", 0, 1},
    {"metrics", "token", K_STR, F(metrics_token), 0, NULL, 0, 0},
    {"server", "public_url", K_STR, F(public_url), 0, NULL, 0, 0},
    {"server", "trusted_proxies", K_STR, F(trusted_proxies), 0, NULL, 0, 0},
    /* Device certificates (issue #13, docs/ddi.md "Authentication"). */
    {"http", "tls_client_cert", K_BOOL, F(tls_client_cert), 0, "false", 0, 1},
    {"ddi", "client_cert_header", K_STR, F(client_cert_header), 0, NULL, 0, 0},
    /* s10-cdn: artifacts through a CDN origin, bytes in the database (docs/operations.md). */
    {"cdn", "base_url", K_STR, F(cdn_base_url), 0, NULL, 0, 0},
    {"cdn", "secret_file", K_STR, F(cdn_secret_file), 0, NULL, 0, 0},
    {"cdn", "link_ttl", K_SECS, F(cdn_link_ttl), 0, "1h", 10, 7 * DAY},
    {"storage", "database", K_BOOL, F(storage_database), 0, "false", 0, 1},
    /* MQTT push wake-up (issue #15, docs/operations.md "Push wake-up"). */
    {"push", "broker", K_STR, F(push_broker), 0, NULL, 0, 0},
    {"push", "tls_ca", K_STR, F(push_tls_ca), 0, NULL, 0, 0},
    {"push", "tls_cert", K_STR, F(push_tls_cert), 0, NULL, 0, 0},
    {"push", "tls_key", K_STR, F(push_tls_key), 0, NULL, 0, 0},
    {"push", "username", K_STR, F(push_username), 0, NULL, 0, 0},
    {"push", "password", K_STR, F(push_password), 0, NULL, 0, 0},
    {"push", "prefix", K_STR, F(push_prefix), 0, "otter", 0, 0},
    {"push", "qos", K_UINT, F(push_qos), 0, "1", 0, 1},
    {"push", "queue", K_UINT, F(push_queue), 0, "65536", 16, 16777216},
    {"push", "group_topics", K_BOOL, F(push_group_topics), 0, "false", 0, 1},
};

struct parse {
    otter_server_config *cfg;
    unsigned char seen[sizeof table / sizeof table[0]];
    int failed;
    otter_err *err;
};

/* Suffixes of sizes (powers of 1024) and durations (seconds). */
static const struct {
    enum kind kind;
    char suffix;
    uint64_t mul;
} units[] = {
    {K_SIZE, 'k', KIB},  {K_SIZE, 'K', KIB}, {K_SIZE, 'm', MIB}, {K_SIZE, 'M', MIB},
    {K_SIZE, 'g', GIB},  {K_SIZE, 'G', GIB}, {K_SECS, 's', 1},   {K_SECS, 'm', 60},
    {K_SECS, 'h', 3600}, {K_SECS, 'd', DAY},
};

static int parse_uint(const char *v, enum kind kind, uint64_t *out)
{
    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno)
        return -1;
    uint64_t mul = 1;
    if (*end) {
        mul = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (units[i].kind == kind && units[i].suffix == *end)
                mul = units[i].mul;
        if (!mul)
            return -1;
        end++;
    }
    if (*end)
        return -1;
    if (n > UINT64_MAX / mul)
        return -1;
    *out = n * mul;
    return 0;
}

static int check_hostport(const char *v, otter_err *err)
{
    char *host = NULL;
    unsigned port;
    int ret = otter_server_config_split_hostport(v, &host, &port, err);
    free(host);
    return ret;
}

/* Sets one entry from text; error messages do not name the line (the caller adds it). */
static int set_entry(otter_server_config *cfg, const struct entry *e, const char *v, otter_err *err)
{
    char *base = (char *)cfg;
    if (e->kind == K_STR || e->kind == K_MULTI) {
        if (!*v)
            return otter_err_set(err, OTTER_EFORMAT, "[%s] %s: empty value", e->section, e->key);
        char *copy = strdup(v);
        if (!copy)
            return otter_err_set(err, OTTER_ENOMEM, "out of memory");
        if (e->kind == K_STR) {
            char **field = (char **)(base + e->offset);
            free(*field);
            *field = copy;
            return 0;
        }
        char **arr = (char **)(base + e->offset);
        size_t *n = (size_t *)(base + e->count_off);
        int ret = 0;
        if (*n >= OTTER_SERVER_LISTEN_MAX)
            ret = otter_err_set(err, OTTER_EFORMAT, "[%s] %s: more than %d addresses", e->section,
                                e->key, OTTER_SERVER_LISTEN_MAX);
        else if ((ret = check_hostport(v, err)) < 0)
            otter_err_prefix(err, "[%s] %s", e->section, e->key);
        if (ret < 0) {
            free(copy);
            return ret;
        }
        arr[(*n)++] = copy;
        return 0;
    }
    uint64_t n;
    if (e->kind == K_BOOL) {
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            return otter_err_set(err, OTTER_EFORMAT, "[%s] %s: '%s' is not true or false",
                                 e->section, e->key, v);
        *(uint64_t *)(base + e->offset) = v[0] == 't';
        return 0;
    }
    if (parse_uint(v, e->kind, &n) < 0)
        return otter_err_set(err, OTTER_EFORMAT, "[%s] %s: '%s' is not a%s", e->section, e->key, v,
                             e->kind == K_SIZE   ? " size (digits, optional K/M/G)"
                             : e->kind == K_SECS ? " duration (digits, optional s/m/h/d)"
                                                 : "n unsigned integer");
    if (n < e->min || n > e->max)
        return otter_err_set(err, OTTER_EFORMAT, "[%s] %s: %llu is outside %llu..%llu", e->section,
                             e->key, (unsigned long long)n, (unsigned long long)e->min,
                             (unsigned long long)e->max);
    *(uint64_t *)(base + e->offset) = n;
    return 0;
}

/* inih callback: returns 0 to make ini_parse_string report this line. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
    struct parse *p = user;
    if (p->failed)
        return 0; /* keep the first error; inih goes on to the end */
    int known_section = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct entry *e = &table[i];
        if (strcmp(e->section, section) != 0)
            continue;
        known_section = 1;
        if (strcmp(e->key, key) != 0)
            continue;
        if (p->seen[i] && e->kind != K_MULTI) {
            otter_err_set(p->err, OTTER_EFORMAT, "[%s] %s is set twice", section, key);
            goto fail;
        }
        p->seen[i] = 1;
        if (set_entry(p->cfg, e, value, p->err) < 0)
            goto fail;
        return 1;
    }
    if (!*section)
        otter_err_set(p->err, OTTER_EFORMAT, "key '%s' outside any [section]", key);
    else if (!known_section)
        otter_err_set(p->err, OTTER_EFORMAT, "unknown section [%s]", section);
    else
        otter_err_set(p->err, OTTER_EFORMAT, "unknown key '%s' in [%s]", key, section);
fail:
    p->failed = 1;
    return 0;
}

static int apply_defaults(otter_server_config *cfg, otter_err *err)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct entry *e = &table[i];
        if (e->def && set_entry(cfg, e, e->def, err) < 0)
            return otter_err_prefix(err, "built-in default");
    }
    return 0;
}

/*
 * [server] public_url: http(s)://host[:port][/prefix], no trailing slash, no
 * query, and only characters a link can carry unescaped in JSON (the base
 * poll writes links without an encoder, otter_ddi_poll.c).
 */
static int check_url(const char *name, const char *u, otter_err *err)
{
    size_t n = strlen(u);
    size_t skip = strncmp(u, "https://", 8) == 0 ? 8 : strncmp(u, "http://", 7) == 0 ? 7 : 0;
    if (!skip || n == skip || u[skip] == '/' || n > OTTER_SERVER_PUBLIC_URL_MAX)
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s: use http(s)://host[:port][/path], at most %d bytes", name,
                             OTTER_SERVER_PUBLIC_URL_MAX);
    if (u[n - 1] == '/')
        return otter_err_set(err, OTTER_EFORMAT, "%s: no trailing '/'", name);
    for (size_t i = skip; i < n; i++)
        if (!isalnum((unsigned char)u[i]) && !strchr("-._~:/[]@!$&'()*+,;=%", u[i]))
            return otter_err_set(err, OTTER_EFORMAT, "%s: character '%c' is not allowed", name,
                                 u[i]);
    return 0;
}

static int check_public_url(const char *u, otter_err *err)
{
    return check_url("[server] public_url", u, err);
}

#define PROXY_SEP ", \t"

/* One entry of [server] trusted_proxies as 16 bytes (IPv4 as ::ffff:a.b.c.d); 0 or -1. */
static int parse_addr(const char *s, size_t n, unsigned char out[16])
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET6, buf, out) == 1)
        return 0;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memcpy(out, mapped, 12);
    return inet_pton(AF_INET, buf, out + 12) == 1 ? 0 : -1;
}

static int check_proxies(const char *list, otter_err *err)
{
    size_t count = 0;
    for (const char *p = list; *p;) {
        p += strspn(p, PROXY_SEP);
        size_t n = strcspn(p, PROXY_SEP);
        unsigned char a[16];
        if (!n)
            break;
        if (parse_addr(p, n, a) < 0)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "[server] trusted_proxies: '%.*s' is not a numeric IPv4 or IPv6 "
                                 "address",
                                 (int)(n > 64 ? 64 : n), p);
        if (++count > OTTER_SERVER_PROXIES_MAX)
            return otter_err_set(err, OTTER_EFORMAT, "[server] trusted_proxies: at most %d",
                                 OTTER_SERVER_PROXIES_MAX);
        p += n;
    }
    return 0;
}

int otter_server_config_trusted_proxy(const otter_server_config *cfg, const char *client)
{
    unsigned char want[16], a[16];
    if (!cfg->trusted_proxies || !client || parse_addr(client, strlen(client), want) < 0)
        return 0;
    for (const char *p = cfg->trusted_proxies; *p;) {
        p += strspn(p, PROXY_SEP);
        size_t n = strcspn(p, PROXY_SEP);
        if (!n)
            break;
        if (parse_addr(p, n, a) == 0 && memcmp(a, want, 16) == 0)
            return 1;
        p += n;
    }
    return 0;
}

/* A header name: 1..64 of letters, digits and '-'. */
static int header_name_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return n > 0 && n <= 64;
}

/* Rules that span keys, checked once the whole file is read. */
static int validate(otter_server_config *cfg, otter_err *err)
{
    if (cfg->n_listen == 0 && cfg->n_listen_tls == 0) {
        cfg->listen[0] = strdup("127.0.0.1:8080");
        if (!cfg->listen[0])
            return otter_err_set(err, OTTER_ENOMEM, "out of memory");
        cfg->n_listen = 1;
    }
    if (cfg->n_listen_tls && (!cfg->tls_cert || !cfg->tls_key))
        return otter_err_set(err, OTTER_EFORMAT,
                             "[http] listen_tls needs both tls_cert and tls_key");
    if (!cfg->n_listen_tls && (cfg->tls_cert || cfg->tls_key))
        return otter_err_set(err, OTTER_EFORMAT,
                             "[http] tls_cert/tls_key are set but no listen_tls address uses them");
    const char *url = cfg->db_url;
    if (otter_server_config_sqlite_path(url)) {
        if (!otter_server_config_sqlite_path(url)[0])
            return otter_err_set(err, OTTER_EFORMAT, "[database] url: 'sqlite:' needs a path");
    } else if (strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0) {
        return otter_err_set(err, OTTER_EFORMAT,
                             "[database] url: '%s' is neither sqlite:PATH nor postgres://...", url);
    }
    if (cfg->tls_client_cert && !cfg->n_listen_tls)
        return otter_err_set(err, OTTER_EFORMAT,
                             "[http] tls_client_cert is set but no listen_tls address uses it");
    if (cfg->client_cert_header && !cfg->trusted_proxies)
        return otter_err_set(err, OTTER_EFORMAT,
                             "[ddi] client_cert_header needs [server] trusted_proxies (only they "
                             "may send it)");
    if (cfg->client_cert_header && !header_name_ok(cfg->client_cert_header))
        return otter_err_set(err, OTTER_EFORMAT,
                             "[ddi] client_cert_header: '%s' is not an HTTP header name",
                             cfg->client_cert_header);
    int ret = cfg->public_url ? check_public_url(cfg->public_url, err) : 0;
    if (!ret)
        ret = otter_server_config_check_push(cfg, err);
    if (!ret && cfg->trusted_proxies)
        ret = check_proxies(cfg->trusted_proxies, err);
    if (!ret && cfg->cdn_base_url)
        ret = check_url("[cdn] base_url", cfg->cdn_base_url, err);
    if (!ret && !cfg->cdn_base_url != !cfg->cdn_secret_file)
        ret = otter_err_set(err, OTTER_EFORMAT, "[cdn] base_url and secret_file go together");
    if (ret < 0)
        return ret;
    if (cfg->max_body > cfg->max_upload)
        return otter_err_set(err, OTTER_EFORMAT, "[limits] max_body is larger than max_upload");
    if (cfg->metrics_token) {
        size_t n = strlen(cfg->metrics_token);
        if (!cfg->metrics_enabled)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "[metrics] token is set but metrics are not enabled");
        /* A bearer token in a header: visible ASCII, and long enough not to be guessed. */
        if (n < 16 || n > 256)
            return otter_err_set(err, OTTER_EFORMAT, "[metrics] token: use 16..256 characters");
        for (size_t i = 0; i < n; i++)
            if (cfg->metrics_token[i] <= ' ' || cfg->metrics_token[i] > '~')
                return otter_err_set(err, OTTER_EFORMAT,
                                     "[metrics] token: only visible ASCII, no spaces");
    }
    return 0;
}

/* Refuses what inih would silently mangle: NUL bytes and lines it would cut. */
static int precheck(const char *buf, size_t len, otter_err *err)
{
    size_t line = 1, col = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\0')
            return otter_err_set(err, OTTER_EFORMAT, "line %zu: NUL byte", line);
        if (buf[i] == '\n') {
            line++;
            col = 0;
        } else if (++col > LINE_MAX_BYTES) {
            return otter_err_set(err, OTTER_EFORMAT, "line %zu: longer than %d bytes", line,
                                 LINE_MAX_BYTES);
        }
    }
    return 0;
}

int otter_server_config_parse_mem(const char *buf, size_t len, otter_server_config **out,
                                  otter_err *err)
{
    int ret = OTTER_EFORMAT;
    char *text = NULL;
    otter_server_config *cfg = NULL;
    struct parse p = {0};

    *out = NULL;
    if (len > OTTER_SERVER_CONFIG_MAX_BYTES) {
        ret = otter_err_set(err, OTTER_EFORMAT, "config larger than %d bytes",
                            OTTER_SERVER_CONFIG_MAX_BYTES);
        goto out;
    }
    if ((ret = precheck(buf, len, err)) < 0)
        goto out;
    cfg = calloc(1, sizeof *cfg);
    text = malloc(len + 1);
    if (!cfg || !text) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(text, buf, len);
    text[len] = '\0';
    if ((ret = apply_defaults(cfg, err)) < 0)
        goto out;
    p.cfg = cfg;
    p.err = err;
    int line = ini_parse_string(text, on_key, &p);
    if (line != 0) {
        if (!p.failed)
            otter_err_set(err, OTTER_EFORMAT, "syntax error (expected [section] or key = value)");
        ret = otter_err_prefix(err, "line %d", line);
        goto out;
    }
    if ((ret = validate(cfg, err)) < 0)
        goto out;
    *out = cfg;
    cfg = NULL;
    ret = 0;
out:
    free(text);
    otter_server_config_free(cfg);
    return ret;
}

int otter_server_config_parse_file(const char *path, otter_server_config **out, otter_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    int ret = otter_file_read_all(path, OTTER_SERVER_CONFIG_MAX_BYTES, &buf, &len, err);
    if (ret == 0)
        ret = otter_server_config_parse_mem(buf, len, out, err);
    free(buf);
    if (ret < 0)
        otter_err_prefix(err, "%s", path);
    return ret;
}

void otter_server_config_free(otter_server_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_listen; i++)
        free(cfg->listen[i]);
    for (size_t i = 0; i < cfg->n_listen_tls; i++)
        free(cfg->listen_tls[i]);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->db_url);
    free(cfg->artifacts_dir);
    free(cfg->public_url);
    free(cfg->trusted_proxies);
    free(cfg->client_cert_header);
    free(cfg->trust_root);
    free(cfg->metrics_token);
    free(cfg->cdn_base_url);
    free(cfg->cdn_secret_file);
    char **push[] = {&cfg->push_broker,  &cfg->push_tls_ca,   &cfg->push_tls_cert,
                     &cfg->push_tls_key, &cfg->push_username, &cfg->push_password,
                     &cfg->push_prefix};
    for (size_t i = 0; i < sizeof push / sizeof push[0]; i++)
        free(*push[i]);
    free(cfg);
}

int otter_server_config_split_hostport(const char *s, char **host, unsigned *port, otter_err *err)
{
    const char *colon;
    const char *h = s;
    size_t hlen;
    *host = NULL;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return otter_err_set(err, OTTER_EFORMAT, "'%s': expected [v6address]:port", s);
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon)
            return otter_err_set(err, OTTER_EFORMAT, "'%s': expected host:port", s);
        hlen = (size_t)(colon - s);
    }
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p))
        return otter_err_set(err, OTTER_EFORMAT, "'%s': port is not a number", s);
    unsigned long n = strtoul(p, NULL, 10);
    if (n > 65535)
        return otter_err_set(err, OTTER_EFORMAT, "'%s': port above 65535", s);
    for (size_t i = 0; i < hlen; i++)
        if (!isalnum((unsigned char)h[i]) && !strchr(".-:%_", h[i]))
            return otter_err_set(err, OTTER_EFORMAT, "'%s': bad character in host", s);
    if (hlen) {
        *host = strndup(h, hlen);
        if (!*host)
            return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    *port = (unsigned)n;
    return 0;
}

/* [push]: the rules across its keys (otter_server_config.h). */
int otter_server_config_check_push(const otter_server_config *cfg, otter_err *err)
{
    if (!cfg->push_broker) {
        if (cfg->push_tls_ca || cfg->push_tls_cert || cfg->push_tls_key || cfg->push_username ||
            cfg->push_password)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "[push]: keys are set but broker is not (push is off)");
        return 0;
    }
    char *host = NULL;
    unsigned port = 0;
    int ret = otter_server_config_split_hostport(cfg->push_broker, &host, &port, err);
    int no_host = ret == 0 && (!host || port == 0);
    free(host);
    if (ret < 0)
        return otter_err_prefix(err, "[push] broker");
    if (no_host)
        return otter_err_set(err, OTTER_EFORMAT, "[push] broker: use host:port (port 1..65535)");
    if ((cfg->push_tls_cert != NULL) != (cfg->push_tls_key != NULL))
        return otter_err_set(err, OTTER_EFORMAT, "[push] tls_cert and tls_key go together");
    if (cfg->push_tls_cert && !cfg->push_tls_ca)
        return otter_err_set(err, OTTER_EFORMAT,
                             "[push] tls_cert needs tls_ca (a client certificate is for TLS)");
    if ((cfg->push_username != NULL) != (cfg->push_password != NULL))
        return otter_err_set(err, OTTER_EFORMAT, "[push] username and password go together");
    if (otter_push_prefix_check(cfg->push_prefix, err) < 0)
        return otter_err_prefix(err, "[push] prefix");
    return 0;
}

const char *otter_server_config_sqlite_path(const char *url)
{
    if (url && strncmp(url, "sqlite:", 7) == 0)
        return url + 7;
    return NULL;
}
