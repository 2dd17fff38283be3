/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.conf: the INI file otter-server reads. Strict on purpose: an
 * unknown section or key, a value out of bounds, a key set twice (except the
 * multi-valued listen keys) or an over-long line is an error that names the
 * line, so a typo never silently falls back to a default.
 *
 * Every key lives in one table in otter_server_config.c (section, key, type,
 * default, bounds); docs/server.md is the reference for users.
 */
#ifndef OTTER_SERVER_CONFIG_H
#define OTTER_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

/* A server listens on at most this many addresses per scheme. */
#define OTTER_SERVER_LISTEN_MAX 8
/* [server] public_url length and trusted_proxies entries. */
#define OTTER_SERVER_PUBLIC_URL_MAX 255
#define OTTER_SERVER_PROXIES_MAX 16
/* Config files are small; anything bigger is a mistake or an attack. */
#define OTTER_SERVER_CONFIG_MAX_BYTES (256 * 1024)

typedef struct otter_server_config {
    /* [http] */
    char *listen[OTTER_SERVER_LISTEN_MAX]; /* "host:port" or "[v6]:port", plain HTTP */
    size_t n_listen;
    char *listen_tls[OTTER_SERVER_LISTEN_MAX]; /* same, HTTPS with tls_cert/tls_key */
    size_t n_listen_tls;
    char *tls_cert; /* PEM certificate chain path, or NULL */
    char *tls_key;  /* PEM private key path, or NULL */
    /* [database] */
    char *db_url; /* "sqlite:PATH" (postgres:// is reserved for the libpq back-end) */
    uint64_t busy_timeout_ms;
    /* [storage] */
    char *artifacts_dir;
    /* [trust] */
    char *trust_root; /* path to the trust root used to verify uploads, or NULL */
    /* [limits] */
    uint64_t max_body;               /* bytes of a management API request body */
    uint64_t max_upload;             /* bytes of a release upload */
    uint64_t threads;                /* thread pool size per listener */
    uint64_t json_depth;             /* nesting depth allowed in request JSON */
    uint64_t connection_timeout;     /* seconds of inactivity before a connection is closed */
    uint64_t max_connections;        /* concurrent connections per listener */
    uint64_t max_connections_per_ip; /* concurrent connections per client address, 0 = no limit */
    uint64_t head_timeout;           /* seconds for a whole request head (slow clients) */
    uint64_t max_streams_per_user;   /* open event streams per user (per server instance) */
    /* [auth] */
    uint64_t session_ttl;             /* seconds a login token lives */
    uint64_t token_max_ttl;           /* upper bound for API token lifetime, seconds */
    uint64_t login_max_failures;      /* failures per (user name, address) before slowing down */
    uint64_t login_max_failures_addr; /* failures per client address before slowing down */
    uint64_t login_delay;             /* seconds of the first delay; it doubles per failure */
    uint64_t login_window;            /* seconds: longest delay; idle time before forgetting */
    uint64_t login_throttle_entries;  /* keys each throttle table holds (memory bound) */
    uint64_t login_concurrency;       /* password checks running at once; more get 503 */
    /* [ddi] */
    uint64_t ddi_polling;      /* seconds a device waits between polls (config.polling.sleep) */
    uint64_t ddi_poll_cache;   /* entries of the base poll cache (otter_pollcache.h), 0 = off */
    uint64_t ddi_max_feedback; /* feedback rows kept per action; more get 403 (closing ones pass) */
    /* [metrics] */
    uint64_t metrics_enabled; /* 1: GET /metrics answers (Prometheus text) */
    char *metrics_token;      /* a scrape must send "Authorization: Bearer <it>", or NULL */
    /* [server] */
    char *public_url;      /* base of every link the device API writes, or NULL: from Host */
    char *trusted_proxies; /* addresses whose X-Forwarded-Proto/-Host count, or NULL: none */
    /* Device certificates (issue #13) */
    uint64_t tls_client_cert; /* [http] 1: listen_tls asks clients for a certificate */
    char *client_cert_header; /* [ddi] header a trusted proxy passes the client cert in, or NULL */
    /* s10-cdn: artifacts through an nginx/CDN origin (otter_cdn.h) and in the database. */
    char *cdn_base_url;        /* [cdn] base of signed artifact links, or NULL: the server's own */
    char *cdn_secret_file;     /* [cdn] file holding the secret nginx's secure_link shares */
    uint64_t cdn_link_ttl;     /* [cdn] seconds a signed link lives */
    uint64_t storage_database; /* [storage] 1: artifact bytes also in the database (otter_blob.h) */
    /* [push]: MQTT wake-up (issue #15, docs/operations.md "Push wake-up"); off without broker */
    char *push_broker;          /* "host:port" of the MQTT broker, or NULL: no push */
    char *push_tls_ca;          /* CA file: the broker is reached over TLS when set */
    char *push_tls_cert;        /* the server's client certificate (PEM), or NULL */
    char *push_tls_key;         /* its key */
    char *push_username;        /* the server's broker account, or NULL */
    char *push_password;        /* its password */
    char *push_prefix;          /* topic prefix ("otter") */
    uint64_t push_qos;          /* 0 or 1 */
    uint64_t push_queue;        /* wake-ups waiting for the publisher at most; more are dropped */
    uint64_t push_group_topics; /* 1: a group deployment wakes the group's topic, not each device */
} otter_server_config;

/*
 * Parses server.conf text from memory (buf need not be NUL-terminated;
 * an embedded NUL is an error). On success *out is a new config with every
 * key not in the text at its default; caller frees it with
 * otter_server_config_free(). Errors: OTTER_EFORMAT ("line N: ..."),
 * OTTER_ENOMEM.
 */
int otter_server_config_parse_mem(const char *buf, size_t len, otter_server_config **out,
                                  otter_err *err);

/* Reads path (at most OTTER_SERVER_CONFIG_MAX_BYTES) and parses it; errors name the file. */
int otter_server_config_parse_file(const char *path, otter_server_config **out, otter_err *err);

/* Frees cfg and everything it owns. NULL is allowed. */
void otter_server_config_free(otter_server_config *cfg);

/*
 * Splits "host:port", "[v6addr]:port" or ":port" into host (caller frees;
 * NULL for ":port", meaning every address) and port 0..65535 (0 = pick a
 * free one, used by tests). OTTER_EFORMAT when malformed.
 */
int otter_server_config_split_hostport(const char *s, char **host, unsigned *port, otter_err *err);

/*
 * 1 when client (a numeric address, as otter_http_request.client) is one
 * of [server] trusted_proxies (IPv4 also in its ::ffff: mapped form), else 0.
 */
int otter_server_config_trusted_proxy(const otter_server_config *cfg, const char *client);

/*
 * The [push] rules across keys, run by the
 * parser: broker is host:port, the prefix a topic prefix, cert with key
 * and a CA, username with password, and no [push] key without broker.
 * OTTER_EFORMAT naming the key.
 */
int otter_server_config_check_push(const otter_server_config *cfg, otter_err *err);

/*
 * Returns the SQLite file path of a "sqlite:PATH" url (borrowed, points
 * into url) or NULL for another scheme.
 */
const char *otter_server_config_sqlite_path(const char *url);

#endif
