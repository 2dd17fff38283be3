/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Install hooks and partial updates in the signed manifest (issue #14,
 * docs/package-format.md "Install hooks", "Partial updates"):
 *   "hooks": {"pre_install": {"file", "size", "sha256"} | null, "post_install": ...}
 *   "replaces": ["app", ...]   (optional: the slot classes a partial package replaces)
 * A hook is a zip entry of the package whose size and SHA-256 the manifest
 * gives, so the package signature covers it.
 */
#ifndef OTTER_MANIFEST_HOOKS_H
#define OTTER_MANIFEST_HOOKS_H

#include <jansson.h>
#include <stdint.h>

#include "otter_manifest.h"

/* Parses the "hooks" object (may be NULL or null) into m->hooks. OTTER_EFORMAT. */
int otter_manifest_hooks_parse(json_t *hooks, const char *file, otter_manifest *m, otter_err *err);

/* Parses the "replaces" array (may be NULL: a complete package). OTTER_EFORMAT. */
int otter_manifest_replaces_parse(json_t *replaces, const char *file, otter_manifest *m,
                                  otter_err *err);

/* The rules across fields: hook file names unique among the entries, replaces
 * equal to the set of image targets. OTTER_EFORMAT. */
int otter_manifest_hooks_validate(const otter_manifest *m, otter_err *err);

/* Sets "hooks" (always, null members when absent) and "replaces" (when partial)
 * on root; -1 on ENOMEM. */
int otter_manifest_hooks_to_json(const otter_manifest *m, json_t *root);

#endif
