/*
 * addr_table.h - L2: a table of blocks by their start address, for the
 * blocks no page descriptor describes: kmalloc.c's huge mappings and
 * debug_large.c's debugged large blocks.  Open addressing with linear
 * probing, grown by doubling at half full, backward-shift deletion (no
 * tombstones, so every probe chain stays unbroken); the slots live in a
 * mapping of their own (os_map), never in the heap.  The caller locks.
 */
#ifndef USLUB_ADDR_TABLE_H
#define USLUB_ADDR_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct addr_entry {
	uintptr_t addr;			/* the block's start; 0: empty slot */
	size_t size;
	union {				/* the user's word */
		uintptr_t map;		/* kmalloc.c: the mapping the huge
					   block lies in */
		size_t len;		/* debug_large.c: the block's length */
	};
};

struct addr_table {
	struct addr_entry *slot;
	size_t cap, count;		/* cap: 0 or a power of two */
};

/* The index of addr's entry in t, or -1. */
long addr_table_find(const struct addr_table *t, uintptr_t addr);
/* Add e (its addr not in t yet), growing t first if it would pass half
 * full; false, t unchanged, if the OS refuses the bigger mapping. */
bool addr_table_insert(struct addr_table *t, const struct addr_entry *e);
/* Remove the entry at index i (from addr_table_find). */
void addr_table_remove(struct addr_table *t, size_t i);

#endif /* USLUB_ADDR_TABLE_H */
