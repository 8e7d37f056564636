#!/bin/sh
# tests/examples.sh -- run the example programs and check their output, as
# TAP.  Run from the build directory by `make check'.
#
# Each example is run once per configuration (arguments, USLUB_OPTIONS);
# its stdout, stderr and exit status are then checked: exact lines where
# the output is deterministic, patterns where it holds addresses or times.

builddir=${top_builddir:-.}
ex=$builddir/examples

tmp=${TMPDIR:-/tmp}/uslub-examples.$$
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT

echo "1..21"

n=0
# check DESCRIPTION COMMAND...: one test point, passed when COMMAND succeeds.
check() {
	desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
	fi
}

# run COMMAND...: sets out, err and status; the output goes to the log.
run() {
	out=$("$@" 2>"$tmp/err")
	status=$?
	err=$(cat "$tmp/err")
	echo "# \$ $*"
	printf '%s\n' "$out" | sed 's/^/# /'
	[ -z "$err" ] || printf '%s\n' "$err" | sed 's/^/# stderr: /'
}

clean_exit() {
	[ "$status" -eq 0 ] && [ -z "$err" ]
}

# same WANT GOT: exact comparison, the difference in the log.
same() {
	[ "$1" = "$2" ] && return 0
	printf '%s\n' "$1" >"$tmp/want"
	printf '%s\n' "$2" >"$tmp/got"
	diff -u "$tmp/want" "$tmp/got" | sed 's/^/# /'
	return 1
}

# steps: yep_slab's output up to the whole slabinfo it prints last.
steps() {
	printf '%s\n' "$out" | sed -n '/^# cat \/proc\/slabinfo/q;p'
}

# ---- yep_slab: the article's module, its slabinfo row after each step --

row() {
	printf 'yep_slab_cache %9s %6s %6s %4s %4s : tunables    0    0    0 : slabdata %6s %6s      0' \
	    "$@"
}

run "$ex/yep_slab"
check "examples/yep_slab exits 0 with nothing on stderr" clean_exit
want="# created
$(row 0 0 4096 8 8 0 0)
Allocated 1 objects from slab cache
# echo 1 > alloc
$(row 1 8 4096 8 8 1 1)
Allocated 6 objects from slab cache
# echo 6 > alloc
$(row 7 8 4096 8 8 1 1)
Allocated 1 objects from slab cache
# echo 1 > alloc
$(row 8 8 4096 8 8 1 1)
Allocated 1 objects from slab cache
# echo 1 > alloc (a second slab)
$(row 9 16 4096 8 8 2 2)
objsize 4096 + 0 bytes of metadata = 4096, 8 objects per 8-page slab
Freed all allocated objects from slab cache
# echo 1 > free
$(row 0 16 4096 8 8 2 2)
# kmem_cache_shrink
$(row 0 0 4096 8 8 0 0)"
check "examples/yep_slab: 8 objects of 4096 bytes per slab, the 9th in a second" \
    same "$want" "$(steps)"

run "$ex/yep_slab" --debug
check "examples/yep_slab --debug exits 0 with nothing on stderr" clean_exit
want="# created
$(row 0 0 4352 7 8 0 0)
Allocated 1 objects from slab cache
# echo 1 > alloc
$(row 1 7 4352 7 8 1 1)
Allocated 6 objects from slab cache
# echo 6 > alloc
$(row 7 7 4352 7 8 1 1)
Allocated 1 objects from slab cache
# echo 1 > alloc
$(row 8 14 4352 7 8 2 2)
objsize 4096 + 256 bytes of metadata = 4352, 7 objects per 8-page slab
Freed all allocated objects from slab cache
# echo 1 > free
$(row 0 14 4352 7 8 2 2)
# kmem_cache_shrink
$(row 0 0 4352 7 8 0 0)"
check "examples/yep_slab --debug: red zone + store user make 4352, 7 per slab" \
    same "$want" "$(steps)"

# Under page_owner=1, one record per slab after the allocation steps,
# each an order-3 block of the cache allocated from alloc_store (the
# example is linked with -rdynamic); the steps themselves are unchanged.
# owner_section: the records yep_slab printed.
owner_section() {
	printf '%s\n' "$out" |
	    sed -n '/^# cat \/sys\/kernel\/debug\/page_owner/,/^# page_owner:/p'
}
owner_records_ok() {
	sec=$(owner_section)
	[ "$(printf '%s\n' "$sec" | tail -n 1)" = \
	    "# page_owner: 2 records of yep_slab_cache" ] &&
	[ "$(printf '%s\n' "$sec" | grep -c '^Page allocated via order 3, pid [0-9]*, tid [0-9]*, ts [0-9]* ns$')" -eq 2 ] &&
	[ "$(printf '%s\n' "$sec" | grep -c '^Addr 0x[0-9a-f]* pages 8 type slab cache yep_slab_cache Flags 0x1(slab|head)$')" -eq 2 ] &&
	[ "$(printf '%s\n' "$sec" | grep -c '^ alloc_store+0x[0-9a-f]*$')" -eq 2 ]
}
for args in "" --debug; do
	run env USLUB_OPTIONS=page_owner=1 "$ex/yep_slab" $args
	check "examples/yep_slab${args:+ $args} under page_owner=1 exits 0 with nothing on stderr" \
	    clean_exit
	check "examples/yep_slab${args:+ $args} under page_owner=1: 2 slabs, 2 order-3 records from alloc_store" \
	    owner_records_ok
