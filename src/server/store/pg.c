/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL back-end of the store, for several otter-server instances
 * sharing one database. Each store holds one libpq connection, shared by
 * the server's threads under a recursive mutex; between otter_store_begin()
 * and commit/rollback the calling thread keeps the mutex, so requests of
 * one server never interleave inside a transaction.
 *
 * Across servers, every write transaction (otter_store_begin() and the
 * store calls made of several statements) first takes one transaction-
 * scoped advisory lock. That gives the request handlers exactly what they
 * had with SQLite's single writer: a read-then-write such as "count the
 * admins, then delete one" cannot interleave with the same request on
 * another server. Single statements outside a transaction (device polls,
 * lookups) do not take it and run in parallel. Waits are bounded by
 * lock_timeout = busy_timeout_ms ("database busy, try again").
 *
 * Unlike SQLite, a failed statement ends a PostgreSQL transaction: later
 * statements and the commit fail until the caller rolls back (every caller
 * already rolls back on the first error).
 *
 * Every statement goes through PQexecParams with typed parameters; no SQL
 * is ever built from data. Unnamed statements rather than a cache of named
 * ones on purpose: they are planned with the actual values, so the
 * optional filters ("$3 IS NULL OR model = $3") fold away instead of
 * leaving a generic plan that must scan for every combination. A
 * connection found broken outside a transaction is reset before the next
 * statement. This file holds statements, transactions and the schema
 * version; pg_connect.c opens and closes, the queries are in
 * pg_accounts.c, pg_fleet.c, pg_releases.c and pg_rollouts.c, the
 * migrations in pg_schema.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_internal.h"

#define MAX_PARAMS 16
/* Advisory lock keys ("otter" and "ottermig" in ASCII), per database. */
#define WRITE_LOCK_KEY INT64_C(0x6f74746572)
#define MIGRATE_LOCK_KEY INT64_C(0x6f747465726d6967)

void otter_pg_lock(struct otter_pg *d)
{
    pthread_mutex_lock(&d->lock);
}

void otter_pg_unlock(struct otter_pg *d)
{
    pthread_mutex_unlock(&d->lock);
}

