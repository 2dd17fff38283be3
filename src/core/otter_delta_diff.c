/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How the diff is found: the longest exact match of the new bytes at the
 * current position is looked up in the suffix array of the old range
 * (binary search); a match of at least MIN_MATCH bytes starts a segment,
 * which then grows forward and backward along its diagonal while the bytes
 * still mostly agree (a changed pointer or constant inside a moved block
 * costs a non-zero add byte, not a new segment). Bytes between segments
 * are inserted. Each segment becomes one control triple.
 */
#include "otter_delta_diff.h"
#include "otter_delta.h"

#include <divsufsort.h>
#include <stdlib.h>
#include <string.h>

/* Shorter exact matches are common by chance in unrelated data. */
#define MIN_MATCH 16
/* An extension stops once it is this many mismatches behind its best point. */
#define SLACK 32

typedef struct segment {
    size_t new_at, old_at, len;
} segment;

static size_t common_len(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* Longest match of q in old through its suffix array: *pos and *len. */
static void longest_match(const uint8_t *old, size_t old_len, const saidx_t *sa, const uint8_t *q,
                          size_t qn, size_t *pos, size_t *len)
{
    size_t lo = 0, hi = old_len - 1;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        size_t at = (size_t)sa[mid], n = old_len - at < qn ? old_len - at : qn;
        int c = memcmp(old + at, q, n);
        if (c < 0 || (c == 0 && n < qn))
            lo = mid;
        else
            hi = mid;
    }
    size_t a = (size_t)sa[lo], b = (size_t)sa[hi];
    size_t la = common_len(old + a, old_len - a, q, qn),
           lb = common_len(old + b, old_len - b, q, qn);
    *pos = la >= lb ? a : b;
    *len = la >= lb ? la : lb;
}

/* How far the diagonal (old_at - new_at) keeps mostly matching forward from k. */
static size_t extend_forward(const uint8_t *old, size_t old_len, const uint8_t *nw, size_t new_len,
                             size_t new_at, size_t old_at, size_t k)
{
    long score = 0, best = 0;
    size_t best_k = k;
    while (new_at + k < new_len && old_at + k < old_len) {
        score += nw[new_at + k] == old[old_at + k] ? 1 : -1;
        k++;
        if (score > best) {
            best = score;
            best_k = k;
        } else if (score < best - SLACK) {
            break;
        }
    }
    return best_k;
}

/* How far back (at most limit bytes) the diagonal mostly matches. */
static size_t extend_backward(const uint8_t *old, const uint8_t *nw, size_t new_at, size_t old_at,
                              size_t limit)
{
    long score = 0, best = 0;
    size_t best_k = 0;
    for (size_t k = 1; k <= limit && k <= old_at; k++) {
        score += nw[new_at - k] == old[old_at - k] ? 1 : -1;
        if (score > best) {
            best = score;
            best_k = k;
        } else if (score < best - SLACK) {
            break;
        }
    }
    return best_k;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_i64(uint8_t *p, int64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

/* Finds the segments; *segs is new memory. */
static int find_segments(const uint8_t *old, size_t old_len, const saidx_t *sa, const uint8_t *nw,
                         size_t new_len, segment **segs, size_t *count)
{
    size_t cap = new_len / MIN_MATCH + 2, n = 0, i = 0, done = 0;
    segment *s = malloc(cap * sizeof *s);
    if (!s)
        return -1;
    while (i < new_len) {
        size_t pos, len;
        longest_match(old, old_len, sa, nw + i, new_len - i, &pos, &len);
        if (len < MIN_MATCH) {
            i++;
            continue;
        }
        size_t fwd = extend_forward(old, old_len, nw, new_len, i, pos, len);
        size_t back = extend_backward(old, nw, i, pos, i - done);
        s[n++] = (segment){i - back, pos - back, back + fwd};
        i += fwd;
        done = i;
    }
    *segs = s;
    *count = n;
    return 0;
}

/* Lays the segments out as OTDIFF1: triples, add bytes, insert bytes. */
static int lay_out(const uint8_t *old, const uint8_t *nw, size_t new_len, const segment *s,
                   size_t n, uint8_t **patch, size_t *patch_len)
{
    size_t triples = n + 1; /* a leading triple for the bytes before the first segment */
    size_t len = OTTER_DELTA_HEADER_LEN + triples * OTTER_DELTA_TRIPLE_LEN + new_len;
    uint8_t *p = malloc(len);
    if (!p)
        return -1;
    memcpy(p, OTTER_DELTA_MAGIC, OTTER_DELTA_MAGIC_LEN);
    uint8_t *ctl = p + OTTER_DELTA_HEADER_LEN, *diff = ctl + triples * OTTER_DELTA_TRIPLE_LEN;
    size_t adds = 0;
    for (size_t k = 0; k < n; k++)
        adds += s[k].len;
    uint8_t *extra = diff + adds;
    size_t first_new = n ? s[0].new_at : new_len, first_old = n ? s[0].old_at : 0;
    uint32_t used = 0;
    /* leading triple: no add, insert what comes before the first segment, seek to it */
    put_u32(ctl, 0);
    put_u32(ctl + 4, (uint32_t)first_new);
    put_i64(ctl + 8, (int64_t)first_old);
    memcpy(extra, nw, first_new);
    extra += first_new;
    used++;
    for (size_t k = 0; k < n; k++) {
        uint8_t *t = ctl + (size_t)used++ * OTTER_DELTA_TRIPLE_LEN;
        size_t end_new = s[k].new_at + s[k].len, end_old = s[k].old_at + s[k].len;
        size_t next_new = k + 1 < n ? s[k + 1].new_at : new_len;
        size_t next_old = k + 1 < n ? s[k + 1].old_at : end_old;
        for (size_t j = 0; j < s[k].len; j++)
            diff[j] = (uint8_t)(nw[s[k].new_at + j] - old[s[k].old_at + j]);
        diff += s[k].len;
        memcpy(extra, nw + end_new, next_new - end_new);
        extra += next_new - end_new;
        put_u32(t, (uint32_t)s[k].len);
        put_u32(t + 4, (uint32_t)(next_new - end_new));
        put_i64(t + 8, (int64_t)next_old - (int64_t)end_old);
    }
    put_u32(p + OTTER_DELTA_MAGIC_LEN, used);
    *patch = p;
    *patch_len = len;
    return 0;
}

int otter_delta_diff(const uint8_t *old, size_t old_len, const uint8_t *new_bytes, size_t new_len,
                     uint8_t **patch, size_t *patch_len, otter_err *err)
{
    if (old_len < 1 || old_len > INT32_MAX || new_len < 1 || new_len > OTTER_CHUNK_SIZE_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "diff: sizes out of range (%zu, %zu)", old_len,
                             new_len);
    saidx_t *sa = malloc(old_len * sizeof *sa);
    segment *segs = NULL;
    size_t n = 0;
    int ret = 0;
    if (!sa || divsufsort(old, sa, (saidx_t)old_len) != 0 ||
        find_segments(old, old_len, sa, new_bytes, new_len, &segs, &n) < 0 ||
        lay_out(old, new_bytes, new_len, segs, n, patch, patch_len) < 0)
        ret = otter_err_set(err, OTTER_ENOMEM, "diff: out of memory");
    free(sa);
    free(segs);
    return ret;
}
