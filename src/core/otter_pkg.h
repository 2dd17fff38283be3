/* SPDX-License-Identifier: Apache-2.0 */
/*
 * update.zip, read as a stream and written in the order a stream reader needs:
 *   1. manifest.json  (stored)
 *   2. manifest.sig   (stored)
 *   3. one stored entry per image, in manifest order (zstd or raw payload)
 * Nothing else. See docs/package-format.md.
 *
 * Reading never looks back and never holds more than fixed buffers: the
 * verified manifest comes first, then each image as installed bytes whose
 * size and SHA-256 are enforced while they stream.
 */
#ifndef OTTER_PKG_H
#define OTTER_PKG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "otter_err.h"
#include "otter_manifest.h"
#include "otter_sig.h"
#include "otter_trust.h"

/*
 * The byte source: fill buf with up to len bytes; return the count, 0 at the
 * end, or a negative otter_code with err filled. (File now, network later.)
 */
typedef ssize_t (*otter_pkg_read_fn)(void *ctx, void *buf, size_t len, otter_err *err);

typedef struct otter_pkg_reader otter_pkg_reader;

enum otter_pkg_flags {
    /* Hash on a second thread (fast on multi-core; the default for files). */
    OTTER_PKG_HASH_THREAD = 1 << 0,
    /* Allow reading without a trust root (otter inspect). Never on a device. */
    OTTER_PKG_UNVERIFIED = 1 << 1,
    /* Format 2: also hash every image whole and check it against its sha256
     * (otter verify, uploads). A device trusts the signed chunk digests. */
    OTTER_PKG_FULL_DIGEST = 1 << 2,
    /* Encrypted images without a key (otter verify, inspect, the server):
     * each chunk's ciphertext is checked against its signed stored_sha256
     * and handed out as ciphertext; installed sizes and digests, which need
     * the content, are not checked. Never on a device. */
    OTTER_PKG_CIPHERTEXT = 1 << 3,
};

/*
 * A reader over fn/ctx (borrowed; must outlive the reader). `name` is used in
 * messages ("update.zip: image rootfs: ..."). Caller frees.
 */
int otter_pkg_reader_new(otter_pkg_read_fn fn, void *ctx, const char *name, unsigned flags,
                         otter_pkg_reader **out, otter_err *err);

/* Where an interrupted format 2 read continues (all borrowed; copied by the reader). */
typedef struct otter_pkg_resume_point {
    const char *manifest; /* the exact manifest.json bytes of the first read */
    size_t manifest_len;
    const char *sig; /* and its manifest.sig */
    size_t sig_len;
    size_t image;          /* the image, in manifest order */
    size_t chunk;          /* its first chunk still needed */
    uint64_t entry_offset; /* otter_pkg_entry_offset() of that image in the first read */
} otter_pkg_resume_point;

/*
 * A reader that continues a format 2 package at a chunk: fn/ctx must deliver
 * the package from byte p->entry_offset + chunks[p->chunk].stored_offset on
 * (an HTTP Range request). read_manifest verifies the saved manifest and
 * signatures against the trust root again; next_image then returns image
 * p->image, whose read_chunk starts at chunk p->chunk; the following images
 * and the end of the zip are read and checked as in any read. Not with
 * OTTER_PKG_FULL_DIGEST. Caller frees.
 */
int otter_pkg_reader_resume(otter_pkg_read_fn fn, void *ctx, const char *name, unsigned flags,
                            const otter_pkg_resume_point *p, otter_pkg_reader **out,
                            otter_err *err);

/*
 * Format 2: the threads that check and decode chunks (1..4; the default is one
 * per core, at most 4; without OTTER_PKG_HASH_THREAD none). Call before
 * otter_pkg_read_manifest. Each costs a chunk buffer.
 */
void otter_pkg_reader_set_workers(otter_pkg_reader *r, unsigned workers);

