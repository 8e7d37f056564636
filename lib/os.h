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
/* Resize a mapping from os_map, moving it if needed (mremap MAYMOVE).
 * The new address, or NULL with the old mapping unchanged. */
void *os_remap(void *addr, size_t old_size, size_t new_size);
/* Transparent huge pages for a range: 1 asks for them (MADV_HUGEPAGE),
 * 0 refuses them (MADV_NOHUGEPAGE). */
int os_hugepages(void *addr, size_t size, int on);
/* Give the pages back; the range stays mapped and reads as zero. */
int os_discard(void *addr, size_t size);

/*
 * Fault injection, for tests (not exported): count the calls of the kinds
 * in mask from now on (os_map and os_reserve_aligned are mmap, os_remap
 * mremap, os_discard and os_hugepages madvise, os_unmap munmap), and make
 * call n of them fail as the system call would with ENOMEM, and every
 * later one too if after; n 0 only counts, mask 0 turns it off.
 * os_fault_calls: calls counted so far.
 */
enum {
	OS_FAULT_MMAP = 1,
	OS_FAULT_MREMAP = 2,
	OS_FAULT_MADVISE = 4,
	OS_FAULT_MUNMAP = 8,
	OS_FAULT_ALL = 15,
};
void os_fault_inject(unsigned int mask, unsigned long n, int after);
unsigned long os_fault_calls(void);

/* write(2) all of buf, retrying on EINTR and short writes: 0 or errno. */
int os_write_all(int fd, const void *buf, size_t len);

unsigned int os_ncpus(void);			/* CPUs this process may run on */
uint64_t os_now_ms(void);			/* monotonic, coarse */
uint64_t os_now_ns(void);			/* monotonic, precise */
/* The 16 random bytes the kernel gave the process at exec (AT_RANDOM,
 * not aligned), or NULL; no system call, usable before anything is set
 * up. */
const unsigned char *os_exec_random(void);
/* Flush the C library's streams and end the process with code now (the
 * exit code of a run that reported heap bugs). */
void os_exit_now(int code) __attribute__((noreturn));
/* Resident set size of this process in bytes (from /proc/self/statm). */
size_t os_rss_bytes(void);
/* Peak resident set size in bytes (VmHWM of /proc/self/status), 0 if
 * unknown. */
size_t os_peak_rss_bytes(void);
/* Open path for appending (created 0644): fd, or -errno. */
int os_open_append(const char *path);
void os_close(int fd);
/* A close-on-exec duplicate of fd, numbered high (up to 768, below the
 * descriptor limit) out of the way of the low numbers programs reuse:
 * the new fd, or -errno. */
int os_dup_high(int fd);
/* The identity of the open file fd refers to (device and inode): 0, or
 * an errno value (EBADF when fd is not open). */
int os_fd_identity(int fd, uint64_t *dev, uint64_t *ino);
/* The text of an error number ("No such file or directory"), as strerror
 * gives it untranslated; never allocates. */
const char *os_strerror(int err);
/* Create or truncate path for writing (0644): fd, or -errno. */
int os_create(const char *path);
/* Copy the file at path (/proc files too) to fd: 0 or errno. */
int os_copy_file(const char *path, int fd);
int os_getpid(void);
int os_gettid(void);
/*
 * Up to max return addresses of the calling thread's stack, innermost
 * first (the first is inside this function's caller).  Never allocates
 * once warm: glibc's backtrace loads libgcc_s on its first use, which
 * allocates, so a capture nested inside that one (malloc called from the
 * loader) returns 0 frames instead of recursing.  Call os_stack_warm from
 * a point where allocating is safe to load it early.
 */
unsigned int os_stack_capture(uintptr_t *addrs, unsigned int max);
void os_stack_warm(void);
/* Where a code address is, for reports. */
struct os_symbol {
	const char *name;		/* the function holding it, or NULL */
	uintptr_t offset;		/* from the function's start */
	const char *module;		/* path of the file mapped there */
	uintptr_t module_offset;	/* from the file's load base: what
					   `addr2line -e module` takes */
};
/*
 * The function containing a code address: a dynamic symbol (dladdr), else
 * one of the file's .symtab (static functions too; the file is mapped
 * read-only once, the first time, never through malloc); and its module.
 * 0 if addr is in no loaded file.  Never allocates.
 */
int os_symbolize_full(uintptr_t addr, struct os_symbol *sym);
/* os_symbolize_full's function (else the module's file name) in *name,
 * and addr's offset from its start; 0 if neither is known. */
int os_symbolize(uintptr_t addr, const char **name, uintptr_t *offset);
/* The program's name (/proc/self/comm) into buf, NUL-terminated. */
void os_program_name(char *buf, size_t size);
/* The process's environment, read without getenv (which may allocate in
 * some libcs and is not safe before libc's constructors ran). */
const char *os_getenv(const char *name);
/* False before the C library has set up environ (very early malloc). */
int os_environ_ready(void);

/*
 * The statistics server's socket (statsd.c).  All descriptors are
 * close-on-exec; sends never raise SIGPIPE.
 */
/* A listening stream socket at the abstract Unix address "\0" name (no
 * file; gone when the last descriptor closes): fd, or -errno. */
int os_listen_abstract(const char *name);
/* Wait for and accept one connection; each later send and receive on it
 * gives up after timeout_ms.  *uid is the peer's effective uid
 * (SO_PEERCRED): fd, or -errno. */
int os_accept_peer(int lfd, unsigned int timeout_ms, unsigned int *uid);
/* recv(2) once: bytes (0 at end of stream), or -errno. */
long os_recv(int fd, void *buf, size_t len);
/* send(2) all of buf: 0 or errno (EAGAIN when the timeout ran out). */
int os_send_all(int fd, const void *buf, size_t len);
/* End both directions of a connection for every process sharing it. */
void os_shutdown(int fd);
/* An anonymous in-memory file (memfd_create): fd, or -errno. */
int os_memfile(const char *name);
/* pread(2) once: bytes (0 at end of file), or -errno. */
long os_pread(int fd, void *buf, size_t len, uint64_t offset);
unsigned int os_geteuid(void);
void os_sleep_ms(unsigned int ms);

#endif /* USLUB_OS_H */
