/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otter_bootchooser.h"
#include "otter_file.h"
#include "otter_state_impl.h"

static const char *const statuses[] = {"proceeding", "downloaded", "success",
                                       "failure",    "canceled",   "rejected"};

const char *otter_state_check_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > OTTER_STATE_MAX_ID)
        return "expected 1 to 64 characters";
    if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+:~-") != n)
        return "expected only letters, digits and . _ + : ~ -";
    return NULL;
}

const char *otter_state_check_text(const char *s)
{
    if (strlen(s) > OTTER_STATE_MAX_TEXT)
        return "longer than 1024 characters";
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return "control character";
    return NULL;
}

const char *otter_state_check_sha256(const char *s)
{
    if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
        return "expected 64 lowercase hex digits";
    return NULL;
}

const char *otter_state_check_status(const char *s)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(s, statuses[i]) == 0)
            return NULL;
    return "expected proceeding, downloaded, success, failure, canceled or rejected";
}

otter_state *otter_state_new(void)
{
    otter_state *s = calloc(1, sizeof *s);
    if (s)
        s->booted = OTTER_SLOT_A;
    return s;
}

static void slot_free(otter_state_slot *slot)
{
    free(slot->version);
    for (size_t i = 0; i < slot->n_images; i++) {
        free(slot->images[i].name);
        free(slot->images[i].target);
    }
    memset(slot, 0, sizeof *slot);
}

static void feedback_free(otter_state_feedback *f)
{
    free(f->action_id);
    free(f->status);
    free(f->detail);
}

void otter_state_free(otter_state *s)
{
    if (!s)
        return;
    slot_free(&s->slots[0]);
    slot_free(&s->slots[1]);
    otter_state_clear_pending(s);
    free(s->last.version);
    free(s->last.reason);
    for (size_t i = 0; i < s->n_feedback; i++)
        feedback_free(&s->feedback[i]);
    free(s);
}

static int bad(otter_err *err, const char *what, const char *why)
{
    return otter_err_set(err, OTTER_EUSAGE, "state: %s: %s", what, why);
}

static int nomem(otter_err *err)
{
    return otter_err_set(err, OTTER_ENOMEM, "state: out of memory");
}

int otter_state_set_slot(otter_state *s, int slot, const char *version, uint64_t security_version,
                         const char *manifest_sha256, const otter_state_image *images,
                         size_t n_images, otter_err *err)
{
    const char *why;
    if (slot != OTTER_SLOT_A && slot != OTTER_SLOT_B)
        return bad(err, "slot", "expected A or B");
    if ((why = otter_state_check_id(version)))
        return bad(err, "version", why);
    if ((why = otter_state_check_sha256(manifest_sha256)))
        return bad(err, "manifest_sha256", why);
    if (security_version > INT64_MAX)
        return bad(err, "security_version", "above 2^63-1");
    if (n_images > OTTER_STATE_MAX_IMAGES)
        return bad(err, "images", "more than 16");
    for (size_t i = 0; i < n_images; i++) {
        if ((why = otter_state_check_id(images[i].name)) ||
            (why = otter_state_check_id(images[i].target)) ||
            (why = otter_state_check_sha256(images[i].sha256)))
            return bad(err, "image", why);
        if (images[i].size > INT64_MAX)
            return bad(err, "image size", "above 2^63-1");
    }
    otter_state_slot n = {.present = 1, .security_version = security_version};
    memcpy(n.manifest_sha256, manifest_sha256, 65);
    if (!(n.version = strdup(version)))
        return nomem(err);
    for (size_t i = 0; i < n_images; i++, n.n_images++) {
        otter_state_image *im = &n.images[i];
        im->name = strdup(images[i].name);
        im->target = strdup(images[i].target);
        memcpy(im->sha256, images[i].sha256, 65);
        im->size = images[i].size;
        if (!im->name || !im->target) {
            n.n_images++;
            slot_free(&n);
            return nomem(err);
        }
    }
    slot_free(&s->slots[slot]);
    s->slots[slot] = n;
    return 0;
}

