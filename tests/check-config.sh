#!/bin/bash
# warmd -n: exact output on good and bad files, and the exit codes of the command line.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

cd "$top_srcdir/tests/data"

rc=0
out=$("$WARMD" -n -c good.conf 2>&1) || rc=$?
check_eq "-n good.conf: exit 0" 0 "$rc"
check_eq "-n good.conf: output" "$(cat good.expected)" "$out"

# The shipped file starts the packaged service idle: valid, and no endpoints.
shipped=$top_srcdir/etc/warmd.conf
rc=0
out=$("$WARMD" --check-config -c "$shipped" 2>&1) || rc=$?
check_eq "the shipped etc/warmd.conf is valid and has no endpoints" "0 configuration OK (no endpoints)" "$rc ${out##*$'\n'}"
check_eq "the shipped etc/warmd.conf is all comments" "" "$(grep -vE '^(#|$)' "$shipped" || true)"
# Its examples, uncommented, are a valid file that shows every key of warmd.conf(5).
sed -n 's/^#\([a-z_[]\)/\1/p' "$shipped" >"$WORK/shipped-uncommented.conf"
rc=0
out=$(env -u CREDENTIALS_DIRECTORY "$WARMD" -n -c "$WORK/shipped-uncommented.conf" 2>&1) || rc=$?
check_eq "the shipped etc/warmd.conf, uncommented, is valid" "0 configuration OK" "$rc ${out##*$'\n'}"
missing=
for key in $(grep -oE '^\.It Cm [a-z_]+' "$top_srcdir/man/warmd.conf.5" | awk '{ print $3 }' | sort -u); do
	grep -qE "^$key = " "$WORK/shipped-uncommented.conf" || missing="$missing $key"
done
check_eq "the shipped etc/warmd.conf shows every key of warmd.conf(5)" "" "${missing# }"
check "the shipped etc/warmd.conf has an HTTPS endpoint example" grep -qE '^url = https://' "$WORK/shipped-uncommented.conf"

# No endpoints is a valid configuration: the daemon waits for a reload.
for text in "" "[global]\ninterval = 1m\n"; do
	printf "$text" >"$WORK/empty.conf"
	rc=0
	out=$("$WARMD" -n -c "$WORK/empty.conf" 2>&1) || rc=$?
	check_eq "-n on a file with no endpoints ('$text')" "0 configuration OK (no endpoints)" "$rc ${out##*$'\n'}"
done
rc=0
out=$("$WARMD" --once -c "$WORK/empty.conf" 2>/dev/null) || rc=$?
check_eq "--once with no endpoints: exit 0 and an empty table" "0 1" "$rc $(wc -l <<<"$out")"

rc=0
out=$("$WARMD" -n -c /dev/stdin <good.conf 2>&1) || rc=$?
check_eq "-n on a file that cannot be read twice (a pipe)" "0 configuration OK" "$rc ${out##*$'\n'}"

rc=0
out=$(printf '\xef\xbb\xbf' | cat - good.conf | "$WARMD" -n -c /dev/stdin 2>&1) || rc=$?
check_eq "-n on a file with a UTF-8 byte order mark" "0 configuration OK" "$rc ${out##*$'\n'}"

rc=0
"$WARMD" -n -c bad.conf >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
check_eq "-n bad.conf: exit 1" 1 "$rc"
check_eq "-n bad.conf: nothing on stdout" "" "$(cat "$WORK/stdout")"
if diff -u bad.expected "$WORK/stderr"; then
	pass "-n bad.conf: every error, exactly"
else
	fail "-n bad.conf: errors differ from bad.expected (diff above)"
fi

check "-n bad.conf: no URL password or query key in the output" \
	bash -c '! grep -E "PASSWORD|KEY" "$1"' _ "$WORK/stderr"

# What is read is bounded: a device that never ends, and a file of errors.
rc=0
out=$("$WARMD" -n -c /dev/zero 2>&1) || rc=$?
check_eq "-n on /dev/zero: exit 1 and one clear error" \
	"1 /dev/zero: too large: warmd reads at most 16777216 bytes (16 MiB), credentials included" "$rc $out"
{ printf '[e]\nurl = http://127.0.0.1/\ncontainers = 1\n'; for i in $(seq 1000); do echo junk; done; } >"$WORK/junk.conf"
rc=0
"$WARMD" -n -c "$WORK/junk.conf" >/dev/null 2>"$WORK/stderr" || rc=$?
check_eq "-n on 1000 bad lines: exit 1, the first 100 errors, then how many more" \
	"1 101 $WORK/junk.conf:4: syntax error: expected '[section]' or 'key = value' $WORK/junk.conf: and 900 more errors" \
	"$rc $(wc -l <"$WORK/stderr") $(head -1 "$WORK/stderr") $(tail -1 "$WORK/stderr")"
printf '[e]\nurl = http://127.0.0.1/\ncontainers = 1\nheader = Authorization: Bearer abc\0def\n' >"$WORK/nul.conf"
rc=0
out=$("$WARMD" -n -c "$WORK/nul.conf" 2>&1) || rc=$?
check_eq "-n on a NUL byte in a header" "1 $WORK/nul.conf:4: NUL byte at column 35" "$rc $out"

rc=0
out=$("$WARMD" -n -c missing.conf 2>&1) || rc=$?
check_eq "-n on a missing file" "1 missing.conf: cannot read: No such file or directory" "$rc $out"

rc=0
"$WARMD" --bogus >/dev/null 2>&1 || rc=$?
check_eq "unknown option: exit 1" 1 "$rc"
rc=0
"$WARMD" -n extra-argument >/dev/null 2>&1 || rc=$?
check_eq "stray argument: exit 1" 1 "$rc"
rc=0
out=$("$WARMD" --json -c good.conf 2>&1) || rc=$?
check_eq "--json without -n, --once or --discover: exit 1, and why" "1 warmd: --json needs --check-config, --once or --discover" "$rc $out"
rc=0
out=$("$WARMD" --version) || rc=$?
check "--version prints the version" grep -q "^warmd [0-9]" <<<"$out"
rc=0
"$WARMD" --help | grep -q -- "--check-config" || rc=$?
check_eq "--help lists the options" 0 "$rc"

# A daemon started on a bad file does not start.
rc=0
"$WARMD" -c bad.conf >/dev/null 2>&1 || rc=$?
check_eq "daemon on a bad file: exit 1" 1 "$rc"

finish
