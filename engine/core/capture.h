/* The realtime side of recording: every recorded channel has its own ring
 * of float samples, and one more ring carries a small record per period
 * (the JACK frame it began on, its length, and how many frames were dropped
 * just before it). One reader, one writer: the realtime thread writes, the
 * disk thread reads.
 *
 * A push is all or nothing across channels, so the channels can never slip
 * against each other. When any ring lacks room the whole period is dropped
 * and counted, and the next block that does get through says how many
 * frames went missing before it, so the disk thread writes exactly that
 * much silence in the right place. */
#ifndef TOLK_CAPTURE_H
#define TOLK_CAPTURE_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ring.h"

struct capture_block {
	uint64_t frame;   /* JACK frame time of the first frame */
	uint64_t usecs;   /* JACK's clock (µs) when that frame began; 0 unknown */
	uint32_t frames;  /* frames in every channel ring for this block */
	uint32_t dropped; /* frames dropped just before this block */
};

struct capture {
	int n_channels;
	struct ring *rings;   /* [n_channels], float samples */
	struct ring blocks;   /* struct capture_block records */
	uint32_t capacity;    /* frames each channel ring holds */
	_Atomic int armed;    /* set by the disk thread; RT pushes only while set */
	uint32_t pending_drop;          /* RT only */
	_Atomic uint64_t dropped_total; /* frames, since creation */
	_Atomic uint32_t high_water;    /* highest channel ring fill seen, frames */
	void (*wake)(void *user);       /* RT-safe: posts a semaphore, say */
	void *wake_user;
};

/* Allocate (and touch) rings for n_channels of at least `frames` each.
 * Returns 0, -EINVAL or -ENOMEM. */
int capture_init(struct capture *c, int n_channels, uint32_t frames);
void capture_free(struct capture *c);

/* Realtime thread: offer one period, which began on JACK frame `frame` at
 * `usecs` on JACK's clock (0: not known). No effect unless armed. */
void capture_push(struct capture *c, const float *const *channels, uint32_t frames, uint64_t frame,
		  uint64_t usecs);

/* Disk thread: the next block, if any (0), or -EAGAIN. Its samples are then
 * read with capture_read, channel by channel, and released together with
 * capture_release. */
int capture_next(struct capture *c, struct capture_block *block);
/* Copies `frames` samples of channel ch into dst (the caller's block). */
void capture_read(struct capture *c, int ch, float *dst, uint32_t frames);
void capture_release_block(struct capture *c);

/* Reader thread: sleep until the writer's wake posts `wake` or timeout_ms
 * pass, then swallow the posts that piled up meanwhile: one pass over the
 * rings serves them all. */
void capture_wait(sem_t *wake, int timeout_ms);

/* Disk thread: drop whatever is queued (after disarming). */
void capture_discard(struct capture *c);

#endif
