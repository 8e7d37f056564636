/*
 * toa_hash.c - the TOA module's IPv6 table in user space: a hash table of
 * struct toa_ipv6_node entries from KMEM_CACHE(toa_ipv6_node, flags) with
 * the module's DEBUG flags (SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER
 * | SLAB_CONSISTENCY_CHECKS), entries from kmem_cache_zalloc, lookups,
 * deletes, and the module's uninit: free every entry left in the table,
 * then kmem_cache_destroy.  uslub_cache_validate (the kernel's
 * `slabinfo -v') walks every object before and at the end.
 *
 * The kernel's hlist_bl (a bit-locked hlist) becomes a plain hlist of our
 * own: one thread, no lock.  Expected output (the test checks it exactly):
 *   KMEM_CACHE(toa_ipv6_node): object_size 48, objsize 248, 16 per slab
 *   inserted 1000 nodes in 256 buckets, 1000 zeroed by kmem_cache_zalloc
 *   lookup: 1000 of 1000 present found, 0 of 100 absent found
 *   deleted 500 nodes, 500 left
 *   uslub_cache_validate: 0
 *   uninit_toa_ipv6_slab, there are 500 ipv6 nodes not freed
 *   uslub_cache_validate before destroy: 0
 *   kmem_cache_destroy: done
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uslub/kmem.h>

#define TOA_IPV6_HASH_BITS	8
#define TOA_IPV6_HASH_SIZE	(1u << TOA_IPV6_HASH_BITS)
#define NR_NODES		1000
#define NR_ABSENT		100

#define TOA_IPV6_SLAB_FLAG	(SLAB_RED_ZONE | SLAB_POISON | \
				 SLAB_STORE_USER | SLAB_CONSISTENCY_CHECKS)

/* ---- A minimal hlist (the kernel's <linux/list.h> shape) ------------- */

struct hlist_node {
	struct hlist_node *next, **pprev;
};

struct hlist_head {
	struct hlist_node *first;
};

static void hlist_add_head(struct hlist_node *n, struct hlist_head *h)
{
	n->next = h->first;
	if (h->first)
		h->first->pprev = &n->next;
	h->first = n;
	n->pprev = &h->first;
}

static void hlist_del(struct hlist_node *n)
{
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	n->next = NULL;
	n->pprev = NULL;
}

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- The TOA table --------------------------------------------------- */

/* A client's real address, as the TCP option carried it. */
typedef struct toa_ipv6_node {
	struct hlist_node list;
	uint8_t saddr[16];	/* client IPv6 address */
	uint16_t sport;		/* client port, the key here */
	uint16_t lport;		/* local port of the connection */
	uint32_t hits;
	uint64_t stamp;		/* when it was inserted */
} toa_ipv6_node_t;

static struct kmem_cache *toa_ipv6_node_slab;
static struct hlist_head toa_ipv6_table[TOA_IPV6_HASH_SIZE];

static unsigned int toa_hash(uint16_t sport)
{
	return (sport * 0x9e37u) >> (16 - TOA_IPV6_HASH_BITS) &
	       (TOA_IPV6_HASH_SIZE - 1);
}

static int init_toa_ipv6_slab(void)
{
	static const char *tag = __func__;

	toa_ipv6_node_slab = KMEM_CACHE(toa_ipv6_node, TOA_IPV6_SLAB_FLAG);
	if (toa_ipv6_node_slab == NULL) {
		fprintf(stderr, "%s, create slab failed, maybe out of memory\n",
			tag);
		return -1;
	}
	return 0;
}

/* Returns 1 for an entry kmem_cache_zalloc really zeroed, 0, or -1. */
static int toa_insert(uint16_t sport)
{
	toa_ipv6_node_t *node;
	static const toa_ipv6_node_t zero;
	int zeroed;

	node = kmem_cache_zalloc(toa_ipv6_node_slab, GFP_KERNEL);
	if (!node)
		return -1;
	zeroed = memcmp(node, &zero, sizeof(*node)) == 0;
	node->saddr[0] = 0x20;
	node->saddr[1] = 0x01;
	node->saddr[14] = (uint8_t)(sport >> 8);
	node->saddr[15] = (uint8_t)sport;
	node->sport = sport;
	node->lport = 443;
	node->stamp = (uint64_t)time(NULL);
	hlist_add_head(&node->list, &toa_ipv6_table[toa_hash(sport)]);
	return zeroed;
}

