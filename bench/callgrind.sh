#!/bin/sh
# callgrind.sh - instructions per malloc+free pair on uslub's fast paths.
#
# Usage: bench/callgrind.sh [path/to/hotpath]   (default: bench/hotpath)
# Runs bench/hotpath under callgrind once per workload, collecting only
# inside that workload's function, and prints the instructions spent in
# uslub per iteration: the total minus the workload function's own (the
# loop and the calls), so call and return of uslub's entry points count.
set -eu
prog=${1:-bench/hotpath}
[ -x "$prog" ] || { echo "callgrind.sh: build $prog first (make)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not installed" >&2; exit 1; }
n=200000
ring=1000000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Instructions of a run collected inside function $1: prints "total self",
# self being the function's own instructions (the benchmark loop).
count() {
	real=$prog
	# libtool wrappers: run the real binary
	[ -x "$(dirname "$prog")/.libs/$(basename "$prog")" ] &&
		real="$(dirname "$prog")/.libs/$(basename "$prog")"
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" \
		--toggle-collect="$1" "$real" "$n" >/dev/null 2>"$tmp/log.$1"
	callgrind_annotate "$tmp/cg.$1" 2>/dev/null | awk -v fn="$1" '
		/PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
		$0 ~ ":" fn " " || $0 ~ ":" fn "$" { gsub(",", "", $1); self = $1 }
		END { print total, self }'
}

echo "allocator instructions per malloc+free (callgrind Ir; the benchmark loop's own instructions excluded)"
for fn in hot_pair cache_pair ring_run; do
	set -- $(count "$fn")
	iters=$((n + 1000))				# warm-up call + measured call
	[ "$fn" = ring_run ] && iters=$((ring * 2))	# two calls of $ring steps
	awk -v t="$1" -v s="$2" -v n="$iters" -v f="$fn" 'BEGIN {
		printf "%-10s %6.1f  (%d iterations; loop %.1f per iteration)\n", f, (t - s) / n, n, s / n
	}'
done
