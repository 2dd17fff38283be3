/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_p11_uri.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

int otter_p11_uri_is(const char *s)
{
    return strncasecmp(s, OTTER_P11_URI_SCHEME, strlen(OTTER_P11_URI_SCHEME)) == 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decodes the n bytes at v (percent-escapes) into out, which holds cap bytes;
 * *out_len gets the count. Text gets a NUL after it, and a NUL inside is refused.
 */
static int decode(const char *name, const char *v, size_t n, unsigned char *out, size_t cap,
                  int text, size_t *out_len, otter_err *err)
{
    size_t len = 0, room = text ? cap - 1 : cap;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_digit(v[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(v[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return otter_err_set(err, OTTER_EUSAGE, "PKCS#11 URI: %s: bad %%-escape", name);
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (text && c == '\0')
            return otter_err_set(err, OTTER_EUSAGE, "PKCS#11 URI: %s: NUL byte", name);
        if (len == room)
            return otter_err_set(err, OTTER_EUSAGE, "PKCS#11 URI: %s: longer than %zu bytes", name,
                                 room);
        out[len++] = c;
    }
    if (text)
        out[len] = '\0';
    *out_len = len;
    return 0;
}

/* The text attributes, by name. */
static char *text_field(otter_p11_uri *u, const char *name, size_t n)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"token", offsetof(otter_p11_uri, token)},
        {"manufacturer", offsetof(otter_p11_uri, manufacturer)},
        {"serial", offsetof(otter_p11_uri, serial)},
        {"model", offsetof(otter_p11_uri, model)},
        {"object", offsetof(otter_p11_uri, object)},
        {"type", offsetof(otter_p11_uri, type)},
        {"module-path", offsetof(otter_p11_uri, module_path)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strlen(fields[i].name) == n && strncmp(fields[i].name, name, n) == 0)
            return (char *)u + fields[i].off;
    return NULL;
}

/* One NAME=VALUE of n bytes; query says which part of the URI it came from. */
static int attribute(otter_p11_uri *u, const char *a, size_t n, int query, unsigned *seen_id,
                     otter_err *err)
{
    const char *eq = memchr(a, '=', n);
    if (!eq || eq == a)
        return otter_err_set(err, OTTER_EUSAGE, "PKCS#11 URI: \"%.*s\" is not NAME=VALUE",
                             (int)(n > 64 ? 64 : n), a);
    size_t nl = (size_t)(eq - a), vl = n - nl - 1;
    char name[32];
    if (nl >= sizeof name)
        return otter_err_set(err, OTTER_EUSAGE, "PKCS#11 URI: unknown attribute \"%.31s...\"", a);
    memcpy(name, a, nl);
    name[nl] = '\0';
    if (strcmp(name, "pin-value") == 0 || strcmp(name, "pin-source") == 0)
        return otter_err_set(err, OTTER_EUSAGE,
                             "PKCS#11 URI: %s refused: a PIN never goes on the command line "
                             "(give --pin-file, or type it at the prompt)",
                             name);
    if (strcmp(name, "id") == 0 && !query) {
        if ((*seen_id)++)
            return otter_err_set(err, OTTER_EUSAGE, "PKCS#11 URI: id given twice");
        int ret = decode(name, eq + 1, vl, u->id, sizeof u->id, 0, &u->id_len, err);
        if (!ret && u->id_len == 0)
            return otter_err_set(err, OTTER_EUSAGE, "PKCS#11 URI: empty id");
        return ret;
    }
    char *field = text_field(u, name, nl);
    if (!field || query != (strcmp(name, "module-path") == 0))
        return otter_err_set(err, OTTER_EUSAGE, "PKCS#11 URI: unsupported attribute \"%s\"%s", name,
                             strcmp(name, "module-name") == 0 ? " (give module-path)" : "");
    if (field[0])
        return otter_err_set(err, OTTER_EUSAGE, "PKCS#11 URI: %s given twice", name);
    size_t len = 0;
    int ret = decode(name, eq + 1, vl, (unsigned char *)field, OTTER_P11_ATTR_MAX, 1, &len, err);
    if (!ret && len == 0)
        return otter_err_set(err, OTTER_EUSAGE, "PKCS#11 URI: empty %s", name);
    return ret;
}

/* Splits s[0..n) at sep and feeds each non-empty part to attribute(). */
static int attributes(otter_p11_uri *u, const char *s, size_t n, char sep, int query,
                      unsigned *seen_id, otter_err *err)
{
    while (n > 0) {
        const char *end = memchr(s, sep, n);
        size_t part = end ? (size_t)(end - s) : n;
        if (part > 0) {
            int ret = attribute(u, s, part, query, seen_id, err);
            if (ret)
                return ret;
        }
        s += part + (end ? 1 : 0);
        n -= part + (end ? 1 : 0);
    }
    return 0;
}

int otter_p11_uri_parse(const char *s, otter_p11_uri *out, otter_err *err)
{
    memset(out, 0, sizeof *out);
    if (!otter_p11_uri_is(s))
        return otter_err_set(err, OTTER_EUSAGE, "not a PKCS#11 URI (pkcs11:...)");
    s += strlen(OTTER_P11_URI_SCHEME);
    const char *q = strchr(s, '?');
    size_t path_len = q ? (size_t)(q - s) : strlen(s);
    unsigned seen_id = 0;
    int ret = attributes(out, s, path_len, ';', 0, &seen_id, err);
    if (!ret && q)
        ret = attributes(out, q + 1, strlen(q + 1), '&', 1, &seen_id, err);
    if (ret)
        return ret;
    if (out->type[0] && strcmp(out->type, "private") != 0)
        return otter_err_set(err, OTTER_EUSAGE,
                             "PKCS#11 URI: type=%s is not a private key (type=private)", out->type);
    if (!out->object[0] && out->id_len == 0)
        return otter_err_set(err, OTTER_EUSAGE, "PKCS#11 URI: give object=LABEL or id=%%XX...");
    return 0;
}
