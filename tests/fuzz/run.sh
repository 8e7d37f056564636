#!/bin/sh
# tests/fuzz/run.sh -- runs each libFuzzer target of tests/fuzz/ over its
# seeds (tests/fuzz/corpus/NAME/), then on inputs it makes, as TAP: one
# test per target, failed by any crash, sanitizer report or model check.
# The input that failed is saved as tests/fuzz/NAME-crash-* in the build
# tree and named in the log; `tests/fuzz/NAME FILE' runs it again.
#
#   USLUB_FUZZ_TIME  seconds per target (default 3, fixed seed, a fresh
#                    work corpus: what `make check' runs); more than 60
#                    (`make check-fuzz': 300) runs with a random seed and
#                    keeps the inputs it found in tests/fuzz/work/NAME for
#                    the next run
#   USLUB_FUZZ       yes where configure built the targets
# Run by `make check' from the build directory.

builddir=${top_builddir:-.}
srcdir=${top_srcdir:-.}
targets="malloc cache threads"
time=${USLUB_FUZZ_TIME:-3}

if [ "${USLUB_FUZZ:-no}" != yes ]; then
	echo "1..0 # SKIP libFuzzer targets not built" \
	    "(configure CC=clang --enable-fuzz, with libclang-rt-dev)"
	exit 0
fi

set -- $targets
echo "1..$#"
i=0
for name in $targets; do
	i=$((i + 1))
	prog=$builddir/tests/fuzz/$name
	work=$builddir/tests/fuzz/work/$name
	log=$builddir/tests/fuzz/$name.log
	if [ "$time" -gt 60 ]; then
		seed=0
	else
		seed=1
		rm -rf "$work"
	fi
	mkdir -p "$work"
	"$prog" -seed=$seed -max_total_time="$time" -max_len=1024 \
	    -timeout=60 -print_final_stats=1 \
	    -artifact_prefix="$builddir/tests/fuzz/$name-" \
	    "$work" "$srcdir/tests/fuzz/corpus/$name" >"$log" 2>&1
	status=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(sed -n 's/^#[0-9]*[^c]*cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
	if [ "$status" -eq 0 ]; then
		echo "ok $i - $name: ${runs:-?} inputs in ${time}s," \
		    "coverage ${cov:-?}"
	else
		echo "not ok $i - $name: exit $status after ${runs:-?} inputs"
		grep -E '^(fuzz:|uslub:|==[0-9]+==|SUMMARY|    #[0-9]+ )' \
		    "$log" | head -n 40 | sed 's/^/# /'
		grep -E 'Test unit written to' "$log" | sed 's/^/# /'
	fi
done
