/* SPDX-License-Identifier: Apache-2.0 */
/* `otter-agent status`: the device's update state for a person or a UI. */
#ifndef OTTER_STATUS_H
#define OTTER_STATUS_H

#include <stdio.h>

#include "otter_device.h"

/* Prints booted slot, versions per slot, pending update, counter and last result. */
int otter_status_print(otter_device *d, int json, FILE *out, otter_err *err);

#endif
