/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fleet simulator's figures: a latency histogram in constant memory
 * (log-linear buckets, under 1.6 % error: every poll counts, none is
 * sampled away) and a server process's CPU time and RSS from /proc.
 */
#ifndef FLEETSIM_STATS_H
#define FLEETSIM_STATS_H

#include <stdint.h>

#include "otter_err.h"

#define FSIM_SUB 64 /* buckets per power of two */
#define FSIM_BUCKETS (2 * FSIM_SUB + 40 * FSIM_SUB)

typedef struct fsim_stats {
    uint64_t bucket[FSIM_BUCKETS]; /* latencies in microseconds */
    uint64_t count, max_us;
    uint64_t polls, configs; /* answered 2xx/3xx */
    uint64_t http_errors, io_errors, timeouts, late;
} fsim_stats;

/* Adds one latency. */
void fsim_stats_add(fsim_stats *st, uint64_t us);

/* The latency (microseconds, bucket's lower bound) at quantile q in [0, 1]; 0 when empty. */
uint64_t fsim_stats_quantile(const fsim_stats *st, double q);

typedef struct fsim_proc {
    double cpu_s; /* user + system seconds so far */
    long rss_kib; /* VmRSS */
    long hwm_kib; /* VmHWM: peak RSS */
} fsim_proc;

/* Reads /proc/PID/stat and /proc/PID/status. OTTER_EIO when the process is gone. */
int fsim_proc_read(long pid, fsim_proc *out, otter_err *err);

#endif
