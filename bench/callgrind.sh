#!/bin/sh
# callgrind.sh - instructions per malloc+free pair on uslub's fast paths.
#
# Usage: bench/callgrind.sh [path/to/hotpath]   (default: bench/hotpath)
# Runs bench/hotpath under callgrind once per workload, collecting only
# inside that workload's function, and prints instructions per iteration
# (loop overhead of an empty loop subtracted).
set -eu
prog=${1:-bench/hotpath}
[ -x "$prog" ] || { echo "callgrind.sh: build $prog first (make)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not installed" >&2; exit 1; }
n=200000
ring=1000000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

count() {	# function -> total Ir inside it
	# libtool wrappers: run the real binary
	real=$prog
	[ -x "$(dirname "$prog")/.libs/$(basename "$prog")" ] && real="$(dirname "$prog")/.libs/$(basename "$prog")"
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" \
		--toggle-collect="$1" "$real" "$n" >/dev/null 2>"$tmp/log.$1"
	callgrind_annotate "$tmp/cg.$1" 2>/dev/null |
		awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'
}
empty=$(count empty_loop)
for fn in hot_pair cache_pair ring_run; do
	total=$(count "$fn")
	iters=$((n + 1000))				# warm-up call + measured call
	[ "$fn" = ring_run ] && iters=$((ring * 2))	# two calls of $ring steps
	awk -v t="$total" -v e="$empty" -v n="$iters" -v m="$n" -v f="$fn" 'BEGIN {
		printf "%-10s %6.1f instructions per malloc+free (callgrind Ir, %d iterations, loop overhead %.1f subtracted)\n", f, t / n - e / m, n, e / m
	}'
done
