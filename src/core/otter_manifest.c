/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_manifest.h"
#include "otter_encode.h"
#include "otter_json.h"
#include "otter_manifest_chunks.h"
#include "otter_manifest_crypt.h"
#include "otter_manifest_hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const handlers[] = {"raw", "archive", "file", NULL};

otter_manifest *otter_manifest_new(void)
{
    otter_manifest *m = calloc(1, sizeof *m);
    if (m)
        m->format = 2;
    return m;
}

void otter_manifest_free(otter_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < OTTER_IMAGES_MAX; i++) {
        free(m->images[i].chunks);
        free(m->images[i].encryption); /* holds no secret: wrapped keys only */
    }
    otter_manifest_notes_clear(&m->notes);
    free(m);
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int charset_valid(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !is_alnum(s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_alnum(s[i]) && !strchr(extra, s[i]))
            return 0;
    return 1;
}

int otter_ident_valid(const char *s)
{
    return charset_valid(s, OTTER_IDENT_MAX, "._+-");
}

int otter_version_valid(const char *s)
{
    return charset_valid(s, OTTER_IDENT_MAX, "._+~-");
}

int otter_file_name_valid(const char *s)
{
    /* The charset has no '/', and a leading alnum excludes "." and "..". */
    return charset_valid(s, OTTER_FILE_NAME_MAX, "._+-") && !strstr(s, "..");
}

/* RFC 3339 in UTC with whole seconds, the only form we write. */
static int created_valid(const char *s)
{
    int y, mo, d, h, mi, se;
    char z;
    if (strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7)
        return 0;
    for (int i = 0; i < 20; i++) {
        static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return 0;
    }
    return y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && se <= 60;
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* Copies a string value already checked for length into a fixed field. */
static void copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

/* delta_base_size: required in a delta image, refused in any other. */
static int parse_delta_base_size(const json_t *obj, const char *where, otter_manifest_image *img,
                                 otter_err *err)
{
    int64_t base = 0;
    if (!img->delta_base_sha256[0]) {
        if (json_object_get(obj, "delta_base_size"))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "%s.delta_base_size: only a delta image (delta_base_sha256 set) "
                                 "has one",
                                 where);
        return 0;
    }
    int ret =
        otter_json_get_int(obj, "delta_base_size", 0, 1, OTTER_JSON_INT_MAX, where, &base, err);
    img->delta_base_size = (uint64_t)base;
    return ret;
}

/* verity_root_hash: optional, 64 lower-case hex digits (a SHA-256 dm-verity hash tree). */
static int parse_verity(const json_t *obj, const char *where, otter_manifest_image *img,
                        otter_err *err)
{
    json_t *v = json_object_get(obj, "verity_root_hash");
    if (!v)
        return 0;
    if (!json_is_string(v) || !otter_is_lower_hex(json_string_value(v), OTTER_SHA256_HEX_LEN))
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s.verity_root_hash: expected 64 lower-case hex digits", where);
    copy_field(img->verity_root_hash, sizeof img->verity_root_hash, json_string_value(v));
    return 0;
}

