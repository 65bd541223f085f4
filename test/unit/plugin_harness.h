/* For a built-in plugin's unit test: the one descriptor linked in, and
 * offline rendering helpers. */
#ifndef TOLK_PLUGIN_HARNESS_H
#define TOLK_PLUGIN_HARNESS_H

#include "helpers.h"

#include <math.h>
#include <stdlib.h>

#include "../../plugins/plugin_util.h"

#define RATE 48000.0
#define MAXF 1024

static const struct tolk_plugin_descriptor *D;

static inline int param_index(const char *name)
{
	uint32_t i;
	for (i = 0; i < D->n_params; i++)
		if (!strcmp(D->params[i].name, name))
			return (int)i;
	fail_msg("no parameter %s", name);
	return -1;
}

static inline void set(void *p, const char *name, float v)
{
	D->set_param(p, (uint32_t)param_index(name), v);
}

static inline float mon(void *p, const char *name)
{
	uint32_t i;
	for (i = 0; i < D->n_monitors; i++)
		if (!strcmp(D->monitors[i].name, name))
			return D->monitor(p, i);
	fail_msg("no monitor %s", name);
	return 0;
}

/* Run n frames of buf in place, in blocks of `block`. */
static inline void render(void *p, float *buf, size_t n, uint32_t block)
{
	size_t done = 0;
	while (done < n) {
		uint32_t k = n - done < block ? (uint32_t)(n - done) : block;
		D->run(p, buf + done, k);
		done += k;
	}
}

static inline void sine(float *x, size_t n, double amp, double f)
{
	size_t i;
	for (i = 0; i < n; i++)
		x[i] = (float)(amp * sin(2 * M_PI * f * (double)i / RATE));
}

static inline double rms_dbfs(const float *x, size_t n)
{
	double sum = 0;
	size_t i;
	for (i = 0; i < n; i++)
		sum += (double)x[i] * x[i];
	return 10 * log10(sum / (double)n + 1e-30);
}

static inline float max_step(const float *x, size_t n)
{
	float worst = 0;
	size_t i;
	for (i = 1; i < n; i++)
		worst = fmaxf(worst, fabsf(x[i] - x[i - 1]));
	return worst;
}

#endif