void otter_state_clear_slot(otter_state *s, int slot)
{
    if (slot == OTTER_SLOT_A || slot == OTTER_SLOT_B)
        slot_free(&s->slots[slot]);
}

int otter_state_set_pending(otter_state *s, int slot, const char *version,
                            uint64_t security_version, const char *manifest_sha256, int64_t time,
                            otter_err *err)
{
    const char *why;
    if (slot != OTTER_SLOT_A && slot != OTTER_SLOT_B)
        return bad(err, "pending slot", "expected A or B");
    if ((why = otter_state_check_id(version)))
        return bad(err, "pending version", why);
    if ((why = otter_state_check_sha256(manifest_sha256)))
        return bad(err, "pending manifest_sha256", why);
    if (security_version > INT64_MAX)
        return bad(err, "pending security_version", "above 2^63-1");
    char *v = strdup(version);
    if (!v)
        return nomem(err);
    otter_state_clear_pending(s);
    s->pending = (otter_state_pending){.present = 1,
                                       .slot = slot,
                                       .version = v,
                                       .security_version = security_version,
                                       .time = time};
    memcpy(s->pending.manifest_sha256, manifest_sha256, 65);
    return 0;
}

void otter_state_clear_pending(otter_state *s)
{
    free(s->pending.version);
    memset(&s->pending, 0, sizeof s->pending);
}

int otter_state_set_result(otter_state *s, int status, const char *version, const char *reason,
                           int64_t time, otter_err *err)
{
    const char *why;
    if (status != OTTER_RESULT_SUCCESS && status != OTTER_RESULT_FAILURE)
        return bad(err, "result", "expected success or failure");
    if ((why = otter_state_check_id(version)))
        return bad(err, "result version", why);
    if ((why = otter_state_check_text(reason)))
        return bad(err, "result reason", why);
    char *v = strdup(version), *r = strdup(reason);
    if (!v || !r) {
        free(v);
        free(r);
        return nomem(err);
    }
    free(s->last.version);
    free(s->last.reason);
    s->last = (otter_state_result){.status = status, .version = v, .reason = r, .time = time};
    return 0;
}

int otter_state_feedback_push(otter_state *s, const char *action_id, const char *status,
                              const char *detail, int64_t time, otter_err *err)
{
    const char *why;
    if ((why = otter_state_check_id(action_id)))
        return bad(err, "feedback action_id", why);
    if ((why = otter_state_check_status(status)))
        return bad(err, "feedback status", why);
    if ((why = otter_state_check_text(detail)))
        return bad(err, "feedback detail", why);
    if (s->n_feedback == OTTER_STATE_MAX_FEEDBACK)
        return otter_err_set(err, OTTER_ESTATE,
                             "state: feedback queue full (%d entries not acknowledged)",
                             OTTER_STATE_MAX_FEEDBACK);
    otter_state_feedback f = {strdup(action_id), strdup(status), strdup(detail), time};
    if (!f.action_id || !f.status || !f.detail) {
        feedback_free(&f);
        return nomem(err);
    }
    s->feedback[s->n_feedback++] = f;
    return 0;
}

size_t otter_state_feedback_ack(otter_state *s, const char *action_id)
{
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < s->n_feedback; i++) {
        if (strcmp(s->feedback[i].action_id, action_id) == 0) {
            feedback_free(&s->feedback[i]);
            dropped++;
        } else {
            s->feedback[kept++] = s->feedback[i];
        }
    }
    s->n_feedback = kept;
    return dropped;
}

int otter_state_load(const char *path, otter_state **out, otter_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        *out = otter_state_new();
        return *out ? 0 : nomem(err);
    }
    int ret = otter_file_read_all(path, OTTER_STATE_MAX_BYTES, &buf, &len, err);
    if (ret == 0)
        ret = otter_state_parse_mem(buf, len, path, out, err);
    free(buf);
    return ret;
}

int otter_state_save(const otter_state *s, const char *path, otter_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    int ret = otter_state_to_json(s, &buf, &len, err);
    if (ret == 0)
        ret = otter_file_write_atomic(path, buf, len, 0600, err);
    free(buf);
    return ret;
}
