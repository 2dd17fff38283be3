/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trust root: a set of public keys and a threshold k. A manifest is
 * trusted when at least k distinct keys of the root signed its exact bytes.
 *
 * root.json:
 *   {"type": "otter-root", "version": 1, "threshold": 2,
 *    "keys": [{"keyid": "<hex>", "alg": "ed25519", "public_key": "<PEM>"}, ...]}
 * `version` grows with each rotation of the root.
 */
#ifndef OTTER_TRUST_H
#define OTTER_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_key.h"
#include "otter_sig.h"

#define OTTER_TRUST_FILE_MAX (256 * 1024)
#define OTTER_TRUST_KEYS_MAX 32

typedef struct otter_trust otter_trust;

/* The outcome of a verification: who signed (valid signatures only). */
typedef struct otter_trust_result {
    size_t valid; /* distinct trusted keys with a valid signature */
    char signers[OTTER_TRUST_KEYS_MAX][OTTER_KEY_ID_LEN + 1];
} otter_trust_result;

/* An empty root with the given threshold (1..OTTER_TRUST_KEYS_MAX). Caller frees. */
int otter_trust_new(unsigned threshold, otter_trust **out, otter_err *err);

/* A root over the PEM public keys in paths[0..n) with threshold k (caller frees). */
int otter_trust_from_pubkey_files(const char *const *paths, size_t n, unsigned threshold,
                                  otter_trust **out, otter_err *err);

/* Adds a public key; the root takes ownership of key, also on error. Duplicates refused. */
int otter_trust_add_key(otter_trust *trust, otter_key *key, otter_err *err);

/*
 * Parses root.json strictly: known keys only, each keyid must match its key,
 * no duplicate keys, 1 <= threshold <= number of keys.
 */
int otter_trust_parse(const char *buf, size_t len, const char *where, otter_trust **out,
                      otter_err *err);
int otter_trust_load_file(const char *path, otter_trust **out, otter_err *err);

/* root.json text (caller frees); NULL on ENOMEM or when the root is not valid. */
char *otter_trust_serialize_new(const otter_trust *trust);

/* Sets the root's version (1..INT32_MAX), raised by each rotation. */
int otter_trust_set_version(otter_trust *trust, int64_t version, otter_err *err);

unsigned otter_trust_threshold(const otter_trust *trust);
int64_t otter_trust_version(const otter_trust *trust);
size_t otter_trust_key_count(const otter_trust *trust);
/* Borrowed, valid while trust lives. */
const otter_key *otter_trust_key(const otter_trust *trust, size_t i);

/*
 * Checks that at least threshold distinct trusted keys signed data. Signatures
 * by unknown keys, repeated signatures by one key and invalid signatures do
 * not count. OTTER_ESIG with the reason when below threshold. res may be NULL.
 */
int otter_trust_verify(const otter_trust *trust, const void *data, size_t len,
                       const otter_sig_list *sigs, otter_trust_result *res, otter_err *err);

/*
 * Root rotation (the TUF rule): accepts new_bytes (a root.json signed by
 * sigs) as the successor of old when its version is exactly old's + 1 and
 * both a threshold of old's keys and a threshold of the new root's own keys
 * signed those exact bytes. So neither a lost old key set nor a stolen new
 * one alone can move devices to another root. *out is the new root (caller
 * frees). OTTER_ESIG / OTTER_EFORMAT with the reason otherwise.
 */
int otter_trust_rotate(const otter_trust *old, const char *new_bytes, size_t len,
                       const otter_sig_list *sigs, otter_trust **out, otter_err *err);

void otter_trust_free(otter_trust *trust);

#endif
