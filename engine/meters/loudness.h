/* EBU R128 loudness (momentary and short-term) of every language channel,
 * measured by libebur128 on a thread of its own. The audio thread only
 * pushes the channels into a second set of capture rings; nothing here
 * runs on it. */
#ifndef TOLK_LOUDNESS_H
#define TOLK_LOUDNESS_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include <ebur128.h>

#include "../core/capture.h"

struct loudness {
	int n_channels;
	uint32_t rate;
	struct capture capture;
	ebur128_state **meters;
	float *scratch;
	_Atomic uint32_t *momentary; /* float bits, LUFS; NaN for silence */
	_Atomic uint32_t *short_term;
	pthread_t thread;
	int running;
	sem_t wake;
	_Atomic int quit;
};

/* Thread: control. */
int loudness_init(struct loudness *l, int n_channels, uint32_t rate);
/* Thread: control. */
int loudness_run(struct loudness *l);
/* Thread: control. */
void loudness_stop(struct loudness *l);
/* Thread: control. */
void loudness_free(struct loudness *l);
/* The latest values of channel ch. Returns 0 or -EINVAL. Thread: any (atomics). */
int loudness_read(const struct loudness *l, int ch, double *momentary_lufs, double *short_term_lufs);

#endif
