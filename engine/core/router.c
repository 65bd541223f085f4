#include "router.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exposure.h"
#include "float_bits.h"
#include "thread_role.h"
#include "touched_alloc.h"

int router_init(struct router *r, const struct config *cfg, uint32_t sample_rate)
{
	size_t terms;
	int i;

	if (!r || !cfg || sample_rate == 0)
		return -EINVAL;
	memset(r, 0, sizeof *r);
	r->n_floor = cfg->n_floor_inputs;
	r->n_mics = cfg->n_mics;
	r->n_languages = cfg->n_languages;
	r->n_sources = 1 + 2 * cfg->n_mics + cfg->n_languages;
	r->n_outputs = config_output_count(cfg);
	r->first_phones = config_output_of_phones(cfg, 0);
	r->rate = (float)sample_rate;
	r->ramp_frames = (uint32_t)lround(ROUTER_RAMP_MS * sample_rate / 1000.0);
	if (r->ramp_frames < 1)
		r->ramp_frames = 1;
	r->ramp_pos = r->ramp_frames;
	terms = (size_t)r->n_outputs * (size_t)r->n_sources;
	r->from = alloc_touched(terms * sizeof *r->from);
	r->to = alloc_touched(terms * sizeof *r->to);
	r->floor_bus = alloc_touched(ROUTER_CHUNK_MAX * sizeof *r->floor_bus);
	r->src = alloc_touched((size_t)r->n_sources * sizeof *r->src);
	r->n_meters = r->n_outputs + cfg->n_floor_inputs + cfg->n_mics;
	r->window = sample_rate / ROUTER_METER_HZ;
	r->acc_peak = alloc_touched((size_t)r->n_meters * sizeof *r->acc_peak);
	r->acc_sumsq = alloc_touched((size_t)r->n_meters * sizeof *r->acc_sumsq);
	r->meter_peak = alloc_touched((size_t)r->n_meters * sizeof *r->meter_peak);
	r->meter_rms = alloc_touched((size_t)r->n_meters * sizeof *r->meter_rms);
	r->tone = alloc_touched((size_t)r->n_mics * sizeof *r->tone);
	r->tone_targets = alloc_touched(2 * (size_t)r->n_mics * sizeof *r->tone_targets);
	r->exposure = alloc_touched((size_t)r->n_mics * sizeof *r->exposure);
	r->active = alloc_touched(terms * sizeof *r->active);
	r->n_active = alloc_touched((size_t)r->n_outputs * sizeof *r->n_active);
	if (!r->active || !r->n_active || !r->exposure || !r->from || !r->to || !r->floor_bus || !r->src ||
	    !r->acc_peak || !r->acc_sumsq || !r->meter_peak ||
	    !r->meter_rms || !r->tone || !r->tone_targets) {
		router_free(r);
		return -ENOMEM;
	}
	r->tone_target = r->tone_targets;
	for (i = 0; i < r->n_mics; i++) {
		biquad_flat(&r->tone[i].bass);
		biquad_flat(&r->tone[i].treble);
		a_weighting_design(r->exposure[i].a, sample_rate);
		atomic_init(&r->exposure[i].published, 0);
	}
	atomic_init(&r->frames_total, 0);
	for (i = 0; i < r->n_meters; i++) {
		atomic_init(&r->meter_peak[i], 0);
		atomic_init(&r->meter_rms[i], 0);
	}
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
	free(r->acc_peak);
	free(r->acc_sumsq);
	free((void *)r->meter_peak);
	free((void *)r->meter_rms);
	free(r->tone);
	free(r->tone_targets);
	free(r->mic_bufs);
	free(r->adopt_out);
	free(r->adopt_src);
	free(r->adopt_in);
	free(r->active);
	free(r->n_active);
	free(r->exposure);
	memset(r, 0, sizeof *r);
}

