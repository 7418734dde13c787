/* SPDX-License-Identifier: MIT */
/*
 * journal-writer.c: records to journald without ever blocking the event
 * loop.
 *
 * sd_journal_sendv() writes on a blocking socket: when journald stalls and
 * its socket queue is full, it waits, and so would every request and
 * SIGTERM.  libsystemd has no non-blocking variant, and its socket is
 * private to it (systemd's own log.c only bounds the wait, with
 * SO_SNDTIMEO).  So records go out here in journald's native protocol
 * (systemd's JOURNAL_NATIVE_PROTOCOL.md) on a connected non-blocking
 * datagram socket.  A record journald cannot take at once waits in a
 * bounded queue until its socket has room; when the queue is full, records
 * are dropped and counted, and the count becomes a record of its own as
 * soon as journald takes records again.
 */
#include "config.h"

#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "journal-writer.h"
#include "warmd.h"

/*
 * Records journald cannot take at once wait here, oldest first, and go out
 * when its socket has room again: a burst (10,000 round summaries at once,
 * or a socket queue of 10 datagrams where net.unix.max_dgram_qlen is the
 * kernel's default) loses nothing.  Only a journald that stays stalled
 * fills this, and then records are dropped and counted.
 */
/*
 * About 7,000 request records of 300 bytes: journald took 15,000 records a
 * second on a loaded 2-core machine, and warmd writes at most 10,000 request
 * records in 30 s, so this holds the longest burst (every first round at
 * once) while journald waits for a CPU, and only a journald that stays
 * stalled for seconds fills it.  256 KiB lost 1,500 of 11,500 records of
 * such a burst there.
 */
#define QUEUE_BYTES_MAX (2U * 1024U * 1024U)

struct queued {
        struct queued *next;
        size_t size;
        char data[];
};

struct journal_writer {
        struct sockaddr_un address;
        int fd;                         /* connected to journald; -1: not open */
        sd_event *event;                /* where to wait for journald to take records again */
        sd_event_source *watch;         /* EPOLLOUT, only while records wait */
        struct queued *head, *tail;
        size_t queued_bytes;
        uint64_t dropped;               /* records dropped since the last report */
        uint64_t dropped_since;         /* CLOCK_REALTIME usec of the first of them */
        uint64_t dropped_total;
};

int journal_writer_new(const char *socket_path, struct journal_writer **ret) {
        struct journal_writer *w;

        if (strlen(socket_path) >= sizeof w->address.sun_path)
                return -ENAMETOOLONG;
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->address.sun_family = AF_UNIX;
        strcpy(w->address.sun_path, socket_path);
        w->fd = -1;
        *ret = w;
        return 0;
}

/* A record in the native protocol: per field NAME=value\n, or NAME\n, a 64-bit length, value, \n. */
struct encoded {
        struct iovec *iov;
        uint64_t *lengths;
        size_t n;
};

static void encoded_done(struct encoded *e) {
        free(e->iov);
        *e = (struct encoded) {};
}

static int encode(struct encoded *e, char *const *fields, size_t n) {
        static char newline[] = "\n";

        /* One block: up to five pieces per field, then the length of each. */
        *e = (struct encoded) { .iov = malloc(n * (5 * sizeof(struct iovec) + sizeof(uint64_t)) + 1) };
        if (!e->iov)
                return -ENOMEM;
        e->lengths = (uint64_t *) (e->iov + 5 * n);
        for (size_t i = 0; i < n; i++) {
                char *f = fields[i], *eq = strchr(f, '=');

                if (!eq)
                        continue;
                if (!strchr(eq + 1, '\n')) {
                        e->iov[e->n++] = (struct iovec) { f, strlen(f) };
                        e->iov[e->n++] = (struct iovec) { newline, 1 };
                        continue;
                }
                /* A value with a newline in it goes with its length in front. */
                e->lengths[i] = htole64(strlen(eq + 1));
                e->iov[e->n++] = (struct iovec) { f, (size_t) (eq - f) };
                e->iov[e->n++] = (struct iovec) { newline, 1 };
                e->iov[e->n++] = (struct iovec) { &e->lengths[i], sizeof e->lengths[i] };
                e->iov[e->n++] = (struct iovec) { eq + 1, strlen(eq + 1) };
                e->iov[e->n++] = (struct iovec) { newline, 1 };
        }
        return 0;
}

