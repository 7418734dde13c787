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
 * and a timer kills it when it takes too long; a killed one is reaped from
 * the loop too (reap_later()).  It starts with nothing of warmd's a program
 * does not expect (child()).  Its stdout holds the secret and is never
 * shown; its stderr is, as one bounded line.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aws-internal.h"

#define PROCESS_TIMEOUT         (60 * USEC_PER_SEC)
#define PROCESS_ARGS_MAX        64
#define PROCESS_STDOUT_MAX      (64 * 1024)
#define PROCESS_STDERR_SHOWN    120     /* characters of stderr shown: a round's reason holds them */

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

/*
 * A killed helper dies at once, unless the kernel holds it (in a
 * filesystem that hangs, say): it is reaped when it has died, by a source
 * of the loop's own that outlives the fetch (floating: the loop holds it,
 * and frees it with itself; it owns the pidfd), and the loop never waits.
 */
static int reaped(sd_event_source *s, pid_t pid, int pidfd) {
        siginfo_t si = {};

        if (waitid(pidfd >= 0 ? P_PIDFD : P_PID, (id_t) (pidfd >= 0 ? pidfd : pid), &si, WEXITED | WNOHANG) < 0 ||
            si.si_pid != 0) {
                /* Hands the loop's reference back, the last one: the source goes, and its pidfd with it. */
                (void) sd_event_source_set_floating(s, false);
                return 1;
        }
        return 0;
}

static int on_reap(sd_event_source *s, int fd, uint32_t revents _unused_, void *userdata) {
        (void) reaped(s, (pid_t) (intptr_t) userdata, fd);
        return 0;
}

/* Without a pidfd, as under valgrind: looked for every 10 ms. */
static int on_reap_poll(sd_event_source *s, uint64_t usec _unused_, void *userdata) {
        if (!reaped(s, (pid_t) (intptr_t) userdata, -1))
                (void) sd_event_source_set_time_relative(s, 10 * USEC_PER_MSEC);
        return 0;
}

static void reap_later(sd_event *e, pid_t pid, int pidfd) {
        sd_event_source *s = NULL;
        siginfo_t si = {};
        int r;

        /* Reaped already, or warmd on its way out (the loop has ended): init reaps what is left of it. */
        if ((waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0) ||
            sd_event_get_state(e) == SD_EVENT_FINISHED) {
                if (pidfd >= 0)
                        close(pidfd);
                return;
        }
        r = pidfd >= 0 ? sd_event_add_io(e, &s, pidfd, EPOLLIN, on_reap, (void *) (intptr_t) pid) :
                         sd_event_add_time_relative(e, &s, CLOCK_MONOTONIC, 10 * USEC_PER_MSEC, 0, on_reap_poll,
                                                    (void *) (intptr_t) pid);
        if (r >= 0 && pidfd >= 0)
                r = sd_event_source_set_io_fd_own(s, true);
        if (r >= 0)
                r = sd_event_source_set_floating(s, true);
        if (r < 0) {
                if (pidfd >= 0 && !(s && sd_event_source_get_io_fd_own(s) > 0))
                        close(pidfd);
                sd_event_source_disable_unref(s);
                log_warning("Cannot wait for the credential_process killed (pid %d): %s", (int) pid, strerror(-r));
                return;
        }
        (void) sd_event_source_set_description(s, "aws-credential-process-reap");
        sd_event_source_unref(s);
}

static void process_stop(struct aws *a) {
        struct process *p = a->priv;

        if (p->pid > 0) {
                /* The helper's group, with what it started; the helper is its leader (spawn()). */
                (void) kill(-p->pid, SIGKILL);
                if (p->pidfd >= 0)
                        (void) syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
                else
                        (void) kill(p->pid, SIGKILL);
                p->pid_source = sd_event_source_disable_unref(p->pid_source);
                reap_later(aws_event(a), p->pid, p->pidfd);
                p->pidfd = -1;
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

        process_stop(a);
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
        process_stop(a);
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
 * The helper starts as from a shell, with nothing of warmd's that a program
 * does not expect:
 *   - no signal blocked, every one at its default: warmd blocks the signals
 *     its event loop reads, and a helper that inherited that could not stop
 *     its own children with SIGTERM;
 *   - an open-file soft limit select() can live with (FD_SETSIZE, 1024) when
 *     warmd's is higher: warmd raises its own to the hard limit for its
 *     rounds, and a program that uses select() breaks past 1024, as systemd
 *     knows when it lowers it again for what it runs;
 *   - no descriptor of warmd's: libcurl's sockets are not close-on-exec;
 *   - a process group of its own, so that a timeout kills what it started.
 * posix_spawn() cannot set a resource limit, hence fork().  Until exec, the
 * child calls only async-signal-safe functions (glibc's execvp() allocates
 * nothing), and says why it could not run through a close-on-exec pipe.
 */
static _Noreturn void child(char *const *argv, int out, int err, int report) {
        /*
         * The kernel's struct sigaction all zero is SIG_DFL, without flags or mask, whatever its layout:
         * through the system call, since glibc's sigaction() refuses its own two real-time signals, which
         * a parent may have left ignored too.
         */
        static const unsigned long dfl[16] = {};
        struct rlimit rl;
        sigset_t none;
        int null, e;

        for (int s = 1; s < _NSIG; s++)
                (void) syscall(SYS_rt_sigaction, s, dfl, NULL, _NSIG / 8);     /* SIGKILL, SIGSTOP: EINVAL */
        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 || setpgid(0, 0) < 0)
                goto fail;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                goto fail;
        if (rl.rlim_cur > FD_SETSIZE) {
                rl.rlim_cur = FD_SETSIZE;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        goto fail;
        }
        null = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
                goto fail;
        /* All but 0, 1, 2 and the report, which closes at exec. */
        if (report > 3 && close_range(3, (unsigned) report - 1, 0) < 0 && errno != ENOSYS)
                goto fail;
        if (close_range((unsigned) report + 1, ~0U, 0) < 0 && errno != ENOSYS)
                goto fail;
        execvp(argv[0], argv);
fail:
        e = errno;
        (void) !write(report, &e, sizeof e);
        _exit(127);
}

/* Starts the helper; the error that kept it from running, as a positive errno, or 0. */
static int spawn(pid_t *ret, char *const *argv, int out, int err) {
        int report[2], e = 0;
        ssize_t n;
        pid_t pid;

        if (pipe2(report, O_CLOEXEC) < 0)
                return errno;
        pid = fork();
        if (pid < 0) {
                e = errno;
                close(report[0]);
                close(report[1]);
                return e;
        }
        if (pid == 0)
                child(argv, out, err, report[1]);
        close(report[1]);
        /* Until its exec, as long as posix_spawn() would have waited. */
        do
                n = read(report[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        close(report[0]);
        if (n == (ssize_t) sizeof e) {
                /* It has exited, or is about to: reaped at once. */
                (void) waitid(P_PID, (id_t) pid, &(siginfo_t) {}, WEXITED);
                return e;
        }
        *ret = pid;
        return 0;
}

static int process_start(struct aws *a) {
        struct process *p = a->priv;
        int out[2] = { -1, -1 }, err[2] = { -1, -1 }, r;
        pid_t pid = 0;

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
        r = spawn(&pid, p->argv, out[1], err[1]);
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
                process_stop(a);
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
        process_stop(a);
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
