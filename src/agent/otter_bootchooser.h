/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The slot choice a bootloader script makes from the RAUC-style variables
 * BOOT_ORDER ("A B"), BOOT_A_LEFT and BOOT_B_LEFT, as plain logic on a
 * struct: the agent uses it to activate and commit slots, the boot
 * simulator uses it to play the bootloader. No I/O here.
 */
#ifndef OTTER_BOOTCHOOSER_H
#define OTTER_BOOTCHOOSER_H

#include <stddef.h>

#include "otter_err.h"

#define OTTER_BOOTCHOOSER_MAX_TRIES 99

enum { OTTER_SLOT_A = 0, OTTER_SLOT_B = 1, OTTER_SLOT_NONE = -1 };

typedef struct otter_bootvars {
    int order[2];   /* slot indexes (OTTER_SLOT_A/B) in boot order */
    size_t n_order; /* 1 or 2 */
    int left[2];    /* tries left per slot, 0..OTTER_BOOTCHOOSER_MAX_TRIES */
} otter_bootvars;

/*
 * Parses the variable values (NULL = unset: BOOT_ORDER defaults to "A B",
 * a missing BOOT_x_LEFT to default_tries) into out.
 * BOOT_ORDER is "A", "B", "A B" or "B A" (single spaces); BOOT_x_LEFT is a
 * decimal 0..99. Errors: OTTER_EFORMAT naming the variable and the value.
 */
int otter_bootchooser_parse(const char *order, const char *a_left, const char *b_left,
                            int default_tries, otter_bootvars *out, otter_err *err);

/* Writes the variable values for v into the caller's buffers. */
void otter_bootchooser_format(const otter_bootvars *v, char order[8], char a_left[4],
                              char b_left[4]);

/*
 * One boot attempt, as the bootloader script does it: the first slot in
 * BOOT_ORDER with tries left is chosen and its counter decremented.
 * Returns the slot index, or OTTER_SLOT_NONE when every slot is out of tries.
 */
int otter_bootchooser_next(otter_bootvars *v);

/* After an install into slot: slot goes first in BOOT_ORDER with tries tries. */
void otter_bootchooser_activate(otter_bootvars *v, int slot, int tries);

/* After a good boot of slot: its counter is reset to tries. */
void otter_bootchooser_mark_good(otter_bootvars *v, int slot, int tries);

/* Slot must not boot again: counter 0 and moved last in BOOT_ORDER. */
void otter_bootchooser_mark_bad(otter_bootvars *v, int slot);

/*
 * Slot must never boot again as it is (its system is below the
 * anti-rollback counter): taken out of BOOT_ORDER, counter 0. Only
 * otter_bootchooser_activate() (a new install into it) brings it back.
 */
void otter_bootchooser_retire(otter_bootvars *v, int slot);

/* 'A' / 'B' for a slot index; '?' otherwise. */
char otter_bootchooser_letter(int slot);

/* Slot index for "A"/"a"/"B"/"b", or OTTER_SLOT_NONE. */
int otter_bootchooser_index(const char *name);

#endif
