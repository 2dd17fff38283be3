/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release artifacts on disk, content-addressed: [storage] artifacts/<sha256>.
 * An upload streams into a temporary file in that directory while SHA-256,
 * SHA-1 and MD5 are computed (DDI clients want all three); once verified it
 * is fsynced and renamed to its digest, and the directory is fsynced, so a
 * crash leaves either no artifact or a complete one (plus, at worst, a
 * stale ".upload-*" temporary file).
 */
#ifndef OTTER_ARTIFACT_H
#define OTTER_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

typedef struct otter_artifact_sink otter_artifact_sink;

typedef struct otter_artifact_hashes {
    char sha256[65];
    char sha1[41];
    char md5[33];
    uint64_t size;
} otter_artifact_hashes;

/* A new temporary file in dir (borrowed; must outlive the sink). Caller frees. */
int otter_artifact_sink_new(const char *dir, otter_artifact_sink **out, otter_err *err);

/* Appends and hashes; after the first failure every call fails (the sink keeps the error). */
int otter_artifact_sink_write(otter_artifact_sink *s, const void *data, size_t len);

/*
 * Ends the upload: fsyncs and fills h. Returns the first write error if
 * there was one. The temporary file stays until commit or free.
 */
int otter_artifact_sink_finish(otter_artifact_sink *s, otter_artifact_hashes *h, otter_err *err);

/* Path of the temporary file (borrowed), for reading it back before commit. */
const char *otter_artifact_sink_path(const otter_artifact_sink *s);

/*
 * Renames the temporary file to dir/<sha256> (an existing file with that
 * name has the same content and is kept) and fsyncs dir.
 */
int otter_artifact_sink_commit(otter_artifact_sink *s, otter_err *err);

/* Removes the temporary file unless committed, and frees s. NULL is allowed. */
void otter_artifact_sink_free(otter_artifact_sink *s);

/* dir/<sha256> into buf; OTTER_EUSAGE unless sha256 is 64 lower-case hex digits. */
int otter_artifact_path(const char *dir, const char *sha256, char *buf, size_t cap, otter_err *err);

/*
 * Removes temporary upload files in dir last modified more than max_age
 * seconds before now (left by a crash; younger ones may belong to an
 * upload in flight on another server sharing the directory). *removed
 * (may be NULL) gets the count. OTTER_EIO when dir cannot be read.
 */
int otter_artifact_sweep(const char *dir, int64_t now, int64_t max_age, unsigned *removed,
                         otter_err *err);

/* Removes dir/<sha256> (a missing file is fine). */
int otter_artifact_remove(const char *dir, const char *sha256, otter_err *err);

#endif
