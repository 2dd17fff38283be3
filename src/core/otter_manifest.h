/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.json, formats 1 and 2: what a package installs, for which hardware, and
 * the size and SHA-256 of every installed image. Parsed strictly (known keys
 * only, bounded lengths and counts) because it arrives from the network; the
 * signature covers its exact bytes, so a parsed manifest is only trusted
 * after otter_trust_verify() accepted those bytes.
 */
#ifndef OTTER_MANIFEST_H
#define OTTER_MANIFEST_H

#include "otter_manifest_notes.h"
#include <stddef.h>
#include <stdint.h>

#include "otter_digest.h"
#include "otter_err.h"

#define OTTER_MANIFEST_MAX (1024 * 1024)
#define OTTER_IDENT_MAX 64 /* product, model, image name, target, version */
#define OTTER_FILE_NAME_MAX 128
#define OTTER_IMAGES_MAX 32
#define OTTER_COMPATIBLE_MAX 256
#define OTTER_HOOK_MAX (256 * 1024) /* bytes of one install hook program */
#define OTTER_HOOK_PRE 0
#define OTTER_HOOK_POST 1
#define OTTER_HOOKS 2
/* Format 2 chunk spans: powers of two in this range (docs/package-format.md). */
#define OTTER_CHUNK_SIZE_MIN (64u * 1024)
#define OTTER_CHUNK_SIZE_MAX (8u * 1024 * 1024)
#define OTTER_CHUNK_SIZE_DEFAULT (1u * 1024 * 1024)
#define OTTER_CHUNKS_MAX 65536 /* per image */
/* Largest integer a JSON reader in any language keeps exactly (2^53 - 1). */
#define OTTER_JSON_INT_MAX 9007199254740991LL

typedef enum otter_compression {
    OTTER_COMPRESSION_NONE = 0,
    OTTER_COMPRESSION_ZSTD = 1,
} otter_compression;

/* How a chunk's installed bytes are made (docs/package-format.md, "Delta images"). */
typedef enum otter_chunk_method {
    OTTER_METHOD_ZSTD = 0,        /* a zstd frame (or, with compression none, the bytes) */
    OTTER_METHOD_COPY = 1,        /* the source range itself; no stored bytes */
    OTTER_METHOD_ZSTD_PATCH = 2,  /* a zstd frame with the source range as prefix */
    OTTER_METHOD_BSDIFF = 3,      /* a zstd frame holding an OTDIFF1 patch */
    OTTER_METHOD_BSDIFF_LZMA = 4, /* an LZMA2 stream holding an OTDIFF1 patch */
} otter_chunk_method;
#define OTTER_METHOD_COUNT 5

/* One entry of a format-2 image's chunk table (digests as raw bytes). */
typedef struct otter_manifest_chunk {
    uint32_t size;          /* installed bytes */
    uint32_t stored_size;   /* bytes in the zip entry (0 for copy) */
    uint64_t stored_offset; /* from the start of the entry's data */
    /* Delta images only (method zstd and source 0/0 otherwise). */
    otter_chunk_method method;
    uint32_t source_size;                    /* bytes of the source range, <= 4 x chunk_size */
    uint64_t source_offset;                  /* where it starts in the source (the active slot) */
    uint8_t sha256[OTTER_SHA256_LEN];        /* of the installed bytes */
    uint8_t stored_sha256[OTTER_SHA256_LEN]; /* of the stored bytes (zstd only) */
} otter_manifest_chunk;

typedef struct otter_manifest_image {
    char name[OTTER_IDENT_MAX + 1];
    char file[OTTER_FILE_NAME_MAX + 1]; /* zip entry holding the payload */
    char handler[OTTER_IDENT_MAX + 1];  /* raw | archive | file */
    char target[OTTER_IDENT_MAX + 1];   /* slot class */
    otter_compression compression;
    uint64_t size;                                    /* installed bytes */
    char sha256[OTTER_SHA256_HEX_LEN + 1];            /* of the installed bytes */
    char delta_base_sha256[OTTER_SHA256_HEX_LEN + 1]; /* "" when not a delta */
    uint64_t delta_base_size; /* bytes of the source a delta applies to; 0 when not one */
    /* dm-verity root hash of the image's hash tree (docs/package-format.md), lower-case hex of
     * 64 digits; "" when the image has none. Signed with the manifest: the kernel command
     * line that opens the slot through dm-verity carries this value. */
    char verity_root_hash[OTTER_SHA256_HEX_LEN + 1];
    /* Format 2 only (chunk_count 0 and chunks NULL in format 1, or an empty image). */
    uint32_t chunk_size;
    size_t chunk_count;
    otter_manifest_chunk *chunks; /* owned by the manifest */
    /* Encrypted images (otter_crypt.h): NULL when clear; owned by the manifest. */
    struct otter_manifest_encryption *encryption;
} otter_manifest_image;

