/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_bootchooser.h"

#include <stdio.h>
#include <string.h>

static int parse_left(const char *name, const char *s, int def, int *out, otter_err *err)
{
    if (!s) {
        *out = def;
        return 0;
    }
    size_t n = strlen(s);
    if (n == 0 || n > 2 || s[0] < '0' || s[0] > '9' || (n == 2 && (s[1] < '0' || s[1] > '9')))
        return otter_err_set(err, OTTER_EFORMAT, "%s: '%.40s' is not a number 0..%d", name, s,
                             OTTER_BOOTCHOOSER_MAX_TRIES);
    *out = n == 1 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0');
    return 0;
}

int otter_bootchooser_parse(const char *order, const char *a_left, const char *b_left,
                            int default_tries, otter_bootvars *out, otter_err *err)
{
    otter_bootvars v = {.order = {OTTER_SLOT_A, OTTER_SLOT_B}, .n_order = 2};
    if (order) {
        /* Exactly the shapes the boot scripts in docs/agent.md can iterate. */
        static const struct {
            const char *text;
            int order[2];
            size_t n;
        } shapes[] = {{"A B", {OTTER_SLOT_A, OTTER_SLOT_B}, 2},
                      {"B A", {OTTER_SLOT_B, OTTER_SLOT_A}, 2},
                      {"A", {OTTER_SLOT_A, OTTER_SLOT_B}, 1},
                      {"B", {OTTER_SLOT_B, OTTER_SLOT_A}, 1}};
        size_t i = 0;
        while (i < 4 && strcmp(order, shapes[i].text) != 0)
            i++;
        if (i == 4)
            return otter_err_set(err, OTTER_EFORMAT,
                                 "BOOT_ORDER: '%.40s' is not one of \"A B\", \"B A\", \"A\", \"B\"",
                                 order);
        v.order[0] = shapes[i].order[0];
        v.order[1] = shapes[i].order[1];
        v.n_order = shapes[i].n;
    }
    if (parse_left("BOOT_A_LEFT", a_left, default_tries, &v.left[0], err) ||
        parse_left("BOOT_B_LEFT", b_left, default_tries, &v.left[1], err))
        return err ? err->code : OTTER_EFORMAT;
    *out = v;
    return 0;
}

void otter_bootchooser_format(const otter_bootvars *v, char order[8], char a_left[4],
                              char b_left[4])
{
    if (v->n_order == 1)
        snprintf(order, 8, "%c", otter_bootchooser_letter(v->order[0]));
    else
        snprintf(order, 8, "%c %c", otter_bootchooser_letter(v->order[0]),
                 otter_bootchooser_letter(v->order[1]));
    snprintf(a_left, 4, "%d", v->left[0]);
    snprintf(b_left, 4, "%d", v->left[1]);
}

int otter_bootchooser_next(otter_bootvars *v)
{
    for (size_t i = 0; i < v->n_order; i++) {
        int s = v->order[i];
        if (v->left[s] > 0) {
            v->left[s]--;
            return s;
        }
    }
    return OTTER_SLOT_NONE;
}

static int clamp_tries(int tries)
{
    if (tries < 0)
        return 0;
    return tries > OTTER_BOOTCHOOSER_MAX_TRIES ? OTTER_BOOTCHOOSER_MAX_TRIES : tries;
}

void otter_bootchooser_activate(otter_bootvars *v, int slot, int tries)
{
    if (slot != OTTER_SLOT_A && slot != OTTER_SLOT_B)
        return;
    v->order[0] = slot;
    v->order[1] = 1 - slot;
    v->n_order = 2;
    v->left[slot] = clamp_tries(tries);
}

void otter_bootchooser_mark_good(otter_bootvars *v, int slot, int tries)
{
    if (slot == OTTER_SLOT_A || slot == OTTER_SLOT_B)
        v->left[slot] = clamp_tries(tries);
}

void otter_bootchooser_mark_bad(otter_bootvars *v, int slot)
{
    if (slot != OTTER_SLOT_A && slot != OTTER_SLOT_B)
        return;
    v->left[slot] = 0;
    v->order[0] = 1 - slot;
    v->order[1] = slot;
    v->n_order = 2;
}

void otter_bootchooser_retire(otter_bootvars *v, int slot)
{
    if (slot != OTTER_SLOT_A && slot != OTTER_SLOT_B)
        return;
    /* Out of the order, not only out of tries: boot scripts that find every
     * slot out of tries reset the counters of the slots in BOOT_ORDER. */
    v->left[slot] = 0;
    v->order[0] = 1 - slot;
    v->order[1] = slot;
    v->n_order = 1;
}

char otter_bootchooser_letter(int slot)
{
    return slot == OTTER_SLOT_A ? 'A' : slot == OTTER_SLOT_B ? 'B' : '?';
}

int otter_bootchooser_index(const char *name)
{
    if (!name || !name[0] || name[1])
        return OTTER_SLOT_NONE;
    if (name[0] == 'A' || name[0] == 'a')
        return OTTER_SLOT_A;
    if (name[0] == 'B' || name[0] == 'b')
        return OTTER_SLOT_B;
    return OTTER_SLOT_NONE;
}