static void writer_close(struct journal_writer *w) {
        w->watch = sd_event_source_disable_unref(w->watch);
        if (w->fd >= 0)
                close(w->fd);
        w->fd = -1;
}

static int writer_open(struct journal_writer *w) {
        int fd, r;

        if (w->fd >= 0)
                return 0;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* Connected, so that EPOLLOUT says when journald's queue has room again. */
        if (connect(fd, (const struct sockaddr *) &w->address, sizeof w->address) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        w->fd = fd;
        return 0;
}

/* A record too large for one datagram goes in a sealed memfd, as sd_journal_sendv() sends it. */
static int send_memfd(struct journal_writer *w, const struct iovec *iov, size_t n) {
        union {
                struct cmsghdr cmsg;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr mh = { .msg_control = &control, .msg_controllen = sizeof control };
        size_t total = 0;
        int fd, r = 0;

        for (size_t i = 0; i < n; i++)
                total += iov[i].iov_len;
        fd = memfd_create("warmd-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        if (writev(fd, iov, (int) n) != (ssize_t) total ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                r = errno > 0 ? -errno : -EIO;
        else {
                control.cmsg = (struct cmsghdr) { .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
                                                  .cmsg_type = SCM_RIGHTS };
                memcpy(CMSG_DATA(&control.cmsg), &fd, sizeof(int));
                if (sendmsg(w->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                        r = -errno;
        }
        close(fd);
        return r;
}

/* -EAGAIN: journald's queue is full; -ENOTCONN: there is no journald; anything else: it refused the record. */
static int writer_send(struct journal_writer *w, const struct iovec *iov, size_t n) {
        struct msghdr mh = { .msg_iov = (struct iovec *) iov, .msg_iovlen = n };
        int r = 0;

        for (int attempt = 0; attempt < 2; attempt++) {
                if (writer_open(w) < 0)
                        return -ENOTCONN;
                if (sendmsg(w->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
                        return 0;
                r = -errno;
                if (r == -EMSGSIZE || r == -ENOBUFS)
                        return send_memfd(w, iov, n);
                if (r != -ECONNREFUSED && r != -ENOTCONN)
                        return r;
                writer_close(w);        /* journald went away; connect to the new one */
        }
        return r == -ENOTCONN ? -ECONNREFUSED : r;
}

static int on_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void watch_writable(struct journal_writer *w) {
        if (w->event && !w->watch && w->fd >= 0 &&
            sd_event_add_io(w->event, &w->watch, w->fd, EPOLLOUT, on_writable, w) >= 0)
                (void) sd_event_source_set_description(w->watch, "journal-writable");
}

static void count_dropped(struct journal_writer *w) {
        if (w->dropped++ == 0)
                w->dropped_since = now_usec(CLOCK_REALTIME);
        w->dropped_total++;
}

static void enqueue(struct journal_writer *w, const struct iovec *iov, size_t n) {
        struct queued *q;
        size_t size = 0;

        for (size_t i = 0; i < n; i++)
                size += iov[i].iov_len;
        if (w->queued_bytes + size > QUEUE_BYTES_MAX || !(q = malloc(sizeof *q + size))) {
                count_dropped(w);
                return;
        }
        *q = (struct queued) { .size = size };
        size = 0;
        for (size_t i = 0; i < n; i++) {
                memcpy(q->data + size, iov[i].iov_base, iov[i].iov_len);
                size += iov[i].iov_len;
        }
        if (w->tail)
                w->tail->next = q;
        else
                w->head = q;
        w->tail = q;
        w->queued_bytes += q->size;
        watch_writable(w);
}

static void drop_queue(struct journal_writer *w) {
        while (w->head) {
                struct queued *q = w->head;

                w->head = q->next;
                free(q);
        }
        w->tail = NULL;
        w->queued_bytes = 0;
}

/* The record that says how many records journald did not take. */
static int report_dropped(struct journal_writer *w) {
        char id[64], prio[16], count[48], msg[160], ident[64], when[16] = "";
        char *fields[] = { id, prio, ident, count, msg };
        time_t since = (time_t) (w->dropped_since / USEC_PER_SEC);
        struct iovec iov[2 * ELEMENTSOF(fields)];
        struct tm tm;
        int r;

        if (localtime_r(&since, &tm))
                strftime(when, sizeof when, "%H:%M:%S", &tm);
        snprintf(id, sizeof id, "MESSAGE_ID=%s", WARMD_MESSAGE_JOURNAL_DROPPED);
        snprintf(prio, sizeof prio, "PRIORITY=%d", LOG_WARNING);
        snprintf(ident, sizeof ident, "SYSLOG_IDENTIFIER=%s", PACKAGE_NAME);
        snprintf(count, sizeof count, "WARMD_DROPPED=%" PRIu64, w->dropped);
        snprintf(msg, sizeof msg, "MESSAGE=journald did not take records from %s on: %" PRIu64 " record%s dropped",
                 when, w->dropped, w->dropped == 1 ? "" : "s");
        /* No newline in any of these, and no allocation when memory may be what is short. */
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                iov[2 * i] = (struct iovec) { fields[i], strlen(fields[i]) };
                iov[2 * i + 1] = (struct iovec) { (char *) "\n", 1 };
        }
        r = writer_send(w, iov, ELEMENTSOF(iov));
        if (r >= 0)
                w->dropped = 0;
        return r;
}

/* Sends what waits, oldest first, then the count of what was dropped; -EAGAIN while journald is full. */
static int flush(struct journal_writer *w) {
        int r;

        while (w->head) {
                struct queued *q = w->head;

                r = writer_send(w, &(struct iovec) { q->data, q->size }, 1);
                if (r == -EAGAIN)
                        return r;
                if (r < 0 && r != -ENOTCONN)
                        count_dropped(w);
                w->head = q->next;
                if (!w->head)
                        w->tail = NULL;
                w->queued_bytes -= q->size;
                free(q);
        }
        r = w->dropped > 0 ? report_dropped(w) : 0;
        if (r != -EAGAIN)
                w->watch = sd_event_source_disable_unref(w->watch);
        return r;
}

static int on_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) flush(userdata);
        return 0;
}

void journal_writer_send(struct journal_writer *w, char *const *fields, size_t n) {
        struct encoded e;
        int r;

        if (encode(&e, fields, n) < 0) {
                count_dropped(w);
                return;
        }
        /* Behind records still waiting, or the count of dropped ones, so the journal reads in order. */
        r = w->head || w->dropped > 0 ? flush(w) : 0;
        if (r != -EAGAIN)
                r = writer_send(w, e.iov, e.n);
        if (r == -EAGAIN)
                enqueue(w, e.iov, e.n);
        else if (r < 0 && r != -ENOTCONN)
                count_dropped(w);
        encoded_done(&e);
}

void journal_writer_set_event(struct journal_writer *w, sd_event *e) {
        w->watch = sd_event_source_disable_unref(w->watch);
        w->event = e;
        if (e && w->head)
                watch_writable(w);
}

void journal_writer_flush(struct journal_writer *w, uint64_t timeout_usec) {
        uint64_t end = now_usec(CLOCK_MONOTONIC) + timeout_usec;

        while (flush(w) == -EAGAIN) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);

                if (now >= end ||
                    poll(&(struct pollfd) { .fd = w->fd, .events = POLLOUT }, 1,
                         (int) ((end - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC)) < 0)
                        break;
        }
        drop_queue(w);                  /* journald stays stalled: what still waits is lost */
}

uint64_t journal_writer_dropped(const struct journal_writer *w) {
        return w->dropped_total;
}

struct journal_writer *journal_writer_free(struct journal_writer *w) {
        if (!w)
                return NULL;
        drop_queue(w);
        writer_close(w);
        free(w);
        return NULL;
}
