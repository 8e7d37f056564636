/*
 * tests/preload/libearly.c -- a shared library that allocates before main.
 *
 * Its constructor (priority 101, the earliest a program may ask for) runs
 * while the dynamic loader is still starting the process: it calls malloc,
 * calloc, realloc, strdup and posix_memalign, frees some of the blocks and
 * keeps the others for tests/preload/early, which checks them after main
 * starts.  Under the preload library that is an allocation before any
 * constructor of uslub's own may have run.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#define EARLY_BLOCKS	6

static void *kept[EARLY_BLOCKS];
static size_t kept_size[EARLY_BLOCKS];
static int ctor_status = -1;	/* 0 ok, else the number of the failed step */

static void stamp(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

static int stamped(const unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 7 + seed))
			return 0;
	return 1;
}

static int zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void keep(int i, void *p, size_t n)
{
	kept[i] = p;
	kept_size[i] = n;
	if (p)
		stamp(p, n, (unsigned)i);
}

/* Returns 0, or the number of the step that failed. */
static int allocate_early(void)
{
	unsigned char *a, *b, *c;
	void *al = NULL;
	char *s;

	a = malloc(100);
	if (!a)
		return 1;
	stamp(a, 100, 50);
	b = calloc(64, 8);
	if (!b || !zero(b, 512))
		return 2;
	free(b);
	c = realloc(a, 20000);		/* moves to another size class */
	if (!c || !stamped(c, 100, 50))
		return 3;
	c = realloc(c, 40);
	if (!c || !stamped(c, 40, 50))
		return 4;
	free(c);
	s = strdup("allocated by a constructor before main");
	if (!s)
		return 5;
	if (posix_memalign(&al, 4096, 300) || !al)
		return 6;
	free(malloc(3 << 20));

	keep(0, malloc(24), 24);
	keep(1, calloc(1, 3000), 3000);
	keep(2, realloc(NULL, 70000), 70000);
	keep(3, al, 300);
	keep(4, malloc(5 << 20), 5 << 20);
	kept[5] = s;			/* the string is its own stamp */
	kept_size[5] = strlen(s) + 1;
	for (int i = 0; i < EARLY_BLOCKS; i++)
		if (!kept[i])
			return 10 + i;
	return 0;
}

__attribute__((constructor(101))) static void early_ctor(void)
{
	ctor_status = allocate_early();
}

/* 0 if every step of the constructor worked, -1 if it never ran. */
int early_status(void)
{
	return ctor_status;
}

int early_count(void)
{
	return EARLY_BLOCKS;
}

/* Block i kept by the constructor, its size in *size. */
void *early_block(int i, size_t *size)
{
	*size = kept_size[i];
	return kept[i];
}

/* 1 if block i still holds what the constructor wrote. */
int early_block_intact(int i)
{
	if (i == EARLY_BLOCKS - 1)
		return strcmp(kept[i],
			      "allocated by a constructor before main") == 0;
	return stamped(kept[i], kept_size[i], (unsigned)i);
}
