/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_ddi_delta.h"

#include <stdio.h>
#include <string.h>

#define DELTA_SUFFIX ".delta.zip"

int otter_ddi_is_delta_name(const char *filename)
{
    size_t n = strlen(filename), s = strlen(DELTA_SUFFIX);
    return n > s && strcmp(filename + n - s, DELTA_SUFFIX) == 0;
}

int otter_ddi_pick_artifacts(const otter_ddi_deployment *dep, otter_ddi_pick *p, otter_err *err)
{
    memset(p, 0, sizeof *p);
    if (dep->n_chunks != 1 || dep->chunks[0].n_artifacts < 1 || dep->chunks[0].n_artifacts > 2)
        return otter_err_set(err, OTTER_EFORMAT,
                             "an Otter device takes one update.zip per deployment (and at most "
                             "one delta beside it)");
    const otter_ddi_chunk *c = &dep->chunks[0];
    for (size_t i = 0; i < c->n_artifacts; i++) {
        const otter_ddi_artifact *a = &c->artifacts[i];
        const otter_ddi_artifact **slot =
            otter_ddi_is_delta_name(a->filename) ? &p->delta : &p->full;
        if (*slot) {
            int ret =
                otter_err_set(err, OTTER_EFORMAT,
                              "an Otter device takes one update.zip per deployment: two %s "
                              "artifacts (%s, %s)",
                              slot == &p->delta ? "delta" : "full", (*slot)->filename, a->filename);
            memset(p, 0, sizeof *p); /* after the message: it names what *slot points to */
            return ret;
        }
        *slot = a;
    }
    if (!p->full) {
        memset(p, 0, sizeof *p);
        return otter_err_set(err, OTTER_EFORMAT,
                             "a delta (%s) without the full package to fall back to",
                             c->artifacts[0].filename);
    }
    return 0;
}

const otter_ddi_artifact *otter_ddi_first_artifact(const otter_ddi_pick *p)
{
    return p->delta ? p->delta : p->full;
}

int otter_ddi_falls_back(const otter_ddi_pick *p, const otter_ddi_artifact *tried, int rc)
{
    return p->delta && tried == p->delta && rc == OTTER_DDI_EXIT_SOURCE;
}

void otter_ddi_fallback_detail(char *out, size_t size, const char *why, const char *done)
{
    static const char prefix[] = "otter-agent: ";
    if (strncmp(why, prefix, sizeof prefix - 1) == 0)
        why += sizeof prefix - 1;
    snprintf(out, size, "delta refused: %s; %s", why, done);
}
