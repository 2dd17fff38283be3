/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds test tars with libarchive's writer, which stores names and link
 * targets exactly as given: that is what lets us write the hostile ones
 * ("../evil", "/etc/passwd" links, device nodes) that the extractor must refuse.
 */
#include "tar_build.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { FILE_, DIR_, SYM, HARD, CHR, FIFO };

struct ent {
    const char *name;
    enum kind kind;
    const char *target; /* link target, or file content for FILE_ */
    unsigned mode;
};

static int add(struct archive *a, const struct ent *e, const void *data, size_t size)
{
    struct archive_entry *ae = archive_entry_new();
    if (!ae)
        return -1;
    archive_entry_set_pathname(ae, e->name);
    archive_entry_set_mtime(ae, 1764064800, 0);
    archive_entry_set_perm(ae, e->mode ? e->mode : (e->kind == DIR_ ? 0755 : 0644));
    switch (e->kind) {
    case FILE_:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, (la_int64_t)size);
        break;
    case DIR_:
        archive_entry_set_filetype(ae, AE_IFDIR);
        break;
    case SYM:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, e->target);
        break;
    case HARD:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_hardlink(ae, e->target);
        break;
    case CHR:
        archive_entry_set_filetype(ae, AE_IFCHR);
        archive_entry_set_rdevmajor(ae, 1);
        archive_entry_set_rdevminor(ae, 3);
        break;
    case FIFO:
        archive_entry_set_filetype(ae, AE_IFIFO);
        break;
    }
    int ok = archive_write_header(a, ae) == ARCHIVE_OK &&
             (size == 0 || archive_write_data(a, data, size) == (la_ssize_t)size);
    archive_entry_free(ae);
    return ok ? 0 : -1;
}

static int write_tar(const char *dir, const char *name, const struct ent *ents, size_t n,
                     const void *big, size_t big_size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct archive *a = archive_write_new();
    if (!a)
        return -1;
    archive_write_set_format_pax_restricted(a);
    int ret = archive_write_open_filename(a, path) == ARCHIVE_OK ? 0 : -1;
    for (size_t i = 0; i < n && ret == 0; i++) {
        const struct ent *e = &ents[i];
        int is_big = e->kind == FILE_ && e->target == NULL;
        const void *data = e->kind != FILE_ ? NULL : is_big ? big : e->target;
        size_t size = e->kind != FILE_ ? 0 : is_big ? big_size : strlen(e->target);
        ret = add(a, e, data, size);
    }
    if (ret)
        fprintf(stderr, "%s: %s\n", path, archive_error_string(a));
    if (archive_write_close(a) != ARCHIVE_OK)
        ret = -1;
    archive_write_free(a);
    return ret;
}

#define N(x) (sizeof(x) / sizeof((x)[0]))

int tar_build_all(const char *dir)
{
    static const struct ent good[] = {
        {"etc", DIR_, NULL, 0},
        {"etc/hostname", FILE_, "gateway\n", 0},
        {"bin", DIR_, NULL, 0},
        {"bin/tool", FILE_, "#!/bin/sh\necho hi\n", 0755},
        {"bin/tool-link", SYM, "tool", 0},
        {"etc/up", SYM, "../bin/tool", 0},
        {"bin/tool-hard", HARD, "bin/tool", 0},
        {"./data/big.bin", FILE_, NULL, 0}, /* NULL content: the 5 MiB pattern */
    };
    static const struct {
        const char *name;
        struct ent ents[4];
        size_t n;
    } hostile[] = {
        {"abs.tar", {{"/tmp/otter-evil", FILE_, "x", 0}}, 1},
        {"dotdot.tar", {{"../evil", FILE_, "x", 0}}, 1},
        {"dotdot-deep.tar", {{"a", DIR_, NULL, 0}, {"a/../../evil", FILE_, "x", 0}}, 2},
        {"sym-abs.tar", {{"etc", DIR_, NULL, 0}, {"etc/passwd", SYM, "/etc/passwd", 0}}, 2},
        {"sym-up.tar", {{"a", DIR_, NULL, 0}, {"a/escape", SYM, "../../outside", 0}}, 2},
        {"hard-up.tar", {{"victim", HARD, "../outside", 0}}, 1},
        {"hard-abs.tar", {{"victim", HARD, "/etc/passwd", 0}}, 1},
        {"hard-to-sym.tar",
         {{"a", DIR_, NULL, 0},
          {"a/b", DIR_, NULL, 0},
          {"a/b/link", SYM, "../../x", 0},
          {"top", HARD, "a/b/link", 0}},
         4},
        {"device.tar", {{"dev", DIR_, NULL, 0}, {"dev/null", CHR, NULL, 0}}, 2},
        {"fifo.tar", {{"pipe", FIFO, NULL, 0}}, 1},
        {"through-link.tar",
         {{"sub", DIR_, NULL, 0}, {"link", SYM, "sub", 0}, {"link/file", FILE_, "x", 0}},
         3},
    };
    size_t big_size = 5u << 20;
    unsigned char *big = malloc(big_size);
    if (!big)
        return -1;
    for (size_t i = 0; i < big_size; i++)
        big[i] = (unsigned char)i;
    int ret = write_tar(dir, "good.tar", good, N(good), big, big_size);
    free(big);
    for (size_t i = 0; i < N(hostile) && ret == 0; i++)
        ret = write_tar(dir, hostile[i].name, hostile[i].ents, hostile[i].n, NULL, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/garbage.tar", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    for (int i = 0; i < 40; i++)
        fputs("this is not a tar stream at all", f);
    return fclose(f) == 0 ? ret : -1;
}
