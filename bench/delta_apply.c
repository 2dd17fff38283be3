/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/delta.sh's apply step: a package's first image through libotter's
 * reader, as a device reads it (signatures against root.json, every chunk
 * checked on the reader's workers, the image digest), written to OUT. With
 * SOURCE the image is a delta and SOURCE is its base (the "active slot");
 * without it a full package is read the same way, so the two runs compare
 * applying a delta with a full install of the same image.
 *   delta_apply PKG ROOT.json OUT [SOURCE]
 */
#include "otter_file.h"
#include "otter_pkg.h"
#include "otter_trust.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int run(const char *pkg, const char *root, const char *out, const char *source,
               otter_err *err)
{
    otter_trust *trust = NULL;
    otter_pkg_reader *r = NULL;
    const otter_manifest *m = NULL;
    const otter_manifest_image *img = NULL;
    int src_fd = -1, out_fd = -1;
    int ret = otter_trust_load_file(root, &trust, err);
    if (!ret)
        ret = otter_pkg_reader_open_file(pkg, OTTER_PKG_HASH_THREAD, &r, err);
    if (!ret && source) {
        src_fd = open(source, O_RDONLY | O_CLOEXEC);
        ret = src_fd < 0 ? otter_err_set(err, OTTER_EIO, "%s: cannot open", source) : 0;
    }
    if (!ret)
        ret = otter_pkg_read_manifest(r, trust, &m, NULL, err);
    if (!ret && source)
        ret = otter_pkg_reader_set_source(r, m->images[0].name, src_fd, err);
    if (!ret) {
        out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ret = out_fd < 0 ? otter_err_set(err, OTTER_EIO, "%s: cannot create", out) : 0;
    }
    if (!ret)
        ret = otter_pkg_next_image(r, &img, err) == 1 ? 0 : OTTER_EFORMAT;
    const void *data;
    size_t len;
    while (!ret && (ret = otter_pkg_read_chunk(r, &data, &len, err)) == 1)
        ret = otter_file_write_full(out_fd, data, len, out, err);
    while (!ret && (ret = otter_pkg_next_image(r, &img, err)) == 1) /* the zip's end is checked */
        ret = 0;
    if (out_fd >= 0)
        close(out_fd);
    if (src_fd >= 0)
        close(src_fd);
    otter_pkg_reader_free(r);
    otter_trust_free(trust);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: delta_apply PKG ROOT.json OUT [SOURCE]\n");
        return 2;
    }
    otter_err err = {0};
    int ret = run(argv[1], argv[2], argv[3], argc == 5 ? argv[4] : NULL, &err);
    if (ret) {
        fprintf(stderr, "delta_apply: %s\n", err.msg);
        return 1;
    }
    return 0;
}
