/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test harness for the server integration tests: runs `otter-server init`
 * and `serve` on 127.0.0.1 with an ephemeral port and a real SQLite file
 * (or, with OTTER_TEST_STORE=postgres, a fresh database on the PostgreSQL
 * of OTTER_TEST_PG_URL: harness_db.c), talks to it with libcurl (10 s
 * timeout per request); harness_db.c snapshots the database so tests can
 * check that a refused request changed nothing.
 */
#include "harness.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

struct server srv;
char *admin_tok;
_Thread_local char retry_after[32]; /* per thread: the concurrency test shares the harness */

/* ---- process control ---- */

static int run_wait(char *const argv[])
{
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
        return -1;
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int make_cert(const char *dir, char *cert, char *key)
{
    snprintf(cert, PATH_MAX, "%s/cert.pem", dir);
    snprintf(key, PATH_MAX, "%s/key.pem", dir);
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
             "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' "
             ">/dev/null 2>&1",
             key, cert);
    return system(cmd);
}

/* Starts init + serve with the given [auth] lines; fills srv. */
int start_server(const char *name, const char *auth, int with_tls)
{
    memset(&srv, 0, sizeof srv);
    snprintf(srv.dir, sizeof srv.dir, "%s", otter_test_dir(name));
    harness_db_choose(name);
    char conf[PATH_MAX], ready[PATH_MAX], key[PATH_MAX], text[4 * PATH_MAX];
    char tls[3 * PATH_MAX] = "";
    snprintf(conf, sizeof conf, "%s/server.conf", srv.dir);
    snprintf(ready, sizeof ready, "%s/ready", srv.dir);
    if (with_tls && make_cert(srv.dir, srv.cert, key) != 0) {
        /* A TLS test that cannot make its certificate fails; it is never skipped. */
        print_error("%s: openssl could not make a test certificate in %s\n", name, srv.dir);
        return -1;
    }
    if (with_tls)
        snprintf(tls, sizeof tls, "listen_tls = 127.0.0.1:0\ntls_cert = %s\ntls_key = %s\n",
                 srv.cert, key);
    snprintf(text, sizeof text,
             "[http]\nlisten = 127.0.0.1:0\n%s"
             "[database]\nurl = %s\n"
             "[storage]\nartifacts = %s/artifacts\n"
             "[limits]\nmax_body = 4K\nthreads = 2\njson_depth = 8\nconnection_timeout = 10\n"
             "[auth]\n%s",
             tls, srv.db_url, srv.dir, auth);
    write_file(conf, text);

    setenv("OTTER_ADMIN_PASSWORD", ADMIN_PW, 1);
    char *init[] = {OTTER_SERVER_BIN, "init", "--config", conf, NULL};
    if (run_wait(init) != 0)
        return -1;
    char *serve[] = {OTTER_SERVER_BIN, "serve", "--config", conf, "--ready-file", ready, NULL};
    if (posix_spawn(&srv.pid, serve[0], NULL, NULL, serve, environ) != 0)
        return -1;
    for (int i = 0; i < 200; i++) { /* 10 s at most */
        FILE *f = fopen(ready, "r");
        if (f) {
            char line[256];
            while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = '\0';
                if (strncmp(line, "https:", 6) == 0)
                    snprintf(srv.tls_url, sizeof srv.tls_url, "%s", line);
                else if (strncmp(line, "http://[", 8) == 0)
                    snprintf(srv.url6, sizeof srv.url6, "%s", line);
                else
                    snprintf(srv.url, sizeof srv.url, "%s", line);
            }
            fclose(f);
            if (with_tls && !srv.tls_url[0])
                print_error("%s: the server's ready file lists no https URL\n", name);
            return srv.url[0] && (!with_tls || srv.tls_url[0]) ? 0 : -1;
        }
        usleep(50000);
    }
    return -1;
}

/* SIGTERM, then expect a clean exit within 10 s (under ASan this also checks for leaks). */
int stop_server(void)
{
    if (srv.pid <= 0)
        return 0;
    kill(srv.pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        int st;
        pid_t r = waitpid(srv.pid, &st, WNOHANG);
        if (r == srv.pid) {
            srv.pid = 0;
            return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
        }
        usleep(50000);
    }
    kill(srv.pid, SIGKILL);
    waitpid(srv.pid, NULL, 0);
    srv.pid = 0;
    return -1;
}

/* ---- HTTP ---- */

struct buf {
    char *p;
    size_t n;
};

