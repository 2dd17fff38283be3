/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local control API's wire format (docs/device-ui.md): one JSON object
 * per line, at most OTTER_CONTROL_MAX_REQ bytes. A request
 *
 *   {"id": 7, "method": "postpone", "params": {"seconds": 3600}}
 *
 * gets one answer with the same id, {"id":7,"ok":true,"result":{...}} or
 * {"id":7,"ok":false,"error":{"code":"...","message":"..."}}; a subscriber
 * also gets {"event":"state","state":{...}} lines. This module is pure
 * (no sockets, no threads): the parser is a fuzz target.
 */
#ifndef OTTER_CONTROL_PROTO_H
#define OTTER_CONTROL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

#define OTTER_CONTROL_MAX_REQ 4096  /* one request line, newline excluded */
#define OTTER_CONTROL_MAX_ID 64     /* a string id's bytes */
#define OTTER_CONTROL_MAX_NOTES 8   /* languages of release notes in an offer */
#define OTTER_CONTROL_MAX_NOTE 8192 /* bytes of one language's notes */
#define OTTER_CONTROL_MAX_BLOCKERS 4
#define OTTER_CONTROL_MAX_TEXT 512

enum otter_control_method {
    OTTER_CONTROL_STATUS = 1, /* the state now */
    OTTER_CONTROL_SUBSCRIBE,  /* the state now, then an event on each change */
    OTTER_CONTROL_CHECK,      /* poll the server now */
    OTTER_CONTROL_DOWNLOAD,   /* download the offer into the spool (and consent to it) */
    OTTER_CONTROL_START,      /* install the offer (the spooled one, or streaming) */
    OTTER_CONTROL_POSTPONE,   /* params.seconds: not now, ask again after */
    OTTER_CONTROL_CANCEL,     /* stop a running download */
    OTTER_CONTROL_DECLINE,    /* "ask" mode: refuse the offer */
    OTTER_CONTROL_VERIFY,     /* check the connection to the server, name what fails */
    /* params.file: install an uploaded update.zip (a name in [ui] upload_dir) */
    OTTER_CONTROL_INSTALL_FILE,
};

/* The longest file name install_file takes: a plain name, never a path. */
#define OTTER_CONTROL_MAX_FILE 64

typedef struct otter_control_req {
    char id[OTTER_CONTROL_MAX_ID + 3]; /* the id as JSON text: 7 or "abc" (quoted) */
    int method;                        /* enum otter_control_method */
    long seconds;                      /* postpone */
    /* install_file: a plain name in [ui] upload_dir */
    char file[OTTER_CONTROL_MAX_FILE + 1];
    int no_reboot; /* start with params.reboot false: switch, the reboot is the user's */
} otter_control_req;

/* 1 when name may name an upload: 1..64 of [A-Za-z0-9._-], not starting with '.'. */
int otter_control_file_name_ok(const char *name, size_t len);

/*
 * Parses one request line (buf, len: no newline). On failure *code gets
 * the error code for the answer ("parse", "too_long", "bad_request",
 * "unknown_method") and req->id the id when it could be read ("null"
 * otherwise), so the error still answers the right request. Unknown
 * fields are refused (a typo must not be ignored). OTTER_EFORMAT.
 */
int otter_control_req_parse(const char *buf, size_t len, otter_control_req *req, const char **code,
                            otter_err *err);

/* The method's name ("status" ...), or "?" */
const char *otter_control_method_name(int method);

enum otter_control_phase {
    OTTER_CONTROL_IDLE = 0,
    OTTER_CONTROL_AVAILABLE,
    OTTER_CONTROL_DOWNLOADING,
    OTTER_CONTROL_READY,
    OTTER_CONTROL_INSTALLING,
    OTTER_CONTROL_REBOOT,
    OTTER_CONTROL_FAILED,
};

const char *otter_control_phase_name(int phase);

typedef struct otter_control_offer {
    char action[129];
    char version[129];
    uint64_t size;     /* download bytes (otter.size, else the artifact's size) */
    int security;      /* otter.security = 1 */
    char deadline[40]; /* RFC 3339, "" when none */
    int consent;       /* 1: "ask" mode, the user must agree before the download */
    /* The rollout's deferral limits (issue #15): otter.deferrals_left, .deferral_max_seconds,
     * .urgent */
    int deferrals_limited; /* 0: the server sets no limit */
    long deferrals_left;
    long deferral_max; /* seconds; 0: only the device's postpone_max */
    int urgent;        /* no postponement at all */
    size_t n_notes;
    char lang[OTTER_CONTROL_MAX_NOTES][36];
    char *notes[OTTER_CONTROL_MAX_NOTES]; /* owned by the offer: otter_control_offer_clear */
} otter_control_offer;

/* Frees the notes; the offer is empty afterwards. */
void otter_control_offer_clear(otter_control_offer *o);
/* A deep copy of src into dst (dst cleared first). OTTER_ENOMEM. */
int otter_control_offer_copy(otter_control_offer *dst, const otter_control_offer *src);

typedef struct otter_control_state {
    int phase;
    int percent;                         /* downloading, installing; -1 unknown */
    char reason[OTTER_CONTROL_MAX_TEXT]; /* failed: why */
    int have_offer;
    otter_control_offer offer;
    long long postponed_until; /* epoch seconds; 0 none */
    size_t n_blockers;         /* why Start is not possible now */
    char blocker_what[OTTER_CONTROL_MAX_BLOCKERS][16];
    char blocker_why[OTTER_CONTROL_MAX_BLOCKERS][OTTER_CONTROL_MAX_TEXT];
    long checks;          /* server polls done (a client waits for it to grow) */
    long long last_check; /* epoch seconds of the last good poll; 0 never */
    char check_error[OTTER_CONTROL_MAX_TEXT]; /* the last poll's failure, "" when it worked */
    long verifies;                            /* connection checks done */
    char verify_failure[24]; /* "" ok; "dns", "refused", "no_route", "tls", "pin", ... */
    char verify_message[OTTER_CONTROL_MAX_TEXT];
    long refusals; /* users' requests the daemon's thread could not carry out */
    char refusal[OTTER_CONTROL_MAX_TEXT]; /* the last one's reason */
} otter_control_state;

/* The state as a JSON object text (caller frees), NULL when out of memory. */
char *otter_control_state_json(const otter_control_state *st);

/* Answer lines (with the newline; caller frees; NULL when out of memory). */
char *otter_control_answer_ok(const char *id, const char *result_json);
char *otter_control_answer_err(const char *id, const char *code, const char *message);
char *otter_control_event(const char *kind, const char *body_json);

#endif
