/*
 * yep_slab.c - the "yep_slab" kernel module of a slabinfo article, in user space.
 *
 * The module created a 4 KiB cache with SLAB_HWCACHE_ALIGN and let the user
 * allocate 1, then 6, then 1 more object through sysfs, watching the
 * cache's /proc/slabinfo row after each step.  Here the steps run in order
 * and the row is printed after each; at exit the whole slabinfo, meminfo
 * and buddyinfo are printed, as `cat /proc/slabinfo` would show them.
 *
 * Expected rows (no debug metadata, so objects are 4096 bytes, 8 per
 * order-3 slab; the kernel's 4544-byte objects, 7 per slab, carried red
 * zone and store-user metadata, so there the 8th object needed a second
 * slab; here the 9th does, hence one more step than the article):
 *   after 1:  yep_slab_cache  1   8 4096 8 8 : ... : slabdata 1 1 0
 *   after 7:  yep_slab_cache  7   8 ...            slabdata 1 1 0
 *   after 8:  yep_slab_cache  8   8 ...            slabdata 1 1 0
 *   after 9:  yep_slab_cache  9  16 ...            slabdata 2 2 0
 *
 * `yep_slab --debug' creates the cache with USLUB_RED_ZONE |
 * USLUB_STORE_USER, as the article's kernel had them (slub_debug): objects
 * of 4352 bytes, 7 per slab, so the article's own steps (1, 6, 1) show its
 * rows, the 8th object in a second slab:
 *   after 8:  yep_slab_cache  8  14 4352 7 8 : ... : slabdata 2 2 0
 * Both modes end the steps with the line
 *   objsize 4096 + N bytes of metadata = S, M objects per P-page slab
 *
 * Under USLUB_OPTIONS=page_owner=1, as the article's `cat
 * /sys/kernel/debug/page_owner | grep yep', the page_owner record of each
 * of the cache's slabs follows (one order-3 block per slab, allocated in
 * alloc_store: the program is linked with -rdynamic so its own functions
 * have names), then "# page_owner: 2 records of yep_slab_cache".
 * examples/README.md does the arithmetic for uslub and for the kernel's
 * 4544.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uslub.h"

#define CACHE_NAME	"yep_slab_cache"
#define OBJECT_SIZE	(4 * 1024)
#define MAX_OBJECTS	16

static struct uslub_cache *my_cache;
static void *objects[MAX_OBJECTS];
static int allocated_count;
static char last_row[256];

/* Print this cache's slabinfo row (the lines of slabinfo matching NAME). */
static void show_row(const char *step)
{
	char buf[16384], *line, *save = NULL;
	FILE *f = tmpfile();
	size_t n;

	if (!f)
		return;
	uslub_slabinfo_write(fileno(f));
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	printf("# %s\n", step);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, CACHE_NAME " ", strlen(CACHE_NAME) + 1) == 0) {
			printf("%s\n", line);
			snprintf(last_row, sizeof(last_row), "%s", line);
		}
}

/* What the row says an object costs: objsize against the size asked for. */
static void show_objsize(void)
{
	unsigned long active, total, objsize, perslab, pages;

	if (sscanf(last_row, CACHE_NAME " %lu %lu %lu %lu %lu", &active,
		   &total, &objsize, &perslab, &pages) != 5)
		return;
	printf("objsize %d + %lu bytes of metadata = %lu, %lu objects per "
	       "%lu-page slab\n", OBJECT_SIZE, objsize - OBJECT_SIZE, objsize,
	       perslab, pages);
}

/* Not static and not inlined (-rdynamic exports only global symbols to
 * dladdr), so the page_owner records of the slabs name it. */
int alloc_store(int num);

__attribute__((noinline)) int alloc_store(int num)
{
	int i;

	for (i = 0; i < num && allocated_count < MAX_OBJECTS; i++) {
		objects[allocated_count] = uslub_cache_alloc(my_cache, USLUB_GFP_KERNEL);
		if (!objects[allocated_count])
			break;
		allocated_count++;
	}
	printf("Allocated %d objects from slab cache\n", i);
	return i;
}

/*
 * The page_owner records of this cache's slabs (blank-line separated
 * records that name the cache), and how many; nothing when page_owner is
 * off (uslub_page_owner_write fails with EINVAL).
 */
static void show_page_owner(void)
{
	FILE *f = tmpfile();
	char *buf, *rec, *end;
	long len;
	int count = 0;

	if (!f)
		return;
	if (uslub_page_owner_write(fileno(f)) != 0 ||
	    fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    !(buf = malloc((size_t)len + 1))) {
		fclose(f);
		return;
	}
	rewind(f);
	buf[fread(buf, 1, (size_t)len, f)] = '\0';
	fclose(f);
	printf("# cat /sys/kernel/debug/page_owner | grep %s\n", CACHE_NAME);
	for (rec = buf; *rec; rec = end) {
		char saved;

		end = strstr(rec, "\n\n");
		end = end ? end + 2 : rec + strlen(rec);
		saved = *end;
		*end = '\0';
		if (strstr(rec, " cache " CACHE_NAME " ")) {
			printf("%s", rec);
			count++;
		}
		*end = saved;
	}
	printf("# page_owner: %d records of %s\n", count, CACHE_NAME);
	free(buf);
}

static void free_store(void)
{
	int i;

	for (i = 0; i < allocated_count; i++)
		uslub_cache_free(my_cache, objects[i]);
	allocated_count = 0;
	printf("Freed all allocated objects from slab cache\n");
}

int main(int argc, char **argv)
{
	uslub_slab_flags_t flags = USLUB_HWCACHE_ALIGN;
	int debug = argc > 1 && strcmp(argv[1], "--debug") == 0;

	if (argc > 2 || (argc == 2 && !debug)) {
		fprintf(stderr, "usage: %s [--debug]\n", argv[0]);
		return 2;
	}
	if (debug)
		flags |= USLUB_RED_ZONE | USLUB_STORE_USER;
	my_cache = uslub_cache_create(CACHE_NAME, OBJECT_SIZE, 0, flags, NULL);
	if (!my_cache) {
		fprintf(stderr, "Failed to create slab cache\n");
		return 1;
	}
	show_row("created");
	alloc_store(1);
	show_row("echo 1 > alloc");
	alloc_store(6);
	show_row("echo 6 > alloc");
	alloc_store(1);
	show_row("echo 1 > alloc");
	if (!debug) {
		alloc_store(1);
		show_row("echo 1 > alloc (a second slab)");
	}
	show_objsize();
	show_page_owner();
	free_store();
	show_row("echo 1 > free");
	uslub_cache_shrink(my_cache);
	show_row("kmem_cache_shrink");
	fflush(stdout);
	printf("# cat /proc/slabinfo\n");
	fflush(stdout);
	uslub_slabinfo_write(STDOUT_FILENO);
	printf("# grep Slab /proc/meminfo\n");
	fflush(stdout);
	uslub_meminfo_write(STDOUT_FILENO);
	printf("# cat /proc/buddyinfo\n");
	fflush(stdout);
	uslub_buddyinfo_write(STDOUT_FILENO);
	if (uslub_cache_destroy(my_cache) != 0) {
		fprintf(stderr, "destroy failed\n");
		return 1;
	}
	return 0;
}
