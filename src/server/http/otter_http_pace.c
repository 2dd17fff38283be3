/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Paced file bodies (issue #15, bandwidth caps; otter_http.h, pace): the
 * body is read from the descriptor block by block through a content
 * reader, each block as large as the pace hook allows. When it allows
 * nothing the connection is parked (MHD_suspend_connection) on a list that
 * the ticker resumes every OTTER_HTTP_PACE_TICK_MS, so a paced download
 * waiting for its tokens costs its connection and a 64 KiB buffer, never a
 * pool thread: polls keep being answered by every pool thread.
 */
#include <microhttpd.h>
#include <stdlib.h>
#include <unistd.h>

#include "otter_http_internal.h"

#define PACE_BLOCK 65536

struct otter_http_paced {
    struct otter_http *h;
    struct MHD_Connection *c;
    int fd;
    uint64_t offset;
    size_t (*pace)(void *ctx, size_t want);
    void (*pace_free)(void *ctx);
    void *ctx;
    struct otter_http_paced *next; /* on h->paced while parked */
};

static ssize_t paced_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct otter_http_paced *pc = cls;
    struct otter_http *h = pc->h;
    pthread_mutex_lock(&h->streams_lock);
    int closing = h->closing;
    pthread_mutex_unlock(&h->streams_lock);
    if (closing)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = pc->pace(pc->ctx, max);
    if (!n) {
        pthread_mutex_lock(&h->streams_lock);
        if (h->closing) {
            pthread_mutex_unlock(&h->streams_lock);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (!h->paced)
            pthread_cond_signal(&h->streams_cond); /* the ticker arms its pace tick */
        pc->next = h->paced;
        h->paced = pc;
        MHD_suspend_connection(pc->c);
        pthread_mutex_unlock(&h->streams_lock);
        return 0;
    }
    ssize_t got = pread(pc->fd, buf, n, (off_t)(pc->offset + pos));
    return got > 0 ? got : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void paced_free(void *cls)
{
    struct otter_http_paced *pc = cls;
    close(pc->fd);
    pc->pace_free(pc->ctx);
    free(pc);
}

struct MHD_Response *otter_http_paced_new(struct otter_http *h, struct MHD_Connection *c,
                                          otter_http_response *r)
{
    struct otter_http_paced *pc = calloc(1, sizeof *pc);
    if (!pc)
        return NULL;
    *pc = (struct otter_http_paced){.h = h,
                                    .c = c,
                                    .fd = r->fd,
                                    .offset = r->fd_offset,
                                    .pace = r->pace,
                                    .pace_free = r->pace_free,
                                    .ctx = r->pace_ctx};
    struct MHD_Response *resp =
        MHD_create_response_from_callback(r->fd_len, PACE_BLOCK, paced_read, pc, paced_free);
    if (!resp) {
        free(pc); /* r still owns the descriptor and the pace */
        return NULL;
    }
    r->pace = NULL; /* the response owns them now; the caller clears fd_set */
    r->pace_free = NULL;
    r->pace_ctx = NULL;
    return resp;
}

void otter_http_paced_resume(struct otter_http *h)
{
    for (struct otter_http_paced *pc = h->paced, *next; pc; pc = next) {
        next = pc->next;
        MHD_resume_connection(pc->c);
    }
    h->paced = NULL;
}
