#!/bin/bash
# tests/preload/prof.sh -- the heap profiler under the preload library, as
# TAP.  Run from the build directory by `make check', which exports
# abs_top_builddir and USLUB_PRELOAD (the built libuslub-preload.so).
#
# prof_prog (tests/preload/prof_prog.c) leaks 4 MiB from prof_leaky,
# churns 16 MiB through prof_churn, dumps a profile on request and forks
# a child that leaks 2 MiB from prof_child_leaky.  With prof=1 each
# process writes uslub.<pid>.heap in the working directory, in the format
# google-pprof reads (checked with google-pprof --text where it is
# installed), and prof_leak=1 reports the leaks by stack, largest first,
# with the functions' names.  With prof off no file appears; bad values
# get one line each.
set -u
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"	# make's SHELL may be sh

builddir=${abs_top_builddir:-${top_builddir:-.}}
prog=$builddir/tests/preload/prof_prog
preload=${USLUB_PRELOAD:-}

if [ -z "$preload" ] || [ ! -e "$preload" ]; then
	echo "1..0 # SKIP no preload library"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uslub-prof.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
limit=()
if command -v timeout >/dev/null 2>&1; then
	limit=(timeout -k 5 120)
fi

. "${abs_top_srcdir:-${top_srcdir:-.}}/tests/tap.sh"

# run DIR OPTIONS ARGS...: prof_prog in DIR under uslub with
# USLUB_OPTIONS=OPTIONS; stdout in DIR.out, stderr in DIR.err.
run() {
	local d=$1 opts=$2
	shift 2
	mkdir -p "$d"
	(cd "$d" && "${limit[@]}" env USLUB_OPTIONS="$opts" \
		LD_PRELOAD="$preload" "$prog" "$@" >"$d.out" 2>"$d.err")
	status=$?
}

# The largest number of bytes in an "about N bytes" of the leak report
# for the stack whose first frame is in function $2.
leak_bytes() {
	awk -v fn="$2" '
		/^Leak of about/ { bytes = $4; want = 1; next }
		want && /#0 / { if (index($0, " in " fn "+")) print bytes;
				want = 0 }' "$1" | head -n 1
}

[ -x "$prog" ]
point $? "prof_prog is built ($prog)"

# ---- prof=1: the profiles, the dump, the leak report -------------------

d=$tmp/on
run "$d" prof=1,prof_sample=16k,prof_leak=1 mid.heap
point $status "prof_prog runs under prof=1 (status $status)"
diag "$d.err"
pid=$(sed -n 's/^pid //p' "$d.out")
child=$(sed -n 's/^child //p' "$d.out")
grep -qx 'dump 0' "$d.out"
point $? "uslub_prof_dump returns 0"
[ -n "$pid" ] && [ -s "$d/uslub.$pid.heap" ]
point $? "the exit profile is uslub.<pid>.heap in the working directory"
[ -n "$child" ] && [ "$child" != "$pid" ] && [ -s "$d/uslub.$child.heap" ]
point $? "the forked child writes its own, uslub.<child pid>.heap"
f=$d/uslub.$pid.heap
head -n 1 "$f" | grep -Eq '^heap profile: +[0-9]+: +[0-9]+ \[ *[0-9]+: +[0-9]+\] @ heapprofile$'
point $? "header: heap profile: N: BYTES [N: BYTES] @ heapprofile"
awk '/^MAPPED_LIBRARIES:$/ { exit } NR > 1 && NF &&
     !/^ *[0-9]+: +[0-9]+ \[ *[0-9]+: +[0-9]+\] @( 0x[0-9a-f]+)+$/ { bad = 1 }
     END { exit bad }' "$f"
point $? "every stack line is count: bytes [count: bytes] @ 0xPC..."
sed -n '/^MAPPED_LIBRARIES:$/,$p' "$f" | grep -q 'prof_prog$'
point $? "MAPPED_LIBRARIES: then /proc/self/maps, the program among them"

bytes=$(leak_bytes "$d.err" prof_leaky)
[ -n "$bytes" ] && [ "$bytes" -ge $(((4 << 20) * 7 / 10)) ] 2>/dev/null &&
	[ "$bytes" -le $(((4 << 20) * 13 / 10)) ]
point $? "leak report: about 4 MiB from prof_leaky, +-30% (${bytes:-none})"
first=$(grep -m 1 -A 1 '^Leak of about' "$d.err" | grep -o ' in [a-z_]*+')
[ "$first" = " in prof_leaky+" ]
point $? "leak report: the largest leak comes first, symbolized (${first:-none})"
bytes=$(leak_bytes "$d.err" prof_child_leaky)
[ -n "$bytes" ] && [ "$bytes" -ge $(((2 << 20) * 6 / 10)) ] 2>/dev/null &&
	[ "$bytes" -le $(((2 << 20) * 14 / 10)) ]
point $? "the child's leak report: about 2 MiB from prof_child_leaky (${bytes:-none})"
! grep -q 'in prof_churn+' "$d.err"
point $? "leak report: nothing from prof_churn, whose blocks were freed"
grep -q "^uslub: heap profile of pid $pid at exit: about [0-9]* bytes in [0-9]* objects still allocated" "$d.err"
point $? "leak report: a summary line for the pid"

# ---- google-pprof reads it ---------------------------------------------

pprof=$(command -v google-pprof || command -v pprof || true)
if [ -z "$pprof" ]; then
	for what in "inuse" "alloc_space"; do
		skip "google-pprof --text ($what)" "google-pprof not installed"
	done
else
	"$pprof" --text "$prog" "$d/mid.heap" >"$tmp/pprof.out" 2>"$tmp/pprof.err"
	grep -Eq '^ +[0-9.]+ +[0-9.]+% .* prof_leaky$' "$tmp/pprof.out"
	point $? "google-pprof --text PROGRAM mid.heap names prof_leaky"
	diag "$tmp/pprof.out"
	"$pprof" --text --alloc_space "$prog" "$d/mid.heap" >"$tmp/pprof.out" \
		2>"$tmp/pprof.err"
	grep -Eq '^ +[0-9.]+ +[0-9.]+% .* prof_churn$' "$tmp/pprof.out"
	point $? "google-pprof --text --alloc_space names prof_churn too"
	diag "$tmp/pprof.out"
fi

# ---- Off, and bad values -------------------------------------------------

d=$tmp/off
run "$d" ""
[ "$status" -eq 0 ] && [ -z "$(ls -A "$d")" ] && ! grep -q 'Leak of' "$d.err"
point $? "prof off: no profile file, no leak report"
d=$tmp/zero
run "$d" prof=1,prof_sample=0
grep -qx "uslub: USLUB_OPTIONS: ignoring 'prof_sample=0'" "$d.err"
point $? "prof_sample=0 is refused with one line"
d=$tmp/bad
run "$d" prof=1,prof_prefix=/nonexistent/dir/p
pid=$(sed -n 's/^pid //p' "$d.out")
grep -qx "uslub: prof: cannot write /nonexistent/dir/p.$pid.heap: No such file or directory" "$d.err"
point $? "an unwritable prof_prefix: one line with the reason"
diag "$d.err"

echo "1..$n"
