/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A child program the agent runs for an install: an install hook or a
 * custom handler (docs/agent.md "Install hooks", docs/porting.md "Custom
 * handlers"). It runs in its own process group, with the environment the
 * caller gives (nothing inherited), no descriptor of the agent's but its
 * stdin (a socket the caller feeds, or /dev/null) and stdout+stderr (one
 * pipe whose last OTTER_EXEC_OUTPUT_MAX bytes are kept for messages). A
 * timeout, or any abort, kills the whole process group with SIGKILL.
 *
 * Its output also reaches the agent's log (stderr) as it comes, line by
 * line: "otter-agent: PREFIX: line", control characters as '?', each line
 * cut at OTTER_EXEC_LINE_MAX bytes, at most OTTER_EXEC_LOG_LINES lines per
 * run (then one line says the rest was not logged). A caller that reads
 * the output itself (a tool's report) sets a line function instead.
 */
#ifndef OTTER_EXEC_H
#define OTTER_EXEC_H

#include <stddef.h>

#include "otter_err.h"

#define OTTER_EXEC_OUTPUT_MAX 1024
#define OTTER_EXEC_LINE_MAX 512  /* bytes of one output line in the log */
#define OTTER_EXEC_LOG_LINES 200 /* output lines logged per run */
/* The PATH every child gets. */
#define OTTER_EXEC_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct otter_exec otter_exec;

/*
 * Starts argv[0] (an absolute path) with argv and envp (both NULL-terminated,
 * copied by the kernel). with_stdin: the child's stdin is a socket fed by
 * otter_exec_feed(); otherwise /dev/null. timeout_s bounds every later wait
 * (each feed and the final wait). Caller ends it with otter_exec_wait() or
 * otter_exec_kill(). OTTER_EIO when it cannot start.
 */
int otter_exec_start(char *const argv[], char *const envp[], int with_stdin, long timeout_s,
                     otter_exec **out, otter_err *err);

/* Log lines as "PREFIX: line" (copied; default: the program's file name). */
void otter_exec_set_prefix(otter_exec *x, const char *prefix);

/* Each output line (NUL-terminated, no newline, cut as above, control
 * characters kept) goes to fn(user, line) instead of the log, unbounded in count. */
typedef void (*otter_exec_line_fn)(void *user, const char *line);
void otter_exec_set_line_fn(otter_exec *x, otter_exec_line_fn fn, void *user);

/*
 * Writes len bytes to the child's stdin, reading its output meanwhile (so a
 * chatty child never blocks us). OTTER_EIO when the child stopped reading
 * (exited: its status and output in the message) or did not take the bytes
 * within the timeout.
 */
int otter_exec_feed(otter_exec *x, const void *buf, size_t len, otter_err *err);

/*
 * Closes stdin (the EOF the child waits for), waits until the child exits
 * or the timeout, kills what is left of its process group and frees x.
 * Returns 0 with *status the exit status (128+signal when killed by one,
 * 124 on timeout), or OTTER_EIO when waiting failed. *output (may be NULL)
 * receives the last bytes of its output, NUL-terminated.
 */
int otter_exec_wait(otter_exec *x, int *status, char output[OTTER_EXEC_OUTPUT_MAX + 1],
                    otter_err *err);

/* True while the child has not exited (it may still be reading its stdin). */
int otter_exec_running(otter_exec *x);

/* Kills the child's process group (SIGKILL), reaps it and frees x. NULL is fine. */
void otter_exec_kill(otter_exec *x);

#endif
