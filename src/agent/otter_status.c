/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_status.h"
#include "otter_bootchooser.h"

#include <jansson.h>
#include <stdlib.h>

static const char *result_name(int status)
{
    return status == OTTER_RESULT_SUCCESS   ? "success"
           : status == OTTER_RESULT_FAILURE ? "failure"
                                            : "none";
}

static json_t *slot_json(const otter_state_slot *s)
{
    if (!s->present)
        return json_null();
    return json_pack("{s:s, s:I, s:s, s:I}", "version", s->version, "security_version",
                     (json_int_t)s->security_version, "manifest_sha256", s->manifest_sha256,
                     "images", (json_int_t)s->n_images);
}

int otter_status_print(otter_device *d, int json, FILE *out, otter_err *err)
{
    uint64_t counter = 0;
    otter_bootvars v;
    int ret = otter_rollback_get(d->rollback, &counter, err);
    if (!ret)
        ret = otter_boot_read_vars(d->boot, (int)d->conf->boot_tries, &v, err);
    if (ret)
        return ret;
    const otter_state *s = d->state;
    char order[8], a_left[4], b_left[4];
    otter_bootchooser_format(&v, order, a_left, b_left);
    char booted[2] = {otter_bootchooser_letter(d->booted), 0};
    if (json) {
        json_t *root = json_pack(
            "{s:s, s:s, s:s, s:{s:o, s:o}, s:I, s:{s:s, s:s, s:s}, s:o, s:{s:s, s:s?, s:s?, s:I}}",
            "product", d->conf->product, "model", d->conf->model, "booted", booted, "slots", "A",
            slot_json(&s->slots[0]), "B", slot_json(&s->slots[1]), "counter", (json_int_t)counter,
            "boot", "order", order, "A_left", a_left, "B_left", b_left, "pending",
            s->pending.present
                ? json_pack("{s:s, s:s, s:I}", "slot", s->pending.slot == OTTER_SLOT_A ? "A" : "B",
                            "version", s->pending.version, "security_version",
                            (json_int_t)s->pending.security_version)
                : json_null(),
            "last", "result", result_name(s->last.status), "version", s->last.version, "reason",
            s->last.reason, "time", (json_int_t)s->last.time);
        char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(root);
        if (!text)
            return otter_err_set(err, OTTER_ENOMEM, "out of memory");
        fprintf(out, "%s\n", text);
        free(text);
        return 0;
    }
    fprintf(out, "device:   %s / %s\n", d->conf->product, d->conf->model);
    fprintf(out, "booted:   slot %s\n", booted);
    for (int i = 0; i < 2; i++) {
        const otter_state_slot *sl = &s->slots[i];
        if (sl->present)
            fprintf(out, "slot %c:   %s (security version %llu)\n", otter_bootchooser_letter(i),
                    sl->version, (unsigned long long)sl->security_version);
        else
            fprintf(out, "slot %c:   (no recorded system)\n", otter_bootchooser_letter(i));
    }
    fprintf(out, "boot:     BOOT_ORDER=\"%s\" BOOT_A_LEFT=%s BOOT_B_LEFT=%s\n", order, a_left,
            b_left);
    fprintf(out, "counter:  %llu\n", (unsigned long long)counter);
    if (s->pending.present)
        fprintf(out, "pending:  %s in slot %c (waiting for reboot and boot-check)\n",
                s->pending.version, otter_bootchooser_letter(s->pending.slot));
    else
        fprintf(out, "pending:  none\n");
    fprintf(out, "last:     %s%s%s%s%s\n", result_name(s->last.status),
            s->last.version && s->last.version[0] ? " " : "",
            s->last.version ? s->last.version : "", s->last.reason && s->last.reason[0] ? ": " : "",
            s->last.reason ? s->last.reason : "");
    return 0;
}
