/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by otter_control.c (setup, the daemon's side) and otter_control_serve.c (the thread). */
#ifndef OTTER_CONTROL_IMPL_H
#define OTTER_CONTROL_IMPL_H

#include "otter_control.h"

#include <pthread.h>
#include <sys/types.h>

#define CONTROL_MAX_CLIENTS 16

typedef struct control_client {
    int fd;         /* -1: free */
    uid_t uid;      /* the peer's user (SO_PEERCRED) */
    int subscribed; /* gets state events */
    int discarding; /* an oversized line: dropped up to its newline */
    size_t used;
    char in[OTTER_CONTROL_MAX_REQ + 1];
} control_client;

struct otter_control {
    const otter_agent_conf *conf;
    int listen_fd, bound;
    int wake[2]; /* the daemon's thread wakes the control thread: state changed, stop */
    gid_t gid;   /* [control] group */
    int have_group;
    pthread_t thread;
    int running;
    control_client clients[CONTROL_MAX_CLIENTS]; /* the control thread's only */
    /* Under mu: */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* the daemon's thread waits on it for requests */
    otter_control_state st;
    unsigned long seq; /* changes of st; the thread sends events when it moved */
    otter_control_todo todo;
    int cancel;
    int stop;
};

void *control_thread(void *arg);

#endif