/*
 * Delta images (docs/package-format.md, "Delta images"): fd is the source of
 * image `image`, the active slot of its target (borrowed, open until the
 * reader is freed; read with pread and mmap, its offset is not used). When
 * next_image reaches a delta image, the first delta_base_size bytes of its
 * source are hashed and compared with delta_base_sha256 before any chunk is
 * read: OTTER_EDIGEST "source mismatch" otherwise, and a delta image without
 * a source is refused (OTTER_EUSAGE). A caller that must know before it
 * writes anything (the agent) checks every delta image first with
 * otter_pkg_source_matches(). OTTER_EUSAGE for a bad name or too many.
 */
int otter_pkg_reader_set_source(otter_pkg_reader *r, const char *image, int fd, otter_err *err);

/*
 * Like set_source, for a caller that has already compared the source with
 * the image's base (otter_pkg_source_matches against this reader's
 * manifest): the reader does not hash it a second time. Each chunk is
 * still checked against its installed digest, so a source that changes
 * afterwards can only make the image fail, never install other bytes.
 */
int otter_pkg_reader_set_source_checked(otter_pkg_reader *r, const char *image, int fd,
                                        otter_err *err);

/*
 * 0 when the first base_size bytes of fd (read with pread from offset 0)
 * have SHA-256 sha256_hex; OTTER_EDIGEST when fd is shorter or differs
 * (message: "source mismatch: ..."), OTTER_EIO on a read error. `what`
 * names the source in messages ("active slot rootfs").
 */
int otter_pkg_source_matches(int fd, uint64_t base_size, const char *sha256_hex, const char *what,
                             otter_err *err);

/*
 * Encrypted images (docs/package-format.md, "Encrypted images"): the
 * recipient key that opens them (borrowed; must outlive the reader). Call
 * before otter_pkg_read_manifest, which then unwraps every encrypted
 * image's content key before it returns, so that a device that is not a
 * recipient is refused before it writes anything: OTTER_ESIG "image X: not
 * a recipient (...)". Without a key (and without OTTER_PKG_CIPHERTEXT) a
 * package with an encrypted image is refused there too.
 */
struct otter_crypt_key;
void otter_pkg_reader_set_decryption_key(otter_pkg_reader *r, const struct otter_crypt_key *key);

/* A reader over a file (or "-" for stdin); the reader owns the descriptor. */
int otter_pkg_reader_open_file(const char *path, unsigned flags, otter_pkg_reader **out,
                               otter_err *err);

/*
 * Reads manifest.json and manifest.sig and checks the signatures against
 * trust (k-of-n over the exact manifest bytes). Only with OTTER_PKG_UNVERIFIED
 * may trust be NULL. *m is borrowed, valid until the reader is freed; res
 * (may be NULL) receives the signers. No payload byte is read before this
 * returns 0.
 */
int otter_pkg_read_manifest(otter_pkg_reader *r, const otter_trust *trust, const otter_manifest **m,
                            otter_trust_result *res, otter_err *err);

/*
 * Borrowed after read_manifest: install hook `which` (OTTER_HOOK_PRE/POST),
 * its size and SHA-256 already checked against the signed manifest, or NULL
 * when the manifest names none (always NULL in a resumed read).
 */
const char *otter_pkg_hook(const otter_pkg_reader *r, int which, size_t *len);

/* Borrowed after read_manifest: the exact manifest bytes and the signatures. */
const char *otter_pkg_manifest_bytes(const otter_pkg_reader *r, size_t *len);
const otter_sig_list *otter_pkg_signatures(const otter_pkg_reader *r);

/*
 * Moves to the next image in manifest order: returns 1 with *img set
 * (borrowed), or 0 when all images were read and the archive ended cleanly
 * (no extra entry, complete central directory). Unread bytes of the current
 * image are read and checked first.
 */
int otter_pkg_next_image(otter_pkg_reader *r, const otter_manifest_image **img, otter_err *err);

