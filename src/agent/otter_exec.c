/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct otter_exec {
    pid_t pid;
    int in;  /* our end of the child's stdin, -1 when closed */
    int out; /* our end of its stdout+stderr, -1 at EOF */
    long timeout_ms;
    char tail[OTTER_EXEC_OUTPUT_MAX]; /* ring of the last output bytes */
    size_t tail_pos, tail_len;
    char line[OTTER_EXEC_LINE_MAX + 1]; /* the output line being assembled */
    size_t line_len;
    int line_cut;  /* the line went over OTTER_EXEC_LINE_MAX: the rest is dropped */
    size_t logged; /* lines logged so far */
    otter_exec_line_fn line_fn;
    void *line_user;
    char prefix[96];
    char path[256]; /* for messages */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child: never returns. Only async-signal-safe calls. */
static void child(char *const argv[], char *const envp[], int in, int out)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0);
    if (in < 0)
        in = open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(127);
    close_range(3, ~0u, 0);
    execve(argv[0], argv, envp);
    static const char why[] = "cannot execute it (not executable, a noexec mount, or its #! "
                              "interpreter missing)\n";
    ssize_t ignored = write(2, why, sizeof why - 1);
    (void)ignored;
    _exit(127);
}

int otter_exec_start(char *const argv[], char *const envp[], int with_stdin, long timeout_s,
                     otter_exec **out, otter_err *err)
{
    int sv[2] = {-1, -1}, pipefd[2] = {-1, -1};
    *out = NULL;
    otter_exec *x = calloc(1, sizeof *x);
    if (!x)
        return otter_err_set(err, OTTER_ENOMEM, "out of memory");
    snprintf(x->path, sizeof x->path, "%s", argv[0]);
    const char *base = strrchr(argv[0], '/');
    snprintf(x->prefix, sizeof x->prefix, "%s", base ? base + 1 : argv[0]);
    x->timeout_ms = timeout_s * 1000;
    x->in = x->out = -1;
    if ((with_stdin && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) ||
        pipe2(pipefd, O_CLOEXEC) < 0) {
        int e = errno;
        if (sv[0] >= 0) {
            close(sv[0]);
            close(sv[1]);
        }
        free(x);
        return otter_err_sys(err, OTTER_EIO, e, "%s: cannot make its pipes", argv[0]);
    }
    x->pid = fork();
    if (x->pid == 0)
        child(argv, envp, sv[1], pipefd[1]);
    int e = errno;
    if (sv[1] >= 0)
        close(sv[1]);
    close(pipefd[1]);
    x->in = sv[0];
    x->out = pipefd[0];
    if (x->pid < 0) {
        if (x->in >= 0)
            close(x->in);
        close(x->out);
        free(x);
        return otter_err_sys(err, OTTER_EIO, e, "%s: cannot fork", argv[0]);
    }
    setpgid(x->pid, x->pid); /* also here: no window where a kill misses the group */
    if (x->in >= 0)
        fcntl(x->in, F_SETFL, O_NONBLOCK);
    *out = x;
    return 0;
}

void otter_exec_set_prefix(otter_exec *x, const char *prefix)
{
    snprintf(x->prefix, sizeof x->prefix, "%s", prefix);
}

void otter_exec_set_line_fn(otter_exec *x, otter_exec_line_fn fn, void *user)
{
    x->line_fn = fn;
    x->line_user = user;
}

/* A complete line (or the last, unterminated one) to its reader or the log. */
static void emit_line(otter_exec *x)
{
    x->line[x->line_len] = '\0';
    if (x->line_fn) {
        x->line_fn(x->line_user, x->line);
    } else if (x->logged < OTTER_EXEC_LOG_LINES) {
        /* The log is the agent's: a child cannot forge its lines or send escapes. */
        for (size_t i = 0; i < x->line_len; i++)
            if ((unsigned char)x->line[i] < 0x20 || x->line[i] == 0x7f)
                x->line[i] = '?';
        fprintf(stderr, "otter-agent: %s: %s%s\n", x->prefix, x->line, x->line_cut ? " [cut]" : "");
        if (++x->logged == OTTER_EXEC_LOG_LINES)
            fprintf(stderr, "otter-agent: %s: more output not logged (limit %d lines)\n", x->prefix,
                    OTTER_EXEC_LOG_LINES);
    }
    x->line_len = 0;
    x->line_cut = 0;
}

static void add_output(otter_exec *x, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n')
            emit_line(x);
        else if (x->line_len < OTTER_EXEC_LINE_MAX)
            x->line[x->line_len++] = buf[i];
        else
            x->line_cut = 1;
    }
}

/* Output that ended without a newline is a line too. */
static void flush_line(otter_exec *x)
{
    if (x->line_len || x->line_cut)
        emit_line(x);
}

