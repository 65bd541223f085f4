/* The last minute or so of the distribution channels (the floor's output
 * and each language's), always kept, for incident reports: what the
 * delegates heard before a technician pressed the button, and after. The
 * realtime thread only pushes the channels into a capture of their own
 * (a tap like the loudness meter's); a thread of its own moves them into
 * a 16-bit history per channel (power-of-two frames, at least
 * pre + post + 2 seconds), which readers copy under a lock that the
 * realtime thread never sees. Off under --no-record: an incident's audio
 * is a recording. */
#ifndef TOLK_PREROLL_H
#define TOLK_PREROLL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../core/capture.h"

struct preroll {
	int n_channels;
	uint32_t rate;
	struct capture capture;
	/* the history, under lock (the preroll thread writes, others copy) */
	pthread_mutex_t lock;
	int16_t **history;        /* [n_channels][size] */
	uint64_t size;            /* frames, a power of two */
	uint64_t written;         /* frames since the start, silence for drops included */
	float *scratch;
	pthread_t thread;
	int running;
	sem_t wake;
	_Atomic int quit;
};

/* Room for `seconds` of n_channels at rate. Thread: control. */
int preroll_init(struct preroll *p, int n_channels, uint32_t rate, double seconds);
/* Thread: control. */
int preroll_run(struct preroll *p);
/* Thread: control. */
void preroll_free(struct preroll *p);
/* Frames taken so far: a mark to copy around later. Thread: any. */
uint64_t preroll_now(struct preroll *p);
/* Copies frames [from, to) of channel ch into out (floats), silence for
 * what the history never had or no longer has. Returns the frames that
 * were real audio. Thread: any but the realtime one. */
uint64_t preroll_copy(struct preroll *p, int ch, uint64_t from, uint64_t to, float *out);

#endif
