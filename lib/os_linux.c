/*
 * os_linux.c - L1: Linux implementation of os.h.
 *
 * Raw syscalls through libc wrappers that neither allocate nor take locks
 * that malloc could need.  errno is saved and restored around every call.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "os.h"
#include "bitops.h"

extern char **environ;

/* Fault injection (os.h): one relaxed load per call when off. */
static unsigned int fault_mask;		/* atomic */
static unsigned long fault_at;		/* atomic */
static unsigned long fault_calls;	/* atomic */
static int fault_after;			/* atomic */

void os_fault_inject(unsigned int mask, unsigned long n, int after)
{
	__atomic_store_n(&fault_mask, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault_calls, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault_at, n, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault_after, after, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault_mask, mask, __ATOMIC_SEQ_CST);
}

unsigned long os_fault_calls(void)
{
	return __atomic_load_n(&fault_calls, __ATOMIC_SEQ_CST);
}

/* Is this call of kind the one to fail? */
static bool fault(unsigned int kind)
{
	unsigned long n, at;

	if (!(__atomic_load_n(&fault_mask, __ATOMIC_RELAXED) & kind))
		return false;
	n = __atomic_add_fetch(&fault_calls, 1, __ATOMIC_SEQ_CST);
	at = __atomic_load_n(&fault_at, __ATOMIC_SEQ_CST);
	return at && (n == at ||
		      (n > at && __atomic_load_n(&fault_after, __ATOMIC_SEQ_CST)));
}

void *os_map(size_t size)
{
	int saved = errno;
	void *p;

	if (fault(OS_FAULT_MMAP))
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	errno = saved;
	return p == MAP_FAILED ? NULL : p;
}

int os_unmap(void *addr, size_t size)
{
	int saved = errno, ret = 0;

	if (fault(OS_FAULT_MUNMAP))
		return ENOMEM;
	if (munmap(addr, size) != 0)
		ret = errno;
	errno = saved;
	return ret;
}

/* Over-reserve by [align], then trim both ends so the result is aligned. */
void *os_reserve_aligned(size_t size, size_t align)
{
	size_t span = size + align;
	uintptr_t raw, start;
	char *p = os_map(span);

	if (!p)
		return NULL;
	raw = (uintptr_t)p;
	start = ALIGN_UP(raw, align);
	if (start > raw)
		os_unmap(p, start - raw);
	if (raw + span > start + size)
		os_unmap((void *)(start + size), raw + span - (start + size));
	return (void *)start;
}

/*
 * MADV_DONTNEED, not MADV_FREE: the kernel drops the pages at once and RSS
 * falls at once; MADV_FREE pages stay counted in RSS until memory pressure,
 * which users read as a leak (DESIGN.md, "Memory returned to the OS").
 */
int os_discard(void *addr, size_t size)
{
	int saved = errno, ret = 0;

	if (fault(OS_FAULT_MADVISE))
		return ENOMEM;
	if (madvise(addr, size, MADV_DONTNEED) != 0)
		ret = errno;
	errno = saved;
	return ret;
}

void *os_remap(void *addr, size_t old_size, size_t new_size)
{
	int saved = errno;
	void *p;

	if (fault(OS_FAULT_MREMAP))
		return NULL;
	p = mremap(addr, old_size, new_size, MREMAP_MAYMOVE);
	errno = saved;
	return p == MAP_FAILED ? NULL : p;
}

int os_hugepages(void *addr, size_t size, int on)
{
	int saved = errno, ret = 0;

	if (fault(OS_FAULT_MADVISE))
		return ENOMEM;
	if (madvise(addr, size, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0)
		ret = errno;
	errno = saved;
	return ret;
}

int os_write_all(int fd, const void *buf, size_t len)
{
	int saved = errno, ret = 0;
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? errno : EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	errno = saved;
	return ret;
}

unsigned int os_ncpus(void)
{
	int saved = errno;
	cpu_set_t set;
	unsigned int n = 1;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = (unsigned int)CPU_COUNT(&set);
	errno = saved;
	return n ? n : 1;
}

uint64_t os_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const unsigned char *os_exec_random(void)
{
	return (const unsigned char *)getauxval(AT_RANDOM);
}

void os_exit_now(int code)
{
	fflush(NULL);		/* _exit skips the C library's own flush */
	_exit(code);
}

uint64_t os_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static unsigned long parse_ulong(const char *s)
{
	unsigned long v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned long)(*s++ - '0');
	return v;
}

