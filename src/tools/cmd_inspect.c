/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_help_otter.h"
#include "otter_crypt.h"
#include "otter_encode.h"
#include "otter_pkg.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

/* Per method of one delta image: chunks, installed and stored bytes. */
typedef struct method_mix {
    size_t chunks[OTTER_METHOD_COUNT];
    uint64_t installed[OTTER_METHOD_COUNT], stored[OTTER_METHOD_COUNT], stored_total;
} method_mix;

static method_mix mix_of(const otter_manifest_image *img)
{
    method_mix x = {0};
    for (size_t i = 0; i < img->chunk_count; i++) {
        const otter_manifest_chunk *c = &img->chunks[i];
        x.chunks[c->method]++;
        x.installed[c->method] += c->size;
        x.stored[c->method] += c->stored_size;
        x.stored_total += c->stored_size;
    }
    return x;
}

/* The full image's stored size in the --full package (its chunk table), or 0. */
static uint64_t full_stored(const otter_manifest *full, const otter_manifest_image *img)
{
    const otter_manifest_image *f = full ? otter_manifest_find_image(full, img->name) : NULL;
    uint64_t n = 0;
    for (size_t i = 0; f && i < f->chunk_count; i++)
        n += f->chunks[i].stored_size;
    return n;
}

static void print_delta(const otter_manifest *m, const otter_manifest_image *img,
                        const otter_manifest *full)
{
    if (!otter_manifest_image_is_delta(img))
        return;
    method_mix x = mix_of(img);
    printf("    delta from release %s: base sha256 %s, %llu bytes\n", m->delta_from,
           img->delta_base_sha256, (unsigned long long)img->delta_base_size);
    for (int k = 0; k < OTTER_METHOD_COUNT; k++)
        if (x.chunks[k])
            printf("      %-11s %5zu chunk%s  %llu bytes installed, %llu stored\n",
                   otter_chunk_method_name((otter_chunk_method)k), x.chunks[k],
                   x.chunks[k] == 1 ? " " : "s", (unsigned long long)x.installed[k],
                   (unsigned long long)x.stored[k]);
    uint64_t against = full_stored(full, img);
    const char *what = against ? "the full image's stored" : "the installed";
    if (!against)
        against = img->size;
    printf("      saved %lld bytes against %s %llu (%.1f%%)\n",
           (long long)against - (long long)x.stored_total, what, (unsigned long long)against,
           against ? 100.0 * ((double)against - (double)x.stored_total) / (double)against : 0.0);
}

typedef struct image_stat {
    uint64_t stored;
    int digest_ok;
    char problem[OTTER_ERR_MSG_MAX];
} image_stat;

static void print_chunks(const otter_manifest_image *img, int list)
{
    if (!img->chunk_size)
        return;
    unsigned long long span = img->chunk_size;
    printf("    chunks %zu of %llu %s\n", img->chunk_count,
           span % (1024 * 1024) == 0 ? span >> 20 : span >> 10,
           span % (1024 * 1024) == 0 ? "MiB" : "KiB");
    for (size_t i = 0; list && i < img->chunk_count; i++) {
        const otter_manifest_chunk *c = &img->chunks[i];
        char hex[OTTER_SHA256_HEX_LEN + 1];
        otter_hex_encode(c->sha256, sizeof c->sha256, hex);
        printf("      %5zu  at %llu  %u bytes  stored at %llu  %u bytes  sha256 %s", i,
               (unsigned long long)i * span, c->size, (unsigned long long)c->stored_offset,
               c->stored_size, hex);
        if (c->method != OTTER_METHOD_ZSTD)
            printf("  %s from %llu (%u bytes)", otter_chunk_method_name(c->method),
                   (unsigned long long)c->source_offset, c->source_size);
        printf("\n");
    }
}

