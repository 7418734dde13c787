/*
 * tls-connect-first: the practical lower bound for "N HTTPS requests that
 * really overlap".
 *
 * Usage: tls-connect-first -c CAFILE [-t SECONDS] N URLFILE
 *
 * URLFILE lists https:// URLs, one per line, with an IP address or a name
 * as host; every URL gets N requests, all URLs at once.  The program
 *   1. starts a non-blocking connect() for every request,
 *   2. runs every TLS handshake (OpenSSL, one SSL_CTX, the CA parsed once,
 *      certificate and host name verified) until all are done,
 *   3. writes all requests back to back, one SSL_write() each,
 *   4. reads all responses (HTTP/1.1, Content-Length).
 * Output: one summary line; exit 0 if every request got a 2xx answer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX 8192

struct target {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[256];
	char *request;
	size_t reqlen;
};

enum state { S_DONE, S_CONNECTING, S_HANDSHAKE, S_READY, S_READING };

struct conn {
	int fd;
	SSL *ssl;
	enum state st;
	struct target *t;
	size_t got;
	char buf[RESP_MAX];
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool parse_url(const char *url, struct target *t)
{
	const char *p, *path, *colon;
	char port[16] = "443";

	if (strncmp(url, "https://", 8) != 0)
		return false;
	p = url + 8;
	path = strchr(p, '/');
	if (!path)
		path = p + strlen(p);
	colon = memchr(p, ':', path - p);
	size_t hl = (colon ? colon : path) - p;
	if (hl == 0 || hl >= sizeof t->host)
		return false;
	memcpy(t->host, p, hl);
	t->host[hl] = '\0';
	if (colon) {
		size_t pl = path - colon - 1;
		if (pl == 0 || pl >= sizeof port)
			return false;
		memcpy(port, colon + 1, pl);
		port[pl] = '\0';
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	if (getaddrinfo(t->host, port, &hints, &res) != 0)
		return false;
	memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
	t->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	int n = asprintf(&t->request, "GET %s HTTP/1.1\r\nHost: %.*s\r\n"
			 "User-Agent: tls-connect-first\r\nAccept: */*\r\n\r\n",
			 *path ? path : "/", (int)(path - p), p);
	if (n < 0)
		return false;
	t->reqlen = n;
	return true;
}

static size_t failed, ok;

static void fail(struct conn *c, struct pollfd *pfd)
{
	if (c->st == S_DONE)
		return;
	failed++;
	c->st = S_DONE;
	pfd->fd = -1;
}

/* Drives one handshake; returns true when it is done (or failed). */
static bool handshake(struct conn *c, struct pollfd *pfd)
{
	int r = SSL_connect(c->ssl);
	if (r == 1) {
		c->st = S_READY;
		pfd->events = 0;
		return true;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		pfd->events = POLLIN;
		return false;
	case SSL_ERROR_WANT_WRITE:
		pfd->events = POLLOUT;
		return false;
	default:
		if (failed < 3)
			fprintf(stderr, "tls-connect-first: handshake: %s\n",
				ERR_reason_error_string(ERR_peek_last_error()));
		ERR_clear_error();
		fail(c, pfd);
		return true;
	}
}

