/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A resumable HTTP(S) byte source for the package reader, over libcurl.
 *
 * It is a pull source (otter_fetch_read matches otter_pkg_read_fn): the
 * install pipeline asks for bytes and the source drives libcurl until it
 * has some. A dropped or stalled connection is retried from the last byte
 * handed out with an HTTP Range request (If-Range on the first response's
 * validator), so the pipeline above keeps its position and hash state and
 * never sees the interruption. A server that ignores Range (200 instead of
 * 206) is read again from the start, skipping what was already delivered.
 *
 * TLS failures (bad certificate, wrong CA, pin mismatch) and HTTP errors
 * other than 408/429/5xx are final: no retry, and no body byte is delivered.
 * Memory is fixed: one receive buffer of OTTER_FETCH_BUFFER bytes.
 */
#ifndef OTTER_FETCH_H
#define OTTER_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "otter_err.h"

#define OTTER_FETCH_BUFFER (256 * 1024)

typedef struct otter_fetch_opts {
    const char *url;
    const char *ca_file;       /* NULL: the system's CA store */
    const char *pinned_pubkey; /* "sha256//BASE64[;sha256//BASE64...]" or NULL */
    const char *client_cert;   /* PEM, optional */
    const char *client_key;    /* PEM, TPM key blob or handle (otter_tls_client.h), optional */
    const char *tpm_tcti;      /* the TPM's TCTI for a TPM key, optional */
    const char *auth_header;   /* e.g. "Authorization: TargetToken abc", optional */
    const char *proxy;         /* libcurl proxy string, optional */
    long connect_timeout;      /* seconds; 0: 10 */
    long stall_timeout;        /* seconds without a byte before retrying; 0: 30 */
    unsigned max_retries;      /* reconnects in a row that bring no new byte; 0 means none */
    long max_recv_speed;       /* bytes per second, 0: unlimited */
    long retry_delay_ms;       /* first back-off; doubles up to 5 s; 0: 200 */
    uint64_t start_offset;     /* the body from this byte on (Range); 0: all of it */
} otter_fetch_opts;

typedef struct otter_fetch otter_fetch;

/* Prepares a transfer (nothing is sent yet). Copies what it needs from o. Caller frees. */
int otter_fetch_new(const otter_fetch_opts *o, otter_fetch **out, otter_err *err);

/*
 * Reads up to len body bytes: the count, 0 at the end of the body, or a
 * negative otter_code (OTTER_EIO for network and HTTP failures after the
 * retries, OTTER_ESIG for TLS verification or pin failures).
 */
ssize_t otter_fetch_read(void *http, void *buf, size_t len, otter_err *err);

/* Body bytes delivered so far, and how many times the transfer was resumed. */
uint64_t otter_fetch_offset(const otter_fetch *h);
unsigned otter_fetch_resumes(const otter_fetch *h);
/* The total size announced by the server (Content-Length/Content-Range), or -1. */
int64_t otter_fetch_total(const otter_fetch *h);

/*
 * s10-cdn: the HTTP client error (4xx but 408 and 429) that ended the
 * download, or 0: a wrong (403) or expired (410) signed link says so.
 */
long otter_fetch_refused(const otter_fetch *h);

void otter_fetch_free(otter_fetch *h);

#endif
