#!/bin/sh
# tests/examples.sh -- run the example programs and check their output, as
# TAP.  Run from the build directory by `make check'.

builddir=${top_builddir:-.}
yep_slab=$builddir/examples/yep_slab

echo "1..4"

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

# Seed 002's lkp-cache module: its exact output, nothing on stderr.
lkp_cache=$builddir/examples/lkp_cache
want='slab_allocator_kernel_module_init()
ptr1 = {1, 2}, ptr2 = {3, 4}
slab_allocator_kernel_module_exit()'
out=$("$lkp_cache" 2>/dev/null)
status=$?
err=$("$lkp_cache" 2>&1 >/dev/null)
if [ $status -eq 0 ] && [ -z "$err" ]; then
	echo "ok 3 - examples/lkp_cache exits 0 with nothing on stderr"
else
	echo "not ok 3 - examples/lkp_cache exits 0 with nothing on stderr (status $status)"
fi
if [ "$out" = "$want" ]; then
	echo "ok 4 - examples/lkp_cache prints ptr1 = {1, 2}, ptr2 = {3, 4}"
else
	echo "not ok 4 - examples/lkp_cache prints ptr1 = {1, 2}, ptr2 = {3, 4}"
fi
printf '%s\n' "$out" "$err" | sed 's/^/# /'
