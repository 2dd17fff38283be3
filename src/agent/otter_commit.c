/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_commit.h"
#include "otter_bootchooser.h"
#include "otter_crash.h"
#include "otter_install.h"

#include <stdio.h>
#include <string.h>

/*
 * Whether slot may not run with the counter at counter: its recorded
 * security version is below it; unknown_too: a slot without a record
 * counts as below too once the counter was raised at all.
 */
static int below_counter(const otter_device *d, int slot, uint64_t counter, int unknown_too)
{
    const otter_state_slot *s = &d->state->slots[slot];
    if (!s->present)
        return unknown_too && counter > 0;
    return s->security_version < counter;
}

/*
 * good: slot's tries reset, and the other slot retired when below counter;
 * else slot marked bad, and when the bootloader fell back from it, the
 * running slot gets back the try that boot cost: not given back, a few
 * failed updates in a row (no normal boot between them) left it none.
 */
static int update_bootvars(otter_device *d, int slot, int good, uint64_t counter, otter_err *err)
{
    otter_bootvars v;
    int tries = (int)d->conf->boot_tries;
    int ret = otter_boot_read_vars(d->boot, tries, &v, err);
    if (ret)
        return ret;
    if (good)
        otter_bootchooser_mark_good(&v, slot, tries);
    else
        otter_bootchooser_mark_bad(&v, slot);
    if (!good && slot != d->booted)
        otter_bootchooser_mark_good(&v, d->booted, tries);
    if (good && below_counter(d, 1 - slot, counter, 1))
        otter_bootchooser_retire(&v, 1 - slot);
    return otter_boot_write_vars(d->boot, &v, err);
}

static int record_failure(otter_device *d, const char *reason, otter_err *err)
{
    otter_state_pending *p = &d->state->pending;
    int ret = update_bootvars(d, p->slot, 0, 0, err);
    otter_crash_point("commit-marked-bad");
    if (!ret)
        ret = otter_state_set_result(d->state, OTTER_RESULT_FAILURE, p->version, reason,
                                     otter_device_now(), err);
    if (!ret) {
        otter_state_clear_pending(d->state);
        ret = otter_device_save_state(d, err);
    }
    return ret;
}

static int commit(otter_device *d, otter_err *err)
{
    otter_state_pending *p = &d->state->pending;
    uint64_t counter = 0;
    int ret = otter_rollback_raise(d->rollback, p->security_version, err);
    otter_crash_point("commit-counter");
    if (!ret)
        ret = otter_rollback_get(d->rollback, &counter, err);
    if (!ret)
        ret = update_bootvars(d, p->slot, 1, counter, err);
    otter_crash_point("commit-marked-good");
    if (!ret)
        ret = otter_state_set_result(d->state, OTTER_RESULT_SUCCESS, p->version, "",
                                     otter_device_now(), err);
    if (!ret) {
        otter_state_clear_pending(d->state);
        ret = otter_device_save_state(d, err);
    }
    return ret;
}

/*
 * The booted slot is below the counter (a bootloader fell back to it after
 * a commit, or its boot order was reset): it is retired and the other slot
 * activated when that one may run; the pending update, if any, stays
 * pending for it. OTTER_EROLLBACK when neither slot may run.
 */
static int refuse_booted(otter_device *d, uint64_t counter, int *outcome, otter_err *err)
{
    int other = 1 - d->booted;
    const otter_state_slot *s = &d->state->slots[d->booted];
    if (!d->state->slots[other].present || below_counter(d, other, counter, 1))
        return otter_err_set(err, OTTER_EROLLBACK,
                             "slot %c holds security version %llu, below the counter %llu, and "
                             "slot %c holds no system allowed to run",
                             otter_bootchooser_letter(d->booted),
                             (unsigned long long)s->security_version, (unsigned long long)counter,
                             otter_bootchooser_letter(other));
    otter_bootvars v;
    int tries = (int)d->conf->boot_tries;
    int ret = otter_boot_read_vars(d->boot, tries, &v, err);
    if (ret)
        return ret;
    otter_bootchooser_activate(&v, other, tries);
    otter_bootchooser_retire(&v, d->booted);
    if ((ret = otter_boot_write_vars(d->boot, &v, err)) != 0)
        return ret;
    *outcome = OTTER_CHECK_REFUSED;
    if (d->conf->reboot_command[0])
        otter_install_run_command(d->conf->reboot_command, 60, other,
                                  d->state->slots[other].version);
    return 0;
}

/*
 * A normal boot of a good system: give its try counter back, as the
 * bootloader script counts every boot down. Written only when it changed,
 * to spare the flash holding the environment.
 */
static int give_back_tries(otter_device *d, otter_err *err)
{
    otter_bootvars v;
    int tries = (int)d->conf->boot_tries;
    int ret = otter_boot_read_vars(d->boot, tries, &v, err);
    if (!ret && v.left[d->booted] != tries) {
        otter_bootchooser_mark_good(&v, d->booted, tries);
        ret = otter_boot_write_vars(d->boot, &v, err);
    }
    return ret;
}

/*
 * Whether the install's switch to the pending slot became durable. The
 * record says so once it did; a record from before the switch is confirmed
 * by the boot variables: activated, the pending slot leads BOOT_ORDER, and a
 * bootloader that ran out of its tries leaves it there. Released and never
 * activated, it is last (otter_install.c, release_inactive_slot).
 */
static int switch_happened(otter_device *d, const otter_state_pending *p, int *yes, otter_err *err)
{
    otter_bootvars v;
    *yes = p->switched;
    if (*yes)
        return 0;
    int ret = otter_boot_read_vars(d->boot, (int)d->conf->boot_tries, &v, err);
    if (!ret)
        *yes = v.order[0] == p->slot;
    return ret;
}

