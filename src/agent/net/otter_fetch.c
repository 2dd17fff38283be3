/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_fetch.h"
#include "otter_tls_client.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define VALIDATOR_MAX 256
#define BACKOFF_MAX_MS 5000

struct otter_fetch {
    CURLM *multi;
    CURL *easy;
    struct curl_slist *headers;
    otter_fetch_opts o;
    char *url, *ca_file, *pin, *cert, *key, *auth, *proxy, *tcti;
    otter_tls_client tls; /* points into cert, key, tcti */
    char curl_error[CURL_ERROR_SIZE];
    long refused; /* s10-cdn: the HTTP 4xx that ended the download, else 0 */

    uint8_t *buf;
    size_t start, len; /* unread bytes are buf[start .. start+len) */
    uint64_t offset;   /* body bytes handed to the reader */
    uint64_t skip;     /* bytes to drop at the start of this response (Range ignored) */
    int attached, finished, paused, failed;
    unsigned resumes;      /* reconnects in all */
    unsigned failures;     /* reconnects in a row without a new byte: what max_retries bounds */
    uint64_t attempt_from; /* body bytes we had when this attempt started */
    long backoff_ms;
    int64_t total;
    /* The first response's validator (ETag, else Last-Modified) for If-Range,
     * and this response's, to notice content that changed between attempts. */
    char validator[VALIDATOR_MAX], current_validator[VALIDATOR_MAX];
    /* This response's Content-Range: first byte and complete length, -1 when absent. */
    int64_t range_first, range_total;
    int range_bad; /* a Content-Range header that does not parse */
    int response_seen;
    int first_seen;            /* the first response was judged (validator, total) */
    struct timespec last_byte; /* when this attempt last received body bytes */
    otter_err fail;
};

