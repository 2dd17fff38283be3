/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package reader's insides, shared by otter_pkg_read.c (zip entries,
 * manifest, format 1 streams) and otter_pkg_read_chunks.c (format 2 chunks).
 * Internal to libotter.
 */
#ifndef OTTER_PKG_INTERNAL_H
#define OTTER_PKG_INTERNAL_H

#include <archive.h>
#include <zstd.h>

#include "otter_chunkq.h"
#include "otter_crypt.h"
#include "otter_digest.h"
#include "otter_hashq.h"
#include "otter_pkg.h"

#define IN_BLOCK (128 * 1024)
#define OTTER_PKG_IN_BLOCK IN_BLOCK
#define CHUNK (256 * 1024)
#define NBUFS 4
/* 8 MiB window: what zstd -19 uses; a larger one is refused, which bounds memory. */
#define WINDOW_LOG_MAX 23
/* The end of central directory record plus a zip64 locator fit in here. */
#define TAIL_KEEP 64
/* Central directory and end records of at most 34 entries: far below this. */
#define TRAILER_MAX (1024 * 1024)

enum state { ST_START, ST_MANIFEST, ST_IMAGE, ST_BETWEEN, ST_DONE };

struct otter_pkg_reader {
    struct archive *a;
    otter_pkg_read_fn fn;
    void *ctx;
    int fd; /* owned when >= 0 (open_file) */
    char name[256];
    unsigned flags;
    int src_failed;
    otter_err src_err;
    uint8_t *inbuf;
    uint64_t bytes_in;
    uint8_t tail[TAIL_KEEP];
    size_t tail_len;

    char *manifest_bytes;
    size_t manifest_len;
    otter_manifest *manifest;
    otter_sig_list *sigs;

    enum state state;
    int failed; /* sticky: the first error is repeated on every later call */
    otter_err fail_err;
    size_t next_index;
    const otter_manifest_image *cur;
    uint64_t entry_size, entry_consumed, out_total;
    uint64_t entry_offset; /* where the current entry's data starts in the package */
    uint64_t stream_base;  /* package offset of the first byte libarchive sees (resume) */
    /* A resumed read (otter_pkg_reader_resume): the source starts inside
     * image resume_image at chunk resume_chunk; that entry's rest is read
     * raw, then libarchive takes over on the bytes after it (leftover first). */
    int resume;
    size_t resume_image, resume_chunk;
    uint64_t resume_offset; /* package offset of that entry's data */
    char *resume_sig;
    size_t resume_sig_len;
    int raw_mode;      /* reading the resumed entry without libarchive */
    uint64_t raw_left; /* its stored bytes not yet pulled */
    uint8_t *leftover; /* bytes after it, pulled with its last block */
    size_t leftover_len;
    int archive_closed; /* resumed in the last image: libarchive never opens */
    const uint8_t *blk;
    size_t blk_len, blk_pos;
    int entry_eof;
    size_t zret; /* last ZSTD_decompressStream result: 0 = frame complete */
    ZSTD_DCtx *dctx;
    otter_hashq *hq;
    /* Format 2: chunks checked on worker threads, taken in order. */
    otter_chunkq *cq;
    size_t chunks_filled; /* of the current image, read and submitted */
    otter_sha256 *whole;  /* OTTER_PKG_FULL_DIGEST: all installed bytes */
    unsigned workers;     /* set_workers(); 0: the default */
    /* Delta images: set_source()'s descriptors (borrowed), by image name. */
    struct {
        char image[OTTER_IDENT_MAX + 1];
        int fd;
        int checked; /* the caller compared it with the base already */
    } sources[OTTER_IMAGES_MAX];
    size_t source_count;
    /* Encrypted images: set_decryption_key()'s key (borrowed) and, after
     * read_manifest, each encrypted image's unwrapped content key (wiped at
     * free); cipher_only while the current image is read without one. */
    const otter_crypt_key *crypt_key;
    otter_crypt_image *crypt; /* OTTER_IMAGES_MAX entries, NULL when no image is encrypted */
    int cipher_only;
    /* Install hooks (read after manifest.sig, checked against the manifest). */
    char *hook_bytes[OTTER_HOOKS];
    size_t hook_len[OTTER_HOOKS];
    size_t hook_entries; /* zip entries they took */
};

/* Records the reader's first (sticky) error: "<package>: <message>". */
int otter_pkg_rd_fail(otter_pkg_reader *r, otter_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Next block of the source into inbuf (the tail and byte count kept); -1 on error. */
ssize_t otter_pkg_rd_pull(otter_pkg_reader *r);

/* Sets up a zeroed r; opens the zip unless r->resume. */
int otter_pkg_rd_init(otter_pkg_reader *r, otter_pkg_read_fn fn, void *ctx, const char *name,
                      unsigned flags, otter_err *err);

/* Starts libarchive on the source (reads the first bytes). */
int otter_pkg_rd_open_archive(otter_pkg_reader *r, otter_err *err);

/* Resume: checks the saved manifest against the resume point. */
int otter_pkg_resume_check(otter_pkg_reader *r, otter_err *err);

/* Resume: next_image's part. 1 with *img (the resumed image), 0 done, 2: go on
 * with the zip entries as usual, negative on error. */
int otter_pkg_resume_next(otter_pkg_reader *r, const otter_manifest_image **img, otter_err *err);

/* Resume: fill_input for the entry read raw. */
int otter_pkg_resume_fill(otter_pkg_reader *r, otter_err *err);

/* Makes sure there is input to work on; sets entry_eof at the entry's end. */
int otter_pkg_rd_fill_input(otter_pkg_reader *r, otter_err *err);

/* The next zip entry must be want ("first", "second" in messages). */
int otter_pkg_rd_expect_entry(otter_pkg_reader *r, const char *want, const char *position,
                              otter_err *err);

/* Reads the current entry whole (at most max bytes) into a new NUL-terminated buffer. */
int otter_pkg_rd_small_entry(otter_pkg_reader *r, const char *what, size_t max, char **out,
                             size_t *out_len, otter_err *err);

/* Install hooks: reads and checks the entries the manifest names (otter_pkg_read_hooks.c). */
int otter_pkg_rd_read_hooks(otter_pkg_reader *r, otter_err *err);

/* Format 1: otter_pkg_read_chunk() for the current image. */
int otter_pkg_v1_read_chunk(otter_pkg_reader *r, const void **data, size_t *len, otter_err *err);

/* Format 2: checks the entry against the chunk table at the image's start. */
int otter_pkg_v2_start_image(otter_pkg_reader *r, otter_err *err);

/* Delta images: at the image's start, the source given for it is checked
 * against delta_base_sha256 and handed to the chunk queue (-1 for others). */
int otter_pkg_delta_start_image(otter_pkg_reader *r, otter_err *err);

/* Encrypted images: unwraps every content key right after the manifest was
 * verified, or refuses (not a recipient, no key). */
int otter_pkg_crypt_unwrap_all(otter_pkg_reader *r, otter_err *err);

/* Encrypted images: at the image's start, its key (or cipher-only) to the chunk queue. */
int otter_pkg_crypt_start_image(otter_pkg_reader *r, otter_err *err);

/* Wipes and frees the content keys. */
void otter_pkg_crypt_free(otter_pkg_reader *r);

/* Format 2: otter_pkg_read_chunk() for the current image. */
int otter_pkg_v2_read_chunk(otter_pkg_reader *r, const void **data, size_t *len, otter_err *err);

#endif