static int parse_image(json_t *obj, int64_t format, const char *where, otter_manifest_image *img,
                       otter_err *err)
{
    static const char *const known_v1[] = {
        "name", "file",   "handler",           "target",           "compression",
        "size", "sha256", "delta_base_sha256", "verity_root_hash", NULL};
    static const char *const known_v2[] = {"name",
                                           "file",
                                           "handler",
                                           "target",
                                           "compression",
                                           "size",
                                           "sha256",
                                           "delta_base_sha256",
                                           "delta_base_size",
                                           "verity_root_hash",
                                           OTTER_MANIFEST_CHUNK_KEYS,
                                           OTTER_MANIFEST_CRYPT_KEYS,
                                           NULL};
    const char *const *known = format == 1 ? known_v1 : known_v2;
    const char *name = NULL, *file = NULL, *handler = NULL, *target = NULL, *comp = NULL,
               *sha = NULL;
    int64_t size = 0;
    if (!json_is_object(obj))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", where);
    int ret = otter_json_known_keys(obj, known, where, err);
    if (!ret)
        ret = otter_json_get_string(obj, "name", 0, OTTER_IDENT_MAX, where, &name, err);
    if (!ret)
        ret = otter_json_get_string(obj, "file", 0, OTTER_FILE_NAME_MAX, where, &file, err);
    if (!ret)
        ret = otter_json_get_string(obj, "handler", 0, OTTER_IDENT_MAX, where, &handler, err);
    if (!ret)
        ret = otter_json_get_string(obj, "target", 0, OTTER_IDENT_MAX, where, &target, err);
    if (!ret)
        ret = otter_json_get_string(obj, "compression", 0, OTTER_IDENT_MAX, where, &comp, err);
    if (!ret)
        ret = otter_json_get_int(obj, "size", 0, 0, OTTER_JSON_INT_MAX, where, &size, err);
    if (!ret)
        ret = otter_json_get_string(obj, "sha256", 0, OTTER_SHA256_HEX_LEN, where, &sha, err);
    if (ret)
        return ret;
    json_t *delta = json_object_get(obj, "delta_base_sha256");
    if (delta && !json_is_null(delta)) {
        if (!json_is_string(delta) || !otter_is_lower_hex(json_string_value(delta), 64))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "%s.delta_base_sha256: expected null or 64 lower-case hex digits",
                                 where);
        copy_field(img->delta_base_sha256, sizeof img->delta_base_sha256, json_string_value(delta));
        if (format == 1)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "%s.delta_base_sha256: delta images need format 2", where);
    }
    ret = parse_delta_base_size(obj, where, img, err);
    if (!ret)
        ret = parse_verity(obj, where, img, err);
    if (ret)
        return ret;
    copy_field(img->name, sizeof img->name, name);
    copy_field(img->file, sizeof img->file, file);
    copy_field(img->handler, sizeof img->handler, handler);
    copy_field(img->target, sizeof img->target, target);
    copy_field(img->sha256, sizeof img->sha256, sha);
    img->size = (uint64_t)size;
    if (strcmp(comp, "zstd") == 0)
        img->compression = OTTER_COMPRESSION_ZSTD;
    else if (strcmp(comp, "none") == 0)
        img->compression = OTTER_COMPRESSION_NONE;
    else
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s.compression: \"%.64s\" is not \"zstd\" or \"none\"", where, comp);
    if (format == 1)
        return 0;
    /* Encryption first: the chunk table's rules depend on it. */
    ret = otter_manifest_crypt_parse(obj, where, img, err);
    return ret ? ret : otter_manifest_chunks_parse(obj, where, img, err);
}

/* ---- release notes (issue #17): the optional "notes" object ---- */

static int parse_notes(json_t *obj, const char *top, otter_manifest_notes *n, otter_err *err)
{
    const char *lang;
    json_t *text;
    if (!obj)
        return 0;
    if (!json_is_object(obj) || json_object_size(obj) == 0)
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s notes: expected an object of language tag to text", top);
    json_object_foreach(obj, lang, text)
    {
        if (!json_is_string(text))
            return otter_err_set(err, OTTER_EFORMAT, "%s notes: %.40s: expected a string", top,
                                 lang);
        int ret = otter_manifest_notes_add(n, lang, json_string_value(text),
                                           json_string_length(text), err);
        if (ret < 0) {
            otter_err_prefix(err, "%s", top);
            return ret;
        }
    }
    return 0;
}

static json_t *notes_json(const otter_manifest_notes *n)
{
    json_t *obj = json_object();
    for (size_t i = 0; obj && i < n->count; i++)
        if (json_object_set_new(obj, n->n[i].lang, json_string(n->n[i].text)) < 0) {
            json_decref(obj);
            return NULL;
        }
    return obj;
}

