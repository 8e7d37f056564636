/*
 * pages.h - L5: whole buddy blocks handed to the program, the kernel's
 * __get_free_pages / free_pages (uslub_alloc_pages, uslub_free_pages).
 */
#ifndef USLUB_PAGES_H
#define USLUB_PAGES_H

#include "types.h"

/* A block of 2^order pages aligned to its size, zeroed for
 * USLUB_GFP_ZERO; NULL with errno EINVAL (order > MAX_ORDER) or ENOMEM. */
void *pages_alloc(uslub_gfp_t gfp, unsigned int order);
/* Frees a block from pages_alloc; anything else (a foreign address, a
 * kmalloc object, a wrong order, a double free) is reported under func's
 * name and left alone. */
void pages_free(const char *func, void *addr, unsigned int order);
/* Bytes in blocks from pages_alloc (heap statistics). */
unsigned long pages_bytes(void);

#endif /* USLUB_PAGES_H */
