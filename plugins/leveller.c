/* Loudness leveller for a distribution channel: brings each language to
 * the same loudness (target_lufs), so that a delegate switching channels
 * does not reach for the volume, which is ISO 20109's level consistency.
 * The measurement is libebur128's short-term loudness (3 s), read twice
 * a second; the gain then moves slowly (rate_db_s) towards target
 * minus measured, within max_boost_db and max_cut_db. Below gate_lufs (a
 * pause, the booth between sentences, measured over the last 400 ms) the
 * gain holds still rather than pumping the noise up. */
#include <ebur128.h>
#include <stdlib.h>

#include "plugin_util.h"

enum { P_TARGET, P_MAX_BOOST, P_MAX_CUT, P_RATE, P_GATE, N_PARAMS };
enum { M_GAIN, M_LOUDNESS, N_MONITORS };

static const struct tolk_plugin_param params[N_PARAMS] = {
	{ "target_lufs", -40, -10, -23, "LUFS" },
	{ "max_boost_db", 0, 20, 9, "dB" },
	{ "max_cut_db", 0, 20, 12, "dB" },
	{ "rate_db_s", 0.1f, 10, 1, "dB/s" },
	{ "gate_lufs", -70, -20, -45, "LUFS" },
};

static const struct tolk_plugin_param monitors[N_MONITORS] = {
	{ "gain_db", -20, 20, 0, "dB" },
	{ "loudness_lufs", -200, 20, -200, "LUFS" },
};

#define MEASURE_HZ 2 /* each reading sums 3 s of audio: twice a second is plenty at 1 dB/s */
#define BLOCK 32 /* frames between gain steps */
#define STEADY_DB 4.0

struct leveller {
	double rate;
	float p[N_PARAMS];
	ebur128_state *meter;
	uint32_t since_measure, measure_every;
	float gain_db, want_db, gain;
	_Atomic uint32_t mon[N_MONITORS];
};

static const struct tolk_plugin_descriptor descriptor;

static void *instantiate(double rate, uint32_t max_frames)
{
	struct leveller *l;

	if (rate < 8000 || max_frames == 0)
		return NULL;
	l = plugin_calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->rate = rate;
	param_defaults(&descriptor, l->p);
	/* Short-term only: with neither integrated nor LRA mode, libebur128
	 * keeps no growing history, so adding frames never allocates. */
	l->meter = ebur128_init(1, (unsigned long)rate, EBUR128_MODE_S);
	if (!l->meter) {
		free(l);
		return NULL;
	}
	l->measure_every = (uint32_t)(rate / MEASURE_HZ);
	return l;
}

static void activate(void *instance)
{
	static const float silence[1024];
	struct leveller *l = instance;
	uint32_t fed;

	/* The meter's 3 s history is large enough to be fresh zero pages: fill
	 * it now, so that the realtime thread does not take the first-touch
	 * faults. Silence measures as nothing, and nothing holds the gain. */
	for (fed = 0; fed < (uint32_t)(l->rate * 3.5); fed += 1024)
		ebur128_add_frames_float(l->meter, silence, 1024);

	l->gain_db = l->want_db = 0.0f;
	l->gain = 1.0f;
	l->since_measure = 0;
	monitor_store(&l->mon[M_GAIN], 0.0f);
	monitor_store(&l->mon[M_LOUDNESS], -200.0f);
}

static void set_param(void *instance, uint32_t index, float value)
{
	struct leveller *l = instance;

	if (index < N_PARAMS)
		l->p[index] = param_clamp(&descriptor, index, value);
}

static void measure(struct leveller *l)
{
	double lufs, now;

	if (ebur128_loudness_shortterm(l->meter, &lufs) != EBUR128_SUCCESS || !isfinite(lufs))
		lufs = -200.0;
	if (ebur128_loudness_momentary(l->meter, &now) != EBUR128_SUCCESS || !isfinite(now))
		now = -200.0;
	monitor_store(&l->mon[M_LOUDNESS], (float)lufs);
	/* Only while someone speaks now (momentary, 400 ms): after the last
	 * word the 3 s measure decays for seconds, and following it down
	 * would swell the gain into the pause; nor while the last 400 ms and
	 * the last 3 s disagree, which is that decay beginning, or speech
	 * starting after a pause that the 3 s measure still holds. */
	if (lufs > l->p[P_GATE] && now > l->p[P_GATE] && fabs(now - lufs) < STEADY_DB)
		l->want_db = clampf(l->p[P_TARGET] - (float)lufs, -l->p[P_MAX_CUT], l->p[P_MAX_BOOST]);
}

static void run(void *instance, float *buf, uint32_t frames)
{
	struct leveller *l = instance;
	const float step = l->p[P_RATE] * BLOCK / (float)l->rate;
	uint32_t done = 0, i;

	/* The meter hears the input: the gain is feed-forward, so it cannot
	 * chase its own output. A NaN must not poison the meter's filters. */
	for (i = 0; i < frames; i++)
		if (!isfinite(buf[i]))
			buf[i] = 0.0f;
	ebur128_add_frames_float(l->meter, buf, frames);
	l->since_measure += frames;
	if (l->since_measure >= l->measure_every) {
		l->since_measure = 0;
		measure(l);
	}
	/* Clamp again: a lowered max_boost_db or max_cut_db takes effect by
	 * gliding, like any other change. */
	l->want_db = clampf(l->want_db, -l->p[P_MAX_CUT], l->p[P_MAX_BOOST]);
	while (done < frames) {
		uint32_t n = frames - done < BLOCK ? frames - done : BLOCK;
		float from = l->gain, to, inc;

		if (l->gain_db != l->want_db)
			l->gain_db = l->gain_db < l->want_db ? fminf(l->gain_db + step, l->want_db)
							     : fmaxf(l->gain_db - step, l->want_db);
		to = db_to_gain(l->gain_db);
		inc = (to - from) / (float)n;
		for (i = 0; i < n; i++)
			buf[done + i] *= from + inc * (float)(i + 1);
		l->gain = to;
		done += n;
	}
	monitor_store(&l->mon[M_GAIN], l->gain_db);
}

TOLK_PLUGIN_MONITORS(struct leveller, N_MONITORS)

static void cleanup(void *instance)
{
	struct leveller *l = instance;

	if (!l)
		return;
	ebur128_destroy(&l->meter);
	free(l);
}

static const struct tolk_plugin_descriptor descriptor = {
	.abi_version = TOLK_PLUGIN_ABI_VERSION,
	.name = "leveller",
	.summary = "slow loudness leveller towards a LUFS target (libebur128)",
	.params = params,
	.n_params = N_PARAMS,
	.monitors = monitors,
	.n_monitors = N_MONITORS,
	.instantiate = instantiate,
	.activate = activate,
	.set_param = set_param,
	.run = run,
	.monitor = monitor,
	.cleanup = cleanup,
};

TOLK_PLUGIN_EXPORT(descriptor)