static int parse_root(json_t *root, const char *file, otter_manifest *m, otter_err *err)
{
    static const char *const known[] = {"format",           "product", "compatible", "version",
                                        "security_version", "created", "images",     "hooks",
                                        "delta_from",       "notes",   "replaces",   NULL};
    char top[256];
    snprintf(top, sizeof top, "%s:", file);
    const char *product = NULL, *version = NULL, *created = NULL, *delta_from = NULL;
    json_t *compatible = NULL, *images = NULL;
    if (!json_is_object(root))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected a JSON object", file);
    int ret = otter_json_known_keys(root, known, top, err);
    if (!ret)
        ret = otter_json_get_int(root, "format", 0, 0, INT32_MAX, top, &m->format, err);
    if (!ret && m->format != 1 && m->format != 2)
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s: format %lld is not supported (this reader knows 1 and 2)", file,
                             (long long)m->format);
    if (!ret)
        ret = otter_json_get_string(root, "product", 0, OTTER_IDENT_MAX, top, &product, err);
    if (!ret)
        ret = otter_json_get_array(root, "compatible", 1, OTTER_COMPATIBLE_MAX, top, &compatible,
                                   err);
    if (!ret)
        ret = otter_json_get_string(root, "version", 0, OTTER_IDENT_MAX, top, &version, err);
    if (!ret)
        ret = otter_json_get_int(root, "security_version", 0, 0, OTTER_JSON_INT_MAX, top,
                                 &m->security_version, err);
    if (!ret)
        ret = otter_json_get_string(root, "created", 0, 20, top, &created, err);
    if (!ret)
        ret = otter_json_get_array(root, "images", 1, OTTER_IMAGES_MAX, top, &images, err);
    if (!ret)
        ret = otter_json_get_string(root, "delta_from", 1, OTTER_IDENT_MAX, top, &delta_from, err);
    if (ret)
        return ret;
    if (delta_from)
        copy_field(m->delta_from, sizeof m->delta_from, delta_from);
    copy_field(m->product, sizeof m->product, product);
    copy_field(m->version, sizeof m->version, version);
    copy_field(m->created, sizeof m->created, created);
    size_t i;
    json_t *item;
    json_array_foreach(compatible, i, item)
    {
        if (!json_is_string(item) || json_string_length(item) > OTTER_IDENT_MAX)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "%s: compatible[%zu]: expected a model name of 1..%d characters",
                                 file, i, OTTER_IDENT_MAX);
        copy_field(m->compatible[i], sizeof m->compatible[i], json_string_value(item));
        m->compatible_count++;
    }
    json_array_foreach(images, i, item)
    {
        char where[300];
        snprintf(where, sizeof where, "%s: images[%zu]", file, i);
        ret = parse_image(item, m->format, where, &m->images[i], err);
        if (ret)
            return ret;
        m->image_count++;
    }
    if ((ret = parse_notes(json_object_get(root, "notes"), top, &m->notes, err)) < 0)
        return ret;
    ret = otter_manifest_hooks_parse(json_object_get(root, "hooks"), file, m, err);
    return ret ? ret
               : otter_manifest_replaces_parse(json_object_get(root, "replaces"), file, m, err);
}

int otter_manifest_parse(const char *buf, size_t len, const char *where, otter_manifest **out,
                         otter_err *err)
{
    json_t *root = NULL;
    otter_manifest *m = NULL;
    int ret = otter_json_load(buf, len, OTTER_MANIFEST_MAX, where, &root, err);
    if (ret)
        return ret;
    m = otter_manifest_new();
    if (!m) {
        ret = otter_err_set(err, OTTER_ENOMEM, "out of memory");
        goto out;
    }
    ret = parse_root(root, where, m, err);
    if (!ret) {
        ret = otter_manifest_validate(m, err);
        if (ret)
            otter_err_prefix(err, "%s", where);
    }
    if (ret)
        goto out;
    *out = m;
    m = NULL;
out:
    otter_manifest_free(m);
    json_decref(root);
    return ret;
}

/* The image-level rules of a delta image (docs/package-format.md, "Delta images"). */
static int validate_delta_image(const otter_manifest *m, size_t i, otter_err *err)
{
    const otter_manifest_image *img = &m->images[i];
    if (!img->delta_base_sha256[0]) {
        if (img->delta_base_size)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "images[%zu].delta_base_size: only a delta image has one", i);
        return 0;
    }
    if (m->format != 2)
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].delta_base_sha256: delta images need format 2", i);
    if (img->delta_base_size < 1 || img->delta_base_size > (uint64_t)OTTER_JSON_INT_MAX)
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].delta_base_size: out of range 1..2^53-1", i);
    if (img->compression != OTTER_COMPRESSION_ZSTD)
        return otter_err_set(err, OTTER_EFORMAT, "images[%zu].compression: a delta image is zstd",
                             i);
    if (strcmp(img->handler, "raw") != 0 && strcmp(img->handler, "file") != 0)
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].handler: \"%s\" cannot be a delta (raw or file: the "
                             "source is read by offset from the active slot)",
                             i, img->handler);
    return 0;
}

