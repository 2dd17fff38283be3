/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_install_delta.h"
#include "otter_bootchooser.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One delta image: its source opened, compared with the signed base, given to the reader. */
static int open_one(const otter_device *d, const otter_manifest *m, const otter_manifest_image *img,
                    int active, otter_pkg_reader *r, otter_install_sources *s, otter_err *err)
{
    if (strcmp(img->handler, "raw") != 0 && strcmp(img->handler, "file") != 0)
        return otter_err_set(err, OTTER_ECOMPAT,
                             "image %s: a delta image needs a raw or file slot, not %s", img->name,
                             img->handler);
    const char *path = otter_device_slot_path(d, img->target, active);
    if (!path)
        return otter_err_set(err, OTTER_ECOMPAT, "image %s: this device has no slot class %s",
                             img->name, img->target);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno,
                             "image %s: delta from release %s: cannot open the active slot %s",
                             img->name, m->delta_from, path);
    s->fd[s->n++] = fd;
    char what[PATH_MAX + 32];
    snprintf(what, sizeof what, "the active slot %s (slot %c)", path,
             otter_bootchooser_letter(active));
    int ret = otter_pkg_source_matches(fd, img->delta_base_size, img->delta_base_sha256, what, err);
    if (ret == OTTER_EDIGEST)
        err->code = ret = OTTER_ESOURCE; /* its own code: otter-agentd falls back on it */
    if (ret)
        return otter_err_prefix(err, "image %s: delta from release %s", img->name, m->delta_from);
    return otter_pkg_reader_set_source_checked(r, img->name, fd, err);
}

int otter_install_delta_open(const otter_device *d, const otter_manifest *m, int active,
                             otter_pkg_reader *r, otter_install_sources *s, otter_err *err)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < m->image_count; i++) {
        const otter_manifest_image *img = &m->images[i];
        if (!otter_manifest_image_is_delta(img))
            continue;
        if (active != OTTER_SLOT_A && active != OTTER_SLOT_B)
            return otter_err_set(err, OTTER_ECOMPAT,
                                 "image %s is a delta from release %s: it needs a running slot "
                                 "(a factory install takes the full package)",
                                 img->name, m->delta_from);
        int ret = open_one(d, m, img, active, r, s, err);
        if (ret)
            return ret;
    }
    return 0;
}

void otter_install_delta_close(otter_install_sources *s)
{
    for (size_t i = 0; s && i < s->n; i++)
        close(s->fd[i]);
    if (s)
        s->n = 0;
}
