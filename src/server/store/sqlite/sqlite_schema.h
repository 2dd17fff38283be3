/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the SQLite back-end: migration i brings the schema from version i to i + 1. */
#ifndef OTTER_SQLITE_SCHEMA_H
#define OTTER_SQLITE_SCHEMA_H

#include <stddef.h>

extern const char *const otter_sqlite_migrations[];
extern const size_t otter_sqlite_n_migrations;

#endif
