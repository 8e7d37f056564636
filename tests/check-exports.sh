#!/bin/sh
# tests/check-exports.sh -- the symbol rules of libuslub.so, as TAP.
#
#   1. Every defined dynamic symbol is uslub_* (everything else is hidden
#      by -fvisibility=hidden); linker-made symbols, version nodes and
#      ASan's __odr_asan.* indicators are ignored.
#   2. lib/ references no libc allocator and no stdio: the allocator must
#      never call malloc or printf (it may be the malloc).
#
# Run from the build directory by `make check' (top_builddir and NM come
# from AM_TESTS_ENVIRONMENT); skipped when no shared library was built.

builddir=${top_builddir:-.}
NM=${NM:-nm}
lib=$builddir/lib/.libs/libuslub.so

# Symbols lib/ must not reference.  Allocation, including functions that
# allocate for their caller, and stdio, including the fortified variants.
forbidden='malloc calloc realloc reallocarray free posix_memalign
aligned_alloc memalign valloc pvalloc strdup strndup asprintf vasprintf
printf fprintf sprintf snprintf vprintf vfprintf vsprintf vsnprintf dprintf
vdprintf __printf_chk __fprintf_chk __sprintf_chk __snprintf_chk
__vprintf_chk __vfprintf_chk __vsprintf_chk __vsnprintf_chk __dprintf_chk
puts fputs fputc putc putchar fwrite fopen fdopen freopen fclose fflush
perror'

# Symbols the toolchain defines in every shared object.
ignored='_init _fini __bss_start _edata _end'

if [ ! -f "$lib" ]; then
	echo "1..0 # SKIP no shared library ($lib; configured --disable-shared?)"
	exit 0
fi

echo "1..2"

defined=$($NM -D --defined-only "$lib") || {
	echo "Bail out! $NM -D --defined-only $lib failed"
	exit 1
}
# Lines are "ADDRESS TYPE NAME"; type A marks version nodes (LIBUSLUB_1.0).
bad=$(printf '%s\n' "$defined" | while read -r _addr type name; do
	[ -n "$name" ] || continue
	[ "$type" = A ] && continue
	name=${name%%@*}
	case " $ignored " in *" $name "*) continue ;; esac
	# ASan's ODR indicator of an exported variable; the variable itself
	# is checked on its own line.
	case $name in __odr_asan.*) continue ;; esac
	case $name in uslub_*) ;; *) echo "$type $name" ;; esac
done)
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

[ -z "$bad" ] && [ -z "$hits" ]
