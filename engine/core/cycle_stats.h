/* How long the realtime thread's cycles take: a histogram with 16 steps
 * per octave (about 4 % wide) from 1 ns to 17 s, filled by the realtime
 * thread with relaxed atomic increments and read by anyone as p50, p99 and
 * max. One writer. */
#ifndef TOLK_CYCLE_STATS_H
#define TOLK_CYCLE_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#define CYCLE_STATS_STEPS 16 /* per octave */
#define CYCLE_STATS_BUCKETS (34 * CYCLE_STATS_STEPS)

struct cycle_stats {
	_Atomic uint32_t bucket[CYCLE_STATS_BUCKETS];
	_Atomic uint64_t cycles;
	_Atomic uint64_t max_ns;
	_Atomic uint32_t frames; /* of the last cycle */
	uint32_t rate;           /* set before the cycles start; 0: no deadline known */
	_Atomic uint64_t overruns; /* cycles that took longer than their period */
};

void cycle_stats_init(struct cycle_stats *c);
/* Before the first cycle: the sample rate, so that a cycle longer than its
 * own period (frames / rate) counts as an overrun: the realtime thread's
 * own share of an xrun. */
void cycle_stats_set_rate(struct cycle_stats *c, uint32_t rate);

/* Realtime thread: one cycle of `frames` took ns. */
void cycle_stats_add(struct cycle_stats *c, uint64_t ns, uint32_t frames);

struct cycle_summary {
	uint64_t cycles;
	double p50_ns, p99_ns, max_ns; /* bucket upper edges, max exact */
	uint32_t frames;
	uint64_t overruns;
};

/* Any thread. */
void cycle_stats_read(const struct cycle_stats *c, struct cycle_summary *s);

#endif
