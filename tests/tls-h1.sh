#!/bin/bash
# test-timeout: 240
# HTTPS to a TLS front door without HTTP/2 (ALPN gives http/1.1, as Azure's
# do by default), under the default http_version = auto: a round asks what
# the origin speaks with one handshake that sends no request, instead of
# sending leaders ahead of the rest, and reaches N containers with N
# requests; what the origin speaks is remembered, so the daemon's next round
# does not ask again.  A round without bodies goes with
# TLS 1.2 when the server takes it (its requests then wait for the server's
# Finished), one with bodies with any version, and a server that speaks only
# TLS 1.3 is still reached.  Judged by the platform's record and nginx's
# log.  Needs nginx (with TLS and HTTP/2), openssl and curl.
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
# The arrivals, for the log.  Whether the round waited for a scout rather
# than sent leaders ahead is judged below, by nginx's log of the daemon's
# rounds: the arrivals cannot tell, as with TLS 1.2 three leaders go ahead
# of the rest by one handshake, a few ms, as much as a loaded machine's
# stalls put between any two arrivals.
a=$(arrivals /h1get)
say "arrivals (ms): first 6 $("$PYTHON" -c 'import sys; print(eval(sys.argv[1])[:6])' "$a"), last $("$PYTHON" -c 'import sys; print(eval(sys.argv[1])[-1])' "$a")"

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
# Containers held 6 s: a round spread over seconds by a loaded machine's handshakes still overlaps.
sed -e 's/h1get/h1daemon/g' -e 's/hold_ms=3000/hold_ms=6000/' -e '1i [global]\ninterval = 10s\n' "$WORK/get.conf" >"$WORK/daemon.conf"
"$WARMD" -c "$WORK/daemon.conf" >"$WORK/out" 2>"$WORK/err" &
warmd_pid=$!
at_exit "stop_pid $warmd_pid"
wait_for 40 platform_true "fn('/h1daemon')['requests'] >= 2 * $N" || true
terminate "$warmd_pid"
wait_for 5 lines_at_least $((2 * N)) ' /h1daemon$' "$WORK/nginx/access.log" || true
check_eq "daemon: two rounds of $N requests" $((2 * N)) "$(report "fn('/h1daemon')['requests']")"
say "daemon: rounds spread over $(report "(lambda a: '%.0f and %.0f ms' % ((a[$N - 1] - a[0]) * 1000, (a[-1] - a[$N]) * 1000))(sorted(t for t, _, _ in fn('/h1daemon')['arrivals']))")"
check_eq "daemon: each round reached $N containers" "$N $N" \
	"$(report "(lambda a: '%d %d' % (len(set(c for _, c, _ in a[:$N])), len(set(c for _, c, _ in a[$N:]))))(sorted(fn('/h1daemon')['arrivals']))")"
check_eq "daemon: all HTTP/1.1" $((2 * N)) "$(grep -c ' HTTP/1.1 .* /h1daemon$' "$WORK/nginx/access.log")"
check_eq "daemon: the origin was asked what it speaks once, not in each round" 1 \
	"$(grep -c "closed connection while waiting for request, client: 127.0.0.1, server: 127.0.0.1:$H1_PORT\$" "$WORK/nginx/error.log")"