/* An install hook carried in the package (docs/package-format.md, "Install hooks"). */
typedef struct otter_manifest_hook {
    char file[OTTER_FILE_NAME_MAX + 1]; /* zip entry; "" when the manifest has none */
    uint64_t size;                      /* 1..OTTER_HOOK_MAX */
    char sha256[OTTER_SHA256_HEX_LEN + 1];
} otter_manifest_hook;

typedef struct otter_manifest {
    int64_t format;
    char product[OTTER_IDENT_MAX + 1];
    size_t compatible_count;
    char compatible[OTTER_COMPATIBLE_MAX][OTTER_IDENT_MAX + 1];
    char version[OTTER_IDENT_MAX + 1];
    char delta_from[OTTER_IDENT_MAX + 1]; /* "" unless an image is a delta */
    int64_t security_version;
    char created[32]; /* YYYY-MM-DDTHH:MM:SSZ */
    size_t image_count;
    otter_manifest_image images[OTTER_IMAGES_MAX];
    otter_manifest_hook hooks[OTTER_HOOKS]; /* [OTTER_HOOK_PRE], [OTTER_HOOK_POST] */
    /* A partial package: the slot classes it replaces (its images' targets);
     * 0 for a complete package (docs/package-format.md, "Partial updates"). */
    size_t replaces_count;
    char replaces[OTTER_IMAGES_MAX][OTTER_IDENT_MAX + 1];
    otter_manifest_notes notes; /* release notes (issue #17); count 0 when absent */
} otter_manifest;

/* A zeroed manifest with format 2 (caller frees); NULL on ENOMEM. */
otter_manifest *otter_manifest_new(void);
void otter_manifest_free(otter_manifest *m);

/*
 * Parses and validates manifest.json from memory (caller frees *out).
 * `where` names the input in messages ("update.zip: manifest.json").
 * OTTER_EFORMAT with what and where for anything malformed or out of range.
 */
int otter_manifest_parse(const char *buf, size_t len, const char *where, otter_manifest **out,
                         otter_err *err);

/*
 * Gives img a chunk table of count zeroed entries (freeing any old one).
 * OTTER_ENOMEM or OTTER_EFORMAT (count above OTTER_CHUNKS_MAX).
 */
int otter_manifest_image_alloc_chunks(otter_manifest_image *img, size_t count, otter_err *err);

/* Validates m with the same rules as the parser (for manifests built in code). */
int otter_manifest_validate(const otter_manifest *m, otter_err *err);

/* JSON text of a valid manifest (caller frees); NULL on ENOMEM. */
char *otter_manifest_serialize_new(const otter_manifest *m);

/*
 * Refuses (OTTER_ECOMPAT) a manifest whose product differs or whose
 * compatible list lacks model. product may be NULL (not checked).
 */
int otter_manifest_check_device(const otter_manifest *m, const char *product, const char *model,
                                otter_err *err);

/* True when img is a delta image (its bytes are made from a source slot). */
int otter_manifest_image_is_delta(const otter_manifest_image *img);

/* "zstd", "copy", "zstd-patch" or "bsdiff". */
const char *otter_chunk_method_name(otter_chunk_method method);

/* "pre_install" or "post_install". */
const char *otter_manifest_hook_name(int which);

/* True when the package replaces slot class target (every class when not partial). */
int otter_manifest_replaces(const otter_manifest *m, const char *target);

/* Borrowed image with that name, or NULL. */
const otter_manifest_image *otter_manifest_find_image(const otter_manifest *m, const char *name);

/* The validation rules, for other parsers that take the same kinds of values. */
int otter_ident_valid(const char *s);     /* [A-Za-z0-9][A-Za-z0-9._+-]{0,63} */
int otter_version_valid(const char *s);   /* [A-Za-z0-9][A-Za-z0-9._+~-]{0,63} */
int otter_file_name_valid(const char *s); /* like ident, up to 128, no "..", no '/' */

#endif
