/* SPDX-License-Identifier: MIT */
/*
 * aws-process.c: credentials from a profile's credential_process (IAM
 * Roles Anywhere's helper, for one), run as the SDKs run it: the command
 * line split into words (quotes and backslashes as a POSIX shell reads
 * them, no expansion), run without a shell, its stdout parsed as JSON with
 * "Version": 1, AccessKeyId, SecretAccessKey, and, for temporary
 * credentials, SessionToken and Expiration.
 *
 * The process runs beside the event loop: its pipes and a pidfd are event
 * sources (where there is no pidfd, as under valgrind, its exit is looked
 * for every 10 ms once both pipes are closed),
 * and a timer kills it when it takes too long.  Its stdout holds
 * the secret and is never shown; its stderr is, as one bounded line.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aws-internal.h"

#define PROCESS_TIMEOUT         (60 * USEC_PER_SEC)
#define PROCESS_ARGS_MAX        64
#define PROCESS_STDOUT_MAX      (64 * 1024)
#define PROCESS_STDERR_SHOWN    120     /* characters of stderr shown: a round's reason holds them */

extern char **environ;

struct process {
        char **argv;
        pid_t pid;
        int pidfd, out_fd, err_fd;
        sd_event_source *pid_source, *out_source, *err_source, *timeout;
        sd_event_source *poll;          /* without a pidfd: looks for the exit */
        char *out;                      /* stdout: the secret */
        size_t out_len;
        bool out_too_long;
        char err[PROCESS_STDERR_SHOWN + 1];
        size_t err_len;
};

static void argv_free(char **argv) {
        for (size_t i = 0; argv && argv[i]; i++)
                free(argv[i]);
        free(argv);
}

/* Words as a POSIX shell splits them, without expanding anything: '...', "..." and backslashes. */
int aws_process_split(const char *cmd, char ***ret) {
        char **argv = calloc(PROCESS_ARGS_MAX + 1, sizeof *argv);
        size_t n = 0, len = strlen(cmd);
        char *word = NULL, *w = NULL;
        int r = -EINVAL;

        if (!argv)
                return -ENOMEM;
        for (const char *p = cmd;;) {
                p += strspn(p, " \t");
                if (!*p)
                        break;
                if (n >= PROCESS_ARGS_MAX)
                        goto fail;
                word = w = malloc(len + 1);
                if (!word) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (; *p && *p != ' ' && *p != '\t'; p++) {
                        if (*p == '\'') {
                                for (p++; *p && *p != '\''; p++)
                                        *w++ = *p;
                                if (!*p)
                                        goto fail;
                        } else if (*p == '"') {
                                for (p++; *p && *p != '"'; p++) {
                                        if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
                                                p++;
                                        *w++ = *p;
                                }
                                if (!*p)
                                        goto fail;
                        } else if (*p == '\\') {
                                if (!p[1])
                                        goto fail;
                                *w++ = *++p;
                        } else
                                *w++ = *p;
                }
                *w = '\0';
                argv[n++] = word;
                word = NULL;
        }
        if (n == 0)
                goto fail;
        *ret = argv;
        return 0;
fail:
        free(word);
        argv_free(argv);
        return r;
}

static void process_stop(struct process *p) {
        if (p->pid > 0) {
                /* The helper's group, with what it started; the helper is its leader (spawn()). */
                (void) kill(-p->pid, SIGKILL);
                if (p->pidfd >= 0)
                        (void) syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
                else
                        (void) kill(p->pid, SIGKILL);
                (void) waitid(P_PID, (id_t) p->pid, &(siginfo_t) {}, WEXITED);         /* killed: at once */
        }
        p->pid = 0;
        p->pid_source = sd_event_source_disable_unref(p->pid_source);
        p->out_source = sd_event_source_disable_unref(p->out_source);
        p->err_source = sd_event_source_disable_unref(p->err_source);
        p->timeout = sd_event_source_disable_unref(p->timeout);
        p->poll = sd_event_source_disable_unref(p->poll);
        if (p->pidfd >= 0)
                close(p->pidfd);
        if (p->out_fd >= 0)
                close(p->out_fd);
        if (p->err_fd >= 0)
                close(p->err_fd);
        p->pidfd = p->out_fd = p->err_fd = -1;
        if (p->out)
                explicit_bzero(p->out, p->out_len);
        free(p->out);
        p->out = NULL;
        p->out_len = 0;
}