/*
 * Next chunk of the current image's installed bytes: returns 1 with
 * data and len set (borrowed, valid until the next call), or 0 at the image's
 * end once its size and SHA-256 matched. OTTER_EDIGEST on the first
 * mismatch; the bytes already returned must then be thrown away.
 */
int otter_pkg_read_chunk(otter_pkg_reader *r, const void **data, size_t *len, otter_err *err);

/* Stored (compressed) size of the current image's zip entry. */
uint64_t otter_pkg_entry_size(const otter_pkg_reader *r);
/*
 * Offset of the current image entry's data in the package file: chunk i of a
 * format 2 image starts at this plus chunks[i].stored_offset.
 */
uint64_t otter_pkg_entry_offset(const otter_pkg_reader *r);
/* Bytes taken from the source so far. */
uint64_t otter_pkg_bytes_in(const otter_pkg_reader *r);

void otter_pkg_reader_free(otter_pkg_reader *r);

/* ---- Writing ---- */

/* One image to pack: the installed content comes from path. */
typedef struct otter_pkg_input {
    const char *name;             /* image name */
    const char *path;             /* file with the installed bytes */
    const char *handler;          /* raw, archive or file */
    const char *target;           /* slot class */
    int compress;                 /* 1: zstd, 0: stored raw */
    const char *verity_root_hash; /* NULL, or the image's dm-verity root hash (64 hex) */
} otter_pkg_input;

typedef struct otter_pkg_write_opts {
    const char *product;
    const char *const *compatible;
    size_t compatible_count;
    const char *version;
    int64_t security_version;
    const char *created;          /* NULL: now */
    int level;                    /* zstd level 1..19 */
    int threads;                  /* zstd workers; 0 = one per core */
    int format;                   /* 1 or 2; 0 = 2 (chunk table) */
    uint32_t chunk_size;          /* format 2 span; 0 = OTTER_CHUNK_SIZE_DEFAULT */
    const otter_key *const *keys; /* signers; may be empty (sign later) */
    size_t key_count;
    /* Encrypted images (format 2 only): every image is encrypted under its
     * own random content key, wrapped for each of these public keys. */
    const struct otter_crypt_pubkey *const *recipients;
    size_t recipient_count;
    const otter_manifest_notes *notes; /* release notes to sign in (issue #17); NULL = none */
    const char *hooks[OTTER_HOOKS];    /* install hook programs (paths), NULL = none */
    int partial; /* the package replaces only its images' slot classes ("replaces") */
} otter_pkg_write_opts;

/*
 * Builds a package at out_path: compresses each input (hashing the installed
 * bytes), writes manifest.json, manifest.sig and the payloads in stream order
 * through a temporary file renamed into place.
 */
int otter_pkg_write(const char *out_path, const otter_pkg_write_opts *opts,
                    const otter_pkg_input *inputs, size_t input_count, otter_err *err);

/*
 * Writes a package from a complete manifest m (validated here first): image
 * i's entry is the file payload_paths[i], whose bytes must be exactly its
 * stored chunks (or stream). Signed by keys (may be none); written through a
 * temporary file renamed into place. `otter delta` builds packages this way.
 */
int otter_pkg_write_manifest(const char *out_path, const otter_manifest *m,
                             const char *const *payload_paths, const otter_key *const *keys,
                             size_t key_count, otter_err *err);

/* Like otter_pkg_write_manifest, with the install hooks m names read from
 * hook_paths[OTTER_HOOK_PRE/POST] (entries after manifest.sig); their bytes
 * must match m's sizes and digests. */
int otter_pkg_write_manifest_hooks(const char *out_path, const otter_manifest *m,
                                   const char *const *payload_paths, const char *const *hook_paths,
                                   const otter_key *const *keys, size_t key_count, otter_err *err);

/*
 * Adds signatures by keys to an existing package (replacing manifest.sig),
 * atomically: the package is rewritten to a temporary file and renamed.
 * The manifest bytes are not changed.
 */
int otter_pkg_sign(const char *path, const otter_key *const *keys, size_t key_count,
                   otter_err *err);

#endif
