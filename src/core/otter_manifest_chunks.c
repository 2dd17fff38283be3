/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_manifest_chunks.h"
#include "otter_encode.h"
#include "otter_json.h"
#include "otter_manifest_crypt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

int otter_manifest_image_alloc_chunks(otter_manifest_image *img, size_t count, otter_err *err)
{
    if (count > OTTER_CHUNKS_MAX)
        return otter_err_set(err, OTTER_EFORMAT, "%zu chunks, at most %d", count, OTTER_CHUNKS_MAX);
    otter_manifest_chunk *chunks = count ? calloc(count, sizeof *chunks) : NULL;
    if (count && !chunks)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    free(img->chunks);
    img->chunks = chunks;
    img->chunk_count = count;
    return 0;
}

/* Reads a 64-hex-digit field into raw bytes. */
static int get_digest(const json_t *obj, const char *key, const char *where, uint8_t *out,
                      otter_err *err)
{
    const char *hex = NULL;
    int ret = otter_json_get_string(obj, key, 0, OTTER_SHA256_HEX_LEN, where, &hex, err);
    if (ret)
        return ret;
    if (!otter_is_lower_hex(hex, OTTER_SHA256_HEX_LEN))
        return otter_err_set(err, OTTER_EFORMAT, "%s.%s: expected 64 lower-case hex digits", where,
                             key);
    return otter_hex_decode(hex, out, OTTER_SHA256_LEN, err);
}

static const char *const method_names[] = {"zstd",   "copy",        "zstd-patch",
                                           "bsdiff", "bsdiff-lzma", NULL};

const char *otter_chunk_method_name(otter_chunk_method method)
{
    return (unsigned)method < OTTER_METHOD_COUNT ? method_names[method] : "?";
}

/* A delta chunk's "method" (default zstd) and "source" {offset, size}. */
static int parse_delta_fields(const json_t *obj, const char *where, otter_manifest_chunk *c,
                              otter_err *err)
{
    const char *method = NULL;
    int ret = otter_json_get_string(obj, "method", 1, 16, where, &method, err);
    if (ret)
        return ret;
    c->method = OTTER_METHOD_ZSTD;
    if (method) {
        size_t i = 0;
        while (method_names[i] && strcmp(method_names[i], method) != 0)
            i++;
        /* Its own code: an agent falls back to the full package on it (a delta
         * made for newer agents), as on a source mismatch. */
        if (!method_names[i])
            return otter_err_set(err, OTTER_EMETHOD,
                                 "%s.method: \"%s\" is not zstd, copy, zstd-patch, bsdiff or "
                                 "bsdiff-lzma",
                                 where, method);
        c->method = (otter_chunk_method)i;
    }
    json_t *src = json_object_get(obj, "source");
    if (c->method == OTTER_METHOD_ZSTD) {
        if (src)
            return otter_err_set(err, OTTER_EFORMAT, "%s.source: not allowed with method zstd",
                                 where);
        return 0;
    }
    if (!src)
        return otter_err_set(err, OTTER_EFORMAT, "%s.source: required with method %s", where,
                             method);
    static const char *const src_keys[] = {"offset", "size", NULL};
    char at[360];
    snprintf(at, sizeof at, "%s.source", where);
    int64_t off = 0, size = 0;
    if (!json_is_object(src))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", at);
    ret = otter_json_known_keys(src, src_keys, at, err);
    if (!ret)
        ret = otter_json_get_int(src, "offset", 0, 0, OTTER_JSON_INT_MAX, at, &off, err);
    if (!ret)
        ret = otter_json_get_int(src, "size", 0, 1, 4LL * OTTER_CHUNK_SIZE_MAX, at, &size, err);
    c->source_offset = (uint64_t)off;
    c->source_size = (uint32_t)size;
    return ret;
}