/* Encrypted images: the scheme and the recipients' key ids; never a key, wrapped or not. */
static void print_encryption(const otter_manifest_image *img)
{
    const otter_manifest_encryption *e = img->encryption;
    if (!e)
        return;
    printf("    encrypted aes-256-gcm for %zu recipient%s:\n", e->recipient_count,
           e->recipient_count == 1 ? "" : "s");
    for (size_t i = 0; i < e->recipient_count; i++)
        printf("      %s  %s\n", e->recipients[i].keyid, otter_wrap_alg_name(e->recipients[i].alg));
}

static json_t *encryption_json(const otter_manifest_image *img)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < img->encryption->recipient_count; i++)
        json_array_append_new(
            arr, json_pack("{s:s, s:s}", "keyid", img->encryption->recipients[i].keyid, "alg",
                           otter_wrap_alg_name(img->encryption->recipients[i].alg)));
    return json_pack("{s:s, s:o}", "alg", "aes-256-gcm", "recipients", arr);
}

/* The signed release notes (issue #17), each language's text indented under its tag. */
static void print_notes(const otter_manifest_notes *n)
{
    if (!n->count)
        return;
    printf("notes:            %zu language%s (signed)\n", n->count, n->count == 1 ? "" : "s");
    for (size_t i = 0; i < n->count; i++) {
        printf("  [%s]\n", n->n[i].lang);
        for (const char *p = n->n[i].text; *p;) {
            size_t len = strcspn(p, "\n");
            printf("    %.*s\n", (int)len, p);
            p += len + (p[len] == '\n');
        }
    }
}

static void print_text(const char *path, const otter_manifest *m, const otter_sig_list *sigs,
                       const image_stat *stats, size_t seen, uint64_t total, int list,
                       const otter_manifest *full)
{
    printf("package:          %s (%llu bytes)\n", path, (unsigned long long)total);
    printf("format:           %lld\n", (long long)m->format);
    printf("product:          %s\n", m->product);
    printf("version:          %s\n", m->version);
    printf("security version: %lld\n", (long long)m->security_version);
    printf("created:          %s\n", m->created);
    if (m->delta_from[0])
        printf("delta from:       %s\n", m->delta_from);
    printf("compatible:      ");
    for (size_t i = 0; i < m->compatible_count; i++)
        printf(" %s", m->compatible[i]);
    printf("\nsignatures:       %zu\n", sigs->count);
    for (size_t i = 0; i < sigs->count; i++)
        printf("  %s  %s\n", sigs->entries[i].keyid, sigs->entries[i].alg);
    for (int i = 0; i < OTTER_HOOKS; i++) /* install hooks and partial packages (issue #14) */
        if (m->hooks[i].file[0])
            printf("hook %-13s %s, %llu bytes, sha256 %s\n", otter_manifest_hook_name(i),
                   m->hooks[i].file, (unsigned long long)m->hooks[i].size, m->hooks[i].sha256);
    for (size_t i = 0; i < m->replaces_count; i++)
        printf("%s%s%s", i ? " " : "partial, replaces: ", m->replaces[i],
               i + 1 == m->replaces_count ? "\n" : "");
    printf("images:           %zu\n", m->image_count);
    for (size_t i = 0; i < m->image_count; i++) {
        const otter_manifest_image *img = &m->images[i];
        printf("  %s -> slot class %s, handler %s\n", img->name, img->target, img->handler);
        printf("    file %s, %s\n", img->file,
               img->compression == OTTER_COMPRESSION_ZSTD ? "zstd" : "stored raw");
        if (i < seen)
            printf("    installed %llu bytes, stored %llu bytes, ratio %.2f\n",
                   (unsigned long long)img->size, (unsigned long long)stats[i].stored,
                   stats[i].stored ? (double)img->size / (double)stats[i].stored : 0.0);
        const char *ok = img->encryption
                             ? " (not checked: encrypted; every ciphertext chunk matches)"
                             : " (matches)";
        printf("    sha256 %s%s\n", img->sha256,
               i < seen ? (stats[i].digest_ok ? ok : " (MISMATCH)")
                        : " (not checked: a delta image needs --source)");
        if (img->verity_root_hash[0])
            printf("    dm-verity root hash %s\n", img->verity_root_hash);
        print_encryption(img);
        print_delta(m, img, full);
        print_chunks(img, list);
    }
    print_notes(&m->notes);
}

