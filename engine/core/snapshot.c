#include "snapshot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../dsp/level.h"
#include "thread_role.h"
#include "touched_alloc.h"

struct snapshot *snapshot_build(const struct state *st)
{
	const struct config *cfg = st->cfg;
	struct snapshot *s;
	int lang, b, n;

	ASSERT_THREAD(THREAD_CONTROL);
	s = alloc_touched(sizeof *s);
	if (!s)
		return NULL;
	s->generation = st->generation;
	s->ramp_ms = (float)st->ramp_ms;
	s->n_outputs = config_output_count(cfg);
	s->n_sources = 1 + 2 * cfg->n_mics + cfg->n_languages;
	s->n_phones = cfg->n_mics;
	s->gain = alloc_touched((size_t)s->n_outputs * (size_t)s->n_sources * sizeof *s->gain);
	s->bass_db = alloc_touched((size_t)s->n_phones * sizeof *s->bass_db);
	s->treble_db = alloc_touched((size_t)s->n_phones * sizeof *s->treble_db);
	if (!s->gain || !s->bass_db || !s->treble_db) {
		snapshot_free(s);
		return NULL;
	}
#define GAIN(out, src) s->gain[(size_t)(out) * (size_t)s->n_sources + (size_t)(src)]
	GAIN(0, SNAPSHOT_SRC_FLOOR) = 1.0f;
	for (lang = 0; lang < cfg->n_languages; lang++) {
		const struct channel_view *ch = &st->channels[lang];
		int out = config_output_of_language(cfg, lang);

		if (ch->booth >= 0) {
			/* A cough silences the channel: it does not fall back to the floor. */
			if (!ch->muted)
				GAIN(out, snapshot_src_mic(cfg->booths[ch->booth].first_mic + ch->console - 1)) = 1.0f;
		} else if (cfg->languages[lang].idle == IDLE_FLOOR) {
			GAIN(out, SNAPSHOT_SRC_FLOOR) = 1.0f;
		} else if (cfg->languages[lang].idle == IDLE_DUCK) {
			GAIN(out, SNAPSHOT_SRC_FLOOR) = db_to_gain(cfg->languages[lang].duck_db);
		}
	}
	for (b = 0; b < cfg->n_booths; b++)
		for (n = 1; n <= cfg->booths[b].consoles; n++) {
			const struct console_state *c = &st->booths[b].consoles[n - 1];
			int mic = cfg->booths[b].first_mic + n - 1;
			int out = config_output_of_phones(cfg, mic);
			int hears = st->consoles[mic].hears;
			float volume = db_to_gain(c->volume_db);

			if (hears == STATE_HEARS_FLOOR)
				GAIN(out, SNAPSHOT_SRC_FLOOR) = volume;
			else
				GAIN(out, snapshot_src_channel(cfg, hears)) = volume;
			/* Sidetone: the interpreter's own voice, in the same period. */
			if (cfg->sidetone && st->booths[b].live == n && !c->mute)
				GAIN(out, snapshot_src_sidetone(cfg, mic)) = volume * db_to_gain(cfg->sidetone_db);
			s->bass_db[mic] = (float)c->bass_db;
			s->treble_db[mic] = (float)c->treble_db;
		}
#undef GAIN
	return s;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	free(s->gain);
	free(s->bass_db);
	free(s->treble_db);
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
