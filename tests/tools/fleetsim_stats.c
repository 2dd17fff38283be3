/* SPDX-License-Identifier: Apache-2.0 */
#include "fleetsim_stats.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Below 2*SUB one bucket per microsecond; above, SUB buckets per power of two. */
static size_t index_of(uint64_t us)
{
    if (us < 2 * FSIM_SUB)
        return (size_t)us;
    int e = 63 - __builtin_clzll(us); /* us in [2^e, 2^(e+1)), e >= 7 */
    size_t i =
        2 * FSIM_SUB + (size_t)(e - 7) * FSIM_SUB + (size_t)((us >> (e - 6)) & (FSIM_SUB - 1));
    return i < FSIM_BUCKETS ? i : FSIM_BUCKETS - 1;
}

static uint64_t lower_bound(size_t i)
{
    if (i < 2 * FSIM_SUB)
        return i;
    size_t k = i - 2 * FSIM_SUB;
    int e = (int)(k / FSIM_SUB) + 7;
    return (uint64_t)(FSIM_SUB + k % FSIM_SUB) << (e - 6);
}

void fsim_stats_add(fsim_stats *st, uint64_t us)
{
    st->bucket[index_of(us)]++;
    st->count++;
    if (us > st->max_us)
        st->max_us = us;
}

uint64_t fsim_stats_quantile(const fsim_stats *st, double q)
{
    if (!st->count)
        return 0;
    uint64_t want = (uint64_t)(q * (double)st->count + 0.5), seen = 0;
    if (want < 1)
        want = 1;
    for (size_t i = 0; i < FSIM_BUCKETS; i++) {
        seen += st->bucket[i];
        if (seen >= want)
            return lower_bound(i);
    }
    return st->max_us;
}

int fsim_proc_read(long pid, fsim_proc *out, otter_err *err)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return otter_err_sys(err, OTTER_EIO, errno, "%s", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name, which may hold spaces: start after the last ')'. */
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) != 2)
        return otter_err_set(err, OTTER_EFORMAT, "%s: unexpected format", path);
    out->cpu_s = (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if (!(f = fopen(path, "r")))
        return otter_err_sys(err, OTTER_EIO, errno, "%s", path);
    out->rss_kib = out->hwm_kib = -1;
    while (fgets(buf, sizeof buf, f)) {
        sscanf(buf, "VmRSS: %ld", &out->rss_kib);
        sscanf(buf, "VmHWM: %ld", &out->hwm_kib);
    }
    fclose(f);
    return 0;
}
