#include "preroll.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/thread_role.h"
#include "../core/touched_alloc.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define PREROLL_RING_SECONDS 2
#define PREROLL_CHUNK 4096

static void wake(void *user)
{
	sem_post(&((struct preroll *)user)->wake);
}

int preroll_init(struct preroll *p, int n_channels, uint32_t rate, double seconds)
{
	uint64_t want = (uint64_t)(seconds * rate) + 1;
	int i, ret;

	ASSERT_THREAD(THREAD_CONTROL);
	memset(p, 0, sizeof *p);
	if (n_channels < 1 || !rate || seconds <= 0)
		return -EINVAL;
	p->n_channels = n_channels;
	p->rate = rate;
	for (p->size = 1; p->size < want; p->size <<= 1)
		;
	p->history = calloc((size_t)n_channels, sizeof *p->history);
	p->scratch = calloc(PREROLL_CHUNK, sizeof *p->scratch);
	if (!p->history || !p->scratch)
		goto nomem;
	/* Every page now: the memory a room needs is taken at the start, not
	 * over its first minute (a soak sees the engine's size flat). */
	for (i = 0; i < n_channels; i++)
		if (!(p->history[i] = alloc_touched(p->size * sizeof **p->history)))
			goto nomem;
	if ((ret = capture_init(&p->capture, n_channels, PREROLL_RING_SECONDS * rate)) < 0) {
		preroll_free(p);
		return ret;
	}
	if (sem_init(&p->wake, 0, 0) < 0) {
		capture_free(&p->capture);
		preroll_free(p);
		return -errno;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->capture.wake = wake;
	p->capture.wake_user = p;
	atomic_store(&p->capture.armed, 1);
	atomic_init(&p->quit, 0);
	return 0;
nomem:
	preroll_free(p);
	return -ENOMEM;
}

static int16_t to_s16(float x)
{
	if (!(x == x))
		return 0;
	x = x * 32767.0f;
	if (x >= 32767.0f)
		return 32767;
	if (x <= -32768.0f)
		return -32768;
	return (int16_t)lrintf(x);
}

/* n samples into 16 bits: eight at a time with SSE2 (the conversion and
 * packing saturate, NaN becomes 0x8000 and then -32768 at worst: a click
 * in an incident's clip, never in the room), the rest one by one. */
static void to_s16_block(int16_t *dst, const float *src, uint32_t n)
{
	uint32_t i = 0;
#if defined(__SSE2__)
	const __m128 scale = _mm_set1_ps(32767.0f);

	for (; i + 8 <= n; i += 8) {
		__m128i a = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(src + i), scale));
		__m128i b = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(src + i + 4), scale));
		_mm_storeu_si128((__m128i *)(dst + i), _mm_packs_epi32(a, b));
	}
#endif
	for (; i < n; i++)
		dst[i] = to_s16(src[i]);
}

/* n frames of channel ch (NULL: silence) at the history's end, in at most
 * two runs around the ring's end. */
static void append(struct preroll *p, int ch, const float *src, uint32_t n)
{
	const uint64_t at = p->written & (p->size - 1);
	const uint32_t first = p->size - at < n ? (uint32_t)(p->size - at) : n;

	if (!src) {
		memset(p->history[ch] + at, 0, first * sizeof(int16_t));
		memset(p->history[ch], 0, (n - first) * sizeof(int16_t));
		return;
	}
	to_s16_block(p->history[ch] + at, src, first);
	to_s16_block(p->history[ch], src + first, n - first);
}

static void *keep(void *arg)
{
	struct preroll *p = arg;
	struct capture_block b;

	thread_role_set(THREAD_PREROLL);
	pthread_setname_np(pthread_self(), "tolk-preroll");
	while (!atomic_load(&p->quit)) {
		capture_wait(&p->wake, 100);
		while (capture_next(&p->capture, &b) == 0) {
			uint32_t done = 0, gap = b.dropped;
			int ch;
			pthread_mutex_lock(&p->lock);
			/* Frames the ring lost are silence, in their place. */
			while (gap) {
				uint32_t take = gap < PREROLL_CHUNK ? gap : PREROLL_CHUNK;
				for (ch = 0; ch < p->n_channels; ch++)
					append(p, ch, NULL, take);
				p->written += take;
				gap -= take;
			}
			while (done < b.frames) {
				uint32_t take = b.frames - done < PREROLL_CHUNK ? b.frames - done : PREROLL_CHUNK;
				for (ch = 0; ch < p->n_channels; ch++) {
					capture_read(&p->capture, ch, p->scratch, take);
					append(p, ch, p->scratch, take);
				}
				p->written += take;
				done += take;
			}
			pthread_mutex_unlock(&p->lock);
			capture_release_block(&p->capture);
		}
	}
	return NULL;
}

int preroll_run(struct preroll *p)
{
	int ret;

	ASSERT_THREAD(THREAD_CONTROL);
	if ((ret = pthread_create(&p->thread, NULL, keep, p)))
		return -ret;
	p->running = 1;
	return 0;
}

void preroll_free(struct preroll *p)
{
	int i;

	ASSERT_THREAD(THREAD_CONTROL);
	if (p->running) {
		atomic_store(&p->quit, 1);
		sem_post(&p->wake);
		pthread_join(p->thread, NULL);
		p->running = 0;
	}
	if (p->capture.rings) {
		capture_free(&p->capture);
		sem_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
	}
	for (i = 0; p->history && i < p->n_channels; i++)
		free(p->history[i]);
	free(p->history);
	free(p->scratch);
	memset(p, 0, sizeof *p);
}

uint64_t preroll_now(struct preroll *p)
{
	uint64_t n;

	pthread_mutex_lock(&p->lock);
	n = p->written;
	pthread_mutex_unlock(&p->lock);
	return n;
}

uint64_t preroll_copy(struct preroll *p, int ch, uint64_t from, uint64_t to, float *out)
{
	uint64_t f, real = 0;

	ASSERT_THREAD(THREAD_CONTROL | THREAD_INCIDENT);
	pthread_mutex_lock(&p->lock);
	for (f = from; f < to; f++) {
		/* Still to come, or already written over. */
		if (f >= p->written || p->written - f > p->size) {
			out[f - from] = 0.0f;
			continue;
		}
		out[f - from] = p->history[ch][f & (p->size - 1)] / 32768.0f;
		real++;
	}
	pthread_mutex_unlock(&p->lock);
	return real;
}
