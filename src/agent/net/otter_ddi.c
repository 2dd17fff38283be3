/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_ddi.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int load(const char *buf, size_t len, const char *what, json_t **out, otter_err *err)
{
    if (len > OTTER_DDI_MAX_BODY)
        return otter_err_set(err, OTTER_EFORMAT, "%s: reply too large (%zu bytes, limit %d)", what,
                             len, OTTER_DDI_MAX_BODY);
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return otter_err_set(err, OTTER_EFORMAT, "%s: line %d column %d: %s", what, jerr.line,
                             jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected a JSON object", what);
    }
    *out = root;
    return 0;
}

/* Copies an optional string at obj.key into dst (size bytes); refuses wrong types and lengths. */
static int get_str(json_t *obj, const char *key, int required, char *dst, size_t size,
                   const char *where, otter_err *err)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return otter_err_set(err, OTTER_EFORMAT, "%s.%s: missing", where, key);
        dst[0] = '\0';
        return 0;
    }
    if (!json_is_string(v))
        return otter_err_set(err, OTTER_EFORMAT, "%s.%s: expected a string", where, key);
    if (json_string_length(v) >= size || strlen(json_string_value(v)) != json_string_length(v))
        return otter_err_set(err, OTTER_EFORMAT, "%s.%s: longer than %zu bytes", where, key,
                             size - 1);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* Links the agent follows must be http(s); anything else (file:, ftp:) is hostile. */
static int get_href(json_t *links, const char *name, char *dst, const char *where, otter_err *err)
{
    json_t *link = links ? json_object_get(links, name) : NULL;
    char path[160];
    snprintf(path, sizeof path, "%s._links.%s", where, name);
    if (!link) {
        dst[0] = '\0';
        return 0;
    }
    if (!json_is_object(link))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", path);
    int ret = get_str(link, "href", 1, dst, OTTER_DDI_MAX_URL, path, err);
    if (ret)
        return ret;
    if (strncmp(dst, "https://", 8) != 0 && strncmp(dst, "http://", 7) != 0)
        return otter_err_set(err, OTTER_EFORMAT, "%s.href: not an http(s) URL", path);
    return 0;
}

long otter_ddi_parse_sleep(const char *s)
{
    unsigned h, m, sec;
    char tail;
    if (strlen(s) != 8 || sscanf(s, "%2u:%2u:%2u%c", &h, &m, &sec, &tail) != 3 || m > 59 ||
        sec > 59 || s[2] != ':' || s[5] != ':')
        return -1;
    return (long)h * 3600 + m * 60 + sec;
}

int otter_ddi_parse_base(const char *buf, size_t len, otter_ddi_base *out, otter_err *err)
{
    json_t *root = NULL;
    memset(out, 0, sizeof *out);
    out->sleep_seconds = -1;
    int ret = load(buf, len, "base poll", &root, err);
    if (ret)
        return ret;
    json_t *polling = json_object_get(json_object_get(root, "config"), "polling");
    char sleep[16];
    ret = get_str(polling, "sleep", 0, sleep, sizeof sleep, "base poll: config.polling", err);
    if (!ret && sleep[0] && (out->sleep_seconds = otter_ddi_parse_sleep(sleep)) < 0)
        ret = otter_err_set(err, OTTER_EFORMAT,
                            "base poll: config.polling.sleep: \"%s\" is not HH:MM:SS", sleep);
    json_t *links = json_object_get(root, "_links");
    if (!ret && links && !json_is_object(links))
        ret = otter_err_set(err, OTTER_EFORMAT, "base poll: _links: expected an object");
    if (!ret)
        ret = get_href(links, "deploymentBase", out->deployment, "base poll", err);
    if (!ret)
        ret = get_href(links, "cancelAction", out->cancel, "base poll", err);
    if (!ret)
        ret = get_href(links, "configData", out->config_data, "base poll", err);
    if (!ret)
        ret = get_href(links, "installedBase", out->installed, "base poll", err);
    if (!ret) /* hawkBit's user consent ("ask"): offered before deploymentBase */
        ret = get_href(links, "confirmationBase", out->confirmation, "base poll", err);
    json_decref(root);
    return ret;
}

