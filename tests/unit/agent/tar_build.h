/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: writes the good and the hostile tar streams the archive handler tests feed. */
#ifndef OTTER_TEST_TAR_BUILD_H
#define OTTER_TEST_TAR_BUILD_H

/* Writes good.tar, the hostile *.tar files and garbage.tar into dir. Returns 0 or -1. */
int tar_build_all(const char *dir);

#endif
