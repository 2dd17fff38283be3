/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resuming an install cut by a reboot or power loss (package format 2).
 *
 * While an install from a URL writes the inactive slot it keeps a small
 * record in the state directory ("resume.json", atomic writes): the URL, the
 * side, the exact manifest and signature bytes, and per image where its data
 * starts in the package and the first bytes of a raw image (the raw handler
 * writes them last, so the slot cannot show them after a cut). After a
 * reboot, the same install re-hashes what the inactive slot already holds,
 * chunk by chunk against the signed table, and continues at the first chunk
 * that does not match, with an HTTP Range request from that chunk's first
 * stored byte. Raw slots (the slot itself) and file slots (their temp file,
 * named in the record) resume at any chunk; an archive slot's directory
 * starts its image again (the resume point is that image's chunk 0).
 *
 * Nothing in the record is trusted: the manifest is verified against the
 * trust root again, and every byte that comes after the resume point is
 * checked against its chunk's digests like in any install. A record that
 * does not fit (another URL or side, a state that is not "slot released",
 * unparsable) is ignored and the install starts at byte 0.
 */
#ifndef OTTER_RESUME_H
#define OTTER_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "otter_device.h"
#include "otter_err.h"
#include "otter_manifest.h"

#define OTTER_RESUME_HEAD 4096            /* the raw handler's held-back head */
#define OTTER_RESUME_MAX_BYTES (4u << 20) /* the record file */
#define OTTER_RESUME_URL_MAX 4096
#define OTTER_RESUME_PATH_MAX 1024

typedef struct otter_resume_image {
    int has_offset;
    uint64_t offset; /* package offset of the image entry's data */
    size_t head_len; /* 0 until chunk 0 of a raw image was verified */
    uint8_t head[OTTER_RESUME_HEAD];
    char partial[OTTER_RESUME_PATH_MAX + 1]; /* file image: its temp file; "" otherwise */
} otter_resume_image;

typedef struct otter_resume {
    char *url;
    int side; /* OTTER_SLOT_A / OTTER_SLOT_B */
    char *manifest;
    size_t manifest_len;
    char *sig;
    size_t sig_len;
    size_t n_images;
    otter_resume_image images[OTTER_IMAGES_MAX];
} otter_resume;

/* Where to continue: image, chunk, and the package byte to ask for. */
typedef struct otter_resume_point {
    size_t image, chunk;
    uint64_t from;
} otter_resume_point;

/* A new record (copies url, manifest and sig). Caller frees. NULL on ENOMEM. */
otter_resume *otter_resume_new(const char *url, int side, const char *manifest, size_t manifest_len,
                               const char *sig, size_t sig_len);
void otter_resume_free(otter_resume *r);

/* The record's path in the state directory (caller's buffer). */
void otter_resume_path(const otter_device *d, char *buf, size_t size);

/*
 * Strict parse of a record (name in messages). OTTER_EFORMAT saying what and
 * where for anything malformed or oversized; caller frees *out.
 */
int otter_resume_parse_mem(const char *buf, size_t len, const char *name, otter_resume **out,
                           otter_err *err);

/* The record as compact JSON (caller frees); NULL on ENOMEM. */
char *otter_resume_to_json_new(const otter_resume *r);

/* Saves atomically; removes. */
int otter_resume_save(const otter_device *d, const otter_resume *r, otter_err *err);
void otter_resume_remove(const otter_device *d);

/*
 * Decides whether an install of url can resume: loads the record, checks it
 * fits (url, the inactive side released in the state, nothing pending),
 * verifies its manifest against the device's trust root and re-hashes the
 * inactive slot. Returns 1 with *rec (caller frees), *m (caller frees) and
 * *point set; 0 when the install should start at byte 0 (any reason, said in
 * why when not NULL). Never fails: a bad record is a fresh start.
 */
int otter_resume_plan(otter_device *d, const char *url, otter_resume **rec, otter_manifest **m,
                      otter_resume_point *point, char *why, size_t why_size);

#endif
