/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_broker_req.h"

#include <stdio.h>
#include <string.h>

/* One word: printable ASCII without blanks. */
static int word_ok(const char *w, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (w[i] <= ' ' || w[i] > '~')
            return 0;
    return 1;
}

/* A plain file name in [ui] upload_dir: no '/', no leading '.', so never "..". */
static int upload_ok(const char *w, size_t n)
{
    if (n == 0 || n > OTTER_BROKER_MAX_UPLOAD || w[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z') ||
              (w[i] >= '0' && w[i] <= '9') || w[i] == '.' || w[i] == '_' || w[i] == '-'))
            return 0;
    return 1;
}

static int url_ok(const char *u, size_t n)
{
    return word_ok(u, n) && n < OTTER_DDI_MAX_URL &&
           ((n > 7 && strncmp(u, "http://", 7) == 0) || (n > 8 && strncmp(u, "https://", 8) == 0));
}

/* A decimal size, 1 .. UINT64_MAX, no sign, no leading zero. */
static int size_ok(const char *w, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20 || w[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] < '0' || w[i] > '9')
            return 0;
        unsigned d = (unsigned)(w[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* Splits buf at single spaces into at most max words; -1 for an empty word or too many. */
static int split(const char *buf, size_t len, const char **w, size_t *wl, int max)
{
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && buf[i] != ' ')
            continue;
        if (i == start || n == max)
            return -1;
        w[n] = buf + start;
        wl[n++] = i - start;
        start = i + 1;
    }
    return n;
}

static int is(const char *w, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(w, lit, n) == 0;
}

int otter_broker_req_parse(const char *buf, size_t len, otter_broker_req *req, otter_err *err)
{
    const char *w[3];
    size_t wl[3] = {0};
    memset(req, 0, sizeof *req);
    if (len == 0 || len > OTTER_BROKER_MAX_REQ)
        return otter_err_set(err, OTTER_EFORMAT, "broker request: empty or longer than %d bytes",
                             OTTER_BROKER_MAX_REQ);
    int n = split(buf, len, w, wl, 3);
    if (n < 0)
        return otter_err_set(err, OTTER_EFORMAT, "broker request: not one to three words");
    for (int i = 0; i < n; i++)
        if (!word_ok(w[i], wl[i]))
            return otter_err_set(err, OTTER_EFORMAT, "broker request: word %d is not printable",
                                 i + 1);
    if (n == 1 && is(w[0], wl[0], "stop"))
        req->op = OTTER_BROKER_STOP;
    else if (n == 1 && is(w[0], wl[0], "clear-spool"))
        req->op = OTTER_BROKER_CLEAR_SPOOL;
    else if (n == 1 && is(w[0], wl[0], "status"))
        req->op = OTTER_BROKER_STATUS;
    else if (n == 2 && is(w[0], wl[0], "reboot") && wl[1] <= OTTER_DDI_MAX_NAME) {
        req->op = OTTER_BROKER_REBOOT;
        memcpy(req->version, w[1], wl[1]);
    } else if (n == 2 && is(w[0], wl[0], "install") && is(w[1], wl[1], "spool")) {
        req->op = OTTER_BROKER_INSTALL;
        req->from_spool = 1;
    } else if (n == 3 && is(w[0], wl[0], "install") && is(w[1], wl[1], "upload") &&
               upload_ok(w[2], wl[2])) {
        req->op = OTTER_BROKER_INSTALL;
        memcpy(req->upload, w[2], wl[2]);
    } else if (n == 2 && is(w[0], wl[0], "drop-upload") && upload_ok(w[1], wl[1])) {
        req->op = OTTER_BROKER_DROP_UPLOAD;
        memcpy(req->upload, w[1], wl[1]);
    } else if (n == 2 && is(w[0], wl[0], "install") && url_ok(w[1], wl[1])) {
        req->op = OTTER_BROKER_INSTALL;
        memcpy(req->url, w[1], wl[1]);
    } else if (n == 3 && is(w[0], wl[0], "download") && size_ok(w[1], wl[1], &req->max_size) &&
               url_ok(w[2], wl[2])) {
        req->op = OTTER_BROKER_DOWNLOAD;
        memcpy(req->url, w[2], wl[2]);
    } else {
        memset(req, 0, sizeof *req);
        return otter_err_set(err, OTTER_EFORMAT,
                             "broker request refused: not install spool|URL|upload NAME, download "
                             "SIZE URL, drop-upload NAME, stop, clear-spool, reboot VERSION or "
                             "status");
    }
    return 0;
}

int otter_broker_req_format(const otter_broker_req *req, char *out, size_t size, otter_err *err)
{
    int n;
    switch (req->op) {
    case OTTER_BROKER_INSTALL:
        if (req->upload[0])
            n = snprintf(out, size, "install upload %s", req->upload);
        else
            n = snprintf(out, size, "install %s", req->from_spool ? "spool" : req->url);
        break;
    case OTTER_BROKER_DROP_UPLOAD:
        n = snprintf(out, size, "drop-upload %s", req->upload);
        break;
    case OTTER_BROKER_DOWNLOAD:
        n = snprintf(out, size, "download %llu %s", (unsigned long long)req->max_size, req->url);
        break;
    case OTTER_BROKER_STOP:
        n = snprintf(out, size, "stop");
        break;
    case OTTER_BROKER_CLEAR_SPOOL:
        n = snprintf(out, size, "clear-spool");
        break;
    case OTTER_BROKER_REBOOT:
        n = snprintf(out, size, "reboot %s", req->version[0] ? req->version : "-");
        break;
    case OTTER_BROKER_STATUS:
        n = snprintf(out, size, "status");
        break;
    default:
        return otter_err_set(err, OTTER_EUSAGE, "broker request: unknown operation %d", req->op);
    }
    otter_broker_req check;
    if (n < 0 || (size_t)n >= size || otter_broker_req_parse(out, (size_t)n, &check, err) != 0)
        return otter_err_set(err, OTTER_EUSAGE, "broker request: cannot be sent as \"%.60s\"", out);
    return 0;
}
