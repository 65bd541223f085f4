/* Gate for a booth mic: breathing, page turns and a colleague's cough
 * between sentences stay off the channel. It opens when the level passes
 * threshold_db, closes only when the level has stayed below threshold_db -
 * hysteresis_db for hold_ms (so it does not chatter on a decaying word),
 * and moves its gain in dB at the attack and release rates, down to
 * range_db rather than to nothing, which sounds more natural. */
#include <stdlib.h>

#include "plugin_util.h"

enum { P_THRESHOLD, P_HYSTERESIS, P_HOLD, P_ATTACK, P_RELEASE, P_RANGE, N_PARAMS };
enum { M_OPEN, M_GAIN, N_MONITORS };

static const struct tolk_plugin_param params[N_PARAMS] = {
	{ "threshold_db", -90, 0, -55, "dBFS" },
	{ "hysteresis_db", 0, 20, 6, "dB" },
	{ "hold_ms", 0, 5000, 250, "ms" },
	{ "attack_ms", 0.1f, 100, 2, "ms" },
	{ "release_ms", 5, 5000, 150, "ms" },
	{ "range_db", -90, 0, -40, "dB" },
};

static const struct tolk_plugin_param monitors[N_MONITORS] = {
	{ "open", 0, 1, 0, "" },
	{ "gain_db", -90, 0, -40, "dB" },
};

#define DETECTOR_RELEASE_MS 10.0 /* the envelope follows a word's decay */

struct gate {
	double rate;
	float p[N_PARAMS];
	float env, env_k;
	float gain_db;
	uint32_t below, hold;
	int open;
	_Atomic uint32_t mon[N_MONITORS];
};

static const struct tolk_plugin_descriptor descriptor;

static void *instantiate(double rate, uint32_t max_frames)
{
	struct gate *g;

	if (rate < 8000 || max_frames == 0)
		return NULL;
	g = plugin_calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->rate = rate;
	param_defaults(&descriptor, g->p);
	return g;
}

static void activate(void *instance)
{
	struct gate *g = instance;

	g->env = 0.0f;
	g->env_k = (float)exp(-1.0 / (DETECTOR_RELEASE_MS / 1000.0 * g->rate));
	g->open = 0;
	g->gain_db = g->p[P_RANGE];
	g->below = UINT32_MAX;
	monitor_store(&g->mon[M_OPEN], 0.0f);
	monitor_store(&g->mon[M_GAIN], g->gain_db);
}

static void set_param(void *instance, uint32_t index, float value)
{
	struct gate *g = instance;

	if (index < N_PARAMS)
		g->p[index] = param_clamp(&descriptor, index, value);
}

static void run(void *instance, float *buf, uint32_t frames)
{
	struct gate *g = instance;
	const float open_at = db_to_gain(g->p[P_THRESHOLD]);
	const float close_at = db_to_gain(g->p[P_THRESHOLD] - g->p[P_HYSTERESIS]);
	const uint32_t hold = (uint32_t)(g->p[P_HOLD] * g->rate / 1000.0);
	const float range = g->p[P_RANGE];
	/* dB per frame: the whole range in attack_ms or release_ms. */
	const float up = -range / (float)(g->p[P_ATTACK] * g->rate / 1000.0);
	const float down = -range / (float)(g->p[P_RELEASE] * g->rate / 1000.0);
	float env = g->env, gain_db = g->gain_db, gain = db_to_gain(gain_db);
	const float env_k = g->env_k;
	uint32_t below = g->below, i;
	int open = g->open;

	if (!isfinite(env))
		env = 0.0f;
	for (i = 0; i < frames; i++) {
		float a = fabsf(buf[i]), target;

		env = a > env ? a : env * env_k;
		if (env >= open_at) {
			open = 1;
			below = 0;
		} else if (env < close_at) {
			if (below < UINT32_MAX)
				below++;
			if (open && below > hold)
				open = 0;
		}
		target = open ? 0.0f : range;
		if (gain_db != target) {
			gain_db = gain_db < target ? fminf(gain_db + up, target) : fmaxf(gain_db - down, target);
			gain = db_to_gain(gain_db);
		}
		buf[i] *= gain;
	}
	if (env < 1e-20f || !isfinite(env))
		env = 0.0f;
	g->env = env;
	g->gain_db = gain_db;
	g->below = below;
	g->open = open;
	monitor_store(&g->mon[M_OPEN], (float)open);
	monitor_store(&g->mon[M_GAIN], gain_db);
}

TOLK_PLUGIN_MONITORS(struct gate, N_MONITORS)

static void cleanup(void *instance)
{
	free(instance);
}

static const struct tolk_plugin_descriptor descriptor = {
	.abi_version = TOLK_PLUGIN_ABI_VERSION,
	.name = "gate",
	.summary = "noise gate with hysteresis and hold for booth mics",
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