/* Start a ramp from wherever the gains are now to the snapshot's. */
static void retarget(struct router *r, const struct snapshot *s)
{
	size_t terms = (size_t)r->n_outputs * (size_t)r->n_sources, i;
	float t = r->ramp_pos >= r->ramp_frames ? 1.0f : (float)r->ramp_pos / (float)r->ramp_frames;
	uint32_t frames = (uint32_t)lroundf(s->ramp_ms * r->rate / 1000.0f);
	int k;

	for (i = 0; i < terms; i++) {
		float now = r->from[i] + (r->to[i] - r->from[i]) * t;
		r->from[i] = isfinite(now) ? now : 0.0f;
		r->to[i] = s->gain[i];
	}
	/* Each output's sources that are heard during or after this ramp: a
	 * room of 169 sources mixes two or three into each output. */
	for (k = 0; k < r->n_outputs; k++) {
		const size_t row = (size_t)k * (size_t)r->n_sources;
		int src, n = 0;
		for (src = 0; src < r->n_sources; src++)
			if (r->from[row + src] != 0.0f || r->to[row + src] != 0.0f)
				r->active[row + n++] = src;
		r->n_active[k] = n;
	}
	for (k = 0; k < r->n_mics; k++) {
		r->tone_targets[k] = s->bass_db[k];
		r->tone_targets[r->n_mics + k] = s->treble_db[k];
	}
	r->ramp_frames = frames < 1 ? 1 : frames;
	r->ramp_pos = 0;
	r->applied_generation = s->generation;
}

static float glide(float now, float target, float max_step)
{
	if (target > now + max_step)
		return now + max_step;
	if (target < now - max_step)
		return now - max_step;
	return target;
}

/* Bass and treble shelves, gliding to their targets in small blocks so
 * that a tone change never steps. Flat and settled costs nothing. */
static void run_tone(struct router *r, int phone, float *y, uint32_t n)
{
	struct tone_state *t = &r->tone[phone];
	const float bass_target = r->tone_target[phone];
	const float treble_target = r->tone_target[r->n_mics + phone];
	const float step = ROUTER_TONE_DB_PER_MS * ROUTER_TONE_BLOCK * 1000.0f / r->rate;
	uint32_t done = 0;

	if (t->bass_db == 0.0f && t->treble_db == 0.0f && bass_target == 0.0f && treble_target == 0.0f) {
		t->bass.z1 = t->bass.z2 = t->treble.z1 = t->treble.z2 = 0.0f;
		return;
	}
	while (done < n) {
		uint32_t len = n - done < ROUTER_TONE_BLOCK ? n - done : ROUTER_TONE_BLOCK;
		float bass = glide(t->bass_db, bass_target, step);
		float treble = glide(t->treble_db, treble_target, step);

		if (bass != t->bass_db)
			biquad_shelf(&t->bass, 0, bass, ROUTER_BASS_HZ, r->rate);
		if (treble != t->treble_db)
			biquad_shelf(&t->treble, 1, treble, ROUTER_TREBLE_HZ, r->rate);
		t->bass_db = bass;
		t->treble_db = treble;
		biquad_run(&t->bass, y + done, len);
		biquad_run(&t->treble, y + done, len);
		done += len;
	}
}

/* Peak and sum of squares of a block, in four lanes so that the additions
 * do not wait on each other. A NaN or Inf makes the sum non-finite. */
static float measure_block(const float *y, uint32_t n, float *peak_out)
{
	float p0 = 0, p1 = 0, p2 = 0, p3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
	uint32_t i = 0;

	/* Plain comparisons, not fmaxf: without -ffast-math that is a call. */
#define LANE(p, q, v) do { const float v_ = (v), a_ = fabsf(v_); q += v_ * v_; p = a_ > p ? a_ : p; } while (0)
	for (; i + 4 <= n; i += 4) {
		LANE(p0, q0, y[i]);
		LANE(p1, q1, y[i + 1]);
		LANE(p2, q2, y[i + 2]);
		LANE(p3, q3, y[i + 3]);
	}
	for (; i < n; i++)
		LANE(p0, q0, y[i]);
#undef LANE
	p0 = p1 > p0 ? p1 : p0;
	p2 = p3 > p2 ? p3 : p2;
	*peak_out = p2 > p0 ? p2 : p0;
	return (q0 + q1) + (q2 + q3);
}

/* What reaches the ear, A-weighted and summed: the three sections in one
 * pass, in registers, with nothing stored but the sum. */