# TLS versions, from an nginx of this test's own that logs them: TLS without
# HTTP/2 on TLS12_PORT (1.2 and 1.3 offered), and only TLS 1.3 on TLS13_PORT.
reset_platform "?kill=1"
read -r TLS12_PORT TLS13_PORT <<<"$(free_ports 2)"
mkdir -p "$WORK/nginx-v/tmp"
cat >"$WORK/nginx-v/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx-v/nginx.pid;
error_log $WORK/nginx-v/error.log info;
events { worker_connections 1024; }
http {
	client_body_temp_path $WORK/nginx-v/tmp/body;
	proxy_temp_path $WORK/nginx-v/tmp/proxy;
	fastcgi_temp_path $WORK/nginx-v/tmp/fastcgi;
	uwsgi_temp_path $WORK/nginx-v/tmp/uwsgi;
	scgi_temp_path $WORK/nginx-v/tmp/scgi;
	log_format v '\$ssl_protocol \$uri';
	access_log $WORK/nginx-v/access.log v;
	server {
		listen 127.0.0.1:$TLS12_PORT ssl;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_certificate $WORK/tls/server.pem;
		ssl_certificate_key $WORK/tls/server.key;
		location / { proxy_pass http://127.0.0.1:$PORT; }
	}
	server {
		listen 127.0.0.1:$TLS13_PORT ssl;
		ssl_protocols TLSv1.3;
		ssl_certificate $WORK/tls/server.pem;
		ssl_certificate_key $WORK/tls/server.key;
		location / { proxy_pass http://127.0.0.1:$PORT; }
	}
}
CONF
nginx=$(PATH=$PATH:/usr/sbin:/sbin command -v nginx)
# start_nginx_v CONF: this test's nginx with CONF, in the background (NGINX_V_PID).
start_nginx_v() {
	"$nginx" -p "$WORK/nginx-v" -e "$WORK/nginx-v/error.log" -c "$1" &
	NGINX_V_PID=$!
	at_exit "stop_pid $NGINX_V_PID"
	wait_for 10 curl -s -o /dev/null --cacert "$CA" "https://127.0.0.1:$TLS12_PORT/_report" ||
		{ cat "$WORK/nginx-v/error.log"; exit 99; }
}
start_nginx_v "$WORK/nginx-v/nginx.conf"

M=50
cat >"$WORK/v.conf" <<CONF
[v12get]
url = https://127.0.0.1:$TLS12_PORT/v12get?hold_ms=3000
containers = $M
ca_file = $CA
timeout = 30s
connect_timeout = 20s
instance_header = X-Container-Id
CONF
sed -e 's/v12get/v12post/g' -e '$a method = POST\nbody = {"warmup": true}' "$WORK/v.conf" >"$WORK/v-post"
sed -e 's/v12get/v12h11/g' -e '$a http_version = 1.1' "$WORK/v.conf" >"$WORK/v-h11"
printf '\n' >>"$WORK/v.conf"
cat "$WORK/v-post" >>"$WORK/v.conf"
once "$WORK/v.conf"
check_eq "TLS 1.2 and 1.3 offered: exit 0" 0 "$RC"
check_eq "TLS 1.2 and 1.3 offered: $M GETs with TLS 1.2, $M POSTs with TLS 1.3 (nginx's log)" "$M $M" \
	"$(grep -c '^TLSv1.2 /v12get$' "$WORK/nginx-v/access.log") $(grep -c '^TLSv1.3 /v12post$' "$WORK/nginx-v/access.log")"
check_eq "TLS 1.2 and 1.3 offered: $M GETs reached $M containers" "$M $M" \
	"$(report "fn('/v12get')['requests']") $(report "fn('/v12get')['distinct_containers']")"

# http_version = 1.1 leaves TLS to libcurl, also once warmd knows the
# origin takes TLS 1.2 (the daemon's second round, after auto's scout).
{ printf '[global]\ninterval = 3s\n\n'; sed '/^\[v12post\]/,$d' "$WORK/v.conf"; printf '\n'; cat "$WORK/v-h11"; } >"$WORK/v11.conf"
"$WARMD" -c "$WORK/v11.conf" >"$WORK/v11.out" 2>"$WORK/v11.err" &
warmd_pid=$!
at_exit "stop_pid $warmd_pid"
wait_for 40 lines_at_least $((2 * M)) ' /v12h11$' "$WORK/nginx-v/access.log" || true
terminate "$warmd_pid"
check_eq "http_version = 1.1: two rounds of $M GETs, all with TLS 1.3 (nginx's log)" "$((2 * M)) 0" \
	"$(grep -c '^TLSv1.3 /v12h11$' "$WORK/nginx-v/access.log") $(grep -c '^TLSv1.2 /v12h11$' "$WORK/nginx-v/access.log")"

# Only TLS 1.3: the scout's handshake with TLS 1.2 is refused, it asks
# again with any version, and the round goes with TLS 1.3.
sed -e "s/$TLS12_PORT/$TLS13_PORT/" -e 's/v12/v13/g' "$WORK/v.conf" >"$WORK/v13.conf"
once "$WORK/v13.conf"
check_eq "only TLS 1.3: exit 0" 0 "$RC"
[ "$RC" = 0 ] || grep -v ' HTTP 200 ' "$WORK/err" | head -5
check_eq "only TLS 1.3: $M GETs and $M POSTs reached $M containers each" "$M $M $M $M" \
	"$(report "fn('/v13get')['requests']") $(report "fn('/v13get')['distinct_containers']") $(report "fn('/v13post')['requests']") $(report "fn('/v13post')['distinct_containers']")"
check_eq "only TLS 1.3: all with TLS 1.3 (nginx's log)" $((2 * M)) "$(grep -c '^TLSv1.3 /v13\(get\|post\)$' "$WORK/nginx-v/access.log")"

# What the origin takes is asked again, not concluded from one failure.
# Rounds started by reloads (a changed endpoint's round starts at once), to
# the same origin, with nginx switched between rounds:
#   1 request      none asked: what it speaks is learnt from the request (TLS 1.3)
#   M              the scout asks for TLS 1.2 (learnt as HTTP/1.1 but not asked yet)
#   M, only 1.3    refused: the round fails, the answer is forgotten
#   M, 1.2 again   the scout asks again, and TLS 1.2 it is
#   M, only 1.3    refused: fails
#   M, only 1.3    the scout is refused TLS 1.2, asks without it: TLS 1.3
reset_platform "?kill=1"
# vswitch_round R COUNT: the daemon's config for round R with COUNT requests.
vswitch_round() {
	sed -e '/^\[v12post\]/,$d' -e "s/v12get?/vswitch?r=$1\&/" -e 's/v12get/vswitch/g' -e "s/^containers = .*/containers = $2/" \
		-e '1i [global]\ninterval = 1h\n' "$WORK/v.conf" >"$WORK/vswitch.conf"
}
# nginx_v PROTOCOLS: this test's nginx, restarted to offer only PROTOCOLS.
nginx_v() {
	stop_pid "$NGINX_V_PID"
	sed "s/ssl_protocols TLSv1.2 TLSv1.3;/ssl_protocols $1;/" "$WORK/nginx-v/nginx.conf" >"$WORK/nginx-v/now.conf"
	start_nginx_v "$WORK/nginx-v/now.conf"
}
# vswitch V N: nginx has logged N requests or more to /vswitch with TLS version V.
vswitch() { wait_for 20 lines_at_least "$2" "^TLSv$1 /vswitch\$" "$WORK/nginx-v/access.log"; }
# vswitch_failed N: the daemon has logged N failed rounds.
vswitch_failed() { wait_for 20 lines_at_least "$1" '^vswitch round [0-9]*: .*, [1-9][0-9]* failed)' "$WORK/vswitch.err"; }
# vswitch_next R COUNT: the daemon's round R, by a reload.
vswitch_next() { vswitch_round "$1" "$2" && kill -HUP "$warmd_pid"; }
vswitch_round 1 1
"$WARMD" -c "$WORK/vswitch.conf" >"$WORK/vswitch.out" 2>"$WORK/vswitch.err" &
warmd_pid=$!
at_exit "stop_pid $warmd_pid"
vswitch 1.3 1 || true
vswitch_next 2 "$M"
check "learnt from 1 request, then a round of $M: with TLS 1.2 (nginx's log)" vswitch 1.2 "$M"
nginx_v TLSv1.3
vswitch_next 3 "$M"
check "TLS 1.2 refused later: the round failed" vswitch_failed 1
nginx_v "TLSv1.2 TLSv1.3"
vswitch_next 4 "$M"
check "TLS 1.2 taken again: the next round asked, and went with TLS 1.2 (nginx's log)" vswitch 1.2 $((2 * M))
nginx_v TLSv1.3
vswitch_next 5 "$M"
vswitch_failed 2 || true
vswitch_next 6 "$M"
check "TLS 1.2 refused for good: the round after the failed one went with TLS 1.3 (nginx's log)" vswitch 1.3 $((M + 1))
terminate "$warmd_pid"
say "nginx's log: $(grep /vswitch "$WORK/nginx-v/access.log" | uniq -c | tr -s ' \n' ' ')"
check_eq "rounds by nginx's log: 1 with TLS 1.3, 2 x $M with TLS 1.2, $M with TLS 1.3, nothing else" \
	"1 $((2 * M)) $((M + 1)) $((M + 1 + 2 * M))" \
	"$(grep /vswitch "$WORK/nginx-v/access.log" | head -1 | grep -c '^TLSv1.3 /vswitch$') $(grep -c '^TLSv1.2 /vswitch$' "$WORK/nginx-v/access.log") $(grep -c '^TLSv1.3 /vswitch$' "$WORK/nginx-v/access.log") $(grep -c /vswitch "$WORK/nginx-v/access.log")"
finish
