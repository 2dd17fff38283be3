/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_daemon_status.h"
#include "otter_bootchooser.h"
#include "otter_device.h"
#include "otter_digest.h"
#include "otter_state.h"
#include "otter_fmt.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

const char *const otter_daemon_config_keys[OTTER_DAEMON_N_CONFIG] = {
    "product", "model", "slot", "version", "version_a", "version_b", "security_counter",
    /* docs/ddi.md "Delta artifacts": this agent applies deltas and falls back by itself. */
    "otter.delta"};

static void copy(char *out, const char *in)
{
    snprintf(out, OTTER_DAEMON_STATUS_TEXT, "%s", in ? in : "");
}

static void read_state(const otter_agent_conf *conf, otter_daemon_status *st)
{
    char path[PATH_MAX];
    otter_state *s = NULL;
    if (otter_fmt(path, sizeof path, &st->state_err, "state file path", "%s/state.json",
                  conf->state_dir) != 0 ||
        otter_state_load(path, &s, &st->state_err) != 0)
        return;
    st->pending = s->pending.present;
    st->last_success = s->last.status == OTTER_RESULT_SUCCESS;
    copy(st->last_version, s->last.version);
    copy(st->last_reason, s->last.reason);
    otter_state_free(s);
}

static void read_config(const char *conf_path, otter_daemon_status *st)
{
    otter_device *dev = NULL;
    otter_err *err = &st->config_err;
    /* The booted slot when the command line tells it; the rest regardless. */
    if (otter_device_open(conf_path, 1, &dev, err) != 0 &&
        otter_device_open(conf_path, 0, &dev, err) != 0)
        return;
    otter_err_clear(err);
    uint64_t counter = 0;
    char counter_s[24], slot[2] = {'?', '\0'};
    otter_rollback_get(dev->rollback, &counter, err);
    otter_err_clear(err);
    snprintf(counter_s, sizeof counter_s, "%llu", (unsigned long long)counter);
    if (dev->booted != OTTER_SLOT_NONE)
        slot[0] = otter_bootchooser_letter(dev->booted);
    const otter_state_slot *a = &dev->state->slots[0], *b = &dev->state->slots[1];
    const otter_state_slot *run =
        dev->booted == OTTER_SLOT_NONE ? NULL : &dev->state->slots[dev->booted];
    const char *values[OTTER_DAEMON_N_CONFIG] = {dev->conf->product,
                                                 dev->conf->model,
                                                 slot,
                                                 run && run->present ? run->version : "",
                                                 a->present ? a->version : "",
                                                 b->present ? b->version : "",
                                                 counter_s,
                                                 "1"};
    for (int i = 0; i < OTTER_DAEMON_N_CONFIG; i++)
        copy(st->config[i], values[i]);
    otter_device_free(dev);
}

void otter_daemon_status_read(const char *conf_path, const otter_agent_conf *conf,
                              otter_daemon_status *st)
{
    memset(st, 0, sizeof *st);
    read_state(conf, st);
    read_config(conf_path, st);
}

static json_t *err_json(const otter_err *e)
{
    return json_pack("{s:i, s:s}", "code", e->code, "msg", e->msg);
}

char *otter_daemon_status_to_json(const otter_daemon_status *st)
{
    json_t *cfg = json_array();
    for (int i = 0; cfg && i < OTTER_DAEMON_N_CONFIG; i++)
        json_array_append_new(cfg, json_string(st->config[i]));
    json_t *root =
        cfg ? json_pack("{s:o, s:b, s:b, s:s, s:s, s:o, s:o}", "state_err",
                        err_json(&st->state_err), "pending", st->pending, "last_success",
                        st->last_success, "last_version", st->last_version, "last_reason",
                        st->last_reason, "config_err", err_json(&st->config_err), "config", cfg)
            : NULL;
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

static int take_err(json_t *j, otter_err *e)
{
    json_int_t code;
    const char *msg;
    if (json_unpack(j, "{s:I, s:s}", "code", &code, "msg", &msg) != 0 || code > 0 || code < -1000)
        return -1;
    e->code = (int)code;
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    return 0;
}

int otter_daemon_status_from_json(const char *buf, size_t len, otter_daemon_status *st,
                                  otter_err *err)
{
    memset(st, 0, sizeof *st);
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *se = NULL, *ce = NULL, *cfg = NULL;
    const char *lv = NULL, *lr = NULL;
    int ok = root &&
             json_unpack(root, "{s:o, s:b, s:b, s:s, s:s, s:o, s:o}", "state_err", &se, "pending",
                         &st->pending, "last_success", &st->last_success, "last_version", &lv,
                         "last_reason", &lr, "config_err", &ce, "config", &cfg) == 0;
    ok = ok && take_err(se, &st->state_err) == 0 && take_err(ce, &st->config_err) == 0 &&
         json_is_array(cfg) && json_array_size(cfg) == OTTER_DAEMON_N_CONFIG;
    for (size_t i = 0; ok && i < OTTER_DAEMON_N_CONFIG; i++) {
        const char *v = json_string_value(json_array_get(cfg, i));
        ok = v != NULL;
        if (ok)
            copy(st->config[i], v);
    }
    if (ok) {
        copy(st->last_version, lv);
        copy(st->last_reason, lr);
    }
    json_decref(root);
    if (!ok) {
        memset(st, 0, sizeof *st);
        return otter_err_set(err, OTTER_EFORMAT, "the broker's status is not valid");
    }
    return 0;
}