static void weigh_exposure(struct exposure_feed *x, const float *y, uint32_t n)
{
	struct biquad *a = x->a;
	const float b00 = a[0].b0, b01 = a[0].b1, b02 = a[0].b2, a01 = a[0].a1, a02 = a[0].a2;
	const float b10 = a[1].b0, b11 = a[1].b1, b12 = a[1].b2, a11 = a[1].a1, a12 = a[1].a2;
	const float b20 = a[2].b0, b21 = a[2].b1, b22 = a[2].b2, a21 = a[2].a1, a22 = a[2].a2;
	float z01 = a[0].z1, z02 = a[0].z2, z11 = a[1].z1, z12 = a[1].z2, z21 = a[2].z1, z22 = a[2].z2;
	float sum = 0.0f;
	uint32_t i;

	for (i = 0; i < n; i++) {
		float v = y[i], o;
		o = b00 * v + z01;
		z01 = b01 * v - a01 * o + z02;
		z02 = b02 * v - a02 * o;
		v = o;
		o = b10 * v + z11;
		z11 = b11 * v - a11 * o + z12;
		z12 = b12 * v - a12 * o;
		v = o;
		o = b20 * v + z21;
		z21 = b21 * v - a21 * o + z22;
		z22 = b22 * v - a22 * o;
		sum += o * o;
	}
	if (!isfinite(sum) || !isfinite(z01 + z02 + z11 + z12 + z21 + z22)) {
		z01 = z02 = z11 = z12 = z21 = z22 = 0.0f; /* reset; the block counts nothing */
		sum = 0.0f;
	}
	a[0].z1 = fabsf(z01) < 1e-20f ? 0.0f : z01;
	a[0].z2 = fabsf(z02) < 1e-20f ? 0.0f : z02;
	a[1].z1 = fabsf(z11) < 1e-20f ? 0.0f : z11;
	a[1].z2 = fabsf(z12) < 1e-20f ? 0.0f : z12;
	a[2].z1 = fabsf(z21) < 1e-20f ? 0.0f : z21;
	a[2].z2 = fabsf(z22) < 1e-20f ? 0.0f : z22;
	x->total += sum;
}

static void mix_chunk(struct router *r, float *const *out, uint32_t offset, uint32_t n)
{
	const int n_sources = r->n_sources;
	const uint32_t ramp_frames = r->ramp_frames;
	const uint32_t pos = r->ramp_pos;
	/* Frames of this chunk still inside the ramp. */
	const uint32_t ramping = pos >= ramp_frames ? 0 : (ramp_frames - pos < n ? ramp_frames - pos : n);
	const float inv_ramp = 1.0f / (float)ramp_frames;
	uint32_t i;
	int o;

	for (o = 0; o < r->n_outputs; o++) {
		float *y = out[o] + offset;
		const float *from = r->from + (size_t)o * (size_t)n_sources;
		const float *to = r->to + (size_t)o * (size_t)n_sources;
		const int *active = r->active + (size_t)o * (size_t)n_sources;
		const int n_active = r->n_active[o];
		float peak, sumsq;
		int j;

		memset(y, 0, n * sizeof *y);
		for (j = 0; j < n_active; j++) {
			const int k = active[j];
			const float *x = r->src[k];
			const float g0 = from[k], g1 = to[k];

			if (ramping) {
				const float step = (g1 - g0) * inv_ramp;
				for (i = 0; i < ramping; i++)
					y[i] += x[i] * (g0 + step * (float)(pos + i + 1));
			}
			if (g1 != 0.0f)
				for (i = ramping; i < n; i++)
					y[i] += x[i] * g1;
		}
		if (o >= r->first_phones) {
			const int phone = o - r->first_phones;
			run_tone(r, phone, y, n);
			if (r->rack)
				rack_run(r->rack, rack_chain_index(r->rack, CHAIN_PHONES, phone), y, n);
			else
				for (i = 0; i < n; i++)
					y[i] = y[i] > ROUTER_PHONES_CEILING ? ROUTER_PHONES_CEILING
					     : y[i] < -ROUTER_PHONES_CEILING ? -ROUTER_PHONES_CEILING : y[i];
		} else if (r->rack) {
			rack_run(r->rack, rack_chain_index(r->rack, CHAIN_OUTPUT, o), y, n);
		}
		sumsq = measure_block(y, n, &peak);
		/* A NaN or Inf from a broken source must not reach a delegate's ear
		 * (nor poison the filters): silence the block and count it. */
		if (!isfinite(sumsq)) {
			memset(y, 0, n * sizeof *y);
			peak = 0.0f;
			sumsq = 0.0f;
			if (o >= r->first_phones) {
				struct tone_state *t = &r->tone[o - r->first_phones];
				biquad_reset(&t->bass);
				biquad_reset(&t->treble);
			}
			atomic_fetch_add_explicit(&r->nonfinite, 1, memory_order_relaxed);
		}
		r->acc_peak[o] = peak > r->acc_peak[o] ? peak : r->acc_peak[o];
		r->acc_sumsq[o] += sumsq;
		if (o >= r->first_phones)
			weigh_exposure(&r->exposure[o - r->first_phones], y, n);
	}
	r->ramp_pos = pos + ramping;
}

