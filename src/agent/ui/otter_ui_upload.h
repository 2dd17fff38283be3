/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "Upload update.zip" on the local page (docs/device-ui.md): the browser's
 * body is streamed into a new file in [ui] upload_dir (never whole in
 * memory, at most [ui] max_upload_mb), then the daemon is asked to
 * install it (control method install_file with the file's name). The
 * front never verifies or installs anything itself: the daemon's root
 * broker runs `otter-agent install` on it, the SD-card path.
 *
 * The file is removed in every case: here when the upload breaks off, is
 * too large or the daemon refuses the request; by the broker as it opens
 * it (or drops it) once the daemon took it; stale ones when the front
 * starts.
 */
#ifndef OTTER_UI_UPLOAD_H
#define OTTER_UI_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "otter_agent_conf.h"
#include "otter_err.h"

typedef struct otter_ui_upload {
    int fd;        /* the file being written, -1 none */
    char name[65]; /* upload-<32 hex>.zip */
    char path[4200];
    uint64_t len; /* bytes written */
    uint64_t max; /* [ui] max_upload_mb in bytes */
    int too_big;  /* more bytes came than max: the rest is dropped */
    int failed;   /* a write failed (disk full): the rest is dropped */
} otter_ui_upload;

/* The largest upload [ui] max_upload_mb allows, in bytes. */
uint64_t otter_ui_upload_max(const otter_agent_conf *conf);

/* Creates [ui] upload_dir when missing (mode 0700) and removes stale upload-*.zip files. */
void otter_ui_upload_prepare(const otter_agent_conf *conf);

/* A new file upload-<random>.zip in [ui] upload_dir, mode 0600, never an existing one.
 * OTTER_EIO. */
int otter_ui_upload_open(otter_ui_upload *u, const otter_agent_conf *conf, otter_err *err);

/* Appends n bytes; past max (or after a failed write) they are dropped and the flag set. */
void otter_ui_upload_write(otter_ui_upload *u, const char *data, size_t n);

/*
 * The whole body is there: closes the file and asks the daemon on
 * [control] socket to install it; *answer_out is the control answer line
 * (caller frees). A refusal (the answer's ok false) or an error removes
 * the file. OTTER_EIO (no daemon).
 */
int otter_ui_upload_finish(otter_ui_upload *u, const otter_agent_conf *conf, char **answer_out,
                           otter_err *err);

/* Closes and removes the file (a broken-off or refused upload); fine when none is open. */
void otter_ui_upload_abort(otter_ui_upload *u);

#endif
