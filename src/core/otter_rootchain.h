/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A chain of trust root versions (issue #13, docs/keys.md "Rotating the
 * root"): what a server serves a device so that it can move from the root
 * it trusts to the tenant's newest one, one version at a time, each step
 * under the TUF rule of otter_trust_rotate().
 *
 * roots.json:
 *   {"type": "otter-root-chain",
 *    "roots": [{"version": 2, "root": "<root.json text>",
 *               "signatures": "<root.json.sig text>"}, ...]}
 * Roots and signatures travel as strings: the signatures cover the exact
 * bytes of each root.json, never a re-serialisation. Versions ascend by
 * exactly one; `version` must be the one inside its root.
 */
#ifndef OTTER_ROOTCHAIN_H
#define OTTER_ROOTCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_sig.h"
#include "otter_trust.h"

/* 64 roots of at most 256 KiB would not fit: a chain this long is refused, not truncated. */
#define OTTER_ROOTCHAIN_MAX (4 * 1024 * 1024)
#define OTTER_ROOTCHAIN_ROOTS_MAX 64

typedef struct otter_rootchain_entry {
    int64_t version;
    char *root; /* the exact root.json bytes (NUL-terminated) */
    size_t root_len;
    otter_sig_list *sigs;
} otter_rootchain_entry;

typedef struct otter_rootchain {
    size_t count;
    otter_rootchain_entry entries[OTTER_ROOTCHAIN_ROOTS_MAX];
} otter_rootchain;

/*
 * Parses roots.json strictly (known keys only, 0..64 roots, versions
 * ascending by one, each root and signature list well formed, the
 * version field equal to the root's own). No signature is checked here:
 * that is otter_rootchain_walk()'s work. Caller frees *out.
 */
int otter_rootchain_parse(const char *buf, size_t len, const char *where, otter_rootchain **out,
                          otter_err *err);

/* roots.json text of chain (caller frees); NULL on ENOMEM. */
char *otter_rootchain_serialize_new(const otter_rootchain *chain);

/*
 * Appends a copy of root bytes and its signature text (parsed) to chain.
 * Used by the server to build the chain it serves.
 */
int otter_rootchain_append(otter_rootchain *chain, const char *root, size_t root_len,
                           const char *sigs, size_t sigs_len, otter_err *err);
otter_rootchain *otter_rootchain_new(void);

/*
 * Walks from current (the root the device trusts) through chain: roots
 * older than current are history and skipped; a root of current's version
 * must be current (same keys and threshold), else the chain is refused (a
 * fork: the server shows another root under a version the device already
 * has); each newer root must be accepted by otter_trust_rotate() from its
 * predecessor, so versions cannot be skipped. A chain whose newest root is
 * older than current is refused as stale (a rollback or freeze attempt).
 *
 * *out gets the newest root accepted (NULL when the walk accepted none)
 * and *out_index its entry in chain, even when a later step was refused
 * (then the error names that step): TUF keeps every root it verified, so
 * one bad link does not hold a device on a root known to be replaced.
 * Returns 0 or OTTER_ESIG / OTTER_EFORMAT.
 */
int otter_rootchain_walk(const otter_trust *current, const otter_rootchain *chain,
                         otter_trust **out, size_t *out_index, otter_err *err);

void otter_rootchain_free(otter_rootchain *chain);

#endif
