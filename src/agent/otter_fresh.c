/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_fresh.h"
#include "otter_file.h"
#include "otter_fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CREATED_LEN 20 /* YYYY-MM-DDTHH:MM:SSZ: compares in time order as text */

static int path_of(const otter_device *d, char *out, size_t size, otter_err *err)
{
    int ret = otter_fmt(out, size, err, "freshness file", "%s/newest-manifest", d->conf->state_dir);
    return ret < 0 ? ret : 0;
}

/* The newest created time noted, "" when none. A damaged file is an error, never "none". */
static int newest(const otter_device *d, char out[CREATED_LEN + 1], otter_err *err)
{
    char path[4096], *text = NULL;
    size_t len = 0;
    out[0] = '\0';
    int ret = path_of(d, path, sizeof path, err);
    if (ret || access(path, F_OK) != 0)
        return ret;
    ret = otter_file_read_all(path, 64, &text, &len, err);
    if (ret)
        return ret;
    if (len < CREATED_LEN || text[4] != '-' || text[10] != 'T' || text[CREATED_LEN - 1] != 'Z')
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: not a UTC time", path);
    else
        snprintf(out, CREATED_LEN + 1, "%.20s", text);
    free(text);
    return ret;
}

int otter_fresh_check(const otter_device *d, const otter_manifest *m, otter_err *err)
{
    char seen[CREATED_LEN + 1];
    int ret = newest(d, seen, err);
    if (ret)
        return ret;
    if (seen[0] && strcmp(m->created, seen) < 0)
        return otter_err_set(err, OTTER_EROLLBACK,
                             "manifest created %s is older than the newest this device installed "
                             "(%s): stale release metadata refused",
                             m->created, seen);
    return 0;
}

int otter_fresh_note(const otter_device *d, const otter_manifest *m, otter_err *err)
{
    char seen[CREATED_LEN + 1], path[4096];
    int ret = newest(d, seen, err);
    if (!ret)
        ret = path_of(d, path, sizeof path, err);
    if (ret || (seen[0] && strcmp(m->created, seen) <= 0))
        return ret;
    char line[CREATED_LEN + 2];
    snprintf(line, sizeof line, "%.20s\n", m->created);
    return otter_file_write_atomic(path, line, strlen(line), 0644, err);
}
