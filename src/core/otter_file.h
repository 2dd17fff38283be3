/* SPDX-License-Identifier: Apache-2.0 */
/* Small, careful file helpers shared by every program. */
#ifndef OTTER_FILE_H
#define OTTER_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "otter_err.h"

/*
 * Reads the whole file at path into a new NUL-terminated buffer (caller
 * frees *out). Refuses files larger than max bytes with OTTER_EFORMAT, so a
 * hostile file cannot make us allocate without bound.
 */
int otter_file_read_all(const char *path, size_t max, char **out, size_t *out_len, otter_err *err);

/*
 * Creates a new temp file next to path, "<path>.tmp.<pid>.<6 random chars>"
 * (mkostemp: O_CREAT|O_EXCL, so never an existing file, a hard link or a
 * symlink someone planted at a name they guessed), mode exactly mode (the
 * umask does not apply). Writes the name to tmp (tmp_size bytes) and the open
 * read-write fd to *fd_out (caller closes it and renames or unlinks tmp).
 * Errors: OTTER_EUSAGE (name too long), OTTER_EIO.
 */
int otter_file_open_temp(const char *path, mode_t mode, char *tmp, size_t tmp_size, int *fd_out,
                         otter_err *err);

/*
 * Replaces path with data atomically and durably: writes a temp file from
 * otter_file_open_temp, fsyncs it, renames it over path and fsyncs the
 * directory. After a crash at any point the file holds either the old or the
 * new content, never a mix (a leftover "<path>.tmp.*" may remain).
 */
int otter_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                            otter_err *err);

/* Writes all of buf to fd, retrying on EINTR and short writes. */
int otter_file_write_full(int fd, const void *buf, size_t len, const char *what, otter_err *err);

/* fsyncs the directory that contains path (so a rename in it is durable). */
int otter_file_sync_dir_of(const char *path, otter_err *err);

#endif