static int parse_mode(json_t *obj, const char *key, int *out, const char *where, otter_err *err)
{
    char v[16];
    int ret = get_str(obj, key, 0, v, sizeof v, where, err);
    if (ret)
        return ret;
    if (!v[0] || strcmp(v, "forced") == 0)
        *out = OTTER_DDI_FORCED;
    else if (strcmp(v, "attempt") == 0)
        *out = OTTER_DDI_ATTEMPT;
    else if (strcmp(v, "skip") == 0)
        *out = OTTER_DDI_SKIP;
    else
        return otter_err_set(err, OTTER_EFORMAT, "%s.%s: \"%s\" is not skip, attempt or forced",
                             where, key, v);
    return 0;
}

static int is_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
            return 0;
    return 1;
}

static int parse_artifact(json_t *a, otter_ddi_artifact *out, const char *where, otter_err *err)
{
    if (!json_is_object(a))
        return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", where);
    int ret = get_str(a, "filename", 1, out->filename, sizeof out->filename, where, err);
    if (!ret && (strchr(out->filename, '/') || strstr(out->filename, "..")))
        ret = otter_err_set(err, OTTER_EFORMAT, "%s.filename: \"%s\" is not a plain file name",
                            where, out->filename);
    json_t *size = json_object_get(a, "size");
    if (!ret && (!json_is_integer(size) || json_integer_value(size) < 0))
        ret = otter_err_set(err, OTTER_EFORMAT, "%s.size: expected a non-negative integer", where);
    if (ret)
        return ret;
    out->size = (uint64_t)json_integer_value(size);
    json_t *hashes = json_object_get(a, "hashes");
    char hpath[200];
    snprintf(hpath, sizeof hpath, "%s.hashes", where);
    ret = get_str(hashes, "sha256", 0, out->sha256, sizeof out->sha256, hpath, err);
    if (!ret)
        ret = get_str(hashes, "sha1", 0, out->sha1, sizeof out->sha1, hpath, err);
    if (!ret)
        ret = get_str(hashes, "md5", 0, out->md5, sizeof out->md5, hpath, err);
    if (!ret &&
        ((out->sha256[0] && !is_hex(out->sha256, 64)) || (out->sha1[0] && !is_hex(out->sha1, 40)) ||
         (out->md5[0] && !is_hex(out->md5, 32))))
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: a hash is not hex of the right length", hpath);
    json_t *links = json_object_get(a, "_links");
    if (!ret)
        ret = get_href(links, "download", out->download, where, err);
    if (!ret && !out->download[0])
        ret = get_href(links, "download-http", out->download, where, err);
    if (!ret && !out->download[0])
        ret = otter_err_set(err, OTTER_EFORMAT, "%s._links: no download link", where);
    return ret;
}

static int parse_chunks(json_t *chunks, otter_ddi_deployment *out, otter_err *err)
{
    if (!json_is_array(chunks) || json_array_size(chunks) == 0 ||
        json_array_size(chunks) > OTTER_DDI_MAX_CHUNKS)
        return otter_err_set(err, OTTER_EFORMAT,
                             "deploymentBase: deployment.chunks: expected 1..%d chunks",
                             OTTER_DDI_MAX_CHUNKS);
    size_t i;
    json_t *c;
    json_array_foreach(chunks, i, c)
    {
        otter_ddi_chunk *ch = &out->chunks[i];
        char where[128];
        snprintf(where, sizeof where, "deploymentBase: deployment.chunks[%zu]", i);
        if (!json_is_object(c))
            return otter_err_set(err, OTTER_EFORMAT, "%s: expected an object", where);
        int ret = get_str(c, "part", 0, ch->part, sizeof ch->part, where, err);
        if (!ret)
            ret = get_str(c, "version", 0, ch->version, sizeof ch->version, where, err);
        if (!ret)
            ret = get_str(c, "name", 0, ch->name, sizeof ch->name, where, err);
        json_t *arts = json_object_get(c, "artifacts");
        if (!ret && (!json_is_array(arts) || json_array_size(arts) > OTTER_DDI_MAX_ARTIFACTS))
            ret = otter_err_set(err, OTTER_EFORMAT, "%s.artifacts: expected 0..%d artifacts", where,
                                OTTER_DDI_MAX_ARTIFACTS);
        if (ret)
            return ret;
        size_t j;
        json_t *a;
        json_array_foreach(arts, j, a)
        {
            char awhere[160];
            snprintf(awhere, sizeof awhere, "%s.artifacts[%zu]", where, j);
            ret = parse_artifact(a, &ch->artifacts[j], awhere, err);
            if (ret)
                return ret;
            ch->n_artifacts++;
        }
        out->n_chunks++;
    }
    return 0;
}

