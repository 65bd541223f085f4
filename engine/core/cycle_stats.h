/* How long the realtime thread's cycles take: a histogram with 16 steps
 * per octave (about 4 % wide) from 1 ns to 17 s of wall-clock time, filled
 * by the realtime thread with relaxed atomic increments and read by anyone
 * as p50, p99 and max; beside it the cycle's CPU time (the thread's own
 * clock). An overrun is a cycle whose CPU time passed its period: a cycle
 * preempted by another process, or by the machine under it, takes longer
 * by the wall clock without being tolk's fault, and is counted apart.
 * One writer. */
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
	_Atomic uint64_t overruns;      /* cycles whose CPU time passed their period */
	_Atomic uint64_t wall_overruns; /* cycles past their period by the wall clock */
	_Atomic uint64_t max_cpu_ns;
	_Atomic uint64_t sum_ns;        /* every cycle's wall time: a summary's _sum */
};

void cycle_stats_init(struct cycle_stats *c);
/* Before the first cycle: the sample rate, so that a cycle longer than its
 * own period (frames / rate) counts as an overrun: the realtime thread's
 * own share of an xrun. */
void cycle_stats_set_rate(struct cycle_stats *c, uint32_t rate);

/* Realtime thread: one cycle of `frames` took wall_ns by the wall clock,
 * cpu_ns of the thread's CPU time. */
void cycle_stats_add(struct cycle_stats *c, uint64_t wall_ns, uint64_t cpu_ns, uint32_t frames);

struct cycle_summary {
	uint64_t cycles;
	double p50_ns, p99_ns, max_ns; /* bucket upper edges, max exact */
	uint32_t frames;
	uint64_t overruns, wall_overruns;
	double max_cpu_ns;
	double sum_ns;
};

/* Any thread. */
void cycle_stats_read(const struct cycle_stats *c, struct cycle_summary *s);

#endif
