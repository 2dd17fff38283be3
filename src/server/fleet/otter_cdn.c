/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_cdn.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otter_artifact.h"
#include "otter_blob.h"
#include "otter_digest.h"
#include "otter_encode.h"
#include "otter_file.h"
#include "otter_fmt.h"
#include "otter_window.h"

struct otter_cdn {
    const otter_server_config *cfg;
    otter_store *store;
    char secret[OTTER_CDN_SECRET_MAX + 1];
    const char *path; /* base_url's path ("" or "/prefix"), borrowed from cfg */
};

/* The secret: one line (a final newline is dropped), checked as OTTER_CDN_SECRET_MIN says. */
static int load_secret(otter_cdn *cdn, const char *file, otter_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int ret = otter_file_read_all(file, OTTER_CDN_SECRET_MAX + 2, &text, &len, err);
    if (ret < 0)
        return otter_err_prefix(err, "[cdn] secret_file");
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    ret = len < OTTER_CDN_SECRET_MIN || len > OTTER_CDN_SECRET_MAX ? -1 : 0;
    for (size_t i = 0; i < len && ret == 0; i++)
        if (!isalnum((unsigned char)text[i]) && !strchr("+/=._~-", text[i]))
            ret = -1;
    if (ret == 0) {
        memcpy(cdn->secret, text, len);
        cdn->secret[len] = '\0';
    } else {
        ret = otter_err_set(err, OTTER_EFORMAT,
                            "[cdn] secret_file %s: use one line of %d..%d characters of "
                            "A-Z a-z 0-9 + / = . _ ~ - (e.g. openssl rand -base64 32)",
                            file, OTTER_CDN_SECRET_MIN, OTTER_CDN_SECRET_MAX);
    }
    if (text)
        memset(text, 0, len);
    free(text);
    return ret;
}

int otter_cdn_new(const otter_server_config *cfg, otter_store *store, otter_cdn **out,
                  otter_err *err)
{
    *out = NULL;
    if (!cfg->cdn_base_url)
        return 0;
    otter_cdn *cdn = calloc(1, sizeof *cdn);
    if (!cdn)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    cdn->cfg = cfg;
    cdn->store = store;
    /* base_url was checked as http(s)://host[:port][/path] without a trailing '/'. */
    const char *host = strstr(cfg->cdn_base_url, "://") + 3;
    const char *slash = strchr(host, '/');
    cdn->path = slash ? slash : "";
    int ret = load_secret(cdn, cfg->cdn_secret_file, err);
    if (ret < 0) {
        otter_cdn_free(cdn);
        return ret;
    }
    *out = cdn;
    return 0;
}

void otter_cdn_free(otter_cdn *cdn)
{
    if (!cdn)
        return;
    OPENSSL_cleanse(cdn->secret, sizeof cdn->secret);
    free(cdn);
}

int otter_cdn_sign(const char *secret, const char *path, int64_t expires,
                   char sig[OTTER_CDN_SIG_LEN + 1], otter_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    char stamp[24];
    int len = snprintf(stamp, sizeof stamp, "%lld", (long long)expires);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, stamp, (size_t)len) == 1 &&
             EVP_DigestUpdate(ctx, path, strlen(path)) == 1 && EVP_DigestUpdate(ctx, " ", 1) == 1 &&
             EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == 16;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return otter_err_set(err, OTTER_EIO, "MD5 is not available (OpenSSL)");
    char *b64 = otter_base64_encode_new(md, n);
    if (!b64)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    /* base64url without padding: what nginx's ngx_decode_base64url reads. */
    size_t k = 0;
    for (const char *p = b64; *p && *p != '=' && k < OTTER_CDN_SIG_LEN; p++)
        sig[k++] = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    sig[k] = '\0';
    free(b64);
    return 0;
}

