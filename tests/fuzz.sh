#!/bin/bash
# sanitizers: skip (it builds its own harnesses, with ASan and UBSan already)
# SPDX-License-Identifier: MIT
# fuzz.sh: every input of the fuzzing corpus (tests/fuzz/corpus/) runs once
# through its libFuzzer harness, under ASan and UBSan, so an input that once
# crashed warmd stays fixed.  Needs clang with its libFuzzer runtime.
set -euo pipefail

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

skip() {
	echo "SKIP: $*"
	exit 77
}

cc=$(command -v clang-14 || command -v clang || true)
[ -n "$cc" ] || skip "clang is not installed (tools/deps test installs clang-14)"
out=$(mktemp -d /tmp/warmd-fuzz.XXXXXX)
trap 'rm -rf "$out"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$out/probe.c"
"$cc" -fsanitize=fuzzer,address,undefined -o "$out/probe" "$out/probe.c" >/dev/null 2>&1 ||
	skip "$cc cannot build a libFuzzer harness (tools/deps test installs libclang-rt-14-dev)"

cd "$top_builddir"
CC=$cc FUZZ_OUT=$out "$top_srcdir/tools/fuzz" --regress
