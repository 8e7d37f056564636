#!/bin/bash
# tests/check-all.sh -- the single test command: build and test every flavour.
#
#   ./tests/check-all.sh [--flavours plain,tsan,asan,fuzz]
#
# From the source root: runs ./bootstrap if configure is missing, then for
# each flavour configures out of tree in build/FLAVOUR, runs `make' and
# `make check', and goes on to the next flavour whatever happened.  Prints
# the log of each failing test, the counts of each flavour's
# test-suite.log, and last a line "N passed, M failed" (passed = PASS,
# failed = FAIL + ERROR + XPASS, summed over flavours; counts are TAP test
# points).  Exits non-zero if any flavour failed to configure or build, or
# any test failed.
#
# Flavours:  plain  ../../configure
#            tsan   --enable-tsan --enable-debug
#            asan   --enable-asan --enable-debug
#            fuzz   CC=clang --enable-fuzz --enable-debug: only the
#                   libFuzzer targets' short run (tests/fuzz/run.sh);
#                   skipped, with a line saying so, where clang is missing
#
# If the source tree itself was configured in place (./configure && make),
# out-of-tree builds of it are refused by automake; the flavours are then
# built from a copy of the tracked and untracked-but-not-ignored files in
# build/src, leaving the in-place build alone.

set -u

all_flavours="plain tsan asan fuzz"
flavours=$all_flavours

usage() {
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	exit "$1"
}

while [ $# -gt 0 ]; do
	case $1 in
	--flavours=*)	flavours=${1#--flavours=} ;;
	--flavours)	[ $# -ge 2 ] || usage 2; flavours=$2; shift ;;
	-h|--help)	usage 0 ;;
	*)		echo "check-all.sh: unknown argument: $1" >&2; usage 2 ;;
	esac
	shift
done
flavours=$(echo "$flavours" | tr ',' ' ')
for f in $flavours; do
	case " $all_flavours " in
	*" $f "*) ;;
	*) echo "check-all.sh: unknown flavour '$f' (have: $all_flavours)" >&2
	   exit 2 ;;
	esac
done

cd "$(dirname "$0")/.." || exit 2
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

configure_args() {
	case $1 in
	plain)	;;
	tsan)	echo "--enable-tsan --enable-debug" ;;
	asan)	echo "--enable-asan --enable-debug" ;;
	fuzz)	echo "CC=clang --enable-fuzz --enable-debug" ;;
	esac
}

# Arguments of `make check' per flavour: fuzz builds and runs only the
# fuzz targets.
check_args() {
	case $1 in
	fuzz)	echo "TESTS=tests/fuzz/run.sh check_PROGRAMS=\$(FUZZ_BUILT)" ;;
	esac
}

banner() {
	echo
	echo "======== $* ========"
}

# Copies the source files (what git would track) to build/src and
# bootstraps there.  Used when the source root is configured in place.
make_source_copy() {
	if ! git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
		echo "check-all.sh: the source tree is configured in place;" \
		    "run 'make distclean' first" >&2
		return 1
	fi
	rm -rf build/src
	mkdir -p build/src || return 1
	git -C "$root" ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	done | tar --null -T - -cf - | tar -xf - -C build/src || return 1
	(cd build/src && ./bootstrap) >build/src-bootstrap.log 2>&1 || {
		cat build/src-bootstrap.log
		return 1
	}
}

if [ ! -f configure ]; then
	banner "bootstrap"
	./bootstrap || { echo "0 passed, 0 failed"; exit 1; }
fi

src=../..
if [ -f config.status ]; then
	banner "source tree configured in place: building from build/src"
	make_source_copy || { echo "0 passed, 0 failed"; exit 1; }
	src=../src
fi

broken=""		# flavours that did not configure or build
failed_flavours=""	# flavours with failing tests

# Prints the .log of every test whose .trs says FAIL, ERROR or XPASS.
print_failed_logs() {
	local dir=$1 trs
	find "$dir" -name '*.trs' -print | sort | while read -r trs; do
		if grep -Eq '^:global-test-result: (FAIL|ERROR|XPASS)' "$trs"
		then
			banner "$dir: ${trs%.trs}.log"
			cat "${trs%.trs}.log"
		fi
	done
}

for f in $flavours; do
	dir=build/$f
	banner "$f: configure $(configure_args "$f")"
	rm -f "$dir/test-suite.log"
	if [ "$f" = fuzz ] && ! command -v clang >/dev/null; then
		banner "fuzz: skipped: no clang (apt-get install clang libclang-rt-14-dev)"
		continue
	fi
	# A build dir configured from another source dir is started afresh.
	if [ -f "$dir/Makefile" ] &&
	    ! grep -qx "srcdir = $src" "$dir/Makefile"; then
		rm -rf "$dir"
	fi
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ]; then
		# shellcheck disable=SC2046
		if ! (cd "$dir" && "$src/configure" $(configure_args "$f")); then
			echo "check-all.sh: $f: configure failed" \
			    "(see $dir/config.log)"
			broken="$broken $f"
			continue
		fi
	fi

	banner "$f: make"
	if ! make -C "$dir" -j"$jobs"; then
		echo "check-all.sh: $f: build failed"
		broken="$broken $f"
		continue
	fi

	banner "$f: make check"
	# shellcheck disable=SC2046
	if ! make -C "$dir" -j"$jobs" check $(check_args "$f"); then
		failed_flavours="$failed_flavours $f"
		print_failed_logs "$dir"
		[ -f "$dir/test-suite.log" ] || broken="$broken $f"
	fi
done

# ---- Summary --------------------------------------------------------------

count() {	# count KEY LOGFILE
	local n
	n=$(sed -n "s/^# $1: *\([0-9][0-9]*\).*/\1/p" "$2" | head -n 1)
	echo "${n:-0}"
}

banner "summary"
passed=0
failed=0
for f in $flavours; do
	log=build/$f/test-suite.log
	case " $broken " in
	*" $f "*) echo "$f: did not build (no complete test run)" ;;
	esac
	if [ ! -f "$log" ]; then
		echo "$f: no test-suite.log"
		continue
	fi
	echo "$f:"
	grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$log" |
	    sed 's/^/    /'
	passed=$((passed + $(count PASS "$log")))
	failed=$((failed + $(count FAIL "$log") + $(count ERROR "$log") + \
	    $(count XPASS "$log")))
done
echo "$passed passed, $failed failed"

[ -z "$broken" ] && [ -z "$failed_flavours" ] && [ "$failed" -eq 0 ]
