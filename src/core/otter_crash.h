/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power-loss seam, in test builds only (CMake -DOTTER_TEST_HOOKS=ON, which
 * the Makefile's test builds use). The power-loss tests set OTTER_CRASH_AT
 * to make the process kill itself (SIGKILL: no cleanup, no flush, like a
 * power cut) at a chosen point:
 *   OTTER_CRASH_AT=NAME:N       the Nth time crash point NAME is reached
 *   OTTER_CRASH_AT=NAME@OFFSET  when a byte count crosses OFFSET
 * Unset, every call is one cached branch. Without OTTER_TEST_HOOKS (plain,
 * Release and packaged builds) the calls are empty inline functions and no
 * environment variable can make a product binary kill itself.
 */
#ifndef OTTER_CRASH_H
#define OTTER_CRASH_H

#include <stdint.h>

#ifdef OTTER_TEST_HOOKS

/* A named point between two steps ("atomic-rename", "install-activated"). */
void otter_crash_point(const char *name);

/* Progress of a byte stream named name went from before to after. */
void otter_crash_bytes(const char *name, uint64_t before, uint64_t after);

#else

static inline void otter_crash_point(const char *name)
{
    (void)name;
}

static inline void otter_crash_bytes(const char *name, uint64_t before, uint64_t after)
{
    (void)name;
    (void)before;
    (void)after;
}

#endif

#endif
