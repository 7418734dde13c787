#!/bin/bash
# test-timeout: 1800
# sanitizers: skip (this is the sanitizer run)
# ASan and UBSan: builds warmd with both, then runs the unit tests and the
# integration tests against that build. Any report fails the run.
#
# What it builds and runs comes from Makefile.am: the daemon's sources, every
# program of check_PROGRAMS and every script of INTEGRATION_TESTS, so a new
# module or test is covered without an edit here.  A script that cannot run
# against this build says so in its first lines, with the reason:
#   # sanitizers: skip (REASON)
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

command -v gcc >/dev/null || skip "gcc is needed for a sanitizer build"
echo 'int main(void){return 0;}' >"$WORK/t.c"
gcc -fsanitize=address,undefined "$WORK/t.c" -o "$WORK/t" 2>/dev/null || skip "gcc cannot build with -fsanitize=address,undefined here"

# Compiled directly rather than through a second configure: a source tree built in place refuses VPATH builds.
: "${top_builddir:=$top_srcdir}"
for f in config.h Makefile; do
	[ -f "$top_builddir/$f" ] || skip "no $f in $top_builddir; configure first"
done
# The libraries' flags as configure found them, from the build's Makefile (SYSCONFDIR's quotes are make's).
mapfile -t DEP_CPPFLAGS < <(am_list AM_CPPFLAGS "$top_builddir/Makefile" | grep -v '^-DSYSCONFDIR=')
mapfile -t LIBS_SAN < <(am_list WARMD_LIBS "$top_builddir/Makefile")
# shellcheck disable=SC2054 # a comma is part of -fsanitize=
CFLAGS_SAN=(-std=gnu11 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
	-DHAVE_CONFIG_H '-DSYSCONFDIR="/etc"' "-I$top_builddir" "-I$top_srcdir/src" "${DEP_CPPFLAGS[@]}")

# c_sources VAR: the .c files of a Makefile.am source list.
c_sources() { am_list "$1" | grep '\.c$' || true; }

# compile SOURCE: its object, once; prints the object's path.
compile() {
	local obj="$WORK/build/obj/${1//\//_}.o"
	[ -f "$obj" ] || gcc "${CFLAGS_SAN[@]}" -c "$top_srcdir/$1" -o "$obj" >>"$WORK/make.log" 2>&1 || return 1
	echo "$obj"
}

# link OUTPUT SOURCES...: links the sources with the daemon's modules.
link() {
	local out=$1 src objs=()
	shift
	for src in "${LIB_SRCS[@]}" "$@"; do
		objs+=("$(compile "$src")") || return 1
	done
	gcc "${CFLAGS_SAN[@]}" "${objs[@]}" -o "$out" "${LIBS_SAN[@]}" >>"$WORK/make.log" 2>&1
}

mkdir -p "$WORK/build/obj" "$WORK/build/src" "$WORK/build/tests"
mapfile -t LIB_SRCS < <(c_sources src_libwarmd_a_SOURCES)
mapfile -t UNITS < <(am_list check_PROGRAMS)
if [ "${#LIB_SRCS[@]}" -eq 0 ] || [ "${#UNITS[@]}" -eq 0 ]; then
	fail "no sources or unit tests in Makefile.am"
	bail
fi
ok=1
mapfile -t srcs < <(c_sources src_warmd_SOURCES)
link "$WORK/build/src/warmd" "${srcs[@]}" || ok=0
for u in "${UNITS[@]}"; do
	# automake's default: tests/test-x is built from tests/test-x.c unless tests_test_x_SOURCES says otherwise.
	mapfile -t srcs < <(c_sources "${u//[^A-Za-z0-9_]/_}_SOURCES")
	[ "${#srcs[@]}" -gt 0 ] || srcs=("$u.c")
	link "$WORK/build/$u" "${srcs[@]}" || ok=0
done
[ "$ok" = 1 ] || { cat "$WORK/make.log"; fail "sanitizer build"; bail; }
say "built warmd and ${#UNITS[@]} unit tests from ${#LIB_SRCS[@]} modules with ASan and UBSan"

# verify_asan_link_order=0: the schedule tests preload libfaketime (LD_PRELOAD) before the ASan runtime;
# it replaces only the clock functions, which ASan does not intercept.
export ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=0:verify_asan_link_order=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86

for u in "${UNITS[@]}"; do
	t=$(basename "$u")
	rc=0
	"$WORK/build/$u" >"$WORK/unit-$t.log" 2>&1 || rc=$?
	check_eq "$t under ASan/UBSan" 0 "$rc"
	[ "$rc" = 0 ] || cat "$WORK/unit-$t.log"
done

for script in $(am_list INTEGRATION_TESTS); do
	t=$(basename "$script" .sh)
	why=$(sed -n '1,20s/^# sanitizers: skip (\(.*\))$/\1/p' "$top_srcdir/$script" | head -n1)
	if [ -n "$why" ]; then
		echo "($t not run: $why)"
		continue
	fi
	start=$SECONDS
	rc=0
	WARMD="$WORK/build/src/warmd" bash "$top_srcdir/$script" >"$WORK/$t.log" 2>&1 || rc=$?
	if [ "$rc" = 77 ]; then
		echo "($t skipped: $(sed -n 's/^SKIP: [^:]*: //p' "$WORK/$t.log" | tail -n1))"
		continue
	fi
	check_eq "$t.sh against the ASan/UBSan build ($((SECONDS - start)) s)" 0 "$rc"
	[ "$rc" = 0 ] || cat "$WORK/$t.log"
done
# Sanitizer reports go to stderr, which the scripts keep in files of their own: look for them in every log too.
if grep -l "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$WORK"/*.log >/dev/null 2>&1; then
	fail "a sanitizer report appeared"
else
	pass "no sanitizer report in any log"
fi
finish