static json_t *delta_json(const otter_manifest_image *img)
{
    method_mix x = mix_of(img);
    json_t *methods = json_object();
    for (int k = 0; k < OTTER_METHOD_COUNT; k++)
        if (x.chunks[k])
            json_object_set_new(methods, otter_chunk_method_name((otter_chunk_method)k),
                                json_pack("{s:I, s:I, s:I}", "chunks", (json_int_t)x.chunks[k],
                                          "installed", (json_int_t)x.installed[k], "stored",
                                          (json_int_t)x.stored[k]));
    return json_pack("{s:s, s:I, s:o, s:I}", "base_sha256", img->delta_base_sha256, "base_size",
                     (json_int_t)img->delta_base_size, "methods", methods, "stored",
                     (json_int_t)x.stored_total);
}

static void print_json(const char *path, const char *manifest, size_t manifest_len,
                       const otter_manifest *m, const otter_sig_list *sigs, const image_stat *stats,
                       size_t seen, uint64_t total)
{
    json_t *signatures = json_array(), *images = json_array();
    for (size_t i = 0; i < sigs->count; i++)
        json_array_append_new(signatures, json_pack("{s:s, s:s}", "keyid", sigs->entries[i].keyid,
                                                    "alg", sigs->entries[i].alg));
    for (size_t i = 0; i < m->image_count; i++) {
        const otter_manifest_image *img = &m->images[i];
        if (i >= seen) { /* a delta image without --source, and those after it */
            json_t *o = json_pack("{s:s, s:I, s:b}", "name", img->name, "size",
                                  (json_int_t)img->size, "checked", 0);
            if (o && otter_manifest_image_is_delta(img))
                json_object_set_new(o, "delta", delta_json(img));
            json_array_append_new(images, o);
            continue;
        }
        json_t *o = json_pack("{s:s, s:I, s:I, s:f, s:b, s:I, s:I}", "name", img->name, "size",
                              (json_int_t)img->size, "stored", (json_int_t)stats[i].stored, "ratio",
                              stats[i].stored ? (double)img->size / (double)stats[i].stored : 0.0,
                              "digest_ok", stats[i].digest_ok, "chunk_size",
                              (json_int_t)img->chunk_size, "chunks", (json_int_t)img->chunk_count);
        if (o && otter_manifest_image_is_delta(img))
            json_object_set_new(o, "delta", delta_json(img));
        if (o && img->encryption)
            json_object_set_new(o, "encryption", encryption_json(img));
        json_array_append_new(images, o);
    }
    json_t *root = json_pack(
        "{s:s, s:I, s:o, s:o, s:o}", "package", path, "package_size", (json_int_t)total, "manifest",
        json_loadb(manifest, manifest_len, 0, NULL), "signatures", signatures, "images", images);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(root);
}

