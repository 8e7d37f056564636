/*
 * os.h - L1: the contract between uslub and the operating system.
 *
 * Functions return 0 or a positive errno value and never touch the caller's
 * errno (a malloc replacement must preserve it).  os_linux.c is the only file
 * that includes OS headers for memory mapping, time and threads.
 */
#ifndef USLUB_OS_H
#define USLUB_OS_H

#include <stddef.h>
#include <stdint.h>

/* Reserve [size] bytes aligned to [align] (a power of two >= page size),
 * readable and writable, committed on first touch.  NULL on failure. */
void *os_reserve_aligned(size_t size, size_t align);
void *os_map(size_t size);			/* page aligned, NULL on failure */
int os_unmap(void *addr, size_t size);
/* Give the pages back; the range stays mapped and reads as zero. */
int os_discard(void *addr, size_t size);

/* write(2) all of buf, retrying on EINTR and short writes: 0 or errno. */
int os_write_all(int fd, const void *buf, size_t len);

unsigned int os_ncpus(void);			/* CPUs this process may run on */
uint64_t os_now_ms(void);			/* monotonic, coarse */
/* Resident set size of this process in bytes (from /proc/self/statm). */
size_t os_rss_bytes(void);
/* The process's environment, read without getenv (which may allocate in
 * some libcs and is not safe before libc's constructors ran). */
const char *os_getenv(const char *name);

#endif /* USLUB_OS_H */
