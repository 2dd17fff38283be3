/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How the diff is found: the scan follows one diagonal (old offset - new
 * offset) and looks up the longest exact match of the new bytes at each
 * position in the suffix array of the old range (binary search); a match of
 * at least MIN_MATCH bytes that beats the current diagonal over the same
 * bytes by more than `sticky` bytes becomes an anchor on a new diagonal (a
 * changed pointer or constant inside a moved block costs a non-zero add
 * byte, not a new segment). Each anchor then grows over the gaps to its
 * neighbours to its best point; bytes left between segments are inserted.
 * Each segment becomes one control triple.
 */
#include "otter_delta_diff.h"
#include "otter_delta.h"

#include <divsufsort.h>
#include <stdlib.h>
#include <string.h>

/* libdivsufsort's index type is what the header promises. */
_Static_assert(sizeof(saidx_t) == sizeof(int32_t), "saidx_t is int32_t");

/* Shorter exact matches are common by chance in unrelated data. */
#define MIN_MATCH 16
/* Positions skipped where no match starts (see find_anchors). */
#define NO_MATCH_STEP 4
/* The longest match looked for; longer ones continue as the diagonal. */
#define MATCH_MAX 4096
/* How many bytes of a match are compared with the current diagonal. */
#define PROBE 256

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

/*
 * Where a segment on the diagonal old = new + off that starts its gap at
 * new_at should end (at most limit bytes on): the point where matches minus
 * mismatches since new_at are highest.
 */
static size_t extend_forward(const uint8_t *old, size_t old_len, const uint8_t *nw, size_t new_at,
                             int64_t off, size_t limit)
{
    long score = 0, best = 0;
    size_t best_k = 0;
    for (size_t k = 0; k < limit && (int64_t)(new_at + k) + off < (int64_t)old_len; k++) {
        score += nw[new_at + k] == old[(int64_t)(new_at + k) + off] ? 1 : -1;
        if (score > best) {
            best = score;
            best_k = k + 1;
        }
    }
    return best_k;
}