static bool complete(struct conn *c, int *status)
{
	char *end = memmem(c->buf, c->got, "\r\n\r\n", 4);
	if (!end)
		return false;
	*status = atoi(c->buf + 9);
	long clen = 0;
	for (char *p = c->buf; p < end; p++)
		if ((p == c->buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0)
			clen = strtol(p + 15, NULL, 10);
	return c->got >= (size_t)(end + 4 - c->buf) + (size_t)clen;
}

int main(int argc, char **argv)
{
	const char *cafile = NULL;
	double timeout_s = 60;
	int opt;

	while ((opt = getopt(argc, argv, "c:t:")) != -1) {
		switch (opt) {
		case 'c': cafile = optarg; break;
		case 't': timeout_s = atof(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind != 2 || !cafile) {
		fprintf(stderr, "usage: tls-connect-first -c CAFILE [-t SECONDS] N URLFILE\n");
		return 2;
	}
	long n = atol(argv[optind]);
	FILE *f = fopen(argv[optind + 1], "r");
	if (n < 1 || !f)
		return 2;
	struct target *targets = NULL;
	size_t ntargets = 0;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		targets = realloc(targets, (ntargets + 1) * sizeof *targets);
		if (!targets || !parse_url(line, &targets[ntargets])) {
			fprintf(stderr, "tls-connect-first: bad URL %s\n", line);
			return 2;
		}
		ntargets++;
	}
	fclose(f);

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
		fprintf(stderr, "tls-connect-first: cannot load %s\n", cafile);
		return 2;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

	size_t total = (size_t)n * ntargets;
	struct conn *conns = calloc(total, sizeof *conns);
	struct pollfd *pfds = calloc(total, sizeof *pfds);
	if (!conns || !pfds)
		return 2;
	double t0 = now_ms(), deadline = t0 + timeout_s * 1e3;

	/* 1. every connect */
	for (size_t i = 0; i < total; i++) {
		struct conn *c = &conns[i];
		int one = 1;
		c->t = &targets[i / n];
		c->fd = socket(c->t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		pfds[i].fd = c->fd;
		pfds[i].events = POLLOUT;
		c->st = S_CONNECTING;
		if (c->fd < 0) {
			fail(c, &pfds[i]);
			continue;
		}
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(c->fd, (struct sockaddr *)&c->t->addr, c->t->addrlen) < 0 && errno != EINPROGRESS)
			fail(c, &pfds[i]);
	}

	/* 2. every handshake */
	size_t pending = total - failed;
	while (pending > 0 && now_ms() < deadline) {
		if (poll(pfds, total, 1000) < 0 && errno != EINTR)
			return 2;
		for (size_t i = 0; i < total; i++) {
			struct conn *c = &conns[i];
			if (!pfds[i].revents || (c->st != S_CONNECTING && c->st != S_HANDSHAKE))
				continue;
			if (c->st == S_CONNECTING) {
				int err = 0;
				socklen_t el = sizeof err;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err) {
					fail(c, &pfds[i]);
					pending--;
					continue;
				}
				c->ssl = SSL_new(ctx);
				SSL_set_fd(c->ssl, c->fd);
				SSL_set_tlsext_host_name(c->ssl, c->t->host);
				SSL_set1_host(c->ssl, c->t->host);
				c->st = S_HANDSHAKE;
			}
			if (handshake(c, &pfds[i]))
				pending--;
		}
	}
	double t_hs = now_ms();

	/* 3. every request, back to back */
	for (size_t i = 0; i < total; i++) {
		struct conn *c = &conns[i];
		if (c->st != S_READY)
			continue;
		if (SSL_write(c->ssl, c->t->request, (int)c->t->reqlen) != (int)c->t->reqlen) {
			fail(c, &pfds[i]);
			continue;
		}
		c->st = S_READING;
		pfds[i].events = POLLIN;
	}
	double t_written = now_ms();

	/* 4. every response */
	size_t reading = 0;
	for (size_t i = 0; i < total; i++)
		reading += conns[i].st == S_READING;
	while (reading > 0 && now_ms() < deadline) {
		if (poll(pfds, total, 1000) < 0 && errno != EINTR)
			return 2;
		for (size_t i = 0; i < total; i++) {
			struct conn *c = &conns[i];
			if (!pfds[i].revents || c->st != S_READING)
				continue;
			for (;;) {
				int r = SSL_read(c->ssl, c->buf + c->got, (int)(sizeof c->buf - c->got));
				if (r > 0) {
					c->got += r;
					if (c->got == sizeof c->buf)
						break;
					continue;
				}
				if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ)
					break;
				ERR_clear_error();
				fail(c, &pfds[i]);
				reading--;
				break;
			}
			int status;
			if (c->st == S_READING && complete(c, &status)) {
				if (status >= 200 && status < 300)
					ok++;
				else
					failed++;
				c->st = S_DONE;
				pfds[i].fd = -1;
				reading--;
			}
		}
	}
	failed = total - ok;
	printf("tls-connect-first: n=%ld requests=%zu ok=%zu failed=%zu handshakes_ms=%.1f write_ms=%.1f wall_ms=%.1f\n",
	       n, total, ok, failed, t_hs - t0, t_written - t_hs, now_ms() - t0);
	for (size_t i = 0; i < total; i++) {
		if (conns[i].ssl)
			SSL_free(conns[i].ssl);
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	}
	SSL_CTX_free(ctx);
	return failed == 0 ? 0 : 1;
}
