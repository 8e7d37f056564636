#!/bin/bash
# tests/preload/robust.sh -- the programs of tests/preload/ under the preload
# library, and under glibc where that says something about the test itself,
# as TAP.  Run from the build directory by `make check', which exports
# top_builddir, abs_top_builddir, abs_top_srcdir and USLUB_PRELOAD (the
# built libuslub-preload.so).
#
# Each program's own test points become points here, named after the
# program and the allocator ("abi [uslub]: ..."), plus one per run for its
# exit status and plan.  bad_free must abort with exactly one report line
# naming the function and the address, and survive with
# USLUB_OPTIONS=abort_on_error=0; its heap bugs that are not invalid
# pointers (a kmalloc red zone, a large block's overflow under USLUB_DEBUG,
# a corrupt free list) likewise in both abort modes.  Then USLUB_OPTIONS itself: stats,
# stats_file, an unknown key, and a list of known ones.  The plan comes
# last.
set -u
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"	# make's SHELL may be sh

builddir=${abs_top_builddir:-${top_builddir:-.}}
dir=$builddir/tests/preload
preload=${USLUB_PRELOAD:-}

if [ -z "$preload" ] || [ ! -e "$preload" ]; then
	echo "1..0 # SKIP no preload library"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uslub-robust.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
ulimit -c 0 2>/dev/null		# bad_free aborts on purpose

# Each run is bounded, so a deadlock fails this script instead of hanging.
limit=()
if command -v timeout >/dev/null 2>&1; then
	limit=(timeout -k 5 120)
fi
# The allocators, as env(1) prefixes: nothing inherited leaks in.
glibc=(env -u LD_PRELOAD -u USLUB_OPTIONS)
uslub=(env -u USLUB_OPTIONS LD_PRELOAD="$preload")

. "${abs_top_srcdir:-${top_srcdir:-.}}/tests/tap.sh"

# run CMD...: CMD's stdout in $tmp/out, stderr in $tmp/err, status in
# $status.  The shell's own "Aborted" notice goes nowhere.
run() {
	{ "${limit[@]}" "$@" >"$tmp/out" 2>"$tmp/err"; status=$?; } 2>/dev/null
}

# tap LABEL CMD...: runs a TAP program and re-emits its test points as
# "LABEL: name"; then one point for its exit status, its plan, and a
# stderr without any "uslub:" line unless $loud is set.
loud=0
tap() {
	local label=$1 line planned seen=0 quiet=0 why="" what=""
	shift
	run "$@"
	planned=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$tmp/out" | head -n 1)
	while IFS= read -r line; do
		if [[ $line =~ ^(not ok|ok)\ [0-9]+(\ -)?\ ?(.*)$ ]]; then
			seen=$((seen + 1))
			n=$((n + 1))
			echo "${BASH_REMATCH[1]} $n - $label: ${BASH_REMATCH[3]}"
		elif [[ $line == "#"* ]]; then
			echo "$line"
		elif [[ $line == "Bail out!"* ]]; then
			echo "# $label: $line"
		fi
	done <"$tmp/out"
	if [ $loud -eq 0 ]; then
		what=", nothing from uslub on stderr"
		if grep -q '^uslub:' "$tmp/err"; then
			quiet=1
			why="; uslub reported on stderr"
		fi
	fi
	[ "$status" -eq 0 ] && [ -n "$planned" ] && [ "$seen" -eq "$planned" ] &&
		[ $quiet -eq 0 ]
	point $? "$label: exits 0 after all ${planned:-?} planned tests$what \
(status $status, $seen tests seen$why)"
	diag "$tmp/err"
}

for prog in abi early dlopen_main fork_threads thread_exit bad_free linked big_malloc; do
	if [ ! -x "$dir/$prog" ]; then
		point 1 "$prog is built ($dir/$prog)"
	fi
done

# ---- The programs, under glibc (the tests are right) and uslub ---------

tap "abi [glibc]" "${glibc[@]}" "$dir/abi"
tap "abi [uslub]" "${uslub[@]}" "$dir/abi"
names="__posix_memalign free_sized free_aligned_sized cfree"
grep -qx "# optional names present: $names" "$tmp/out"
point $? "abi [uslub]: __posix_memalign, free_sized, free_aligned_sized \
and cfree are exported, so abi checked them"
tap "early [glibc]" "${glibc[@]}" "$dir/early"
tap "early [uslub]" "${uslub[@]}" "$dir/early"
! grep -q '^ok .*SKIP' "$tmp/out"
point $? "early [uslub]: uslub_usable_size is found, so the blocks' \
origin was checked"
tap "dlopen_main [glibc]" "${glibc[@]}" "$dir/dlopen_main" \
	"$dir/.libs/dlmod.so"
tap "dlopen_main [uslub]" "${uslub[@]}" "$dir/dlopen_main" \
	"$dir/.libs/dlmod.so"
