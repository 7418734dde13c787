#!/bin/bash
# The bash completion, sourced in a bash of its own: what it offers for
# options, for -c's file, and with -n for the drop-ins.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

completion=$top_srcdir/shell-completion/bash/warmd
confdir=$WORK/etc-warmd
mkdir -p "$confdir/warmd.conf.d" "$WORK/tree/sub.d"
: >"$confdir/warmd.conf"
: >"$confdir/warmd.conf.d/20-b.conf"
: >"$confdir/warmd.conf.d/10-a.conf"
: >"$confdir/warmd.conf.d/.hidden.conf"
: >"$confdir/warmd.conf.d/README"
: >"$WORK/tree/one.conf"
: >"$WORK/tree/notes.txt"

# comp WORD...: what the completion offers for the command line WORD... (the last word is the one
# completed), one per line, sorted.
comp() {
	_warmd_confdir=$confdir bash --norc --noprofile -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		complete -p warmd >/dev/null || exit 1
		_warmd warmd "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$@" | sort
}

check "the file is valid bash and registers a completion for warmd" \
	bash --norc --noprofile -c 'source "$1" && complete -p warmd | grep -q "_warmd warmd$"' _ "$completion"
check_eq "--che: --check-config" "--check-config" "$(comp warmd --che)"
check_eq "--: every long option" "--check-config --config= --discover --help --json --once --verbose --version" "$(comp warmd -- | xargs)"
check_eq "-- offers every long option of warmd --help" "$("$WARMD" --help | grep -oE -- '--[a-z-]+' | sort -u | xargs)" \
	"$(comp warmd -- | sed 's/=$//' | xargs)"
check_eq "-n, then --: --once is not offered, --json is" "--config= --help --json --verbose --version" "$(comp warmd -n -- | xargs)"
check_eq "--once, then --: -n is not offered" "--config= --help --json --verbose --version" "$(comp warmd --once -- | xargs)"
check_eq "--discover, then --: neither -n nor --once, --json is" "--config= --help --json --verbose --version" "$(comp warmd --discover -- | xargs)"
check_eq "-c, nothing typed: the main file" "$confdir/warmd.conf" "$(comp warmd -c '')"
check_eq "-n -c, nothing typed: the main file and its drop-ins, not hidden or other files" \
	"$confdir/warmd.conf $confdir/warmd.conf.d/10-a.conf $confdir/warmd.conf.d/20-b.conf" "$(comp warmd -n -c '' | xargs)"
check_eq "--check-config --config DIR/: *.conf files and directories only" "$WORK/tree/one.conf $WORK/tree/sub.d" \
	"$(comp warmd --check-config --config "$WORK/tree/" | xargs)"
check_eq "--config=DIR/o: the file" "$WORK/tree/one.conf" "$(comp warmd "--config=$WORK/tree/o")"

finish