/* Inputs are metered as they come in: a mic's level, not its channel's. */
static void meter_inputs(struct router *r, const float *const *in, uint32_t offset, uint32_t n)
{
	int k, n_in = r->n_floor + r->n_mics;

	for (k = 0; k < n_in; k++) {
		float peak, sumsq = measure_block(in[k] + offset, n, &peak);
		if (isfinite(sumsq)) {
			if (peak > r->acc_peak[r->n_outputs + k])
				r->acc_peak[r->n_outputs + k] = peak;
			r->acc_sumsq[r->n_outputs + k] += sumsq;
		}
	}
}

/* A finished window: publish it, start the next. */
static void meter_window(struct router *r, uint32_t n)
{
	int m;

	r->acc_frames += n;
	if (r->acc_frames < r->window)
		return;
	for (m = 0; m < r->n_meters; m++) {
		float rms = sqrtf(r->acc_sumsq[m] / (float)r->acc_frames);
		atomic_store_explicit(&r->meter_peak[m], float_to_bits(r->acc_peak[m]), memory_order_relaxed);
		atomic_store_explicit(&r->meter_rms[m], float_to_bits(rms), memory_order_relaxed);
		r->acc_peak[m] = 0.0f;
		r->acc_sumsq[m] = 0.0f;
	}
	r->acc_frames = 0;
}

int router_adopt(struct router *r, const struct router *old, const int *out_map, const int *in_map)
{
	int o, k, n_in = r->n_floor + r->n_mics;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!r || !old || !out_map || !in_map)
		return -EINVAL;
	free(r->adopt_out);
	free(r->adopt_src);
	free(r->adopt_in);
	r->adopt_out = alloc_touched((size_t)r->n_outputs * sizeof *r->adopt_out);
	r->adopt_src = alloc_touched((size_t)r->n_sources * sizeof *r->adopt_src);
	r->adopt_in = alloc_touched((size_t)n_in * sizeof *r->adopt_in);
	if (!r->adopt_out || !r->adopt_src || !r->adopt_in)
		return -ENOMEM;
	memcpy(r->adopt_out, out_map, (size_t)r->n_outputs * sizeof *out_map);
	memcpy(r->adopt_in, in_map, (size_t)n_in * sizeof *in_map);
	r->adopt_src[SNAPSHOT_SRC_FLOOR] = SNAPSHOT_SRC_FLOOR;
	for (k = 0; k < r->n_mics; k++) {
		int was = in_map[r->n_floor + k] - old->n_floor; /* the old mic, if it was one */
		int ok = in_map[r->n_floor + k] >= old->n_floor && was < old->n_mics;
		r->adopt_src[1 + k] = ok ? 1 + was : -1;
		r->adopt_src[1 + r->n_mics + r->n_languages + k] = ok ? 1 + old->n_mics + old->n_languages + was : -1;
	}
	for (k = 0; k < r->n_languages; k++) {
		int was = out_map[1 + k] - 1;
		r->adopt_src[1 + r->n_mics + k] = was >= 0 && was < old->n_languages ? 1 + old->n_mics + was : -1;
	}
	for (o = 0; o < r->n_outputs; o++)
		if (r->adopt_out[o] >= old->n_outputs)
			r->adopt_out[o] = -1;
	r->adopt = old;
	return 0;
}

