/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter-agentd's local control API (docs/device-ui.md): a Unix stream
 * socket ([control] socket, mode, group), never a network address, for the
 * device's own UI and for otter-agent while the daemon runs.
 *
 * One state machine, two threads: a control thread owns the socket and its
 * clients; it answers from the state and turns actions into a to-do list.
 * The daemon's own thread (the poll loop) is the only one that talks to the
 * server, the spool or the installer: it takes the to-do list between its
 * steps (otter_control_take), so a user's Start and the daemon's poll
 * never run at once; it publishes every change of state (otter_control_set_*),
 * which the control thread sends to subscribers. All shared data is behind
 * one mutex; the control thread never blocks on the network or a child.
 *
 * Access: the socket file's owner, group and mode, and on every
 * connection SO_PEERCRED/SO_PEERGROUPS: root, the daemon's own user and
 * members of [control] group; anyone else gets a "forbidden" answer and
 * the connection is closed.
 */
#ifndef OTTER_CONTROL_H
#define OTTER_CONTROL_H

#include "otter_agent_conf.h"
#include "otter_control_proto.h"
#include "otter_err.h"

typedef struct otter_control otter_control;

/*
 * Creates the socket at [control] socket (a stale socket file is replaced;
 * anything else there is an error), sets its mode and group. Call it before
 * the daemon drops its privileges; the thread starts with
 * otter_control_start. conf is borrowed for the handle's life.
 * OTTER_EUSAGE: bad [control] values (no such group); OTTER_EIO.
 */
int otter_control_open(const otter_agent_conf *conf, otter_control **out, otter_err *err);

/* 1 when a daemon answers on the socket at path (a connection is accepted), else 0. */
int otter_control_listening(const char *path);

/* Starts the control thread. OTTER_EIO. */
int otter_control_start(otter_control *c, otter_err *err);

/* Stops the thread, closes the clients, removes the socket file; NULL is fine. */
void otter_control_free(otter_control *c);

/* What users asked for since the last take (cleared by taking it). */
typedef struct otter_control_todo {
    int check, download, start, decline, verify;
    int no_reboot;    /* start: the user reboots later (params.reboot false) */
    long postpone;    /* seconds, 0: none */
    char action[129]; /* the offer's action the request was about */
    /* install_file: an upload's name, "" none */
    char file[OTTER_CONTROL_MAX_FILE + 1];
} otter_control_todo;

/* The daemon thread takes the to-do list (all but file: otter_control_take_file). */
void otter_control_take(otter_control *c, otter_control_todo *t);

/* The daemon thread takes a pending install_file's name into name (size bytes); 1 when there
 * was one. Until it is taken, further install_file requests are refused ("busy"). */
int otter_control_take_file(otter_control *c, char *name, size_t size);

/* A poll is due (push wake-up, otter_push.h): like a user's "check", ends a wait. Any thread. */
void otter_control_check_now(otter_control *c);

/* Waits up to seconds or until a request arrives (then returns 1). */
int otter_control_wait(otter_control *c, long seconds);

/* 1 once after a client asked to cancel the running download. */
int otter_control_cancel_asked(otter_control *c);

/* Publishing (each sends a state event to subscribers when something changed). */
void otter_control_set_phase(otter_control *c, int phase, int percent, const char *reason);
/* offer NULL: nothing offered. Copied. */
void otter_control_set_offer(otter_control *c, const otter_control_offer *offer);
void otter_control_set_checked(otter_control *c, const char *error);
void otter_control_set_verified(otter_control *c, const char *failure, const char *message);
void otter_control_set_postponed(otter_control *c, long long until);
/* A user's request the daemon's thread could not carry out (refusals grows). */
void otter_control_set_refused(otter_control *c, const char *why);
/* Copies the start_blockers of src. */
void otter_control_set_blockers(otter_control *c, const otter_control_state *src);
/* A copy of the state (its offer deep-copied: the caller clears it). */
void otter_control_get(otter_control *c, otter_control_state *out);

#endif
