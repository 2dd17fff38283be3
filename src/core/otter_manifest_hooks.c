/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_manifest_hooks.h"

#include <stdio.h>
#include <string.h>

#include "otter_encode.h"
#include "otter_json.h"

static const char *const hook_keys[] = {"pre_install", "post_install", NULL};

const char *otter_manifest_hook_name(int which)
{
    return which == OTTER_HOOK_POST ? hook_keys[1] : hook_keys[0];
}

static int parse_hook(json_t *v, const char *where, otter_manifest_hook *h, otter_err *err)
{
    static const char *const known[] = {"file", "size", "sha256", NULL};
    const char *file = NULL, *sha = NULL;
    int64_t size = 0;
    if (!json_is_object(v))
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s: expected null or an object {file, size, sha256} (a hook is a "
                             "file in the package)",
                             where);
    int ret = otter_json_known_keys(v, known, where, err);
    if (!ret)
        ret = otter_json_get_string(v, "file", 0, OTTER_FILE_NAME_MAX, where, &file, err);
    if (!ret)
        ret = otter_json_get_int(v, "size", 0, 1, OTTER_HOOK_MAX, where, &size, err);
    if (!ret)
        ret = otter_json_get_string(v, "sha256", 0, OTTER_SHA256_HEX_LEN, where, &sha, err);
    if (ret)
        return ret;
    snprintf(h->file, sizeof h->file, "%s", file);
    snprintf(h->sha256, sizeof h->sha256, "%s", sha);
    h->size = (uint64_t)size;
    return 0;
}

int otter_manifest_hooks_parse(json_t *hooks, const char *file, otter_manifest *m, otter_err *err)
{
    char where[300];
    snprintf(where, sizeof where, "%s: hooks", file);
    if (!hooks || json_is_null(hooks))
        return 0;
    if (!json_is_object(hooks))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", where);
    int ret = otter_json_known_keys(hooks, hook_keys, where, err);
    for (int i = 0; !ret && i < OTTER_HOOKS; i++) {
        json_t *v = json_object_get(hooks, hook_keys[i]);
        if (!v || json_is_null(v))
            continue;
        char at[340];
        snprintf(at, sizeof at, "%s.%s", where, hook_keys[i]);
        ret = parse_hook(v, at, &m->hooks[i], err);
    }
    return ret;
}

int otter_manifest_replaces_parse(json_t *replaces, const char *file, otter_manifest *m,
                                  otter_err *err)
{
    size_t i;
    json_t *item;
    if (!replaces)
        return 0;
    if (!json_is_array(replaces) || json_array_size(replaces) < 1 ||
        json_array_size(replaces) > OTTER_IMAGES_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "%s: replaces: expected 1..%d slot class names",
                             file, OTTER_IMAGES_MAX);
    json_array_foreach(replaces, i, item)
    {
        if (!json_is_string(item) || json_string_length(item) > OTTER_IDENT_MAX)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "%s: replaces[%zu]: expected a slot class name", file, i);
        snprintf(m->replaces[i], sizeof m->replaces[i], "%s", json_string_value(item));
        m->replaces_count++;
    }
    return 0;
}

static int validate_hook(const otter_manifest *m, int which, otter_err *err)
{
    const otter_manifest_hook *h = &m->hooks[which];
    const char *name = hook_keys[which];
    if (!h->file[0])
        return h->size || h->sha256[0]
                   ? otter_err_set(err, OTTER_EFORMAT, "hooks.%s: no file", name)
                   : 0;
    if (!otter_file_name_valid(h->file) || strcmp(h->file, "manifest.json") == 0 ||
        strcmp(h->file, "manifest.sig") == 0)
        return otter_err_set(err, OTTER_EFORMAT, "hooks.%s.file: \"%s\" is not a valid entry name",
                             name, h->file);
    if (h->size < 1 || h->size > OTTER_HOOK_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "hooks.%s.size: out of range 1..%d", name,
                             OTTER_HOOK_MAX);
    if (!otter_is_lower_hex(h->sha256, OTTER_SHA256_HEX_LEN))
        return otter_err_set(err, OTTER_EFORMAT,
                             "hooks.%s.sha256: expected 64 lower-case hex digits", name);
    for (size_t i = 0; i < m->image_count; i++)
        if (strcmp(m->images[i].file, h->file) == 0)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "hooks.%s.file: \"%s\" is also image %s's file", name, h->file,
                                 m->images[i].name);
    if (which == OTTER_HOOK_POST && strcmp(m->hooks[OTTER_HOOK_PRE].file, h->file) == 0)
        return otter_err_set(err, OTTER_EFORMAT, "hooks.%s.file: \"%s\" used twice", name, h->file);
    return 0;
}

/* replaces, when given, is exactly the set of the images' targets. */
static int validate_replaces(const otter_manifest *m, otter_err *err)
{
    for (size_t i = 0; i < m->replaces_count; i++) {
        if (!otter_ident_valid(m->replaces[i]))
            return otter_err_set(err, OTTER_EFORMAT, "replaces[%zu]: \"%s\" is not a valid name", i,
                                 m->replaces[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->replaces[i], m->replaces[j]) == 0)
                return otter_err_set(err, OTTER_EFORMAT, "replaces[%zu]: \"%s\" listed twice", i,
                                     m->replaces[i]);
        int found = 0;
        for (size_t j = 0; j < m->image_count; j++)
            found |= strcmp(m->images[j].target, m->replaces[i]) == 0;
        if (!found)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "replaces[%zu]: no image for slot class \"%s\"", i,
                                 m->replaces[i]);
    }
    if (m->replaces_count && m->replaces_count != m->image_count)
        return otter_err_set(err, OTTER_EFORMAT,
                             "replaces: %zu slot classes for %zu images (every image's target, "
                             "once)",
                             m->replaces_count, m->image_count);
    return 0;
}

int otter_manifest_hooks_validate(const otter_manifest *m, otter_err *err)
{
    int ret = validate_hook(m, OTTER_HOOK_PRE, err);
    if (!ret)
        ret = validate_hook(m, OTTER_HOOK_POST, err);
    return ret ? ret : validate_replaces(m, err);
}

int otter_manifest_replaces(const otter_manifest *m, const char *target)
{
    if (!m->replaces_count)
        return 1;
    for (size_t i = 0; i < m->replaces_count; i++)
        if (strcmp(m->replaces[i], target) == 0)
            return 1;
    return 0;
}

static json_t *hook_json(const otter_manifest_hook *h)
{
    if (!h->file[0])
        return json_null();
    return json_pack("{s:s, s:I, s:s}", "file", h->file, "size", (json_int_t)h->size, "sha256",
                     h->sha256);
}

int otter_manifest_hooks_to_json(const otter_manifest *m, json_t *root)
{
    json_t *hooks = json_pack("{s:o, s:o}", "pre_install", hook_json(&m->hooks[OTTER_HOOK_PRE]),
                              "post_install", hook_json(&m->hooks[OTTER_HOOK_POST]));
    if (!hooks || json_object_set_new(root, "hooks", hooks) < 0)
        return -1;
    if (!m->replaces_count)
        return 0;
    json_t *list = json_array();
    if (!list || json_object_set_new(root, "replaces", list) < 0)
        return -1;
    for (size_t i = 0; i < m->replaces_count; i++)
        if (json_array_append_new(list, json_string(m->replaces[i])) < 0)
            return -1;
    return 0;
}
