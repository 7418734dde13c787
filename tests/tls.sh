#!/bin/bash
# test-timeout: 240
# HTTPS through nginx with a fresh test CA: certificates that must not be
# trusted fail each request with the reason and reach nothing; ca_file and
# mutual TLS work; a round of 200 over TLS reaches 200 containers; the CA file
# is parsed once per process and TLS sessions are resumed in the next round.
# Judged by the platform's record and nginx's log, not by warmd's output.
# Needs nginx (with TLS and HTTP/2), openssl and curl, not root.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 150 --cold-ms 100 --ttl-s 60
start_tls_proxy
CA=$WORK/tls/ca.pem

# requests_to PATH: what the platform saw for PATH
requests_to() { report "fn('$1')['requests']"; }

# logged N PATH: waits (up to 5 s) until nginx has logged N requests for PATH (a regex); nginx
# writes its log line after the response, so it may come after warmd has exited
logged() {
	wait_for 5 lines_at_least "$1" " $2\$" "$WORK/nginx/access.log" || true
}

cat >"$WORK/bad.conf" <<CONF
[global]
timeout = 5s

[untrusted]
url = https://127.0.0.1:$TLS_PORT/untrusted
containers = 2

[wronghost]
url = https://127.0.0.1:$WRONGHOST_PORT/wronghost
containers = 2
ca_file = $CA

[expired]
url = https://127.0.0.1:$EXPIRED_PORT/expired
containers = 2
ca_file = $CA
CONF
once "$WORK/bad.conf"
check_eq "untrusted, wrong host, expired: exit 2, short of N" 2 "$RC"
check_eq "untrusted: each request fails with the reason" 2 \
	"$(grep -c '^untrusted round 1: failed .*SSL certificate problem: unable to get local issuer certificate' "$WORK/err")"
check_eq "wrong host name: each request fails with the reason" 2 \
	"$(grep -c "^wronghost round 1: failed .*no alternative certificate subject name matches target host name '127.0.0.1'" "$WORK/err")"
check_eq "expired: each request fails with the reason" 2 \
	"$(grep -c '^expired round 1: failed .*SSL certificate problem: certificate has expired' "$WORK/err")"
check_eq "no request reached the platform" 0 "$(report 'r["requests"]')"

# The same endpoint as "untrusted", with the test CA: it works.
cat >"$WORK/good.conf" <<CONF
[trusted]
url = https://127.0.0.1:$TLS_PORT/trusted
containers = 3
ca_file = $CA
instance_header = X-Container-Id
CONF
once "$WORK/good.conf"
check_eq "ca_file: exit 0" 0 "$RC"
check_eq "ca_file: the platform served 3 containers" 3 "$(report "fn('/trusted')['distinct_containers']")"

# Mutual TLS: the key from a file, and from a credential; refused without a certificate or with one
# from another CA, and then nothing reaches the platform.
mkdir -m 700 "$WORK/creds"
cp "$WORK/tls/client.key" "$WORK/creds/tls-key"
cat >"$WORK/mtls.conf" <<CONF
[global]
ca_file = $CA
timeout = 5s

[with-cert]
url = https://localhost:$MTLS_PORT/with-cert
containers = 2
client_cert = $WORK/tls/client.pem
client_key = $WORK/tls/client.key

[key-credential]
url = https://127.0.0.1:$MTLS_PORT/key-credential
containers = 2
client_cert = $WORK/tls/client.pem
client_key = \${credential:tls-key}

[without-cert]
url = https://127.0.0.1:$MTLS_PORT/without-cert
containers = 2

[stranger-cert]
url = https://127.0.0.1:$MTLS_PORT/stranger-cert
containers = 2
client_cert = $WORK/tls/stranger.pem
client_key = $WORK/tls/stranger.key
CONF
CREDENTIALS_DIRECTORY=$WORK/creds once "$WORK/mtls.conf"
check_eq "mTLS: exit 2 (two endpoints are refused)" 2 "$RC"
check_eq "mTLS: the client certificate is accepted" 2 "$(requests_to /with-cert)"
check_eq "mTLS: the key from a credential is accepted" 2 "$(requests_to /key-credential)"
check_eq "mTLS: without a client certificate, nothing reaches the platform" 0 "$(requests_to /without-cert)"
check_eq "mTLS: with another CA's certificate, nothing reaches the platform" 0 "$(requests_to /stranger-cert)"
check_eq "mTLS: refused requests fail clearly" 4 \
	"$(grep -cE '^(without|stranger)-cert round 1: .*failed: HTTP 400' "$WORK/err")"
