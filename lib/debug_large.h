/*
 * debug_large.h - L5 beside kmalloc.c: debugging of large and huge
 * kmalloc blocks (above the largest class, 32 KiB), the pseudo cache
 * "kmalloc-large" of USLUB_DEBUG.
 *
 * With Z, a block gets at least a word more than asked for and the bytes
 * from the size asked for to the block's end are a red zone (0xcc),
 * checked on free, by malloc_trim and at exit.  With P, a freed block is
 * filled with POISON_FREE (0x6b, the last byte 0xa5) and held in a
 * quarantine of the last QUARANTINE_BLOCKS frees (at most
 * QUARANTINE_BYTES) before it really goes back; a write into it is found
 * when it leaves (a later free, malloc_trim, exit), a second free of it at
 * once.  Blocks are found by address in a table mapped with os_map; all
 * state is under huge_lock (which fork's protocol takes); reports are
 * printed after it is released, like debug.c's.
 */
#ifndef USLUB_DEBUG_LARGE_H
#define USLUB_DEBUG_LARGE_H

#include "types.h"

/* USLUB_DEBUG covers kmalloc-large (Z and/or P); set by kmalloc_init. */
extern bool debug_large_on;

/* From USLUB_DEBUG's flags for kmalloc-large (kmalloc_init). */
void debug_large_init(unsigned long flags);
/* Bytes a block needs beyond size for its red zone. */
size_t debug_large_extra(void);
/* Register p, a new large or huge block of len bytes, for size bytes:
 * fill its red zone.  With GFP_ZERO the caller cleared it already. */
void debug_large_alloc(void *p, size_t size, size_t len);
/* func's free of p: false if p is no block registered here (the caller
 * frees it).  Else checks it, reports, and poisons and quarantines it or
 * frees it (kmalloc_large_release); true. */
bool debug_large_free(const char *func, void *p);
/* The size asked for of a registered block p; 0 if p is not one.  A
 * quarantined p is reported as freed already under func's name and
 * *freed set. */
size_t debug_large_size(const char *func, const void *p, bool *freed);
/* realloc kept p in place for size bytes (<= its block): move the red
 * zone.  false if p is not registered. */
bool debug_large_resize(void *p, size_t size);
/* Check every registered block's red zone and every quarantined block's
 * poison (func: malloc_trim, exit); with release, quarantined blocks go
 * back.  Returns the problems reported. */
unsigned long debug_large_validate(const char *func, bool release);

#endif /* USLUB_DEBUG_LARGE_H */
