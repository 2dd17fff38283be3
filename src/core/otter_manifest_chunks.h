/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The chunk table of a format-2 image (docs/package-format.md): parsed,
 * checked and written here so otter_manifest.c keeps to the fields every
 * format shares. Internal to libotter (it speaks jansson).
 */
#ifndef OTTER_MANIFEST_CHUNKS_H
#define OTTER_MANIFEST_CHUNKS_H

#include <jansson.h>

#include "otter_manifest.h"

/* Image keys that only format 2 has (for the known-keys check). */
#define OTTER_MANIFEST_CHUNK_KEYS "chunk_size", "chunks"

/*
 * Reads obj's chunk_size and chunks into img (whose compression and size
 * are already set). `where` is the image's path for messages
 * ("manifest.json: images[0]"). OTTER_EFORMAT, OTTER_ENOMEM.
 */
int otter_manifest_chunks_parse(const json_t *obj, const char *where, otter_manifest_image *img,
                                otter_err *err);

/*
 * The table's rules: span, count, sizes, contiguous stored offsets and
 * stored sizes within bounds. index names the image in messages.
 */
int otter_manifest_chunks_validate(const otter_manifest_image *img, size_t index, otter_err *err);

/* Adds chunk_size and chunks to the image's JSON object; -1 on ENOMEM. */
int otter_manifest_chunks_to_json(const otter_manifest_image *img, json_t *obj);

#endif
