/* The Tolk insert ABI: a small C interface for mono, in-place DSP that the
 * engine runs on mic inputs, distribution outputs and headphone feeds.
 *
 * A plugin is a shared object exporting one function,
 *
 *     const struct tolk_plugin_descriptor *tolk_plugin_descriptor(void);
 *
 * and the host calls it from a non-realtime thread. The life of an
 * instance, and which thread may make each call:
 *
 *     instantiate(rate, max_frames)   host thread; allocates everything
 *     set_param(...)                  host thread before activate, then only
 *                                     the realtime thread, between runs
 *     latency(...)                    any thread, after instantiate
 *     activate(...)                   host thread, before the first run
 *     run(buf, frames)                realtime thread; frames <= max_frames
 *     monitor(...)                    any thread (the plugin uses atomics)
 *     deactivate(...), cleanup(...)   host thread, after the last run
 *
 * run() must not allocate, lock, sleep or do I/O, and its time must not
 * depend on the signal beyond a small constant. A parameter that changes
 * is ramped inside run(), never stepped: the host sends the new value and
 * the plugin glides to it, so that turning a knob never clicks. latency()
 * is constant from activate() on; the host delays every other path to
 * match it, and a bypassed insert stays that late.
 *
 * latency, monitor and deactivate may be NULL: no latency, no monitors,
 * nothing to do. The others are required. */
#ifndef TOLK_PLUGIN_H
#define TOLK_PLUGIN_H

#include <stdint.h>

#define TOLK_PLUGIN_ABI_VERSION 1
#define TOLK_PLUGIN_ENTRY "tolk_plugin_descriptor"

struct tolk_plugin_param {
	const char *name; /* [a-z0-9_]+, as written in channels.yaml */
	float min, max, def;
	const char *unit; /* "Hz", "dB", "ms", "LUFS", "dB SPL", ... or "" */
};

struct tolk_plugin_descriptor {
	uint32_t abi_version; /* TOLK_PLUGIN_ABI_VERSION */
	const char *name;     /* the file is <name>.so */
	const char *summary;  /* one line for `tolkctl inserts` */
	const struct tolk_plugin_param *params;
	uint32_t n_params;
	/* Read-only figures the plugin publishes (gain reduction, state...),
	 * readable from any thread through monitor(). */
	const struct tolk_plugin_param *monitors;
	uint32_t n_monitors;

	void *(*instantiate)(double rate, uint32_t max_frames); /* NULL on failure */
	uint32_t (*latency)(const void *instance);              /* frames */
	void (*activate)(void *instance);
	void (*set_param)(void *instance, uint32_t index, float value);
	void (*run)(void *instance, float *buf, uint32_t frames);
	float (*monitor)(const void *instance, uint32_t index);
	void (*deactivate)(void *instance);
	void (*cleanup)(void *instance);
};

typedef const struct tolk_plugin_descriptor *(*tolk_plugin_entry_fn)(void);

const struct tolk_plugin_descriptor *tolk_plugin_descriptor(void);

#endif
