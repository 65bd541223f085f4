/* Memory the realtime thread will use, with every page already faulted in
 * by the control thread: a first-touch page fault in the process callback
 * is an unbounded wait (and the engine locks memory MLOCK_ONFAULT, which
 * locks a page only once it is touched).
 *
 * Why not malloc followed by memset: GCC turns that pair into calloc, and
 * calloc skips zeroing fresh pages from mmap or the heap's top, which are
 * zero already but not yet there. The realtime thread then took every
 * first touch of the recording and loudness rings (seen as hundreds of
 * minor faults a second in a 127-channel room). */
#ifndef TOLK_TOUCHED_ALLOC_H
#define TOLK_TOUCHED_ALLOC_H

#include <stddef.h>

/* Writes a byte of every page in [p, p + bytes) as it is: faults them in.
 * Inline, so that the built-in plugins (which link nothing of the core)
 * touch their state the same way. */
static inline void touch_pages(void *p, size_t bytes)
{
	volatile unsigned char *b = p;
	size_t i;

	if (!p || bytes == 0)
		return;
	/* A volatile write the compiler must keep, of the byte already there. */
	for (i = 0; i < bytes; i += 4096) /* no page is smaller */
		b[i] = b[i];
	b[bytes - 1] = b[bytes - 1];
}

/* Zeroed memory, every page written. NULL when out of memory.
 * Thread: control (or any thread but the realtime one). */
void *alloc_touched(size_t bytes);

#endif