/* --source IMAGE=PATH: opened read-only and given to the reader. */
static int add_source(otter_pkg_reader *r, const char *spec, int *fd, otter_err *err)
{
    char name[OTTER_IDENT_MAX + 1];
    const char *eq = strchr(spec, '=');
    snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
    *fd = open(eq + 1, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot open", eq + 1);
    return otter_pkg_reader_set_source(r, name, *fd, err);
}

static int has_source(const otter_cli_list *sources, const char *image)
{
    size_t n = strlen(image);
    for (size_t i = 0; i < sources->count; i++)
        if (strncmp(sources->items[i], image, n) == 0 && sources->items[i][n] == '=')
            return 1;
    return 0;
}

/* The manifest of the --full package (its signatures are not checked: only sizes are used). */
static int read_full_manifest(const char *path, otter_manifest **out, otter_err *err)
{
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    size_t len = 0;
    int ret = otter_pkg_reader_open_file(path, OTTER_PKG_UNVERIFIED, &r, err);
    if (!ret)
        ret = otter_pkg_read_manifest(r, NULL, &m, NULL, err);
    if (!ret) {
        const char *bytes = otter_pkg_manifest_bytes(r, &len);
        ret = otter_manifest_parse(bytes, len, path, out, err);
    }
    otter_pkg_reader_free(r);
    return ret;
}

/*
 * Reads every image through (checking its digests) into stats[*seen...]; stops
 * before a delta image whose source was not given (it cannot be checked).
 */
static int read_images(otter_pkg_reader *r, const otter_manifest *m, const otter_cli_list *sources,
                       image_stat *stats, size_t *seen, otter_err *err)
{
    const otter_manifest_image *img = NULL;
    int ret = 0;
    while (!(*seen < m->image_count && otter_manifest_image_is_delta(&m->images[*seen]) &&
             !has_source(sources, m->images[*seen].name)) &&
           (ret = otter_pkg_next_image(r, &img, err)) == 1) {
        image_stat *st = &stats[(*seen)++];
        st->stored = otter_pkg_entry_size(r);
        const void *data;
        size_t len;
        while ((ret = otter_pkg_read_chunk(r, &data, &len, err)) == 1)
            ;
        st->digest_ok = ret == 0;
        if (ret)
            break;
    }
    return ret;
}

int otter_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},         {"chunks", no_argument, NULL, 'c'},
        {"source", required_argument, NULL, 's'}, {"full", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int as_json = 0, list = 0, c;
    otter_cli_list sources = {0};
    const char *full_path = NULL;
    while ((c = getopt_long(argc, argv, ":jcs:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            as_json = 1;
            break;
        case 'c':
            list = 1;
            break;
        case 's':
            if (!strchr(optarg, '=') ||
                otter_cli_list_add(&sources, "inspect", "sources", optarg) < 0)
                return otter_cli_usage_error("inspect", "--source: expected IMAGE=PATH");
            break;
        case 'f':
            full_path = optarg;
            break;
        case 'h':
            fputs(otter_help_otter_inspect, stdout);
            return EXIT_OK;
        default:
            return otter_cli_bad_option("inspect", c, argv);
        }
    }
    if (optind + 1 != argc)
        return otter_cli_usage_error("inspect", "expected exactly one package");
    const char *path = argv[optind];
    otter_err err;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    image_stat stats[OTTER_IMAGES_MAX] = {0};
    size_t seen = 0;
    unsigned flags =
        OTTER_PKG_UNVERIFIED | OTTER_PKG_HASH_THREAD | OTTER_PKG_FULL_DIGEST | OTTER_PKG_CIPHERTEXT;
    int ret = otter_pkg_reader_open_file(path, flags, &r, &err);
    if (!ret)
        ret = otter_pkg_read_manifest(r, NULL, &m, NULL, &err);
    if (ret) {
        otter_pkg_reader_free(r);
        return otter_cli_fail(&err);
    }
    int fds[64];
    size_t nfds = 0;
    otter_manifest *full = NULL;
    if (full_path && (ret = read_full_manifest(full_path, &full, &err)) != 0) {
        otter_pkg_reader_free(r);
        return otter_cli_fail(&err);
    }
    for (size_t i = 0; !ret && i < sources.count; i++)
        ret = add_source(r, sources.items[i], &fds[nfds++], &err);
    if (!ret)
        ret = read_images(r, m, &sources, stats, &seen, &err);
    size_t mlen = 0;
    const char *mbytes = otter_pkg_manifest_bytes(r, &mlen);
    if (as_json)
        print_json(path, mbytes, mlen, m, otter_pkg_signatures(r), stats, seen,
                   otter_pkg_bytes_in(r));
    else
        print_text(path, m, otter_pkg_signatures(r), stats, seen, otter_pkg_bytes_in(r), list,
                   full);
    int code = ret ? otter_cli_fail(&err) : EXIT_OK;
    otter_pkg_reader_free(r);
    otter_manifest_free(full);
    for (size_t i = 0; i < nfds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return code;
}