key_line=$(sed -n 2p "$WORK/tls/client.key")
check "mTLS: the private key appears nowhere in warmd's output" \
	bash -c '! grep -qF -- "$1" "$2" "$3"' _ "$key_line" "$WORK/out" "$WORK/err"

# A round of 200 over TLS reaches 200 containers in one attempt (no top-up):
# the bodies wait until every request is connected, then go together; nginx
# reads whole requests, as gateways do, before the platform sees them.  Over HTTP/1.1 each request has
# a handshake of its own, and with a container held for 100 ms (+100 ms cold
# start) requests sent as their handshakes end reach far fewer.
reset_platform "?kill=1"
wide_conf() { # VERSION
	cat <<CONF
[wide]
url = https://127.0.0.1:$TLS_PORT/wide?hold_ms=100&cold_ms=100
containers = 200
method = POST
body = {"warmup": true}
ca_file = $CA
timeout = 30s
connect_timeout = 20s
instance_header = X-Container-Id
http_version = $1
topup = no
CONF
}
wide_conf 1.1 >"$WORK/wide.conf"
once "$WORK/wide.conf"
check_eq "N=200 over HTTPS/1.1: exit 0" 0 "$RC"
[ "$RC" = 0 ] || grep -v ' HTTP 200 ' "$WORK/err" | head -5
check_eq "N=200 over HTTPS/1.1: 200 distinct containers by the platform's record" 200 \
	"$(report "fn('/wide')['distinct_containers']")"
check_eq "N=200 over HTTPS/1.1: 200 requests in flight at once" 200 "$(report 'r["max_in_flight"]')"

# The same with the default, HTTP/2: the streams share connections, each still a request of its own.
reset_platform "?kill=1"
: >"$WORK/nginx/access.log"
wide_conf auto >"$WORK/wide.conf"
once "$WORK/wide.conf"
check_eq "N=200 over HTTP/2: exit 0" 0 "$RC"
[ "$RC" = 0 ] || grep -v ' HTTP 200 ' "$WORK/err" | head -5
check_eq "N=200 over HTTP/2: 200 distinct containers by the platform's record" 200 \
	"$(report "fn('/wide')['distinct_containers']")"
logged 200 /wide
check_eq "N=200 over HTTP/2: HTTP/2 by default" 200 "$(grep -c " HTTP/2.0 .* /wide$" "$WORK/nginx/access.log")"
conns=$(awk '$5 == "/wide" { print $4 }' "$WORK/nginx/access.log" | sort -u | wc -l)
check_le "N=200 over HTTP/2: streams shared connections (fewer than 200)" 199 "$conns"

# Two endpoints on one server, one with the test CA as ca_file, one with the
# system store, which does not trust it: the second never rides on a
# connection the first verified, even while that one is open and in use.
reset_platform "?kill=1"
cat >"$WORK/mixed.conf" <<CONF
[global]
topup = no

[trusting]
url = https://127.0.0.1:$TLS_PORT/trusting?hold_ms=5000
containers = 5
interval = 1h
ca_file = $CA

[distrusting]
url = https://127.0.0.1:$TLS_PORT/distrusting
containers = 5
interval = 1s
CONF
"$WARMD" -c "$WORK/mixed.conf" >"$WORK/out" 2>"$WORK/err" &
mixed_pid=$!
at_exit "stop_pid $mixed_pid"
wait_for 10 lines_at_least 3 "^distrusting round [0-9]*: 0 of 5 reached" "$WORK/err" || true
stop_pid "$mixed_pid" || true
check_eq "ca_file kept apart: the trusting endpoint reached 5 containers" 5 "$(requests_to /trusting)"
check_ge "ca_file kept apart: the other endpoint's rounds 1 to 3 failed while those connections were open" 3 \
	"$(grep -c '^distrusting round [0-9]*: 0 of 5 reached' "$WORK/err")"
check_eq "ca_file kept apart: none of its requests reached the platform" 0 "$(requests_to /distrusting)"