/* Reads what the child wrote (after poll said it can), keeping the tail; closes out at EOF. */
static void drain(otter_exec *x)
{
    char buf[4096];
    ssize_t n = read(x->out, buf, sizeof buf);
    if (n <= 0) {
        if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(x->out);
            x->out = -1;
        }
        return;
    }
    add_output(x, buf, (size_t)n);
    for (ssize_t i = 0; i < n; i++) {
        x->tail[x->tail_pos] = buf[i];
        x->tail_pos = (x->tail_pos + 1) % sizeof x->tail;
        if (x->tail_len < sizeof x->tail)
            x->tail_len++;
    }
}

static void copy_tail(const otter_exec *x, char *dst)
{
    size_t start = (x->tail_pos + sizeof x->tail - x->tail_len) % sizeof x->tail;
    for (size_t i = 0; i < x->tail_len; i++) {
        char c = x->tail[(start + i) % sizeof x->tail];
        dst[i] = c == '\0' ? ' ' : c;
    }
    dst[x->tail_len] = '\0';
    /* One line in messages: the last newline goes. */
    if (x->tail_len && dst[x->tail_len - 1] == '\n')
        dst[x->tail_len - 1] = '\0';
}

int otter_exec_feed(otter_exec *x, const void *buf, size_t len, otter_err *err)
{
    const char *p = buf;
    int64_t deadline = now_ms() + x->timeout_ms;
    while (len > 0) {
        ssize_t w = send(x->in, p, len, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
            deadline = now_ms() + x->timeout_ms; /* a timeout is for a stall, not the total */
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            char out[OTTER_EXEC_OUTPUT_MAX + 1];
            if (x->out >= 0) /* what it said before it stopped reading */
                while (x->out >= 0 && poll(&(struct pollfd){x->out, POLLIN, 0}, 1, 50) > 0)
                    drain(x);
            copy_tail(x, out);
            return otter_err_sys(err, OTTER_EIO, errno, "%s stopped reading its input: %s", x->path,
                                 out[0] ? out : "(no output)");
        }
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return otter_err_set(err, OTTER_EIO, "%s took no input for %ld s (timeout)", x->path,
                                 x->timeout_ms / 1000);
        struct pollfd fds[2] = {{x->in, POLLOUT, 0}, {x->out, POLLIN, 0}};
        if (poll(fds, x->out >= 0 ? 2 : 1, (int)(left < 1000 ? left : 1000)) > 0 &&
            (fds[1].revents & (POLLIN | POLLHUP)))
            drain(x);
    }
    return 0;
}

static void kill_group(otter_exec *x)
{
    kill(-x->pid, SIGKILL);
    kill(x->pid, SIGKILL);
}

/* 1 when the child has exited (left a zombie: its process group id stays ours). */
static int exited(otter_exec *x)
{
    siginfo_t info = {0};
    return waitid(P_PID, (id_t)x->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == x->pid;
}

int otter_exec_running(otter_exec *x)
{
    return !exited(x);
}

int otter_exec_wait(otter_exec *x, int *status, char output[OTTER_EXEC_OUTPUT_MAX + 1],
                    otter_err *err)
{
    int ret = 0, st = 0, timed_out = 0;
    if (x->in >= 0) {
        close(x->in);
        x->in = -1;
    }
    int64_t deadline = now_ms() + x->timeout_ms;
    while (!exited(x)) {
        if (now_ms() >= deadline) {
            timed_out = 1;
            break;
        }
        /* Output while it runs; 20 ms steps when it has none (or closed it). */
        struct pollfd fd = {x->out, POLLIN, 0};
        if (x->out >= 0 && poll(&fd, 1, 20) > 0)
            drain(x);
        else if (x->out < 0)
            nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    /* Whatever it left running (a background child) goes with it, before the
     * zombie is reaped so the group id cannot have been reused. */
    kill_group(x);
    if (waitpid(x->pid, &st, 0) < 0)
        ret = otter_err_sys(err, OTTER_EIO, errno, "%s: waitpid", x->path);
    *status = timed_out ? 124 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    for (int i = 0; i < 64 && x->out >= 0 && poll(&(struct pollfd){x->out, POLLIN, 0}, 1, 0) > 0;
         i++)
        drain(x);
    flush_line(x);
    if (output)
        copy_tail(x, output);
    if (x->out >= 0)
        close(x->out);
    free(x);
    return ret;
}

void otter_exec_kill(otter_exec *x)
{
    if (!x)
        return;
    kill_group(x);
    waitpid(x->pid, NULL, 0);
    flush_line(x);
    if (x->in >= 0)
        close(x->in);
    if (x->out >= 0)
        close(x->out);
    free(x);
}
