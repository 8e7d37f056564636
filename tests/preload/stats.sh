#!/bin/bash
# tests/preload/stats.sh -- the exit statistics and uslub-run, as TAP.  Run
# from the build directory by `make check', which exports abs_top_builddir,
# abs_top_srcdir and USLUB_PRELOAD (the built libuslub-preload.so).
#
#   - the report reaches the stderr the program started with, after the
#     program closed fd 2 (close_stderr close, ls), and never the file
#     that took the number of fd 2 or of uslub's duplicate of it;
#   - under uslub-run --stats only the program reports, not the shells a
#     wrapper script forks; --stats-children and plain USLUB_OPTIONS=stats
#     make every process report;
#   - empty caches are hidden, and counted on the summary line, unless
#     stats=all; stats=json reaches the same stderr as one JSON document;
#   - stats_file that cannot be opened: one line with the error's text;
#   - uslub-run --version, and --help naming every option of uslub-run and
#     every USLUB_OPTIONS key of lib/options.c.
set -u
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"	# make's SHELL may be sh

builddir=${abs_top_builddir:-${top_builddir:-.}}
srcdir=${abs_top_srcdir:-${top_srcdir:-.}}
preload=${USLUB_PRELOAD:-}
run_=$builddir/preload/uslub-run
prog=$builddir/tests/preload/close_stderr

if [ -z "$preload" ] || [ ! -e "$preload" ] || [ ! -x "$run_" ]; then
	echo "1..0 # SKIP no preload library or uslub-run"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uslub-stats.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
limit=()
if command -v timeout >/dev/null 2>&1; then
	limit=(timeout -k 5 120)
fi

. "${abs_top_srcdir:-${top_srcdir:-.}}/tests/tap.sh"

# run CMD...: stdout in $tmp/out, stderr in $tmp/err, status in $status;
# nothing inherited from the caller's uslub settings.
run() {
	"${limit[@]}" env -u USLUB_OPTIONS -u USLUB_STATS_PID -u LD_PRELOAD \
		USLUB_PRELOAD_LIB="$preload" "$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
}

has_report() {			# has_report FILE: one whole report
	grep -qx 'slabinfo - version: 2\.1' "$1" &&
		grep -q '^uslub: summary: in use ' "$1" &&
		[ "$(grep -c '^uslub: statistics at exit of pid ' "$1")" -eq 1 ]
}

reports() {			# reports FILE: how many processes reported
	grep -c '^uslub: statistics at exit of pid ' "$1"
}

# ---- the stderr of the start --------------------------------------------

run "$run_" --stats "$prog" close
[ "$status" -eq 0 ] && has_report "$tmp/err"
point $? "uslub-run --stats: a program that closes fd 2 before exit \
still reports to the stderr it started with" ||
	diag "$tmp/err"

run "$run_" --stats ls "$tmp"
[ "$status" -eq 0 ] && has_report "$tmp/err" &&
	grep -q '(ls)$' "$tmp/err"
point $? "uslub-run --stats ls (which closes stderr at exit) reports" ||
	diag "$tmp/err"

run "$run_" --stats "$prog" reuse "$tmp/reuse"
[ "$status" -eq 0 ] && has_report "$tmp/err" &&
	[ "$(cat "$tmp/reuse")" = mine ]
point $? "a file that gets fd 2 after the program closed stderr holds \
only the program's own line; the report goes to the original stderr" ||
	diag "$tmp/reuse"

run "$run_" --stats "$prog" daemon "$tmp/daemon"
[ "$status" -eq 0 ] && [ "$(cat "$tmp/daemon")" = mine ] &&
	[ ! -s "$tmp/err" ]
point $? "a program that closes every descriptor and reopens a file on \
all of them gets no report in that file" ||
	diag "$tmp/daemon"

# ---- who reports ----------------------------------------------------------

cat >"$tmp/wrapper" <<'EOF'
#!/bin/bash
# A shim: subshells, command substitutions, then exec of the program.
a=$(echo one)
b=$(echo two | cat)
( : "$a" ) && ( : "$b" )
exec "$@"
EOF
chmod +x "$tmp/wrapper"

run "$run_" --stats "$tmp/wrapper" "$prog" close
[ "$status" -eq 0 ] && [ "$(reports "$tmp/err")" -eq 1 ] &&
	grep -q '^uslub: statistics at exit of pid [0-9]* (close_stderr)$' \
		"$tmp/err"
point $? "uslub-run --stats through a wrapper that forks subshells: one \
report, the program's" ||
	diag "$tmp/err"

run "$run_" --stats --stats-children "$tmp/wrapper" "$prog" close
[ "$status" -eq 0 ] && [ "$(reports "$tmp/err")" -ge 3 ] &&
	grep -q '(close_stderr)$' "$tmp/err"
