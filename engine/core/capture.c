#include "capture.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "thread_role.h"
#include "touched_alloc.h"

#define BLOCK_RECORDS 4096 /* far more periods than any ring holds frames for */

int capture_init(struct capture *c, int n_channels, uint32_t frames)
{
	int i, err;

	if (!c || n_channels < 1 || frames < 64 || frames > (1u << 28))
		return -EINVAL;
	memset(c, 0, sizeof *c);
	c->rings = alloc_touched((size_t)n_channels * sizeof *c->rings);
	if (!c->rings)
		return -ENOMEM;
	c->n_channels = n_channels;
	for (i = 0; i < n_channels; i++)
		if ((err = ring_alloc(&c->rings[i], frames * (uint32_t)sizeof(float))) < 0)
			goto fail;
	if ((err = ring_alloc(&c->blocks, BLOCK_RECORDS * (uint32_t)sizeof(struct capture_block))) < 0)
		goto fail;
	c->capacity = c->rings[0].size / (uint32_t)sizeof(float);
	atomic_init(&c->armed, 0);
	atomic_init(&c->dropped_total, 0);
	atomic_init(&c->high_water, 0);
	return 0;
fail:
	capture_free(c);
	return err;
}

void capture_free(struct capture *c)
{
	int i;
	if (!c || !c->rings)
		return;
	for (i = 0; i < c->n_channels; i++)
		ring_free(&c->rings[i]);
	ring_free(&c->blocks);
	free(c->rings);
	c->rings = NULL;
}

void capture_push(struct capture *c, const float *const *channels, uint32_t frames, uint64_t frame,
		  uint64_t usecs)
{
	const uint32_t bytes = frames * (uint32_t)sizeof(float);
	struct capture_block block;
	uint32_t fill;
	int i;

	ASSERT_THREAD(THREAD_RT);
	if (!atomic_load_explicit(&c->armed, memory_order_acquire) || frames == 0)
		return;
	/* Room everywhere first: all channels or none. */
	if (ring_write_space(&c->blocks) < sizeof block)
		goto drop;
	for (i = 0; i < c->n_channels; i++)
		if (ring_write_space(&c->rings[i]) < bytes)
			goto drop;
	for (i = 0; i < c->n_channels; i++)
		ring_write(&c->rings[i], channels[i], bytes);
	block = (struct capture_block){ .frame = frame, .usecs = usecs, .frames = frames, .dropped = c->pending_drop };
	ring_write(&c->blocks, &block, sizeof block);
	c->pending_drop = 0;
	fill = (uint32_t)ring_fill(&c->rings[0]) / (uint32_t)sizeof(float);
	if (fill > atomic_load_explicit(&c->high_water, memory_order_relaxed))
		atomic_store_explicit(&c->high_water, fill, memory_order_relaxed);
	if (c->wake)
		c->wake(c->wake_user);
	return;
drop:
	c->pending_drop += frames;
	atomic_fetch_add_explicit(&c->dropped_total, frames, memory_order_relaxed);
	if (c->wake)
		c->wake(c->wake_user);
}

int capture_next(struct capture *c, struct capture_block *block)
{
	struct ring_vec v[2];

	ASSERT_THREAD(THREAD_DISK | THREAD_LOUDNESS | THREAD_PREROLL | THREAD_RTP); /* the capture's one reader */
	if (ring_read_vector(&c->blocks, v) < sizeof *block)
		return -EAGAIN;
	/* Peek: the record is released with its samples. */
	if (v[0].len >= sizeof *block) {
		memcpy(block, v[0].buf, sizeof *block);
	} else {
		memcpy(block, v[0].buf, v[0].len);
		memcpy((uint8_t *)block + v[0].len, v[1].buf, sizeof *block - v[0].len);
	}
	return 0;
}

void capture_read(struct capture *c, int ch, float *dst, uint32_t frames)
{
	ring_read(&c->rings[ch], dst, frames * (uint32_t)sizeof(float));
}

void capture_release_block(struct capture *c)
{
	ring_read_advance(&c->blocks, sizeof(struct capture_block));
}

void capture_discard(struct capture *c)
{
	int i;
	for (i = 0; i < c->n_channels; i++)
		ring_read_discard(&c->rings[i]);
	ring_read_discard(&c->blocks);
}

void capture_wait(sem_t *wake, int timeout_ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	sem_timedwait(wake, &until);
	while (sem_trywait(wake) == 0)
		;
}
