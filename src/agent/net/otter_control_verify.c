/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_tls_client.h"
#include "otter_control_verify.h"
#include "otter_install.h"
#include "otter_origin.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define X509_V_ERR_CERT_HAS_EXPIRED 10 /* OpenSSL's number, as curl reports it */

const char *otter_control_verify_name(int curl_code, long os_errno, long verify_result,
                                      long http_status)
{
    switch (curl_code) {
    case CURLE_OK:
        return http_status == 200                         ? ""
               : http_status == 401 || http_status == 403 ? "device_refused"
                                                          : "http";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "dns";
    case CURLE_COULDNT_CONNECT:
        return os_errno == ENETUNREACH || os_errno == EHOSTUNREACH ? "no_route" : "refused";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return "pin";
    case CURLE_PEER_FAILED_VERIFICATION:
        return verify_result == X509_V_ERR_CERT_HAS_EXPIRED ? "cert_expired" : "tls_untrusted";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return "tls";
    default:
        return "http";
    }
}

static const char *sentence(const char *f)
{
    return !strcmp(f, "dns")             ? "the server's name does not resolve (DNS)"
           : !strcmp(f, "refused")       ? "the server refused the connection (nothing listens)"
           : !strcmp(f, "no_route")      ? "no route to the server (network or host unreachable)"
           : !strcmp(f, "timeout")       ? "the server did not answer in time"
           : !strcmp(f, "pin")           ? "the server's key does not match the pin ([server] pin)"
           : !strcmp(f, "cert_expired")  ? "the server's certificate has expired"
           : !strcmp(f, "tls_untrusted") ? "the server's certificate is not trusted ([server] ca)"
           : !strcmp(f, "tls")           ? "the TLS handshake failed"
           : !strcmp(f, "device_refused")
               ? "the server refused this device (its token or certificate)"
               : "the server answered with an error";
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p, (void)u;
    return s * n;
}

static CURL *prepare(const otter_ddi_conn *c, const char *url, struct curl_slist **h, char *error,
                     otter_err *err)
{
    char auth[OTTER_DDI_MAX_AUTH];
    if (otter_ddi_auth_header(c, auth, sizeof auth, err) != 0)
        return NULL;
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    *h = curl_slist_append(NULL, "Accept: application/json");
    if (auth[0])
        *h = curl_slist_append(*h, auth);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, c->timeout > 0 ? c->timeout : 15L);
    if (c->ca_file && c->ca_file[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (c->pin && c->pin[0])
        curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, c->pin);
    if (c->proxy && c->proxy[0])
        curl_easy_setopt(e, CURLOPT_PROXY, c->proxy);
    /* The same client identity as every DDI request: a TPM-held key too, not only a file. */
    otter_tls_client tls = {.cert = c->cert, .key = c->key, .tcti = c->tcti};
    otter_tls_client_apply(e, &tls);
    return e;
}

void otter_control_verify(const otter_agent_conf *conf, const otter_ddi_conn *c, char *failure,
                          size_t failure_len, char *message, size_t message_len)
{
    otter_err err = {0};
    char url[OTTER_DDI_MAX_URL], error[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = NULL;
    if (!strcmp(conf->pre_metered, "forbid") && conf->pre_metered_command[0] &&
        otter_install_run_command(conf->pre_metered_command, 10, -1, NULL) == 0) {
        snprintf(failure, failure_len, "metered");
        snprintf(message, message_len,
                 "the link is metered and this device may not download "
                 "over it ([preconditions] metered = forbid)");
        return;
    }
    if (otter_origin_check_conf(c->url, c->pin, c->ca_file, NULL, &err) != 0 ||
        otter_ddi_base_url(c, url, sizeof url, &err) != 0) {
        snprintf(failure, failure_len, "config");
        snprintf(message, message_len, "%s", err.msg);
        return;
    }
    CURL *e = prepare(c, url, &h, error, &err);
    if (!e) {
        snprintf(failure, failure_len, "config");
        snprintf(message, message_len, "%s", err.msg[0] ? err.msg : "out of memory");
        curl_slist_free_all(h);
        return;
    }
    CURLcode rc = curl_easy_perform(e);
    long status = 0, os_errno = 0, verify = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(e, CURLINFO_SSL_VERIFYRESULT, &verify);
    const char *f = otter_control_verify_name(rc, os_errno, verify, status);
    snprintf(failure, failure_len, "%s", f);
    if (!f[0])
        snprintf(message, message_len, "the server answered (%s)", c->url);
    else if (rc == CURLE_OK)
        snprintf(message, message_len, "%s: HTTP %ld from %s", sentence(f), status, c->url);
    else
        snprintf(message, message_len, "%s: %s", sentence(f),
                 error[0] ? error : curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
}
