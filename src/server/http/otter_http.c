/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "otter_http_internal.h"
#include "otter_server_config.h"

const char *otter_http_header(const otter_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *otter_http_query(const otter_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

int otter_http_client_cert(const otter_http_request *req, const unsigned char **der, size_t *len)
{
    *der = NULL;
    *len = 0;
    if (!req->tls || !req->conn)
        return 0;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return 0;
    gnutls_session_t session = (gnutls_session_t)ci->tls_session;
    if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509)
        return 0;
    unsigned n = 0;
    const gnutls_datum_t *chain = gnutls_certificate_get_peers(session, &n);
    if (!chain || n == 0 || !chain[0].data || chain[0].size == 0)
        return 0;
    *der = chain[0].data;
    *len = chain[0].size;
    return 1;
}

int otter_http_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

int otter_http_add_header(otter_http_response *resp, const char *name, const char *value)
{
    if (resp->n_headers == OTTER_HTTP_HEADERS_MAX)
        return OTTER_EUSAGE;
    char *v = strdup(value);
    if (!v)
        return OTTER_ENOMEM;
    resp->headers[resp->n_headers].name = name;
    resp->headers[resp->n_headers].value = v;
    resp->n_headers++;
    return 0;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/*
 * Percent-decoding of paths and query values, as MHD's own, except that
 * %00 stays as it is: decoded, it ended the C string there, so
 * …/devices/a%00b named device a. Kept, it is an invalid name (404/400).
 */
static size_t unescape_keep_nul(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *out = s;
    for (const char *in = s; *in;) {
        int hi = in[0] == '%' ? hex_digit(in[1]) : -1, lo = hi >= 0 ? hex_digit(in[2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            *out++ = (char)(hi << 4 | lo);
            in += 3;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}

/*
 * A refused upload's body: answer before it or after it? Answering before it and
 * closing with the body unread makes the kernel reset the connection, and a client
 * still sending (curl without "Expect: 100-continue", i.e. bodies under 1 MiB) then
 * sees the reset instead of our 4xx. So a small declared body is read and dropped
 * first, like nginx's lingering close; a large or chunked one, or one the client
 * holds back for "100 Continue", is answered at once so nobody makes us read gigabytes.
 */
#define OTTER_HTTP_DROP_MAX (8u << 20)

/*
 * 1 and *n when the request declares a well-formed Content-Length (one past
 * the range reads as the largest number); 0 otherwise.
 */
static int declared_length(struct MHD_Connection *c, unsigned long long *n)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl || *cl < '0' || *cl > '9')
        return 0;
    char *end;
    *n = strtoull(cl, &end, 10);
    return *end == '\0';
}

static int drop_body_first(struct MHD_Connection *c)
{
    const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    unsigned long long n;
    if (expect && strcasecmp(expect, "100-continue") == 0)
        return 0;
    return declared_length(c, &n) && n > 0 && n <= OTTER_HTTP_DROP_MAX;
}

/* The handler sees the request without a body and says why it refuses it. */
static enum MHD_Result send_refusal(struct otter_http *h, struct MHD_Connection *c,
                                    const otter_http_request *pre, struct pending *p)
{
    otter_http_response resp = {0};
    h->handler(h->ctx, pre, &resp);
    if (resp.status < 400 || resp.status > 599)
        resp.status = 500;
    return otter_http_send_response(c, &resp, p);
}

/* The peer's numeric address; inet_ntop, as getnameinfo() cost a visible share of a poll. */
static void client_address(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const void *addr = NULL;
    if (sa && sa->sa_family == AF_INET)
        addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!addr || !inet_ntop(sa->sa_family, addr, out, (socklen_t)cap))
        snprintf(out, cap, "unknown");
}

/* Sends what a handler answered: its stream, or its response. */
static enum MHD_Result answer(struct otter_http *h, struct MHD_Connection *c,
                              otter_http_response *resp, struct pending *p)
{
    if (resp->stream.pull) {
        if (resp->status == 200)
            return otter_http_send_stream(h, c, resp);
        resp->stream.release(resp->stream.ctx);
        resp->stream.pull = NULL;
    }
    if (resp->status < 100 || resp->status > 599)
        resp->status = 500;
    if (p)
        p->h = h; /* a paced file body parks on h (otter_http_pace.c) */
    return otter_http_send_response(c, resp, p);
}

/* On a lane thread: the handler, then the connection goes back to MHD with the answer. */
static void lane_run(void *arg)
{
    struct pending *p = arg;
    otter_http_request req = {.method = p->method,
                              .path = p->path,
                              .client = p->client,
                              .body = p->buf,
                              .body_len = p->len,
                              .tls = p->h->tls,
                              .upload = p->sink,
                              .conn = p->c};
    p->h->handler(p->h->ctx, &req, &p->lane_resp);
    p->lane = 2; /* MHD_resume_connection orders this before MHD's next call */
    MHD_resume_connection(p->c);
}

static const char lane_full_body[] =
    "{\"error\":{\"code\":\"unavailable\","
    "\"message\":\"too many password checks waiting, try again in a second\",\"where\":\"path\"}}";

/*
 * Parks a slow request (suspended: no pool thread waits for it) until its
 * handler ran on the lane. Suspended before it is queued, so the lane
 * cannot resume it first; a full lane answers 503 at once.
 */
static enum MHD_Result park(struct otter_http *h, struct MHD_Connection *c, const char *method,
                            struct pending *p)
{
    p->h = h;
    p->c = c;
    p->method = method;
    p->lane = 1;
    MHD_suspend_connection(c);
    if (otter_http_lane_submit(h->lane, lane_run, p) < 0) {
        p->lane_resp = (otter_http_response){.status = 503, .body = strdup(lane_full_body)};
        snprintf(p->lane_resp.retry_after, sizeof p->lane_resp.retry_after, "1");
        p->lane = 2;
        MHD_resume_connection(c);
    }
    return MHD_YES;
}

/* The first call, with the head only: checks it, opens an upload, refuses a declared oversize body.
 */
static enum MHD_Result on_head(struct otter_http *h, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, void **con_cls)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        return MHD_NO;
    *con_cls = p;
    p->start_ns = otter_http_now_ns();
    p->head = strcmp(method, "HEAD") == 0;
    client_address(c, p->client, sizeof p->client);
    /*
     * MHD has cut the query off and decoded the path: a '?' here was sent
     * as %3F and is part of a name (cutting there made DELETE
     * …/devices/a%3Fb delete device a).
     */
    p->path = strdup(url);
    if (!p->path)
        return MHD_NO;
    if (h->observer)
        p->route = h->observer->classify(h->observer->ctx, p->path);
    otter_http_guard_head_in(h->guard, c);
    const char *why = NULL;
    int bad = otter_http_guard_check_head(c, version, &why);
    if (bad) {
        /* Nothing after a head like this is read: its body, a request behind it. */
        p->answered = 1;
        return otter_http_send_bad_head(c, p, bad, why);
    }
    uint64_t limit = h->max_body;
    if (h->upload) {
        otter_http_request pre = {
            .method = method, .path = p->path, .client = p->client, .tls = h->tls, .conn = c};
        int how = h->upload->open(h->ctx, &pre, &p->sink, &p->limit);
        if (how > 0 && p->sink)
            limit = p->limit;
        else
            p->sink = NULL;
        if (how < 0) {
            if (drop_body_first(c)) {
                p->refused = 1;
                return MHD_YES;
            }
            /*
             * Refused before its body: answer now (the handler sees no body and
             * says why), so an unauthorized client cannot make us read gigabytes.
             */
            p->answered = 1;
            return send_refusal(h, c, &pre, p);
        }
    }
    unsigned long long declared;
    if (declared_length(c, &declared) && declared > limit) {
        p->too_large = 1;
        return otter_http_send_413(c, p);
    }
    return MHD_YES;
}

/* A piece of the body: to the upload sink, into the buffer, or dropped (over the limit, refused).
 */
static enum MHD_Result on_body(struct otter_http *h, struct pending *p, const char *data, size_t n)
{
    if (p->too_large || p->answered || p->refused)
        return MHD_YES; /* over the limit, answered or refused: drop */
    if (p->sink) {
        if (n > p->limit - p->streamed) {
            p->too_large = 1;
            return MHD_YES;
        }
        p->streamed += n;
        if (!p->sink_failed && h->upload->write(p->sink, data, n) < 0)
            p->sink_failed = 1;
        return MHD_YES;
    }
    if (n > h->max_body - p->len) {
        p->too_large = 1;
        free(p->buf);
        p->buf = NULL;
        p->len = p->cap = 0;
        return MHD_YES;
    }
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 1024;
        while (cap < p->len + n)
            cap *= 2;
        if (cap > h->max_body)
            cap = h->max_body;
        char *nb = realloc(p->buf, cap);
        if (!nb)
            return MHD_NO;
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, data, n);
    p->len += n;
    return MHD_YES;
}

