# tests/tap.sh - TAP output for the shell tests, which source it:
#
#   . "${abs_top_srcdir:-${top_srcdir:-.}}/tests/tap.sh"
#
#   point STATUS DESCRIPTION   one test point, "ok N - DESCRIPTION" when
#                              STATUS is 0, else "not ok N - ..."; returns
#                              STATUS, so that "point $? ... || diag F" works
#   skip DESCRIPTION REASON    a skipped point
#   diag FILE [LINES]          FILE's first LINES (40) lines as comments
#
# n counts the points; a script prints "1..$n" last.

n=0

point() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
	fi
	return "$1"
}

skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

diag() {
	[ -s "$1" ] && head -n "${2:-40}" "$1" | sed 's/^/# /'
	return 0
}
