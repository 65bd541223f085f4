/* High-pass: a 2nd-order Butterworth for rumble, handling noise and
 * air-conditioning under a booth mic or the floor. A change of corner
 * glides (an octave in 50 ms) and the coefficients follow in 16-frame
 * blocks, so turning it never clicks. */
#include <stdlib.h>

#include "../dsp/biquad.h"
#include "plugin_util.h"

enum { P_HZ, N_PARAMS };

static const struct tolk_plugin_param params[N_PARAMS] = {
	{ "hz", 20, 500, 80, "Hz" },
};

#define BLOCK 16
#define OCTAVES_PER_MS (1.0 / 50.0)

struct highpass {
	double rate;
	float target_hz, hz;
	struct biquad q;
};

static const struct tolk_plugin_descriptor descriptor;

static void *instantiate(double rate, uint32_t max_frames)
{
	struct highpass *h;

	if (rate < 8000 || max_frames == 0)
		return NULL;
	h = plugin_calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->rate = rate;
	h->target_hz = h->hz = params[P_HZ].def;
	return h;
}

static void activate(void *instance)
{
	struct highpass *h = instance;

	h->hz = h->target_hz;
	biquad_highpass(&h->q, h->hz, M_SQRT1_2, h->rate);
	biquad_reset(&h->q);
}

static void set_param(void *instance, uint32_t index, float value)
{
	struct highpass *h = instance;

	if (index == P_HZ)
		h->target_hz = param_clamp(&descriptor, index, value);
}

static void run(void *instance, float *buf, uint32_t frames)
{
	struct highpass *h = instance;
	const float step = (float)pow(2.0, OCTAVES_PER_MS * BLOCK * 1000.0 / h->rate);
	uint32_t done = 0;

	/* Settled: one pass over the whole buffer. */
	if (h->hz == h->target_hz) {
		biquad_run(&h->q, buf, frames);
		return;
	}
	while (done < frames) {
		uint32_t n = frames - done < BLOCK ? frames - done : BLOCK;

		if (h->hz != h->target_hz) {
			h->hz = h->hz < h->target_hz ? fminf(h->hz * step, h->target_hz)
						     : fmaxf(h->hz / step, h->target_hz);
			biquad_highpass(&h->q, h->hz, M_SQRT1_2, h->rate);
		}
		biquad_run(&h->q, buf + done, n);
		done += n;
	}
}

static void cleanup(void *instance)
{
	free(instance);
}

static const struct tolk_plugin_descriptor descriptor = {
	.abi_version = TOLK_PLUGIN_ABI_VERSION,
	.name = "highpass",
	.summary = "2nd-order Butterworth high-pass against rumble",
	.params = params,
	.n_params = N_PARAMS,
	.instantiate = instantiate,
	.activate = activate,
	.set_param = set_param,
	.run = run,
	.cleanup = cleanup,
};

TOLK_PLUGIN_EXPORT(descriptor)
