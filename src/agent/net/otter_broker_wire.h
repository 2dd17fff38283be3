/* SPDX-License-Identifier: Apache-2.0 */
/* Records on the SOCK_SEQPACKET socket between otter-agentd and its broker, with fds. */
#ifndef OTTER_BROKER_WIRE_H
#define OTTER_BROKER_WIRE_H

#include <stddef.h>
#include <sys/types.h>

/* Sends text as one record with fds[0..nfds) (SCM_RIGHTS; nfds 0..2). 0 or -1 (errno). */
int otter_broker_wire_send(int sock, const char *text, const int *fds, int nfds);

/*
 * One record into buf (NUL-terminated); returns its length, 0 at EOF, -1 on
 * an error or a record cut to fit size - 1 bytes. The fds sent with it go
 * to fds[0..*nfds), at most two, close-on-exec (caller closes); any more
 * are closed, and so are all of them when -1 is returned.
 */
ssize_t otter_broker_wire_recv(int sock, char *buf, size_t size, int *fds, int *nfds);

#endif
