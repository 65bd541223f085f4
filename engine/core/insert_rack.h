/* The inserts: every plugin instance the realtime thread runs, arranged in
 * chains. A chain belongs to one mic (before mixing), one distribution
 * output (out_floor and each language, after mixing) or one headphone feed
 * (after the tone controls; the hearing limiter is its last insert).
 *
 * Latency: every chain of a kind is padded with a delay to the slowest of
 * its kind, and the floor bus is delayed like the mics, so that channels
 * stay sample-aligned with each other and a switch between the floor and
 * an interpreter does not jump in time. Headphone feeds are not padded:
 * an interpreter gets the shortest path there is.
 *
 * Changes reach the realtime thread as fixed-size messages in a one-reader,
 * one-writer ring: the control thread sends, the realtime thread applies
 * them at the start of a cycle, and each plugin ramps to its new value.
 * Bypass crossfades over RACK_BYPASS_MS to the input delayed by the
 * insert's latency, so bypassing changes neither the level nor the time. */
#ifndef TOLK_INSERT_RACK_H
#define TOLK_INSERT_RACK_H

#include <stdint.h>

#include "../plugin.h"
#include "ring.h"

#define RACK_BYPASS_MS 5.0
#define RACK_QUEUE_MESSAGES 256
#define RACK_PARAM_BYPASS UINT32_MAX

struct delay_line {
	float *buf;
	uint32_t len, pos;
};

/* In place: x comes out len frames late. */
void delay_line_run(struct delay_line *d, float *x, uint32_t n);

struct insert {
	const struct tolk_plugin_descriptor *desc;
	void *instance;
	char name[64];         /* how commands address it, unique in its chain */
	char plugin[192];      /* what it is: a built-in's name, or the LV2 URI */
	int mandatory;         /* the hearing limiter: no bypass, no changes */
	/* Parameters as the control thread knows them (from the descriptor
	 * or, for LV2, from the plugin's control ports). */
	const struct tolk_plugin_param *params;
	uint32_t n_params;
	float *values;         /* [n_params], current; control thread */
	int bypassed;          /* control thread's view */
	/* Realtime side. */
	uint32_t latency;
	float wet, wet_target; /* 1 processed, 0 bypassed */
	struct delay_line dry;
	int donated;           /* instance and dry line now belong to a newer rack */
};

struct insert_chain {
	int first, count;  /* a range of the rack's inserts */
	uint32_t latency;  /* of its inserts */
	struct delay_line align;
	int align_donated;
};

enum chain_kind { CHAIN_MIC = 0, CHAIN_OUTPUT, CHAIN_PHONES };

struct insert_rack {
	int n_mics, n_outputs;          /* chains: mics, then outputs, then phones */
	struct insert *inserts;
	int n_inserts, cap;
	struct insert_chain *chains;
	int n_chains;
	uint32_t mic_latency, output_latency; /* what each kind is padded to */
	struct delay_line floor_align;
	float rate;
	uint32_t max_frames;
	float *scratch;                 /* [max_frames] */
	struct ring queue;
	int prepared;
	uint32_t dropped_messages;      /* control side: queue full */
	int floor_donated;
	/* A reload: on its first cycle RT takes over the running state (delay
	 * positions, bypass fades) of the chains rack_adopt_chain moved here. */
	const struct insert_rack *adopt;
	int *adopt_insert;              /* [n_inserts]: the old insert, or -1 */
	int *adopt_chain;               /* [n_chains]: the old chain whose align line this took, or -1 */
};

/* Control thread. n_outputs counts out_floor and the languages. */
int rack_init(struct insert_rack *k, int n_mics, int n_outputs, float rate, uint32_t max_frames);

int rack_chain_index(const struct insert_rack *k, enum chain_kind kind, int index);
enum chain_kind rack_chain_kind(const struct insert_rack *k, int chain, int *index);

/* Append an instantiated, activated plugin to a chain. Chains must be
 * filled in order. name is how commands address it: when the chain has
 * it already, "-2", "-3", ... makes it unique there. plugin says what it
 * is. On success the rack owns the instance (cleanup on rack_free) and
 * has copied params and values; on failure the instance stays the
 * caller's. Returns the insert's index, or -EINVAL, -ENOMEM. */
int rack_add(struct insert_rack *k, int chain, const struct tolk_plugin_descriptor *desc, void *instance,
	     const char *name, const char *plugin, const struct tolk_plugin_param *params, uint32_t n_params,
	     const float *values, int mandatory);

/* After the last rack_add: latencies, padding, delay lines, all memory
 * touched. Returns 0 or -ENOMEM. */
int rack_prepare(struct insert_rack *k);

/* Control thread, after rack_prepare of k and while old still runs: the
 * chain takes over the old chain's plugin instances (with all their
 * state), delay lines and parameter values, so that its audio goes on
 * sample for sample; k's own fresh instances for it are cleaned up. The
 * chains must hold the same plugins with the same latencies, else nothing
 * changes and -EINVAL is returned. rack_adopt_floor does the same for the
 * floor's alignment delay. old must stay alive until k has run a cycle,
 * and rack_free(old) then leaves alone what it gave away. */
int rack_adopt_chain(struct insert_rack *k, int chain, struct insert_rack *old, int old_chain);
void rack_adopt_floor(struct insert_rack *k, struct insert_rack *old);

/* Deactivate and clean up every instance. The realtime thread must have
 * stopped. */
void rack_free(struct insert_rack *k);

/* Control thread: queue a parameter value (or RACK_PARAM_BYPASS with 1 or
 * 0) for an insert, and remember it. Returns 0, -EINVAL, or -EAGAIN when
 * the queue is full (nothing changed). */
int rack_send(struct insert_rack *k, int insert, uint32_t param, float value);

/* Realtime thread: apply the queued messages, at the start of a cycle. */
void rack_apply(struct insert_rack *k);

/* Realtime thread: run a chain in place (its inserts, then its padding). */
void rack_run(struct insert_rack *k, int chain, float *buf, uint32_t n);

/* Realtime thread: delay the floor bus like the mics. */
void rack_align_floor(struct insert_rack *k, float *buf, uint32_t n);

/* The latency a chain adds, padding included. */
uint32_t rack_chain_delay(const struct insert_rack *k, int chain);

/* The rack's own long-lived memory (not the plugins'), region by region,
 * so that a shell can lock it in RAM. Stops at the first nonzero return. */
int rack_each_memory(const struct insert_rack *k, int (*fn)(void *addr, size_t len, void *user), void *user);

/* Any thread: a monitor of an insert (0 when it has none). */
float rack_monitor(const struct insert_rack *k, int insert, const char *name);

/* Any thread: a monitor of a chain's last insert, which on a phones chain
 * is the hearing limiter. */
float rack_last_monitor(const struct insert_rack *k, int chain, const char *name);

/* Free a parameter table whose names and units were strdup'ed. */
void plugin_params_free(struct tolk_plugin_param *params, uint32_t n);

#endif
