/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the unprivileged otter-agentd may ask of its root installer broker
 * (otter_broker.c): one request per SOCK_SEQPACKET message, ASCII words
 * separated by one space, nothing else:
 *
 *   install spool          otter-agent install ... <the spool's update.zip>
 *   install upload NAME    otter-agent install ... <[ui] upload_dir>/NAME (a browser's upload;
 *                          the broker opens it without following links, unlinks it, and
 *                          gives the installer the open file)
 *   drop-upload NAME       remove <[ui] upload_dir>/NAME (an upload the daemon did not install)
 *   install URL            otter-agent install ... URL (streaming)
 *   download MAX URL       otter-agent download --max-size MAX ... URL
 *   stop                   SIGTERM to the running installer
 *   clear-spool            empty [server] spool
 *   reboot VERSION         run [reboot] command (OTTER_VERSION=VERSION)
 *   status                 the device's state, for the result and configData
 *
 * Nothing else: no options, no paths, no config, no token. The broker adds
 * its own --config, --ca, --pin, --cert, --key and token, by its own check
 * of the URL's origin (otter_origin), never by the request. NAME is a
 * plain file name, never a path.
 */
#ifndef OTTER_BROKER_REQ_H
#define OTTER_BROKER_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "otter_ddi.h"
#include "otter_err.h"

/* The longest request: "download " + 20 digits + " " + a URL. */
#define OTTER_BROKER_MAX_REQ (OTTER_DDI_MAX_URL + 64)

enum otter_broker_op {
    OTTER_BROKER_INSTALL = 1,
    OTTER_BROKER_DOWNLOAD,
    OTTER_BROKER_STOP,
    OTTER_BROKER_CLEAR_SPOOL,
    OTTER_BROKER_REBOOT,
    OTTER_BROKER_STATUS,
    OTTER_BROKER_DROP_UPLOAD,
};

/* An upload's file name: 1..64 of [A-Za-z0-9._-], not starting with '.' (never a path). */
#define OTTER_BROKER_MAX_UPLOAD 64

typedef struct otter_broker_req {
    int op;                               /* enum otter_broker_op */
    int from_spool;                       /* install: the spool's package, not url */
    uint64_t max_size;                    /* download: the artifact's size from the server */
    char url[OTTER_DDI_MAX_URL];          /* install (streaming), download */
    char version[OTTER_DDI_MAX_NAME + 1]; /* reboot */
    /* install upload, drop-upload: a plain name in [ui] upload_dir */
    char upload[OTTER_BROKER_MAX_UPLOAD + 1];
} otter_broker_req;

/*
 * Parses one request of len bytes (not NUL-terminated) into *req.
 * OTTER_EFORMAT (err says why) for anything but the forms above: an
 * unknown word, an option, a URL that is not http(s)://, a blank or a
 * control byte in it, a size of 0 or not decimal, a request too long.
 */
int otter_broker_req_parse(const char *buf, size_t len, otter_broker_req *req, otter_err *err);

/* Writes req in its wire form into out (size bytes, NUL-terminated); OTTER_EUSAGE when it
 * is not a valid request or does not fit. The result parses back to req. */
int otter_broker_req_format(const otter_broker_req *req, char *out, size_t size, otter_err *err);

#endif
