/* Small helpers every built-in plugin uses: parameter bookkeeping and
 * monitors published as float bits in atomics, readable from any thread. */
#ifndef TOLK_PLUGIN_UTIL_H
#define TOLK_PLUGIN_UTIL_H

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../dsp/level.h"
#include "../engine/core/touched_alloc.h"
#include "../engine/plugin.h"

#define TOLK_EXPORT __attribute__((visibility("default")))

/* calloc for instantiate, with every page written: run must never be the
 * first to touch a page (calloc leaves fresh pages untouched, and the host
 * locks memory only once touched; see engine/core/touched_alloc.h). */
static inline void *plugin_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	touch_pages(p, (n ? n : 1) * size);
	return p;
}

static inline float clampf(float v, float lo, float hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* A parameter as the host set it, clamped to the descriptor's range. */
static inline float param_clamp(const struct tolk_plugin_descriptor *d, uint32_t index, float v)
{
	const struct tolk_plugin_param *p = &d->params[index];
	return isfinite(v) ? clampf(v, p->min, p->max) : p->def;
}

static inline void param_defaults(const struct tolk_plugin_descriptor *d, float *values)
{
	uint32_t i;
	for (i = 0; i < d->n_params; i++)
		values[i] = d->params[i].def;
}

static inline void monitor_store(_Atomic uint32_t *slot, float v)
{
	uint32_t b;
	memcpy(&b, &v, sizeof b);
	atomic_store_explicit(slot, b, memory_order_relaxed);
}

static inline float monitor_load(const _Atomic uint32_t *slot)
{
	uint32_t b = atomic_load_explicit((_Atomic uint32_t *)slot, memory_order_relaxed);
	float v;
	memcpy(&v, &b, sizeof v);
	return v;
}

/* The one symbol a plugin exports. */
#define TOLK_PLUGIN_EXPORT(descriptor)                                              \
	TOLK_EXPORT const struct tolk_plugin_descriptor *tolk_plugin_descriptor(void) \
	{                                                                             \
		return &(descriptor);                                                 \
	}

/* monitor() for a plugin whose instance keeps its monitors in mon[]. */
#define TOLK_PLUGIN_MONITORS(type, count)                                         \
	static float monitor(const void *instance, uint32_t index)               \
	{                                                                         \
		const type *p = instance;                                         \
		return index < (count) ? monitor_load(&p->mon[index]) : 0.0f;    \
	}

#endif
