#!/bin/bash
# What goes on the wire, as the platform received it: the method (GET by
# default, HEAD, PUT with an empty body, POST with the configured body), the
# configured headers, the User-Agent; and a 3xx answer is not followed.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

start_platform --hold-ms 50 --cold-ms 0
cat >"$WORK/warmd.conf" <<CONF
[global]
timeout = 5s

[get]
url = http://127.0.0.1:$PORT/get
containers = 2
header = X-Warmup: 1
header = Accept:

[head]
url = http://127.0.0.1:$PORT/head
containers = 2
method = HEAD
reuse_header = X-Container-Reused
instance_header = X-Container-Id

[put]
url = http://127.0.0.1:$PORT/put
containers = 2
method = PUT

[post]
url = http://127.0.0.1:$PORT/post
containers = 2
method = POST
header = Content-Type: application/json
body = {"warmup": true}

[redirect]
url = http://127.0.0.1:$PORT/redirect?status=302&location=/target
containers = 2

[moved]
url = http://127.0.0.1:$PORT/moved?status=301&location=http://127.0.0.1:$PORT/target
containers = 2
expect_status = 301
CONF

once "$WORK/warmd.conf"
check_eq "--once: exit 2 (the redirect fails)" 2 "$RC"

# seen PATH EXPRESSION: the expression evaluated for each request the platform saw for PATH
# (s is one request: method, headers, body, body_len); the distinct values, sorted, joined by "|".
seen() {
	report "'|'.join(sorted({str($2) for s in fn('$1')['requests_seen']}))"
}
version=$("$WARMD" --version | awk '{ print $2 }')

check_eq "GET: 2 requests" 2 "$(report 'fn("/get")["requests"]')"
check_eq "GET: the method" GET "$(seen /get 's["method"]')"
check_eq "GET: no body" 0 "$(seen /get 's["body_len"]')"
check_eq "GET: the default User-Agent is warmd/$version" "warmd/$version" "$(seen /get 's["headers"].get("user-agent")')"
check_eq "GET: the configured header" 1 "$(seen /get 's["headers"].get("x-warmup")')"
check_eq "GET: 'Accept:' with no value removes the header" None "$(seen /get 's["headers"].get("accept")')"

check_eq "HEAD: 2 requests" 2 "$(report 'fn("/head")["requests"]')"
check_eq "HEAD: the method" HEAD "$(seen /head 's["method"]')"
check_eq "HEAD: 2 of 2 reached, told from the response headers" "2 2/2" \
	"$(awk '$1 == "head" { print $5, $7 }' "$WORK/out")"

check_eq "PUT: 2 requests" 2 "$(report 'fn("/put")["requests"]')"
check_eq "PUT: the method" PUT "$(seen /put 's["method"]')"
check_eq "PUT without a body: Content-Length: 0, no chunked encoding, no Expect" "('0', None, None, 0)" \
	"$(seen /put '(s["headers"].get("content-length"), s["headers"].get("transfer-encoding"), s["headers"].get("expect"), s["body_len"])')"
check_eq "PUT: 2 of 2 reached" "2/2" "$(awk '$1 == "put" { print $7 }' "$WORK/out")"

check_eq "POST: the method and the body, as configured" 'POST {"warmup": true}' \
	"$(seen /post 's["method"] + " " + s["body"]')"
check_eq "POST: the configured Content-Type" application/json "$(seen /post 's["headers"].get("content-type")')"

check_eq "3xx: the redirecting URL got its 2 requests" 2 "$(report 'fn("/redirect")["requests"]')"
check_eq "3xx: the redirect was not followed" 0 "$(report 'fn("/target")["requests"]')"
check_eq "3xx: the round reached 0 of 2" "0/2" "$(awk '$1 == "redirect" { print $7 }' "$WORK/out")"
check "3xx: each request failed as HTTP 302" \
	test "$(grep -c '^redirect round 1: .*failed: HTTP 302 (expected 2xx)' "$WORK/err")" -eq 2
check_eq "3xx with expect_status = 301: reached 2 of 2, still not followed" "2/2 0" \
	"$(awk '$1 == "moved" { print $7 }' "$WORK/out") $(report 'fn("/target")["requests"]')"
finish
