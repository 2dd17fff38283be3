/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the state module: the value checks the parser and the setters share. */
#ifndef OTTER_STATE_IMPL_H
#define OTTER_STATE_IMPL_H

#include "otter_state.h"

/* Each returns NULL when s is acceptable, else what is wrong with it. */
const char *otter_state_check_id(const char *s);
const char *otter_state_check_text(const char *s);
const char *otter_state_check_sha256(const char *s);
const char *otter_state_check_status(const char *s);

#endif
