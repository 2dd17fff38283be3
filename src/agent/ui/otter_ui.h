/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `otter-agentd ui`: the reference local update page's HTTP front
 * (docs/device-ui.md "The reference local page"). It serves web/device/ and
 * turns the page's requests into requests on the control socket; it never
 * writes a slot, a spool or the state itself. Bound to [ui] listen
 * (127.0.0.1 by default), behind [ui] password_hash (yescrypt), an HttpOnly
 * SameSite=Strict session cookie and a per-session CSRF token.
 */
#ifndef OTTER_UI_H
#define OTTER_UI_H

#include "otter_agent_conf.h"
#include "otter_err.h"

/*
 * The installed version (configData "version") is read once at the start:
 * it changes only with a reboot, which restarts the front too.
 * Serves until SIGTERM or SIGINT. Prints "listening on http://ADDR:PORT"
 * (the port actually bound: [ui] listen may say port 0) on standard output.
 * Errors: OTTER_EFORMAT (bad [ui] listen, no password_hash), OTTER_EIO.
 */
int otter_ui_serve(const char *conf_path, const otter_agent_conf *conf, otter_err *err);

/* Reads a password (one line) from standard input and prints its yescrypt hash
 * for [ui] password_hash. Errors: OTTER_EFORMAT (empty), OTTER_EIO. */
int otter_ui_hash_password(otter_err *err);

/*
 * One request on the control socket at path: method (and params, a JSON
 * object text or NULL); *answer_out is the answer line (NUL-terminated,
 * caller frees). Errors: OTTER_EIO (no daemon, closed, too long).
 */
int otter_ui_control_call(const char *path, const char *method, const char *params,
                          char **answer_out, otter_err *err);

#endif
