#!/bin/bash
# The man pages: clean under mandoc's linter, and complete: every option of
# --help in warmd(8), every config key in warmd.conf(5), every journal field in warmd(8).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

command -v mandoc >/dev/null || skip "mandoc is not installed"

# -Wwarning: style notes (such as the cross references before install) do not count.
out=$(mandoc -Tlint -Wwarning "$top_srcdir/man/warmd.8" "$top_srcdir/man/warmd.conf.5" 2>&1 | grep -v "mandoc.db" || true)
check "mandoc -Tlint -Wwarning is clean" "" "$out"

for opt in $("$WARMD" --help | grep -oE -- '--[a-z-]+' | sort -u); do
	check_cmd "warmd.8 documents $opt" grep -q -- "${opt#--}" "$top_srcdir/man/warmd.8"
done
for key in $(grep -oE '^[a-z_]+' "$top_srcdir/tests/data/good.conf" | sort -u); do
	check_cmd "warmd.conf.5 documents $key" grep -qE "^\.It Cm $key( |$)" "$top_srcdir/man/warmd.conf.5"
done
for field in $(grep -ohE '"WARMD_[A-Z_]+' "$top_srcdir"/src/*.c | tr -d '"' | sort -u); do
	check_cmd "warmd.8 documents $field" grep -q "$field" "$top_srcdir/man/warmd.8"
done
for section in "EXIT STATUS" FILES EXAMPLES; do
	check_cmd "warmd.8 has $section" grep -q "^\.Sh $section" "$top_srcdir/man/warmd.8"
done
for section in FILES EXAMPLES; do
	check_cmd "warmd.conf.5 has $section" grep -q "^\.Sh $section" "$top_srcdir/man/warmd.conf.5"
done
finish
