#include "loudness.h"

#include <ebur128.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/float_bits.h"
#include "../core/thread_role.h"
#include "../core/utc_time.h"

#define LOUDNESS_RING_SECONDS 2
#define LOUDNESS_CHUNK 4096
#define LOUDNESS_IDLE_MS 100 /* values are republished at least this often */
#define LOUDNESS_PUBLISH_MS 100 /* ... and at most */

static void wake(void *user)
{
	sem_post(&((struct loudness *)user)->wake);
}

int loudness_init(struct loudness *l, int n_channels, uint32_t rate)
{
	int i, ret;

	memset(l, 0, sizeof *l);
	l->n_channels = n_channels;
	l->rate = rate;
	l->meters = calloc((size_t)n_channels, sizeof *l->meters);
	l->scratch = calloc(LOUDNESS_CHUNK, sizeof *l->scratch);
	l->momentary = calloc((size_t)n_channels, sizeof *l->momentary);
	l->short_term = calloc((size_t)n_channels, sizeof *l->short_term);
	if (!l->meters || !l->scratch || !l->momentary || !l->short_term)
		goto nomem;
	for (i = 0; i < n_channels; i++) {
		l->meters[i] = ebur128_init(1, rate, EBUR128_MODE_S);
		if (!l->meters[i])
			goto nomem;
		atomic_init(&l->momentary[i], float_to_bits(NAN));
		atomic_init(&l->short_term[i], float_to_bits(NAN));
	}
	if ((ret = capture_init(&l->capture, n_channels, LOUDNESS_RING_SECONDS * rate)) < 0) {
		loudness_free(l);
		return ret;
	}
	if (sem_init(&l->wake, 0, 0) < 0) {
		loudness_free(l);
		return -errno;
	}
	l->capture.wake = wake;
	l->capture.wake_user = l;
	/* Always measuring: a meter is not something to switch on. */
	atomic_store(&l->capture.armed, 1);
	atomic_init(&l->quit, 0);
	return 0;
nomem:
	loudness_free(l);
	return -ENOMEM;
}

/* Each reading sums its whole window (400 ms, 3 s) of every channel: the
 * momentary value ten times a second, the short-term one once, which is
 * as often as a 3 s measure says anything new. */
static void publish(struct loudness *l, int short_term_too)
{
	int i;
	for (i = 0; i < l->n_channels; i++) {
		double m = -HUGE_VAL, s = -HUGE_VAL;
		ebur128_loudness_momentary(l->meters[i], &m);
		atomic_store(&l->momentary[i], float_to_bits(isfinite(m) ? (float)m : NAN));
		if (short_term_too) {
			ebur128_loudness_shortterm(l->meters[i], &s);
			atomic_store(&l->short_term[i], float_to_bits(isfinite(s) ? (float)s : NAN));
		}
	}
}

static void *measure(void *arg)
{
	struct loudness *l = arg;
	struct capture_block b;
	int64_t next_publish = 0;
	unsigned published = 0;

	thread_role_set(THREAD_LOUDNESS);
	pthread_setname_np(pthread_self(), "tolk-loudness");
	while (!atomic_load(&l->quit)) {
		capture_wait(&l->wake, LOUDNESS_IDLE_MS);
		while (capture_next(&l->capture, &b) == 0) {
			uint32_t done = 0;
			int ch;
			/* Frames the ring lost are silence to the meter too. */
			while (done < b.frames) {
				uint32_t take = b.frames - done < LOUDNESS_CHUNK ? b.frames - done : LOUDNESS_CHUNK;
				for (ch = 0; ch < l->n_channels; ch++) {
					capture_read(&l->capture, ch, l->scratch, take);
					ebur128_add_frames_float(l->meters[ch], l->scratch, take);
				}
				done += take;
			}
			capture_release_block(&l->capture);
		}
		if (utc_now_ms() >= next_publish) {
			publish(l, ++published % (1000 / LOUDNESS_PUBLISH_MS) == 1);
			next_publish = utc_now_ms() + LOUDNESS_PUBLISH_MS;
		}
	}
	return NULL;
}

int loudness_run(struct loudness *l)
{
	int ret = pthread_create(&l->thread, NULL, measure, l);
	if (ret)
		return -ret;
	l->running = 1;
	return 0;
}

void loudness_stop(struct loudness *l)
{
	if (!l->running)
		return;
	atomic_store(&l->quit, 1);
	sem_post(&l->wake);
	pthread_join(l->thread, NULL);
	l->running = 0;
}

void loudness_free(struct loudness *l)
{
	int i;
	if (!l->meters && !l->scratch)
		return;
	loudness_stop(l);
	for (i = 0; l->meters && i < l->n_channels; i++)
		if (l->meters[i])
			ebur128_destroy(&l->meters[i]);
	if (l->capture.rings) {
		capture_free(&l->capture);
		sem_destroy(&l->wake);
	}
	free(l->meters);
	free(l->scratch);
	free((void *)l->momentary);
	free((void *)l->short_term);
	memset(l, 0, sizeof *l);
}

int loudness_read(const struct loudness *l, int ch, double *momentary_lufs, double *short_term_lufs)
{
	if (!l || !l->meters || ch < 0 || ch >= l->n_channels)
		return -EINVAL;
	*momentary_lufs = bits_to_float(atomic_load(&l->momentary[ch]));
	*short_term_lufs = bits_to_float(atomic_load(&l->short_term[ch]));
	return 0;
}
