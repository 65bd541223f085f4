#include "cycle_stats.h"

#include <string.h>

void cycle_stats_init(struct cycle_stats *c)
{
	int i;

	for (i = 0; i < CYCLE_STATS_BUCKETS; i++)
		atomic_init(&c->bucket[i], 0);
	atomic_init(&c->cycles, 0);
	atomic_init(&c->max_ns, 0);
	atomic_init(&c->frames, 0);
	atomic_init(&c->overruns, 0);
	atomic_init(&c->wall_overruns, 0);
	atomic_init(&c->max_cpu_ns, 0);
	atomic_init(&c->sum_ns, 0);
	c->rate = 0;
}

void cycle_stats_set_rate(struct cycle_stats *c, uint32_t rate)
{
	c->rate = rate;
}

static int bucket_of(uint64_t ns)
{
	int msb, i;

	if (ns < CYCLE_STATS_STEPS)
		return (int)ns;
	msb = 63 - __builtin_clzll(ns);
	i = msb * CYCLE_STATS_STEPS + (int)((ns >> (msb - 4)) & (CYCLE_STATS_STEPS - 1));
	return i < CYCLE_STATS_BUCKETS ? i : CYCLE_STATS_BUCKETS - 1;
}

/* The largest ns that falls in bucket i. */
static double bucket_top(int i)
{
	int msb = i / CYCLE_STATS_STEPS, frac = i % CYCLE_STATS_STEPS;

	if (msb < 4)
		return i;
	return (double)((uint64_t)(CYCLE_STATS_STEPS + frac + 1) << (msb - 4)) - 1.0;
}

static void store_max(_Atomic uint64_t *max, uint64_t v)
{
	if (v > atomic_load_explicit(max, memory_order_relaxed))
		atomic_store_explicit(max, v, memory_order_relaxed);
}

void cycle_stats_add(struct cycle_stats *c, uint64_t wall_ns, uint64_t cpu_ns, uint32_t frames)
{
	const uint64_t period = (uint64_t)frames * 1000000000ull;

	atomic_fetch_add_explicit(&c->bucket[bucket_of(wall_ns)], 1, memory_order_relaxed);
	store_max(&c->max_ns, wall_ns);
	atomic_fetch_add_explicit(&c->sum_ns, wall_ns, memory_order_relaxed);
	store_max(&c->max_cpu_ns, cpu_ns);
	atomic_store_explicit(&c->frames, frames, memory_order_relaxed);
	if (c->rate && cpu_ns * c->rate > period)
		atomic_fetch_add_explicit(&c->overruns, 1, memory_order_relaxed);
	if (c->rate && wall_ns * c->rate > period)
		atomic_fetch_add_explicit(&c->wall_overruns, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->cycles, 1, memory_order_release);
}

void cycle_stats_read(const struct cycle_stats *c, struct cycle_summary *s)
{
	uint64_t seen = 0, total = 0;
	uint32_t counts[CYCLE_STATS_BUCKETS];
	int i;

	memset(s, 0, sizeof *s);
	s->overruns = atomic_load_explicit((_Atomic uint64_t *)&c->overruns, memory_order_relaxed);
	s->wall_overruns = atomic_load_explicit((_Atomic uint64_t *)&c->wall_overruns, memory_order_relaxed);
	s->max_cpu_ns = (double)atomic_load_explicit((_Atomic uint64_t *)&c->max_cpu_ns, memory_order_relaxed);
	s->sum_ns = (double)atomic_load_explicit((_Atomic uint64_t *)&c->sum_ns, memory_order_relaxed);
	for (i = 0; i < CYCLE_STATS_BUCKETS; i++) {
		counts[i] = atomic_load_explicit((_Atomic uint32_t *)&c->bucket[i], memory_order_relaxed);
		total += counts[i];
	}
	s->cycles = total;
	s->max_ns = (double)atomic_load_explicit((_Atomic uint64_t *)&c->max_ns, memory_order_relaxed);
	s->frames = atomic_load_explicit((_Atomic uint32_t *)&c->frames, memory_order_relaxed);
	for (i = 0; i < CYCLE_STATS_BUCKETS && total; i++) {
		seen += counts[i];
		if (!s->p50_ns && seen * 2 >= total)
			s->p50_ns = bucket_top(i);
		if (seen * 100 >= total * 99) {
			s->p99_ns = bucket_top(i);
			break;
		}
	}
	if (s->p99_ns > s->max_ns)
		s->p99_ns = s->max_ns;
	if (s->p50_ns > s->max_ns)
		s->p50_ns = s->max_ns;
}
