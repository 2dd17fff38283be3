/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request bodies of the hawkBit DDI API that devices send: action
 * feedback (deploymentBase/cancelAction .../feedback) and configData.
 * Strict like the management API (unknown or duplicate keys, wrong types,
 * deep nesting, NUL characters are refused), but accepting every field the
 * public DDI documentation lists, so existing clients work unchanged.
 * Parsers read memory: tests/fuzz/fuzz_ddi_json.c fuzzes both.
 */
#ifndef OTTER_DDI_JSON_H
#define OTTER_DDI_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

#define OTTER_DDI_JSON_DEPTH 8        /* deepest nesting a DDI body needs is 4 */
#define OTTER_DDI_DETAILS_MAX 128     /* details lines kept per feedback */
#define OTTER_DDI_DETAIL_BYTES 4096   /* bytes per details line */
#define OTTER_DDI_CONFIG_KEYS_MAX 256 /* attributes per device */
#define OTTER_DDI_CONFIG_KEY_BYTES 128
#define OTTER_DDI_CONFIG_VALUE_BYTES 512

typedef struct otter_ddi_feedback {
    int has_id;
    int64_t id;           /* "id" of the body (string or number) when has_id */
    char execution[16];   /* closed, proceeding, canceled, scheduled, rejected, resumed,
                             downloaded, download */
    char finished[16];    /* success, failure, none */
    int64_t progress_cnt; /* -1 when absent */
    int64_t progress_of;
    char *details; /* JSON array of strings as compact text, owned; "[]" when absent */
} otter_ddi_feedback;

/*
 * Parses a feedback body:
 *   {"id": "5"?, "time"|"timestamp": ...?, "status": {"execution": E,
 *    "result": {"finished": F, "progress": {"cnt": N, "of": M}?}, "details": [..]?,
 *    "code": N?}}
 * OTTER_EFORMAT with the reason; clear *out with otter_ddi_feedback_clear().
 */
int otter_ddi_feedback_parse(const char *buf, size_t len, otter_ddi_feedback *out, otter_err *err);
void otter_ddi_feedback_clear(otter_ddi_feedback *f);

/*
 * Applies a configData body {"mode": "merge"|"replace"|"remove"?, "data": {k: "v"},
 * "id"?, "time"?, "status"?} to the current attributes (a JSON object text)
 * and returns the new attributes as JSON text in *out (caller frees).
 * merge (default) sets the given keys, replace drops all others, remove
 * deletes the given keys. OTTER_EFORMAT with the reason.
 */
int otter_ddi_config_apply(const char *buf, size_t len, const char *current, char **out,
                           otter_err *err);

/* ---- consent (issue #17, docs/ddi.md "User consent") ---- */

typedef struct otter_ddi_confirmation {
    int confirmed; /* 1 "confirmed", 0 "denied" */
    int has_code;
    int64_t code;
    char *details; /* JSON array of strings as compact text, owned; "[]" when absent */
} otter_ddi_confirmation;

/*
 * Parses confirmationBase/{actionId}/feedback:
 *   {"confirmation": "confirmed"|"denied", "code": N?, "details": [..]?}
 * (hawkBit's DdiConfirmationFeedback). OTTER_EFORMAT with the reason;
 * clear *out with otter_ddi_confirmation_clear().
 */
int otter_ddi_confirmation_parse(const char *buf, size_t len, otter_ddi_confirmation *out,
                                 otter_err *err);
void otter_ddi_confirmation_clear(otter_ddi_confirmation *c);

typedef struct otter_ddi_autoconfirm {
    char initiator[129]; /* "" when absent */
    char remark[513];
} otter_ddi_autoconfirm;

/* Parses the optional body of activateAutoConfirm: {"initiator": s?, "remark": s?}. */
int otter_ddi_autoconfirm_parse(const char *buf, size_t len, otter_ddi_autoconfirm *out,
                                otter_err *err);

/*
 * The user's choice in a feedback's details (JSON array text, as parsed):
 * one line "otter.user=waiting", "otter.user=postponed;until=YYYY-MM-DDTHH:MM:SSZ"
 * or "otter.user=started". Returns 1 with choice and *until (0 unless
 * postponed), 0 when no line names one, OTTER_EFORMAT when one is
 * malformed or there are two.
 */
#define OTTER_DDI_USER_PREFIX "otter.user="
int otter_ddi_user_choice(const char *details, char choice[16], int64_t *until, otter_err *err);

#endif
