/* SPDX-License-Identifier: Apache-2.0 */
/* otter_fleetsim's command line: its options, checked, and the usage text. */
#ifndef OTTER_FLEETSIM_OPTS_H
#define OTTER_FLEETSIM_OPTS_H

#include "otter_err.h"

struct opts {
    const char *url, *tenant, *tokens;
    long devices, connections, server_pid;
    double interval, duration, timeout;
    unsigned long seed;
    int until_configured;
    int no_config; /* an onboarded fleet: never sends configData */
    const char *mqtt, *prefix, *events;
};

extern const char fsim_usage[];

/* Fills o from argv (defaults for what is not given); OTTER_EUSAGE naming the fault. --help
   prints the usage and exits 0. */
int fsim_opts_parse(int argc, char **argv, struct opts *o, otter_err *err);

#endif
