/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only TCP fault proxy on loopback: forwards 127.0.0.1:LISTEN to a
 * target and hurts the server-to-client stream on purpose.
 *   --cut N[,N...]     connection i is closed after N_i bytes (then pass through)
 *   --flip N           the byte at offset N of every response is inverted
 *   --stall N --stall-ms T   connection 0 stops for T ms at offset N
 *   --stall-any        ... every connection that reaches its offset N stops
 *   --log FILE         one line per fault that happened ("cut 3 at 81920"), and
 *                      what the HTTP traffic was: "request 3 GET /path range=bytes=81920-"
 *                      for each request that starts a read from the client
 *                      ("range=-" without a Range header), "response 3 206" for
 *                      the first response on each connection (the only one on
 *                      a download's connection; later ones on a kept-alive
 *                      connection are not parsed)
 * Each connection runs in its own child process; the listening port is
 * written to --port-file once it is bound. Loopback only, by construction.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CUTS 1024

static long long cuts[MAX_CUTS];
static int ncuts;
static long long flip_at = -1, stall_at = -1;
static long stall_ms;
static int stall_any;
static const char *log_path;

static void log_event(const char *what, int index, long long at)
{
    if (!log_path)
        return;
    FILE *f = fopen(log_path, "a");
    if (!f)
        return;
    fprintf(f, "%s %d at %lld\n", what, index, at);
    fclose(f);
}

static void log_line(const char *line)
{
    if (!log_path)
        return;
    FILE *f = fopen(log_path, "a");
    if (!f)
        return;
    fprintf(f, "%s\n", line);
    fclose(f);
}

/* A read from the client that starts with a request line: log it and its Range. */
static void log_request(int index, const char *buf, size_t n)
{
    static const char *const methods[] = {"GET ", "HEAD ", "POST ", "PUT ", "DELETE "};
    int is_request = 0;
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
        is_request |= n > strlen(methods[i]) && !memcmp(buf, methods[i], strlen(methods[i]));
    if (!is_request)
        return;
    char head[4096], line[4300], range[128] = "-";
    size_t len = n < sizeof head - 1 ? n : sizeof head - 1;
    memcpy(head, buf, len);
    head[len] = '\0';
    char *end = strstr(head, "\r\n\r\n");
    if (end)
        *end = '\0'; /* headers only */
    for (char *h = strstr(head, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
        if (!strncasecmp(h + 2, "Range:", 6)) {
            const char *v = h + 8;
            while (*v == ' ')
                v++;
            size_t vl = strcspn(v, "\r\n");
            snprintf(range, sizeof range, "%.*s", (int)(vl < 100 ? vl : 100), v);
        }
    }
    size_t rl = strcspn(head, " ");
    const char *target = head + rl + 1;
    size_t tl = strcspn(target, " \r\n");
    snprintf(line, sizeof line, "request %d %.*s %.*s range=%s", index, (int)rl, head,
             (int)(tl < 2048 ? tl : 2048), target, range);
    log_line(line);
}

static int connect_target(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("connect target");
        exit(1);
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void proxy(int client, int target_port, int index)
{
    int server = connect_target(target_port);
    long long cut = index < ncuts ? cuts[index] : -1;
    long long sent = 0;
    char buf[16384];
    struct pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(client, buf, sizeof buf);
            if (n <= 0 || write_all(server, buf, (size_t)n) < 0)
                break;
            log_request(index, buf, (size_t)n);
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            size_t room = sizeof buf;
            if (cut >= 0 && (long long)room > cut - sent)
                room = (size_t)(cut - sent);
            int stalls = index == 0 || stall_any;
            if (stalls && stall_at >= sent && (long long)room > stall_at - sent && stall_at > sent)
                room = (size_t)(stall_at - sent);
            if (stalls && stall_at == sent) {
                log_event("stall", index, sent);
                struct timespec ts = {stall_ms / 1000, (stall_ms % 1000) * 1000000L};
                nanosleep(&ts, NULL);
                stall_at = -1;
            }
            if (room == 0)
                break;
            ssize_t n = read(server, buf, room);
            if (n <= 0)
                break;
            if (sent == 0 && n >= 12 && !memcmp(buf, "HTTP/1.", 7)) {
                char line[64];
                snprintf(line, sizeof line, "response %d %.3s", index, buf + 9);
                log_line(line);
            }
            if (flip_at >= sent && flip_at < sent + n) {
                buf[flip_at - sent] ^= (char)0xff;
                log_event("flip", index, flip_at);
            }
            if (write_all(client, buf, (size_t)n) < 0)
                break;
            sent += n;
            if (cut >= 0 && sent >= cut) {
                log_event("cut", index, sent);
                break;
            }
        }
    }
    close(server);
    close(client);
}

int main(int argc, char **argv)
{
    int target = 0;
    const char *port_file = NULL;
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "--stall-any")) {
            stall_any = 1;
            i--;
            continue;
        }
        if (i + 1 >= argc)
            break;
        if (!strcmp(argv[i], "--target"))
            target = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--port-file"))
            port_file = argv[i + 1];
        else if (!strcmp(argv[i], "--flip"))
            flip_at = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--stall"))
            stall_at = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--log"))
            log_path = argv[i + 1];
        else if (!strcmp(argv[i], "--stall-ms"))
            stall_ms = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--cut")) {
            for (char *s = strtok(argv[i + 1], ","); s && ncuts < MAX_CUTS; s = strtok(NULL, ","))
                cuts[ncuts++] = atoll(s);
        } else {
            fprintf(stderr, "usage: otter_faultproxy --target PORT --port-file F [--cut N,...] "
                            "[--flip N] [--stall N --stall-ms T [--stall-any]] [--log F]\n");
            return 2;
        }
    }
    if (!target || !port_file) {
        fprintf(stderr, "otter_faultproxy: --target and --port-file are required\n");
        return 2;
    }
    signal(SIGCHLD, SIG_IGN); /* children reap themselves */
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 64) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &alen) < 0) {
        perror("listen");
        return 1;
    }
    FILE *f = fopen(port_file, "w");
    if (!f)
        return 1;
    fprintf(f, "%d\n", ntohs(a.sin_port));
    fclose(f);
    for (int index = 0;; index++) {
        int c = accept(ls, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(ls);
            proxy(c, target, index);
            _exit(0);
        }
        close(c);
    }
}