/* RT, first cycle after a reload: where the old router's gains are now
 * (mid-ramp or not) becomes where these start, for the same ports. */
static void take_over(struct router *r)
{
	const struct router *old = r->adopt;
	const float t = old->ramp_pos >= old->ramp_frames ? 1.0f : (float)old->ramp_pos / (float)old->ramp_frames;
	int o, s, k;

	for (o = 0; o < r->n_outputs; o++) {
		const int mo = r->adopt_out[o];
		float *from = r->from + (size_t)o * (size_t)r->n_sources;
		float *to = r->to + (size_t)o * (size_t)r->n_sources;
		for (s = 0; s < r->n_sources; s++) {
			const int ms = r->adopt_src[s];
			float g = 0.0f;
			if (mo >= 0 && ms >= 0) {
				const size_t i = (size_t)mo * (size_t)old->n_sources + (size_t)ms;
				g = t >= 1.0f ? old->to[i] : old->from[i] + (old->to[i] - old->from[i]) * t;
			}
			from[s] = to[s] = g;
		}
		if (mo >= 0) {
			atomic_store_explicit(&r->meter_peak[o], atomic_load_explicit(&old->meter_peak[mo], memory_order_relaxed),
					      memory_order_relaxed);
			atomic_store_explicit(&r->meter_rms[o], atomic_load_explicit(&old->meter_rms[mo], memory_order_relaxed),
					      memory_order_relaxed);
		}
		if (o >= r->first_phones && mo >= old->first_phones) {
			k = o - r->first_phones;
			r->tone[k] = old->tone[mo - old->first_phones];
			memcpy(r->exposure[k].a, old->exposure[mo - old->first_phones].a, sizeof r->exposure[k].a);
		}
	}
	for (k = 0; k < r->n_floor + r->n_mics; k++)
		if (r->adopt_in[k] >= 0 && r->adopt_in[k] < old->n_floor + old->n_mics) {
			const int m = old->n_outputs + r->adopt_in[k];
			atomic_store_explicit(&r->meter_peak[r->n_outputs + k],
					      atomic_load_explicit(&old->meter_peak[m], memory_order_relaxed), memory_order_relaxed);
			atomic_store_explicit(&r->meter_rms[r->n_outputs + k],
					      atomic_load_explicit(&old->meter_rms[m], memory_order_relaxed), memory_order_relaxed);
		}
	r->ramp_pos = r->ramp_frames;
	r->applied_generation = 0; /* retarget from here to the first snapshot */
	r->adopt = NULL;
}

void router_process(struct router *r, const struct snapshot *s, const float *const *in,
		    float *const *out, uint32_t frames)
{
	uint32_t done = 0, i;
	int k;

	ASSERT_THREAD(THREAD_RT);
	if (r->adopt)
		take_over(r);
	if (r->rack)
		rack_apply(r->rack);
	if (s && s->generation != r->applied_generation)
		retarget(r, s);
	while (done < frames) {
		uint32_t n = frames - done < ROUTER_CHUNK_MAX ? frames - done : ROUTER_CHUNK_MAX;
		float *bus = r->floor_bus;

		/* Sources for this chunk: the floor bus (the sum of the floor
		 * inputs), the mics, and the channels as they are mixed. */
		memcpy(bus, in[0] + done, n * sizeof *bus);
		for (k = 1; k < r->n_floor; k++) {
			const float *x = in[k] + done;
			for (i = 0; i < n; i++)
				bus[i] += x[i];
		}
		r->src[SNAPSHOT_SRC_FLOOR] = bus;
		for (k = 0; k < r->n_mics; k++) {
			const float *raw = in[r->n_floor + k] + done;
			r->src[1 + r->n_mics + r->n_languages + k] = raw; /* sidetone */
			if (r->rack) {
				float *m = r->mic_bufs + (size_t)k * ROUTER_CHUNK_MAX;
				memcpy(m, raw, n * sizeof *m);
				rack_run(r->rack, rack_chain_index(r->rack, CHAIN_MIC, k), m, n);
				r->src[1 + k] = m;
			} else {
				r->src[1 + k] = raw;
			}
		}
		if (r->rack)
			rack_align_floor(r->rack, bus, n);
		for (k = 0; k < r->n_languages; k++)
			r->src[1 + r->n_mics + k] = out[1 + k] + done;
		mix_chunk(r, out, done, n);
		meter_inputs(r, in, done, n);
		meter_window(r, n);
		done += n;
	}
	for (k = 0; k < r->n_mics; k++)
		atomic_store_explicit(&r->exposure[k].published, double_to_bits(r->exposure[k].total),
				      memory_order_relaxed);
	atomic_store_explicit(&r->frames_total,
			      atomic_load_explicit(&r->frames_total, memory_order_relaxed) + frames,
			      memory_order_release);
}

