/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An image's "encryption" object (docs/package-format.md, "Encrypted
 * images"): parsed, checked and written here, apart from the fields every
 * image has. Internal to libotter (it speaks jansson).
 */
#ifndef OTTER_MANIFEST_CRYPT_H
#define OTTER_MANIFEST_CRYPT_H

#include <jansson.h>

#include "otter_crypt.h"
#include "otter_manifest.h"

/* The image key only an encrypted image has (for the known-keys check). */
#define OTTER_MANIFEST_CRYPT_KEYS "encryption"

/*
 * Reads obj's optional "encryption" into img->encryption (allocated; NULL
 * when absent). Called before the chunk table is parsed (its rules depend
 * on it). OTTER_EFORMAT naming the field, OTTER_ENOMEM.
 */
int otter_manifest_crypt_parse(const json_t *obj, const char *where, otter_manifest_image *img,
                               otter_err *err);

/* The object's rules and where it may not be (format 1, delta images). */
int otter_manifest_crypt_validate(const otter_manifest *m, size_t index, otter_err *err);

/* Adds "encryption" to the image's JSON object when it has one; -1 on ENOMEM. */
int otter_manifest_crypt_to_json(const otter_manifest_image *img, json_t *obj);

/* Bytes an encrypted chunk adds to its clear stored size (0 for a clear image). */
uint32_t otter_manifest_crypt_overhead(const otter_manifest_image *img);

#endif