int otter_cdn_link(const otter_cdn *cdn, const char *sha256, int64_t now, char *buf, size_t cap,
                   otter_err *err)
{
    char path[OTTER_SERVER_PUBLIC_URL_MAX + 80], sig[OTTER_CDN_SIG_LEN + 1];
    if (!otter_is_lower_hex(sha256, OTTER_SHA256_HEX_LEN))
        return otter_err_set(err, OTTER_EUSAGE, "not a SHA-256: '%.70s'", sha256);
    int64_t expires = now + (int64_t)cdn->cfg->cdn_link_ttl;
    int ret = otter_fmt(path, sizeof path, err, "link path", "%s/%s", cdn->path, sha256);
    if (ret == 0)
        ret = otter_cdn_sign(cdn->secret, path, expires, sig, err);
    if (ret == 0)
        ret = otter_fmt(buf, cap, err, "link", "%s/%s?md5=%s&expires=%lld", cdn->cfg->cdn_base_url,
                        sha256, sig, (long long)expires);
    return ret;
}

int otter_cdn_check(const otter_cdn *cdn, const char *sha256, const char *md5, const char *expires,
                    int64_t now)
{
    otter_err err;
    char path[OTTER_SERVER_PUBLIC_URL_MAX + 80], sig[OTTER_CDN_SIG_LEN + 1];
    if (!md5 || !expires || strlen(md5) != OTTER_CDN_SIG_LEN || !expires[0] ||
        strlen(expires) > 18 || strspn(expires, "0123456789") != strlen(expires))
        return 403;
    int64_t t = (int64_t)strtoll(expires, NULL, 10);
    if (otter_fmt(path, sizeof path, &err, "link path", "%s/%s", cdn->path, sha256) < 0 ||
        otter_cdn_sign(cdn->secret, path, t, sig, &err) < 0 ||
        CRYPTO_memcmp(sig, md5, OTTER_CDN_SIG_LEN) != 0)
        return 403;
    return t < now ? 410 : 0;
}

int otter_cdn_match(const char *path)
{
    return strncmp(path, OTTER_CDN_ROUTE, strlen(OTTER_CDN_ROUTE)) == 0;
}

/* A short text answer (no artifact bytes). */
static void answer(otter_http_response *resp, int status, const char *text)
{
    resp->status = status;
    resp->content_type = "text/plain";
    if ((resp->body = strdup(text)))
        resp->body_len = strlen(text);
}

/* The artifact's local file, filled from the database first when it is kept there. */
static int open_artifact(const otter_cdn *cdn, const char *sha256, otter_err *err)
{
    char path[4200];
    int ret = 0;
    if (cdn->cfg->storage_database)
        ret = otter_blob_local(cdn->store, cdn->cfg->artifacts_dir, sha256, err);
    if (ret == 0)
        ret = otter_artifact_path(cdn->cfg->artifacts_dir, sha256, path, sizeof path, err);
    if (ret < 0)
        return ret;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return otter_err_sys(err, OTTER_ESTATE, errno, "opening %s", path);
    return fd;
}

void otter_cdn_handle(void *ctx, const otter_http_request *req, otter_http_response *resp)
{
    otter_cdn *cdn = ctx;
    otter_err err;
    struct stat st;
    const char *sha256 = req->path + strlen(OTTER_CDN_ROUTE);
    if (!cdn || !otter_is_lower_hex(sha256, OTTER_SHA256_HEX_LEN)) {
        answer(resp, 404, "no such artifact\n");
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        answer(resp, 405, "GET or HEAD\n");
        return;
    }
    int status = otter_cdn_check(cdn, sha256, otter_http_query(req, "md5"),
                                 otter_http_query(req, "expires"), otter_window_now());
    if (status) {
        answer(resp, status, status == 410 ? "link expired\n" : "link not valid\n");
        return;
    }
    int fd = open_artifact(cdn, sha256, &err);
    if (fd < 0 || fstat(fd, &st) < 0) {
        fprintf(stderr, "otter-server: cdn origin: %s\n", fd < 0 ? err.msg : "fstat failed");
        if (fd >= 0)
            close(fd);
        {
            answer(resp, fd < 0 && err.code == OTTER_ESTATE ? 404 : 500,
                   "artifact not available\n");
            return;
        }
    }
    char etag[80];
    snprintf(etag, sizeof etag, "\"%s\"", sha256);
    otter_http_add_header(resp, "ETag", etag);
    /* Content-addressed: the bytes under this name never change. */
    resp->cache_control = "public, max-age=31536000, immutable";
    resp->content_type = "application/octet-stream";
    resp->fd_set = 1;
    resp->fd = fd;
    resp->fd_offset = 0;
    resp->fd_len = (uint64_t)st.st_size;
    resp->status = 200;
}