/* Reads what the pipe holds now; stdout up to its limit, stderr's first characters.  Returns 0 at EOF. */
static ssize_t drain(struct process *p, int fd) {
        char buf[4096];
        ssize_t n, total = 0;

        while ((n = read(fd, buf, sizeof buf)) > 0) {
                total += n;
                if (fd == p->out_fd) {
                        char *m;

                        if (p->out_len + (size_t) n > PROCESS_STDOUT_MAX) {
                                p->out_too_long = true;
                                continue;
                        }
                        m = realloc(p->out, p->out_len + (size_t) n + 1);
                        if (!m)
                                return -ENOMEM;
                        p->out = m;
                        memcpy(p->out + p->out_len, buf, (size_t) n);
                        p->out_len += (size_t) n;
                        p->out[p->out_len] = '\0';
                } else
                        for (ssize_t i = 0; i < n && p->err_len < PROCESS_STDERR_SHOWN; i++)
                                /* One line: a control character, a line break too, becomes a blank. */
                                p->err[p->err_len++] = is_control_char((unsigned char) buf[i]) ||
                                                       buf[i] == '\t' ? ' ' : buf[i];
        }
        explicit_bzero(buf, sizeof buf);
        p->err[p->err_len] = '\0';
        if (n < 0 && errno != EAGAIN)
                return -errno;
        return n == 0 ? 0 : 1;
}

static int on_process_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        struct aws *a = userdata;
        struct process *p = a->priv;

        (void) on_process_exit(NULL, -1, 0, a);
        if (p->poll == s)       /* still running */
                (void) sd_event_source_set_time_relative(s, 10 * USEC_PER_MSEC);
        (void) usec;
        return 0;
}

static int on_pipe(sd_event_source *s, int fd, uint32_t revents _unused_, void *userdata) {
        struct aws *a = userdata;
        struct process *p = a->priv;
        int e1 = 0, e2 = 0;

        if (drain(p, fd) > 0)
                return 0;
        /* EOF: the exit will be seen on the pidfd; without one, looked for once both pipes are closed. */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        (void) sd_event_source_get_enabled(p->out_source, &e1);
        (void) sd_event_source_get_enabled(p->err_source, &e2);
        if (p->pidfd < 0 && !e1 && !e2 && !p->poll &&
            sd_event_add_time_relative(aws_event(a), &p->poll, CLOCK_MONOTONIC, 0, 0, on_poll, a) >= 0)
                (void) sd_event_source_set_enabled(p->poll, SD_EVENT_ON);
        return 0;
}

static int on_timeout(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        struct aws *a = userdata;

        process_stop(a->priv);
        aws_fetch_failed(a, "did not finish within %" PRIu64 " s", PROCESS_TIMEOUT / USEC_PER_SEC);
        return 0;
}