# Forks are slow on small machines: glibc only checks the test.
tap "fork_threads [glibc]" "${glibc[@]}" "$dir/fork_threads" 24
tap "fork_threads [uslub]" "${uslub[@]}" "$dir/fork_threads" 200
tap "thread_exit churn [glibc]" "${glibc[@]}" "$dir/thread_exit" churn 2000
tap "thread_exit churn [uslub]" "${uslub[@]}" "$dir/thread_exit" churn 20000
for mode in pthread_exit signals; do
	tap "thread_exit $mode [glibc]" "${glibc[@]}" "$dir/thread_exit" $mode
	tap "thread_exit $mode [uslub]" "${uslub[@]}" "$dir/thread_exit" $mode
done
tap "linked [uslub, -luslub-preload]" "${glibc[@]}" "$dir/linked"

# ---- Invalid pointers: one report line, then abort or carry on ---------

# bad CASE FUNCTION: the report must be exactly
# "uslub: FUNCTION: invalid pointer ADDR: REASON", ADDR as the program
# printed it.
bad() {
	local c=$1 func=$2 addr lines line
	local what="bad_free $c: $func"

	run "${uslub[@]}" "$dir/bad_free" "$c"
	addr=$(sed -n 's/^addr //p' "$tmp/out")
	lines=$(wc -l <"$tmp/err")
	line=$(head -n 1 "$tmp/err")
	[ "$status" -eq 134 ]
	point $? "$what aborts (SIGABRT) by default (status $status)"
	[ -n "$addr" ] && [ "$lines" -eq 1 ] &&
		[[ $line == "uslub: $func: invalid pointer $addr: "?* ]]
	point $? "$what reports one line 'uslub: $func: invalid pointer \
${addr:-?}: <reason>' ($lines lines)"
	diag "$tmp/err"

	run env LD_PRELOAD="$preload" USLUB_OPTIONS=abort_on_error=0 \
		"$dir/bad_free" "$c"
	lines=$(wc -l <"$tmp/err")
	[ "$status" -eq 0 ] && grep -qx survived "$tmp/out"
	point $? "$what with abort_on_error=0 carries on, the heap still \
works, exit 0 (status $status)"
	addr=$(sed -n 's/^addr //p' "$tmp/out")
	line=$(head -n 1 "$tmp/err")
	[ -n "$addr" ] && [ "$lines" -eq 1 ] &&
		[[ $line == "uslub: $func: invalid pointer $addr: "?* ]]
	point $? "$what with abort_on_error=0 still reports it once \
($lines lines)"
	diag "$tmp/out"
	diag "$tmp/err"
}

bad foreign free
bad interior free
bad double free
bad realloc_foreign realloc
bad usable_foreign malloc_usable_size
bad zero_size_ptr free
bad realloc_zsp realloc
bad aba free
bad xthread free
bad realloc_freed realloc
bad after_trim free

