/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The front's sessions: a random cookie token and a random CSRF token per
 * login, idle ones expire; failed logins slow further tries down (a
 * password guesser on the LAN gets a few tries a minute, not thousands).
 * Used from the one MHD thread only: no locking.
 */
#ifndef OTTER_UI_SESS_H
#define OTTER_UI_SESS_H

#include <time.h>

#define OTTER_UI_TOKEN_LEN 64 /* hex characters of 32 random bytes */
#define OTTER_UI_SESSIONS 8
#define OTTER_UI_IDLE 1800    /* seconds a session lives unused */
#define OTTER_UI_FAIL_FREE 5  /* failed logins before the lock-out */
#define OTTER_UI_FAIL_LOCK 60 /* seconds of lock-out after each further failure */

typedef struct otter_ui_session {
    char cookie[OTTER_UI_TOKEN_LEN + 1];
    char csrf[OTTER_UI_TOKEN_LEN + 1];
    time_t used;
} otter_ui_session;

typedef struct otter_ui_sessions {
    otter_ui_session s[OTTER_UI_SESSIONS];
    int failures;     /* consecutive failed logins */
    time_t last_fail; /* when the last one was */
} otter_ui_sessions;

/* The live session whose cookie is token (NULL for none or expired); touches it. */
otter_ui_session *otter_ui_sess_find(otter_ui_sessions *ss, const char *token, time_t now);

/*
 * Checks password against hash (crypt(3) yescrypt). Returns the new
 * session, or NULL with *why = 401 (wrong), 429 (locked out: too many
 * failures) or 500 (no randomness).
 */
otter_ui_session *otter_ui_sess_login(otter_ui_sessions *ss, const char *hash, const char *password,
                                      time_t now, int *why);

/* Ends the session. */
void otter_ui_sess_drop(otter_ui_session *s);

/* 1 when a equals the session's CSRF token (constant time), else 0. */
int otter_ui_sess_csrf_ok(const otter_ui_session *s, const char *a);

#endif