# A ca_file whose name holds a ':' after a directory of hashed certificates
# (as c_rehash makes them) that would trust the server: only the file's own
# contents (another CA) count, and the request fails verification.
mkdir "$WORK/hashed"
cp "$CA" "$WORK/hashed/"
openssl rehash "$WORK/hashed" 2>/dev/null || c_rehash "$WORK/hashed" >/dev/null
cp "$WORK/tls/otherca.pem" "$WORK/hashed:other.pem"
cat >"$WORK/colon.conf" <<CONF
[colon]
url = https://127.0.0.1:$TLS_PORT/colon
containers = 1
ca_file = $WORK/hashed:other.pem
CONF
reset_platform "?kill=1"
once "$WORK/colon.conf"
check_eq "ca_file named DIR:x.pem: only its own CA counts, and verification fails" "2 1 0" \
	"$RC $(grep -c '^colon round 1: failed .*unable to get local issuer certificate' "$WORK/err") $(requests_to /colon)"

# GET has no body to hold.  Over HTTP/2 the round makes its connections
# first, one per 100 requests, and sends the rest as streams once they are
# all ready: 300 containers over exactly 3 connections.  (libcurl on its own
# gives each request past the first 100 a connection of its own.)
reset_platform "?kill=1"
: >"$WORK/nginx/access.log"
wide_conf auto | sed -e 's/^containers = 200$/containers = 300/' -e '/^method = /d' -e '/^body = /d' >"$WORK/get.conf"
once "$WORK/get.conf"
check_eq "N=300 GET over HTTP/2: exit 0" 0 "$RC"
[ "$RC" = 0 ] || grep -v ' HTTP 200 ' "$WORK/err" | head -5
check_eq "N=300 GET over HTTP/2: 300 distinct containers by the platform's record" 300 \
	"$(report "fn('/wide')['distinct_containers']")"
logged 300 /wide
check_eq "N=300 GET over HTTP/2: 3 connections, 100 streams each" "3 100 100 100" \
	"$(awk '$5 == "/wide" { print $4 }' "$WORK/nginx/access.log" | sort | uniq -c |
		awk '{ n++; s = s " " $1 } END { print n s }')"

# Endpoints on one origin form one group: 20 endpoints x 10 over HTTP/2 share
# 2 connections.  With max_parallel, requests start as others end, while
# streams of the same connections are still in flight: each request starts
# (a pooled handle that had served such a stream could not), and each
# endpoint reaches its 10 containers.
many_conf() { # [KEY=VALUE...]: more of [global]
	conf ca_file="$CA" timeout=30s connect_timeout=20s topup=no "$@"
	for i in $(seq 20); do
		conf -- "e$i" "https://127.0.0.1:$TLS_PORT/many$i?hold_ms=100&cold_ms=100" 10
	done
}
reset_platform "?kill=1"
: >"$WORK/nginx/access.log"
many_conf >"$WORK/many.conf"
once "$WORK/many.conf"
check_eq "20 endpoints x 10 over HTTP/2: exit 0" 0 "$RC"
check_eq "20 endpoints x 10 over HTTP/2: 10 containers each" "$(printf '10 %.0s' $(seq 20))" \
	"$(for i in $(seq 20); do printf '%s ' "$(report "fn('/many$i')['distinct_containers']")"; done)"
logged 200 '/many[0-9]*'
check_eq "20 endpoints x 10 over HTTP/2: 200 requests over 2 connections" "200 2" \
	"$(grep -c ' /many[0-9]*$' "$WORK/nginx/access.log") $(awk '$5 ~ /^\/many/ { print $4 }' "$WORK/nginx/access.log" | sort -u | wc -l)"
reset_platform "?kill=1"
many_conf max_parallel=30 >"$WORK/queued.conf"
once "$WORK/queued.conf"
check_eq "the same at max_parallel = 30: exit 0" 0 "$RC"
[ "$RC" = 0 ] || grep -v ' HTTP 200 ' "$WORK/err" | head -5
check_eq "the same at max_parallel = 30: 200 requests, none failed to start" "200 0" \
	"$(report 'r["requests"]') $(grep -c 'cannot start request' "$WORK/err" || true)"

# http_version = 1.1: no HTTP/2.
reset_platform "?kill=1"
: >"$WORK/nginx/access.log"
wide_conf 1.1 | sed 's/^containers = 200$/containers = 5/' >"$WORK/h1.conf"
once "$WORK/h1.conf"
logged 5 /wide
check_eq "http_version = 1.1: 5 requests, all HTTP/1.1" "5 5" \
	"$(grep -c ' /wide$' "$WORK/nginx/access.log") $(grep -c ' HTTP/1.1 .* /wide$' "$WORK/nginx/access.log")"
check_eq "http_version = 1.1: one connection per request" 5 \
	"$(awk '$5 == "/wide" { print $4 }' "$WORK/nginx/access.log" | sort -u | wc -l)"

