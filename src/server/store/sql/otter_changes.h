/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Change tracking of the store (the contract is otter_store_generation()
 * in otter_store.h): which committed writes may have changed a DDI poll
 * answer, on this server and, through the database's change log, on the
 * others. Private to the store (otter_store.c, store/).
 *
 * A write a poll can see is made through an otter_change: the store's
 * queries cannot run such a write without one (otter_sql_write() takes
 * it), and otter_change_end() is the only way to finish it, which notes
 * what it touched. So a write that forgets to count does not compile.
 */
#ifndef OTTER_CHANGES_H
#define OTTER_CHANGES_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_store.h"

#define OTTER_CHANGE_ANY_DEVICE 0 /* a change that may touch any device */

typedef struct otter_changes otter_changes;

/* A counted write in progress: from otter_change_begin() to otter_change_end(). */
typedef struct otter_change {
    otter_store *s;
    int own; /* opened its own transaction */
} otter_change;

int otter_changes_new(otter_changes **out, otter_err *err);
void otter_changes_free(otter_changes *c);

/*
 * Starts a counted write: joins the transaction this thread holds on s,
 * or opens one of its own (the write and its log entry commit together).
 */
int otter_change_begin(otter_store *s, otter_change *ch, otter_err *err);
/*
 * Ends it: notes device_id (or OTTER_CHANGE_ANY_DEVICE) as touched and,
 * in its own transaction, commits when ret == 0 or rolls back. Returns
 * ret or the commit's failure. A failed write in the caller's
 * transaction still counts (the caller may commit what it did).
 */
int otter_change_end(otter_change *ch, int ret, int64_t device_id, otter_err *err);

/* 1 when the calling thread holds s's transaction (otter_store_begin() .. commit/rollback). */
int otter_changes_tx_held(otter_store *s);

/*
 * Also here, as the change protocol is the transaction's: otter_store_begin(),
 * otter_store_commit() (logs the transaction's changes in it, then tells
 * this server's caches) and otter_store_rollback(), and the otter_store_generation*()
 * family of otter_store.h.
 */

#endif
