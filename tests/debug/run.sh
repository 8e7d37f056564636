#!/bin/sh
# tests/debug/run.sh -- each tests/debug program makes one heap bug on a
# debug cache; check uslub's report, as TAP.  For program NAME:
#   expected/NAME.err  its stderr, line for line, after masking what
#                      changes between runs (addresses, ages, thread ids)
#                      and dropping the stack frames below the caller
#                      (lines starting with a space: libc's, the loader's)
#   expected/NAME.out  its stdout, exactly
# and the exit status in the table below (134: abort).  Run by `make check'
# from the build directory.

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
kmalloc_redzone|23|USLUB_DEBUG=Z,kmalloc-*'

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
echo "1..$((n * 3))"
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
