/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cli.h"
#include "otter_help_otter.h"
#include "otter_encode.h"
#include "otter_pkg.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

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
        printf("      %5zu  at %llu  %u bytes  stored at %llu  %u bytes  sha256 %s\n", i,
               (unsigned long long)i * span, c->size, (unsigned long long)c->stored_offset,
               c->stored_size, hex);
    }
}

static void print_text(const char *path, const otter_manifest *m, const otter_sig_list *sigs,
                       const image_stat *stats, size_t seen, uint64_t total, int list)
{
    printf("package:          %s (%llu bytes)\n", path, (unsigned long long)total);
    printf("format:           %lld\n", (long long)m->format);
    printf("product:          %s\n", m->product);
    printf("version:          %s\n", m->version);
    printf("security version: %lld\n", (long long)m->security_version);
    printf("created:          %s\n", m->created);
    printf("compatible:      ");
    for (size_t i = 0; i < m->compatible_count; i++)
        printf(" %s", m->compatible[i]);
    printf("\nsignatures:       %zu\n", sigs->count);
    for (size_t i = 0; i < sigs->count; i++)
        printf("  %s  %s\n", sigs->entries[i].keyid, sigs->entries[i].alg);
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
        printf("    sha256 %s%s\n", img->sha256,
               i < seen ? (stats[i].digest_ok ? " (matches)" : " (MISMATCH)") : "");
        print_chunks(img, list);
    }
}

static void print_json(const char *path, const char *manifest, size_t manifest_len,
                       const otter_manifest *m, const otter_sig_list *sigs,
                       const image_stat *stats, size_t seen, uint64_t total)
{
    json_t *signatures = json_array(), *images = json_array();
    for (size_t i = 0; i < sigs->count; i++)
        json_array_append_new(signatures, json_pack("{s:s, s:s}", "keyid", sigs->entries[i].keyid,
                                                    "alg", sigs->entries[i].alg));
    for (size_t i = 0; i < seen; i++) {
        const otter_manifest_image *img = &m->images[i];
        json_array_append_new(
            images, json_pack("{s:s, s:I, s:I, s:f, s:b, s:I, s:I}", "name", img->name, "size",
                              (json_int_t)img->size, "stored", (json_int_t)stats[i].stored,
                              "ratio",
                              stats[i].stored ? (double)img->size / (double)stats[i].stored : 0.0,
                              "digest_ok", stats[i].digest_ok, "chunk_size",
                              (json_int_t)img->chunk_size, "chunks",
                              (json_int_t)img->chunk_count));
    }
    json_t *root = json_pack("{s:s, s:I, s:o, s:o, s:o}", "package", path, "package_size",
                             (json_int_t)total, "manifest",
                             json_loadb(manifest, manifest_len, 0, NULL), "signatures", signatures,
                             "images", images);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(root);
}

int otter_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"chunks", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int as_json = 0, list = 0, c;
    while ((c = getopt_long(argc, argv, ":jch", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = 1; break;
        case 'c': list = 1; break;
        case 'h': fputs(otter_help_otter_inspect, stdout); return EXIT_OK;
        default: return otter_cli_bad_option("inspect", c, argv);
        }
    }
    if (optind + 1 != argc)
        return otter_cli_usage_error("inspect", "expected exactly one package");
    const char *path = argv[optind];
    otter_err err;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    image_stat stats[OTTER_IMAGES_MAX] = {0};
    size_t seen = 0;
    unsigned flags = OTTER_PKG_UNVERIFIED | OTTER_PKG_HASH_THREAD | OTTER_PKG_FULL_DIGEST;
    int ret = otter_pkg_reader_open_file(path, flags, &r,
                                         &err);
    if (!ret)
        ret = otter_pkg_read_manifest(r, NULL, &m, NULL, &err);
    if (ret) {
        otter_pkg_reader_free(r);
        return otter_cli_fail(&err);
    }
    while ((ret = otter_pkg_next_image(r, &img, &err)) == 1) {
        image_stat *st = &stats[seen++];
        st->stored = otter_pkg_entry_size(r);
        const void *data;
        size_t len;
        while ((ret = otter_pkg_read_chunk(r, &data, &len, &err)) == 1)
            ;
        st->digest_ok = ret == 0;
        if (ret)
            break;
    }
    size_t mlen = 0;
    const char *mbytes = otter_pkg_manifest_bytes(r, &mlen);
    if (as_json)
        print_json(path, mbytes, mlen, m, otter_pkg_signatures(r), stats, seen,
                   otter_pkg_bytes_in(r));
    else
        print_text(path, m, otter_pkg_signatures(r), stats, seen, otter_pkg_bytes_in(r), list);
    int code = ret ? otter_cli_fail(&err) : EXIT_OK;
    otter_pkg_reader_free(r);
    return code;
}