/* The body is complete (or there was none): refuse, park on the slow lane, or run the handler. */
static enum MHD_Result on_end(struct otter_http *h, struct MHD_Connection *c, const char *method,
                              struct pending *p)
{
    if (p->answered)
        return MHD_YES;
    if (p->refused) {
        otter_http_request pre = {
            .method = method, .path = p->path, .client = p->client, .tls = h->tls, .conn = c};
        return send_refusal(h, c, &pre, p);
    }
    if (p->too_large)
        return otter_http_send_413(c, p);
    if (p->lane == 2) {
        p->lane = 3;
        return answer(h, c, &p->lane_resp, p);
    }
    if (p->lane)
        return MHD_YES;

    otter_http_request req = {.method = method,
                              .path = p->path,
                              .client = p->client,
                              .body = p->buf,
                              .body_len = p->len,
                              .tls = h->tls,
                              .upload = p->sink,
                              .conn = c};
    if (h->lane && h->slow(h->ctx, &req))
        return park(h, c, method, p);
    otter_http_response resp = {0};
    h->handler(h->ctx, &req, &resp);
    return answer(h, c, &resp, p);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct otter_http *h = cls;
    if (!*con_cls)
        return on_head(h, c, url, method, version, con_cls);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return on_body(h, *con_cls, upload_data, n);
    }
    return on_end(h, c, method, *con_cls);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct otter_http *h = cls;
    struct pending *p = *con_cls;
    otter_http_guard_request_done(h->guard, c);
    if (p) {
        if (h->observer && p->status)
            h->observer->done(h->observer->ctx, p->route, p->status,
                              toe == MHD_REQUEST_TERMINATED_COMPLETED_OK, p->head, p->body_bytes,
                              otter_http_now_ns() - p->start_ns);
        if (p->sent) {
            int full = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && p->status;
            p->sent(p->sent_ctx, full, full && !p->head ? p->body_bytes : 0);
        }
        if (p->sink)
            h->upload->close(p->sink);
        if (p->lane == 2) { /* answered on the lane, never sent (the daemon stopped) */
            if (p->lane_resp.stream.pull)
                p->lane_resp.stream.release(p->lane_resp.stream.ctx);
            otter_http_response_clear(&p->lane_resp);
        }
        free(p->buf);
        free(p->path);
        free(p);
        *con_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct otter_http *h = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        otter_http_guard_started(h->guard, c, socket_context);
    else
        otter_http_guard_closed(h->guard, socket_context);
    if (h->observer)
        h->observer->connection(h->observer->ctx, code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

static int resolve(const char *hostport, struct sockaddr_storage *ss, socklen_t *sslen,
                   otter_err *err)
{
    char *host = NULL;
    unsigned port = 0;
    int ret = otter_server_config_split_hostport(hostport, &host, &port, err);
    if (ret < 0)
        return ret;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0 || !ai) {
        ret =
            otter_err_set(err, OTTER_EUSAGE, "listen address '%s': %s", hostport, gai_strerror(rc));
    } else {
        memcpy(ss, ai->ai_addr, ai->ai_addrlen);
        *sslen = ai->ai_addrlen;
        ret = 0;
    }
    if (ai)
        freeaddrinfo(ai);
    free(host);
    return ret;
}

/* MHD's options for h, in order, ended by MHD_OPTION_END; the TLS pair only when configured. */
static void daemon_options(const otter_http_opts *opts, struct otter_http *h,
                           struct sockaddr_storage *ss, int tls, struct MHD_OptionItem o[14])
{
    size_t n = 0;
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, ss};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, opts->threads, NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, opts->connection_timeout, NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, opts->max_connections, NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, h};
    o[n++] =
        (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape_keep_nul, NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, h};
    /* Beyond it, MHD closes a new connection from that address at once (0: no limit). */
    if (opts->max_connections_per_ip)
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                         opts->max_connections_per_ip, NULL};
    if (tls) {
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)opts->cert_pem};
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)opts->key_pem};
        /*
         * With a trust list MHD asks every client for a certificate
         * (GNUTLS_CERT_REQUEST: optional, and GnuTLS checks nothing). Which
         * CAs count is the tenant's business, decided per request
         * (otter_devcert_verify()); the list only makes GnuTLS ask, so it is
         * the server's own certificate, whose name clients see as a hint.
         */
        if (opts->request_client_cert)
            o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)opts->cert_pem};
    }
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

