/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release notes in the signed manifest (issue #17, docs/package-format.md
 * "Release notes"): the optional top-level "notes" object, a language tag
 * to the text the device's UI and the dashboard show. Covered by the
 * package signature like every other manifest field, so a server or mirror
 * cannot change what a user reads before agreeing to an update. Bounded:
 * at most OTTER_NOTES_MAX languages of at most OTTER_NOTES_TEXT_MAX bytes.
 */
#ifndef OTTER_MANIFEST_NOTES_H
#define OTTER_MANIFEST_NOTES_H

#include <stddef.h>

#include "otter_err.h"

#define OTTER_NOTES_MAX 16
#define OTTER_NOTES_TEXT_MAX 8192 /* bytes of UTF-8 per language */
#define OTTER_NOTES_LANG_MAX 35   /* a BCP 47 tag: "en", "zh-CN", "sr-Latn-RS" */

typedef struct otter_manifest_notes {
    size_t count;
    struct {
        char lang[OTTER_NOTES_LANG_MAX + 1];
        char *text; /* owned, NUL-terminated UTF-8 */
    } n[OTTER_NOTES_MAX];
} otter_manifest_notes;

/* True for a language tag: 2..8 letters, then up to 3 "-" subtags of 1..8 letters or digits. */
int otter_notes_lang_valid(const char *s);

/*
 * Adds text for lang (copied). OTTER_EFORMAT for a bad tag, a duplicate,
 * an empty or oversized text (or one holding NUL), or one language too
 * many; OTTER_ENOMEM.
 */
int otter_manifest_notes_add(otter_manifest_notes *n, const char *lang, const char *text,
                             size_t len, otter_err *err);

/* Frees the texts and zeroes n (NULL-safe). */
void otter_manifest_notes_clear(otter_manifest_notes *n);

/* The text for lang, borrowed, or NULL. */
const char *otter_manifest_notes_get(const otter_manifest_notes *n, const char *lang);

#endif
