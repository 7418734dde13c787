# SPDX-License-Identifier: MIT
# am-list.awk: the words of one variable of a Makefile.am (or of the Makefile
# configure made from it), one a line, so that a script builds or runs what
# make does without a list of its own.
#   awk -v want=VAR -f tests/am-list.awk Makefile.am
# All of VAR's "=" and "+=" lines count, continuation lines joined, comments
# dropped, and $(OTHER) references expanded.  Conditionals are not read:
# every branch counts.

function expand(v, depth,   out, name, rest) {
	out = ""
	while (match(v, /\$\([A-Za-z_][A-Za-z0-9_]*\)/)) {
		name = substr(v, RSTART + 2, RLENGTH - 3)
		out = out substr(v, 1, RSTART - 1)
		# match() in the recursion below sets RSTART and RLENGTH again.
		rest = substr(v, RSTART + RLENGTH)
		if (depth < 10)
			out = out expand(vars[name], depth + 1)
		v = rest
	}
	return out v
}

sub(/\\$/, "") {
	line = line $0 " "
	next
}

{
	line = line $0
	sub(/[ \t]#.*/, "", line)
	if (match(line, /^[A-Za-z_][A-Za-z0-9_]*[ \t]*\+?=/)) {
		name = line
		sub(/[ \t]*\+?=.*/, "", name)
		value = substr(line, RLENGTH + 1)
		sub(/^[ \t]+/, "", value)
		vars[name] = (substr(line, RLENGTH - 1, 1) == "+" ? vars[name] " " : "") value
	}
	line = ""
}

END {
	n = split(expand(vars[want], 0), words, /[ \t]+/)
	for (i = 1; i <= n; i++)
		if (words[i] != "")
			print words[i]
}
