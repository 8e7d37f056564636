/*
 * addr_table.c - L2: the table of blocks by start address (addr_table.h).
 */
#include "addr_table.h"
#include "bitops.h"
#include "os.h"

#define ADDR_TABLE_MIN	256		/* slots of a new table */

static size_t hash(uintptr_t addr, size_t cap)
{
	return (size_t)((addr >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ULL) &
	       (cap - 1);
}

static void place(struct addr_table *t, const struct addr_entry *e)
{
	size_t i = hash(e->addr, t->cap);

	while (t->slot[i].addr)
		i = (i + 1) & (t->cap - 1);
	t->slot[i] = *e;
	t->count++;
}

static bool grow(struct addr_table *t)
{
	size_t i, cap = t->cap ? t->cap * 2 : ADDR_TABLE_MIN;
	struct addr_table old = *t;
	struct addr_entry *slot = os_map(cap * sizeof(*slot));

	if (!slot)
		return false;
	t->slot = slot;
	t->cap = cap;
	t->count = 0;
	for (i = 0; i < old.cap; i++)
		if (old.slot[i].addr)
			place(t, &old.slot[i]);
	if (old.slot)
		os_unmap(old.slot, old.cap * sizeof(*old.slot));
	return true;
}

long addr_table_find(const struct addr_table *t, uintptr_t addr)
{
	size_t i;

	if (!t->cap)
		return -1;
	for (i = hash(addr, t->cap); t->slot[i].addr;
	     i = (i + 1) & (t->cap - 1))
		if (t->slot[i].addr == addr)
			return (long)i;
	return -1;
}

bool addr_table_insert(struct addr_table *t, const struct addr_entry *e)
{
	if ((t->count + 1) * 2 > t->cap && !grow(t))
		return false;
	place(t, e);
	return true;
}

void addr_table_remove(struct addr_table *t, size_t i)
{
	size_t j = i, k;

	t->count--;
	for (;;) {
		t->slot[i].addr = 0;
		do {
			j = (j + 1) & (t->cap - 1);
			if (!t->slot[j].addr)
				return;
			k = hash(t->slot[j].addr, t->cap);
		} while (i <= j ? (i < k && k <= j) : (i < k || k <= j));
		t->slot[i] = t->slot[j];
		i = j;
	}
}
