#include "state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int state_init(struct state *st, const struct config *cfg)
{
	if (!st || !cfg)
		return -EINVAL;
	memset(st, 0, sizeof *st);
	st->booths = calloc(cfg->n_booths ? (size_t)cfg->n_booths : 1, sizeof *st->booths);
	if (!st->booths)
		return -ENOMEM;
	st->cfg = cfg;
	strcpy(st->floor_language, cfg->floor_language);
	st->generation = 1;
	return 0;
}

void state_free(struct state *st)
{
	if (!st)
		return;
	free(st->booths);
	st->booths = NULL;
}

static int valid_console(const struct state *st, int b, int n)
{
	return b >= 0 && b < st->cfg->n_booths && n >= 1 && n <= st->cfg->booths[b].consoles;
}

int state_set_mic(struct state *st, int b, int n, int on, int *previous)
{
	struct booth_state *bs;

	if (!st || !valid_console(st, b, n))
		return -EINVAL;
	bs = &st->booths[b];
	if (previous)
		*previous = 0;
	if (on) {
		if (bs->live == n)
			return 1;
		if (previous)
			*previous = bs->live;
		bs->live = n;
	} else {
		if (bs->live != n)
			return 1;
		bs->live = 0;
	}
	st->generation++;
	return 0;
}

int state_mic_on(const struct state *st, int b, int n)
{
	return valid_console(st, b, n) && st->booths[b].live == n;
}

void state_channel_feed(const struct state *st, int lang, struct channel_feed *feed)
{
	const struct config *cfg = st->cfg;
	int b;

	feed->booth = -1;
	feed->console = 0;
	feed->idle = cfg->languages[lang].idle;
	/* Config order decides when two booths speak into one channel; the
	 * rules for that belong to the booth-interlock work. */
	for (b = 0; b < cfg->n_booths; b++) {
		const struct booth_state *bs = &st->booths[b];
		if (bs->live && cfg->booths[b].outputs[bs->output] == lang) {
			feed->booth = b;
			feed->console = bs->live;
			return;
		}
	}
}
