/*
 * list.h - L0: the kernel's circular doubly-linked list, minus what uslub
 * does not use.  No locking: the owner of the list head says which lock
 * protects it.
 */
#ifndef USLUB_LIST_H
#define USLUB_LIST_H

#include <stdbool.h>
#include "compiler.h"

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name)	{ &(name), &(name) }

static inline void list_init(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void __list_add(struct list_head *n, struct list_head *prev,
			      struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

static inline void list_add(struct list_head *n, struct list_head *h)
{
	__list_add(n, h, h->next);
}

static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	__list_add(n, h->prev, h);
}

static inline void list_del(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	e->next = e;
	e->prev = e;
}

#define list_entry(ptr, type, member)	container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)

/*
 * The iterators walk list_head pointers and form an entry only for real
 * entries: computing the "entry" of the list head itself, as the kernel's
 * macros do, is a misaligned pointer that UBSan rightly rejects.
 */
#define list_for_each_entry(pos, h, member)				\
	for (struct list_head *lh_##pos = (h)->next;			\
	     lh_##pos != (h) &&						\
	     ((pos = list_entry(lh_##pos, __typeof__(*pos), member)), 1); \
	     lh_##pos = lh_##pos->next)

/* Safe against removal of the current entry. */
#define list_for_each_entry_safe(pos, h, member)			\
	for (struct list_head *lh_##pos = (h)->next,			\
	     *ln_##pos = lh_##pos->next;				\
	     lh_##pos != (h) &&						\
	     ((pos = list_entry(lh_##pos, __typeof__(*pos), member)), 1); \
	     lh_##pos = ln_##pos, ln_##pos = lh_##pos->next)

#endif /* USLUB_LIST_H */