static int on_process_exit(sd_event_source *s _unused_, int fd _unused_, uint32_t revents _unused_, void *userdata) {
        struct aws *a = userdata;
        struct process *p = a->priv;
        struct aws_credentials cred = {};
        siginfo_t si = {};
        char err[PROCESS_STDERR_SHOWN + 1];
        bool too_long;
        int q;

        if (waitid(p->pidfd >= 0 ? P_PIDFD : P_PID, (id_t) (p->pidfd >= 0 ? p->pidfd : p->pid), &si,
                   WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return 0;
        p->pid = 0;
        (void) drain(p, p->out_fd);
        (void) drain(p, p->err_fd);
        snprintf(err, sizeof err, "%s", p->err);
        too_long = p->out_too_long;
        q = si.si_code == CLD_EXITED && si.si_status == 0 && !too_long && p->out ?
            aws_credentials_from_json(p->out, p->out_len, "SessionToken", AWS_JSON_VERSION_1, &cred) : -EINVAL;
        process_stop(p);
        if (si.si_code != CLD_EXITED)
                return aws_fetch_failed(a, "killed by signal %d%s%s", si.si_status, err[0] ? ": " : "", err), 0;
        if (si.si_status != 0)
                return aws_fetch_failed(a, "exited with status %d%s%s", si.si_status, err[0] ? ": " : "", err), 0;
        if (too_long)
                return aws_fetch_failed(a, "wrote more than %d bytes", PROCESS_STDOUT_MAX), 0;
        if (q == -ENOMEM)
                return aws_fetch_failed(a, "out of memory"), 0;
        if (q < 0)
                return aws_fetch_failed(a, "its output is not credentials (JSON with \"Version\": 1, "
                                        "AccessKeyId and SecretAccessKey)"), 0;
        aws_fetched(a, &cred);
        return 0;
}

/*
 * The helper starts as from a shell: warmd blocks the signals its event
 * loop reads, and a child would inherit that mask, so a helper could not
 * stop its own children with SIGTERM.  Its own process group lets a timeout
 * kill whatever it started, too.
 */
static int spawn(pid_t *ret, char *const *argv, const posix_spawn_file_actions_t *fa) {
        posix_spawnattr_t attr;
        sigset_t none, all;
        int r;

        r = posix_spawnattr_init(&attr);
        if (r != 0)
                return r;
        sigemptyset(&none);
        sigfillset(&all);
        r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0)
                r = posix_spawnattr_setpgroup(&attr, 0);
        if (r == 0)
                r = posix_spawnp(ret, argv[0], fa, &attr, argv, environ);
        posix_spawnattr_destroy(&attr);
        return r;
}

static int process_start(struct aws *a) {
        struct process *p = a->priv;
        posix_spawn_file_actions_t fa;
        int out[2] = { -1, -1 }, err[2] = { -1, -1 }, r;
        pid_t pid;

        p->err_len = 0;
        p->err[0] = '\0';
        p->out_too_long = false;
        if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                goto fail;
        }
        /* The child's ends become blocking 1 and 2 (dup2 clears O_CLOEXEC; O_NONBLOCK is per open file). */
        (void) fcntl(out[1], F_SETFL, 0);
        (void) fcntl(err[1], F_SETFL, 0);
        r = posix_spawn_file_actions_init(&fa);
        if (r != 0) {
                r = -r;
                goto fail;
        }
        r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, err[1], 2);
        if (r == 0)
                r = spawn(&pid, p->argv, &fa);
        posix_spawn_file_actions_destroy(&fa);
        close(out[1]);
        close(err[1]);
        out[1] = err[1] = -1;
        if (r != 0) {
                close(out[0]);
                close(err[0]);
                aws_fetch_failed(a, "cannot run %s: %s", p->argv[0], strerror(r));
                return 0;
        }
        p->pid = pid;
        p->out_fd = out[0];
        p->err_fd = err[0];
        p->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);        /* -1 before Linux 5.3, and under valgrind */
        r = p->pidfd >= 0 ? sd_event_add_io(aws_event(a), &p->pid_source, p->pidfd, EPOLLIN, on_process_exit, a) : 0;
        if (r >= 0)
                r = sd_event_add_io(aws_event(a), &p->out_source, p->out_fd, EPOLLIN, on_pipe, a);
        if (r >= 0)
                r = sd_event_add_io(aws_event(a), &p->err_source, p->err_fd, EPOLLIN, on_pipe, a);
        if (r >= 0)
                r = sd_event_add_time_relative(aws_event(a), &p->timeout, CLOCK_MONOTONIC, PROCESS_TIMEOUT, 0,
                                               on_timeout, a);
        if (r < 0) {
                process_stop(p);
                return r;
        }
        if (p->pid_source)
                (void) sd_event_source_set_description(p->pid_source, "aws-credential-process");
        (void) sd_event_source_set_description(p->out_source, "aws-credential-process-stdout");
        (void) sd_event_source_set_description(p->err_source, "aws-credential-process-stderr");
        (void) sd_event_source_set_description(p->timeout, "aws-credential-process-timeout");
        return 0;
fail:
        for (size_t i = 0; i < 2; i++) {
                if (out[i] >= 0)
                        close(out[i]);
                if (err[i] >= 0)
                        close(err[i]);
        }
        return r;
}

static void process_free(struct aws *a) {
        struct process *p = a->priv;

        if (!p)
                return;
        process_stop(p);
        argv_free(p->argv);
        free(p);
}

static const struct aws_source_ops process_ops = {
        .start = process_start,
        .free = process_free,
};

int aws_process_setup(struct aws *a, const char *command) {
        struct process *p;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->pidfd = p->out_fd = p->err_fd = -1;
        r = aws_process_split(command, &p->argv);
        if (r == -ENOMEM) {
                free(p);
                return r;
        }
        if (r < 0) {
                free(p);
                /* A source with no fetch: every round says why. */
                aws_set_error(a, "%s: the command line is empty, has an unclosed quote, or more than %d words",
                              a->what, PROCESS_ARGS_MAX);
                return 0;
        }
        a->priv = p;
        a->ops = &process_ops;
        return 0;
}