/* libpq's messages end in a newline and may span lines; one line reads better in our errors. */
const char *otter_pg_one_line(const char *msg, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", msg ? msg : "?");
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    size_t n = strlen(buf);
    while (n && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}

/* Maps a failed statement to our codes by SQLSTATE; unique clashes become OTTER_ESTATE. */
static int pg_fail(struct otter_pg *d, const PGresult *res, const char *what, otter_err *err)
{
    char buf[512];
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *msg =
        otter_pg_one_line(primary ? primary : PQerrorMessage(d->conn), buf, sizeof buf);
    if (d->in_tx)
        d->tx_failed = 1;
    if (PQstatus(d->conn) != CONNECTION_OK)
        return otter_err_set(err, OTTER_EIO,
                             "%s: connection to PostgreSQL lost (%s); the next call reconnects",
                             what, msg);
    if (state && strcmp(state, "23505") == 0)
        return otter_err_set(err, OTTER_ESTATE, "%s: already exists", what);
    if (state && strncmp(state, "23", 2) == 0) /* foreign key, check, not null */
        return otter_err_set(err, OTTER_ESTATE, "%s: refused by the database: %s", what, msg);
    if (state && strncmp(state, "22", 2) == 0) /* data exception, e.g. bytes that are not UTF-8 */
        return otter_err_set(err, OTTER_EFORMAT, "%s: refused by the database: %s", what, msg);
    if (state &&
        (strcmp(state, "55P03") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
        return otter_err_set(err, OTTER_EIO, "%s: database busy, try again (%s)", what, msg);
    if (state && strcmp(state, "25P02") == 0)
        return otter_err_set(err, OTTER_EIO,
                             "%s: the transaction failed earlier and must be rolled back", what);
    return otter_err_set(err, OTTER_EIO, "%s: postgres: %s", what, msg);
}

/* Notices ("relation exists, skipping") are not errors and must not reach stderr. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Per-session settings; run again after every reconnect (a reset loses them). */
int otter_pg_session_setup(struct otter_pg *d, otter_err *err)
{
    char timeout[32];
    /* lock_timeout 0 would mean "wait forever"; busy_timeout 0 means "do not wait". */
    snprintf(timeout, sizeof timeout, "%ums", d->lock_timeout_ms ? d->lock_timeout_ms : 1);
    PQsetNoticeProcessor(d->conn, quiet_notice, NULL);
    if (PQsetClientEncoding(d->conn, "UTF8") != 0)
        return pg_fail(d, NULL, "setting client encoding", err);
    const char *values[] = {timeout};
    const Oid types[] = {OTTER_PG_OID_TEXT};
    PGresult *res = PQexecParams(d->conn, "SELECT set_config('lock_timeout', $1, false)", 1, types,
                                 values, NULL, NULL, 0);
    int ret = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        ret = pg_fail(d, res, "configuring session", err);
    PQclear(res);
    return ret;
}

/* Reconnects a broken connection, never inside a transaction (its work is gone). */
static int ensure_conn(struct otter_pg *d, const char *what, otter_err *err)
{
    char buf[512];
    if (PQstatus(d->conn) == CONNECTION_OK)
        return 0;
    if (d->in_tx || d->own_tx) {
        if (d->in_tx)
            d->tx_failed = 1;
        return otter_err_set(err, OTTER_EIO,
                             "%s: connection to PostgreSQL lost inside a transaction", what);
    }
    PQreset(d->conn);
    if (PQstatus(d->conn) != CONNECTION_OK)
        return otter_err_set(err, OTTER_EIO, "%s: cannot reconnect to PostgreSQL: %s", what,
                             otter_pg_one_line(PQerrorMessage(d->conn), buf, sizeof buf));
    return otter_pg_session_setup(d, err);
}

/* Binds the parameters described by types and runs sql; *out gets the result on success. */
static int vexec(struct otter_pg *d, const char *what, PGresult **out, otter_err *err,
                 const char *sql, const char *types, va_list ap)
{
    const char *values[MAX_PARAMS];
    Oid oids[MAX_PARAMS];
    char nums[MAX_PARAMS][24];
    int n = (int)strlen(types);
    *out = NULL;
    if (n > MAX_PARAMS)
        return otter_err_set(err, OTTER_EUSAGE, "%s: %d parameters (at most %d)", what, n,
                             MAX_PARAMS);
    for (int i = 0; i < n; i++) {
        if (types[i] == 't') {
            values[i] = va_arg(ap, const char *);
            oids[i] = OTTER_PG_OID_TEXT;
        } else {
            snprintf(nums[i], sizeof nums[i], "%" PRId64, va_arg(ap, int64_t));
            values[i] = nums[i];
            oids[i] = OTTER_PG_OID_INT8;
        }
    }
    int ret = ensure_conn(d, what, err);
    if (ret < 0)
        return ret;
    PGresult *res = PQexecParams(d->conn, sql, n, oids, values, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        ret = pg_fail(d, res, what, err);
        PQclear(res);
        return ret;
    }
    *out = res;
    return 0;
}

int otter_pg_run(struct otter_pg *d, const char *what, int64_t *changes, otter_err *err,
                 const char *sql, const char *types, ...)
{
    PGresult *res = NULL;
    va_list ap;
    va_start(ap, types);
    otter_pg_lock(d);
    int ret = vexec(d, what, &res, err, sql, types, ap);
    va_end(ap);
    if (ret == 0 && changes)
        *changes = strtoll(PQcmdTuples(res), NULL, 10); /* "" for statements without a count */
    PQclear(res);
    otter_pg_unlock(d);
    return ret;
}

int otter_pg_query(struct otter_pg *d, const char *what, otter_pg_row_fn row, void *ctx,
                   otter_err *err, const char *sql, const char *types, ...)
{
    PGresult *res = NULL;
    va_list ap;
    va_start(ap, types);
    otter_pg_lock(d);
    int ret = vexec(d, what, &res, err, sql, types, ap);
    va_end(ap);
    for (int i = 0; ret == 0 && i < PQntuples(res); i++)
        ret = row(res, i, ctx, err);
    PQclear(res);
    otter_pg_unlock(d);
    return ret;
}

int64_t otter_pg_int(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    const char *v = PQgetvalue(res, row, col);
    if (v[0] == 't' || v[0] == 'f') /* booleans, e.g. from EXISTS */
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

const char *otter_pg_str(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* Copies a text column into a bounded buffer; a longer value is corrupt data, not truncated. */
int otter_pg_copy(const PGresult *res, int row, int col, char *buf, size_t cap, otter_err *err)
{
    const char *v = otter_pg_str(res, row, col);
    size_t n = v ? (size_t)PQgetlength(res, row, col) : 0;
    if (n >= cap)
        return otter_err_set(err, OTTER_EFORMAT, "stored value in column %d longer than %zu", col,
                             cap - 1);
    memcpy(buf, v ? v : "", n);
    buf[n] = '\0';
    return 0;
}

int otter_pg_int_row(const PGresult *res, int row, void *ctx, otter_err *err)
{
    *(int64_t *)ctx = otter_pg_int(res, row, 0);
    return 0;
}

/* Runs fixed SQL text without parameters (BEGIN, COMMIT, a migration). */
static int exec_plain(struct otter_pg *d, const char *sql, const char *what, otter_err *err)
{
    int ret = ensure_conn(d, what, err);
    if (ret < 0)
        return ret;
    PGresult *res = PQexec(d->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        ret = pg_fail(d, res, what, err);
    /* COMMIT of a transaction that had failed answers ROLLBACK, not an error. */
    else if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0)
        ret = otter_err_set(err, OTTER_EIO, "%s: the transaction was rolled back", what);
    PQclear(res);
    return ret;
}

static void rollback_quiet(struct otter_pg *d)
{
    if (PQstatus(d->conn) == CONNECTION_OK)
        PQclear(PQexec(d->conn, "ROLLBACK"));
}

/* BEGIN plus the cluster-wide writer lock (see the header comment). */
static int write_begin(struct otter_pg *d, const char *what, otter_err *err)
{
    int ret = exec_plain(d, "BEGIN", what, err);
    if (ret == 0 && (ret = otter_pg_run(d, what, NULL, err, "SELECT pg_advisory_xact_lock($1)", "i",
                                        WRITE_LOCK_KEY)) < 0)
        rollback_quiet(d);
    return ret;
}

int otter_pg_tx_open(struct otter_pg *d, int *own, otter_err *err)
{
    otter_pg_lock(d);
    *own = !d->in_tx;
    if (!*own)
        return 0;
    int ret = write_begin(d, "beginning transaction", err);
    if (ret < 0) {
        otter_pg_unlock(d);
        return ret;
    }
    d->own_tx = 1;
    return 0;
}

int otter_pg_tx_close(struct otter_pg *d, int own, int ret, otter_err *err)
{
    if (own) {
        if (ret == 0)
            ret = exec_plain(d, "COMMIT", "committing", err);
        if (ret < 0)
            rollback_quiet(d);
        d->own_tx = 0;
    }
    otter_pg_unlock(d);
    return ret;
}

/* ---- schema ---- */

static int pg_schema_version(otter_store *s, int *version, otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    int64_t has = 0, v = 0;
    int ret = otter_pg_query(d, "reading schema version", otter_pg_int_row, &has, err,
                             "SELECT to_regclass('schema_version') IS NOT NULL", "");
    if (ret == 0 && has)
        ret = otter_pg_query(d, "reading schema version", otter_pg_int_row, &v, err,
                             "SELECT coalesce(max(version), 0) FROM schema_version", "");
    *version = (int)v;
    return ret;
}

static int pg_migrate(otter_store *s, otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    int ret = 0, version = 0;
    otter_pg_lock(d);
    if (d->in_tx) {
        otter_pg_unlock(d);
        return otter_err_set(err, OTTER_EUSAGE, "migrating inside a store transaction");
    }
    while (ret == 0) {
        /* One migration per transaction; the lock makes two `init`s apply each one once. */
        if ((ret = exec_plain(d, "BEGIN", "migrating", err)) < 0)
            break;
        d->own_tx = 1;
        if ((ret = otter_pg_run(d, "migrating", NULL, err, "SELECT pg_advisory_xact_lock($1)", "i",
                                MIGRATE_LOCK_KEY)) < 0 ||
            (ret = exec_plain(d,
                              "CREATE TABLE IF NOT EXISTS schema_version ("
                              " version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                              "creating schema_version", err)) < 0 ||
            (ret = pg_schema_version(s, &version, err)) < 0)
            goto rollback;
        if ((size_t)version > otter_pg_n_migrations) {
            ret = otter_err_set(err, OTTER_ESTATE,
                                "database schema version %d is newer than this server (%zu)",
                                version, otter_pg_n_migrations);
            goto rollback;
        }
        if ((size_t)version == otter_pg_n_migrations) {
            ret = exec_plain(d, "COMMIT", "migrating", err);
            d->own_tx = 0;
            break;
        }
        if ((ret = exec_plain(d, otter_pg_migrations[version], "migrating", err)) < 0) {
            otter_err_prefix(err, "schema version %d", version + 1);
            goto rollback;
        }
        if ((ret = otter_pg_run(d, "recording schema version", NULL, err,
                                "INSERT INTO schema_version(version, applied_at) VALUES ($1, $2)",
                                "ii", (int64_t)version + 1, (int64_t)time(NULL))) < 0 ||
            (ret = exec_plain(d, "COMMIT", "migrating", err)) < 0)
            goto rollback;
        d->own_tx = 0;
        continue;
    rollback:
        rollback_quiet(d);
        d->own_tx = 0;
        break;
    }
    otter_pg_unlock(d);
    return ret;
}

/* ---- transactions ---- */

static int pg_begin(otter_store *s, otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    otter_pg_lock(d);
    if (d->in_tx) {
        otter_pg_unlock(d);
        return otter_err_set(err, OTTER_EUSAGE, "store transaction already open");
    }
    int ret = write_begin(d, "beginning transaction", err);
    if (ret < 0) {
        otter_pg_unlock(d);
        return ret;
    }
    d->in_tx = 1;
    d->tx_failed = 0;
    return 0; /* the lock stays held until commit or rollback */
}

static int pg_commit(otter_store *s, otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    int ret;
    if (!d->in_tx)
        return otter_err_set(err, OTTER_EUSAGE, "committing: no store transaction open");
    if (d->tx_failed)
        ret = otter_err_set(err, OTTER_EIO,
                            "committing: a statement failed, the transaction was rolled back");
    else
        ret = exec_plain(d, "COMMIT", "committing", err);
    if (ret < 0)
        rollback_quiet(d);
    d->in_tx = 0;
    d->tx_failed = 0;
    otter_pg_unlock(d);
    return ret;
}

static void pg_rollback(otter_store *s)
{
    struct otter_pg *d = OTTER_PG(s);
    /* Callers may roll back after a failed commit, which already ended the transaction. */
    if (!d->in_tx)
        return;
    rollback_quiet(d);
    d->in_tx = 0;
    d->tx_failed = 0;
    otter_pg_unlock(d);
}

/*
 * One count for the change, an entry per device (0: any device); see
 * otter_store_backend.h. The counter's row lock is held to the commit, so
 * counts commit in order: a reader that sees count c has seen all below.
 */
static int pg_changes_log(otter_store *s, const int64_t *devices, size_t n, int64_t *count,
                          otter_err *err)
{
    struct otter_pg *d = OTTER_PG(s);
    /* Always inside the writer's transaction (otter_store.c): the entry commits with the write. */
    if (!d->in_tx)
        return otter_err_set(err, OTTER_EUSAGE, "change log written outside a transaction");
    *count = 0;
    int ret = otter_pg_query(d, "counting a change", otter_pg_int_row, count, err,
                             "UPDATE change_counter SET n = n + 1 WHERE id = 1 RETURNING n", "");
    for (size_t i = 0; ret == 0 && i < (n ? n : 1); i++)
        ret = otter_pg_run(d, "logging a change", NULL, err,
                           "INSERT INTO change_log(seq, device_id) VALUES ($1, $2)"
                           " ON CONFLICT DO NOTHING",
                           "ii", *count, n ? devices[i] : (int64_t)0);
    if (ret == 0 && atomic_fetch_add(&s->log_writes, 1) % 256 == 255)
        ret = otter_pg_run(d, "dropping old change log entries", NULL, err,
                           "DELETE FROM change_log WHERE seq <= $1", "i",
                           *count - OTTER_STORE_CHANGES_KEPT);
    return ret;
}

static int pg_changes_read(otter_store *s, int64_t *counter, otter_err *err)
{
    *counter = 0;
    return otter_pg_query(OTTER_PG(s), "reading the change counter", otter_pg_int_row, counter, err,
                          "SELECT n FROM change_counter WHERE id = 1", "");
}

struct change_walk {
    int (*cb)(void *ctx, int64_t count, int64_t device_id);
    void *ctx;
};

static int change_row(const PGresult *res, int row, void *ctx, otter_err *err)
{
    struct change_walk *w = ctx;
    (void)err;
    return w->cb(w->ctx, otter_pg_int(res, row, 0), otter_pg_int(res, row, 1));
}

static int pg_changes_since(otter_store *s, int64_t after, int64_t limit,
                            int (*cb)(void *ctx, int64_t count, int64_t device_id), void *ctx,
                            otter_err *err)
{
    struct change_walk w = {cb, ctx};
    return otter_pg_query(OTTER_PG(s), "reading the change log", change_row, &w, err,
                          "SELECT seq, device_id FROM change_log WHERE seq > $1"
                          " ORDER BY seq, device_id LIMIT $2",
                          "ii", after, limit);
}

const otter_store_ops otter_store_pg_ops = {
    .engine = "postgres",
    .url_prefix = "postgresql://",
    .url_alias = "postgres://",
    .open = otter_pg_open,
    .close = otter_pg_close,
    .schema_version = pg_schema_version,
    .migrate = pg_migrate,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .changes_log = pg_changes_log,
    .changes_read = pg_changes_read,
    .changes_since = pg_changes_since,
    .tenant_create = otter_pg_tenant_create,
    .tenant_get = otter_pg_tenant_get,
    .tenant_delete = otter_pg_tenant_delete,
    .tenant_list = otter_pg_tenant_list,
    .user_create = otter_pg_user_create,
    .user_get = otter_pg_user_get,
    .user_set_password = otter_pg_user_set_password,
    .user_delete = otter_pg_user_delete,
    .user_count_admins = otter_pg_user_count_admins,
    .user_list = otter_pg_user_list,
    .member_set = otter_pg_member_set,
    .member_get = otter_pg_member_get,
    .member_delete = otter_pg_member_delete,
    .member_list = otter_pg_member_list,
    .token_create = otter_pg_token_create,
    .token_find = otter_pg_token_find,
    .token_revoke = otter_pg_token_revoke,
    .token_list = otter_pg_token_list,
    .audit_append = otter_pg_audit_append,
    .audit_list = otter_pg_audit_list,
    .tenant_set_gateway = otter_pg_tenant_set_gateway,
    .tenant_check_gateway = otter_pg_tenant_check_gateway,
    .device_create = otter_pg_device_create,
    .device_get = otter_pg_device_get,
    .device_list = otter_pg_device_list,
    .device_delete = otter_pg_device_delete,
    .device_seen = otter_pg_device_seen,
    .device_set_attributes = otter_pg_device_set_attributes,
    .group_create = otter_pg_group_create,
    .group_list = otter_pg_group_list,
    .group_delete = otter_pg_group_delete,
    .group_add = otter_pg_group_add,
    .group_remove = otter_pg_group_remove,
    .release_create = otter_pg_release_create,
    .release_list = otter_pg_release_list,
    .release_delete = otter_pg_release_delete,
    .action_create = otter_pg_action_create,
    .action_get = otter_pg_action_get,
    .device_poll_rows = otter_pg_device_poll_rows,
    .action_list_device = otter_pg_action_list_device,
    .action_set_status = otter_pg_action_set_status,
    .action_set_maintenance = otter_pg_action_set_maintenance,
    .feedback_add = otter_pg_feedback_add,
    .feedback_count = otter_pg_feedback_count,
    .feedback_list = otter_pg_feedback_list,
    .approval_get = otter_pg_approval_get,
    .approval_set = otter_pg_approval_set,
    .rollout_create = otter_pg_rollout_create,
    .rollout_list = otter_pg_rollout_list,
    .rollout_update = otter_pg_rollout_update,
    .rollout_counts = otter_pg_rollout_counts,
    .rollout_cancel_actions = otter_pg_rollout_cancel_actions,
    .release_withdraw_actions = otter_pg_release_withdraw_actions,
    .rollout_retry_failed = otter_pg_rollout_retry_failed,
};
