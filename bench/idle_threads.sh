#!/bin/sh
# idle_threads.sh - RSS of many idle threads under each allocator.
#
# Usage: bench/idle_threads.sh [BUILD_DIR]   (default: the source dir)
#
# Runs BUILD_DIR/bench/idle_threads (bench/idle_threads.c: each thread
# allocates 64 blocks of each of 15 sizes 16 B..4 KiB, frees them and
# parks; VmRSS is read with all of them parked) for N=100 and N=1000
# under glibc, uslub (BUILD_DIR/preload/.libs/libuslub-preload.so),
# jemalloc, tcmalloc and mimalloc (libjemalloc.so.2,
# libtcmalloc_minimal.so.4, libmimalloc.so.2 in $PEER_DIR, default
# /usr/lib/x86_64-linux-gnu; a missing one is left out), $RUNS times each
# (default 3; the runs of a round take the allocators in turn), and prints
# the median RSS in MiB, and KiB/thread: the median's growth from N=100 to
# N=1000 per added thread (the allocator's per-thread keep plus a thread's
# stack pages, the same for all).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root}" && pwd)
prog=$build/bench/idle_threads
peers=${PEER_DIR:-/usr/lib/x86_64-linux-gnu}
runs=${RUNS:-3}
[ -x "$prog" ] || { echo "idle_threads.sh: build $prog first (make)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name=preload pairs; glibc has none.
allocs="glibc="
lib=$build/preload/.libs/libuslub-preload.so
if [ -e "$lib" ]; then
	allocs="$allocs uslub=$lib"
else
	echo "idle_threads.sh: no $lib: uslub left out" >&2
fi
for p in jemalloc=libjemalloc.so.2 tcmalloc=libtcmalloc_minimal.so.4 \
	 mimalloc=libmimalloc.so.2; do
	if [ -e "$peers/${p#*=}" ]; then
		allocs="$allocs ${p%%=*}=$peers/${p#*=}"
	else
		echo "idle_threads.sh: no $peers/${p#*=}: ${p%%=*} left out" >&2
	fi
done

# One run: appends rss_mib to $tmp/<name>.<n>.
run() {
	out=$(env LD_PRELOAD="$2" "$prog" "$3") || {
		echo "idle_threads.sh: $1 N=$3 failed" >&2
		exit 1
	}
	echo "$out" | sed -n 's/.* rss_mib=\([0-9.]*\).*/\1/p' >>"$tmp/$1.$3"
}

for n in 100 1000; do
	for _ in $(seq "$runs"); do
		for a in $allocs; do
			run "${a%%=*}" "${a#*=}" "$n"
		done
	done
done

median() {
	sort -n "$1" | awk '{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%.1f", m }'
}

echo "idle threads: median VmRSS (MiB) of $runs runs;" \
	"threads parked after freeing 64 x 15 sizes"
printf '%-10s %8s %8s %11s\n' allocator N=100 N=1000 KiB/thread
for a in $allocs; do
	name=${a%%=*}
	m1=$(median "$tmp/$name.100")
	m2=$(median "$tmp/$name.1000")
	printf '%-10s %8s %8s %11s\n' "$name" "$m1" "$m2" \
		"$(awk -v a="$m1" -v b="$m2" 'BEGIN { printf "%.1f", (b - a) * 1024 / 900 }')"
done
