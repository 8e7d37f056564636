/*
 * kmalloc_probe.c - the classic kmalloc doubling probe of kernel-module
 * courses, in user space: kmalloc 1 byte, 2, 4, ... until one fails,
 * printing each size that succeeded; then a block of 2^3 pages from
 * __get_free_pages(GFP_KERNEL, 3), which must be 32 KiB aligned and
 * writable, given back with free_pages(addr, 3).
 *
 * In the kernel the probe stops at KMALLOC_MAX_SIZE (4 MiB with 4 KiB
 * pages: the buddy allocator's largest block); uslub serves any size
 * (above 4 MiB with a mapping of its own), so it stops where memory does.
 * Run it under USLUB_OPTIONS=limit=64m and that is deterministic: 32 MiB
 * fits, 64 MiB plus what uslub already holds does not, and kmalloc
 * returns NULL with errno ENOMEM after reclaim found nothing to give back.
 * Without a limit it stops at 64 GiB, so as not to map the machine.
 *
 * Expected output under USLUB_OPTIONS=limit=64m (the test checks it):
 *   kmalloc(1) ok
 *   ...                       (every power of two)
 *   kmalloc(33554432) ok
 *   kmalloc(67108864) failed: ENOMEM
 *   largest kmalloc: 33554432 bytes (32 MiB)
 *   __get_free_pages(GFP_KERNEL, 3): 8 pages, 32 KiB aligned, writable
 *   free_pages(addr, 3): done
 *   get_zeroed_page: zeroed
 *   __get_free_pages(GFP_KERNEL, 11): 0, errno EINVAL
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <uslub/kmem.h>

#define PAGE_SIZE	4096UL
#define PROBE_MAX	(1UL << 36)	/* 64 GiB: stop there without a limit */

static const char *errno_name(int e)
{
	return e == ENOMEM ? "ENOMEM" : e == EINVAL ? "EINVAL" : "other";
}

/* Doubles until kmalloc fails; returns the largest size that worked. */
static size_t kmalloc_probe(void)
{
	size_t size, largest = 0;

	for (size = 1; size <= PROBE_MAX; size *= 2) {
		char *p;

		errno = 0;
		p = kmalloc(size, GFP_KERNEL);
		if (!p) {
			printf("kmalloc(%zu) failed: %s\n", size,
			       errno_name(errno));
			return largest;
		}
		p[0] = 1;		/* touch its two ends only */
		p[size - 1] = 1;
		kfree(p);
		printf("kmalloc(%zu) ok\n", size);
		largest = size;
	}
	printf("stopped at %zu bytes without a failure (no limit=?)\n",
	       PROBE_MAX);
	return largest;
}

static int pages_probe(void)
{
	const unsigned int order = 3;
	const size_t bytes = PAGE_SIZE << order;
	unsigned long addr, zp;
	unsigned char *p;
	size_t i;
	int ok = 1, aligned;

	addr = __get_free_pages(GFP_KERNEL, order);
	if (!addr) {
		printf("__get_free_pages(GFP_KERNEL, 3): failed: %s\n",
		       errno_name(errno));
		return 1;
	}
	p = (unsigned char *)addr;
	memset(p, 0xa5, bytes);
	for (i = 0; i < bytes; i++)
		ok &= p[i] == 0xa5;
	aligned = addr % bytes == 0;
	printf("__get_free_pages(GFP_KERNEL, 3): %lu pages, %s, %s\n",
	       1UL << order, aligned ? "32 KiB aligned" : "NOT 32 KiB aligned",
	       ok ? "writable" : "NOT writable");
	free_pages(addr, order);
	printf("free_pages(addr, 3): done\n");

	zp = get_zeroed_page(GFP_KERNEL);
	if (!zp) {
		printf("get_zeroed_page: failed\n");
		return 1;
	}
	p = (unsigned char *)zp;
	for (i = 0; i < PAGE_SIZE && p[i] == 0; i++)
		;
	printf("get_zeroed_page: %s\n", i == PAGE_SIZE ? "zeroed" : "NOT zeroed");
	free_page(zp);

	errno = 0;
	addr = __get_free_pages(GFP_KERNEL, 11);
	printf("__get_free_pages(GFP_KERNEL, 11): %lu, errno %s\n", addr,
	       errno_name(errno));
	if (addr)
		free_pages(addr, 11);
	return !(ok && aligned);
}

int main(void)
{
	size_t largest = kmalloc_probe();

	printf("largest kmalloc: %zu bytes (%zu MiB)\n", largest,
	       largest >> 20);
	return pages_probe();
}