# A server that closes an HTTP/2 connection after 10 requests (GOAWAY, as
# nginx does after keepalive_requests): the requests it did not take go
# again on another connection, bodies from the start.
reset_platform "?kill=1"
cat >"$WORK/goaway.conf" <<CONF
[goaway]
url = https://127.0.0.1:$GOAWAY_PORT/goaway?hold_ms=100&cold_ms=100
containers = 50
method = POST
body = {"warmup": true}
ca_file = $CA
instance_header = X-Container-Id
topup = no
CONF
once "$WORK/goaway.conf"
check_eq "GOAWAY after 10 requests: exit 0" 0 "$RC"
[ "$RC" = 0 ] || grep -v ' HTTP 200 ' "$WORK/err" | head -3
check_eq "GOAWAY after 10 requests: 50 requests with their body, 50 containers" "50 50" \
	"$(report "sum(s['body'] == '{\"warmup\": true}' for s in fn('/goaway')['requests_seen'])") $(report "fn('/goaway')['distinct_containers']")"

# http_version = 2 over plain http: HTTP/2 from the first byte, a connection
# per request (libcurl 7.88 fails a second request on such a connection).
# max_parallel = 5 makes the endpoints' rounds go one after another, where
# a connection of an earlier round would be there to reuse.
reset_platform "?kill=1"
: >"$WORK/nginx/access.log"
{
	conf http_version=2 max_parallel=5 topup=no
	for i in 1 2 3 4; do
		conf -- "h2c$i" "http://127.0.0.1:$H2C_PORT/h2c$i?hold_ms=100&cold_ms=100" 5
	done
} >"$WORK/h2c.conf"
once "$WORK/h2c.conf"
check_eq "http_version = 2 over plain http: exit 0" 0 "$RC"
[ "$RC" = 0 ] || grep -v ' HTTP 200 ' "$WORK/err" | head -3
check_eq "http_version = 2 over plain http: 4 x 5 containers by the platform's record" "5 5 5 5" \
	"$(for i in 1 2 3 4; do printf '%s ' "$(report "fn('/h2c$i')['distinct_containers']")"; done | xargs)"
logged 20 '/h2c[0-9]'
check_eq "http_version = 2 over plain http: 20 requests, all HTTP/2" "20 20" \
	"$(grep -c ' /h2c[0-9]$' "$WORK/nginx/access.log") $(grep -c ' HTTP/2.0 .* /h2c[0-9]$' "$WORK/nginx/access.log")"

# The daemon, two rounds: the CA file is opened (and parsed) once, and the
# second round resumes the TLS sessions of the first.
if command -v strace >/dev/null; then
	: >"$WORK/nginx/access.log"
	cat >"$WORK/daemon.conf" <<CONF
[global]
interval = 1s
ca_file = $CA
http_version = 1.1

[resumed]
url = https://127.0.0.1:$TLS_PORT/resumed
containers = 3
CONF
	# sh execs warmd, so the pid it writes is warmd's; stopping it ends strace too.
	strace -f -qq -e trace=openat -o "$WORK/strace.out" \
		sh -c 'echo $$ >"$1"; exec "$2" -c "$3"' sh "$WORK/warmd.pid" "$WARMD" "$WORK/daemon.conf" \
		>"$WORK/out" 2>"$WORK/err" &
	strace_pid=$!
	at_exit "stop_pid $strace_pid"
	wait_for 10 test -s "$WORK/warmd.pid"
	wait_for 20 platform_true 'fn("/resumed")["requests"] >= 9' || true
	kill "$(cat "$WORK/warmd.pid")" 2>/dev/null || true     # not our child: stop_pid cannot reap it
	stop_pid "$strace_pid" || true    # its status is warmd's, killed by SIGTERM
	check_ge "daemon: three rounds ran" 9 "$(requests_to /resumed)"
	# The load only checks that the file is readable (O_NONBLOCK); OpenSSL's parse opens it plainly.
	check_eq "daemon: the CA file was parsed once for all rounds" "1 1" \
		"$(grep -c "openat(.*\"$CA\", O_RDONLY|O_NOCTTY|O_NONBLOCK" "$WORK/strace.out") $(grep -c "openat(.*\"$CA\", O_RDONLY)" "$WORK/strace.out")"
	check "daemon: a later round resumed TLS sessions" grep -q ' HTTP/1.1 r .* /resumed$' "$WORK/nginx/access.log"