/*
 * The pending update was never switched to (a power cut between its record
 * and the boot switch): it was not tried, so nothing failed. The record goes
 * and so does what the state says its slot holds (nothing boots it: it is
 * the released slot of an unfinished install), with the last result as it
 * was; the update is installed again.
 */
static int forget_unswitched(otter_device *d, int *outcome, otter_err *err)
{
    otter_state_clear_slot(d->state, d->state->pending.slot);
    otter_state_clear_pending(d->state);
    int ret = otter_device_save_state(d, err);
    otter_crash_point("commit-unswitched");
    if (!ret)
        ret = give_back_tries(d, err);
    if (!ret)
        *outcome = OTTER_CHECK_NOT_SWITCHED;
    return ret;
}

int otter_commit_boot_check(otter_device *d, int *outcome, otter_err *err)
{
    otter_state_pending *p = &d->state->pending;
    *outcome = OTTER_CHECK_NOTHING;
    if (d->state->booted != d->booted) {
        /* Keep the state's idea of the running slot true to the bootloader. */
        d->state->booted = d->booted;
        if (!p->present) {
            int ret = otter_device_save_state(d, err);
            if (ret)
                return ret;
        }
    }
    uint64_t counter = 0;
    int ret = otter_rollback_get(d->rollback, &counter, err);
    if (ret)
        return ret;
    /* The pending slot itself below the counter is a failed update (further down). */
    if ((!p->present || p->slot != d->booted) && below_counter(d, d->booted, counter, 0))
        return refuse_booted(d, counter, outcome, err);
    if (!p->present)
        return give_back_tries(d, err);
    char reason[256];
    int switched = 1;
    if (p->slot != d->booted && (ret = switch_happened(d, p, &switched, err)) != 0)
        return ret;
    if (!switched)
        return forget_unswitched(d, outcome, err);
    if (p->slot != d->booted) {
        snprintf(
            reason, sizeof reason,
            "slot %c did not boot (tries ran out or verified boot refused it); running slot %c",
            otter_bootchooser_letter(p->slot), otter_bootchooser_letter(d->booted));
        *outcome = OTTER_CHECK_FAILED;
        return record_failure(d, reason, err);
    }
    if (p->security_version < counter) {
        /* The counter went up after the install (another device tool, a
         * restored state): this system may no longer run. */
        snprintf(reason, sizeof reason,
                 "slot %c holds security version %llu, below the counter %llu: not committed",
                 otter_bootchooser_letter(p->slot), (unsigned long long)p->security_version,
                 (unsigned long long)counter);
        *outcome = OTTER_CHECK_FAILED;
        ret = record_failure(d, reason, err);
        if (!ret && d->conf->reboot_command[0])
            otter_install_run_command(d->conf->reboot_command, 60, 1 - p->slot, "");
        return ret;
    }
    if (d->conf->health_command[0]) {
        int rc = otter_install_run_command(d->conf->health_command, d->conf->health_timeout,
                                           p->slot, p->version);
        if (rc != 0) {
            snprintf(reason, sizeof reason, "health check failed (%s %d) on slot %c",
                     rc == 124 ? "timed out, status" : "exit status", rc,
                     otter_bootchooser_letter(p->slot));
            *outcome = OTTER_CHECK_FAILED;
            ret = record_failure(d, reason, err);
            if (!ret && d->conf->reboot_command[0])
                otter_install_run_command(d->conf->reboot_command, 60, 1 - p->slot, "");
            return ret;
        }
    }
    *outcome = OTTER_CHECK_COMMITTED;
    return commit(d, err);
}

int otter_commit_mark_good(otter_device *d, otter_err *err)
{
    otter_state_pending *p = &d->state->pending;
    if (!p->present)
        return otter_err_set(err, OTTER_ESTATE, "no update is pending");
    if (p->slot != d->booted)
        return otter_err_set(
            err, OTTER_ESTATE, "the pending update is in slot %c but slot %c is running",
            otter_bootchooser_letter(p->slot), otter_bootchooser_letter(d->booted));
    return commit(d, err);
}

int otter_commit_rollback(otter_device *d, int no_reboot, otter_err *err)
{
    int other = 1 - d->booted;
    const otter_state_slot *s = &d->state->slots[other];
    uint64_t counter = 0;
    int ret = otter_rollback_get(d->rollback, &counter, err);
    if (ret)
        return ret;
    if (d->state->pending.present)
        return otter_err_set(err, OTTER_ESTATE, "an update is pending: run boot-check first");
    if (!s->present)
        return otter_err_set(err, OTTER_ESTATE, "slot %c holds no known system",
                             otter_bootchooser_letter(other));
    if (s->security_version < counter)
        return otter_err_set(err, OTTER_EROLLBACK,
                             "slot %c has security version %llu, below the counter %llu",
                             otter_bootchooser_letter(other),
                             (unsigned long long)s->security_version, (unsigned long long)counter);
    otter_bootvars v;
    int tries = (int)d->conf->boot_tries;
    ret = otter_boot_read_vars(d->boot, tries, &v, err);
    if (!ret) {
        otter_bootchooser_activate(&v, other, tries);
        otter_bootchooser_mark_good(&v, other, tries);
        ret = otter_boot_write_vars(d->boot, &v, err);
    }
    if (!ret && !no_reboot && d->conf->reboot_command[0])
        otter_install_run_command(d->conf->reboot_command, 60, other, s->version);
    return ret;
}