/*
 * The API contract check (tests/docs/check_responses.py): with OTTER_API_LOG
 * set, every response is appended to that file as one JSON line (method,
 * path, status, content type, headers, body when it is JSON) for the checker
 * to validate against docs/api/openapi.yaml after the tests ran.
 */
/* Keeps "Name: value" in headers (a JSON object; NULL: not logging) under its lower-case name. */
static void log_header(json_t *headers, const char *data, size_t len)
{
    const char *colon = memchr(data, ':', len);
    if (!headers || !colon || colon == data)
        return;
    char name[128];
    size_t n = (size_t)(colon - data) < sizeof name - 1 ? (size_t)(colon - data) : sizeof name - 1;
    for (size_t i = 0; i < n; i++)
        name[i] = (char)tolower((unsigned char)data[i]);
    name[n] = '\0';
    const char *v = colon + 1, *end = data + len;
    while (v < end && *v == ' ')
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n'))
        end--;
    json_object_set_new(headers, name, json_stringn(v, (size_t)(end - v)));
}

static void log_response(const char *method, const char *path, long status, json_t *headers,
                         const char *body, size_t body_len)
{
    const char *file = getenv("OTTER_API_LOG");
    if (!file || !*file || !headers)
        return;
    const char *ct = json_string_value(json_object_get(headers, "content-type"));
    int is_json = ct && strncasecmp(ct, "application/json", 16) == 0;
    json_t *e =
        json_pack("{s:s, s:s, s:I, s:o, s:O, s:s}", "method", method, "path", path, "status",
                  (json_int_t)status, "content_type", ct ? json_string(ct) : json_null(), "headers",
                  headers, "test", program_invocation_short_name);
    /* Non-JSON bodies (artifacts, metrics text) are logged as present or not. */
    json_t *b = !body_len ? json_null()
                : is_json ? json_stringn(body, body_len)
                          : json_string("(not JSON)");
    json_object_set_new(e, "body", b ? b : json_string("(not UTF-8)"));
    char *line = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    /* flock: the tests run in parallel (and threads here), each line must stay whole. */
    FILE *f = line ? fopen(file, "a") : NULL;
    int ok = f && flock(fileno(f), LOCK_EX) == 0 && fprintf(f, "%s\n", line) >= 0 && fflush(f) == 0;
    if (f && fclose(f) != 0) /* closing releases the lock */
        ok = 0;
    free(line);
    if (!ok)
        fail_msg("OTTER_API_LOG %s: cannot append a response", file);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct buf *b = ctx;
    size_t len = size * nmemb;
    char *np = realloc(b->p, b->n + len + 1);
    if (!np)
        return 0;
    b->p = np;
    memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
    size_t len = size * nmemb;
    if (len > 13 && strncasecmp(data, "Retry-After: ", 13) == 0)
        snprintf(retry_after, sizeof retry_after, "%.*s", (int)strcspn(data + 13, "\r\n"),
                 data + 13);
    log_header(ctx, data, len);
    return len;
}

/*
 * One request. body_len (size_t)-1 means strlen(body). content_type NULL
 * sends application/json when there is a body. Returns the status; *out
 * (may be NULL) gets the parsed JSON body or NULL.
 */