point $? "uslub-run --stats --stats-children: the subshells report too \
($(reports "$tmp/err") reports)"

run env LD_PRELOAD="$preload" USLUB_OPTIONS=stats "$tmp/wrapper" \
	"$prog" close
[ "$status" -eq 0 ] && [ "$(reports "$tmp/err")" -ge 3 ]
point $? "USLUB_OPTIONS=stats without uslub-run: every process reports \
($(reports "$tmp/err") reports)"

# ---- empty caches ---------------------------------------------------------

# The rows of a report whose active_objs and num_slabs are both 0.
empty_rows() {
	awk '$12 == ":" && $13 == "slabdata" && $2 == 0 && $15 == 0' "$1" |
		wc -l
}
rows() {
	grep -c ': tunables .* : slabdata ' "$1"
}

run "$run_" --stats "$prog" close
cp "$tmp/err" "$tmp/default"
hidden=$(sed -n 's/.*, \([0-9]*\) empty caches hidden (stats=all shows them)$/\1/p' \
	"$tmp/default")
[ "$(empty_rows "$tmp/default")" -eq 0 ] && [ -n "$hidden" ] &&
	[ "$hidden" -gt 0 ]
point $? "stats: no empty cache listed; the summary says how many were \
hidden (${hidden:-none})" ||
	diag "$tmp/default"

run "$run_" --stats=all "$prog" close
[ "$status" -eq 0 ] && [ "$(empty_rows "$tmp/err")" -eq "${hidden:-0}" ] &&
	[ "$(rows "$tmp/err")" -eq $(($(rows "$tmp/default") + ${hidden:-0})) ] &&
	! grep -q 'empty caches hidden' "$tmp/err"
point $? "stats=all: the hidden caches are listed, nothing said hidden" ||
	diag "$tmp/err"

# stats=json goes the same way: one JSON document, to the stderr of the
# start after the program closed fd 2, and only from the named program.
run "$run_" --stats=json "$prog" close
[ "$status" -eq 0 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(d["uslub_stats_version"] != 1 or not d["caches"])' "$tmp/err"
point $? "stats=json: one JSON document on the stderr the program started \
with, after it closed fd 2" ||
	diag "$tmp/err"

run env LD_PRELOAD="$preload" USLUB_OPTIONS=stats=2 /bin/true
[ "$(cat "$tmp/err")" = "uslub: USLUB_OPTIONS: ignoring 'stats=2'" ]
point $? "stats=2 is refused with one line" ||
	diag "$tmp/err"

# ---- stats_file errors ----------------------------------------------------

run env LD_PRELOAD="$preload" USLUB_OPTIONS="stats_file=$tmp/no/such/f" \
	/bin/true
[ "$status" -eq 0 ] && [ "$(cat "$tmp/err")" = \
"uslub: stats_file $tmp/no/such/f: cannot open: No such file or directory" ]
point $? "stats_file in a missing directory: one line with the error's text" ||
	diag "$tmp/err"

# ---- uslub-run itself -----------------------------------------------------

version=$(sed -n 's/^PACKAGE_VERSION = //p' "$builddir/Makefile")
run "$run_" --version
[ "$status" -eq 0 ] && [ "$(cat "$tmp/out")" = "uslub-run (uslub) $version" ]
point $? "uslub-run --version prints 'uslub-run (uslub) $version'" ||
	diag "$tmp/out"

run "$run_" --help
cp "$tmp/out" "$tmp/help"
missing=""
# Every option the script's case statement accepts.
for o in $(sed -n 's/^\t\(-[-a-z|=*]*\)).*/\1/p' "$srcdir/preload/uslub-run.in" |
	tr '|' ' '); do
	o=${o%\*}
	case $o in -|--) continue ;; esac
	grep -qe "$o" "$tmp/help" || missing="$missing $o"
done
# Every USLUB_OPTIONS key, and the environment variables.
for k in $(sed -n 's/.*key_is(k, klen, "\([a-z_]*\)").*/\1/p' \
	"$srcdir/lib/options.c") USLUB_OPTIONS USLUB_DEBUG USLUB_PRELOAD_LIB; do
	grep -qw -e "$k" "$tmp/help" || missing="$missing $k"
done
[ "$status" -eq 0 ] && [ -z "$missing" ]
point $? "uslub-run --help names every option and USLUB_OPTIONS key\
${missing:+ (missing:$missing)}"

run "$run_" --bogus true
[ "$status" -eq 2 ] && head -n 1 "$tmp/err" | grep -qx \
	'uslub-run: unknown option: --bogus'
point $? "uslub-run --bogus: exit 2, the option named on stderr"

echo "1..$n"
