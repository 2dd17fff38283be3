/* SPDX-License-Identifier: Apache-2.0 */
/* The front's side of the control socket: one connection per request, so a
 * slow page never holds a client slot of the daemon (at most 16). */
#include "otter_ui.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* The state object with 8 languages of 8 KiB notes fits well below this. */
#define ANSWER_MAX (512 * 1024)

static int connect_to(const char *path, otter_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return otter_err_set(err, OTTER_EFORMAT, "[control] socket: path too long");
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return otter_err_sys(err, OTTER_EIO, errno, "control socket");
    /* The daemon answers at once (docs/device-ui.md): a stuck one must not stick the page. */
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        return otter_err_sys(err, OTTER_EIO, e, "control socket %s", path);
    }
    return fd;
}

static int read_line(int fd, char **out, otter_err *err)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    for (;;) {
        if (len + 1 == cap) {
            char *n = cap * 2 <= ANSWER_MAX ? realloc(buf, cap * 2) : NULL;
            if (!n) {
                free(buf);
                return otter_err_set(err, OTTER_EIO, "control socket: answer too long");
            }
            buf = n;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            free(buf);
            return e ? otter_err_sys(err, OTTER_EIO, e, "control socket: read")
                     : otter_err_set(err, OTTER_EIO, "control socket: closed by the daemon");
        }
        char *nl = memchr(buf + len, '\n', (size_t)r);
        len += (size_t)r;
        if (nl) {
            *nl = '\0';
            *out = buf;
            return 0;
        }
    }
}

int otter_ui_control_call(const char *path, const char *method, const char *params,
                          char **answer_out, otter_err *err)
{
    char req[512];
    int n = params ? snprintf(req, sizeof req, "{\"id\":1,\"method\":\"%s\",\"params\":%s}\n",
                              method, params)
                   : snprintf(req, sizeof req, "{\"id\":1,\"method\":\"%s\"}\n", method);
    if (n < 0 || (size_t)n >= sizeof req)
        return otter_err_set(err, OTTER_EFORMAT, "control request too long");
    int fd = connect_to(path, err);
    if (fd < 0)
        return fd;
    int ret = 0;
    for (size_t off = 0; off < (size_t)n && !ret;) {
        ssize_t w = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w < 0)
            ret = otter_err_sys(err, OTTER_EIO, errno, "control socket: write");
        else
            off += (size_t)w;
    }
    if (!ret)
        ret = read_line(fd, answer_out, err);
    close(fd);
    return ret;
}

int otter_ui_hash_password(otter_err *err)
{
    char line[1024];
    if (!fgets(line, sizeof line, stdin))
        return otter_err_set(err, OTTER_EFORMAT, "no password on standard input");
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0])
        return otter_err_set(err, OTTER_EFORMAT, "empty password");
    int ret = 0;
    char *salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!salt || !cd)
        ret = otter_err_sys(err, OTTER_EIO, errno, "crypt_gensalt_ra(yescrypt)");
    else if (!crypt_rn(line, salt, cd, sizeof *cd) || cd->output[0] == '*')
        ret = otter_err_set(err, OTTER_EIO, "yescrypt hashing failed");
    else
        printf("%s\n", cd->output);
    explicit_bzero(line, sizeof line);
    free(salt);
    free(cd);
    return ret;
}
