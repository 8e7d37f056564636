#!/bin/sh
# tests/examples.sh -- run the example programs and check their output, as
# TAP.  Run from the build directory by `make check'.

builddir=${top_builddir:-.}
yep_slab=$builddir/examples/yep_slab

echo "1..2"

out=$("$yep_slab" 2>&1)
status=$?
if [ $status -eq 0 ]; then
	echo "ok 1 - examples/yep_slab exits 0"
else
	echo "not ok 1 - examples/yep_slab exits 0 (status $status)"
fi

# The slabinfo line of the example's cache.
if printf '%s\n' "$out" | grep -q '^yep_slab_cache'; then
	echo "ok 2 - examples/yep_slab reports a yep_slab_cache line"
else
	echo "not ok 2 - examples/yep_slab reports a yep_slab_cache line"
fi
printf '%s\n' "$out" | sed 's/^/# /'
