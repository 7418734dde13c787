#!/bin/bash
# test-timeout: 600
# ASan and UBSan: builds warmd with both, then runs the unit tests and the
# integration tests against that build. Any report fails the run.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

command -v gcc >/dev/null || skip "gcc is needed for a sanitizer build"
echo 'int main(void){return 0;}' >"$WORK/t.c"
gcc -fsanitize=address,undefined "$WORK/t.c" -o "$WORK/t" 2>/dev/null || skip "gcc cannot build with -fsanitize=address,undefined here"

# Compiled directly rather than through a second configure: a source tree built in place refuses VPATH builds.
: "${top_builddir:=$top_srcdir}"
[ -f "$top_builddir/config.h" ] || skip "no config.h in $top_builddir; configure first"
PKGS="libcurl libsystemd inih json-c libssl libcrypto"
CFLAGS_SAN="-std=gnu11 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
CPPFLAGS_SAN="-DHAVE_CONFIG_H -DSYSCONFDIR=\"/etc\" -I$top_builddir -I$top_srcdir/src $(pkg-config --cflags $PKGS)"
LIBS_SAN="$(pkg-config --libs $PKGS)"
MODULES="config result journal notify http scheduler sigv4 aws lambda learn metrics"
mkdir -p "$WORK/build/src" "$WORK/build/tests"
build() { # OUTPUT SOURCES...
	local out=$1
	shift
	# shellcheck disable=SC2086
	gcc $CFLAGS_SAN $CPPFLAGS_SAN "$@" -o "$out" $LIBS_SAN >>"$WORK/make.log" 2>&1
}
srcs=()
for m in $MODULES; do srcs+=("$top_srcdir/src/$m.c"); done
ok=1
build "$WORK/build/src/warmd" "${srcs[@]}" "$top_srcdir/src/main.c" || ok=0
for t in config result journal notify sigv4 lambda learn metrics; do
	build "$WORK/build/tests/test-$t" "${srcs[@]}" "$top_srcdir/tests/test-$t.c" || ok=0
done
[ "$ok" = 1 ] || { cat "$WORK/make.log"; fail "sanitizer build"; finish; }

export ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86

for t in config result journal notify sigv4 lambda learn metrics; do
	rc=0
	"$WORK/build/tests/test-$t" >"$WORK/unit-$t.log" 2>&1 || rc=$?
	check_eq "test-$t under ASan/UBSan" 0 "$rc"
	[ "$rc" = 0 ] || cat "$WORK/unit-$t.log"
done

for t in check-config once overlap daemon http reload reload-apply dns bad-host body lambda tls topup reclaim; do
	rc=0
	WARMD="$WORK/build/src/warmd" bash "$top_srcdir/tests/$t.sh" >"$WORK/$t.log" 2>&1 || rc=$?
	if [ "$rc" = 77 ]; then
		echo "($t skipped)"
		continue
	fi
	check_eq "$t.sh against the ASan/UBSan build" 0 "$rc"
	[ "$rc" = 0 ] || cat "$WORK/$t.log"
done
# Sanitizer reports go to stderr, which the scripts keep in files of their own: look for them in every log too.
if grep -l "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$WORK"/*.log >/dev/null 2>&1; then
	fail "a sanitizer report appeared"
else
	pass "no sanitizer report in any log"
fi
finish