int router_attach_rack(struct router *r, struct insert_rack *rack)
{
	if (!r || !rack || !rack->prepared || rack->n_mics != r->n_mics || rack->n_outputs != 1 + r->n_languages ||
	    rack->max_frames < ROUTER_CHUNK_MAX)
		return -EINVAL;
	r->mic_bufs = alloc_touched((size_t)r->n_mics * ROUTER_CHUNK_MAX * sizeof *r->mic_bufs);
	if (!r->mic_bufs)
		return -ENOMEM;
	r->rack = rack;
	return 0;
}

uint64_t router_exposure(const struct router *r, double *totals)
{
	uint64_t frames = atomic_load_explicit((_Atomic uint64_t *)&r->frames_total, memory_order_acquire);
	int k;

	for (k = 0; k < r->n_mics; k++)
		totals[k] = bits_to_double(
			atomic_load_explicit((_Atomic uint64_t *)&r->exposure[k].published, memory_order_relaxed));
	return frames;
}

int router_memory(const struct router *r, struct memory_region *regions, int max)
{
	const size_t terms = (size_t)r->n_outputs * (size_t)r->n_sources;
	const struct memory_region all[] = {
		{ r->from, terms * sizeof *r->from },
		{ r->to, terms * sizeof *r->to },
		{ r->floor_bus, ROUTER_CHUNK_MAX * sizeof *r->floor_bus },
		{ (void *)r->src, (size_t)r->n_sources * sizeof *r->src },
		{ r->acc_peak, (size_t)r->n_meters * sizeof *r->acc_peak },
		{ r->acc_sumsq, (size_t)r->n_meters * sizeof *r->acc_sumsq },
		{ (void *)r->meter_peak, (size_t)r->n_meters * sizeof *r->meter_peak },
		{ (void *)r->meter_rms, (size_t)r->n_meters * sizeof *r->meter_rms },
		{ r->tone, (size_t)r->n_mics * sizeof *r->tone },
		{ r->tone_targets, 2 * (size_t)r->n_mics * sizeof *r->tone_targets },
		{ r->active, terms * sizeof *r->active },
		{ r->n_active, (size_t)r->n_outputs * sizeof *r->n_active },
		{ r->exposure, (size_t)r->n_mics * sizeof *r->exposure },
		{ r->mic_bufs, r->mic_bufs ? (size_t)r->n_mics * ROUTER_CHUNK_MAX * sizeof *r->mic_bufs : 0 },
	};
	int i, n = (int)(sizeof all / sizeof all[0]);

	for (i = 0; i < n && i < max; i++)
		regions[i] = all[i];
	return i;
}

static int read_meter(const struct router *r, int m, float *peak, float *rms)
{
	if (!r || m < 0 || m >= r->n_meters)
		return -EINVAL;
	*peak = bits_to_float(atomic_load_explicit(&r->meter_peak[m], memory_order_relaxed));
	*rms = bits_to_float(atomic_load_explicit(&r->meter_rms[m], memory_order_relaxed));
	return 0;
}

int router_output_meter(const struct router *r, int output, float *peak, float *rms)
{
	if (!r || output < 0 || output >= r->n_outputs)
		return -EINVAL;
	return read_meter(r, output, peak, rms);
}

int router_input_meter(const struct router *r, int input, float *peak, float *rms)
{
	if (!r || input < 0 || input >= r->n_floor + r->n_mics)
		return -EINVAL;
	return read_meter(r, r->n_outputs + input, peak, rms);
}