static double seconds_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static int fail(otter_fetch *h, otter_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(otter_fetch *h, otter_err *err, int code, const char *fmt, ...)
{
    char msg[OTTER_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    otter_err_set(&h->fail, code, "%s: %s", h->url, msg);
    h->failed = 1;
    if (err)
        *err = h->fail;
    return code;
}

static char *dup_opt(const char *s, int *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

/* Decimal digits at *p (at most 18: no overflow); -1 when there are none. */
static int64_t digits(const char **p, const char *end)
{
    int64_t v = 0;
    int n = 0;
    while (*p < end && **p >= '0' && **p <= '9' && n < 18) {
        v = v * 10 + (**p - '0');
        (*p)++, n++;
    }
    return n ? v : -1;
}

/* "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"): the only shape a resume can use. */
static void parse_content_range(otter_fetch *h, const char *v, size_t len)
{
    const char *end = v + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    h->range_bad = 1;
    if (end - v < 6 || strncasecmp(v, "bytes ", 6) != 0)
        return;
    v += 6;
    int64_t first = digits(&v, end), last = -1, total = -1;
    if (first < 0 || v >= end || *v++ != '-' || (last = digits(&v, end)) < first || v >= end ||
        *v++ != '/')
        return;
    if (v < end && *v == '*')
        v++;
    else if ((total = digits(&v, end)) <= last)
        return;
    if (v != end)
        return;
    h->range_first = first;
    h->range_total = total;
    h->range_bad = 0;
}

static size_t on_header(char *line, size_t size, size_t n, void *ctx)
{
    otter_fetch *h = ctx;
    size_t len = size * n;
    /* A new status line starts a new response (after a redirect too). */
    if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
        h->current_validator[0] = '\0';
        h->range_first = h->range_total = -1;
        h->range_bad = 0;
        return len;
    }
    if (len > 14 && strncasecmp(line, "Content-Range:", 14) == 0) {
        parse_content_range(h, line + 14, len - 14);
        return len;
    }
    const char *names[] = {"ETag:", "Last-Modified:"};
    for (int i = 0; i < 2; i++) {
        size_t nl = strlen(names[i]);
        if (len > nl && strncasecmp(line, names[i], nl) == 0 &&
            (i == 0 || !h->current_validator[0])) {
            const char *v = line + nl;
            size_t vl = len - nl;
            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
                vl--;
            if (vl < VALIDATOR_MAX) {
                memcpy(h->current_validator, v, vl);
                h->current_validator[vl] = '\0';
            }
        }
    }
    return len;
}

/* First body bytes of an attempt: decide whether they continue our stream. */
static int check_response(otter_fetch *h)
{
    long status = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t clen = -1;
    curl_easy_getinfo(h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
    uint64_t have = h->offset + h->len;
    /*
     * Every 206 must start where we asked (byte 0 when we did not ask): a
     * server, or anything on the path, that sends other bytes under 206
     * would have them appended at the wrong offset.
     */
    if (status == 206 && (h->range_bad || h->range_first != (int64_t)have ||
                          (h->range_total >= 0 && h->total >= 0 && h->range_total != h->total))) {
        fail(h, NULL, OTTER_EIO, "206 answer does not continue at byte %llu (Content-Range %s)",
             (unsigned long long)have,
             h->range_bad                      ? "malformed"
             : h->range_first < 0              ? "missing"
             : h->range_first != (int64_t)have ? "starts elsewhere"
                                               : "has another length");
        return -1;
    }
    if (!h->first_seen) {
        /* The first answer; a download that starts at an offset asked for a range. */
        snprintf(h->validator, sizeof h->validator, "%s", h->current_validator);
        h->total = status == 206 ? h->range_total : clen >= 0 ? (int64_t)clen : -1;
        h->skip = status == 206 ? 0 : have; /* a 200 from byte 0: skip to the offset */
        h->first_seen = 1;
    } else if (status == 206) {
        h->skip = 0;
    } else if (status == 200) {
        /* Range ignored, or If-Range said the content changed. */
        if (h->validator[0] && strcmp(h->validator, h->current_validator) != 0) {
            fail(h, NULL, OTTER_EIO, "changed on the server during the download");
            return -1;
        }
        h->skip = have;
    } else {
        fail(h, NULL, OTTER_EIO, "unexpected HTTP %ld on resume", status);
        return -1;
    }
    h->response_seen = 1;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    otter_fetch *h = ctx;
    size_t len = size * n;
    if (!h->response_seen && check_response(h) < 0)
        return 0; /* aborts the transfer: h->failed says why */
    clock_gettime(CLOCK_MONOTONIC, &h->last_byte);
    size_t drop = h->skip < len ? (size_t)h->skip : len;
    h->skip -= drop;
    data += drop;
    size_t keep = len - drop;
    if (keep > OTTER_FETCH_BUFFER - h->len) {
        h->paused = 1;
        /* curl delivers the same bytes again after unpausing: undo the skip. */
        h->skip += drop;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (h->start + h->len + keep > OTTER_FETCH_BUFFER) {
        memmove(h->buf, h->buf + h->start, h->len);
        h->start = 0;
    }
    memcpy(h->buf + h->start + h->len, data, keep);
    h->len += keep;
    return len;
}

int otter_fetch_new(const otter_fetch_opts *o, otter_fetch **out, otter_err *err)
{
    static int global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
            return otter_err_set(err, OTTER_EIO, "libcurl initialisation failed");
        global_done = 1;
    }
    if (!o->url || (strncmp(o->url, "https://", 8) != 0 && strncmp(o->url, "http://", 7) != 0))
        return otter_err_set(err, OTTER_EUSAGE, "%s: only http:// and https:// URLs",
                             o->url ? o->url : "(no URL)");
    otter_fetch *h = calloc(1, sizeof *h);
    if (!h)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    int oom = 0;
    h->o = *o;
    h->url = dup_opt(o->url, &oom);
    h->ca_file = dup_opt(o->ca_file, &oom);
    h->pin = dup_opt(o->pinned_pubkey, &oom);
    h->cert = dup_opt(o->client_cert, &oom);
    h->key = dup_opt(o->client_key, &oom);
    h->tcti = dup_opt(o->tpm_tcti, &oom);
    h->tls = (otter_tls_client){.cert = h->cert, .key = h->key, .tcti = h->tcti};
    h->auth = dup_opt(o->auth_header, &oom);
    h->proxy = dup_opt(o->proxy, &oom);
    h->buf = malloc(OTTER_FETCH_BUFFER);
    h->multi = curl_multi_init();
    h->easy = curl_easy_init();
    h->total = -1;
    h->offset = o->start_offset; /* the first request asks for a range from here */
    h->backoff_ms = o->retry_delay_ms > 0 ? o->retry_delay_ms : 200;
    if (oom || !h->buf || !h->multi || !h->easy) {
        otter_fetch_free(h);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    *out = h;
    return 0;
}

/* (Re)starts the transfer from the first byte we do not have yet. */
static int start_attempt(otter_fetch *h, otter_err *err)
{
    CURL *e = h->easy;
    uint64_t from = h->offset + h->len;
    h->attempt_from = from;
    if (h->attached)
        curl_multi_remove_handle(h->multi, e);
    h->attached = 0;
    curl_easy_reset(e);
    curl_slist_free_all(h->headers);
    h->headers = NULL;
    if (h->auth)
        h->headers = curl_slist_append(h->headers, h->auth);
    if (from > 0 && h->validator[0]) {
        char line[VALIDATOR_MAX + 16];
        snprintf(line, sizeof line, "If-Range: %s", h->validator);
        h->headers = curl_slist_append(h->headers, line);
    }
    h->response_seen = 0;
    h->skip = 0;
    h->curl_error[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, h->url);
    /* A download that starts on https stays on https: a redirect to http://
     * would hand the rest (and any header libcurl keeps) to the network. */
    int https = strncasecmp(h->url, "https://", 8) == 0;
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, https ? "https" : "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->curl_error);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT,
                     h->o.connect_timeout > 0 ? h->o.connect_timeout : 10L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    if (h->pin)
        curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, h->pin);
    otter_tls_client_apply(e, &h->tls);
    if (h->proxy)
        curl_easy_setopt(e, CURLOPT_PROXY, h->proxy);
    if (h->o.max_recv_speed > 0)
        curl_easy_setopt(e, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)h->o.max_recv_speed);
    /* CURLOPT_RANGE rather than RESUME_FROM: libcurl then hands us a 200
     * from a server that ignores ranges instead of failing, and we skip. */
    char range[32];
    if (from > 0) {
        snprintf(range, sizeof range, "%llu-", (unsigned long long)from);
        curl_easy_setopt(e, CURLOPT_RANGE, range);
    }
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
        return fail(h, err, OTTER_EIO, "cannot start the transfer");
    h->attached = 1;
    h->paused = 0;
    clock_gettime(CLOCK_MONOTONIC, &h->last_byte);
    return 0;
}

/* Failures that another attempt cannot fix: report them at once. */
static int final_failure(otter_fetch *h, CURLcode rc, otter_err *err)
{
    long status = 0;
    switch (rc) {
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return fail(h, err, OTTER_ESIG, "server public key does not match the pin");
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return fail(h, err, OTTER_ESIG, "TLS verification failed: %s",
                    h->curl_error[0] ? h->curl_error : curl_easy_strerror(rc));
    case CURLE_HTTP_RETURNED_ERROR:
        curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status == 408 || status == 429 || status >= 500)
            return 0;
        h->refused = status;
        return fail(h, err, OTTER_EIO, "HTTP %ld", status);
    case CURLE_UNSUPPORTED_PROTOCOL:
        if (strncasecmp(h->url, "https://", 8) == 0)
            return fail(h, err, OTTER_EIO, "a redirect away from https is refused (%s)",
                        h->curl_error[0] ? h->curl_error : curl_easy_strerror(rc));
        return fail(h, err, OTTER_EIO, "%s", curl_easy_strerror(rc));
    case CURLE_URL_MALFORMAT:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_OUT_OF_MEMORY:
        return fail(h, err, OTTER_EIO, "%s", curl_easy_strerror(rc));
    default:
        return 0;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A finished attempt: end of body, a final error, or a retry. */
static int attempt_done(otter_fetch *h, CURLcode rc, otter_err *err)
{
    if (h->failed) { /* set by a callback */
        if (err)
            *err = h->fail;
        return h->fail.code;
    }
    /* libcurl reports success for a reply cut inside its headers: only the
     * announced length says the body is complete. */
    if (rc == CURLE_OK && h->total >= 0 && h->offset + h->len < (uint64_t)h->total) {
        rc = CURLE_PARTIAL_FILE;
        snprintf(h->curl_error, sizeof h->curl_error, "reply ended at byte %llu of %lld",
                 (unsigned long long)(h->offset + h->len), (long long)h->total);
    }
    if (rc == CURLE_OK) {
        h->finished = 1;
        return 0;
    }
    int ret = final_failure(h, rc, err);
    if (ret)
        return ret;
    /* A link that keeps dropping but makes progress each time is worth
     * following to the end (a phone in a moving car); only attempts that
     * bring nothing count against max_retries and grow the back-off. */
    if (h->offset + h->len > h->attempt_from) {
        h->failures = 0;
        h->backoff_ms = h->o.retry_delay_ms > 0 ? h->o.retry_delay_ms : 200;
    }
    if (h->failures >= h->o.max_retries)
        return fail(h, err, OTTER_EIO, "%s after %u resumes at byte %llu",
                    h->curl_error[0] ? h->curl_error : curl_easy_strerror(rc), h->resumes,
                    (unsigned long long)(h->offset + h->len));
    h->resumes++;
    h->failures++;
    sleep_ms(h->backoff_ms);
    h->backoff_ms = h->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : h->backoff_ms * 2;
    return start_attempt(h, err);
}

ssize_t otter_fetch_read(void *ctx, void *out, size_t want, otter_err *err)
{
    otter_fetch *h = ctx;
    if (h->failed) {
        if (err)
            *err = h->fail;
        return h->fail.code;
    }
    if (!h->attached && !h->finished && start_attempt(h, err) < 0)
        return h->fail.code;
    while (h->len == 0 && !h->finished) {
        int running = 0;
        if (curl_multi_perform(h->multi, &running) != CURLM_OK)
            return fail(h, err, OTTER_EIO, "transfer failed");
        CURLMsg *msg;
        int left;
        int done = 0;
        CURLcode rc = CURLE_OK;
        while ((msg = curl_multi_info_read(h->multi, &left)) != NULL)
            if (msg->msg == CURLMSG_DONE) {
                done = 1;
                rc = msg->data.result;
            }
        /* libcurl's low-speed check averages over seconds of history and
         * misses a stall after a fast start: time the silence ourselves. */
        long stall = h->o.stall_timeout > 0 ? h->o.stall_timeout : 30;
        if (!done && !h->paused && seconds_since(&h->last_byte) > (double)stall) {
            done = 1;
            rc = CURLE_OPERATION_TIMEDOUT;
            snprintf(h->curl_error, sizeof h->curl_error, "no data for %ld s", stall);
        }
        if (done) {
            int ret = attempt_done(h, rc, err);
            if (ret < 0)
                return ret;
            continue;
        }
        if (h->len == 0)
            curl_multi_poll(h->multi, NULL, 0, 1000, NULL);
    }
    if (h->len == 0)
        return 0;
    size_t n = h->len < want ? h->len : want;
    memcpy(out, h->buf + h->start, n);
    h->start += n;
    h->len -= n;
    h->offset += n;
    if (h->len == 0)
        h->start = 0;
    if (h->paused) {
        h->paused = 0;
        curl_easy_pause(h->easy, CURLPAUSE_CONT);
    }
    /* A successful reply shorter than announced is caught by libcurl itself
     * (CURLE_PARTIAL_FILE), and retried above. */
    return (ssize_t)n;
}

uint64_t otter_fetch_offset(const otter_fetch *h)
{
    return h->offset;
}

unsigned otter_fetch_resumes(const otter_fetch *h)
{
    return h->resumes;
}

long otter_fetch_refused(const otter_fetch *h)
{
    return h ? h->refused : 0;
}

int64_t otter_fetch_total(const otter_fetch *h)
{
    return h->total;
}

void otter_fetch_free(otter_fetch *h)
{
    if (!h)
        return;
    if (h->attached)
        curl_multi_remove_handle(h->multi, h->easy);
    if (h->easy)
        curl_easy_cleanup(h->easy);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    curl_slist_free_all(h->headers);
    free(h->url);
    free(h->ca_file);
    free(h->pin);
    free(h->cert);
    free(h->key);
    free(h->tcti);
    free(h->auth);
    free(h->proxy);
    free(h->buf);
    free(h);
}
