/* Immutable routing snapshots and their hand-over to the realtime thread.
 *
 * A snapshot is a dense gain matrix: for every output, the gain of every
 * source. Sources are the floor bus (index SNAPSHOT_SRC_FLOOR, the sum of
 * the floor inputs), then each mic, then each language channel as mixed in
 * the same period (relay for the headphones: no added delay), then each
 * mic again as it comes in (sidetone, before any insert). Channels
 * never take a channel source, so mixing outputs in index order is enough.
 * Each headphone feed also has tone targets, and the snapshot says how long
 * the ramp to it takes. The control thread builds a new one
 * from the state, publishes it with one atomic pointer swap, and retires
 * the old one; the realtime thread picks up whatever is current at the
 * start of each cycle. A retired snapshot is freed only when the realtime
 * thread has finished a cycle that began after the swap, in the manner of
 * an RCU grace period, so the realtime side never waits and never frees. */
#ifndef TOLK_SNAPSHOT_H
#define TOLK_SNAPSHOT_H

#include <stdatomic.h>
#include <stdint.h>

#include "state.h"

#define SNAPSHOT_SRC_FLOOR 0
#define SNAPSHOT_RETIRED_MAX 64

struct snapshot {
	uint64_t generation; /* never reused, unlike addresses */
	int n_outputs;
	int n_sources;
	int n_phones;
	float ramp_ms;       /* how long the gains take to get here */
	float *gain;         /* [n_outputs][n_sources] */
	float *bass_db;      /* [n_phones] */
	float *treble_db;    /* [n_phones] */
};

static inline float snapshot_gain(const struct snapshot *s, int out, int src)
{
	return s->gain[(size_t)out * (size_t)s->n_sources + (size_t)src];
}

static inline int snapshot_src_mic(int mic)
{
	return 1 + mic;
}

static inline int snapshot_src_channel(const struct config *cfg, int lang)
{
	return 1 + cfg->n_mics + lang;
}

/* A mic as it comes in, before its inserts: for sidetone only. */
static inline int snapshot_src_sidetone(const struct config *cfg, int mic)
{
	return 1 + cfg->n_mics + cfg->n_languages + mic;
}

/* Build the routing the state calls for. Control thread. NULL on ENOMEM. */
struct snapshot *snapshot_build(const struct state *st);
void snapshot_free(struct snapshot *s);

struct snapshot_exchange {
	_Atomic(struct snapshot *) current;
	_Atomic uint64_t rt_cycles; /* realtime cycles completed */
	struct {
		struct snapshot *snap;
		uint64_t cycles_at_retire;
	} retired[SNAPSHOT_RETIRED_MAX];
	int n_retired;
};

void exchange_init(struct snapshot_exchange *x, struct snapshot *initial);

/* Realtime thread: bracket each cycle. The snapshot stays valid until
 * exchange_rt_end. */
struct snapshot *exchange_rt_begin(struct snapshot_exchange *x);
void exchange_rt_end(struct snapshot_exchange *x);

/* Control thread: make s current and retire the previous one. Returns 0,
 * or -EBUSY when too many retired snapshots are still waiting for the
 * realtime thread (it has stalled); s is then not published and stays the
 * caller's. */
int exchange_publish(struct snapshot_exchange *x, struct snapshot *s);

/* Control thread: free retired snapshots the realtime thread can no
 * longer see. With rt_stopped set (client deactivated or never active)
 * every retired snapshot is freed. Returns how many are still waiting. */
int exchange_collect(struct snapshot_exchange *x, int rt_stopped);

/* Free everything, current included. The realtime thread must be stopped. */
void exchange_destroy(struct snapshot_exchange *x);

#endif