static int parse_chunk(const json_t *obj, const char *where, const otter_manifest_image *img,
                       otter_manifest_chunk *c, otter_err *err)
{
    static const char *const zstd_keys[] = {"size",        "sha256",        "stored_offset",
                                            "stored_size", "stored_sha256", NULL};
    static const char *const none_keys[] = {"size", "sha256", "stored_offset", "stored_size", NULL};
    static const char *const delta_keys[] = {
        "size",          "sha256", "stored_offset", "stored_size",
        "stored_sha256", "method", "source",        NULL};
    int delta = otter_manifest_image_is_delta(img);
    int zstd = img->compression == OTTER_COMPRESSION_ZSTD;
    int sealed = img->encryption != NULL; /* stored bytes are ciphertext: their own digest */
    int64_t size = 0, stored_size = 0, stored_offset = 0;
    if (!json_is_object(obj))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", where);
    int ret = otter_json_known_keys(obj,
                                    delta            ? delta_keys
                                    : zstd || sealed ? zstd_keys
                                                     : none_keys,
                                    where, err);
    if (!ret && delta)
        ret = parse_delta_fields(obj, where, c, err);
    if (!ret)
        ret = otter_json_get_int(obj, "size", 0, 1, OTTER_CHUNK_SIZE_MAX, where, &size, err);
    if (!ret)
        ret = get_digest(obj, "sha256", where, c->sha256, err);
    if (!ret)
        ret = otter_json_get_int(obj, "stored_offset", 0, 0, OTTER_JSON_INT_MAX, where,
                                 &stored_offset, err);
    /* A copy chunk stores nothing: 0 is its only size (checked in validate). */
    if (!ret)
        ret = otter_json_get_int(obj, "stored_size", 0, delta ? 0 : 1,
                                 (int64_t)ZSTD_COMPRESSBOUND(OTTER_CHUNK_SIZE_MAX) +
                                     OTTER_CRYPT_TAG_LEN,
                                 where, &stored_size, err);
    int copy = delta && c->method == OTTER_METHOD_COPY;
    if (!ret && copy && json_object_get(obj, "stored_sha256"))
        ret = otter_err_set(err, OTTER_EFORMAT,
                            "%s.stored_sha256: not allowed with method copy (nothing is stored)",
                            where);
    if (!ret && (zstd || sealed) && !copy)
        ret = get_digest(obj, "stored_sha256", where, c->stored_sha256, err);
    if (ret)
        return ret;
    c->size = (uint32_t)size;
    c->stored_size = (uint32_t)stored_size;
    c->stored_offset = (uint64_t)stored_offset;
    if (!zstd && !sealed)
        memcpy(c->stored_sha256, c->sha256, sizeof c->sha256);
    return 0;
}

int otter_manifest_chunks_parse(const json_t *obj, const char *where, otter_manifest_image *img,
                                otter_err *err)
{
    int64_t span = 0;
    json_t *arr = NULL;
    int ret = otter_json_get_int(obj, "chunk_size", 0, OTTER_CHUNK_SIZE_MIN, OTTER_CHUNK_SIZE_MAX,
                                 where, &span, err);
    if (!ret)
        ret = otter_json_get_array(obj, "chunks", 0, OTTER_CHUNKS_MAX, where, &arr, err);
    if (!ret)
        ret = otter_manifest_image_alloc_chunks(img, json_array_size(arr), err);
    if (ret)
        return ret;
    img->chunk_size = (uint32_t)span;
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        char at[320];
        snprintf(at, sizeof at, "%s.chunks[%zu]", where, i);
        ret = parse_chunk(item, at, img, &img->chunks[i], err);
        if (ret)
            return ret;
    }
    return 0;
}

/* A delta chunk's method and source range against the image (nothing for full images). */
static int validate_delta_chunk(const otter_manifest_image *img, size_t index, size_t i,
                                const otter_manifest_chunk *c, otter_err *err)
{
    if (!otter_manifest_image_is_delta(img)) {
        if (c->method != OTTER_METHOD_ZSTD || c->source_size || c->source_offset)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "images[%zu].chunks[%zu].method: only a delta image "
                                 "(delta_base_sha256 set) has chunks made from a source",
                                 index, i);
        return 0;
    }
    if ((unsigned)c->method >= OTTER_METHOD_COUNT)
        return otter_err_set(err, OTTER_EFORMAT, "images[%zu].chunks[%zu].method: unknown", index,
                             i);
    if (c->method == OTTER_METHOD_ZSTD) {
        if (c->source_size || c->source_offset)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "images[%zu].chunks[%zu].source: not allowed with method zstd",
                                 index, i);
        return 0;
    }
    uint64_t max = 4ull * img->chunk_size;
    if (c->source_size < 1 || c->source_size > max)
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].chunks[%zu].source.size: %u out of range 1..%llu "
                             "(4 x chunk_size)",
                             index, i, c->source_size, (unsigned long long)max);
    if (c->source_offset > img->delta_base_size ||
        c->source_size > img->delta_base_size - c->source_offset)
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].chunks[%zu].source: %llu + %u bytes pass the end of "
                             "the source (delta_base_size %llu)",
                             index, i, (unsigned long long)c->source_offset, c->source_size,
                             (unsigned long long)img->delta_base_size);
    if (c->method == OTTER_METHOD_COPY && c->source_size != c->size)
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].chunks[%zu].source.size: %u, a copy takes the chunk's "
                             "size %u",
                             index, i, c->source_size, c->size);
    return 0;
}

