#!/bin/sh
# tests/check-exports.sh -- the symbol rules of libuslub.so, as TAP.
#
#   1. Every defined dynamic symbol is uslub_* (everything else is hidden
#      by -fvisibility=hidden); linker-made symbols, version nodes and
#      ASan's __odr_asan.* indicators are ignored.
#   2. lib/ references no libc allocator and no stdio but fflush (below):
#      the allocator must never call malloc or printf (it may be the
#      malloc).
#   3. libuslub-preload.so defines every name of the glibc malloc ABI and
#      nothing else but uslub_*.
#   4. libuslub-preload.so references no allocation function (it must
#      not call into another malloc).
#
# Run from the build directory by `make check' (top_builddir and NM come
# from AM_TESTS_ENVIRONMENT); skipped when no shared library was built.

builddir=${top_builddir:-.}
NM=${NM:-nm}
lib=$builddir/lib/.libs/libuslub.so
preload=$builddir/preload/.libs/libuslub-preload.so

# The glibc malloc ABI the preload library provides (doc/preload.md's list).
abi='malloc free calloc realloc reallocarray posix_memalign aligned_alloc
memalign valloc pvalloc malloc_usable_size malloc_trim malloc_stats mallinfo
mallinfo2 mallopt malloc_info free_sized free_aligned_sized cfree
__libc_malloc __libc_free __libc_calloc __libc_realloc __libc_memalign
__libc_valloc __libc_pvalloc __posix_memalign'

# Symbols lib/ must not reference.  Allocation, including functions that
# allocate for their caller, and stdio, including the fortified variants.
# One exception, fflush: os_exit_now flushes the program's streams before
# _exit, the very last thing a run that reported heap bugs does under
# USLUB_DEBUG (it neither allocates nor formats).
forbidden='malloc calloc realloc reallocarray free posix_memalign
aligned_alloc memalign valloc pvalloc strdup strndup asprintf vasprintf
printf fprintf sprintf snprintf vprintf vfprintf vsprintf vsnprintf dprintf
vdprintf __printf_chk __fprintf_chk __sprintf_chk __snprintf_chk
__vprintf_chk __vfprintf_chk __vsprintf_chk __vsnprintf_chk __dprintf_chk
puts fputs fputc putc putchar fwrite fopen fdopen freopen fclose perror'

# Symbols the toolchain defines in every shared object.
ignored='_init _fini __bss_start _edata _end'

if [ ! -f "$lib" ]; then
	echo "1..0 # SKIP no shared library ($lib; configured --disable-shared?)"
	exit 0
fi

if [ -f "$preload" ]; then
	echo "1..4"
else
	echo "1..2"
fi

# Defined dynamic symbols of $1 that are neither uslub_* nor in $2.
exports_outside() {
	defs=$($NM -D --defined-only "$1") || {
		echo "Bail out! $NM -D --defined-only $1 failed"
		exit 1
	}
	# Lines are "ADDRESS TYPE NAME"; type A marks version nodes.
	printf '%s\n' "$defs" | while read -r _addr type name; do
		[ -n "$name" ] || continue
		[ "$type" = A ] && continue
		name=${name%%@*}
		case " $ignored " in *" $name "*) continue ;; esac
		# ASan's ODR indicator of an exported variable; the variable
		# itself is checked on its own line.
		case $name in __odr_asan.*) continue ;; esac
		case $name in uslub_*) continue ;; esac
		case " $(echo $2) " in *" $name "*) continue ;; esac
		echo "$type $name"
	done
}

bad=$(exports_outside "$lib" "")
if [ -z "$bad" ]; then
	echo "ok 1 - libuslub.so exports only uslub_* symbols"
else
	echo "not ok 1 - libuslub.so exports only uslub_* symbols"
	printf '%s\n' "$bad" | sed 's/^/#   exported: /'
fi

undefined=$($NM -u "$lib" 2>/dev/null) || undefined=$($NM -D -u "$lib")
refs=$(printf '%s\n' "$undefined" | awk '{ print $NF }' | sed 's/@.*//' |
	sort -u)
hits=
for sym in $forbidden; do
	if printf '%s\n' "$refs" | grep -qx -- "$sym"; then
		hits="$hits $sym"
	fi
done
if [ -z "$hits" ]; then
	echo "ok 2 - lib/ references no libc malloc or stdio"
else
	echo "not ok 2 - lib/ references no libc malloc or stdio"
	echo "#   referenced:$hits"
fi

[ -f "$preload" ] || { [ -z "$bad" ] && [ -z "$hits" ]; exit; }

pbad=$(exports_outside "$preload" "$abi")
pdefs=$($NM -D --defined-only "$preload" | awk '{ print $NF }' | sed 's/@.*//')
missing=
for sym in $abi; do
	printf '%s\n' "$pdefs" | grep -qx -- "$sym" || missing="$missing $sym"
done
if [ -z "$pbad" ] && [ -z "$missing" ]; then
	echo "ok 3 - libuslub-preload.so exports the malloc ABI and uslub_* only"
else
	echo "not ok 3 - libuslub-preload.so exports the malloc ABI and uslub_* only"
	[ -n "$missing" ] && echo "#   missing:$missing"
	printf '%s\n' "$pbad" | sed '/^$/d; s/^/#   exported: /'
fi

prefs=$($NM -D -u "$preload" | awk '{ print $NF }' | sed 's/@.*//' | sort -u)
phits=
for sym in malloc calloc realloc reallocarray free posix_memalign \
    aligned_alloc memalign valloc pvalloc strdup strndup asprintf vasprintf; do
	if printf '%s\n' "$prefs" | grep -qx -- "$sym"; then
		phits="$phits $sym"
	fi
done
if [ -z "$phits" ]; then
	echo "ok 4 - libuslub-preload.so calls no other allocator"
else
	echo "not ok 4 - libuslub-preload.so calls no other allocator"
	echo "#   referenced:$phits"
fi

[ -z "$bad" ] && [ -z "$hits" ] && [ -z "$pbad" ] && [ -z "$missing" ] &&
    [ -z "$phits" ]
