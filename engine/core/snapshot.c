#include "snapshot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "thread_role.h"

struct snapshot *snapshot_build(const struct state *st)
{
	const struct config *cfg = st->cfg;
	struct snapshot *s;
	int lang, mic;
	float duck = (float)pow(10.0, TOLK_DUCK_DB / 20.0);

	ASSERT_THREAD(THREAD_CONTROL);
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->generation = st->generation;
	s->n_outputs = config_output_count(cfg);
	s->n_sources = 1 + cfg->n_mics;
	/* malloc + memset rather than calloc: the realtime thread reads every
	 * gain, and must not be the first to touch a page. */
	s->gain = malloc((size_t)s->n_outputs * (size_t)s->n_sources * sizeof *s->gain);
	if (!s->gain) {
		free(s);
		return NULL;
	}
	memset(s->gain, 0, (size_t)s->n_outputs * (size_t)s->n_sources * sizeof *s->gain);
#define GAIN(out, src) s->gain[(size_t)(out) * (size_t)s->n_sources + (size_t)(src)]
	GAIN(0, SNAPSHOT_SRC_FLOOR) = 1.0f;
	for (lang = 0; lang < cfg->n_languages; lang++) {
		int out = config_output_of_language(cfg, lang);
		struct channel_feed feed;

		state_channel_feed(st, lang, &feed);
		if (feed.booth >= 0) {
			mic = cfg->booths[feed.booth].first_mic + feed.console - 1;
			GAIN(out, snapshot_src_mic(mic)) = 1.0f;
		} else if (feed.idle == IDLE_FLOOR) {
			GAIN(out, SNAPSHOT_SRC_FLOOR) = 1.0f;
		} else if (feed.idle == IDLE_DUCK) {
			GAIN(out, SNAPSHOT_SRC_FLOOR) = duck;
		}
	}
	/* Headphones hear the floor; relay and sidetone come with the console rules. */
	for (mic = 0; mic < cfg->n_mics; mic++)
		GAIN(config_output_of_phones(cfg, mic), SNAPSHOT_SRC_FLOOR) = 1.0f;
#undef GAIN
	return s;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	free(s->gain);
	free(s);
}

void exchange_init(struct snapshot_exchange *x, struct snapshot *initial)
{
	atomic_init(&x->current, initial);
	atomic_init(&x->rt_cycles, 0);
	x->n_retired = 0;
}

struct snapshot *exchange_rt_begin(struct snapshot_exchange *x)
{
	ASSERT_THREAD(THREAD_RT);
	return atomic_load_explicit(&x->current, memory_order_seq_cst);
}

void exchange_rt_end(struct snapshot_exchange *x)
{
	ASSERT_THREAD(THREAD_RT);
	atomic_fetch_add_explicit(&x->rt_cycles, 1, memory_order_seq_cst);
}

int exchange_publish(struct snapshot_exchange *x, struct snapshot *s)
{
	struct snapshot *old;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!x || !s)
		return -EINVAL;
	if (x->n_retired == SNAPSHOT_RETIRED_MAX && exchange_collect(x, 0) == SNAPSHOT_RETIRED_MAX)
		return -EBUSY;
	old = atomic_exchange_explicit(&x->current, s, memory_order_seq_cst);
	/* A cycle that loaded `old` was running at the swap at the latest, so it
	 * has not yet been counted in the value read now (seq_cst orders the
	 * swap before this load). Once the counter moves past it, that cycle is
	 * over, and every later cycle loads the new pointer. */
	x->retired[x->n_retired].snap = old;
	x->retired[x->n_retired].cycles_at_retire =
		atomic_load_explicit(&x->rt_cycles, memory_order_seq_cst);
	x->n_retired++;
	return 0;
}

int exchange_collect(struct snapshot_exchange *x, int rt_stopped)
{
	uint64_t now = atomic_load_explicit(&x->rt_cycles, memory_order_seq_cst);
	int i, kept = 0;

	ASSERT_THREAD(THREAD_CONTROL);
	for (i = 0; i < x->n_retired; i++) {
		if (rt_stopped || now > x->retired[i].cycles_at_retire)
			snapshot_free(x->retired[i].snap);
		else
			x->retired[kept++] = x->retired[i];
	}
	x->n_retired = kept;
	return kept;
}

void exchange_destroy(struct snapshot_exchange *x)
{
	exchange_collect(x, 1);
	snapshot_free(atomic_exchange(&x->current, NULL));
}
