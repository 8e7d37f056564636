#!/bin/sh
# callgrind.sh - instructions per malloc+free, pattern by pattern.
#
# Usage: bench/callgrind.sh [--peers] [--patterns p1,p2,...] [path/to/hotpath]
#
# Runs bench/hotpath under callgrind once per pattern (bench/hotpath.c
# describes them), collecting only inside that pattern's counted run (the
# noinline function named after it; prodcons_alloc and prodcons_free, one
# per thread, for prodcons), and prints the instructions spent in the
# allocator per malloc+free pair: the total minus the benchmark's own (the
# self cost of the counted function and of its <name>_loop: loop, sizes,
# calls), so call and return of the entry points count.  Warm-up runs are
# not counted; the divisor is the "pairs" line hotpath prints.  The uslub
# row calls uslub_kmalloc/uslub_kfree directly (no PLT).
#
# With --peers, the same loops through malloc/free (bench/hotpath-malloc)
# are measured under glibc, under uslub's preload library (row uslub-ld)
# and, where Debian's packages are installed, jemalloc, tcmalloc and
# mimalloc (LD_PRELOAD; their calls go through the PLT).
#
# Output: one table, a row per allocator, a column per pattern.  Progress
# goes to stderr when it is a terminal.  About 5 minutes with --peers on a
# 2-core machine (valgrind runs threads one at a time).
set -eu
peers=0
patterns="hot_pair cache_pair ring_run fixed64_ring ring32k batch_fwd batch_rev
	batch_shuf shuf64 tree20k prodcons larson"
while [ $# -gt 0 ]; do
	case $1 in
	--peers) peers=1; shift ;;
	--patterns) patterns=$(echo "$2" | tr , ' '); shift 2 ;;
	--patterns=*) patterns=$(echo "${1#*=}" | tr , ' '); shift ;;
	-*) echo "usage: callgrind.sh [--peers] [--patterns p1,p2,...]" \
		"[hotpath]" >&2; exit 2 ;;
	*) break ;;
	esac
done
prog=${1:-bench/hotpath}
dir=$(dirname "$prog")
[ -x "$prog" ] || { echo "callgrind.sh: build $prog first (make)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not installed" >&2; exit 1; }
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

# The functions collected for pattern $1 (callgrind keeps the toggle state
# per thread: prodcons counts its producer's and its consumer's calls).
toggles() {
	case $1 in
	prodcons) echo prodcons_alloc prodcons_free ;;
	*) echo "$1" ;;
	esac
}

# Instructions per pair in the allocator for pattern $2 of program $1
# (LD_PRELOAD=$3).  Prints "ir_per_pair cmpxchg16b_per_pair" ("-" when
# hotpath prints no cmpxchg16b line).
count() {
	cprog=$1 pat=$2 pre=${3:-}
	fns=$(toggles "$pat")
	set --
	for fn in $fns; do
		set -- "$@" "--toggle-collect=$fn"
	done
	out=$tmp/out.$pat
	if ! LD_PRELOAD=$pre valgrind --tool=callgrind \
		--callgrind-out-file="$tmp/cg.$pat" "$@" \
		"$(real "$cprog")" "$pat" >"$out" 2>"$tmp/log.$pat"; then
		echo "callgrind.sh: $cprog $pat failed (LD_PRELOAD=$pre):" >&2
		tail -n 20 "$tmp/log.$pat" >&2
		exit 1
	fi
	pairs=$(awk -v p="$pat" '$1 == p && $2 == "pairs" { print $3 }' "$out")
	cx=$(awk -v p="$pat" '$1 == p && $2 == "cmpxchg16b" { print $3 }' "$out")
	[ -n "$pairs" ] || {
		echo "callgrind.sh: no pairs line from $cprog $pat" >&2
		exit 1
	}
	# Self cost: the benchmark file's lines (or ??? without debug
	# information) in the counted functions and their _loop.
	callgrind_annotate --threshold=100 --auto=no "$tmp/cg.$pat" 2>/dev/null |
	awk -v fns="$fns" -v pairs="$pairs" -v cx="${cx:--}" '
		BEGIN { n = split(fns, f, " ")
			for (i = 1; i <= n; i++) { self[f[i]] = 1; self[f[i] "_loop"] = 1 } }
		/PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
		/^ *[0-9,]+ / {
			loc = $0
			sub(/^ *[0-9,]+ +(\( *[0-9.]+%\) +)?/, "", loc)
			sub(/ .*/, "", loc)
			k = loc; sub(/^.*:/, "", k)
			if ((k in self) && (loc ~ /hotpath\.c:/ || loc ~ /^\?\?\?:/)) {
				gsub(",", "", $1); own += $1 } }
		END { printf "%.1f %s\n", (total - own) / pairs, cx }'
}

progress() {
	[ -t 2 ] && printf '\rcallgrind.sh: %-10s %-14s' "$1" "$2" >&2
	return 0
}

# Column widths: the pattern names, at least 8.
header() {
	printf '%-10s' "$1"
	for p in $patterns; do
		w=${#p}; [ "$w" -lt 8 ] && w=8
		printf " %${w}s" "$p"
	done
	echo
}

# One row: name, program, preload.  In the uslub row, a second row with
# the cmpxchg16b operations per pair, when hotpath prints them.
row() {
	line=$(printf '%-10s' "$1")
	cxline=$(printf '%-10s' "  cx16/op")
	cxseen=0
	for p in $patterns; do
		progress "$1" "$p"
		res=$(count "$2" "$p" "${3:-}")
		w=${#p}; [ "$w" -lt 8 ] && w=8
		line="$line $(printf "%${w}s" "${res% *}")"
		cx=${res#* }
		[ "$cx" = - ] || cxseen=1
		cxline="$cxline $(printf "%${w}s" "$cx")"
	done
	[ -t 2 ] && printf '\r%50s\r' '' >&2
	echo "$line"
	[ "$cxseen" = 0 ] || echo "$cxline"
}

echo "allocator instructions per malloc+free (callgrind Ir; the benchmark's own excluded)"
header allocator
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