int otter_ddi_parse_deployment(const char *buf, size_t len, otter_ddi_deployment *out,
                               otter_err *err)
{
    json_t *root = NULL;
    memset(out, 0, sizeof *out);
    int ret = load(buf, len, "deploymentBase", &root, err);
    if (ret)
        return ret;
    ret = get_str(root, "id", 1, out->id, sizeof out->id, "deploymentBase", err);
    json_t *dep = json_object_get(root, "deployment");
    if (!ret && !json_is_object(dep))
        ret = otter_err_set(err, OTTER_EFORMAT, "deploymentBase.deployment: expected an object");
    if (!ret)
        ret = parse_mode(dep, "download", &out->download, "deploymentBase.deployment", err);
    if (!ret)
        ret = parse_mode(dep, "update", &out->update, "deploymentBase.deployment", err);
    char window[32] = "";
    if (!ret)
        ret = get_str(dep, "maintenanceWindow", 0, window, sizeof window,
                      "deploymentBase.deployment", err);
    out->maintenance_available = strcmp(window, "unavailable") != 0;
    if (!ret)
        ret = parse_chunks(json_object_get(dep, "chunks"), out, err);
    json_decref(root);
    return ret;
}

int otter_ddi_parse_cancel(const char *buf, size_t len, otter_ddi_cancel *out, otter_err *err)
{
    json_t *root = NULL;
    memset(out, 0, sizeof *out);
    int ret = load(buf, len, "cancelAction", &root, err);
    if (ret)
        return ret;
    ret = get_str(root, "id", 1, out->id, sizeof out->id, "cancelAction", err);
    if (!ret)
        ret = get_str(json_object_get(root, "cancelAction"), "stopId", 1, out->stop_id,
                      sizeof out->stop_id, "cancelAction.cancelAction", err);
    json_decref(root);
    return ret;
}

static int one_of(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(v, *list) == 0)
            return 1;
    return 0;
}

char *otter_ddi_feedback_new(const char *action_id, const char *execution, const char *finished,
                             unsigned cnt, unsigned of, const char *const *details)
{
    static const char *const executions[] = {"closed",     "proceeding", "canceled",
                                             "scheduled",  "rejected",   "resumed",
                                             "downloaded", "download",   NULL};
    static const char *const results[] = {"success", "failure", "none", NULL};
    if (!one_of(execution, executions) || !one_of(finished, results))
        return NULL;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    json_t *result = json_pack("{s:s}", "finished", finished);
    if (result && of > 0)
        json_object_set_new(result, "progress", json_pack("{s:i, s:i}", "cnt", cnt, "of", of));
    json_t *lines = json_array();
    for (size_t i = 0; details && details[i]; i++)
        json_array_append_new(lines, json_string(details[i]));
    json_t *root = json_pack("{s:s, s:s, s:{s:s, s:o, s:o}}", "id", action_id, "time", stamp,
                             "status", "execution", execution, "result", result, "details", lines);
    char *out = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return out;
}

char *otter_ddi_config_data_new(const char *const *keys, const char *const *values, size_t n)
{
    json_t *data = json_object();
    for (size_t i = 0; data && i < n; i++)
        json_object_set_new(data, keys[i], json_string(values[i]));
    json_t *root = json_pack("{s:s, s:o}", "mode", "merge", "data", data);
    char *out = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return out;
}
