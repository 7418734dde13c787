/*
 * curl-multi: a plain libcurl multi program, the peer warmd is compared with
 * over HTTPS.
 *
 * Usage: curl-multi [-c CAFILE [-p]] [-2] [-d BODY [-B]] [-m MAX] [-t SECONDS] N URLFILE
 *
 * Every URL in URLFILE gets N requests; all easy handles are added to one
 * multi handle at once and driven with curl_multi_perform() and
 * curl_multi_poll(), the way libcurl's own examples do it.
 *   -c CAFILE  trust CAFILE; the CA path is cleared, so that libcurl keeps
 *              the parsed store in the multi handle (CURLOPT_CA_CACHE_TIMEOUT;
 *              with a CA path set, as Debian's libcurl has by default, it
 *              parses the bundle again for every connection)
 *   -p         keep libcurl's default CA path next to -c CAFILE: what a
 *              program that only sets CURLOPT_CAINFO gets on Debian
 *   -2         CURLOPT_PIPEWAIT: with HTTP/2 (libcurl's default over TLS
 *              where ALPN agrees), the requests of one host share a few
 *              connections as streams
 *   -d BODY    POST BODY instead of a GET
 *   -m MAX     at most MAX connections at once (CURLMOPT_MAX_TOTAL_CONNECTIONS)
 *   -B         hold the bodies: each POST's body
 *              is held back (CURL_READFUNC_PAUSE) until every request has
 *              its connection and has sent its head; then all are released.
 *              A server or gateway that reads whole requests before passing
 *              them on (nginx, API gateways) sees them all complete together.
 * Output: one summary line; exit 0 if every request got a 2xx answer.
 */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct req {
	CURL *easy;
	bool waiting;           /* its read callback has asked for the body */
	bool sent;              /* the body has been handed over */
};

static struct req *reqs;
static size_t nreqs, nwaiting, nfinished;
static bool released;
static const char *body;

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	return s * n;
}

static size_t read_body(char *buf, size_t size, size_t nmemb, void *userdata)
{
	struct req *r = userdata;

	if (!released) {
		if (!r->waiting) {
			r->waiting = true;
			nwaiting++;
		}
		return CURL_READFUNC_PAUSE;
	}
	size_t len = strlen(body);
	if (r->sent || size * nmemb < len)
		return 0;
	memcpy(buf, body, len);
	r->sent = true;
	return len;
}

int main(int argc, char **argv)
{
	const char *cafile = NULL;
	bool h2 = false, hold = false, keep_capath = false;
	long timeout_s = 60, max = 0;
	int opt;

	while ((opt = getopt(argc, argv, "c:2Bd:m:pt:")) != -1) {
		switch (opt) {
		case 'c': cafile = optarg; break;
		case 'd': body = optarg; break;
		case 'm': max = atol(optarg); break;
		case '2': h2 = true; break;
		case 'B': hold = true; break;
		case 'p': keep_capath = true; break;
		case 't': timeout_s = atol(optarg); break;
		default:
			fprintf(stderr, "usage: curl-multi [-c CAFILE [-p]] [-2] [-d BODY [-B]] [-m MAX] [-t SECONDS] N URLFILE\n");
			return 2;
		}
	}
	if (argc - optind != 2 || (hold && !body))
		return 2;
	long n = atol(argv[optind]);
	FILE *f = fopen(argv[optind + 1], "r");
	if (n < 1 || !f) {
		perror(argv[optind + 1]);
		return 2;
	}

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURLM *multi = curl_multi_init();
	if (max > 0)
		curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max);
	char line[4096];
	size_t nurls = 0;
	while (fgets(line, sizeof line, f))
		nurls += line[0] != '\n' && line[0] != '\0';
	rewind(f);
	/* Allocated once: the handles point into it (CURLOPT_PRIVATE, CURLOPT_READDATA). */
	reqs = calloc(nurls * (size_t) n, sizeof *reqs);
	if (!reqs)
		return 2;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		for (long i = 0; i < n; i++) {
			struct req *r = &reqs[nreqs++];
			*r = (struct req) { .easy = curl_easy_init() };
			CURL *e = r->easy;
			curl_easy_setopt(e, CURLOPT_URL, line);
			curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
			curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s);
			curl_easy_setopt(e, CURLOPT_PRIVATE, r);
			if (cafile) {
				curl_easy_setopt(e, CURLOPT_CAINFO, cafile);
				if (!keep_capath)
					curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
			}
			if (h2)
				curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
			if (hold) {
				curl_easy_setopt(e, CURLOPT_POST, 1L);
				curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
				curl_easy_setopt(e, CURLOPT_READFUNCTION, read_body);
				curl_easy_setopt(e, CURLOPT_READDATA, r);
			} else if (body)
				curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
			curl_multi_add_handle(multi, e);
		}
	}
	fclose(f);

	size_t ok = 0, failed = 0;
	int running = 1;
	while (running || nfinished < nreqs) {
		curl_multi_perform(multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			long status = 0;
			struct req *r;
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &r);
			if (m->data.result == CURLE_OK && status >= 200 && status < 300)
				ok++;
			else {
				failed++;
				if (failed <= 3)
					fprintf(stderr, "curl-multi: %s (%ld)\n",
						curl_easy_strerror(m->data.result), status);
			}
			nfinished++;
			/* A request that failed before asking for its body is no longer waited for. */
			if (!r->waiting) {
				r->waiting = true;
				nwaiting++;
			}
		}
		if (hold && !released && nwaiting == nreqs) {
			released = true;
			for (size_t i = 0; i < nreqs; i++)
				curl_easy_pause(reqs[i].easy, CURLPAUSE_CONT);
			continue;
		}
		if (!running && nfinished >= nreqs)
			break;
		curl_multi_poll(multi, NULL, 0, 1000, NULL);
	}
	printf("curl-multi: n=%ld requests=%zu ok=%zu failed=%zu\n", n, nreqs, ok, failed);
	for (size_t i = 0; i < nreqs; i++) {
		curl_multi_remove_handle(multi, reqs[i].easy);
		curl_easy_cleanup(reqs[i].easy);
	}
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	free(reqs);
	return failed == 0 ? 0 : 1;
}
