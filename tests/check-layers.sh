#!/bin/sh
# tests/check-layers.sh -- lib/ includes only downward, layer by layer, as
# TAP.  Reads the sources only, so it runs in every flavour in no time.
#
#   1. Every .c and .h file of lib/ is in exactly one layer of the table
#      below, and every file of the table exists: a new file must be
#      placed (here and in doc/design.md) before it is accepted.
#   2. A file of lib/ includes ("x.h") only headers of its own layer or a
#      lower one.  include/uslub.h and include/uslub/kmem.h, the public
#      API, count as lower than L0.  Each violation is listed as
#      `lib/FILE (Ln) includes lib/HEADER (Lm)'.  An upper layer reaches
#      down by calls; a lower one reaches up only through a hook (a
#      function pointer) that the upper layer installs at init, as
#      page_alloc.h's page_reclaim_hook.
#   3. System headers: <urcu*.h> only in lib/rcu.c; OS headers only in
#      lib/os_linux.c.  Everywhere else only the C library's plain headers
#      and the thread ones, listed in $common below.
#   4. doc/design.md's Layers table lists the same files at the same
#      layers as the table below.
#
# Run by `make check' (top_srcdir comes from AM_TESTS_ENVIRONMENT).

srcdir=${top_srcdir:-.}
cd "$srcdir" || { echo "Bail out! cannot cd to $srcdir"; exit 1; }

# The layers of lib/, bottom first: a line "Ln files...", and indented lines
# that carry on the layer above them.  The same table as doc/design.md's.
LAYERS='
L0   compiler.h atomic.h list.h bitops.h assert.h lock.h lock.c
L1   os.h os_linux.c
L2   types.h log.h log.c options.h options.c addr_table.h addr_table.c
L3   region.h region.c pagemap.h page_alloc.h page_alloc.c
     page_owner.h page_owner.c
L4   slab.h slab.c debug.h debug.c
L4.5 sheaf.h sheaf.c
L5   cache.h cache.c thread.h thread.c kmalloc.h kmalloc.c alloc.h
     pages.h pages.c shrink.h shrink.c stats.h stats.c rcu.h rcu.c
     malloc_abi.h malloc_abi.c init.h init.c fork.h fork.c
     stats_json.h stats_json.c statsd.h statsd.c
     debug_large.h debug_large.c
     prof.h prof.c
L6   api.c
'

# System headers any file of lib/ may include: the C library's plain ones
# (no stdio: lib/ may be the malloc that stdio calls) and threads.
common='errno.h inttypes.h limits.h stdalign.h stdarg.h stdatomic.h
stdbool.h stddef.h stdint.h stdlib.h string.h
pthread.h sched.h semaphore.h signal.h sys/types.h'

# The public headers, as lib/ names them ("uslub.h", "uslub/kmem.h").
public=$(cd include && find . -name '*.h' | sed 's|^\./||' | sort |
	tr '\n' ' ')

export LAYERS common public

if [ ! -d lib ] || [ ! -f lib/types.h ]; then
	echo "Bail out! no lib/ in $srcdir (set top_srcdir)"
	exit 1
fi

echo "1..4"

files=$(ls lib/*.c lib/*.h)
rc=0

# The table as lines "LAYER FILE", in order.
table=$(awk 'BEGIN {
	n = split(ENVIRON["LAYERS"], line, "\n")
	for (i = 1; i <= n; i++) {
		k = split(line[i], w, " ")
		if (k == 0)
			continue
		j = 1
		if (line[i] ~ /^L/) {
			layer = w[1]
			j = 2
		}
		for (; j <= k; j++)
			print layer, w[j]
	}
}')

# ---- 1. every file placed, once -----------------------------------------
bad=$(printf '%s\n' "$table" | awk -v files="$files" '
	{ n[$2]++ }
	END {
		k = split(files, f, "\n")
		for (i = 1; i <= k; i++) {
			name = f[i]
			sub(/^lib\//, "", name)
			seen[name] = 1
			if (!(name in n))
				print "lib/" name " is in no layer: add it to " \
				    "tests/check-layers.sh and doc/design.md"
		}
		for (name in n) {
			if (n[name] > 1)
				print "lib/" name " is in " n[name] " layers"
			if (!(name in seen))
				print "lib/" name " is in the table but not in lib/"
		}
	}' | sort)
if [ -z "$bad" ]; then
	echo "ok 1 - every file of lib/ is in one layer"
else
	echo "not ok 1 - every file of lib/ is in one layer"
	printf '%s\n' "$bad" | sed 's/^/#   /'
	rc=1
fi

# ---- 2. "" includes go downward -----------------------------------------
# Files not in the table were reported by 1; here they count as the top.
# shellcheck disable=SC2086 # $files: names without blanks, split on purpose
bad=$(printf '%s\n' "$table" | awk '
	function num(l) { return l == "public" ? -1 : substr(l, 2) + 0 }
	FNR == NR { layer[$2] = $1; next }
	FNR == 1 {
		name = FILENAME
		sub(/^lib\//, "", name)
		mine = (name in layer) ? layer[name] : "L99"
	}
	/^[ \t]*#[ \t]*include[ \t]*"/ {
		h = $0
		sub(/^[^"]*"/, "", h)
		sub(/".*/, "", h)
		if (h in layer)
			theirs = layer[h]
		else if (index(" " ENVIRON["public"] " ", " " h " "))
			next
		else {
			print FILENAME " (" mine ") includes " h \
			    ", which is neither in lib/ nor in include/"
			next
		}
		if (num(theirs) > num(mine))
			print FILENAME " (" mine ") includes lib/" h \
			    " (" theirs ")"
	}' - $files)
