/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's state file: one small JSON document (format 1) written
 * atomically (temp + fsync + rename + fsync dir). It records which slot
 * booted, what each slot holds (version, manifest digest and the expected
 * sha256 + size of every installed image, which the verified-boot
 * simulator checks before it boots a slot), the pending update, the last
 * result, and the feedback queue for the server (kept until acked, so it
 * survives reboots and offline periods).
 *
 * Parsing is strict: known keys only, every key present, types and limits
 * checked; messages name the file and the JSON path ("slots.B.images[0]").
 * Layout of the file: docs/agent.md.
 */
#ifndef OTTER_STATE_H
#define OTTER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

#define OTTER_STATE_MAX_BYTES (256 * 1024) /* whole file */
#define OTTER_STATE_MAX_IMAGES 16          /* images per slot */
#define OTTER_STATE_MAX_FEEDBACK 64        /* queued feedback entries */
#define OTTER_STATE_MAX_ID 64              /* version, image name, target, action id */
#define OTTER_STATE_MAX_TEXT 1024          /* reason, detail */

/* One installed image, as the signed manifest declared it. */
typedef struct otter_state_image {
    char *name;      /* manifest image name ("rootfs") */
    char *target;    /* slot class it went to ("rootfs") */
    char sha256[65]; /* lowercase hex of the installed bytes */
    uint64_t size;   /* installed bytes */
} otter_state_image;

/* What one side (A or B) holds. present == 0: nothing known (e.g. never written). */
typedef struct otter_state_slot {
    int present;
    char *version;
    uint64_t security_version;
    char manifest_sha256[65];
    otter_state_image images[OTTER_STATE_MAX_IMAGES];
    size_t n_images;
} otter_state_slot;

/* An update written to a slot and waiting for its first good boot. */
typedef struct otter_state_pending {
    int present;
    int slot; /* OTTER_SLOT_A or OTTER_SLOT_B */
    char *version;
    uint64_t security_version;
    char manifest_sha256[65];
    int64_t time; /* seconds since the epoch, when it was installed */
    /*
     * 1: the boot switch to slot is durable (or the record predates this
     * field: an older agent wrote it, and then switched). 0: recorded before
     * the switch and not yet confirmed; boot-check in the old slot asks the
     * boot variables whether the switch happened (docs/agent.md, "Power loss").
     */
    int switched;
} otter_state_pending;

enum otter_result { OTTER_RESULT_NONE = 0, OTTER_RESULT_SUCCESS, OTTER_RESULT_FAILURE };

typedef struct otter_state_result {
    int status;    /* enum otter_result; NONE: no update finished yet */
    char *version; /* the version the result is about */
    char *reason;  /* "" on success; why on failure */
    int64_t time;
} otter_state_result;

/* One status report for the server, queued until the server acknowledges it. */
typedef struct otter_state_feedback {
    char *action_id; /* the server's id of the deployment action */
    char *status;    /* proceeding|downloaded|success|failure|canceled|rejected */
    char *detail;
    int64_t time;
} otter_state_feedback;

typedef struct otter_state {
    int booted; /* OTTER_SLOT_A / OTTER_SLOT_B: the slot running now */
    otter_state_slot slots[2];
    otter_state_pending pending;
    otter_state_result last;
    otter_state_feedback feedback[OTTER_STATE_MAX_FEEDBACK];
    size_t n_feedback;
} otter_state;

/* A fresh state: booted A, nothing installed, nothing pending. Caller frees; NULL on ENOMEM. */
otter_state *otter_state_new(void);

/* Frees s and everything in it. NULL is fine. */
void otter_state_free(otter_state *s);

/*
 * Parses a state document from buf (len bytes); name is used in messages.
 * On success *out is a new state the caller frees.
 * Errors: OTTER_EFORMAT (syntax, unknown or missing key, bad type or value,
 * limit exceeded; the message names the JSON path), OTTER_ENOMEM.
 */
int otter_state_parse_mem(const char *buf, size_t len, const char *name, otter_state **out,
                          otter_err *err);

/*
 * Reads the state file at path. A missing file gives a fresh state (first
 * boot); a leftover "<path>.tmp.*" from a crash is ignored. Caller frees
 * *out. Errors: as otter_state_parse_mem, plus OTTER_EIO.
 */
int otter_state_load(const char *path, otter_state **out, otter_err *err);

/*
 * Serializes s into a new NUL-terminated buffer (caller frees *out).
 * Errors: OTTER_ENOMEM.
 */
int otter_state_to_json(const otter_state *s, char **out, size_t *len, otter_err *err);

/* Writes s to path atomically. Errors: OTTER_EIO, OTTER_ENOMEM. */
int otter_state_save(const otter_state *s, const char *path, otter_err *err);

/*
 * Records what slot (OTTER_SLOT_A/B) now holds; copies everything.
 * Errors: OTTER_EUSAGE (bad slot, version, digest, name, too many images),
 * OTTER_ENOMEM. On error s is unchanged.
 */
int otter_state_set_slot(otter_state *s, int slot, const char *version, uint64_t security_version,
                         const char *manifest_sha256, const otter_state_image *images,
                         size_t n_images, otter_err *err);

/* Forgets what slot holds (e.g. before writing into it). */
void otter_state_clear_slot(otter_state *s, int slot);

/* Records the pending update, not yet switched to (switched = 0); copies.
 * Errors: OTTER_EUSAGE, OTTER_ENOMEM. */
int otter_state_set_pending(otter_state *s, int slot, const char *version,
                            uint64_t security_version, const char *manifest_sha256, int64_t time,
                            otter_err *err);

/* Drops the pending update. */
void otter_state_clear_pending(otter_state *s);

/*
 * Records the last result (OTTER_RESULT_SUCCESS/FAILURE); copies.
 * Errors: OTTER_EUSAGE, OTTER_ENOMEM.
 */
int otter_state_set_result(otter_state *s, int status, const char *version, const char *reason,
                           int64_t time, otter_err *err);

/*
 * Queues a feedback entry for the server; copies. Errors: OTTER_EUSAGE (bad
 * id or status), OTTER_ESTATE (queue full: OTTER_STATE_MAX_FEEDBACK
 * entries not yet acked), OTTER_ENOMEM.
 */
int otter_state_feedback_push(otter_state *s, const char *action_id, const char *status,
                              const char *detail, int64_t time, otter_err *err);

/* Drops every queued entry for action_id (the server acked it); returns how many. */
size_t otter_state_feedback_ack(otter_state *s, const char *action_id);

#endif
