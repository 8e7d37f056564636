#!/bin/sh
# tests/debug/run.sh -- each tests/debug program makes one heap bug on a
# debug cache; check uslub's report, as TAP.  For program NAME:
#   expected/NAME.err  its stderr, line for line, after masking what
#                      changes between runs (addresses, ages, thread ids)
#                      and dropping the stack frames below the caller
#                      (lines starting with a space: libc's, the loader's)
#   expected/NAME.out  its stdout, exactly
# and the exit status in the table below (134: abort).  Then the stacks
# of static_stack's reports: each names the static function that made the
# bad call, and addr2line (binutils) turns that frame's module+offset back
# into the name.  Run by `make check' from the build directory.

builddir=${top_builddir:-.}
srcdir=${top_srcdir:-.}
dir=$builddir/tests/debug
exp=$srcdir/tests/debug/expected

# name | exit status | environment
cases='right_redzone|0|
left_redzone|0|
use_after_free|0|
validate_poison|0|
double_free|0|
invalid_free|0|
wrong_cache|0|
freelist_corrupt|0|
destroy_busy|0|
abort_on_error|134|USLUB_OPTIONS=abort_on_error=1
kmalloc_env|23|USLUB_DEBUG=ZP,kmalloc-64
exit_validate|23|USLUB_DEBUG=P,bug_cache
exit_validate|0|USLUB_DEBUG=P,bug_cache USLUB_OPTIONS=exitcode=0
exit_validate|7|USLUB_DEBUG=P,bug_cache USLUB_OPTIONS=exitcode=7
trim_validate|0|
debug_typo|0|USLUB_DEBUG=FZ,kmaloc-64
kmalloc_redzone|23|USLUB_DEBUG=Z,kmalloc-*
static_stack|134|USLUB_DEBUG=Z,bug_cache
large_block|23|USLUB_DEBUG=ZP,kmalloc-*'

# Masked: addresses (6 hex digits or more), offsets into functions, the
# objects per slab (the slab order depends on the number of CPUs).
mask() {
	sed -e '/^ /d' \
	    -e 's/+0x[0-9a-f]*/+0x?/g' \
	    -e 's/0x[0-9a-f]\{6,\}/0x?/g' \
	    -e 's/^\([A-Za-z]* *\) [0-9a-f]\{16\}:/\1 ?:/' \
	    -e 's/objects=[0-9]*/objects=?/; s/ of [0-9]*)/ of ?)/' \
	    -e 's/age=[0-9]*/age=?/g' -e 's/tid=[0-9]*/tid=?/g'
}

n=$(printf '%s\n' "$cases" | wc -l)
stack_points=4
echo "1..$((n * 3 + stack_points))"
i=0
tmp=${TMPDIR:-/tmp}/uslub-debug.$$
trap 'rm -f "$tmp".*' EXIT
printf '%s\n' "$cases" | while IFS='|' read -r name want env; do
	# shellcheck disable=SC2086
	env $env "$dir/$name" >"$tmp.out" 2>"$tmp.err"
	status=$?
	i=$((i + 1))
	if [ "$status" -eq "$want" ]; then
		echo "ok $i - $name exits $want"
	else
		echo "not ok $i - $name exits $want (got $status)"
	fi
	i=$((i + 1))
	mask <"$tmp.err" >"$tmp.masked"
	if diff -u "$exp/$name.err" "$tmp.masked" >"$tmp.diff"; then
		echo "ok $i - $name: the report, line for line"
	else
		echo "not ok $i - $name: the report, line for line"
		sed 's/^/# /' "$tmp.diff"
	fi
	i=$((i + 1))
	if diff -u "$exp/$name.out" "$tmp.out" >"$tmp.diff"; then
		echo "ok $i - $name: its output"
	else
		echo "not ok $i - $name: its output"
		sed 's/^/# /' "$tmp.diff"
	fi
done

# ---- The stack of the bad call --------------------------------------

i=$((n * 3))
point() {			# point STATUS DESCRIPTION
	i=$((i + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $i - $2"
	else
		echo "not ok $i - $2"
	fi
}
USLUB_DEBUG=Z,bug_cache "$dir/static_stack" >"$tmp.out" 2>"$tmp.err"
# The lines after a report's first line, up to the next unindented one.
stack_after() {
	awk -v pat="$1" 'index($0, pat) == 1 { on = 1; next }
		on && /^ / { print; next } { on = 0 }' "$tmp.err"
}
stack_after "uslub: cache_free: bug_cache object " >"$tmp.stack1"
grep -q '^ free_twice_static+0x[0-9a-f]* (' "$tmp.stack1"
point $? "static_stack: the debug report's stack names the static function"
stack_after "uslub: kfree: invalid pointer " >"$tmp.stack2"
grep -q '^ free_twice_static+0x[0-9a-f]* (' "$tmp.stack2"
point $? "static_stack: the invalid free's stack (USLUB_DEBUG set) names it"
# " free_twice_static+0x1d (/path/static_stack+0x3a5d)"
frame=$(grep -m 1 '^ free_twice_static+' "$tmp.stack1" |
	sed -n 's/^ [^ ]* (\(.*\)+\(0x[0-9a-f]*\))$/\1 \2/p')
module=${frame% *}
offset=${frame##* }
[ -n "$frame" ] && [ -f "$module" ]
point $? "static_stack: the frame has a module+offset ($frame)"
if command -v addr2line >/dev/null 2>&1 && [ -n "$frame" ]; then
	name=$(addr2line -f -e "$module" "$offset" | head -n 1)
	[ "$name" = free_twice_static ]
	point $? "addr2line -f -e MODULE OFFSET names free_twice_static (got $name)"
else
	point 0 "# SKIP addr2line not installed"
fi