static toa_ipv6_node_t *toa_lookup(uint16_t sport)
{
	struct hlist_node *p;

	for (p = toa_ipv6_table[toa_hash(sport)].first; p; p = p->next) {
		toa_ipv6_node_t *node = container_of(p, toa_ipv6_node_t, list);

		if (node->sport == sport) {
			node->hits++;
			return node;
		}
	}
	return NULL;
}

static int toa_delete(uint16_t sport)
{
	toa_ipv6_node_t *node = toa_lookup(sport);

	if (!node)
		return 0;
	hlist_del(&node->list);
	kmem_cache_free(toa_ipv6_node_slab, node);
	return 1;
}

/* The module's unload path: frees what is left, then the cache. */
static void uninit_toa_ipv6_slab(void)
{
	static const char *tag = __func__;
	struct hlist_node *node, *tmp;
	unsigned int idx;
	int count = 0;

	for (idx = 0; idx < TOA_IPV6_HASH_SIZE; idx++) {
		for (node = toa_ipv6_table[idx].first; node; node = tmp) {
			tmp = node->next;
			hlist_del(node);
			kmem_cache_free(toa_ipv6_node_slab,
					container_of(node, toa_ipv6_node_t, list));
			++count;
		}
	}
	printf("%s, there are %d ipv6 nodes not freed\n", tag, count);
	printf("uslub_cache_validate before destroy: %lu\n",
	       uslub_cache_validate(toa_ipv6_node_slab));
	kmem_cache_destroy(toa_ipv6_node_slab);
	toa_ipv6_node_slab = NULL;
	printf("kmem_cache_destroy: done\n");
}

/* objsize and objperslab of the cache's /proc/slabinfo row. */
static void show_geometry(void)
{
	char buf[16384], *line, *save = NULL;
	unsigned long active, total, objsize = 0, perslab = 0;
	FILE *f = tmpfile();
	size_t n;

	if (!f)
		return;
	uslub_slabinfo_write(fileno(f));
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "toa_ipv6_node %lu %lu %lu %lu", &active,
			   &total, &objsize, &perslab) == 4)
			break;
	printf("KMEM_CACHE(toa_ipv6_node): object_size %u, objsize %lu, "
	       "%lu per slab\n", kmem_cache_size(toa_ipv6_node_slab), objsize,
	       perslab);
}

int main(void)
{
	int i, zeroed = 0, found = 0, absent = 0, deleted = 0;

	if (init_toa_ipv6_slab() != 0)
		return 1;
	show_geometry();
	for (i = 0; i < NR_NODES; i++) {
		int r = toa_insert((uint16_t)(1024 + i));

		if (r < 0) {
			fprintf(stderr, "kmem_cache_zalloc failed\n");
			return 1;
		}
		zeroed += r;
	}
	printf("inserted %d nodes in %u buckets, %d zeroed by "
	       "kmem_cache_zalloc\n", NR_NODES, TOA_IPV6_HASH_SIZE, zeroed);
	for (i = 0; i < NR_NODES; i++)
		found += toa_lookup((uint16_t)(1024 + i)) != NULL;
	for (i = 0; i < NR_ABSENT; i++)
		absent += toa_lookup((uint16_t)(30000 + i)) != NULL;
	printf("lookup: %d of %d present found, %d of %d absent found\n",
	       found, NR_NODES, absent, NR_ABSENT);
	for (i = 0; i < NR_NODES; i += 2)
		deleted += toa_delete((uint16_t)(1024 + i));
	printf("deleted %d nodes, %d left\n", deleted, NR_NODES - deleted);
	printf("uslub_cache_validate: %lu\n",
	       uslub_cache_validate(toa_ipv6_node_slab));
	uninit_toa_ipv6_slab();
	return 0;
}
