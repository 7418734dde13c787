#!/bin/bash
# The man pages: clean under mandoc's linter, and complete: every option of
# --help is an item of warmd(8)'s option list, every config key an item of
# warmd.conf(5), every journal field and message id an item of warmd(8), and
# every message id has a catalog entry.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_cmd mandoc
man8="$top_srcdir/man/warmd.8"
man5="$top_srcdir/man/warmd.conf.5"

# -Wwarning: style notes (such as the cross references before install) do not count.
out=$(mandoc -Tlint -Wwarning "$man8" "$man5" 2>&1 | grep -v "mandoc.db" || true)
check_eq "mandoc -Tlint -Wwarning is clean" "" "$out"

# item PAGE REGEX: some list item (.It line) of PAGE matches REGEX.
item() {
	grep -qE "^\.It (.* )?$2( |$)" "$1"
}

# Each --help line names a short option, a long one, or both: "  -c, --config=FILE", "      --once".
opts=$("$WARMD" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+|^ +-[a-zA-Z]( |$)' | tr -d ' ,' | sed 's/--/ --/' | tr ' ' '\n' | grep . | sort -u)
check_ge "--help lists options" 5 "$(wc -l <<<"$opts")"
for opt in $opts; do
	# mdoc writes -x as "Fl x" and --long as "Fl -long".
	check "warmd.8 has an option item for $opt" item "$man8" "Fl ${opt#-}"
done
for key in $(grep -oE '^[a-z_]+' "$top_srcdir/tests/data/good.conf" | sort -u); do
	check "warmd.conf.5 has an item for $key" item "$man5" "Cm $key"
done
for field in $(grep -ohE '"WARMD_[A-Z0-9_]+' "$top_srcdir"/src/*.c | tr -d '"' | sort -u); do
	check "warmd.8 has an item for $field" item "$man8" "Dv $field"
done
for id in "${WARMD_MESSAGE_IDS[@]}"; do
	check "warmd.8 has an item for MESSAGE_ID=$id" item "$man8" "Dv MESSAGE_ID=$id"
	check "catalog/warmd.catalog has an entry for $id" grep -qE "^-- $id( |$)" "$top_srcdir/catalog/warmd.catalog"
done
for section in "EXIT STATUS" FILES EXAMPLES; do
	check "warmd.8 has $section" grep -q "^\.Sh $section$" "$man8"
done
for section in FILES EXAMPLES; do
	check "warmd.conf.5 has $section" grep -q "^\.Sh $section$" "$man5"
done
finish
