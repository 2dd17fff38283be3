/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact delivery through an nginx/CDN origin with expiring signed links
 * (issue #15 "Delivery at scale", docs/operations.md "CDN delivery").
 *
 * With [cdn] base_url and secret_file set, the DDI deployment answer's
 * download links are
 *     <base_url>/<sha256>?md5=<sig>&expires=<unix seconds>
 * where sig is what nginx's secure_link module checks with
 *     secure_link $arg_md5,$arg_expires;
 *     secure_link_md5 "$secure_link_expires$uri <secret>";
 * i.e. base64url (no padding) of MD5(expires || path || " " || secret),
 * path being the link's path (base_url's path and "/<sha256>"). The origin
 * fills its cache from any server's route /cdn/v1/artifacts/<sha256>,
 * which checks the same link itself (the origin passes md5 and expires on),
 * so the server is no open file server either. The device's own checks
 * (signatures, SHA-256s) do not change: a link only limits who may fetch
 * and until when.
 */
#ifndef OTTER_CDN_H
#define OTTER_CDN_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"
#include "otter_http.h"
#include "otter_server_config.h"
#include "otter_store.h"

/* The server's own route the origin pulls from: /cdn/v1/artifacts/<sha256>. */
#define OTTER_CDN_ROUTE "/cdn/v1/artifacts/"
/* base64url of an MD5 without padding, and its NUL. */
#define OTTER_CDN_SIG_LEN 22
/* A secret: 16..256 characters of [A-Za-z0-9+/=._~-] (nginx would expand a '$'). */
#define OTTER_CDN_SECRET_MIN 16
#define OTTER_CDN_SECRET_MAX 256

typedef struct otter_cdn otter_cdn;

/*
 * The link signer of cfg's [cdn] over store (both borrowed, must outlive
 * it): reads and checks the secret file. *out = NULL (and 0) when [cdn] is
 * not configured. Errors name the file: OTTER_EIO, OTTER_EFORMAT.
 */
int otter_cdn_new(const otter_server_config *cfg, otter_store *store, otter_cdn **out,
                  otter_err *err);
void otter_cdn_free(otter_cdn *cdn);

/*
 * sig (OTTER_CDN_SIG_LEN + 1 bytes) = base64url(MD5(expires || path || " " ||
 * secret)) without padding, as nginx's secure_link_md5 above computes it.
 */
int otter_cdn_sign(const char *secret, const char *path, int64_t expires,
                   char sig[OTTER_CDN_SIG_LEN + 1], otter_err *err);

/*
 * The signed link of artifact sha256 into buf, valid until now + [cdn]
 * link_ttl. OTTER_EUSAGE when it does not fit or sha256 is not one.
 */
int otter_cdn_link(const otter_cdn *cdn, const char *sha256, int64_t now, char *buf, size_t cap,
                   otter_err *err);

/*
 * Checks a link's md5 and expires arguments (either may be NULL) for
 * artifact sha256 at now: 0 when valid, 403 when missing or not signed by
 * our secret (compared in constant time), 410 when signed but expired
 * (nginx's answers for "" and "0").
 */
int otter_cdn_check(const otter_cdn *cdn, const char *sha256, const char *md5, const char *expires,
                    int64_t now);

/* True when path is under OTTER_CDN_ROUTE. */
int otter_cdn_match(const char *path);

/*
 * GET/HEAD OTTER_CDN_ROUTE<sha256>?md5=..&expires=..: the whole artifact
 * (an HTTP cache in front answers ranges), immutable for caches, after
 * otter_cdn_check(); filled from the database first when [storage]
 * database is on (otter_blob.h). ctx is the otter_cdn, or NULL: 404.
 */
void otter_cdn_handle(void *ctx, const otter_http_request *req, otter_http_response *resp);

#endif
