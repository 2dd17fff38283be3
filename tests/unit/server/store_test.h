/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store contract tests run on every engine: the same test binary runs
 * against SQLite (default) and, registered a second time in CTest with
 * OTTER_TEST_STORE=postgres, against the PostgreSQL server named by
 * OTTER_TEST_PG_URL (tests/pg/ensure.sh prints one). Each test case gets a
 * database of its own: a fresh file, or a fresh PostgreSQL database named
 * after the case and the process, dropped at exit.
 */
#ifndef OTTER_STORE_TEST_H
#define OTTER_STORE_TEST_H

#include "otter_store.h"

/* 1 when this run is the PostgreSQL one. */
int otter_test_store_is_pg(void);

/*
 * Call first in main(). For the PostgreSQL run without OTTER_TEST_PG_URL:
 * exits 77 (CTest: skipped, with a message), or fails when CI=true so CI
 * cannot lose the PostgreSQL run silently.
 */
void otter_test_store_init(void);

/*
 * The url of a new, empty (not yet created) database for test case name;
 * static buffer, valid until the next call.
 */
const char *otter_test_store_url(const char *name);

/*
 * Call last: drops the PostgreSQL databases of this run (not at exit,
 * when libpq's TLS library may be gone already); returns rc.
 */
int otter_test_store_done(int rc);

/* Opens otter_test_store_url(name) with create = 1 and migrates it. */
otter_store *otter_test_store_fresh(const char *name);

/* Runs SQL directly on the database behind url (the test's side door; fails the test on error). */
void otter_test_store_exec(const char *url, const char *sql);

/* PostgreSQL only: ends the server connections of other sessions on url's database. */
void otter_test_store_kill_sessions(const char *url);

#endif
