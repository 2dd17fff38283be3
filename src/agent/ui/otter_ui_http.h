/* SPDX-License-Identifier: Apache-2.0 */
/* The front's MHD daemon and its routes (otter_ui.c has the list). */
#ifndef OTTER_UI_HTTP_H
#define OTTER_UI_HTTP_H

#include "otter_agent_conf.h"
#include "otter_ui_sess.h"

#include <sys/socket.h>

#define OTTER_UI_BODY_MAX 4096           /* an API request's body */
#define OTTER_UI_CONN_MEMORY (16 * 1024) /* per connection: request line and headers */
#define OTTER_UI_FILE_MAX (1024 * 1024)  /* a static file of the page */

typedef struct otter_ui_front {
    const otter_agent_conf *conf; /* borrowed */
    otter_ui_sessions sessions;
    char installed[256]; /* the running version, "" = unknown */
} otter_ui_front;

struct MHD_Daemon;

/* Starts serving f on sa (one internal thread); NULL when it cannot listen there. */
struct MHD_Daemon *otter_ui_http_start(otter_ui_front *f, const struct sockaddr *sa);

#endif