int otter_manifest_chunks_validate(const otter_manifest_image *img, size_t index, otter_err *err)
{
    uint32_t span = img->chunk_size;
    if (span < OTTER_CHUNK_SIZE_MIN || span > OTTER_CHUNK_SIZE_MAX || (span & (span - 1)))
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].chunk_size: %u is not a power of two from %u to %u",
                             index, span, OTTER_CHUNK_SIZE_MIN, OTTER_CHUNK_SIZE_MAX);
    uint64_t want = img->size / span + (img->size % span != 0);
    if (img->chunk_count != want)
        return otter_err_set(err, OTTER_EFORMAT,
                             "images[%zu].chunks: %zu chunks, but %llu bytes in %u-byte chunks "
                             "make %llu",
                             index, img->chunk_count, (unsigned long long)img->size, span,
                             (unsigned long long)want);
    uint64_t stored_at = 0;
    for (size_t i = 0; i < img->chunk_count; i++) {
        const otter_manifest_chunk *c = &img->chunks[i];
        uint64_t size = i + 1 < img->chunk_count ? span : img->size - (uint64_t)i * span;
        if (c->size != size)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "images[%zu].chunks[%zu].size: %u, expected %llu", index, i,
                                 c->size, (unsigned long long)size);
        if (c->stored_offset != stored_at)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "images[%zu].chunks[%zu].stored_offset: %llu, expected %llu "
                                 "(chunks are contiguous)",
                                 index, i, (unsigned long long)c->stored_offset,
                                 (unsigned long long)stored_at);
        int ret = validate_delta_chunk(img, index, i, c, err);
        if (ret)
            return ret;
        uint64_t max =
            img->compression == OTTER_COMPRESSION_ZSTD ? ZSTD_compressBound(c->size) : c->size;
        uint64_t min = img->compression == OTTER_COMPRESSION_ZSTD ? 1 : c->size;
        if (c->method == OTTER_METHOD_COPY)
            min = max = 0;
        min += otter_manifest_crypt_overhead(img); /* the GCM tag after the ciphertext */
        max += otter_manifest_crypt_overhead(img);
        if (c->stored_size < min || c->stored_size > max)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "images[%zu].chunks[%zu].stored_size: %u out of range %llu..%llu",
                                 index, i, c->stored_size, (unsigned long long)min,
                                 (unsigned long long)max);
        stored_at += c->stored_size;
    }
    return 0;
}

static json_t *digest_json(const uint8_t *md)
{
    char hex[OTTER_SHA256_HEX_LEN + 1];
    otter_hex_encode(md, OTTER_SHA256_LEN, hex);
    return json_string(hex);
}

int otter_manifest_chunks_to_json(const otter_manifest_image *img, json_t *obj)
{
    json_t *arr = json_array();
    if (!arr || json_object_set_new(obj, "chunk_size", json_integer(img->chunk_size)) < 0 ||
        json_object_set_new(obj, "chunks", arr) < 0)
        return -1;
    for (size_t i = 0; i < img->chunk_count; i++) {
        const otter_manifest_chunk *c = &img->chunks[i];
        json_t *o = json_pack("{s:I, s:o, s:I, s:I}", "size", (json_int_t)c->size, "sha256",
                              digest_json(c->sha256), "stored_offset", (json_int_t)c->stored_offset,
                              "stored_size", (json_int_t)c->stored_size);
        if (o && (img->compression == OTTER_COMPRESSION_ZSTD || img->encryption) &&
            c->method != OTTER_METHOD_COPY &&
            json_object_set_new(o, "stored_sha256", digest_json(c->stored_sha256)) < 0) {
            json_decref(o);
            o = NULL;
        }
        if (o && c->method != OTTER_METHOD_ZSTD &&
            (json_object_set_new(o, "method", json_string(method_names[c->method])) < 0 ||
             json_object_set_new(o, "source",
                                 json_pack("{s:I, s:I}", "offset", (json_int_t)c->source_offset,
                                           "size", (json_int_t)c->source_size)) < 0)) {
            json_decref(o);
            o = NULL;
        }
        if (!o || json_array_append_new(arr, o) < 0)
            return -1;
    }
    return 0;
}
