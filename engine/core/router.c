#include "router.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "thread_role.h"

/* Large callocs come as fresh mmap pages that fault on first use; write
 * every byte now so that the realtime side never takes that fault. */
static void *alloc_touched(size_t bytes)
{
	void *p = malloc(bytes ? bytes : 1);
	if (p)
		memset(p, 0, bytes ? bytes : 1);
	return p;
}

int router_init(struct router *r, const struct config *cfg, uint32_t sample_rate)
{
	size_t terms;
	int i;

	if (!r || !cfg || sample_rate == 0)
		return -EINVAL;
	memset(r, 0, sizeof *r);
	r->n_floor = cfg->n_floor_inputs;
	r->n_mics = cfg->n_mics;
	r->n_sources = 1 + cfg->n_mics;
	r->n_outputs = config_output_count(cfg);
	r->ramp_frames = (uint32_t)lround(ROUTER_RAMP_MS * sample_rate / 1000.0);
	if (r->ramp_frames < 1)
		r->ramp_frames = 1;
	r->ramp_pos = r->ramp_frames;
	terms = (size_t)r->n_outputs * (size_t)r->n_sources;
	r->from = alloc_touched(terms * sizeof *r->from);
	r->to = alloc_touched(terms * sizeof *r->to);
	r->floor_bus = alloc_touched(ROUTER_CHUNK_MAX * sizeof *r->floor_bus);
	r->src = alloc_touched((size_t)r->n_sources * sizeof *r->src);
	r->peak = alloc_touched((size_t)r->n_outputs * sizeof *r->peak);
	if (!r->from || !r->to || !r->floor_bus || !r->src || !r->peak) {
		router_free(r);
		return -ENOMEM;
	}
	for (i = 0; i < r->n_outputs; i++)
		atomic_init(&r->peak[i], 0);
	atomic_init(&r->nonfinite, 0);
	return 0;
}

void router_free(struct router *r)
{
	if (!r)
		return;
	free(r->from);
	free(r->to);
	free(r->floor_bus);
	free(r->src);
	free((void *)r->peak);
	memset(r, 0, sizeof *r);
}

static float bits_to_float(uint32_t b)
{
	float f;
	memcpy(&f, &b, sizeof f);
	return f;
}

static uint32_t float_to_bits(float f)
{
	uint32_t b;
	memcpy(&b, &f, sizeof b);
	return b;
}

/* Start a ramp from wherever the gains are now to the snapshot's. */
static void retarget(struct router *r, const struct snapshot *s)
{
	size_t terms = (size_t)r->n_outputs * (size_t)r->n_sources, i;
	float t = r->ramp_pos >= r->ramp_frames ? 1.0f : (float)r->ramp_pos / (float)r->ramp_frames;

	for (i = 0; i < terms; i++) {
		float now = r->from[i] + (r->to[i] - r->from[i]) * t;
		r->from[i] = isfinite(now) ? now : 0.0f;
		r->to[i] = s->gain[i];
	}
	r->ramp_pos = 0;
	r->applied_generation = s->generation;
}

static void mix_chunk(struct router *r, const float *const *in, float *const *out,
		      uint32_t offset, uint32_t n)
{
	const int n_sources = r->n_sources;
	const uint32_t ramp_frames = r->ramp_frames;
	const uint32_t pos = r->ramp_pos;
	/* Frames of this chunk still inside the ramp. */
	const uint32_t ramping = pos >= ramp_frames ? 0 : (ramp_frames - pos < n ? ramp_frames - pos : n);
	const float inv_ramp = 1.0f / (float)ramp_frames;
	float *bus = r->floor_bus;
	uint32_t i;
	int o, k;

	/* The floor bus: sum of the floor inputs. */
	memcpy(bus, in[0] + offset, n * sizeof *bus);
	for (k = 1; k < r->n_floor; k++) {
		const float *x = in[k] + offset;
		for (i = 0; i < n; i++)
			bus[i] += x[i];
	}
	r->src[SNAPSHOT_SRC_FLOOR] = bus;
	for (k = 0; k < r->n_mics; k++)
		r->src[snapshot_src_mic(k)] = in[r->n_floor + k] + offset;

	for (o = 0; o < r->n_outputs; o++) {
		float *y = out[o] + offset;
		const float *from = r->from + (size_t)o * (size_t)n_sources;
		const float *to = r->to + (size_t)o * (size_t)n_sources;
		float peak = 0.0f, sum = 0.0f;

		memset(y, 0, n * sizeof *y);
		for (k = 0; k < n_sources; k++) {
			const float *x = r->src[k];
			const float g0 = from[k], g1 = to[k];

			if (g0 == 0.0f && g1 == 0.0f)
				continue;
			if (ramping) {
				const float step = (g1 - g0) * inv_ramp;
				for (i = 0; i < ramping; i++)
					y[i] += x[i] * (g0 + step * (float)(pos + i + 1));
			}
			if (g1 != 0.0f)
				for (i = ramping; i < n; i++)
					y[i] += x[i] * g1;
		}
		for (i = 0; i < n; i++) {
			float a = fabsf(y[i]);
			sum += y[i];
			peak = a > peak ? a : peak;
		}
		/* A NaN or Inf from a broken source must not reach a delegate's ear
		 * (nor poison the gains): silence the block and count it. */
		if (!isfinite(sum)) {
			memset(y, 0, n * sizeof *y);
			peak = 0.0f;
			atomic_fetch_add_explicit(&r->nonfinite, 1, memory_order_relaxed);
		}
		if (peak > bits_to_float(atomic_load_explicit(&r->peak[o], memory_order_relaxed)))
			atomic_store_explicit(&r->peak[o], float_to_bits(peak), memory_order_relaxed);
	}
	r->ramp_pos = pos + ramping;
}

void router_process(struct router *r, const struct snapshot *s, const float *const *in,
		    float *const *out, uint32_t frames)
{
	uint32_t done = 0;

	ASSERT_THREAD(THREAD_RT);
	if (s && s->generation != r->applied_generation)
		retarget(r, s);
	while (done < frames) {
		uint32_t n = frames - done < ROUTER_CHUNK_MAX ? frames - done : ROUTER_CHUNK_MAX;
		mix_chunk(r, in, out, done, n);
		done += n;
	}
}

float router_take_peak(struct router *r, int output)
{
	if (!r || output < 0 || output >= r->n_outputs)
		return 0.0f;
	return bits_to_float(atomic_exchange_explicit(&r->peak[output], 0, memory_order_relaxed));
}
