/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.sig: the detached signatures over the exact bytes of
 * manifest.json, as a JSON list of {"keyid", "alg", "sig" (base64)}.
 */
#ifndef OTTER_SIG_H
#define OTTER_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_key.h"

#define OTTER_SIG_FILE_MAX (64 * 1024)
#define OTTER_SIG_ENTRIES_MAX 32

typedef struct otter_sig_entry {
    char keyid[OTTER_KEY_ID_LEN + 1];
    char alg[32];
    uint8_t sig[OTTER_SIG_MAX];
    size_t sig_len;
} otter_sig_entry;

typedef struct otter_sig_list {
    size_t count;
    otter_sig_entry entries[OTTER_SIG_ENTRIES_MAX];
} otter_sig_list;

/* An empty list (caller frees); NULL on ENOMEM. */
otter_sig_list *otter_sig_list_new(void);
void otter_sig_list_free(otter_sig_list *list);

/* Parses manifest.sig strictly (caller frees *out). `where` names the file. */
int otter_sig_list_parse(const char *buf, size_t len, const char *where, otter_sig_list **out,
                         otter_err *err);

/*
 * Signs data with key and adds the signature, replacing an earlier one by the
 * same key (signing twice is harmless).
 */
int otter_sig_list_sign(otter_sig_list *list, const otter_key *key, const void *data, size_t len,
                        otter_err *err);

/* Serialized JSON (caller frees); NULL on ENOMEM. */
char *otter_sig_list_serialize_new(const otter_sig_list *list);

#endif
