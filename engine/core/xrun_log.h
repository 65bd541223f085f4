/* Where JACK's xruns fell: the count, and the JACK frame of the last few,
 * so that the recording's timeline can say where in each file a period
 * was lost (and a glitch found in a file can be matched to its xrun).
 *
 * One writer (JACK's notification thread, in the xrun callback), any
 * number of readers: the writer fills the slot, then publishes the count
 * with release; a reader takes the count with acquire and reads slots
 * below it, as long as the writer has not come round again (a reader more
 * than XRUN_LOG_FRAMES behind knows only the count). */
#ifndef TOLK_XRUN_LOG_H
#define TOLK_XRUN_LOG_H

#include <stdatomic.h>
#include <stdint.h>

#define XRUN_LOG_FRAMES 64 /* a power of two */

struct xrun_log {
	_Atomic uint32_t count;
	_Atomic uint64_t frame[XRUN_LOG_FRAMES];
};

/* Thread: JACK notification (the only writer). */
static inline void xrun_log_add(struct xrun_log *x, uint64_t frame)
{
	uint32_t n = atomic_load_explicit(&x->count, memory_order_relaxed);

	atomic_store_explicit(&x->frame[n & (XRUN_LOG_FRAMES - 1)], frame, memory_order_relaxed);
	atomic_store_explicit(&x->count, n + 1, memory_order_release);
}

/* Thread: any. */
static inline uint32_t xrun_log_count(const struct xrun_log *x)
{
	return atomic_load_explicit(&x->count, memory_order_acquire);
}

/* The frame of xrun number i (0-based), or UINT64_MAX when it has been
 * written over since. Thread: any. */
static inline uint64_t xrun_log_frame(const struct xrun_log *x, uint32_t i)
{
	uint64_t f = atomic_load_explicit(&x->frame[i & (XRUN_LOG_FRAMES - 1)], memory_order_relaxed);

	atomic_thread_fence(memory_order_acquire);
	return xrun_log_count(x) - i > XRUN_LOG_FRAMES ? UINT64_MAX : f;
}

#endif
