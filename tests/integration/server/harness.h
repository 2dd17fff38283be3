/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the server integration tests (see harness.c). */
#ifndef OTTER_TEST_SERVER_HARNESS_H
#define OTTER_TEST_SERVER_HARNESS_H

#include "otter_test.h"

#include <jansson.h>
#include <sys/types.h>

#define ADMIN_PW "admin-pass-1"
#define PW "user-pass-12"

struct server {
    char dir[PATH_MAX];
    char db[PATH_MAX];          /* the SQLite file ("" on PostgreSQL) */
    char db_url[PATH_MAX + 64]; /* [database] url: sqlite:FILE or postgresql://.../otter_it_... */
    char pg_name[64];           /* the run's PostgreSQL database, or "" */
    char url[256];              /* http://127.0.0.1:PORT */
    char url6[256];    /* http://[::1]:PORT when the test's config listens there too, else "" */
    char tls_url[256]; /* https://... or "" when TLS is not available */
    char cert[PATH_MAX];
    pid_t pid;
};

extern struct server srv;
extern char *admin_tok;                    /* session of the first global admin */
extern _Thread_local char retry_after[32]; /* Retry-After of the last response, or "" */

/* Starts a server in a fresh test dir with the given [auth] lines; logs in the admin. */
int setup_server(const char *name, const char *auth, int with_tls);
/* Stops it (SIGTERM) and fails unless it exits 0 within 10 s. */
int teardown_server(void);
int start_server(const char *name, const char *auth, int with_tls);
int stop_server(void);

/*
 * One request to base + path. auth is the whole Authorization value or
 * NULL; body_len (size_t)-1 = strlen(body); content_type NULL = JSON.
 * Fails the test when an error status comes without {error, where}.
 * Returns the status; *out (optional) gets the parsed body or NULL.
 */
long request_full(const char *base, const char *method, const char *path, const char *auth,
                  const char *body, size_t body_len, const char *content_type, json_t **out);
/* The same without the error-shape check, for paths no API claims (the dashboard's 404s). */
long request_unchecked(const char *base, const char *method, const char *path, const char *auth,
                       const char *body, size_t body_len, const char *content_type, json_t **out);
/* The message and the place of an error document (borrowed from doc, NULL if absent). */
const char *err_message(const json_t *doc);
const char *err_where(const json_t *doc);
/* request_full on srv.url with "Bearer token" (token may be NULL). */
long req(const char *method, const char *path, const char *token, const char *body, json_t **out);
/* POSTs total bytes of whitespace to path with chunked encoding (no Content-Length). */
long request_chunked(const char *path, const char *token, size_t total);
/* harness_db.c, for harness.c: picks srv.db_url for a run named name (a fresh PostgreSQL
 * database dropped first, or the SQLite file in srv.dir); drops it again at the end. */
void harness_db_choose(const char *name);
void harness_db_drop(void);
/* 1 when the run is on PostgreSQL (OTTER_TEST_STORE=postgres; OTTER_TEST_PG_URL, exit 77
 * without it, exit 1 without it when CI=true), 0 on SQLite (the default). */
int db_is_pg(void);
/* Runs one SQL statement on the server's database from outside (to age tokens, ...). */
void db_exec(const char *sql);
/* The first value of a one-value query (a count) on the server's database; -1 without a row. */
long db_count(const char *sql);
/* The names of the database's tables, sorted, one per line (caller frees). */
char *db_table_names(void);
/* Logs in; returns the token (caller frees). Fails the test unless 200. */
char *login(const char *user, const char *password);
/* Every row of tenants, users, memberships, tokens and audit_log as text (caller frees). */
char *snapshot(void);
/* The same over every table of the database. */
char *snapshot_all(void);
/* Creates user name with role in tenant (or sets the role of an existing user). */
void add_member(const char *tenant, const char *name, const char *role);
void add_tenant(const char *name);

#endif
