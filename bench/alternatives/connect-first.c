/*
 * connect-first: the practical lower bound for "N requests that really
 * overlap".
 *
 * Usage: connect-first [-m MAX] [-t SECONDS] [-X METHOD] [-q] N URLFILE
 *
 * URLFILE lists one http:// URL per line ("-" reads standard input).  Every
 * URL gets N requests, all URLs at once.  The program
 *   1. opens all sockets (at most MAX, default: all of them) and starts a
 *      non-blocking connect() on each,
 *   2. waits with poll() until every one of them is connected,
 *   3. writes all requests back to back, one send() per socket,
 *   4. reads all responses (Content-Length or close-delimited).
 * With -m MAX smaller than the number of requests, the first MAX requests
 * go out as above; after that a finished keep-alive connection carries the
 * next request at once (a closed one is replaced by a new connection), so at
 * most MAX requests are ever in flight.  Requests are started URL by URL, so
 * the N requests of one URL are in flight together whenever MAX >= N.
 *
 * Output: one summary line on stdout; exit 0 if every request got a 2xx
 * answer, 1 otherwise, 2 on usage errors.  Plain POSIX sockets and poll(),
 * no other dependencies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX 8192           /* responses of the platform are ~300 bytes */

struct target {                 /* one URL */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char *request;          /* the complete HTTP request */
	size_t reqlen;
};

enum state { S_FREE, S_CONNECTING, S_CONNECTED, S_SENDING, S_READING };

struct conn {
	int fd;
	enum state st;
	int target;             /* index into targets of the current request */
	size_t sent;
	size_t got;
	char buf[RESP_MAX];
};

static struct target *targets;
static size_t ntargets;
static struct conn *conns;
static struct pollfd *pfds;
static size_t nconns;           /* slots = min(MAX, total requests) */

static size_t total, next_req;  /* requests: all, next to start */
static size_t per_target;       /* N: requests per URL */
static size_t ok, failed, done;
static bool quiet;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *msg)
{
	perror(msg);
	exit(2);
}

/* Parse "http://host[:port]/path" into a target; returns false on error. */
static bool parse_url(const char *url, const char *method, struct target *t)
{
	const char *p, *hostend, *path;
	char host[256], port[16] = "80";
	size_t hl;

	if (strncmp(url, "http://", 7) != 0)
		return false;
	p = url + 7;
	path = strchr(p, '/');
	if (!path)
		path = p + strlen(p);
	if (*p == '[') {                        /* [v6]:port */
		hostend = memchr(p, ']', path - p);
		if (!hostend)
			return false;
		hl = hostend - p - 1;
		if (hl >= sizeof(host))
			return false;
		memcpy(host, p + 1, hl);
		hostend++;
	} else {
		hostend = memchr(p, ':', path - p);
		if (!hostend)
			hostend = path;
		hl = hostend - p;
		if (hl == 0 || hl >= sizeof(host))
			return false;
		memcpy(host, p, hl);
	}
	host[hl] = '\0';
	if (hostend < path && *hostend == ':') {
		size_t pl = path - hostend - 1;
		if (pl == 0 || pl >= sizeof(port))
			return false;
		memcpy(port, hostend + 1, pl);
		port[pl] = '\0';
	}

	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "connect-first: %s: %s\n", url, gai_strerror(rc));
		return false;
	}
	memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
	t->addrlen = res->ai_addrlen;
	freeaddrinfo(res);

	int n = asprintf(&t->request,
			 "%s %s HTTP/1.1\r\nHost: %.*s\r\n"
			 "User-Agent: connect-first\r\nAccept: */*\r\n\r\n",
			 method, *path ? path : "/", (int)(path - p), p);
	if (n < 0)
		die("asprintf");
	t->reqlen = n;
	return true;
}

static void load_urls(const char *file, const char *method)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;

	if (!f)
		die(file);
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
				   line[len - 1] == ' '))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (ntargets == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			targets = realloc(targets, alloc * sizeof(*targets));
			if (!targets)
				die("realloc");
		}
		if (!parse_url(line, method, &targets[ntargets])) {
			fprintf(stderr, "connect-first: bad URL: %s\n", line);
			exit(2);
		}
		ntargets++;
	}
	free(line);
	if (f != stdin)
		fclose(f);
}

