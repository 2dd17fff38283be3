/* SPDX-License-Identifier: Apache-2.0 */
/* Builds real packages, keys and hostile zips for the core tests. */
#ifndef PKG_FIXTURE_H
#define PKG_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "otter_key.h"
#include "otter_manifest.h"
#include "otter_pkg.h"
#include "otter_trust.h"

/* Writes len bytes of compressible, non-trivial content (seeded). */
void fx_write_content(const char *path, size_t len, unsigned seed);

/* A trust root over keys[0..n) with threshold k (public halves). Caller frees. */
otter_trust *fx_trust(otter_key *const *keys, size_t n, unsigned k);

/* Format and chunk span fx_pack writes (0: the writer's defaults). */
extern int fx_format;
extern uint32_t fx_chunk_size;

/* Packs images "rootfs" (zstd, rootfs_len bytes) and "app" (stored raw) signed by keys. */
void fx_pack(const char *out, const char *dir, size_t rootfs_len, otter_key *const *keys,
             size_t nkeys);

/* One zip entry for fx_zip. */
typedef struct fx_entry {
    const char *name;
    const void *data;
    size_t len;
    int deflate;
} fx_entry;

/* Assembles a zip by hand with libzip, entries in the given order. */
void fx_zip(const char *path, const fx_entry *entries, size_t n);

/* Reads every entry of a package (as unzip would) into memory; fx_entries_free frees. */
size_t fx_unzip(const char *path, fx_entry *entries, size_t max);
void fx_entries_free(fx_entry *entries, size_t n);

/* Reads a whole package like a device: verify, model check, every image. */
int fx_read_all(const char *path, const otter_trust *trust, const char *model, otter_err *err);

/* Reads a file into a new buffer; *len gets its size. */
uint8_t *fx_slurp(const char *path, size_t *len);
void fx_spit(const char *path, const void *data, size_t len);

/* Replaces every occurrence of from by to (same length) in the file; returns the count. */
size_t fx_patch_all(const char *path, const char *from, const char *to);

#endif
