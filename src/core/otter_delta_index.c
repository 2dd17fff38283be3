/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_delta_index.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Polynomial rolling hash mod 2^64; slots are taken from its top bits. */
#define MUL 0x9E3779B97F4A7C15ull

typedef struct entry {
    uint64_t hash;
    uint64_t off_plus1; /* 0: empty */
} entry;

/*
 * The block index keeps a 64-byte block every STRIDE bytes of the old image
 * in 8 bytes (a hash tag and the block's number): 8 to 16 bytes of table
 * per 256 bytes of image (a 1 GiB image: 32 to 64 MiB). Each position of a
 * new chunk is looked up, so every indexed block is found wherever it moved.
 */
#define STRIDE 256

typedef struct bentry {
    uint32_t tag;
    uint32_t block_plus1; /* 0: empty; blocks of STRIDE bytes: images up to 1 TiB */
} bentry;

struct otter_delta_index {
    const uint8_t *old;
    size_t old_len;
    bentry *tab;
    size_t mask;
    unsigned shift;
};

static uint64_t hash_of(const uint8_t *p, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = h * MUL + p[i] + 1;
    return h;
}

static uint64_t pow_mul(size_t n)
{
    uint64_t r = 1;
    for (size_t i = 0; i < n; i++)
        r *= MUL;
    return r;
}

/* Table of at least 2 x n slots of elem bytes; *shift turns a hash's top bits into a slot. */
static void *new_table(size_t n, size_t elem, size_t *mask, unsigned *shift)
{
    size_t size = 16;
    unsigned bits = 4;
    while (size < 2 * n) {
        size <<= 1;
        bits++;
    }
    *mask = size - 1;
    *shift = 64 - bits;
    return calloc(size, elem);
}

static uint32_t tag_of(uint64_t h)
{
    return (uint32_t)h | 1; /* never 0 */
}

static size_t slot_of(uint64_t h, unsigned shift)
{
    return (size_t)((h * MUL) >> shift);
}

void otter_delta_drop_pages(const uint8_t *p, size_t n)
{
    long ps = sysconf(_SC_PAGESIZE);
    uintptr_t page = ps > 0 ? (uintptr_t)ps : 4096;
    uintptr_t s = (uintptr_t)p / page * page, e = ((uintptr_t)p + n + page - 1) / page * page;
    if (n)
        (void)madvise((void *)s, e - s, MADV_DONTNEED); /* only the RSS is at stake */
}

otter_delta_index *otter_delta_index_new(const uint8_t *old, size_t old_len, int mapped)
{
    otter_delta_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return NULL;
    ix->old = old;
    ix->old_len = old_len;
    size_t blocks = old_len < OTTER_DELTA_BLOCK ? 0 : (old_len - OTTER_DELTA_BLOCK) / STRIDE + 1;
    ix->tab = new_table(blocks, sizeof(bentry), &ix->mask, &ix->shift);
    if (!ix->tab || blocks > UINT32_MAX - 1) {
        free(ix->tab);
        free(ix);
        return NULL;
    }
    for (size_t b = 0; b < blocks; b++) {
        uint64_t h = hash_of(old + b * STRIDE, OTTER_DELTA_BLOCK);
        size_t s = slot_of(h, ix->shift);
        while (ix->tab[s].block_plus1 && ix->tab[s].tag != tag_of(h))
            s = (s + 1) & ix->mask;
        if (!ix->tab[s].block_plus1) /* the first block with these bytes wins */
            ix->tab[s] = (bentry){tag_of(h), (uint32_t)b + 1};
        if (mapped && b && b * STRIDE % OTTER_DELTA_DROP_EVERY == 0)
            otter_delta_drop_pages(old + b * STRIDE - OTTER_DELTA_DROP_EVERY,
                                   OTTER_DELTA_DROP_EVERY);
    }
    if (mapped)
        otter_delta_drop_pages(old, old_len);
    return ix;
}

/* The old offset of an indexed block with hash h and these bytes, or -1. */
static int64_t find_block(const otter_delta_index *ix, uint64_t h, const uint8_t *bytes)
{
    size_t s = slot_of(h, ix->shift);
    for (; ix->tab[s].block_plus1; s = (s + 1) & ix->mask) {
        if (ix->tab[s].tag != tag_of(h))
            continue;
        size_t off = (size_t)(ix->tab[s].block_plus1 - 1) * STRIDE;
        return memcmp(ix->old + off, bytes, OTTER_DELTA_BLOCK) == 0 ? (int64_t)off : -1;
    }
    return -1;
}

void otter_delta_index_free(otter_delta_index *ix)
{
    if (!ix)
        return;
    free(ix->tab);
    free(ix);
}