static void finish(struct conn *c, bool success)
{
	if (success)
		ok++;
	else
		failed++;
	done++;
	c->st = S_FREE;
}

static void drop(struct conn *c, size_t i)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	pfds[i].fd = -1;
	pfds[i].events = 0;
}

/* Start a non-blocking connect for the request with index req. */
static void start_connect(size_t i, size_t req)
{
	struct conn *c = &conns[i];
	struct target *t = &targets[req / per_target];
	int one = 1;

	c->target = req / per_target;
	c->sent = c->got = 0;
	c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("connect-first: socket");
		finish(c, false);
		pfds[i].fd = -1;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&t->addr, t->addrlen) < 0 &&
	    errno != EINPROGRESS) {
		finish(c, false);
		drop(c, i);
		return;
	}
	c->st = S_CONNECTING;
	pfds[i].fd = c->fd;
	pfds[i].events = POLLOUT;
}

/* Put the next request on an idle connected socket (window mode). */
static void reuse(size_t i, size_t req)
{
	struct conn *c = &conns[i];
	c->target = req / per_target;
	c->sent = c->got = 0;
	c->st = S_SENDING;
	pfds[i].events = POLLOUT;
}

static void try_send(size_t i)
{
	struct conn *c = &conns[i];
	struct target *t = &targets[c->target];

	while (c->sent < t->reqlen) {
		ssize_t n = send(c->fd, t->request + c->sent, t->reqlen - c->sent,
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				pfds[i].events = POLLOUT;
				c->st = S_SENDING;
				return;
			}
			finish(c, false);
			drop(c, i);
			return;
		}
		c->sent += n;
	}
	c->st = S_READING;
	pfds[i].events = POLLIN;
}

/*
 * Is the response in c->buf complete?  Returns 1 = complete, 0 = need more,
 * -1 = malformed.  *keep tells whether the connection may carry another one.
 */