static int validate_image(const otter_manifest *m, size_t i, otter_err *err)
{
    const otter_manifest_image *img = &m->images[i];
    if (!otter_ident_valid(img->name))
        return otter_err_set(err, OTTER_EFORMAT, "images[%zu].name: \"%s\" is not a valid name", i,
                             img->name);
    if (!otter_file_name_valid(img->file) || strcmp(img->file, "manifest.json") == 0 ||
        strcmp(img->file, "manifest.sig") == 0)
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].file: \"%s\" is not a valid entry name (no '/', no '..')",
                             i, img->file);
    /* A name outside the built-in ones is a custom handler (agent.conf [handler.NAME]):
     * the device refuses the package when it has no such handler for the slot class. */
    if (!in_list(img->handler, handlers) && !otter_ident_valid(img->handler))
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].handler: \"%s\" is not raw, archive, file or a "
                             "handler name",
                             i, img->handler);
    if (!otter_ident_valid(img->target))
        return otter_err_set(err, OTTER_EFORMAT, "images[%zu].target: \"%s\" is not a valid name",
                             i, img->target);
    if (img->size > (uint64_t)OTTER_JSON_INT_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "images[%zu].size: out of range", i);
    if (!otter_is_lower_hex(img->sha256, OTTER_SHA256_HEX_LEN))
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].sha256: expected 64 lower-case hex digits", i);
    if (img->delta_base_sha256[0] && !otter_is_lower_hex(img->delta_base_sha256, 64))
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].delta_base_sha256: expected 64 lower-case hex digits", i);
    if (img->verity_root_hash[0] &&
        !otter_is_lower_hex(img->verity_root_hash, OTTER_SHA256_HEX_LEN))
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].verity_root_hash: expected 64 lower-case hex digits", i);
    int ret = validate_delta_image(m, i, err);
    if (!ret)
        ret = otter_manifest_crypt_validate(m, i, err);
    if (ret)
        return ret;
    for (size_t j = 0; j < i; j++) {
        const otter_manifest_image *other = &m->images[j];
        if (strcmp(other->name, img->name) == 0)
            return otter_err_set(err, OTTER_EFORMAT, "images[%zu].name: \"%s\" used twice", i,
                                 img->name);
        if (strcmp(other->file, img->file) == 0)
            return otter_err_set(err, OTTER_EFORMAT, "images[%zu].file: \"%s\" used twice", i,
                                 img->file);
        if (strcmp(other->target, img->target) == 0)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "images[%zu].target: slot class \"%s\" used twice", i,
                                 img->target);
    }
    if (m->format == 2)
        return otter_manifest_chunks_validate(img, i, err);
    if (img->chunk_count)
        return otter_err_set(err, OTTER_EFORMAT, "images[%zu]: a chunk table needs format 2", i);
    return 0;
}

int otter_manifest_validate(const otter_manifest *m, otter_err *err)
{
    if (m->format != 1 && m->format != 2)
        return otter_err_set(err, OTTER_EFORMAT, "format %lld is not supported",
                             (long long)m->format);
    if (!otter_ident_valid(m->product))
        return otter_err_set(err, OTTER_EFORMAT, "product: \"%s\" is not a valid name", m->product);
    if (m->compatible_count < 1 || m->compatible_count > OTTER_COMPATIBLE_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "compatible: %zu models, allowed 1..%d",
                             m->compatible_count, OTTER_COMPATIBLE_MAX);
    for (size_t i = 0; i < m->compatible_count; i++) {
        if (!otter_ident_valid(m->compatible[i]))
            return otter_err_set(err, OTTER_EFORMAT,
                                 "compatible[%zu]: \"%s\" is not a valid model name", i,
                                 m->compatible[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->compatible[i], m->compatible[j]) == 0)
                return otter_err_set(err, OTTER_EFORMAT, "compatible[%zu]: \"%s\" listed twice", i,
                                     m->compatible[i]);
    }
    if (!otter_version_valid(m->version))
        return otter_err_set(err, OTTER_EFORMAT, "version: \"%s\" is not a valid version",
                             m->version);
    if (m->security_version < 0 || m->security_version > OTTER_JSON_INT_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "security_version: out of range");
    if (!created_valid(m->created))
        return otter_err_set(err, OTTER_EFORMAT,
                             "created: \"%s\" is not a UTC time like 2026-11-25T10:00:00Z",
                             m->created);
    if (m->image_count < 1 || m->image_count > OTTER_IMAGES_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "images: %zu images, allowed 1..%d",
                             m->image_count, OTTER_IMAGES_MAX);
    int deltas = 0;
    for (size_t i = 0; i < m->image_count; i++) {
        int ret = validate_image(m, i, err);
        if (ret)
            return ret;
        deltas += otter_manifest_image_is_delta(&m->images[i]);
    }
    if (deltas && !otter_version_valid(m->delta_from))
        return otter_err_set(err, OTTER_EFORMAT,
                             "delta_from: %s (required with delta images: the release they apply "
                             "to)",
                             m->delta_from[0] ? "not a valid version" : "missing");
    if (!deltas && m->delta_from[0])
        return otter_err_set(err, OTTER_EFORMAT, "delta_from: set, but no image is a delta");
    return otter_manifest_hooks_validate(m, err);
}

