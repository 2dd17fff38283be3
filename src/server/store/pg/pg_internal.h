/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the PostgreSQL driver (pg.c: statements, transactions, schema
 * version; pg_connect.c: open, close; pg_schema.c: migrations). Nothing
 * outside src/server/store includes this or libpq-fe.h.
 */
#ifndef OTTER_PG_INTERNAL_H
#define OTTER_PG_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stddef.h>

#include "otter_sql.h"

struct otter_pg {
    PGconn *conn;
    pthread_mutex_t lock; /* recursive: store calls nest inside a transaction */
    unsigned lock_timeout_ms;
    int in_tx;     /* otter_store_begin() .. commit/rollback */
    int own_tx;    /* a migration's transaction is open */
    int tx_failed; /* a statement failed inside the caller's transaction */
};

#define OTTER_PG_OID_INT8 20 /* pg_type.h is a server header; these two oids are stable */
#define OTTER_PG_OID_TEXT 25

/* pg_connect.c: the open and close members of the driver. */
int otter_pg_open(void **conn, const char *url, int create, unsigned busy_timeout_ms,
                  otter_err *err);
void otter_pg_close(void *conn);

/* Per-session settings, after connecting and after every reconnect. */
int otter_pg_session_setup(struct otter_pg *d, otter_err *err);
/* A failed statement (res may be NULL) as an otter error; marks the transaction failed. */
int otter_pg_fail(struct otter_pg *d, const PGresult *res, const char *what, otter_err *err);

/* msg on one line in buf (libpq's end in a newline); returns buf. */
const char *otter_pg_one_line(const char *msg, char *buf, size_t cap);

/* pg_schema.c: migration i brings the schema from version i to i + 1. */
extern const char *const otter_pg_migrations[];
extern const size_t otter_pg_n_migrations;

#endif
