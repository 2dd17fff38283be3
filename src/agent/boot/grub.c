/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "grub" boot back-end: GRUB's environment block (what grub-editenv
 * and GRUB's load_env/save_env use). A fixed-size file, 1024 bytes unless
 * it already is larger, starting with "# GRUB Environment Block\n", then
 * NAME=VALUE lines (backslash escapes '\' and newline inside values),
 * then '#' padding to the full size. The size never changes, because GRUB
 * writes the block in place and must find it where it was.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "otter_boot_backend.h"
#include "otter_file.h"

#define HEADER "# GRUB Environment Block\n"
#define HEADER_LEN (sizeof HEADER - 1)
#define DEFAULT_SIZE 1024

static int parse_var(const char *path, const char *buf, size_t len, size_t *pos,
                     otter_boot_env *env, otter_err *err)
{
    const char *start = buf + *pos;
    size_t rest = len - *pos;
    size_t n = 0;
    while (n < rest && start[n] != '=' && start[n] != '\n')
        n++;
    if (n == rest || start[n] != '=' || n == 0)
        return otter_err_set(err, OTTER_EFORMAT, "%s: offset %zu: expected NAME=VALUE", path, *pos);
    char value[OTTER_BOOT_MAX_VALUE + 1];
    size_t vlen = 0, i = n + 1;
    for (;;) {
        if (i == rest)
            return otter_err_set(err, OTTER_EFORMAT, "%s: offset %zu: unterminated value", path,
                                 *pos);
        char c = start[i++];
        if (c == '\n')
            break;
        if (c == '\\') {
            if (i == rest)
                return otter_err_set(err, OTTER_EFORMAT, "%s: offset %zu: unterminated value", path,
                                     *pos);
            c = start[i++];
        }
        if (vlen == OTTER_BOOT_MAX_VALUE)
            return otter_err_set(err, OTTER_EFORMAT, "%s: offset %zu: value too long (limit %d)",
                                 path, *pos, OTTER_BOOT_MAX_VALUE);
        value[vlen++] = c;
    }
    int ret = otter_boot_env_put(env, start, n, value, vlen, path, err);
    *pos += i;
    return ret;
}

static int parse(const char *path, const char *buf, size_t len, otter_boot_env *env, otter_err *err)
{
    if (len < DEFAULT_SIZE || memcmp(buf, HEADER, HEADER_LEN) != 0)
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s: not a GRUB environment block (%zu bytes; want the header and "
                             "at least %d bytes)",
                             path, len, DEFAULT_SIZE);
    if (memchr(buf, '\0', len))
        return otter_err_set(err, OTTER_EFORMAT, "%s: contains a NUL byte", path);
    size_t pos = HEADER_LEN;
    while (pos < len) {
        if (buf[pos] == '#') { /* padding or comment: to end of line or block */
            const char *nl = memchr(buf + pos, '\n', len - pos);
            pos = nl ? (size_t)(nl - buf) + 1 : len;
            continue;
        }
        if (buf[pos] == '\n') {
            pos++;
            continue;
        }
        int ret = parse_var(path, buf, len, &pos, env, err);
        if (ret)
            return ret;
    }
    return 0;
}

static int load(const char *path, otter_boot_env *env, otter_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    int ret = otter_file_read_all(path, OTTER_BOOT_MAX_FILE, &buf, &len, err);
    if (ret == 0)
        ret = parse(path, buf, len, env, err);
    free(buf);
    return ret;
}

static size_t escaped_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += (*s == '\\' || *s == '\n') ? 2 : 1;
    return n;
}

static int store(const char *path, const otter_boot_env *env, const otter_boot_var *changes,
                 size_t n, otter_err *err)
{
    struct stat st;
    size_t size = DEFAULT_SIZE;
    if (stat(path, &st) == 0 && st.st_size > DEFAULT_SIZE && st.st_size <= OTTER_BOOT_MAX_FILE)
        size = (size_t)st.st_size;
    size_t need = HEADER_LEN;
    for (size_t i = 0; i < env->n; i++)
        need += strlen(env->name[i]) + escaped_len(env->value[i]) + 2;
    if (need > size)
        return otter_err_set(err, OTTER_EFORMAT, "%s: variables need %zu bytes, the block has %zu",
                             path, need, size);
    char *buf = malloc(size);
    if (!buf)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    memcpy(buf, HEADER, HEADER_LEN);
    size_t pos = HEADER_LEN;
    for (size_t i = 0; i < env->n; i++) {
        size_t nl = strlen(env->name[i]);
        memcpy(buf + pos, env->name[i], nl);
        pos += nl;
        buf[pos++] = '=';
        for (const char *s = env->value[i]; *s; s++) {
            if (*s == '\\' || *s == '\n')
                buf[pos++] = '\\';
            buf[pos++] = *s;
        }
        buf[pos++] = '\n';
    }
    memset(buf + pos, '#', size - pos);
    int ret = otter_file_write_atomic(path, buf, size, 0644, err);
    free(buf);
    return ret;
}

const struct otter_boot_backend otter_boot_backend_grub = {"grub", load, store};