static json_t *image_json(int64_t format, const otter_manifest_image *img)
{
    json_t *obj =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o}", "name", img->name, "file", img->file,
                  "handler", img->handler, "target", img->target, "compression",
                  img->compression == OTTER_COMPRESSION_ZSTD ? "zstd" : "none", "size",
                  (json_int_t)img->size, "sha256", img->sha256, "delta_base_sha256",
                  img->delta_base_sha256[0] ? json_string(img->delta_base_sha256) : json_null());
    if (obj && img->delta_base_size &&
        json_object_set_new(obj, "delta_base_size",
                            json_integer((json_int_t)img->delta_base_size)) < 0) {
        json_decref(obj);
        return NULL;
    }
    if (obj && img->verity_root_hash[0] &&
        json_object_set_new(obj, "verity_root_hash", json_string(img->verity_root_hash)) < 0) {
        json_decref(obj);
        return NULL;
    }
    if (obj && format == 2 &&
        (otter_manifest_crypt_to_json(img, obj) < 0 ||
         otter_manifest_chunks_to_json(img, obj) < 0)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

char *otter_manifest_serialize_new(const otter_manifest *m)
{
    json_t *compatible = json_array(), *images = json_array();
    json_t *root =
        json_pack("{s:I, s:s, s:o, s:s, s:I, s:s, s:o}", "format", (json_int_t)m->format, "product",
                  m->product, "compatible", compatible, "version", m->version, "security_version",
                  (json_int_t)m->security_version, "created", m->created, "images", images);
    char *out = NULL;
    if (!root)
        return NULL;
    if (otter_manifest_hooks_to_json(m, root) < 0)
        goto out;
    if (m->delta_from[0] && json_object_set_new(root, "delta_from", json_string(m->delta_from)) < 0)
        goto out;
    if (m->notes.count && json_object_set_new(root, "notes", notes_json(&m->notes)) < 0)
        goto out;
    for (size_t i = 0; i < m->compatible_count; i++)
        if (json_array_append_new(compatible, json_string(m->compatible[i])) < 0)
            goto out;
    for (size_t i = 0; i < m->image_count; i++)
        if (json_array_append_new(images, image_json(m->format, &m->images[i])) < 0)
            goto out;
    out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
    json_decref(root);
    return out;
}

int otter_manifest_check_device(const otter_manifest *m, const char *product, const char *model,
                                otter_err *err)
{
    if (product && strcmp(product, m->product) != 0)
        return otter_err_set(err, OTTER_ECOMPAT, "built for product \"%s\", device is \"%s\"",
                             m->product, product);
    for (size_t i = 0; i < m->compatible_count; i++)
        if (strcmp(m->compatible[i], model) == 0)
            return 0;
    return otter_err_set(err, OTTER_ECOMPAT, "model \"%.64s\" is not in compatible (%s%s)", model,
                         m->compatible[0], m->compatible_count > 1 ? ", ..." : "");
}

int otter_manifest_image_is_delta(const otter_manifest_image *img)
{
    return img->delta_base_sha256[0] != '\0';
}

const otter_manifest_image *otter_manifest_find_image(const otter_manifest *m, const char *name)
{
    for (size_t i = 0; i < m->image_count; i++)
        if (strcmp(m->images[i].name, name) == 0)
            return &m->images[i];
    return NULL;
}