if [ -z "$bad" ]; then
	echo "ok 2 - lib/ includes only its own layer and those below"
else
	echo "not ok 2 - lib/ includes only its own layer and those below"
	printf '%s\n' "$bad" | sed 's/^/#   /'
	rc=1
fi

# ---- 3. system headers --------------------------------------------------
# shellcheck disable=SC2086
bad=$(awk '
	BEGIN {
		n = split(ENVIRON["common"], w, /[ \t\n]+/)
		for (i = 1; i <= n; i++)
			if (w[i] != "")
				ok[w[i]] = 1
	}
	/^[ \t]*#[ \t]*include[ \t]*</ {
		h = $0
		sub(/^[^<]*</, "", h)
		sub(/>.*/, "", h)
		if (h ~ /^urcu/) {
			if (FILENAME != "lib/rcu.c")
				print FILENAME " includes <" h ">: liburcu " \
				    "only in lib/rcu.c"
		} else if (!(h in ok) && FILENAME != "lib/os_linux.c")
			print FILENAME " includes <" h ">: OS headers only " \
			    "in lib/os_linux.c"
	}' $files)
if [ -z "$bad" ]; then
	echo "ok 3 - OS headers only in lib/os_linux.c, liburcu only in lib/rcu.c"
else
	echo "not ok 3 - OS headers only in lib/os_linux.c, liburcu only in lib/rcu.c"
	printf '%s\n' "$bad" | sed 's/^/#   /'
	rc=1
fi

# ---- 4. doc/design.md's table is this table -----------------------------
doc=doc/design.md
if [ ! -f "$doc" ]; then
	echo "ok 4 # SKIP no $doc"
	exit $rc
fi
# Rows "| Ln | `files` | owns |" of the section "## Layers".
doctable=$(awk '
	/^## / { in_layers = ($0 ~ /^## Layers[ \t]*$/); next }
	!in_layers || !/^\|[ \t]*L[0-9.]+[ \t]*\|/ { next }
	{
		split($0, f, "|")
		layer = f[2]
		gsub(/[ \t]/, "", layer)
		files = f[3]
		gsub(/`/, "", files)
		k = split(files, w, " ")
		for (i = 1; i <= k; i++)
			print layer, w[i]
	}' "$doc")
bad=$( {
	printf '%s\n' "$table" | sort | sed 's/^/script /'
	printf '%s\n' "$doctable" | sort | sed 's/^/doc /'
} | awk '
	{ key = $2 " " $3 }
	$1 == "script" { s[key] = 1 }
	$1 == "doc" { d[key] = 1 }
	END {
		for (k in s)
			if (!(k in d))
				print "doc/design.md lacks " k
		for (k in d)
			if (!(k in s))
				print "doc/design.md has " k \
				    ", tests/check-layers.sh does not"
	}' | sort)
if [ -n "$doctable" ] && [ -z "$bad" ]; then
	echo "ok 4 - doc/design.md's Layers table is this table"
else
	echo "not ok 4 - doc/design.md's Layers table is this table"
	[ -n "$doctable" ] || echo "#   no Layers table found in $doc"
	printf '%s\n' "$bad" | sed '/^$/d; s/^/#   /'
	rc=1
fi

exit $rc