/* The same backwards from new_at (exclusive), at most limit bytes. */
static size_t extend_backward(const uint8_t *old, const uint8_t *nw, size_t new_at, int64_t off,
                              size_t limit)
{
    long score = 0, best = 0;
    size_t best_k = 0;
    for (size_t k = 1; k <= limit && (int64_t)(new_at - k) + off >= 0; k++) {
        score += nw[new_at - k] == old[(int64_t)(new_at - k) + off] ? 1 : -1;
        if (score > best) {
            best = score;
            best_k = k;
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

/* Bytes of nw[i, i + len) equal to old on the diagonal old = new + off. */
static size_t diag_same(const uint8_t *old, size_t old_len, const uint8_t *nw, size_t i, size_t len,
                        int64_t off)
{
    size_t same = 0;
    for (size_t k = 0; k < len; k++) {
        int64_t o = (int64_t)(i + k) + off;
        if (o < 0 || o >= (int64_t)old_len)
            break;
        same += nw[i + k] == old[o];
    }
    return same;
}

/*
 * Anchors: exact matches that start a new diagonal. The scan stays on the
 * current diagonal (changed pointers inside moved code keep it) and takes a
 * new one only when an exact match there beats the current diagonal over
 * the same bytes by more than `sticky` bytes; a chance match in unrelated
 * code does not pull it away.
 */
static size_t find_anchors(const uint8_t *old, size_t old_len, const saidx_t *sa, const uint8_t *nw,
                           size_t new_len, size_t sticky, segment *s)
{
    size_t n = 0, i = 0;
    int64_t off = 0;
    int have = 0;
    while (i < new_len) {
        size_t pos, len;
        /* compares stop at MATCH_MAX bytes: a long match costs each search step that much */
        longest_match(old, old_len, sa, nw + i, new_len - i < MATCH_MAX ? new_len - i : MATCH_MAX,
                      &pos, &len);
        size_t probe = len < PROBE ? len : PROBE;
        size_t same = have ? diag_same(old, old_len, nw, i, probe, off) : 0;
        if (len >= MIN_MATCH && probe > same + sticky) {
            s[n++] = (segment){i, pos, len};
            off = (int64_t)pos - (int64_t)i;
            have = 1;
            i += len;
        } else if (have && probe && same == probe) {
            /* the current diagonal holds these bytes (all len when the match is on it) */
            i += (int64_t)pos - (int64_t)i == off ? len : probe;
        } else {
            /*
             * No match here: a match of MIN_MATCH + NO_MATCH_STEP - 1 bytes or
             * more is still met inside, and its segment grows back to its
             * start; unrelated data is scanned NO_MATCH_STEP times faster.
             */
            i += len < MIN_MATCH ? NO_MATCH_STEP : 1;
        }
    }
    return n;
}

/* Two segments that reach the same bytes: the split with the most matches. */
static void split_overlap(const uint8_t *old, const uint8_t *nw, segment *a, segment *b)
{
    size_t lo = b->new_at, hi = a->new_at + a->len; /* overlap [lo, hi) */
    int64_t oa = (int64_t)a->old_at - (int64_t)a->new_at;
    int64_t ob = (int64_t)b->old_at - (int64_t)b->new_at;
    long score = 0, best = 0;
    size_t split = lo;
    /* score(x): matches of a on [lo, x) minus matches of b on [lo, x) */
    for (size_t x = lo; x < hi; x++) {
        score += (nw[x] == old[(int64_t)x + oa]) - (nw[x] == old[(int64_t)x + ob]);
        if (score > best) {
            best = score;
            split = x + 1;
        }
    }
    a->len = split - a->new_at;
    b->len -= split - b->new_at;
    b->old_at += split - b->new_at;
    b->new_at = split;
}

/*
 * Segments from anchors: each grows forward over the gap to the next
 * anchor and the next grows backward over it, each to its best point; where
 * both reach the same bytes the split that keeps the most matches wins, the
 * rest of the gap is inserted.
 */
static void grow_segments(const uint8_t *old, size_t old_len, const uint8_t *nw, size_t new_len,
                          segment *s, size_t n)
{
    size_t prev_end = 0; /* end of the previous anchor in new */
    for (size_t k = 0; k < n; k++) {
        int64_t off = (int64_t)s[k].old_at - (int64_t)s[k].new_at;
        size_t gap_end = k + 1 < n ? s[k + 1].new_at : new_len;
        size_t a_end = s[k].new_at + s[k].len;
        size_t fwd = extend_forward(old, old_len, nw, a_end, off, gap_end - a_end);
        size_t back = extend_backward(old, nw, s[k].new_at, off, s[k].new_at - prev_end);
        s[k].new_at -= back;
        s[k].old_at -= back;
        s[k].len += back + fwd;
        if (k > 0 && s[k - 1].new_at + s[k - 1].len > s[k].new_at)
            split_overlap(old, nw, &s[k - 1], &s[k]);
        prev_end = a_end;
    }
}

/* Finds the segments; *segs is new memory. */
static int find_segments(const uint8_t *old, size_t old_len, const saidx_t *sa, const uint8_t *nw,
                         size_t new_len, size_t sticky, segment **segs, size_t *count)
{
    segment *s = malloc((new_len / MIN_MATCH + 2) * sizeof *s);
    if (!s)
        return -1;
    size_t n = find_anchors(old, old_len, sa, nw, new_len, sticky, s);
    grow_segments(old, old_len, nw, new_len, s, n);
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

int32_t *otter_delta_suffixes(const uint8_t *old, size_t old_len)
{
    if (old_len < 1 || old_len > INT32_MAX)
        return NULL;
    saidx_t *sa = malloc(old_len * sizeof *sa);
    if (sa && divsufsort(old, sa, (saidx_t)old_len) != 0) {
        free(sa);
        sa = NULL;
    }
    return sa;
}

int otter_delta_diff(const uint8_t *old, size_t old_len, const int32_t *sa,
                     const uint8_t *new_bytes, size_t new_len, unsigned sticky, uint8_t **patch,
                     size_t *patch_len, otter_err *err)
{
    if (old_len < 1 || old_len > INT32_MAX || new_len < 1 || new_len > OTTER_CHUNK_SIZE_MAX)
        return otter_err_set(err, OTTER_EUSAGE, "diff: sizes out of range (%zu, %zu)", old_len,
                             new_len);
    segment *segs = NULL;
    size_t n = 0;
    int ret = 0;
    if (find_segments(old, old_len, sa, new_bytes, new_len, sticky, &segs, &n) < 0 ||
        lay_out(old, new_bytes, new_len, segs, n, patch, patch_len) < 0)
        ret = otter_err_set(err, OTTER_ENOMEM, "diff: out of memory");
    free(segs);
    return ret;
}
