#include "touched_alloc.h"

#include <stdlib.h>
#include <string.h>

void *alloc_touched(size_t bytes)
{
	void *p = malloc(bytes ? bytes : 1);

	if (p) {
		memset(p, 0, bytes ? bytes : 1);
		touch_pages(p, bytes ? bytes : 1);
	}
	return p;
}