else
	say "strace is not installed: the CA parse count and session reuse are not checked"
fi

# A server that accepts connections and never answers a TLS handshake: the
# handshake that asks a new server what it speaks (ALPN) times out after
# connect_timeout, and the requests that waited for it have spent that time
# already, so every request fails, with its reason,
# and the round ends after about connect_timeout, not twice that.
read -r HOLE_PORT <<<"$(free_ports 1)"
"$PYTHON" -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4096)
time.sleep(120)' "$HOLE_PORT" &
hole_pid=$!
at_exit "stop_pid $hole_pid"
wait_for 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$HOLE_PORT"
cat >"$WORK/hole.conf" <<CONF
[hole]
url = https://127.0.0.1:$HOLE_PORT/hole
containers = 300
ca_file = $CA
connect_timeout = 2s
timeout = 10s
topup = no
CONF
start=$(now_ns)
once "$WORK/hole.conf"
elapsed=$(ms_since "$start")
check_eq "no TLS answer: exit 2" 2 "$RC"
check_eq "no TLS answer: each of the 300 requests failed with a timeout" 300 \
	"$(grep -c '^hole round 1: failed .*[Tt]ime\?d\? \?out' "$WORK/err")"
check_le "no TLS answer: the round ended in connect_timeout (2 s) and a margin, not twice that (ms)" 3500 "$elapsed"
check_eq "no TLS answer: the requests that waited give the reason of the connection they were to share" 300 \
	"$(grep -c '^hole round 1: failed .*timeout (the connection it was to share)' "$WORK/err")"

# A server that takes 1.5 s over each handshake and then never answers: the
# requests that waited for the round's connections have spent that time out
# of their timeout, so every request times out 3 s after the round started.
"$PYTHON" - "$WORK/slow.port" "$WORK/tls/server.pem" "$WORK/tls/server.key" <<'PY' &
import os, socket, ssl, sys, threading, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
ctx.set_alpn_protocols(["h2"])
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1024)
held = []
def slow(c):
    time.sleep(1.5)
    try:
        held.append(ctx.wrap_socket(c, server_side=True))
    except OSError:
        pass
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(1)
end = time.monotonic() + 120
while time.monotonic() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    threading.Thread(target=slow, args=(c,), daemon=True).start()
PY
slow_pid=$!
at_exit "stop_pid $slow_pid"
wait_for 10 test -s "$WORK/slow.port"
cat >"$WORK/slow.conf" <<CONF
[slow]
url = https://127.0.0.1:$(cat "$WORK/slow.port")/slow
containers = 300
ca_file = $CA
connect_timeout = 5s
timeout = 3s
topup = no
CONF
start=$(now_ns)
once "$WORK/slow.conf"
elapsed=$(ms_since "$start")
check_eq "slow handshakes, no answer: each of the 300 requests timed out" 300 \
	"$(grep -c '^slow round 1: failed .*timed out after' "$WORK/err")"
check_le "slow handshakes, no answer: the round ended 3 s (timeout) after it started, not 4.5 (ms)" 4000 "$elapsed"
check_ge "slow handshakes, no answer: each request's time counts from its start, the wait included (ms)" 2900 \
	"$(sed -n 's/^slow round 1: failed after \([0-9]*\) ms.*/\1/p' "$WORK/err" | sort -n | head -1)"

# Two endpoints on that server, with different timeouts: each request keeps
# to its own; the quick one does not wait for the other's connections.
cat >"$WORK/slow2.conf" <<CONF
[global]
ca_file = $CA
topup = no

[patient]
url = https://127.0.0.1:$(cat "$WORK/slow.port")/patient
containers = 5
timeout = 3s

[quick]
url = https://127.0.0.1:$(cat "$WORK/slow.port")/quick
containers = 5
timeout = 1s
CONF
once "$WORK/slow2.conf"
check_le "two timeouts on one server: the quick endpoint's requests ended by its 1 s timeout (ms)" 1200 \
	"$(sed -n 's/^quick round 1: failed after \([0-9]*\) ms.*/\1/p' "$WORK/err" | sort -n | tail -1)"
check_eq "two timeouts on one server: 5 quick requests failed" 5 "$(grep -c '^quick round 1: failed after' "$WORK/err")"
check_eq "two timeouts on one server: the patient endpoint's requests ended by its own 3 s timeout" "5 1" \
	"$(sed -n 's/^patient round 1: failed after \([0-9]*\) ms.*/\1/p' "$WORK/err" | awk '{ n++; ok += $1 >= 2900 && $1 <= 3300 } END { print n, (n == ok) }')"