/* Reads a small /proc file into buf (NUL-terminated): bytes or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
	int saved = errno;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		errno = saved;
		return -1;
	}
	n = read(fd, buf, size - 1);
	close(fd);
	errno = saved;
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

size_t os_rss_bytes(void)
{
	char buf[128];
	const char *p = buf;

	if (read_small_file("/proc/self/statm", buf, sizeof(buf)) <= 0)
		return 0;
	while (*p && *p != ' ')		/* skip the first field (size) */
		p++;
	return parse_ulong(p + (*p == ' ')) * PAGE_SIZE;
}

size_t os_peak_rss_bytes(void)
{
	char buf[4096];
	const char *p;

	if (read_small_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "VmHWM:");
	if (!p)
		return 0;
	for (p += 6; *p == ' ' || *p == '\t'; p++)
		;
	return parse_ulong(p) * 1024;
}

/* open(path, O_WRONLY | O_CREAT | O_CLOEXEC | how, 0644): fd or -errno. */
static int open_for_writing(const char *path, int how)
{
	int saved = errno, ret;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | how, 0644);

	ret = fd < 0 ? -errno : fd;
	errno = saved;
	return ret;
}

int os_open_append(const char *path)
{
	return open_for_writing(path, O_APPEND);
}

int os_create(const char *path)
{
	return open_for_writing(path, O_TRUNC);
}

int os_copy_file(const char *path, int fd)
{
	int saved = errno, in, ret = 0;
	char buf[4096];
	ssize_t n;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		ret = errno;
		errno = saved;
		return ret;
	}
	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? errno : 0;
			break;
		}
		ret = os_write_all(fd, buf, (size_t)n);
		if (ret)
			break;
	}
	close(in);
	errno = saved;
	return ret;
}

void os_close(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

int os_dup_high(int fd)
{
	struct rlimit rl;
	int saved = errno, ret;
	long min = 768;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 1024)
		min = (long)rl.rlim_cur * 3 / 4;
	ret = fcntl(fd, F_DUPFD_CLOEXEC, min > 3 ? min : 3);
	ret = ret < 0 ? -errno : ret;
	errno = saved;
	return ret;
}

int os_fd_identity(int fd, uint64_t *dev, uint64_t *ino)
{
	struct stat st;
	int saved = errno, ret = 0;

	if (fstat(fd, &st) != 0)
		ret = errno;
	errno = saved;
	if (ret)
		return ret;
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

const char *os_strerror(int err)
{
	const char *s = strerrordesc_np(err);

	return s ? s : "Unknown error";
}

int os_getpid(void)
{
	return (int)getpid();
}

int os_gettid(void)
{
	return (int)syscall(SYS_gettid);
}

/* Set while this thread is inside backtrace(): its first call loads
 * libgcc_s, which allocates, and a capture from that allocation must not
 * enter backtrace's once-only initialisation again. */
static __thread int in_backtrace __attribute__((tls_model("initial-exec")));

unsigned int os_stack_capture(uintptr_t *addrs, unsigned int max)
{
	void *frames[64];
	int saved = errno, n;
	unsigned int i;

	if (in_backtrace || max == 0)
		return 0;
	in_backtrace = 1;
	n = backtrace(frames, (int)(max + 1 < 64 ? max + 1 : 64));
	in_backtrace = 0;
	errno = saved;
	/* frames[0] is this function */
	for (i = 0; n > 1 && i < (unsigned int)n - 1 && i < max; i++)
		addrs[i] = (uintptr_t)frames[i + 1];
	return i;
}

void os_stack_warm(void)
{
	uintptr_t a[2];

	os_stack_capture(a, 2);
}

/*
 * The .symtab of each loaded file that a report named, found by its link
 * map and path: the file mapped read-only (never through malloc), kept for
 * the life of the process.  Slots are claimed with a compare-and-swap and
 * published with a release store; two threads may map the same file once
 * each, which only wastes a slot.  A file without .symtab (stripped) keeps
 * its slot with no symbols.
 */
#define SYMTAB_FILES	32

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY };

