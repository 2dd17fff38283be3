/* SPDX-License-Identifier: Apache-2.0 */
/* ddi.json: small, strict, written atomically; older files without spooled/config still load. */
#include "otter_daemon.h"
#include "otter_file.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A daemon that drops to [server] daemon_user keeps it in its own directory (otter_broker_open). */
static void record_path(const otter_agent_conf *conf, char *out, size_t size)
{
    snprintf(out, size, "%s%s/ddi.json", conf->state_dir,
             conf->server_daemon_user && conf->server_daemon_user[0] ? "/daemon" : "");
}

static int copy_field(json_t *root, const char *key, char *out, size_t size)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) >= size)
        return -1;
    snprintf(out, size, "%s", json_string_value(v));
    return 0;
}

int otter_daemon_record_load(const otter_agent_conf *conf, otter_daemon_record *r, otter_err *err)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    memset(r, 0, sizeof *r);
    record_path(conf, path, sizeof path);
    if (access(path, F_OK) != 0)
        return 0;
    int ret = otter_file_read_all(path, 8192, &text, &len, err);
    if (ret)
        return ret;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    if (!root || !json_is_object(root) ||
        copy_field(root, "action", r->action, sizeof r->action) < 0 ||
        copy_field(root, "version", r->version, sizeof r->version) < 0 ||
        copy_field(root, "spooled", r->spooled, sizeof r->spooled) < 0 ||
        copy_field(root, "config", r->config, sizeof r->config) < 0 ||
        copy_field(root, "retry", r->retry, sizeof r->retry) < 0 ||
        copy_field(root, "refused", r->refused, sizeof r->refused) < 0 ||
        copy_field(root, "refusal", r->refusal, sizeof r->refusal) < 0 ||
        (json_object_get(root, "retries") &&
         (!json_is_integer(json_object_get(root, "retries")) ||
          (r->retries = (long)json_integer_value(json_object_get(root, "retries"))) < 0 ||
          r->retries > OTTER_DAEMON_MAX_TRIES)) ||
        (r->action[0] && !r->version[0]) || (r->refusal[0] && !r->refused[0])) {
        json_decref(root);
        memset(r, 0, sizeof *r);
        return otter_err_set(err, OTTER_EFORMAT, "%s: not a valid record", path);
    }
    json_decref(root);
    return 0;
}

int otter_daemon_record_save(const otter_agent_conf *conf, const otter_daemon_record *r,
                             otter_err *err)
{
    char path[PATH_MAX];
    record_path(conf, path, sizeof path);
    if (!r->action[0] && !r->spooled[0] && !r->config[0] && !r->retry[0] && !r->refused[0]) {
        if (unlink(path) < 0 && errno != ENOENT)
            return otter_err_sys(err, OTTER_EIO, errno, "%s: cannot remove", path);
        return otter_file_sync_dir_of(path, err);
    }
    json_t *root = json_object();
    if (root && r->action[0]) {
        json_object_set_new(root, "action", json_string(r->action));
        json_object_set_new(root, "version", json_string(r->version));
    }
    if (root && r->spooled[0])
        json_object_set_new(root, "spooled", json_string(r->spooled));
    if (root && r->config[0])
        json_object_set_new(root, "config", json_string(r->config));
    if (root && r->retry[0]) {
        json_object_set_new(root, "retry", json_string(r->retry));
        json_object_set_new(root, "retries", json_integer(r->retries));
    }
    if (root && r->refused[0]) {
        json_object_set_new(root, "refused", json_string(r->refused));
        json_object_set_new(root, "refusal", json_string(r->refusal));
    }
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(root);
    if (!text)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int ret = otter_file_write_atomic(path, text, strlen(text), 0600, err);
    free(text);
    return ret;
}

int otter_daemon_record_failed(otter_daemon_record *r, const char *action)
{
    if (strcmp(r->retry, action) != 0) {
        snprintf(r->retry, sizeof r->retry, "%s", action);
        r->retries = 0;
    }
    if (++r->retries < OTTER_DAEMON_MAX_TRIES)
        return 1;
    r->retry[0] = '\0';
    r->retries = 0;
    return 0;
}