# Out of descriptors: the requests that were to share the round's HTTP/2
# connections say so too, not "couldn't connect", which would blame the
# endpoint for warmd's own limit.
if command -v prlimit >/dev/null; then
	cat >"$WORK/fds.conf" <<CONF
[global]
ca_file = $CA
topup = no

[hog]
url = https://127.0.0.1:$TLS_PORT/hog
containers = 60
http_version = 1.1

[starved]
url = https://127.0.0.1:$TLS_PORT/starved
containers = 250
CONF
	prlimit --nofile=48:48 "$WARMD" --once -c "$WORK/fds.conf" >"$WORK/out" 2>"$WORK/err" || true
	check_eq "out of descriptors: each of the 250 requests says so" 250 \
		"$(grep -c '^starved round 1: failed .*out of file descriptors (EMFILE' "$WORK/err")"
else
	say "prlimit is not installed: the EMFILE reason of waiting requests is not checked"
fi

# A CA file that changes (a trust store update: a new file renamed over the
# old) is parsed again, and the TLS sessions verified against the old one are
# not offered: the next round makes a full handshake, later ones resume again.
# One container, so that each round has one connection and one session.
: >"$WORK/nginx/access.log"
cp "$CA" "$WORK/ca-copy.pem"
cat >"$WORK/rotate.conf" <<CONF
[global]
interval = 1s
ca_file = $WORK/ca-copy.pem
http_version = 1.1

[rotate]
url = https://127.0.0.1:$TLS_PORT/rotate
containers = 1
CONF
"$WARMD" -c "$WORK/rotate.conf" >"$WORK/out" 2>"$WORK/err" &
rotate_pid=$!
at_exit "stop_pid $rotate_pid"
wait_for 20 platform_true 'fn("/rotate")["requests"] >= 3' || true
logged 3 /rotate
check_eq "CA file unchanged: the second and third rounds resumed their session" "r r" \
	"$(awk '$5 == "/rotate" { print $3 }' "$WORK/nginx/access.log" | sed -n 2,3p | xargs)"
before=$(grep -c ' /rotate$' "$WORK/nginx/access.log")
cp "$CA" "$WORK/ca-new.pem"
mv -f "$WORK/ca-new.pem" "$WORK/ca-copy.pem"
logged $((before + 3)) /rotate
stop_pid "$rotate_pid" || true
check "CA file changed: the next round made a full handshake, then sessions resumed again" \
	bash -c 'awk '\''$5 == "/rotate" { print $3 }'\'' "$1" | tail -n +$(($2 + 1)) | xargs | grep -q "^\(r \)*\. \(\. \)*r"' \
	_ "$WORK/nginx/access.log" "$before"

# A CA file replaced by another CA, while a long request keeps the open
# connections alive: the next rounds are verified against the new CA, on
# new connections, and fail, rather than going over a connection the old
# CA had verified.
reset_platform "?kill=1"
cp "$CA" "$WORK/trust.pem"
cat >"$WORK/trust.conf" <<CONF
[global]
ca_file = $WORK/trust.pem
http_version = 1.1
topup = no

[hold]
url = https://127.0.0.1:$TLS_PORT/hold?hold_ms=15000
containers = 1
timeout = 30s
interval = 1h

[fast]
url = https://127.0.0.1:$TLS_PORT/fast
containers = 1
interval = 1s
CONF
"$WARMD" -c "$WORK/trust.conf" >"$WORK/out" 2>"$WORK/err" &
trust_pid=$!
at_exit "stop_pid $trust_pid"
wait_for 10 platform_true 'fn("/fast")["requests"] >= 2' || true
cp "$WORK/tls/otherca.pem" "$WORK/trust-new.pem"
mv -f "$WORK/trust-new.pem" "$WORK/trust.pem"
before=$(requests_to /fast)
wait_for 10 lines_at_least 3 "^fast round [0-9]*: failed .*unable to get local issuer certificate" "$WORK/err" || true
stop_pid "$trust_pid" || true
check_ge "CA file replaced by another CA: the next rounds failed verification" 3 \
	"$(grep -c '^fast round [0-9]*: failed .*unable to get local issuer certificate' "$WORK/err")"
check_le "CA file replaced by another CA: no request went over a connection the old CA verified" \
	"$((before + 1))" "$(requests_to /fast)"

finish
