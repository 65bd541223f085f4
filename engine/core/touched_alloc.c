#include "touched_alloc.h"

#include <stdlib.h>
#include <string.h>

#define TOUCH_STRIDE 4096 /* no page is smaller */

void touch_pages(void *p, size_t bytes)
{
	volatile unsigned char *b = p;
	size_t i;

	if (!p || bytes == 0)
		return;
	/* A volatile write the compiler must keep, of the byte already there. */
	for (i = 0; i < bytes; i += TOUCH_STRIDE)
		b[i] = b[i];
	b[bytes - 1] = b[bytes - 1];
}

void *alloc_touched(size_t bytes)
{
	void *p = malloc(bytes ? bytes : 1);

	if (p) {
		memset(p, 0, bytes ? bytes : 1);
		touch_pages(p, bytes ? bytes : 1);
	}
	return p;
}
