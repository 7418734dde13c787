/* SPDX-License-Identifier: MIT */
/*
 * test-http.c: what http and the instance-metadata client do when things
 * fail, on loopback: a failing epoll set ends the loop instead of turning
 * its source off, http_alive() sees a source that is off, and a metadata
 * service that refuses says which step it refused.
 */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http-internal.h"
#include "tests.h"

/* A listening socket on 127.0.0.1, its port in *port. */
static int listener(unsigned *port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || listen(fd, 16) < 0 ||
            getsockname(fd, (struct sockaddr *) &a, &len) < 0) {
                perror("listener");
                exit(2);
        }
        *port = ntohs(a.sin_port);
        return fd;
}

/* Whether an epoll set watches any descriptor: its fdinfo lists one "tfd:" line each. */
static bool watches_any(int epoll_fd) {
        char path[64], line[256];
        bool found = false;
        FILE *f;

        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", epoll_fd);
        f = fopen(path, "re");
        if (!f)
                return false;
        while (!found && fgets(line, sizeof line, f))
                found = strncmp(line, "tfd:", 4) == 0;
        fclose(f);
        return found;
}

static unsigned answers;

/* A loop that would otherwise go on for ever (a source turned off) ends here. */
static int on_give_up(sd_event_source *s, uint64_t usec, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), -ETIMEDOUT);
}

static void on_done(void *userdata, const struct http_response *r) {
        answers++;
}

/*
 * epoll_wait() on curl's set fails: the loop ends with its error, the
 * source stays on (sd-event would have turned it off, had the callback
 * returned the error), and http says it is not alive.
 */
static void test_epoll_failure(void) {
        sd_event *e = NULL;
        struct http *h = NULL;
        unsigned port;
        int l = listener(&port), c, real, bad, enabled = SD_EVENT_OFF, r;
        char url[64];

        snprintf(url, sizeof url, "http://127.0.0.1:%u/", port);
        CHECK(sd_event_new(&e) >= 0 && http_new(e, "test", on_done, &h) >= 0, "set up");
        if (!h)
                return;
        CHECK(http_alive(h), "alive when new");
        CHECK(http_start(h, &(struct http_request) { .name = "t", .url = url, .timeout_usec = 10 * USEC_PER_SEC,
                                                     .host_is_address = true },
                         0, NULL) >= 0,
              "started");
        /* Until curl has connected, sent the request, and waits for the answer in the set. */
        for (int i = 0; i < 500 && !watches_any(h->epoll_fd); i++)
                (void) sd_event_run(e, 10 * USEC_PER_MSEC);
        CHECK(watches_any(h->epoll_fd), "the request's socket is in the set");
        CHECK(http_alive(h), "alive with a request in flight");

        /* The answer makes the set readable, and the set's epoll_wait() fails (EINVAL: not an epoll fd). */
        c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        CHECK(c >= 0 && write(c, "HTTP/1.1 200 OK\r\n", 17) == 17, "answered");
        real = h->epoll_fd;
        bad = open("/dev/null", O_RDONLY | O_CLOEXEC);
        h->epoll_fd = bad;
        (void) sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 5 * USEC_PER_SEC, 0, on_give_up, NULL);
        r = sd_event_loop(e);
        h->epoll_fd = real;
        CHECK(r == -EINVAL, "the loop ended with the error: %d", r);
        CHECK(sd_event_source_get_enabled(h->epoll_source, &enabled) >= 0 && enabled == SD_EVENT_ON,
              "the source was not turned off: %d", enabled);
        CHECK(!http_alive(h), "not alive after a fatal failure");
        CHECK(answers == 0, "no request was answered");

        http_free(h);
        sd_event_unref(e);
        close(bad);
        close(c);
        close(l);
}

/* A source off that should be on: the curl sockets' always, curl's timer while curl wants it. */
static void test_alive(void) {
        sd_event *e = NULL;
        struct http *h = NULL;

        CHECK(sd_event_new(&e) >= 0 && http_new(e, "test", on_done, &h) >= 0, "set up");
        if (!h)
                return;
        CHECK(http_alive(h), "alive");
        CHECK(sd_event_source_set_enabled(h->timer, SD_EVENT_OFF) >= 0 && http_alive(h), "timer off, not wanted: alive");
        h->timer_wanted = true;
        CHECK(!http_alive(h), "timer off while curl wants it: not alive");
        h->timer_wanted = false;
        CHECK(sd_event_source_set_enabled(h->epoll_source, SD_EVENT_OFF) >= 0 && !http_alive(h),
              "the sockets' source off: not alive");
        http_free(h);
        sd_event_unref(e);
}

/* --------------------------------------------------------- instance metadata */

struct imds {
        int listen_fd;
        char request[4096];
        size_t len;
        sd_event_source *client;
};

static int on_client(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        static const char refused[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        struct imds *m = userdata;
        ssize_t n = read(fd, m->request + m->len, sizeof m->request - 1 - m->len);

        if (n > 0) {
                m->len += (size_t) n;
                m->request[m->len] = '\0';
                if (!strstr(m->request, "\r\n\r\n"))
                        return 0;
                if (write(fd, refused, sizeof refused - 1) < 0)
                        perror("write");
        }
        m->client = sd_event_source_disable_unref(m->client);
        close(fd);
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct imds *m = userdata;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (c >= 0 && !m->client)
                (void) sd_event_add_io(sd_event_source_get_event(s), &m->client, c, EPOLLIN, on_client, m);
        else if (c >= 0)
                close(c);
        return 0;
}

static void on_changed(void *userdata) {
        (void) sd_event_exit(userdata, 0);
}

/* A metadata service that refuses the session token: the error names that step in words. */
static void test_imds_refused(void) {
        struct imds m = {};
        sd_event *e = NULL;
        sd_event_source *src = NULL;
        struct aws_cache *c = NULL;
        struct aws *a = NULL;
        const struct aws_credentials *cred;
        const char *why = NULL;
        char base[64];
        unsigned port;
        int r;

        m.listen_fd = listener(&port);
        snprintf(base, sizeof base, "http://127.0.0.1:%u", port);
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
        unsetenv("AWS_SHARED_CREDENTIALS_FILE");
        unsetenv("CREDENTIALS_DIRECTORY");
        unsetenv("AWS_EC2_METADATA_DISABLED");
        unsetenv("AWS_PROFILE");
        unsetenv("AWS_CONFIG_FILE");
        unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);

        CHECK(sd_event_new(&e) >= 0 && sd_event_add_io(e, &src, m.listen_fd, EPOLLIN, on_accept, &m) >= 0 &&
              aws_cache_new(e, on_changed, e, &c) >= 0 && aws_cache_get(c, NULL, &a) >= 0, "set up");
        if (!a)
                return;
        CHECK(aws_get(a, &cred, &why) == -EAGAIN, "fetching");
        r = sd_event_loop(e);
        CHECK(r == 0, "the loop ended when the fetch failed: %d", r);
        CHECK(strncmp(m.request, "PUT /latest/api/token ", 22) == 0, "asked for a session token: %.40s", m.request);
        r = aws_get(a, &cred, &why);
        CHECK(r == -ENOKEY && why && strstr(why, "HTTP 403 fetching the session token (is an instance role attached"),
              "the step in words: %s", why ? why : "(none)");

        aws_cache_free(c);
        sd_event_source_disable_unref(m.client);
        sd_event_source_disable_unref(src);
        sd_event_unref(e);
        close(m.listen_fd);
}

int main(void) {
        test_alive();
        test_epoll_failure();
        test_imds_refused();
        return tests_result("test-http");
}
