/*
 * lkp_cache.c - the "lkp-cache" kernel module of a slab article (a struct mydata
 * cache, two objects, printk of their fields), in user space: the module's
 * init function is main, printk is printf, and <linux/slab.h> is
 * <uslub/kmem.h>.  The body is the module's, line for line.
 *
 * Expected output:
 *   slab_allocator_kernel_module_init()
 *   ptr1 = {1, 2}, ptr2 = {3, 4}
 *   slab_allocator_kernel_module_exit()
 */
#include <errno.h>
#include <stdio.h>

#include <uslub/kmem.h>

#define printk printf

struct mydata {
	int int_param;
	long long_param;
};

static int slab_allocator_kernel_module_init(void)
{
	int ret = 0;
	struct mydata *ptr1, *ptr2;
	struct kmem_cache *mycache;

	printk("slab_allocator_kernel_module_init()\n");
	mycache = kmem_cache_create("lkp-cache", sizeof(struct mydata), 0, 0, NULL);
	if (!mycache)
		return -1;
	ptr1 = kmem_cache_alloc(mycache, GFP_KERNEL);
	if (!ptr1) {
		ret = -ENOMEM;
		goto destroy_cache;
	}
	ptr2 = kmem_cache_alloc(mycache, GFP_KERNEL);
	if (!ptr2) {
		ret = -ENOMEM;
		goto freeptr1;
	}
	ptr1->int_param = 1;
	ptr1->long_param = 2;
	ptr2->int_param = 3;
	ptr2->long_param = 4;
	printk("ptr1 = {%d, %ld}, ptr2 = {%d, %ld}\n", ptr1->int_param,
	       ptr1->long_param, ptr2->int_param, ptr2->long_param);
	kmem_cache_free(mycache, ptr2);
freeptr1:
	kmem_cache_free(mycache, ptr1);
destroy_cache:
	kmem_cache_destroy(mycache);
	return ret;
}

static void slab_allocator_kernel_module_exit(void)
{
	printk("slab_allocator_kernel_module_exit()\n");
}

int main(void)
{
	int ret = slab_allocator_kernel_module_init();

	if (ret == 0)
		slab_allocator_kernel_module_exit();
	return ret == 0 ? 0 : 1;
}
