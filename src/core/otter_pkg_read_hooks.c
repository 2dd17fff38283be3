/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Install hooks in a package: the entries right after manifest.sig, each
 * read whole (bounded by the manifest's size, at most OTTER_HOOK_MAX) and
 * checked against the signed size and SHA-256 before read_manifest returns,
 * so a tampered hook refuses the package before anything runs or is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otter_pkg_internal.h"

static int read_hook(otter_pkg_reader *r, int which, otter_err *err)
{
    const otter_manifest_hook *h = &r->manifest->hooks[which];
    const char *name = otter_manifest_hook_name(which);
    char what[200];
    snprintf(what, sizeof what, "hook %s (%s)", name, h->file);
    int ret = otter_pkg_rd_expect_entry(r, h->file, name, err);
    if (!ret)
        ret = otter_pkg_rd_small_entry(r, what, (size_t)h->size, &r->hook_bytes[which],
                                       &r->hook_len[which], err);
    if (ret)
        return ret;
    r->hook_entries++;
    char got[OTTER_SHA256_HEX_LEN + 1];
    otter_sha256_hex(r->hook_bytes[which], r->hook_len[which], got);
    if (r->hook_len[which] != h->size || strcmp(got, h->sha256) != 0)
        return otter_pkg_rd_fail(r, err, OTTER_EDIGEST,
                                 "%s: %zu bytes with sha256 %s, the signed manifest says %llu "
                                 "bytes with %s (tampered hook refused)",
                                 what, r->hook_len[which], got, (unsigned long long)h->size,
                                 h->sha256);
    return 0;
}

int otter_pkg_rd_read_hooks(otter_pkg_reader *r, otter_err *err)
{
    int any = r->manifest->hooks[0].file[0] || r->manifest->hooks[1].file[0];
    if (!any)
        return 0;
    if (r->resume)
        return otter_pkg_rd_fail(r, err, OTTER_EUSAGE,
                                 "a package with install hooks cannot resume at a chunk");
    for (int i = 0; i < OTTER_HOOKS; i++) {
        if (!r->manifest->hooks[i].file[0])
            continue;
        int ret = read_hook(r, i, err);
        if (ret)
            return ret;
    }
    return 0;
}

const char *otter_pkg_hook(const otter_pkg_reader *r, int which, size_t *len)
{
    if (which < 0 || which >= OTTER_HOOKS || !r->hook_bytes[which])
        return NULL;
    *len = r->hook_len[which];
    return r->hook_bytes[which];
}