struct symtab_file {
	int state;			/* SLOT_*, atomic */
	const void *key;		/* struct link_map * */
	const Elf64_Sym *syms;		/* NULL: no .symtab */
	size_t nsyms;
	const char *strs;
	size_t strsize;
	char path[256];
};

static struct symtab_file symtab_files[SYMTAB_FILES];

/* The executable's path (its link map has an empty name). */
static const char *exe_path(void)
{
	static char path[256];
	static int done;		/* atomic: path is written once */
	ssize_t n;

	if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		return path;
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	return path;
}

static bool elf_fits(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

/* Map path and find its .symtab and the string table it links to. */
static void symtab_load(struct symtab_file *f, const char *path)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	struct stat st;
	unsigned int i;
	void *map;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(*eh)) {
		close(fd);
		return;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	eh = map;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(*sh) ||
	    !elf_fits((size_t)st.st_size, eh->e_shoff,
		      (uint64_t)eh->e_shnum * sizeof(*sh)))
		goto none;
	sh = (const Elf64_Shdr *)((const char *)map + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *str = sh + sh[i].sh_link;

		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum ||
		    !elf_fits((size_t)st.st_size, sh[i].sh_offset, sh[i].sh_size) ||
		    !elf_fits((size_t)st.st_size, str->sh_offset, str->sh_size))
			continue;
		f->syms = (const Elf64_Sym *)((const char *)map + sh[i].sh_offset);
		f->nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
		f->strs = (const char *)map + str->sh_offset;
		f->strsize = str->sh_size;
		return;
	}
none:
	munmap(map, (size_t)st.st_size);
}

static struct symtab_file *symtab_get(const struct link_map *lm,
				      const char *path)
{
	unsigned int i;

	for (i = 0; i < SYMTAB_FILES; i++) {
		struct symtab_file *f = &symtab_files[i];
		int state = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);

		if (state == SLOT_READY && f->key == lm &&
		    strcmp(f->path, path) == 0)
			return f;
		if (state == SLOT_FREE &&
		    __atomic_compare_exchange_n(&f->state, &state, SLOT_FILLING,
						false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
			f->key = lm;
			memcpy(f->path, path, MIN(strlen(path),
						  sizeof(f->path) - 1));
			symtab_load(f, path);
			__atomic_store_n(&f->state, SLOT_READY, __ATOMIC_RELEASE);
			return f;
		}
	}
	return NULL;			/* every slot taken */
}

/* The function of f's .symtab holding rel (an address less the load
 * base). */
static const Elf64_Sym *symtab_find(const struct symtab_file *f, uintptr_t rel)
{
	size_t i;

	for (i = 0; f->syms && i < f->nsyms; i++) {
		const Elf64_Sym *s = &f->syms[i];

		if (ELF64_ST_TYPE(s->st_info) == STT_FUNC &&
		    s->st_shndx != SHN_UNDEF && s->st_name < f->strsize &&
		    rel - s->st_value < s->st_size)
			return s;
	}
	return NULL;
}

