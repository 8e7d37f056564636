/*
 * page_owner.h - L3: USLUB_OPTIONS=page_owner=1, the kernel's page_owner:
 * for every block the buddy allocator hands out, its order, the thread and
 * time, and the call stack; uslub_page_owner_write prints them in the
 * spirit of /sys/kernel/debug/page_owner.
 *
 * page_alloc calls page_owner_record for each block it returns and
 * page_owner_clear for each block given back, while the option is on.
 */
#ifndef USLUB_PAGE_OWNER_H
#define USLUB_PAGE_OWNER_H

#include "types.h"

#define PAGE_OWNER_FRAMES	12	/* return addresses kept per block */

void page_owner_record(struct slab *head, unsigned int order);
void page_owner_clear(struct slab *head);
/* Every live record as text on fd: 0, or -1 with errno (EINVAL while
 * page_owner is off, as the kernel's read_page_owner). */
int page_owner_write(int fd);

#endif /* USLUB_PAGE_OWNER_H */