# bad_debug CASE USLUB_DEBUG PATTERN: heap bugs that are not invalid
# pointers, in both abort modes.  abort_on_error=1: SIGABRT after exactly
# one "uslub:" line matching PATTERN (a glob; ADDR is what the program
# printed), whatever lines of stack and dump follow it; =0: the same line,
# then the program goes on and its heap works.
bad_debug() {
	local c=$1 dbg=$2 pat=$3 addr lines line mode
	local what="bad_free $c"

	for mode in 1 0; do
		run env LD_PRELOAD="$preload" USLUB_DEBUG="$dbg" \
			USLUB_OPTIONS=abort_on_error=$mode,exitcode=0 \
			"$dir/bad_free" "$c"
		addr=$(sed -n 's/^addr //p' "$tmp/out")
		lines=$(grep -c '^uslub:' "$tmp/err")
		line=$(grep -m 1 '^uslub:' "$tmp/err")
		if [ $mode = 1 ]; then
			[ "$status" -eq 134 ]
			point $? "$what, abort_on_error=1: SIGABRT (status $status)"
		else
			[ "$status" -eq 0 ] && grep -qx survived "$tmp/out"
			point $? "$what, abort_on_error=0: carries on, the heap \
still works, exit 0 (status $status)"
		fi
		# shellcheck disable=SC2053
		[ -n "$addr" ] && [ "$lines" -eq 1 ] &&
			[[ $line == ${pat//ADDR/$addr} ]]
		point $? "$what, abort_on_error=$mode: one line '$pat' \
($lines lines)"
		diag "$tmp/err"
	done
}

bad_debug kmalloc_redzone Z,kmalloc-32 "uslub: free: kmalloc-32 object ADDR: \
kmalloc Redzone overwritten (0x*-0x* @offset=30. First byte 0x58 instead of \
0xcc)"
bad_debug large_overflow Z,kmalloc-large "uslub: free: kmalloc-large object \
ADDR (100000 bytes): Redzone overwritten (0x*-0x* @offset=100000. First byte \
0x58 instead of 0xcc)"
bad_debug freelist "" "uslub: alloc: cache kmalloc-112: free object 0x* has \
a corrupt free pointer (decodes to 0x*, not an object of slab 0x*): its \
slab's free objects after it are dropped"

# The stack under a report: a frame in the preload library (a shared
# object: its offset is from its load base) and one in the program (PIE)
# each give back their function through addr2line.
frame_resolves() {		# frame_resolves PATTERN: 0 if addr2line agrees
	local frame name module offset
	frame=$(grep -m 1 "$1" "$tmp/err") || return 1
	name=${frame%%+*}
	name=${name# }
	module=$(sed -n 's/^ [^ ]* (\(.*\)+0x[0-9a-f]*)$/\1/p' <<<"$frame")
	offset=$(sed -n 's/^ [^ ]* (.*+\(0x[0-9a-f]*\))$/\1/p' <<<"$frame")
	[ -f "$module" ] &&
		[ "$(addr2line -f -e "$module" "$offset" | head -n 1)" = "$name" ]
}
run env LD_PRELOAD="$preload" USLUB_DEBUG=Z,kmalloc-32 \
	USLUB_OPTIONS=abort_on_error=0,exitcode=0 "$dir/bad_free" kmalloc_redzone
if command -v addr2line >/dev/null 2>&1; then
	frame_resolves '^ debug_free+0x[0-9a-f]* (.*libuslub-preload\.so[.0-9]*+'
	point $? "bad_free kmalloc_redzone: the stack's debug_free frame \
(libuslub-preload.so+OFFSET) resolves with addr2line"
	frame_resolves '^ main+0x[0-9a-f]* (.*/bad_free+'
	point $? "bad_free kmalloc_redzone: the stack's main frame \
(bad_free+OFFSET: a PIE, main only in its .symtab) resolves with \
	addr2line"
	diag "$tmp/err"
else
	point 0 "# SKIP addr2line not installed"
fi

# ---- USLUB_OPTIONS -----------------------------------------------------

# The statistics are written at exit by a destructor: not for a program
# that leaves by _exit (dash does), so /bin/true.  tests/preload/stats.sh
# tests the report itself.
has_stats() {			# has_stats FILE
	grep -qx 'slabinfo - version: 2\.1' "$1" &&
		grep -q '^uslub: summary:' "$1"
}

run env LD_PRELOAD="$preload" USLUB_OPTIONS=stats /bin/true
[ "$status" -eq 0 ] && has_stats "$tmp/err"
rc=$?
point $rc "USLUB_OPTIONS=stats: /bin/true works, stderr has \
'slabinfo - version: 2.1' and 'uslub: summary:' at exit"
[ $rc -eq 0 ] || diag "$tmp/err"

run env LD_PRELOAD="$preload" USLUB_OPTIONS="stats_file=$tmp/stats" /bin/true
[ "$status" -eq 0 ] && [ -f "$tmp/stats" ] && has_stats "$tmp/stats" &&
	! grep -q 'slabinfo\|^uslub: summary' "$tmp/err"
point $? "USLUB_OPTIONS=stats_file=FILE: the statistics go to FILE, \
not stderr"
diag "$tmp/err"

echo_hi=(sh -c 'echo hi')
run env LD_PRELOAD="$preload" USLUB_OPTIONS=bogus=1 "${echo_hi[@]}"
[ "$status" -eq 0 ] && grep -qx hi "$tmp/out" &&
	[ "$(cat "$tmp/err")" = "uslub: USLUB_OPTIONS: ignoring 'bogus=1'" ]
point $? "USLUB_OPTIONS=bogus=1: one line \"uslub: USLUB_OPTIONS: ignoring \
'bogus=1'\", the program works"
diag "$tmp/err"

# limit=: a 100 MiB malloc fails with ENOMEM under 64 MiB, small ones
# work; without the limit (and under glibc) it succeeds.
run env LD_PRELOAD="$preload" USLUB_OPTIONS=limit=64m "$dir/big_malloc"
[ "$status" -eq 0 ] && [ "$(cat "$tmp/out")" = "big NULL ENOMEM
small ok" ] && [ ! -s "$tmp/err" ]
point $? "USLUB_OPTIONS=limit=64m: malloc(100 MiB) is NULL with ENOMEM, \
small mallocs work, nothing on stderr"
diag "$tmp/out"
diag "$tmp/err"
for how in glibc uslub; do
	if [ $how = glibc ]; then
		run "${glibc[@]}" "$dir/big_malloc"
	else
		run "${uslub[@]}" "$dir/big_malloc"
	fi
	[ "$status" -eq 0 ] && [ "$(cat "$tmp/out")" = "big ok
small ok" ]
	point $? "big_malloc [$how], no limit: malloc(100 MiB) works"
	diag "$tmp/out"
done
run env LD_PRELOAD="$preload" USLUB_OPTIONS=limit=1g,page_owner=1 \
	"${echo_hi[@]}"
[ "$status" -eq 0 ] && grep -qx hi "$tmp/out" && [ ! -s "$tmp/err" ]
point $? "USLUB_OPTIONS=limit=1g,page_owner=1: known keys, sh works"
diag "$tmp/err"

loud=1
tap "abi [uslub, decay_ms=0,thp=0,verbose]" env \
	LD_PRELOAD="$preload" USLUB_OPTIONS=decay_ms=0,thp=0,verbose "$dir/abi"
loud=0
! grep -q 'ignoring' "$tmp/err"
point $? "USLUB_OPTIONS=decay_ms=0,thp=0,verbose: every key known"

echo "1..$n"
