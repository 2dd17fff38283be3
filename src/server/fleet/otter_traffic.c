/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact bytes of a rollout (issue #12): the full-package equivalent of
 * a download (otter_traffic.h), the rollout's totals from the store and
 * their part of the stats document (otter_rollout.h).
 */
#include "otter_traffic.h"

#include "otter_rollout.h"

uint64_t otter_traffic_full_equivalent(int delta, uint64_t first, uint64_t bytes,
                                       uint64_t served_size, uint64_t full_size)
{
    if (!delta)
        return bytes;
    if (served_size == 0 || first > served_size || bytes > served_size - first)
        return 0;
    /* Sizes are below 2^53 (JSON integers), so the products fit in 128 bits exactly. */
    unsigned __int128 end = (unsigned __int128)(first + bytes) * full_size / served_size;
    unsigned __int128 start = (unsigned __int128)first * full_size / served_size;
    return (uint64_t)(end - start);
}

int otter_rollout_stats_traffic(otter_store *s, const otter_rollout *r, otter_rollout_stats *st,
                                otter_err *err)
{
    return otter_store_traffic_get(s, r->id, &st->traffic, err);
}

static json_t *kind_doc(const otter_traffic_kind *k)
{
    return json_pack("{s:I, s:I, s:I}", "downloads", (json_int_t)k->downloads, "bytes",
                     (json_int_t)k->bytes, "full_equivalent", (json_int_t)k->full_equivalent);
}

json_t *otter_rollout_traffic_doc(const otter_rollout_traffic *t)
{
    int64_t sent = t->full.bytes + t->delta.bytes;
    int64_t full = t->full.full_equivalent + t->delta.full_equivalent;
    return json_pack("{s:o, s:o, s:I, s:I, s:I}", "full", kind_doc(&t->full), "delta",
                     kind_doc(&t->delta), "bytes_sent", (json_int_t)sent, "bytes_full_equivalent",
                     (json_int_t)full, "bytes_saved", (json_int_t)(full - sent));
}
