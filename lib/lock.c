/*
 * lock.c - L0: the one datum the lock wrappers of lock.h keep outside the
 * lock itself: how many uslub locks the calling thread holds.  Written by
 * lock_acquire / lock_release only; read by page_reclaim.
 */
#include "lock.h"

__thread_ie unsigned int lock_depth;
