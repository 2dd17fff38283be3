/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_web.h"

#include <string.h>

/* Generated from web/src by web/embed.cmake (see src/server/CMakeLists.txt). */
extern const otter_web_asset otter_web_assets[];
extern const size_t otter_web_assets_count;

/*
 * The dashboard loads only its own files and talks only to its own origin.
 * No 'unsafe-inline' anywhere: scripts are modules from /js, styles come
 * from /css, and the markup has no style or on* attributes. It may not be
 * framed (clickjacking on the user admin page) and sends no Referer.
 */
#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "                  \
    "form-action 'self'; frame-ancestors 'none'"

static const char *const security_headers[] = {
    "Content-Security-Policy",
    CSP,
    "X-Frame-Options",
    "DENY",
    "Referrer-Policy",
    "no-referrer",
    "Cross-Origin-Opener-Policy",
    "same-origin",
    "Cross-Origin-Resource-Policy",
    "same-origin",
    "Permissions-Policy",
    "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    NULL,
};

static const char *const allow_get_head[] = {
    "Allow", "GET, HEAD", "Content-Security-Policy", CSP, "X-Frame-Options", "DENY", NULL,
};

static const char not_found[] = "Not found\n";
static const char bad_method[] = "Only GET and HEAD are allowed here\n";

size_t otter_web_asset_count(void)
{
    return otter_web_assets_count;
}

const otter_web_asset *otter_web_asset_at(size_t i)
{
    return i < otter_web_assets_count ? &otter_web_assets[i] : NULL;
}

const otter_web_asset *otter_web_find(const char *path)
{
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    for (size_t i = 0; i < otter_web_assets_count; i++)
        if (strcmp(otter_web_assets[i].path, path) == 0)
            return &otter_web_assets[i];
    return NULL;
}

int otter_web_etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match || !etag)
        return 0;
    size_t elen = strlen(etag);
    for (const char *p = if_none_match; *p;) {
        p += strspn(p, " \t,");
        if (!*p)
            break;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m == 1 && p[0] == '*')
            return 1;
        /* If-None-Match uses the weak comparison: W/"x" matches "x". */
        const char *tag = p;
        if (m > 2 && p[0] == 'W' && p[1] == '/') {
            tag += 2;
            m -= 2;
        }
        if (m == elen && memcmp(tag, etag, elen) == 0)
            return 1;
        p += n;
    }
    return 0;
}

static void plain(otter_http_response *resp, int status, const char *text)
{
    resp->status = status;
    resp->static_body = (const unsigned char *)text;
    resp->body_len = strlen(text);
    resp->content_type = "text/plain; charset=utf-8";
    resp->static_headers = security_headers;
}

void otter_web_respond(const char *method, const char *path, const char *if_none_match,
                       otter_http_response *resp)
{
    int head = strcmp(method, "HEAD") == 0;
    if (!head && strcmp(method, "GET") != 0) {
        plain(resp, 405, bad_method);
        resp->static_headers = allow_get_head;
        return;
    }
    const otter_web_asset *a = otter_web_find(path);
    if (!a) {
        plain(resp, 404, not_found);
        return;
    }
    resp->static_headers = security_headers;
    resp->content_type = a->content_type;
    resp->etag = a->etag;
    /*
     * File names carry no content hash (no bundler), so browsers must ask
     * every time; the ETag makes that a 304 without a body.
     */
    resp->cache_control = "no-cache";
    if (otter_web_etag_matches(if_none_match, a->etag)) {
        resp->status = 304;
        return;
    }
    resp->status = 200;
    resp->static_body = a->data;
    resp->body_len = a->len;
}

void otter_web_handle(const otter_http_request *req, otter_http_response *resp)
{
    otter_web_respond(req->method, req->path, otter_http_header(req, "If-None-Match"), resp);
}
