/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device side of hawkBit's Direct Device Integration (DDI) API v1: the
 * JSON the server sends (base poll, deploymentBase, cancelAction) parsed
 * into plain structs, and the JSON the device sends (feedback, configData)
 * built from them.
 *
 * Parsing validates what the agent relies on — required fields, types,
 * lengths, counts, URL schemes, hash formats — and ignores keys it does not
 * know: hawkBit adds fields between versions (actionHistory, new _links), and
 * an update client that breaks on them would strand devices. Every input is
 * bounded (OTTER_DDI_MAX_BODY) and errors say where ("deploymentBase:
 * deployment.chunks[0].artifacts[1].hashes.sha256: ...").
 */
#ifndef OTTER_DDI_H
#define OTTER_DDI_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

#define OTTER_DDI_MAX_BODY (256 * 1024)
#define OTTER_DDI_MAX_URL 2048
#define OTTER_DDI_MAX_CHUNKS 8
#define OTTER_DDI_MAX_ARTIFACTS 8
#define OTTER_DDI_MAX_NAME 128

/* What the base poll offers. Empty strings: link absent. */
typedef struct otter_ddi_base {
    long sleep_seconds; /* config.polling.sleep; -1 when absent */
    char deployment[OTTER_DDI_MAX_URL];
    char cancel[OTTER_DDI_MAX_URL];
    char config_data[OTTER_DDI_MAX_URL];
    char installed[OTTER_DDI_MAX_URL];
    char confirmation[OTTER_DDI_MAX_URL]; /* confirmationBase: the user's consent is asked */
} otter_ddi_base;

enum otter_ddi_mode { OTTER_DDI_SKIP = 0, OTTER_DDI_ATTEMPT, OTTER_DDI_FORCED };

typedef struct otter_ddi_artifact {
    char filename[OTTER_DDI_MAX_NAME + 1];
    uint64_t size;
    char sha256[65]; /* "" when the server sent none */
    char sha1[41];
    char md5[33];
    char download[OTTER_DDI_MAX_URL]; /* _links.download (https), else download-http */
} otter_ddi_artifact;

typedef struct otter_ddi_chunk {
    char part[OTTER_DDI_MAX_NAME + 1];
    char version[OTTER_DDI_MAX_NAME + 1];
    char name[OTTER_DDI_MAX_NAME + 1];
    size_t n_artifacts;
    otter_ddi_artifact artifacts[OTTER_DDI_MAX_ARTIFACTS];
} otter_ddi_chunk;

typedef struct otter_ddi_deployment {
    char id[OTTER_DDI_MAX_NAME + 1]; /* the action id */
    int download;                    /* enum otter_ddi_mode */
    int update;
    int maintenance_available; /* 1 unless maintenanceWindow is "unavailable" */
    size_t n_chunks;
    otter_ddi_chunk chunks[OTTER_DDI_MAX_CHUNKS];
} otter_ddi_deployment;

typedef struct otter_ddi_cancel {
    char id[OTTER_DDI_MAX_NAME + 1];      /* the cancel action's id */
    char stop_id[OTTER_DDI_MAX_NAME + 1]; /* the action to stop */
} otter_ddi_cancel;

int otter_ddi_parse_base(const char *buf, size_t len, otter_ddi_base *out, otter_err *err);
int otter_ddi_parse_deployment(const char *buf, size_t len, otter_ddi_deployment *out,
                               otter_err *err);
int otter_ddi_parse_cancel(const char *buf, size_t len, otter_ddi_cancel *out, otter_err *err);

/* "HH:MM:SS" to seconds; -1 when malformed. */
long otter_ddi_parse_sleep(const char *s);

/*
 * Feedback body for an action: execution is closed|proceeding|canceled|
 * scheduled|rejected|resumed|downloaded|download, finished success|failure|none,
 * progress cnt/of (of = 0: omitted), details (NULL-terminated, may be NULL).
 * Caller frees; NULL on a bad value or ENOMEM.
 */
char *otter_ddi_feedback_new(const char *action_id, const char *execution, const char *finished,
                             unsigned cnt, unsigned of, const char *const *details);

/* configData body: mode merge with the given key/value pairs (n pairs). Caller frees. */
char *otter_ddi_config_data_new(const char *const *keys, const char *const *values, size_t n);

#endif