static int response_complete(struct conn *c, bool eof, int *status, bool *keep)
{
	char *end = memmem(c->buf, c->got, "\r\n\r\n", 4);
	if (!end)
		return eof ? -1 : 0;
	if (c->got < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(c->buf + 9);
	size_t headlen = end + 4 - c->buf;
	long clen = -1;
	*keep = true;
	for (char *p = c->buf; p < end; ) {
		char *eol = memmem(p, end - p + 2, "\r\n", 2);
		if (!eol)
			break;
		if (strncasecmp(p, "content-length:", 15) == 0)
			clen = strtol(p + 15, NULL, 10);
		else if (strncasecmp(p, "connection:", 11) == 0) {
			const char *v = p + 11;
			while (*v == ' ' || *v == '\t')
				v++;
			if (strncasecmp(v, "close", 5) == 0)
				*keep = false;
		}
		p = eol + 2;
	}
	if (clen < 0) {                 /* close-delimited body */
		*keep = false;
		return eof ? 1 : 0;
	}
	if (c->got >= headlen + (size_t)clen)
		return 1;
	return eof ? -1 : 0;
}

static void on_readable(size_t i)
{
	struct conn *c = &conns[i];
	bool eof = false, keep = false;
	int status = 0;

	for (;;) {
		if (c->got == sizeof(c->buf)) {
			finish(c, false);
			drop(c, i);
			return;
		}
		ssize_t n = recv(c->fd, c->buf + c->got, sizeof(c->buf) - c->got, 0);
		if (n > 0) {
			c->got += n;
			continue;
		}
		if (n == 0)
			eof = true;
		else if (errno != EAGAIN && errno != EINTR) {
			finish(c, false);
			drop(c, i);
			return;
		}
		break;
	}
	int rc = response_complete(c, eof, &status, &keep);
	if (rc == 0)
		return;
	finish(c, rc == 1 && status >= 200 && status < 300);
	if (next_req < total) {                 /* window mode: next request */
		size_t req = next_req++;
		if (keep && !eof) {
			reuse(i, req);
			try_send(i);
		} else {
			drop(c, i);
			start_connect(i, req);
		}
	} else {
		drop(c, i);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: connect-first [-m MAX] [-t SECONDS] [-X METHOD] [-q] N URLFILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long max = 0;
	double timeout_s = 60;
	const char *method = "GET";
	int opt;

	while ((opt = getopt(argc, argv, "m:t:X:qh")) != -1) {
		switch (opt) {
		case 'm': max = atol(optarg); if (max < 1) usage(); break;
		case 't': timeout_s = atof(optarg); if (timeout_s <= 0) usage(); break;
		case 'X': method = optarg; break;
		case 'q': quiet = true; break;
		default: usage();
		}
	}
	if (argc - optind != 2)
		usage();
	long n = atol(argv[optind]);
	if (n < 1)
		usage();
	load_urls(argv[optind + 1], method);
	if (ntargets == 0) {
		fprintf(stderr, "connect-first: no URLs\n");
		return 2;
	}

	/* One descriptor per connection, plus a few spare. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	/*
	 * Request k goes to URL k / n: the n requests of one URL are started
	 * together, so with a window they still overlap (when MAX >= n).
	 */
	per_target = (size_t)n;
	total = (size_t)n * ntargets;
	nconns = (max > 0 && (size_t)max < total) ? (size_t)max : total;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && nconns + 16 > rl.rlim_cur) {
		fprintf(stderr, "connect-first: %zu connections exceed RLIMIT_NOFILE %llu\n",
			nconns, (unsigned long long)rl.rlim_cur);
		return 2;
	}
	conns = calloc(nconns, sizeof(*conns));
	pfds = calloc(nconns, sizeof(*pfds));
	if (!conns || !pfds)
		die("calloc");

	double t0 = now_ms(), deadline = t0 + timeout_s * 1e3;

	/* 1. start every connect */
	for (size_t i = 0; i < nconns; i++)
		start_connect(i, next_req++);

	/* 2. wait until all of them are connected (or failed) */
	size_t connecting = 0;
	for (size_t i = 0; i < nconns; i++)
		connecting += conns[i].st == S_CONNECTING;
	while (connecting > 0 && now_ms() < deadline) {
		int r = poll(pfds, nconns, (int)(deadline - now_ms()) + 1);
		if (r < 0 && errno != EINTR)
			die("poll");
		for (size_t i = 0; r > 0 && i < nconns; i++) {
			if (conns[i].st != S_CONNECTING || !pfds[i].revents)
				continue;
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(conns[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
			connecting--;
			if (err) {
				finish(&conns[i], false);
				drop(&conns[i], i);
			} else {
				conns[i].st = S_CONNECTED;
				pfds[i].events = 0;     /* quiet until we write */
			}
		}
	}
	double t_connected = now_ms();

	/* 3. write every request back to back */
	for (size_t i = 0; i < nconns; i++)
		if (conns[i].st == S_CONNECTED)
			try_send(i);
	double t_written = now_ms();

	/* 4. read every response (window mode keeps going until all done) */
	while (done < total && now_ms() < deadline) {
		int r = poll(pfds, nconns, (int)(deadline - now_ms()) + 1);
		if (r < 0 && errno != EINTR)
			die("poll");
		for (size_t i = 0; r > 0 && i < nconns; i++) {
			short ev = pfds[i].revents;
			if (!ev || pfds[i].fd < 0)
				continue;
			struct conn *c = &conns[i];
			if (c->st == S_CONNECTING) {
				int err = 0;
				socklen_t el = sizeof(err);
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err) {
					finish(c, false);
					drop(c, i);
				} else {
					try_send(i);
				}
			} else if (c->st == S_SENDING) {
				try_send(i);
			} else if (c->st == S_READING) {
				on_readable(i);
			}
		}
	}
	/* Whatever is still open at the deadline has failed. */
	for (size_t i = 0; i < nconns; i++)
		if (conns[i].st != S_FREE) {
			finish(&conns[i], false);
			drop(&conns[i], i);
		}
	failed += total - done;         /* never started (deadline) */

	double t_end = now_ms();
	if (!quiet)
		printf("connect-first: urls=%zu n=%ld parallel=%zu sent=%zu ok=%zu failed=%zu "
		       "connect_ms=%.1f write_ms=%.1f wall_ms=%.1f\n",
		       ntargets, n, nconns, total, ok, failed,
		       t_connected - t0, t_written - t_connected, t_end - t0);
	return failed == 0 ? 0 : 1;
}