static int symbolize(uintptr_t addr, struct os_symbol *sym)
{
	struct link_map *lm = NULL;
	struct symtab_file *f;
	const Elf64_Sym *s;
	Dl_info info;

	memset(&info, 0, sizeof(info));
	if (!dladdr1((void *)addr, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return 0;
	sym->module = lm->l_name && lm->l_name[0] ? lm->l_name : exe_path();
	sym->module_offset = addr - lm->l_addr;
	sym->name = NULL;
	sym->offset = 0;
	if (info.dli_sname && info.dli_saddr) {
		sym->name = info.dli_sname;
		sym->offset = addr - (uintptr_t)info.dli_saddr;
		return 1;
	}
	f = symtab_get(lm, sym->module);
	s = f ? symtab_find(f, sym->module_offset) : NULL;
	if (s) {
		sym->name = f->strs + s->st_name;
		sym->offset = sym->module_offset - s->st_value;
	}
	return 1;
}

int os_symbolize_full(uintptr_t addr, struct os_symbol *sym)
{
	int saved = errno, ret = symbolize(addr, sym);

	errno = saved;
	return ret;
}

int os_symbolize(uintptr_t addr, const char **name, uintptr_t *offset)
{
	struct os_symbol sym;

	if (!os_symbolize_full(addr, &sym))
		return 0;
	if (sym.name) {
		*name = sym.name;
		*offset = sym.offset;
	} else {
		*name = strrchr(sym.module, '/') ?
			strrchr(sym.module, '/') + 1 : sym.module;
		*offset = sym.module_offset;
	}
	return 1;
}

void os_program_name(char *buf, size_t size)
{
	char tmp[64];
	ssize_t n = read_small_file("/proc/self/comm", tmp, sizeof(tmp));
	size_t len;

	if (n <= 0 || size == 0) {
		if (size)
			buf[0] = '\0';
		return;
	}
	len = (size_t)n;
	if (tmp[len - 1] == '\n')
		len--;
	len = len < size - 1 ? len : size - 1;
	memcpy(buf, tmp, len);
	buf[len] = '\0';
}

const char *os_getenv(const char *name)
{
	size_t len = strlen(name);
	char **e;

	if (!environ)
		return NULL;
	for (e = environ; *e; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

int os_environ_ready(void)
{
	return environ != NULL;
}

/* ---- The statistics server's socket ---------------------------------- */

int os_listen_abstract(const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int saved = errno, fd, ret;

	if (len + 1 > sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path + 1, name, len);	/* sun_path[0] = 0: abstract */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (bind(fd, (struct sockaddr *)&addr,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) ||
	    listen(fd, 8)) {
		ret = -errno;
		close(fd);
		goto out;
	}
	ret = fd;
out:
	errno = saved;
	return ret;
}

int os_accept_peer(int lfd, unsigned int timeout_ms, unsigned int *uid)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int saved = errno, fd, ret;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		ret = -errno;
		close(fd);
		goto out;
	}
	*uid = cred.uid;
	ret = fd;
out:
	errno = saved;
	return ret;
}

long os_recv(int fd, void *buf, size_t len)
{
	int saved = errno;
	ssize_t n = recv(fd, buf, len, MSG_NOSIGNAL);
	long ret = n < 0 ? -errno : (long)n;

	errno = saved;
	return ret;
}

int os_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	int saved = errno, ret = 0;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = errno == EWOULDBLOCK ? EAGAIN : errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	errno = saved;
	return ret;
}

void os_shutdown(int fd)
{
	int saved = errno;

	shutdown(fd, SHUT_RDWR);
	errno = saved;
}

int os_memfile(const char *name)
{
	int saved = errno, fd = memfd_create(name, MFD_CLOEXEC);
	int ret = fd < 0 ? -errno : fd;

	errno = saved;
	return ret;
}

long os_pread(int fd, void *buf, size_t len, uint64_t offset)
{
	int saved = errno;
	ssize_t n = pread(fd, buf, len, (off_t)offset);
	long ret = n < 0 ? -errno : (long)n;

	errno = saved;
	return ret;
}

unsigned int os_geteuid(void)
{
	return (unsigned int)geteuid();
}

void os_sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };
	int saved = errno;

	nanosleep(&ts, NULL);
	errno = saved;
}