done

# ---- lkp_cache: the lkp-cache module, its exact output -----------------

run "$ex/lkp_cache"
check "examples/lkp_cache exits 0 with nothing on stderr" clean_exit
check "examples/lkp_cache prints ptr1 = {1, 2}, ptr2 = {3, 4}" \
    same "slab_allocator_kernel_module_init()
ptr1 = {1, 2}, ptr2 = {3, 4}
slab_allocator_kernel_module_exit()" "$out"

# ---- toa_hash: the TOA module's table, FZPU cache, validate, destroy -----

run "$ex/toa_hash"
check "examples/toa_hash exits 0 with nothing on stderr" clean_exit
check "examples/toa_hash: counts, validate 0 before destroy" \
    same "KMEM_CACHE(toa_ipv6_node): object_size 48, objsize 248, 16 per slab
inserted 1000 nodes in 256 buckets, 1000 zeroed by kmem_cache_zalloc
lookup: 1000 of 1000 present found, 0 of 100 absent found
deleted 500 nodes, 500 left
uslub_cache_validate: 0
uninit_toa_ipv6_slab, there are 500 ipv6 nodes not freed
uslub_cache_validate before destroy: 0
kmem_cache_destroy: done" "$out"

# ---- destroy_busy: destroy with live objects, then after freeing them ---

run "$ex/destroy_busy"
check "examples/destroy_busy exits 0" [ "$status" -eq 0 ]
check "examples/destroy_busy: -EBUSY, objects intact, then destroy returns 0" \
    same "allocated 3 objects from busy_cache
kmem_cache_destroy(busy_cache): returned, cache kept
uslub_cache_destroy(busy_cache): -EBUSY
the 3 objects are intact: yes
slabinfo after the failed destroys: busy_cache 3 active
freed 3 objects
uslub_cache_destroy(busy_cache): 0" "$out"
# The report, once per failed destroy, addresses and times blanked; the
# stack frames below each INFO line are checked apart.
report="uslub: cache busy_cache: 3 objects remaining"
for i in 0 1 2; do
	report="$report
uslub: cache busy_cache: object 0x_ still allocated (slab 0x_, object $i of 21)
INFO: Allocated in alloc_objects+0x_ age=_ tid=_"
done
report="$report
uslub: cache busy_cache: not destroyed (-EBUSY): 1 slabs of 21 objects kept; the remaining objects stay valid"
check "examples/destroy_busy: stderr reports the 3 objects and their allocation site, twice" \
    same "$report
$report" "$(printf '%s\n' "$err" | grep -v '^ ' |
	sed -e 's/0x[0-9a-f]*/0x_/g' -e 's/age=[0-9]*/age=_/' \
	    -e 's/tid=[0-9]*/tid=_/')"
check "examples/destroy_busy: each allocation track goes on through main" \
    [ "$(printf '%s\n' "$err" | grep -c '^ main+0x')" -eq 6 ]

# ---- kmalloc_probe: doubling until the limit, then a block of 8 pages ---

want=""
size=1
while [ $size -le 33554432 ]; do
	want="$want
kmalloc($size) ok"
	size=$((size * 2))
done
want="${want#?}
kmalloc(67108864) failed: ENOMEM
largest kmalloc: 33554432 bytes (32 MiB)
__get_free_pages(GFP_KERNEL, 3): 8 pages, 32 KiB aligned, writable
free_pages(addr, 3): done
get_zeroed_page: zeroed
__get_free_pages(GFP_KERNEL, 11): 0, errno EINVAL"
run env USLUB_OPTIONS=limit=64m "$ex/kmalloc_probe"
check "examples/kmalloc_probe under limit=64m exits 0 with nothing on stderr" \
    clean_exit
check "examples/kmalloc_probe under limit=64m: 32 MiB is the largest, 64 MiB ENOMEM; order 3 aligned" \
    same "$want" "$out"

# ---- shrinker_lru: reclaim under limit= trims the LRU through the shrinker

line() {
	printf '%s\n' "$out" | sed -n "${1}p"
}
shrinker_counts_ok() {
	freed=$(line 3 | sed -n 's/^shrinker: [1-9][0-9]* calls, freed \([1-9][0-9]*\) objects$/\1/p')
	cached=$(line 4 | sed -n 's/^cached \([0-9]*\) objects; cached + freed = inserted: yes$/\1/p')
	[ -n "$freed" ] && [ -n "$cached" ] &&
	[ $((freed + cached)) -eq 100000 ] &&
	[ $((cached * 1024)) -le $((16 << 20)) ]
}
run env USLUB_OPTIONS=limit=16m "$ex/shrinker_lru"
check "examples/shrinker_lru under limit=16m exits 0 with nothing on stderr" \
    clean_exit
check "examples/shrinker_lru under limit=16m: every allocation succeeded, recent keys kept" \
    same "shrinker lru_obj-cache registered (seeks 2)
inserted 100000 objects of 1024 bytes, 0 allocation failures
recent keys still cached: yes
shrinker freed, cache destroyed" "$(printf '%s\n' "$out" | sed '3,4d')"
check "examples/shrinker_lru under limit=16m: the shrinker freed objects, at most 16 MiB stay cached" \
    shrinker_counts_ok
