/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_ddi_http.h"
#include "otter_tls_client.h"
#include "otter_origin.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink {
    char *buf;
    size_t len;
    int too_big;
} sink;

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
    sink *s = ctx;
    size_t len = size * n;
    if (s->len + len > OTTER_DDI_MAX_BODY) {
        s->too_big = 1;
        return 0;
    }
    char *b = realloc(s->buf, s->len + len + 1);
    if (!b)
        return 0;
    memcpy(b + s->len, data, len);
    s->buf = b;
    s->len += len;
    s->buf[s->len] = '\0';
    return len;
}

int otter_ddi_base_url(const otter_ddi_conn *c, char *out, size_t size, otter_err *err)
{
    if (!c->url || !c->url[0] || !c->tenant || !c->tenant[0] || !c->controller || !c->controller[0])
        return otter_err_set(err, OTTER_EUSAGE,
                             "no server configured ([server] url, tenant and controller_id)");
    if ((size_t)snprintf(out, size, "%s/%s/controller/v1/%s", c->url, c->tenant, c->controller) >=
        size)
        return otter_err_set(err, OTTER_EUSAGE, "server URL too long");
    return 0;
}

int otter_ddi_auth_header(const otter_ddi_conn *c, char *out, size_t size, otter_err *err)
{
    int gateway = c->gateway_token && c->gateway_token[0];
    const char *tok = gateway ? c->gateway_token : c->token;
    int n = 0;
    if (!tok || !tok[0])
        n = snprintf(out, size, "%s", "");
    else
        n = snprintf(out, size, "Authorization: %s %s", gateway ? "GatewayToken" : "TargetToken",
                     tok);
    if (n < 0 || (size_t)n >= size)
        return otter_err_set(err, OTTER_EUSAGE, "[server] token too long");
    return 0;
}

/* One request; json NULL: GET. Fills s with the reply and *status. */
static int perform(const otter_ddi_conn *c, const char *method, const char *url, const char *json,
                   sink *s, long *status, otter_err *err)
{
    static int global_done;
    /*
     * The token goes to the server's own origin only, never over plain
     * HTTP when a pin or CA is set: a link in an answer (a server behind a
     * TLS proxy writes http://, a hostile one anything) cannot take it
     * elsewhere. Artifact origins are the daemon's business: no token.
     */
    int kind = 0;
    *status = 0;
    int refused = otter_origin_check_conf(c->url, c->pin, c->ca_file, NULL, err);
    if (!refused)
        refused = otter_origin_check_link(c->url, NULL, url, &kind, err);
    if (refused)
        return refused;
    if (!global_done && curl_global_init(CURL_GLOBAL_DEFAULT) == 0)
        global_done = 1;
    CURL *e = curl_easy_init();
    if (!e)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    char auth[OTTER_DDI_MAX_AUTH], error[CURL_ERROR_SIZE] = "";
    if (otter_ddi_auth_header(c, auth, sizeof auth, err) != 0) {
        curl_easy_cleanup(e);
        return err->code;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (auth[0])
        h = curl_slist_append(h, auth);
    if (json) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, c->timeout > 0 ? c->timeout : 30L);
    if (c->ca_file && c->ca_file[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (c->pin && c->pin[0])
        curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, c->pin);
    if (c->proxy && c->proxy[0])
        curl_easy_setopt(e, CURLOPT_PROXY, c->proxy);
    otter_tls_client tls = {.cert = c->cert, .key = c->key, .tcti = c->tcti};
    otter_tls_client_apply(e, &tls);
    CURLcode rc = curl_easy_perform(e);
    *status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    int ret = 0;
    if (s->too_big)
        ret = otter_err_set(err, OTTER_EFORMAT, "%s: reply larger than %d bytes", url,
                            OTTER_DDI_MAX_BODY);
    else if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH || rc == CURLE_PEER_FAILED_VERIFICATION)
        ret = otter_err_set(err, OTTER_ESIG, "%s: TLS verification failed: %s", url,
                            error[0] ? error : curl_easy_strerror(rc));
    else if (rc != CURLE_OK)
        ret =
            otter_err_set(err, OTTER_EIO, "%s: %s", url, error[0] ? error : curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return ret;
}

int otter_ddi_get(const otter_ddi_conn *c, const char *url, char **body, size_t *len,
                  otter_err *err)
{
    sink s = {0};
    long status = 0;
    int ret = perform(c, "GET", url, NULL, &s, &status, err);
    if (!ret && status != 200)
        ret = otter_err_set(err, OTTER_EIO, "%s: HTTP %ld", url, status);
    if (ret == 0) {
        *body = s.buf ? s.buf : strdup("");
        *len = s.len;
        s.buf = NULL;
    }
    free(s.buf);
    return ret;
}

int otter_ddi_send(const otter_ddi_conn *c, const char *method, const char *url, const char *json,
                   long *status, otter_err *err)
{
    sink s = {0};
    int ret = perform(c, method, url, json, &s, status, err);
    free(s.buf);
    return ret;
}
