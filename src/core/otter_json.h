/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strict JSON reading over jansson for libotter's own formats (manifest,
 * signatures, trust root). Internal to libotter: the rest of Otter sees
 * parsed structs, never jansson.
 */
#ifndef OTTER_JSON_H
#define OTTER_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "otter_err.h"

/*
 * Parses buf (at most max bytes) as one JSON object or array, refusing
 * duplicate keys, NUL bytes and invalid UTF-8. Errors name `where` and the
 * line and column. Caller owns the result (json_decref).
 */
int otter_json_load(const char *buf, size_t len, size_t max, const char *where, json_t **out,
                    otter_err *err);

/* Refuses any key of obj not in the NULL-terminated list `known`. */
int otter_json_known_keys(const json_t *obj, const char *const *known, const char *where,
                          otter_err *err);

/*
 * Typed field getters: fill *out from obj[key], refusing a missing field
 * (unless optional: then *out is left alone and 0 returned), a wrong type,
 * or a value out of bounds. `where` is the path of obj for messages.
 */
int otter_json_get_string(const json_t *obj, const char *key, int optional, size_t max_len,
                          const char *where, const char **out, otter_err *err);
int otter_json_get_int(const json_t *obj, const char *key, int optional, int64_t min, int64_t max,
                       const char *where, int64_t *out, otter_err *err);
int otter_json_get_array(const json_t *obj, const char *key, size_t min, size_t max,
                         const char *where, json_t **out, otter_err *err);

#endif
