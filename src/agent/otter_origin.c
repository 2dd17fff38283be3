/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_origin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 255
#define LIST_SEP ", \t"

static int is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-';
}

static int is_v6_char(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
           c == '.';
}

/* Length of the host at a (within alen), 0 when malformed. */
static size_t host_len(const char *a, size_t alen)
{
    size_t n = 0;
    if (alen && a[0] == '[') {
        n = 1;
        while (n < alen && is_v6_char(a[n]))
            n++;
        return n > 2 && n < alen && a[n] == ']' ? n + 1 : 0;
    }
    while (n < alen && is_host_char(a[n]))
        n++;
    return n;
}

/* ":PORT" (1..65535) filling the rest of the authority, or nothing: the default. */
static long port_of(const char *p, size_t len, long def)
{
    if (len == 0)
        return def;
    if (p[0] != ':' || len < 2 || len > 6)
        return -1;
    long port = 0;
    for (size_t i = 1; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        port = port * 10 + (p[i] - '0');
    }
    return port >= 1 && port <= 65535 ? port : -1;
}

/* The origin of url; bare: nothing but an optional "/" may follow it (a config entry). */
static int parse(const char *url, int bare, char out[OTTER_ORIGIN_MAX], int *https, otter_err *err)
{
    size_t skip = 0;
    int tls = 0;
    if (strncasecmp(url, "https://", 8) == 0)
        skip = 8, tls = 1;
    else if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return otter_err_set(err, OTTER_EFORMAT, "'%.300s' is not an http:// or https:// URL", url);
    const char *a = url + skip;
    size_t alen = strcspn(a, "/?#");
    const char *rest = a + alen;
    if (bare && rest[0] && strcmp(rest, "/") != 0)
        return otter_err_set(err, OTTER_EFORMAT,
                             "'%.300s' is not a bare origin (scheme://host[:port], no path)", url);
    size_t hl = host_len(a, alen);
    long port = hl ? port_of(a + hl, alen - hl, tls ? 443 : 80) : -1;
    if (hl == 0 || hl > HOST_MAX || port < 0)
        return otter_err_set(err, OTTER_EFORMAT,
                             "'%.300s': the part after the scheme must be a host name, an IP "
                             "address or [IPv6], and an optional port 1..65535",
                             url);
    int n =
        snprintf(out, OTTER_ORIGIN_MAX, "%s://%.*s:%ld", tls ? "https" : "http", (int)hl, a, port);
    for (int i = 0; i < n; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] - 'A' + 'a');
    if (https)
        *https = tls;
    return 0;
}

int otter_origin_of(const char *url, char out[OTTER_ORIGIN_MAX], int *https, otter_err *err)
{
    return parse(url, 0, out, https, err);
}

/*
 * Calls fn for each entry of list (separated by commas and/or blanks) with
 * its normalised origin; stops at the first nonzero return. Entries are
 * bounded in count and length.
 */
static int each_entry(const char *list, int (*fn)(void *ctx, const char *origin, int https),
                      void *ctx, otter_err *err)
{
    size_t count = 0;
    for (const char *p = list ? list : ""; *p;) {
        p += strspn(p, LIST_SEP);
        size_t n = strcspn(p, LIST_SEP);
        if (!n)
            break;
        char entry[OTTER_ORIGIN_MAX], origin[OTTER_ORIGIN_MAX];
        int https = 0;
        if (n >= sizeof entry || ++count > OTTER_ORIGIN_LIST_MAX)
            return otter_err_set(
                err, OTTER_EFORMAT,
                "[server] artifact_origins: at most %d origins of at most %d bytes",
                OTTER_ORIGIN_LIST_MAX, OTTER_ORIGIN_MAX - 1);
        memcpy(entry, p, n);
        entry[n] = '\0';
        int ret = parse(entry, 1, origin, &https, err);
        if (ret)
            return ret;
        if ((ret = fn(ctx, origin, https)) != 0)
            return ret;
        p += n;
    }
    return 0;
}

struct conf_check {
    const char *server;
    int server_https;
    otter_err *err;
};

static int conf_entry(void *ctx, const char *origin, int https)
{
    struct conf_check *c = ctx;
    if (strcmp(origin, c->server) == 0)
        return otter_err_set(c->err, OTTER_EFORMAT,
                             "[server] artifact_origins: %s is the server's own origin (it gets "
                             "the token anyway): list only other origins",
                             origin);
    if (c->server_https && !https)
        return otter_err_set(c->err, OTTER_EFORMAT,
                             "[server] artifact_origins: %s is plain HTTP while the server is "
                             "reached over HTTPS: downloads are never downgraded",
                             origin);
    return 0;
}

int otter_origin_check_conf(const char *url, const char *pin, const char *ca,
                            const char *artifact_origins, otter_err *err)
{
    char server[OTTER_ORIGIN_MAX];
    int https = 0;
    int has_list = artifact_origins && artifact_origins[strspn(artifact_origins, LIST_SEP)];
    if (!url || !url[0])
        return has_list ? otter_err_set(err, OTTER_EFORMAT,
                                        "[server] artifact_origins is set without [server] url")
                        : 0;
    otter_err why;
    if (parse(url, 0, server, &https, &why) != 0)
        return otter_err_set(err, OTTER_EFORMAT, "[server] url: %s", why.msg);
    if (!https && ((pin && pin[0]) || (ca && ca[0])))
        return otter_err_set(err, OTTER_EFORMAT,
                             "[server] url is plain http:// but %s is set: the token would cross "
                             "the network in clear and the %s never be used; use https://",
                             pin && pin[0] ? "pin" : "ca", pin && pin[0] ? "pin" : "CA");
    struct conf_check c = {server, https, err};
    return each_entry(artifact_origins, conf_entry, &c, err);
}

struct link_check {
    const char *origin;
    int found;
};

static int link_entry(void *ctx, const char *origin, int https)
{
    (void)https;
    struct link_check *l = ctx;
    if (strcmp(origin, l->origin) == 0)
        l->found = 1;
    return 0;
}

int otter_origin_check_link(const char *server_url, const char *artifact_origins, const char *link,
                            int *kind, otter_err *err)
{
    char server[OTTER_ORIGIN_MAX], origin[OTTER_ORIGIN_MAX];
    int server_https = 0, https = 0;
    otter_err why;
    *kind = 0;
    if (parse(server_url ? server_url : "", 0, server, &server_https, &why) != 0)
        return otter_err_set(err, OTTER_EFORMAT, "[server] url: %s", why.msg);
    if (parse(link, 0, origin, &https, &why) != 0)
        return otter_err_set(err, OTTER_EFORMAT, "link refused: %s", why.msg);
    if (server_https && !https)
        return otter_err_set(err, OTTER_EFORMAT,
                             "link refused: %.300s is plain HTTP but the server is reached over "
                             "HTTPS (a downgrade; behind a TLS proxy set the server's public_url)",
                             link);
    if (strcmp(origin, server) == 0) {
        *kind = OTTER_LINK_SERVER;
        return 0;
    }
    struct link_check l = {origin, 0};
    int ret = each_entry(artifact_origins, link_entry, &l, err);
    if (ret)
        return ret;
    if (!l.found)
        return otter_err_set(err, OTTER_EFORMAT,
                             "link refused: %.300s is on %s, neither the server's origin (%s) nor "
                             "one of [server] artifact_origins",
                             link, origin, server);
    *kind = OTTER_LINK_ARTIFACT;
    return 0;
}
