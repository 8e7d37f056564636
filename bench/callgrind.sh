#!/bin/sh
# callgrind.sh - instructions per malloc+free on the fast paths.
#
# Usage: bench/callgrind.sh [--peers] [path/to/hotpath]
#
# Runs bench/hotpath under callgrind once per workload, collecting only
# inside that workload's function, and prints the instructions spent in
# the allocator per iteration: the total minus the workload function's own
# (the loop and the calls), so call and return of the entry points count.
# With --peers, the same loops through malloc/free (bench/hotpath-malloc)
# are measured under glibc, under uslub's preload library (row uslub-ld)
# and, where Debian's packages are installed, jemalloc, tcmalloc and
# mimalloc (LD_PRELOAD; their calls go through the PLT, the first row's
# uslub calls do not).
set -eu
peers=0
[ "${1:-}" = --peers ] && { peers=1; shift; }
prog=${1:-bench/hotpath}
dir=$(dirname "$prog")
[ -x "$prog" ] || { echo "callgrind.sh: build $prog first (make)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not installed" >&2; exit 1; }
n=200000
ring=1000000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The real binary behind a libtool wrapper, if any.
real() {
	if [ -x "$(dirname "$1")/.libs/$(basename "$1")" ]; then
		echo "$(dirname "$1")/.libs/$(basename "$1")"
	else
		echo "$1"
	fi
}

# Instructions collected inside function $2 of program $1 (LD_PRELOAD=$3):
# prints "total self", self being the function's own (the loop).
count() {
	LD_PRELOAD=${3:-} valgrind --tool=callgrind \
		--callgrind-out-file="$tmp/cg.$2" --toggle-collect="$2" \
		"$(real "$1")" "$n" >/dev/null 2>"$tmp/log.$2"
	callgrind_annotate "$tmp/cg.$2" 2>/dev/null | awk -v fn="$2" '
		/PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
		$0 ~ ":" fn " " || $0 ~ ":" fn "$" { gsub(",", "", $1); self = $1 }
		END { print total + 0, self + 0 }'
}

# One row: name, program, preload.
row() {
	line=$(printf '%-10s' "$1")
	for fn in hot_pair cache_pair ring_run; do
		res=$(count "$2" "$fn" "${3:-}")
		iters=$((n + 1000))			# warm-up call + measured call
		[ "$fn" = ring_run ] && iters=$((ring * 2))
		line="$line $(echo "$res" | awk -v n="$iters" '{ printf "%10.1f", ($1 - $2) / n }')"
	done
	echo "$line"
}

echo "allocator instructions per malloc+free (callgrind Ir; the benchmark loop excluded)"
printf '%-10s %10s %10s %10s\n' allocator hot_pair cache_pair ring_run
row uslub "$prog"
[ "$peers" = 1 ] || exit 0
mprog="$dir/hotpath-malloc"
[ -x "$mprog" ] || { echo "callgrind.sh: build $mprog first (make)" >&2; exit 1; }
libdir=/usr/lib/x86_64-linux-gnu
row glibc "$mprog"
# uslub itself through the same PLT calls, as a preloaded malloc.
plib="$dir/../preload/.libs/libuslub-preload.so"
[ -e "$plib" ] && row uslub-ld "$mprog" "$(cd "$(dirname "$plib")" && pwd)/$(basename "$plib")"
for p in jemalloc:libjemalloc.so.2 tcmalloc:libtcmalloc_minimal.so.4 \
	 mimalloc:libmimalloc.so.2; do
	[ -e "$libdir/${p#*:}" ] && row "${p%%:*}" "$mprog" "$libdir/${p#*:}"
done
exit 0