int otter_http_start(const char *hostport, const otter_http_opts *opts, otter_http_handler handler,
                     void *ctx, otter_http **out, otter_err *err)
{
    int ret;
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    int tls = opts->cert_pem && opts->key_pem;
    *out = NULL;
    if (tls && !otter_http_tls_supported())
        return otter_err_set(err, OTTER_EUSAGE,
                             "%s: this libmicrohttpd was built without TLS support", hostport);
    if ((ret = resolve(hostport, &ss, &sslen, err)) < 0)
        return ret;
    otter_http *h = calloc(1, sizeof *h);
    if (!h)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    h->handler = handler;
    h->ctx = ctx;
    h->max_body = opts->max_body;
    h->tls = tls;
    h->upload = opts->upload;
    h->observer = opts->observer;
    h->guard = otter_http_guard_new(opts->head_timeout ? opts->head_timeout : 30);
    h->slow = opts->slow;
    /* A small queue: a burst of logins waits a moment, a flood gets 503. */
    if (opts->slow)
        h->lane = otter_http_lane_new(opts->slow_threads, 4 * opts->slow_threads);
    if (!h->guard || (opts->slow && !h->lane)) {
        otter_http_guard_free(h->guard);
        otter_http_lane_free(h->lane);
        free(h);
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&h->streams_lock, NULL);
    pthread_cond_init(&h->streams_cond, NULL);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem o[14];
    daemon_options(opts, h, &ss, tls, o);
    h->d =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, o, MHD_OPTION_END);
    if (h->d && pthread_create(&h->ticker, NULL, otter_http_ticker_main, h) == 0)
        h->ticker_started = 1;
    else if (h->d) {
        MHD_stop_daemon(h->d);
        h->d = NULL;
    }
    if (!h->d) {
        pthread_cond_destroy(&h->streams_cond);
        pthread_mutex_destroy(&h->streams_lock);
        otter_http_guard_free(h->guard);
        otter_http_lane_free(h->lane);
        free(h);
        return otter_err_set(err, OTTER_EIO,
                             "cannot listen on %s%s (address in use, not local, or bad TLS "
                             "certificate/key)",
                             hostport, tls ? " with TLS" : "");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : 0;
    *out = h;
    return 0;
}

unsigned otter_http_port(const otter_http *h)
{
    return h->port;
}

void otter_http_stop(otter_http *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->streams_lock);
    h->closing = 1;
    pthread_cond_signal(&h->streams_cond);
    pthread_mutex_unlock(&h->streams_lock);
    /* The ticker wakes every parked stream once more; they end instead of parking. */
    if (h->ticker_started)
        pthread_join(h->ticker, NULL);
    /* Runs what is queued: every parked request is resumed before MHD stops. */
    otter_http_lane_free(h->lane);
    MHD_stop_daemon(h->d);
    pthread_cond_destroy(&h->streams_cond);
    pthread_mutex_destroy(&h->streams_lock);
    otter_http_guard_free(h->guard);
    free(h);
}
