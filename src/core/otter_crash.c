/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_crash.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    int loaded, active, by_offset;
    char name[64];
    unsigned long long n, hits;
} spec;

static void load(void)
{
    spec.loaded = 1;
    const char *s = getenv("OTTER_CRASH_AT");
    if (!s || !*s)
        return;
    const char *sep = strpbrk(s, ":@");
    if (!sep || (size_t)(sep - s) >= sizeof spec.name)
        return;
    memcpy(spec.name, s, (size_t)(sep - s));
    spec.by_offset = *sep == '@';
    spec.n = strtoull(sep + 1, NULL, 10);
    spec.active = 1;
}

static void die(void)
{
    kill(getpid(), SIGKILL);
    _exit(137); /* not reached */
}

void otter_crash_point(const char *name)
{
    if (!spec.loaded)
        load();
    if (spec.active && !spec.by_offset && strcmp(name, spec.name) == 0 && ++spec.hits == spec.n)
        die();
}

void otter_crash_bytes(const char *name, uint64_t before, uint64_t after)
{
    if (!spec.loaded)
        load();
    if (spec.active && spec.by_offset && before < spec.n && after >= spec.n &&
        strcmp(name, spec.name) == 0)
        die();
}
