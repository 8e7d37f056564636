# uslub.m4 -- the few configure checks uslub needs, written here because
# autoconf-archive is not a build dependency.
#
# USLUB_CHECK_CC_FLAGS(FLAGS, [ACTION-IF-OK], [ACTION-IF-NOT])
#   Compile AND link a trivial C program with FLAGS added to CFLAGS and
#   LDFLAGS, with -Werror so that "unknown option" warnings count as failure.
#   Linking matters for -fsanitize=*, which needs a runtime library.
#
# USLUB_CHECK_CMPXCHG16B([ACTION-IF-OK], [ACTION-IF-NOT])
#   Check that a 16-byte compare-and-swap on unsigned __int128 inlines to
#   lock cmpxchg16b with -mcx16, i.e. links without libatomic.

# serial 1

AC_DEFUN([USLUB_CHECK_CC_FLAGS], [
  AC_LANG_PUSH([C])
  AS_VAR_PUSHDEF([uslub_cv], [uslub_cv_cc_flags_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [uslub_cv], [
    uslub_save_CFLAGS=$CFLAGS
    uslub_save_LDFLAGS=$LDFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    LDFLAGS="$LDFLAGS $1"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([[]], [[return 0;]])],
                   [AS_VAR_SET([uslub_cv], [yes])],
                   [AS_VAR_SET([uslub_cv], [no])])
    CFLAGS=$uslub_save_CFLAGS
    LDFLAGS=$uslub_save_LDFLAGS
  ])
  AS_VAR_IF([uslub_cv], [yes], [$2], [$3])
  AS_VAR_POPDEF([uslub_cv])
  AC_LANG_POP([C])
])

AC_DEFUN([USLUB_CHECK_CMPXCHG16B], [
  AC_LANG_PUSH([C])
  AC_CACHE_CHECK([whether $CC inlines cmpxchg16b with -mcx16],
                 [uslub_cv_cmpxchg16b], [
    uslub_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -mcx16"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([[
typedef unsigned __int128 u128;
static u128 word __attribute__((aligned(16)));
]], [[
u128 old = word;
return !__sync_bool_compare_and_swap(&word, old, old + 1);
]])],
      [uslub_cv_cmpxchg16b=yes], [uslub_cv_cmpxchg16b=no])
    CFLAGS=$uslub_save_CFLAGS
  ])
  AS_IF([test "x$uslub_cv_cmpxchg16b" = xyes], [$1], [$2])
  AC_LANG_POP([C])
])
