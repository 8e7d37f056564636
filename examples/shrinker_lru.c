/*
 * shrinker_lru.c - an object cache that keeps what it computed on an LRU
 * list and gives the oldest back when memory runs short: the kernel's
 * shrinker pattern (dentries, inodes), through <uslub/kmem.h>.
 *
 * The program caches 100000 objects of 1 KiB (about 100 MiB) and frees
 * none itself.  Under USLUB_OPTIONS=limit=16m the cache's slabs soon
 * reach the limit; each allocation that would pass it runs reclaim on
 * this thread, which calls count_objects (how many are cached) and
 * scan_objects (free up to nr_to_scan from the cold end of the LRU);
 * the slabs those objects leave empty go back to the page layer and the
 * allocation goes on.  Lookups of recent keys move their objects to the
 * hot end, so the shrinker takes the cold ones first.
 *
 * Output under limit=16m (the counts vary with the reclaim arithmetic;
 * the test checks these lines and that the shrinker freed objects):
 *   shrinker lru_obj-cache registered (seeks 2)
 *   inserted 100000 objects of 1024 bytes, 0 allocation failures
 *   shrinker: N calls, freed F objects
 *   cached C objects; cached + freed = inserted: yes
 *   recent keys still cached: yes
 *   shrinker freed, cache destroyed
 * Without a limit nothing reclaims: it says so and exits 1.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <uslub/kmem.h>

#define NR_INSERT	100000UL
#define OBJ_DATA	(1024 - 2 * sizeof(void *) - sizeof(unsigned long))
#define NR_RECENT	64

/* A circular doubly linked list, the shape of the kernel's list_head. */
struct list_head {
	struct list_head *next, *prev;
};

struct cached_obj {
	struct list_head lru;		/* under lru_lock */
	unsigned long key;
	char data[OBJ_DATA];
};

static struct kmem_cache *obj_cache;
static struct list_head lru = { &lru, &lru };	/* head: hot, tail: cold */
static unsigned long nr_cached;			/* under lru_lock */
static pthread_mutex_t lru_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long nr_freed, nr_calls;	/* by the shrinker */

static void list_add(struct list_head *n, struct list_head *head)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

static void list_del(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
}

#define lru_entry(p) \
	((struct cached_obj *)((char *)(p) - offsetof(struct cached_obj, lru)))

static unsigned long lru_count(struct shrinker *sh, struct shrink_control *sc)
{
	(void)sh;
	(void)sc;
	/* A racy read is fine: the kernel's count_objects is a hint. */
	return __atomic_load_n(&nr_cached, __ATOMIC_RELAXED);
}

/*
 * Runs inside an allocation of this (or any) thread.  Trylock: the
 * allocating thread might hold lru_lock (it does not here: objects are
 * allocated before the lock is taken), and a shrinker must never wait
 * for a lock its caller may hold.
 */
static unsigned long lru_scan(struct shrinker *sh, struct shrink_control *sc)
{
	unsigned long freed = 0;

	(void)sh;
	nr_calls++;
	if (pthread_mutex_trylock(&lru_lock) != 0)
		return SHRINK_STOP;
	while (freed < sc->nr_to_scan && lru.prev != &lru) {
		struct cached_obj *o = lru_entry(lru.prev);

		list_del(&o->lru);
		nr_cached--;
		kmem_cache_free(obj_cache, o);
		freed++;
	}
	pthread_mutex_unlock(&lru_lock);
	nr_freed += freed;
	return freed;
}

static struct cached_obj *lookup(unsigned long key)
{
	struct list_head *p;
	int depth = 0;

	pthread_mutex_lock(&lru_lock);
	for (p = lru.next; p != &lru && depth < 2 * NR_RECENT; p = p->next,
	     depth++) {
		struct cached_obj *o = lru_entry(p);

		if (o->key == key) {
			list_del(&o->lru);
			list_add(&o->lru, &lru);	/* hot again */
			pthread_mutex_unlock(&lru_lock);
			return o;
		}
	}
	pthread_mutex_unlock(&lru_lock);
	return NULL;
}

static int insert(unsigned long key)
{
	struct cached_obj *o = kmem_cache_alloc(obj_cache, GFP_KERNEL);

	if (!o)
		return -1;
	o->key = key;
	memset(o->data, (int)(key & 0xff), sizeof(o->data));
	pthread_mutex_lock(&lru_lock);
	list_add(&o->lru, &lru);
	nr_cached++;
	pthread_mutex_unlock(&lru_lock);
	return 0;
}

int main(void)
{
	struct shrinker *sh;
	unsigned long i, failures = 0, recent = 0;

	obj_cache = kmem_cache_create("lru_obj", sizeof(struct cached_obj), 0,
				      SLAB_RECLAIM_ACCOUNT, NULL);
	sh = shrinker_alloc(0, "lru_obj-%s", "cache");
	if (!obj_cache || !sh) {
		fprintf(stderr, "cannot create the cache or the shrinker\n");
		return 1;
	}
	sh->count_objects = lru_count;
	sh->scan_objects = lru_scan;
	shrinker_register(sh);
	printf("shrinker %s registered (seeks %d)\n", sh->name, sh->seeks);

	for (i = 0; i < NR_INSERT; i++) {
		if (insert(i) != 0)
			failures++;
		if (i % 1000 == 999)	/* the recent ones are used again */
			lookup(i - 10);
	}
	printf("inserted %lu objects of %zu bytes, %lu allocation failures\n",
	       NR_INSERT, sizeof(struct cached_obj), failures);
	printf("shrinker: %lu calls, freed %lu objects\n", nr_calls, nr_freed);
	if (!nr_calls)
		printf("(no reclaim ran: run it under USLUB_OPTIONS=limit=16m)\n");
	printf("cached %lu objects; cached + freed = inserted: %s\n", nr_cached,
	       nr_cached + nr_freed + failures == NR_INSERT ? "yes" : "no");
	for (i = NR_INSERT - NR_RECENT; i < NR_INSERT; i++)
		recent += lookup(i) != NULL;
	printf("recent keys still cached: %s\n",
	       recent == NR_RECENT ? "yes" : "no");

	shrinker_free(sh);
	while (lru.next != &lru) {
		struct cached_obj *o = lru_entry(lru.next);

		list_del(&o->lru);
		kmem_cache_free(obj_cache, o);
	}
	kmem_cache_destroy(obj_cache);
	printf("shrinker freed, cache destroyed\n");
	return failures == 0 && nr_freed > 0 ? 0 : 1;
}
