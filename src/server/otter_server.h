/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The otter-server commands as library calls (main.c only parses the
 * command line): init, serve, and the offline user tasks. Each opens the
 * store named by the config and closes it before returning.
 */
#ifndef OTTER_SERVER_H
#define OTTER_SERVER_H

#include <stdio.h>

#include "otter_err.h"
#include "otter_http.h"
#include "otter_server_config.h"

/*
 * Creates or migrates the database and the artifacts directory, then the
 * first global admin `admin_name` when the database has no user yet. Its
 * password is `password` when not NULL (OTTER_ADMIN_PASSWORD), else a
 * generated one printed once to out. Idempotent.
 */
int otter_server_init(const otter_server_config *cfg, const char *admin_name, const char *password,
                      FILE *out, otter_err *err);

/*
 * Serves HTTP/HTTPS on every configured address until SIGINT or SIGTERM.
 * Refuses a database whose schema is not the one this build knows (run
 * init). When ready_file is set, writes the base URLs there (one per line,
 * atomically) once every listener is up: tests use it with port 0.
 */
int otter_server_serve(const otter_server_config *cfg, const char *ready_file, otter_err *err);

/*
 * Answers every request that is neither the management API (/api/) nor
 * the device API (/{tenant}/controller/v1/): 404 today. The one place to
 * hook more (e.g. the dashboard's static assets).
 */
void otter_server_route_other(const otter_server_config *cfg, const otter_http_request *req,
                              otter_http_response *resp);

/*
 * Adds a user; is_admin makes a global admin; tenant/role (both or
 * neither) add a membership. password as for init.
 */
int otter_server_user_add(const otter_server_config *cfg, const char *name, int is_admin,
                          const char *tenant, const char *role, const char *password, FILE *out,
                          otter_err *err);

/* Sets a user's password (generated and printed when NULL) and revokes their tokens. */
int otter_server_user_passwd(const otter_server_config *cfg, const char *name, const char *password,
                             FILE *out, otter_err *err);

/* Prints every user with their roles, one per line. */
int otter_server_user_list(const otter_server_config *cfg, FILE *out, otter_err *err);

#endif
