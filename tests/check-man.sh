#!/bin/sh
# tests/check-man.sh -- the manual pages of man/, as TAP.
#
#   1. Each man/*.[1-9] passes `mandoc -Tlint -W warning' (without mandoc:
#      `man --warnings -l', which must print nothing on stderr; with
#      neither, the point fails and says so).
#   2. Makefile.am installs each of them (dist_man_MANS).
#   3. uslub(3) documents every function of include/uslub.h and every
#      USLUB_OPTIONS key of lib/options.c; uslub-kmem(3) every function
#      and function-like macro of include/uslub/kmem.h; uslub-run(1) every
#      option of preload/uslub-run.in.
#   4. After `make install-man' into a scratch DESTDIR, `man -M' finds
#      uslub (skipped where man-db is not installed).
#
# Run from the build directory by `make check' (top_srcdir and
# top_builddir come from AM_TESTS_ENVIRONMENT).

srcdir=${abs_top_srcdir:-${top_srcdir:-.}}
builddir=${abs_top_builddir:-${top_builddir:-.}}
man=$srcdir/man

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uslub-man.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

. "${abs_top_srcdir:-${top_srcdir:-.}}/tests/tap.sh"

# lint FILE: the problems found, in $tmp/lint; 0 when there are none.
lint() {
	if command -v mandoc >/dev/null 2>&1; then
		# mandoc.db notices about other pages go to stderr: ignored.
		mandoc -Tlint -W warning "$1" >"$tmp/lint" 2>/dev/null &&
			[ ! -s "$tmp/lint" ]
	elif command -v man >/dev/null 2>&1; then
		MANWIDTH=80 man --warnings -l "$1" >/dev/null 2>"$tmp/lint" &&
			[ ! -s "$tmp/lint" ]
	else
		echo "neither mandoc nor man is installed" \
		    "(apt-get install mandoc)" >"$tmp/lint"
		return 1
	fi
}

pages=$(ls "$man"/*.[1-9] 2>/dev/null)
if [ -z "$pages" ]; then
	echo "1..1"
	echo "not ok 1 - no manual page found in $man"
	exit 1
fi

for page in $pages; do
	name=$(basename "$page")
	lint "$page"
	point $? "$name: no lint warning" || diag "$tmp/lint"
	grep -q "man/$name" "$srcdir/Makefile.am"
	point $? "$name: installed by Makefile.am"
done

# missing PAGE WORDS...: the words that are no argument of a macro line
# of PAGE (".Fn name", ".Nm name ,", ".It Cm key", ".It Fl -option", ...).
missing() {
	page=$1
	shift
	out=""
	for w in "$@"; do
		grep -qE "^\..* $w( |\$)" "$page" || out="$out $w"
	done
	echo "$out"
}

api=$(sed -n 's/^USLUB_API [^(]*[ *]\(uslub_[a-z0-9_]*\)(.*/\1/p' \
	"$srcdir/include/uslub.h")
m=$(missing "$man/uslub.3" $api)
[ -n "$api" ] && [ -z "$m" ]
point $? "uslub.3 documents every function of uslub.h${m:+ (missing:$m)}"

keys=$(sed -n 's/.*key_is(k, klen, "\([a-z_]*\)").*/\1/p' \
	"$srcdir/lib/options.c")
m=$(missing "$man/uslub.3" $keys)
[ -n "$keys" ] && [ -z "$m" ]
point $? "uslub.3 documents every USLUB_OPTIONS key${m:+ (missing:$m)}"

h=$srcdir/include/uslub/kmem.h
kmem=$(sed -n -e 's/^\([a-z_]*\)(.*/\1/p' \
	-e 's/^static inline [^(]*[ *]\([a-z_]*\)(.*/\1/p' \
	-e 's/^#define \([a-zA-Z_]*\)(.*/\1/p' "$h" |
	grep -vx 'ZERO_OR_NULL_PTR')
m=$(missing "$man/uslub-kmem.3" $kmem)
[ -n "$kmem" ] && [ -z "$m" ]
point $? "uslub-kmem.3 names every function of uslub/kmem.h${m:+ (missing:$m)}"

# The options of uslub-run's case arms, without their first '-'.
opts=$(grep -E '^[[:space:]]+-[^)]*\)' "$srcdir/preload/uslub-run.in" |
	grep -oE -- '--[a-z][a-z-]*' | sort -u | sed 's/^-//')
m=$(missing "$man/uslub-run.1" $opts)
[ -n "$opts" ] && [ -z "$m" ]
point $? "uslub-run.1 documents every option of uslub-run${m:+ (missing:$m)}"

# man finds the installed page.
if command -v man >/dev/null 2>&1 && [ -f "$builddir/Makefile" ]; then
	make -s -C "$builddir" install-man DESTDIR="$tmp/dest" \
		>"$tmp/install" 2>&1
	found=$(find "$tmp/dest" -type d -path '*/share/man' | head -n 1)
	[ -n "$found" ] && man -M "$found" -w uslub >"$tmp/where" 2>&1 &&
		grep -q '/man3/uslub\.3' "$tmp/where"
	point $? "after make install-man, man finds uslub" ||
		{ diag "$tmp/install"; diag "$tmp/where"; }
else
	n=$((n + 1))
	echo "ok $n - # SKIP man-db is not installed"
fi

echo "1..$n"
