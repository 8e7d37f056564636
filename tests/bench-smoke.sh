#!/bin/sh
# bench-smoke.sh - the benchmark suite end to end, briefly (TAP).
#
# Not a measurement: it checks that bench/uslub-bench runs a workload under
# the preload library and under glibc, that it refuses a run whose malloc
# is not the allocator it was told to measure, that the large-block
# workloads report their page faults and times, and that bench/suite.py
# turns two allocators' runs into the results layout.  Built and run only
# where configure found Google Benchmark, in unsanitized builds.
set -u

bench=$abs_top_builddir/bench/uslub-bench
suite=$abs_top_srcdir/bench/suite.py
python=${PYTHON3:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

echo "1..8"

ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
		[ -s "$tmp/err" ] && sed 's/^/# /' "$tmp/err"
	fi
}

# $1: file of Google Benchmark JSON; $2: Python expression over `b', the
# list of benchmark entries, that must be true.
json_check() {
	"$python" - "$1" "$2" <<'EOF' >>"$tmp/err" 2>&1
import json, sys
b = json.load(open(sys.argv[1]))["benchmarks"]
ok = eval("(" + sys.argv[2] + ")")
if not ok:
    print("check failed:", sys.argv[2])
    for e in b:
        print(e.get("name"), e.get("label"), e.get("items_per_second"))
sys.exit(0 if ok else 1)
EOF
}

run() {
	: >"$tmp/err"
	env "$@" --benchmark_min_time=0.01 --benchmark_format=json \
		>"$tmp/out.json" 2>>"$tmp/err"
}

run LD_PRELOAD="$USLUB_PRELOAD" "$bench" --allocator=uslub --threads=1 \
	--benchmark_filter='^hot_pair/64/'
st=$?
[ $st = 0 ] && json_check "$tmp/out.json" \
	'len(b) == 2 and all(e["items_per_second"] > 0 for e in b) and
	 sorted(e["label"] for e in b) == ["uslub", "uslub-cache"] and
	 b[0]["name"].startswith("hot_pair/64/threads:1/")'
ok $? "uslub: hot_pair/64 through malloc and through the cache API"

run LD_PRELOAD= "$bench" --allocator=glibc --threads=2 \
	--benchmark_filter='^fixed/64/'
st=$?
[ $st = 0 ] && json_check "$tmp/out.json" \
	'len(b) == 1 and b[0]["label"] == "glibc" and b[0]["threads"] == 2 and
	 b[0]["items_per_second"] > 0'
ok $? "glibc: fixed/64 at 2 threads, no cache row without uslub"

run LD_PRELOAD="$USLUB_PRELOAD" "$bench" --allocator=glibc \
	--benchmark_filter='^hot_pair/64/'
st=$?
[ $st = 2 ] && grep -q "expected glibc but malloc comes from .*uslub" "$tmp/err"
ok $? "a run whose malloc is not the named allocator is refused"

: >"$tmp/err"
"$bench" --allocator=glibc --threads=0 >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q -- "--threads=0" "$tmp/err"
ok $? "bad --threads is refused"

: >"$tmp/err"
"$python" "$suite" --filter hot_pair --allocators glibc,uslub --threads 1 \
	--rounds 1 --min-time 0.01 --no-plots --no-callgrind \
	--build "$abs_top_builddir" --preload "$USLUB_PRELOAD" \
	--out "$tmp/res" >"$tmp/suite.log" 2>>"$tmp/err"
st=$?
[ $st = 0 ] || cat "$tmp/suite.log" >>"$tmp/err"
[ $st = 0 ] && [ -s "$tmp/res/README.md" ] && [ -s "$tmp/res/gbench/uslub.json" ] &&
	[ -s "$tmp/res/gbench/glibc.json" ] &&
	json_check "$tmp/res/gbench/uslub.json" \
		'len(b) == 8 and {e["label"] for e in b} == {"uslub", "uslub-cache"}'
ok $? "suite.py: two allocators, Google Benchmark JSON per allocator"

: >"$tmp/err"
t=$tmp/res/tables/hot_pair.md
[ -s "$t" ] && grep -q "uslub-cache" "$t" && grep -q "glibc" "$t" &&
	grep -Eq '[0-9]\.[0-9]+×' "$t"
st=$?
[ $st = 0 ] || { echo "table:"; cat "$t"; } >>"$tmp/err" 2>&1
ok $st "suite.py: the hot_pair table has both rows and the ratio to the best peer"

# The large-block workloads at a tiny scale: 10 runs, each with its
# getrusage counters.
run LD_PRELOAD="$USLUB_PRELOAD" "$bench" --allocator=uslub --threads=1,2 \
	--scale=0.005 --live=4 \
	--benchmark_filter='^(malloc_large|malloc_medium|realloc_grow)/'
st=$?
[ $st = 0 ] && json_check "$tmp/out.json" \
	'len(b) == 10 and all(e["label"] == "uslub" and e["wall_s"] > 0 and
	 e["minflt"] > 0 and e["majflt"] >= 0 and e["sys_s"] >= 0 and
	 e["user_s"] >= 0 and e["rss_peak_mib"] > 0 and
	 e["items_per_second"] > 0 for e in b)'
ok $? "uslub: malloc_large, malloc_medium, realloc_grow report faults and times"

: >"$tmp/err"
"$python" "$suite" --preset large --allocators glibc,uslub --threads 1 \
	--rounds 1 --scale 0.005 --live 4 --no-plots \
	--build "$abs_top_builddir" --preload "$USLUB_PRELOAD" \
	--out "$tmp/large" >"$tmp/suite.log" 2>>"$tmp/err"
st=$?
[ $st = 0 ] || cat "$tmp/suite.log" >>"$tmp/err"
t=$tmp/large/tables/malloc_large.md
[ $st = 0 ] && [ -s "$t" ] && [ -s "$tmp/large/tables/realloc_grow.md" ] &&
	grep -q "minor faults" "$t" && grep -q "| glibc |" "$t" &&
	grep -q "uslub" "$t" && grep -Eq '[0-9]\.[0-9]+×' "$t" &&
	! [ -e "$tmp/large/tables/hot_pair.md" ]
st=$?
[ $st = 0 ] || { echo "table:"; cat "$t"; } >>"$tmp/err" 2>&1
ok $st "suite.py --preset large: time, faults and ratio per allocator"

exit $failed
