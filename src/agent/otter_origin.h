/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Origins (scheme, host, port) of the URLs the device is handed, and the
 * rule for following a link from a DDI answer: the token goes only to the
 * origin of [server] url; a link to an origin listed in [server]
 * artifact_origins (a CDN) is fetched without it (and without the server's
 * pin, CA and client certificate); any other link is refused, and so is
 * an http:// link when the server is reached over https (a downgrade).
 *
 * The parser is strict on purpose: the authority may hold only a host
 * (letters, digits, '.', '-', or a bracketed IPv6 address) and a port, so
 * no user-info, percent-escape or backslash can make this parser and
 * libcurl see two different hosts. Hosts are lowercased and the default
 * port is written out ("https://Cdn.Example" is "https://cdn.example:443").
 * No I/O, no libcurl: otter-agent (which does not link libcurl) checks its
 * configuration with it too.
 */
#ifndef OTTER_ORIGIN_H
#define OTTER_ORIGIN_H

#include <stddef.h>

#include "otter_err.h"

/* "https://" + a 255-byte host + ":65535" fits. */
#define OTTER_ORIGIN_MAX 280
/* Entries of [server] artifact_origins. */
#define OTTER_ORIGIN_LIST_MAX 8

/*
 * The normalised origin of url (http or https, any path after it) into
 * out; *https set to 1 for https. OTTER_EFORMAT when url is not a plain
 * http(s) URL by the rule above.
 */
int otter_origin_of(const char *url, char out[OTTER_ORIGIN_MAX], int *https, otter_err *err);

/*
 * Checks the [server] settings: url an http(s) URL; with a pin or a CA
 * file url must be https (a pin or CA on plain HTTP protects nothing);
 * artifact_origins ("" or a list of bare origins separated by commas
 * and/or blanks) each well formed, none the server's own origin, and no
 * http:// one when url is https. OTTER_EFORMAT naming the key.
 */
int otter_origin_check_conf(const char *url, const char *pin, const char *ca,
                            const char *artifact_origins, otter_err *err);

enum otter_link_kind {
    OTTER_LINK_SERVER = 1,   /* the server's own origin: token, pin, CA, certificate */
    OTTER_LINK_ARTIFACT = 2, /* a listed artifact origin: none of them */
};

/*
 * Whether the device may follow link from a DDI answer of the server at
 * server_url; *kind says with what (enum otter_link_kind).
 * artifact_origins may be NULL or "" (none). OTTER_EFORMAT with the
 * reason when refused: not http(s), a downgrade to http, or an origin
 * that is neither the server's nor listed.
 */
int otter_origin_check_link(const char *server_url, const char *artifact_origins, const char *link,
                            int *kind, otter_err *err);

#endif
