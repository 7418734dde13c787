#!/bin/bash
# The suite and the tarball are whole, by Makefile.am's lists: every test
# script in tests/ runs in make check or ships (INTEGRATION_TESTS or
# EXTRA_DIST), every tests/test-*.c is a program of check_PROGRAMS, and every
# source in src/ is built or shipped.  A file left out is a test that never
# runs, or a tarball that does not build.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# listed PATH LIST...: PATH, or a directory above it, is one of the words of the lists.
listed() {
	local path=$1 list w
	shift
	for list in "$@"; do
		while read -r w; do
			[ "$path" = "$w" ] || [ "${path#"$w"/}" != "$path" ] && return 0
		done < <(am_list "$list")
	done
	return 1
}

# unlisted GLOB LIST...: the files of GLOB (under top_srcdir) that no list names.
unlisted() {
	local glob=$1 f rel out=""
	shift
	for f in "$top_srcdir"/$glob; do
		[ -e "$f" ] || continue
		rel=${f#"$top_srcdir"/}
		listed "$rel" "$@" || out="$out $rel"
	done
	echo "${out# }"
}

check_eq "every tests/*.sh is in INTEGRATION_TESTS or EXTRA_DIST" "" \
	"$(unlisted 'tests/*.sh' INTEGRATION_TESTS EXTRA_DIST)"
missing=""
for f in "$top_srcdir"/tests/test-*.c; do
	[ -e "$f" ] || continue
	p=tests/$(basename "$f" .c)
	listed "$p" check_PROGRAMS || missing="$missing $p.c"
done
check_eq "every tests/test-*.c is built as a program of check_PROGRAMS" "" "${missing# }"
missing=""
for p in $(am_list check_PROGRAMS); do
	[ -f "$top_srcdir/$p.c" ] || listed "$p.c" "${p//[^A-Za-z0-9_]/_}_SOURCES" || missing="$missing $p"
done
check_eq "every program of check_PROGRAMS has its source" "" "${missing# }"
check_eq "every src/*.c and src/*.h is a source of warmd or its library, or in EXTRA_DIST" "" \
	"$(unlisted 'src/*.[ch]' src_libwarmd_a_SOURCES src_warmd_SOURCES EXTRA_DIST)"
missing=""
for t in $(am_list INTEGRATION_TESTS); do
	[ -f "$top_srcdir/$t" ] || missing="$missing $t"
done
check_eq "every script of INTEGRATION_TESTS exists" "" "${missing# }"

# tests/sanitizers.sh reads "# sanitizers: skip (REASON)" in a script's first lines; any other
# spelling would be ignored there, and the script run against the ASan build after all.
bad=""
for t in $(am_list INTEGRATION_TESTS); do
	sed -n '1,20p' "$top_srcdir/$t" 2>/dev/null | grep -i '^# *sanitizers' |
		grep -qv '^# sanitizers: skip (.*[^ ].*)$' && bad="$bad $t"
done
check_eq "every '# sanitizers:' line reads '# sanitizers: skip (REASON)'" "" "${bad# }"
finish
