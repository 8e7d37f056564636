/*
 * destroy_busy.c - destroying a cache that still has objects, an article's
 * "kmem_cache_destroy before freeing everything": the 2.6.32 kernel said
 * "slab error in kmem_cache_destroy(): cache `foo_bar': Can't free all
 * objects", left a cache without its name and oopsed at the next read of
 * /proc/slabinfo.  uslub reports the live objects on stderr (with
 * SLAB_STORE_USER, where each was allocated: link with -rdynamic so the
 * program's own functions have names), keeps the cache and its objects,
 * and destroys it once they are freed.
 *
 * kmem_cache_destroy is void, as the kernel's; uslub_cache_destroy says
 * -EBUSY.  stdout (checked exactly by the test):
 *   allocated 3 objects from busy_cache
 *   kmem_cache_destroy(busy_cache): returned, cache kept
 *   uslub_cache_destroy(busy_cache): -EBUSY
 *   the 3 objects are intact: yes
 *   slabinfo after the failed destroys: busy_cache 3 active
 *   freed 3 objects
 *   uslub_cache_destroy(busy_cache): 0
 * stderr, twice (addresses, ages and thread ids vary):
 *   uslub: cache busy_cache: 3 objects remaining
 *   uslub: cache busy_cache: object 0x... still allocated (slab 0x..., object 0 of 21)
 *   INFO: Allocated in alloc_objects+0x.. age=.. tid=..
 *    main+0x..
 *    ...
 *   (the same for objects 1 and 2)
 *   uslub: cache busy_cache: not destroyed (-EBUSY): 1 slabs of 21 objects kept; ...
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <uslub/kmem.h>

#define NR_OBJECTS	3
#define OBJECT_SIZE	200

static void *objs[NR_OBJECTS];

/* Its own function, not inlined and not static (-rdynamic exports only
 * global symbols to dladdr), so the report names it. */
int alloc_objects(struct kmem_cache *cache);

__attribute__((noinline)) int alloc_objects(struct kmem_cache *cache)
{
	int i;

	for (i = 0; i < NR_OBJECTS; i++) {
		objs[i] = kmem_cache_alloc(cache, GFP_KERNEL);
		if (!objs[i])
			return -ENOMEM;
		memset(objs[i], 'a' + i, OBJECT_SIZE);
	}
	return 0;
}

static int objects_intact(void)
{
	int i, j;

	for (i = 0; i < NR_OBJECTS; i++)
		for (j = 0; j < OBJECT_SIZE; j++)
			if (((unsigned char *)objs[i])[j] != 'a' + i)
				return 0;
	return 1;
}

/* The active_objs column of the cache's slabinfo row, or -1. */
static long active_objects(const char *name)
{
	char buf[16384], row[64], *line, *save = NULL;
	long active = -1;
	FILE *f = tmpfile();
	size_t n;

	if (!f)
		return -1;
	uslub_slabinfo_write(fileno(f));
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	snprintf(row, sizeof(row), "%s %%ld", name);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, name, strlen(name)) == 0 &&
		    line[strlen(name)] == ' ' && sscanf(line, row, &active) == 1)
			break;
	return active;
}

int main(void)
{
	struct kmem_cache *cache;
	int i, ret;

	cache = kmem_cache_create("busy_cache", OBJECT_SIZE, 0,
				  SLAB_STORE_USER, NULL);
	if (!cache || alloc_objects(cache) != 0) {
		fprintf(stderr, "cannot create busy_cache or allocate\n");
		return 1;
	}
	printf("allocated %d objects from busy_cache\n", NR_OBJECTS);
	fflush(stdout);

	kmem_cache_destroy(cache);
	printf("kmem_cache_destroy(busy_cache): returned, cache kept\n");
	fflush(stdout);
	ret = uslub_cache_destroy(cache);
	printf("uslub_cache_destroy(busy_cache): %s\n",
	       ret == -EBUSY ? "-EBUSY" : ret == 0 ? "0 (not expected)" : "?");
	printf("the %d objects are intact: %s\n", NR_OBJECTS,
	       objects_intact() ? "yes" : "no");
	printf("slabinfo after the failed destroys: busy_cache %ld active\n",
	       active_objects("busy_cache"));

	for (i = 0; i < NR_OBJECTS; i++)
		kmem_cache_free(cache, objs[i]);
	printf("freed %d objects\n", NR_OBJECTS);
	ret = uslub_cache_destroy(cache);
	printf("uslub_cache_destroy(busy_cache): %d\n", ret);
	return ret == 0 ? 0 : 1;
}