static long request_any(const char *base, const char *method, const char *path, const char *auth,
                        const char *body, size_t body_len, const char *content_type, json_t **out,
                        int check_errors)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[1024], hdr_auth[8192], hdr_ct[256];
    struct curl_slist *h = NULL;
    struct buf b = {0};
    snprintf(url, sizeof url, "%s%s", base, path);
    retry_after[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    json_t *headers = getenv("OTTER_API_LOG") ? json_object() : NULL;
    curl_easy_setopt(c, CURLOPT_HEADERDATA, headers);
    if (srv.cert[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, srv.cert);
    if (auth) {
        snprintf(hdr_auth, sizeof hdr_auth, "Authorization: %s", auth);
        h = curl_slist_append(h, hdr_auth);
    }
    if (body) {
        if (body_len == (size_t)-1)
            body_len = strlen(body);
        snprintf(hdr_ct, sizeof hdr_ct, "Content-Type: %s",
                 content_type ? content_type : "application/json");
        h = curl_slist_append(h, hdr_ct);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(c);
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "curl %s %s: %s\n", method, url, curl_easy_strerror(rc));
    if (rc == CURLE_OK)
        log_response(method, path, status, headers, b.p, b.n);
    json_decref(headers);
    if (out)
        *out = b.p ? json_loads(b.p, 0, NULL) : NULL;
    /*
     * Every management error body has the same shape: {"error": {"code",
     * "message", "where"}}; the device API's are {"error": message}.
     * MHD itself answers some protocol errors (431, 505) in HTML; ours are all JSON.
     */
    if (check_errors && status >= 400 && status != 431 && status != 505) {
        json_t *d = b.p ? json_loads(b.p, 0, NULL) : NULL, *e = json_object_get(d, "error");
        int ddi = strstr(path, "/controller/v1/") != NULL;
        if (ddi ? !json_is_string(e)
                : (!json_is_object(e) || !json_is_string(json_object_get(e, "code")) ||
                   !json_is_string(json_object_get(e, "message")) ||
                   !json_is_string(json_object_get(e, "where"))))
            fail_msg("%s %s -> %ld without %s: %s", method, path, status,
                     ddi ? "{error}" : "{error: {code, message, where}}", b.p ? b.p : "(empty)");
        json_decref(d);
    }
    free(b.p);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

long request_full(const char *base, const char *method, const char *path, const char *auth,
                  const char *body, size_t body_len, const char *content_type, json_t **out)
{
    return request_any(base, method, path, auth, body, body_len, content_type, out, 1);
}

long request_unchecked(const char *base, const char *method, const char *path, const char *auth,
                       const char *body, size_t body_len, const char *content_type, json_t **out)
{
    return request_any(base, method, path, auth, body, body_len, content_type, out, 0);
}

struct source {
    size_t left;
};

static size_t on_read(char *out, size_t size, size_t nmemb, void *ctx)
{
    struct source *src = ctx;
    size_t n = size * nmemb;
    if (n > src->left)
        n = src->left;
    memset(out, ' ', n); /* whitespace: valid JSON padding, if it were ever parsed */
    src->left -= n;
    return n;
}

long request_chunked(const char *path, const char *token, size_t total)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[1024], auth[256];
    struct curl_slist *h = NULL;
    struct source src = {total};
    struct buf b = {0};
    snprintf(url, sizeof url, "%s%s", srv.url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Transfer-Encoding: chunked");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &src);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    free(b.p);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

long req(const char *method, const char *path, const char *token, const char *body, json_t **out)
{
    char auth[256];
    if (token)
        snprintf(auth, sizeof auth, "Bearer %s", token);
    return request_full(srv.url, method, path, token ? auth : NULL, body, (size_t)-1, NULL, out);
}

/* Logs in and returns a new token string (caller frees). */
char *login(const char *user, const char *password)
{
    char body[512];
    json_t *out = NULL;
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
    long st = req("POST", "/api/v1/login", NULL, body, &out);
    if (st != 200)
        fail_msg("login %s: %ld", user, st);
    char *tok = strdup(json_string_value(json_object_get(out, "token")));
    json_decref(out);
    return tok;
}

/* ---- fixtures ---- */

int setup_server(const char *name, const char *auth, int with_tls)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (start_server(name, auth, with_tls) < 0)
        return -1;
    admin_tok = login("admin", ADMIN_PW);
    return 0;
}

int teardown_server(void)
{
    free(admin_tok);
    admin_tok = NULL;
    int ret = stop_server();
    harness_db_drop();
    curl_global_cleanup();
    return ret;
}

/* Creates user `name` with role in tenant (both via the global admin). */
void add_member(const char *tenant, const char *name, const char *role)
{
    char path[256], body[512];
    snprintf(path, sizeof path, "/api/v1/tenants/%s/users", tenant);
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\",\"role\":\"%s\"}", name,
             PW, role);
    long st = req("POST", path, admin_tok, body, NULL);
    if (st != 201) {
        /* Exists already: give them the role. */
        snprintf(path, sizeof path, "/api/v1/tenants/%s/users/%s", tenant, name);
        snprintf(body, sizeof body, "{\"role\":\"%s\"}", role);
        st = req("PUT", path, admin_tok, body, NULL);
        if (st != 200)
            fail_msg("adding %s to %s: %ld", name, tenant, st);
    }
}

void add_tenant(const char *name)
{
    char body[128];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    long st = req("POST", "/api/v1/tenants", admin_tok, body, NULL);
    if (st != 201 && st != 409)
        fail_msg("creating tenant %s: %ld", name, st);
}

const char *err_message(const json_t *doc)
{
    return json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
}

const char *err_where(const json_t *doc)
{
    return json_string_value(json_object_get(json_object_get(doc, "error"), "where"));
}