static const entry *lookup(const entry *tab, size_t mask, unsigned shift, uint64_t h)
{
    size_t s = slot_of(h, shift);
    while (tab[s].off_plus1) {
        if (tab[s].hash == h)
            return &tab[s];
        s = (s + 1) & mask;
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int otter_delta_index_range(const otter_delta_index *ix, const uint8_t *chunk, size_t n,
                            size_t range_len, uint64_t *start)
{
    if (n < OTTER_DELTA_BLOCK || ix->old_len < OTTER_DELTA_BLOCK)
        return 0;
    size_t cap = n / OTTER_DELTA_BLOCK + 1, count = 0;
    int64_t *d = malloc(cap * sizeof *d);
    if (!d)
        return 0;
    const uint64_t top = pow_mul(OTTER_DELTA_BLOCK - 1);
    uint64_t h = hash_of(chunk, OTTER_DELTA_BLOCK);
    for (size_t q = 0; q + OTTER_DELTA_BLOCK <= n && count < cap;) {
        int64_t off = find_block(ix, h, chunk + q);
        if (off >= 0) {
            d[count++] = off;
            /* the next block starts after this one: no overlapping votes */
            q += OTTER_DELTA_BLOCK;
            if (q + OTTER_DELTA_BLOCK <= n)
                h = hash_of(chunk + q, OTTER_DELTA_BLOCK);
            continue;
        }
        if (q + OTTER_DELTA_BLOCK < n)
            h = (h - (chunk[q] + 1ull) * top) * MUL + chunk[q + OTTER_DELTA_BLOCK] + 1;
        q++;
    }
    int found = count > 0;
    if (found) {
        /* the window of range_len bytes that holds the most matched blocks */
        qsort(d, count, sizeof *d, cmp_i64);
        size_t best_i = 0, best_j = 1;
        for (size_t i = 0, j = 0; i < count; i++) {
            while (j < count && d[j] + OTTER_DELTA_BLOCK - d[i] <= (int64_t)range_len)
                j++;
            if (j - i > best_j - best_i) {
                best_i = i;
                best_j = j;
            }
        }
        /* centred on the blocks it holds, so the bytes around them come too */
        int64_t lo = d[best_i], hi = d[best_j - 1] + OTTER_DELTA_BLOCK;
        int64_t s = (lo + hi) / 2 - (int64_t)range_len / 2;
        *start = s < 0 ? 0 : (uint64_t)s;
    }
    free(d);
    return found;
}

/* Copies of the chunks of one size w (all but the last, or the last). */
static int find_size(const uint8_t *old, size_t old_len, const uint8_t *nw, uint32_t span,
                     size_t first, size_t last, size_t w, int mapped, uint8_t *found,
                     uint64_t *where)
{
    size_t n = last - first, mask, left = n;
    unsigned shift;
    if (!n || w > old_len)
        return 0;
    entry *tab = new_table(n, sizeof(entry), &mask, &shift);
    if (!tab)
        return -1;
    for (size_t i = first; i < last; i++) {
        uint64_t h = hash_of(nw + i * (size_t)span, w);
        size_t s = slot_of(h, shift);
        while (tab[s].off_plus1 && tab[s].hash != h)
            s = (s + 1) & mask;
        if (!tab[s].off_plus1)
            tab[s] = (entry){h, i + 1}; /* equal chunks: the first stands for them */
        if (mapped)
            otter_delta_drop_pages(nw + i * (size_t)span, w);
    }
    const uint64_t top = pow_mul(w - 1);
    uint64_t h = hash_of(old, w);
    for (size_t p = 0; p + w <= old_len && left; p++) {
        const entry *e = lookup(tab, mask, shift, h);
        if (e) {
            size_t c = e->off_plus1 - 1;
            if (!found[c] && memcmp(old + p, nw + c * (size_t)span, w) == 0) {
                found[c] = 1;
                where[c] = p;
                left--;
            }
        }
        if (p + w < old_len)
            h = (h - (old[p] + 1ull) * top) * MUL + old[p + w] + 1;
        if (mapped && p >= OTTER_DELTA_DROP_EVERY && p % OTTER_DELTA_DROP_EVERY == 0)
            otter_delta_drop_pages(old + p - OTTER_DELTA_DROP_EVERY, OTTER_DELTA_DROP_EVERY);
    }
    if (mapped) {
        otter_delta_drop_pages(old, old_len);
        otter_delta_drop_pages(nw + first * (size_t)span, (last - first - 1) * (size_t)span + w);
    }
    free(tab);
    return 0;
}

int otter_delta_find_copies(const uint8_t *old, size_t old_len, const uint8_t *new_bytes,
                            size_t new_len, uint32_t span, int mapped, uint8_t *found,
                            uint64_t *where)
{
    size_t count = new_len / span + (new_len % span != 0);
    size_t full = new_len / span, tail = new_len % span;
    memset(found, 0, count);
    if (find_size(old, old_len, new_bytes, span, 0, full, span, mapped, found, where) < 0)
        return -1;
    if (tail &&
        find_size(old, old_len, new_bytes, span, full, count, tail, mapped, found, where) < 0)
        return -1;
    /* chunks equal to an earlier found chunk (the table kept one of them) */
    for (size_t i = 0; i < count; i++) {
        size_t w = i < full ? span : tail;
        for (size_t j = 0; !found[i] && j < i; j++) {
            size_t wj = j < full ? span : tail;
            if (found[j] && wj == w &&
                memcmp(new_bytes + i * (size_t)span, new_bytes + j * (size_t)span, w) == 0) {
                found[i] = 1;
                where[i] = where[j];
            }
        }
    }
    return 0;
}
