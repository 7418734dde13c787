/* SPDX-License-Identifier: MIT */
/*
 * test-journal-writer.c: the native protocol on the wire, and a stalled
 * reader that never blocks the writer, against a socket of the test's own.
 */
#include "config.h"

#include <endian.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "journal-writer.h"
#include "tests.h"
#include "warmd.h"

static char dir[] = "/tmp/test-journal-writer.XXXXXX";
static char path[sizeof dir + 16];

static int listen_at(const char *p) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                perror("socket");
                exit(1);
        }
        return fd;
}

/* One datagram, or -1 when none waits. */
static ssize_t receive(int fd, char *buf, size_t size) {
        return recv(fd, buf, size, MSG_DONTWAIT);
}

static void test_encoding(void) {
        char *fields[] = { (char *) "A=1", (char *) "B=two\nlines", (char *) "no equals sign", (char *) "C=" };
        struct journal_writer *w = NULL;
        uint64_t len = htole64(9);
        char want[64], buf[256];
        size_t n = 0;
        ssize_t got;
        int fd = listen_at(path);

        CHECK(journal_writer_new(path, &w) == 0, "new");
        journal_writer_send(w, fields, ELEMENTSOF(fields));
        got = receive(fd, buf, sizeof buf);

        memcpy(want + n, "A=1\nB\n", 6), n += 6;
        memcpy(want + n, &len, 8), n += 8;
        memcpy(want + n, "two\nlines\nC=\n", 13), n += 13;
        CHECK(got == (ssize_t) n && memcmp(buf, want, n) == 0, "native protocol: %zd bytes, want %zu", got, n);
        CHECK(journal_writer_dropped(w) == 0, "nothing dropped");
        journal_writer_free(w);
        close(fd);
        unlink(path);
}

/* No reader at all (journald not running) is not a record journald refused: nothing counts as dropped. */
static void test_no_journald(void) {
        char *fields[] = { (char *) "MESSAGE=x" };
        struct journal_writer *w = NULL;

        CHECK(journal_writer_new(path, &w) == 0, "new");
        journal_writer_send(w, fields, 1);
        CHECK(journal_writer_dropped(w) == 0, "no journald: nothing dropped");
        journal_writer_free(w);
        CHECK(journal_writer_free(NULL) == NULL, "free(NULL)");
}

/*
 * A reader that takes nothing: the writer returns at once every time,
 * queues up to its limit, then drops and counts.  Once the reader takes
 * records again, every queued record arrives in order, then one record
 * with the exact count of those dropped.
 */
static void test_stalled(void) {
        enum { RECORDS = 4000 };
        static char filler[1000];
        struct journal_writer *w = NULL;
        unsigned received = 0, in_order = 0;
        uint64_t start, dropped, reported = 0;
        char *buf = malloc(64 * 1024);
        sd_event *e = NULL;
        int fd = listen_at(path);

        memset(filler, 'x', sizeof filler - 1);
        CHECK(journal_writer_new(path, &w) == 0 && sd_event_new(&e) >= 0 && buf, "new");
        journal_writer_set_event(w, e);
        start = now_usec(CLOCK_MONOTONIC);
        for (unsigned i = 0; i < RECORDS; i++) {
                char seq[32], *fields[] = { seq, filler };

                snprintf(seq, sizeof seq, "SEQ=%u", i);
                memcpy(filler, "FILLER=", 7);
                journal_writer_send(w, fields, ELEMENTSOF(fields));
        }
        CHECK(now_usec(CLOCK_MONOTONIC) - start < USEC_PER_SEC, "4 MB to a stalled reader took %" PRIu64 " ms",
              usec_to_msec(now_usec(CLOCK_MONOTONIC) - start));
        dropped = journal_writer_dropped(w);
        CHECK(dropped > 0 && dropped < RECORDS, "some dropped: %" PRIu64, dropped);

        /* The reader takes records again: the loop sends the rest. */
        for (int turns = 0; turns < 10000 && !reported; turns++) {
                ssize_t got;

                while ((got = receive(fd, buf, 64 * 1024 - 1)) > 0) {
                        unsigned seq;

                        buf[got] = '\0';
                        if (sscanf(buf, "SEQ=%u", &seq) == 1) {
                                in_order += seq == received;
                                received++;
                        } else if (strstr(buf, "WARMD_DROPPED="))
                                reported = strtoull(strstr(buf, "WARMD_DROPPED=") + 14, NULL, 10);
                }
                (void) sd_event_run(e, 10 * USEC_PER_MSEC);
        }
        CHECK(received + dropped == RECORDS, "%u received and %" PRIu64 " dropped of %u", received, dropped,
              (unsigned) RECORDS);
        CHECK(in_order == received, "in order: %u of %u", in_order, received);
        CHECK(reported == dropped, "the dropped record says %" PRIu64 ", %" PRIu64 " were dropped", reported, dropped);

        journal_writer_free(w);
        sd_event_unref(e);
        free(buf);
        close(fd);
        unlink(path);
}

int main(void) {
        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                return 1;
        }
        snprintf(path, sizeof path, "%s/socket", dir);
        test_encoding();
        test_no_journald();
        test_stalled();
        rmdir(dir);
        return tests_result("test-journal-writer");
}
