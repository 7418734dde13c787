#!/bin/bash
# test-timeout: 240
# HTTPS to a TLS front door without HTTP/2 (ALPN gives http/1.1, as Azure's
# do by default), under the default http_version = auto: a round's requests
# leave together, not its first connections ahead of the rest, and reach N
# containers with N requests; what the origin speaks is remembered, so the
# daemon's next round does not ask again.  Judged by the platform's record
# and nginx's log.  Needs nginx (with TLS and HTTP/2), openssl and curl.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --ttl-s 60
start_tls_proxy
CA=$WORK/tls/ca.pem
N=300

# arrivals PATH: the platform's arrival times for PATH, in ms from the first, in order
arrivals() { report "[round((t - min(a[0] for a in fn('$1')['arrivals'])) * 1000, 1) for t in sorted(a[0] for a in fn('$1')['arrivals'])]"; }

cat >"$WORK/get.conf" <<CONF
[h1get]
url = https://127.0.0.1:$H1_PORT/h1get?hold_ms=3000&cold_ms=200
containers = $N
ca_file = $CA
timeout = 30s
connect_timeout = 20s
instance_header = X-Container-Id
CONF
once "$WORK/get.conf"
check_eq "N=$N GET over HTTPS/1.1 under auto: exit 0" 0 "$RC"
[ "$RC" = 0 ] || grep -v ' HTTP 200 ' "$WORK/err" | head -5
check_eq "N=$N GET over HTTPS/1.1 under auto: $N requests, $N containers by the platform's record" "$N $N" \
	"$(report "fn('/h1get')['requests']") $(report "fn('/h1get')['distinct_containers']")"
# Waiting behind leaders (one per 100 requests, as for HTTP/2) sends 3 requests
# first and the rest a full handshake later: the 4th arrival would then come
# long after the 3rd.  Together, the arrivals follow each other closely.
a=$(arrivals /h1get)
say "arrivals (ms): first 6 $("$PYTHON" -c 'import sys; print(eval(sys.argv[1])[:6])' "$a"), last $("$PYTHON" -c 'import sys; print(eval(sys.argv[1])[-1])' "$a")"
check "N=$N GET over HTTPS/1.1 under auto: no 3 requests ahead of the rest (gap after the 3rd < 1/4 of the spread)" \
	"$PYTHON" -c 'import sys; a = eval(sys.argv[1]); sys.exit(not (a[3] - a[2] < a[-1] / 4))' "$a"

# POST holds its body until every connection is up, HTTP/1.1 or not.
reset_platform "?kill=1"
sed -e 's/h1get/h1post/g' -e '/^containers/a method = POST\nbody = {"warmup": true}' "$WORK/get.conf" >"$WORK/post.conf"
once "$WORK/post.conf"
check_eq "N=$N POST over HTTPS/1.1 under auto: exit 0" 0 "$RC"
check_eq "N=$N POST over HTTPS/1.1 under auto: $N requests, $N containers" "$N $N" \
	"$(report "fn('/h1post')['requests']") $(report "fn('/h1post')['distinct_containers']")"

# The daemon, two rounds.  The first round's requests waited for one
# handshake that sent no request (it asked what the origin speaks: nginx
# logs it as closed "while waiting for request"); the second knows, and
# does not ask again.
reset_platform "?kill=1"
: >"$WORK/nginx/access.log"
: >"$WORK/nginx/error.log"
sed -e 's/h1get/h1daemon/g' -e '1i [global]\ninterval = 5s\n' "$WORK/get.conf" >"$WORK/daemon.conf"
"$WARMD" -c "$WORK/daemon.conf" >"$WORK/out" 2>"$WORK/err" &
warmd_pid=$!
at_exit "stop_pid $warmd_pid"
wait_for 30 platform_true "fn('/h1daemon')['requests'] >= 2 * $N" || true
terminate "$warmd_pid"
wait_for 5 lines_at_least $((2 * N)) ' /h1daemon$' "$WORK/nginx/access.log" || true
check_eq "daemon: two rounds of $N requests" $((2 * N)) "$(report "fn('/h1daemon')['requests']")"
check_eq "daemon: each round reached $N containers" "$N $N" \
	"$(report "(lambda a: '%d %d' % (len(set(c for _, c, _ in a[:$N])), len(set(c for _, c, _ in a[$N:]))))(sorted(fn('/h1daemon')['arrivals']))")"
check_eq "daemon: all HTTP/1.1" $((2 * N)) "$(grep -c ' HTTP/1.1 .* /h1daemon$' "$WORK/nginx/access.log")"
check_eq "daemon: the origin was asked what it speaks once, not in each round" 1 \
	"$(grep -c "closed connection while waiting for request, client: 127.0.0.1, server: 127.0.0.1:$H1_PORT\$" "$WORK/nginx/error.log")"
finish
