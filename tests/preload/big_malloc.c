/*
 * big_malloc: asks malloc for 100 MiB, then for many small blocks, and
 * says what it got: "big ok" or "big NULL ENOMEM" (or "big NULL errno N"),
 * then "small ok" if every small block came and held its bytes.  Run by
 * robust.sh with USLUB_OPTIONS=limit=64m, where the big one must fail and
 * the small ones work, and without the limit.  Knows nothing of uslub.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL	2000

int main(void)
{
	static void *small[SMALL];
	size_t big_size = (size_t)100 << 20;
	int i, ok = 1;
	void *big;

	errno = 0;
	big = malloc(big_size);
	if (big)
		printf("big ok\n");
	else if (errno == ENOMEM)
		printf("big NULL ENOMEM\n");
	else
		printf("big NULL errno %d\n", errno);
	free(big);
	for (i = 0; i < SMALL; i++) {
		small[i] = malloc(16 + (size_t)i * 8);
		if (!small[i]) {
			ok = 0;
			break;
		}
		memset(small[i], i & 0xff, 16 + (size_t)i * 8);
	}
	for (i = 0; i < SMALL && small[i]; i++) {
		if (((unsigned char *)small[i])[15 + i * 8] != (i & 0xff))
			ok = 0;
		free(small[i]);
	}
	printf("small %s\n", ok ? "ok" : "failed");
	return 0;
}
