#include "state.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void update_views(struct state *st);

int state_init(struct state *st, const struct config *cfg)
{
	size_t nb;
	int b, n;

	if (!st || !cfg)
		return -EINVAL;
	memset(st, 0, sizeof *st);
	nb = cfg->n_booths ? (size_t)cfg->n_booths : 1;
	st->booths = calloc(nb, sizeof *st->booths);
	st->undo = calloc(nb, sizeof *st->undo);
	st->consoles = calloc(cfg->n_mics ? (size_t)cfg->n_mics : 1, sizeof *st->consoles);
	st->channels = calloc((size_t)cfg->n_languages, sizeof *st->channels);
	st->live_since_ms = calloc(cfg->n_mics ? (size_t)cfg->n_mics : 1, sizeof *st->live_since_ms);
	st->cough_until_ms = calloc(cfg->n_mics ? (size_t)cfg->n_mics : 1, sizeof *st->cough_until_ms);
	if (!st->booths || !st->undo || !st->consoles || !st->channels || !st->live_since_ms || !st->cough_until_ms) {
		state_free(st);
		return -ENOMEM;
	}
	for (b = 0; b < cfg->n_booths; b++)
		for (n = 0; n < TOLK_MAX_CONSOLES; n++)
			st->booths[b].consoles[n].listen = LISTEN_FLOOR;
	st->cfg = cfg;
	strcpy(st->floor_language, cfg->floor_language);
	st->generation = 1;
	st->ramp_ms = STATE_RAMP_MS;
	update_views(st);
	return 0;
}

void state_free(struct state *st)
{
	if (!st)
		return;
	free(st->booths);
	free(st->undo);
	free(st->consoles);
	free(st->channels);
	free(st->live_since_ms);
	free(st->cough_until_ms);
	st->live_since_ms = st->cough_until_ms = NULL;
	st->booths = st->undo = NULL;
	st->consoles = NULL;
	st->channels = NULL;
}

/* ---- helpers -------------------------------------------------------- */

static int refuse(struct state_report *rep, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct state_report *rep, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->reason, sizeof rep->reason, fmt, ap);
	va_end(ap);
	return err;
}

static void note(struct state_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct state_report *rep, const char *fmt, ...)
{
	va_list ap;
	if (rep->n_notes == STATE_NOTES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(rep->notes[rep->n_notes++], sizeof rep->notes[0], fmt, ap);
	va_end(ap);
}

static void report_reset(struct state_report *rep)
{
	memset(rep, 0, sizeof *rep);
	rep->bumped_booth = -1;
}

static int valid_console(const struct state *st, int b, int n)
{
	return st && b >= 0 && b < st->cfg->n_booths && n >= 1 && n <= st->cfg->booths[b].consoles;
}

static struct console_state *console_of(struct state *st, int b, int n)
{
	return &st->booths[b].consoles[n - 1];
}

const struct console_state *state_console(const struct state *st, int b, int n)
{
	return valid_console(st, b, n) ? &st->booths[b].consoles[n - 1] : NULL;
}

int state_mic_index(const struct state *st, int b, int n)
{
	return valid_console(st, b, n) ? st->cfg->booths[b].first_mic + n - 1 : -EINVAL;
}

int state_mic_on(const struct state *st, int b, int n)
{
	return valid_console(st, b, n) && st->booths[b].live == n;
}

/* The language a console speaks into when live. */
static int console_channel(const struct state *st, int b, int n)
{
	return st->cfg->booths[b].outputs[st->booths[b].consoles[n - 1].output];
}

static const char *lang_code(const struct state *st, int lang)
{
	return st->cfg->languages[lang].code;
}

static const char *booth_id(const struct state *st, int b)
{
	return st->cfg->booths[b].id;
}

/* Another booth live on channel lang, or -1. */
static int booth_live_on(const struct state *st, int lang, int except)
{
	int b;
	for (b = 0; b < st->cfg->n_booths; b++)
		if (b != except && st->booths[b].live && console_channel(st, b, st->booths[b].live) == lang)
			return b;
	return -1;
}

static int understands(const struct state *st, int b, const char *code)
{
	const struct cfg_booth *booth = &st->cfg->booths[b];
	int i;
	for (i = 0; i < booth->n_understands; i++)
		if (!strcmp(booth->understands[i], code))
			return 1;
	return 0;
}

int state_knows_language(const struct state *st, const char *code)
{
	int b;
	if (config_find_language(st->cfg, code) >= 0)
		return 1;
	for (b = 0; b < st->cfg->n_booths; b++)
		if (understands(st, b, code))
			return 1;
	return 0;
}

const char *relay_quality_name(enum relay_quality q)
{
	switch (q) {
	case QUALITY_FLOOR: return "floor";
	case QUALITY_PLUS: return "+";
	case QUALITY_MINUS: return "-";
	default: return NULL;
	}
}

/* ---- views ---------------------------------------------------------- */

/* A console takes the floor first-hand: it listens to the floor, or is on
 * auto and understands the floor language (or it is its A language). This is
 * what makes its channel a pivot. A fallback to the floor for want of a pivot
 * does not count. */
static int hears_floor_first_hand(const struct state *st, int b, int n)
{
	const struct console_state *c = &st->booths[b].consoles[n - 1];
	const char *a_lang = lang_code(st, st->cfg->booths[b].outputs[0]);

	if (c->listen == LISTEN_FLOOR)
		return 1;
	return c->listen == LISTEN_AUTO &&
	       (understands(st, b, st->floor_language) || !strcmp(a_lang, st->floor_language));
}

static void resolve_console(const struct state *st, int b, int n, struct console_view *v)
{
	const struct console_state *c = &st->booths[b].consoles[n - 1];
	const struct cfg_booth *booth = &st->cfg->booths[b];
	int i;

	v->hears = STATE_HEARS_FLOOR;
	v->no_pivot = 0;
	if (c->listen == LISTEN_RELAY) {
		v->hears = c->listen_lang;
		return;
	}
	if (hears_floor_first_hand(st, b, n))
		return;
	/* Auto-relay: the first understood language whose channel is live and
	 * taken from the floor, never a channel this booth feeds. */
	for (i = 0; i < booth->n_understands; i++) {
		int lang = config_find_language(st->cfg, booth->understands[i]), y;
		if (lang < 0)
			continue;
		y = booth_live_on(st, lang, b);
		if (y < 0)
			continue;
		if (hears_floor_first_hand(st, y, st->booths[y].live)) {
			v->hears = lang;
			return;
		}
	}
	v->no_pivot = 1;
}

static void update_views(struct state *st)
{
	const struct config *cfg = st->cfg;
	int b, n, lang;

	for (b = 0; b < cfg->n_booths; b++)
		for (n = 1; n <= cfg->booths[b].consoles; n++)
			resolve_console(st, b, n, &st->consoles[cfg->booths[b].first_mic + n - 1]);
	for (lang = 0; lang < cfg->n_languages; lang++) {
		struct channel_view *ch = &st->channels[lang];
		int y = booth_live_on(st, lang, -1);

		memset(ch, 0, sizeof *ch);
		ch->booth = y;
		ch->source = STATE_HEARS_FLOOR;
		if (y < 0)
			continue;
		ch->console = st->booths[y].live;
		ch->muted = st->booths[y].consoles[ch->console - 1].mute;
		ch->source = st->consoles[cfg->booths[y].first_mic + ch->console - 1].hears;
	}
	/* Quality needs every channel's source first. */
	for (lang = 0; lang < cfg->n_languages; lang++) {
		struct channel_view *ch = &st->channels[lang];
		const struct channel_view *from;

		if (ch->booth < 0)
			ch->quality = QUALITY_NONE;
		else if (ch->source == STATE_HEARS_FLOOR)
			ch->quality = QUALITY_FLOOR;
		else {
			from = &st->channels[ch->source];
			/* An idle channel carrying the floor is the floor at one remove. */
			ch->quality = from->quality == QUALITY_FLOOR ||
						      (from->booth < 0 && cfg->languages[ch->source].idle != IDLE_SILENCE)
					      ? QUALITY_PLUS
					      : QUALITY_MINUS;
		}
	}
}

/* Does relay from channel lang lead back, through the interpreters feeding
 * it and what they hear, to booth b? */
static int relay_reaches(const struct state *st, int lang, int b)
{
	int steps;

	for (steps = 0; steps <= st->cfg->n_languages; steps++) {
		const struct channel_view *ch = &st->channels[lang];
		if (ch->booth < 0)
			return 0;
		if (ch->booth == b)
			return 1;
		if (ch->source == STATE_HEARS_FLOOR)
			return 0;
		lang = ch->source;
	}
	return 1; /* a loop that does not pass through b is a cycle all the same */
}

/* Snapshot the booths before a change, so that a refusal found half-way
 * leaves nothing behind. */
static void begin(struct state *st, struct state_report *rep)
{
	report_reset(rep);
	memcpy(st->undo, st->booths, (size_t)st->cfg->n_booths * sizeof *st->booths);
}

static int rollback(struct state *st, int err)
{
	memcpy(st->booths, st->undo, (size_t)st->cfg->n_booths * sizeof *st->booths);
	update_views(st);
	return err;
}

static int commit(struct state *st, double ramp_ms)
{
	st->generation++;
	st->ramp_ms = ramp_ms;
	update_views(st);
	return 0;
}

/* A console is about to speak into lang (it goes live, or a live console
 * changes output). Applies the channel rule: refuse when engaged, or take
 * the channel over. Then the retour rule. */
static int claim_channel(struct state *st, int b, int n, int lang, struct state_report *rep)
{
	int y = booth_live_on(st, lang, b);
	const struct cfg_booth *booth = &st->cfg->booths[b];

	if (y >= 0) {
		if (st->cfg->languages[lang].channel_mode == CHANNEL_INTERLOCK)
			return refuse(rep, -EBUSY, "engaged by %s: %s/%d is live on channel %s",
				      booth_id(st, y), booth_id(st, y), st->booths[y].live, lang_code(st, lang));
		rep->bumped_booth = y;
		rep->bumped_console = st->booths[y].live;
		note(rep, "mic %s/%d off: channel %s taken over by %s/%d", booth_id(st, y),
		     st->booths[y].live, lang_code(st, lang), booth->id, n);
		st->booths[y].consoles[st->booths[y].live - 1].mute = 0;
		st->booths[y].live = 0;
	}
	/* Retour: a booth working into its B or C language means the floor
	 * speaks its A language. */
	if (st->booths[b].consoles[n - 1].output > 0 && !st->floor_language_pinned &&
	    strcmp(st->floor_language, lang_code(st, booth->outputs[0]))) {
		strcpy(st->floor_language, lang_code(st, booth->outputs[0]));
		note(rep, "floor language %s (retour by %s)", st->floor_language, booth->id);
	}
	return 0;
}

/* ---- mutations ------------------------------------------------------ */

int state_set_mic(struct state *st, int b, int n, int on, struct state_report *rep)
{
	struct booth_state *bs;
	int ret;

	if (!valid_console(st, b, n) || !rep)
		return -EINVAL;
	begin(st, rep);
	bs = &st->booths[b];
	if (!on) {
		if (bs->live != n)
			return 1;
		bs->live = 0;
		console_of(st, b, n)->mute = 0;
		note(rep, "mic %s/%d off", booth_id(st, b), n);
		return commit(st, STATE_RAMP_MS);
	}
	if (bs->live == n)
		return 1;
	if (bs->live && st->cfg->booths[b].booth_mode == BOOTH_INTERLOCK)
		return refuse(rep, -EBUSY, "interlock: %s/%d is live", booth_id(st, b), bs->live);
	/* The request's own note first; what follows from it after. */
	rep->taken_over = bs->live;
	if (rep->taken_over)
		note(rep, "mic %s/%d on, taking over from %s/%d (now off)", booth_id(st, b), n,
		     booth_id(st, b), rep->taken_over);
	else
		note(rep, "mic %s/%d on", booth_id(st, b), n);
	ret = claim_channel(st, b, n, console_channel(st, b, n), rep);
	if (ret < 0) {
		rep->n_notes = 0;
		rep->taken_over = 0;
		return rollback(st, ret);
	}
	if (bs->live)
		console_of(st, b, bs->live)->mute = 0;
	bs->live = n;
	return commit(st, STATE_RAMP_MS);
}

int state_set_output(struct state *st, int b, int n, int output, struct state_report *rep)
{
	struct console_state *c;
	int ret;

	if (!valid_console(st, b, n) || !rep)
		return -EINVAL;
	begin(st, rep);
	if (output < 0 || output >= st->cfg->booths[b].n_outputs)
		return refuse(rep, -EINVAL, "booth %s has no %c output", booth_id(st, b), 'A' + output);
	c = console_of(st, b, n);
	if (c->output == output)
		return 1;
	c->output = output;
	note(rep, "output %s/%d %c (%s)", booth_id(st, b), n, 'A' + output,
	     lang_code(st, console_channel(st, b, n)));
	if (st->booths[b].live == n) {
		ret = claim_channel(st, b, n, console_channel(st, b, n), rep);
		if (ret < 0)
			return rollback(st, ret);
	}
	return commit(st, STATE_RAMP_MS);
}

int state_set_mute(struct state *st, int b, int n, int on, struct state_report *rep)
{
	struct console_state *c;

	if (!valid_console(st, b, n) || !rep)
		return -EINVAL;
	begin(st, rep);
	c = console_of(st, b, n);
	if (c->mute == !!on)
		return 1;
	c->mute = !!on;
	note(rep, "mute %s/%d %s", booth_id(st, b), n, on ? "on" : "off");
	return commit(st, STATE_RAMP_MS);
}

int state_handover(struct state *st, int b, int from, int to, struct state_report *rep)
{
	struct console_state *cf, *ct;

	if (!valid_console(st, b, from) || !valid_console(st, b, to) || !rep)
		return -EINVAL;
	begin(st, rep);
	if (from == to)
		return refuse(rep, -EINVAL, "handover: %s/%d to itself", booth_id(st, b), from);
	if (st->booths[b].live != from)
		return refuse(rep, -EINVAL, "handover: %s/%d is not live", booth_id(st, b), from);
	cf = console_of(st, b, from);
	ct = console_of(st, b, to);
	/* The colleague carries on on the same channel, and unmuted. */
	ct->output = cf->output;
	ct->mute = 0;
	cf->mute = 0;
	st->booths[b].live = to;
	note(rep, "handover %s/%d -> %s/%d on %s", booth_id(st, b), from, booth_id(st, b), to,
	     lang_code(st, console_channel(st, b, to)));
	return commit(st, STATE_HANDOVER_RAMP_MS);
}

int state_set_listen(struct state *st, int b, int n, enum listen_kind kind, int lang,
		     struct state_report *rep)
{
	struct console_state *c;

	if (!valid_console(st, b, n) || !rep)
		return -EINVAL;
	begin(st, rep);
	c = console_of(st, b, n);
	if (kind == LISTEN_RELAY) {
		if (lang < 0 || lang >= st->cfg->n_languages)
			return refuse(rep, -EINVAL, "no such language");
		if (relay_reaches(st, lang, b))
			return refuse(rep, -EINVAL, "relay cycle: channel %s is fed, through relay, by "
				      "booth %s", lang_code(st, lang), booth_id(st, b));
	}
	if (c->listen == kind && (kind != LISTEN_RELAY || c->listen_lang == lang))
		return 1;
	c->listen = kind;
	c->listen_lang = kind == LISTEN_RELAY ? lang : 0;
	note(rep, "listen %s/%d %s", booth_id(st, b), n,
	     kind == LISTEN_FLOOR ? "floor" : kind == LISTEN_AUTO ? "auto" : lang_code(st, lang));
	commit(st, STATE_RAMP_MS);
	/* A relay choice must not close a loop anywhere else either: a console
	 * whose relay now leads back to its own booth. */
	for (b = 0; b < st->cfg->n_booths; b++)
		for (n = 1; n <= st->cfg->booths[b].consoles; n++) {
			const struct console_state *o = &st->booths[b].consoles[n - 1];
			if (o->listen == LISTEN_RELAY && relay_reaches(st, o->listen_lang, b)) {
				st->generation--;
				rep->n_notes = 0;
				refuse(rep, -EINVAL, "relay cycle: %s/%d hears %s, which this would feed "
				       "from %s", booth_id(st, b), n, lang_code(st, o->listen_lang),
				       booth_id(st, b));
				return rollback(st, -EINVAL);
			}
		}
	return 0;
}

int state_set_volume(struct state *st, int b, int n, double db, struct state_report *rep)
{
	struct console_state *c;

	if (!valid_console(st, b, n) || !rep)
		return -EINVAL;
	begin(st, rep);
	if (!(db >= TOLK_GAIN_DB_MIN && db <= 0.0))
		return refuse(rep, -EINVAL, "volume must be between %g and 0 dB", TOLK_GAIN_DB_MIN);
	c = console_of(st, b, n);
	if (c->volume_db == db)
		return 1;
	c->volume_db = db;
	note(rep, "volume %s/%d %g dB", booth_id(st, b), n, db);
	return commit(st, STATE_RAMP_MS);
}

int state_set_tone(struct state *st, int b, int n, double bass_db, double treble_db,
		   struct state_report *rep)
{
	struct console_state *c;

	if (!valid_console(st, b, n) || !rep)
		return -EINVAL;
	begin(st, rep);
	if (!(bass_db >= -STATE_TONE_DB_MAX && bass_db <= STATE_TONE_DB_MAX) ||
	    !(treble_db >= -STATE_TONE_DB_MAX && treble_db <= STATE_TONE_DB_MAX))
		return refuse(rep, -EINVAL, "tone must be between -%g and %g dB", STATE_TONE_DB_MAX,
			      STATE_TONE_DB_MAX);
	c = console_of(st, b, n);
	if (c->bass_db == bass_db && c->treble_db == treble_db)
		return 1;
	c->bass_db = bass_db;
	c->treble_db = treble_db;
	note(rep, "tone %s/%d bass %g dB treble %g dB", booth_id(st, b), n, bass_db, treble_db);
	return commit(st, STATE_RAMP_MS);
}

int state_set_floor_language(struct state *st, const char *code, int pin, struct state_report *rep)
{
	if (!st || !code || !rep)
		return -EINVAL;
	begin(st, rep);
	if (!state_knows_language(st, code))
		return refuse(rep, -EINVAL, "unknown language '%.32s'", code);
	if (!strcmp(st->floor_language, code) && st->floor_language_pinned == !!pin)
		return 1;
	strcpy(st->floor_language, code);
	st->floor_language_pinned = !!pin;
	note(rep, "floor language %s%s", code, pin ? " (pinned)" : "");
	return commit(st, STATE_RAMP_MS);
}

/* ---- a new configuration ------------------------------------------------ */

int state_adopt(struct state *st, const struct state *old, struct state_report *rep)
{
	const struct config *cfg, *was;
	int b, n, ob, loops;

	if (!st || !old || !rep || !st->cfg || !old->cfg)
		return -EINVAL;
	cfg = st->cfg;
	was = old->cfg;
	report_reset(rep);
	if (config_find_language(cfg, old->floor_language) >= 0 || state_knows_language(st, old->floor_language)) {
		strcpy(st->floor_language, old->floor_language);
		st->floor_language_pinned = old->floor_language_pinned;
	}
	for (b = 0; b < cfg->n_booths; b++) {
		const struct cfg_booth *nb = &cfg->booths[b];
		if ((ob = config_find_booth(was, nb->id)) < 0)
			continue;
		for (n = 1; n <= nb->consoles && n <= was->booths[ob].consoles; n++) {
			const struct console_state *oc = &old->booths[ob].consoles[n - 1];
			struct console_state *c = &st->booths[b].consoles[n - 1];
			const char *out_code = was->languages[was->booths[ob].outputs[oc->output]].code;
			int k;

			*c = *oc;
			/* Outputs and relay follow their language, wherever it now is. */
			c->output = 0;
			for (k = 0; k < nb->n_outputs; k++)
				if (!strcmp(cfg->languages[nb->outputs[k]].code, out_code))
					c->output = k;
			if (oc->listen == LISTEN_RELAY) {
				c->listen_lang = config_find_language(cfg, was->languages[oc->listen_lang].code);
				if (c->listen_lang < 0) {
					note(rep, "listen %s/%d floor: channel %s is gone", nb->id, n,
					     was->languages[oc->listen_lang].code);
					c->listen = LISTEN_FLOOR;
					c->listen_lang = 0;
				}
			}
			if (old->booths[ob].live == n) {
				if (strcmp(cfg->languages[nb->outputs[c->output]].code, out_code))
					note(rep, "mic %s/%d off: its channel %s is no longer one of the booth's outputs",
					     nb->id, n, out_code);
				else if (booth_live_on(st, nb->outputs[c->output], b) >= 0)
					note(rep, "mic %s/%d off: channel %s is taken", nb->id, n, out_code);
				else
					st->booths[b].live = n;
			}
			/* The shift and a held cough go on with the console. */
			st->live_since_ms[cfg->booths[b].first_mic + n - 1] =
				st->booths[b].live == n ? old->live_since_ms[was->booths[ob].first_mic + n - 1] : 0;
			st->cough_until_ms[cfg->booths[b].first_mic + n - 1] =
				old->cough_until_ms[was->booths[ob].first_mic + n - 1];
		}
		if (old->booths[ob].live > nb->consoles)
			note(rep, "mic %s/%d off: the console is gone", nb->id, old->booths[ob].live);
	}
	for (ob = 0; ob < was->n_booths; ob++)
		if (old->booths[ob].live && config_find_booth(cfg, was->booths[ob].id) < 0)
			note(rep, "mic %s/%d off: the booth is gone", was->booths[ob].id, old->booths[ob].live);
	st->generation = old->generation + 1;
	st->ramp_ms = STATE_RAMP_MS;
	update_views(st);
	/* A changed booth may close a relay loop: that console hears the floor. */
	for (loops = 0; loops <= cfg->n_mics; loops++) {
		int found = 0;
		for (b = 0; b < cfg->n_booths && !found; b++)
			for (n = 1; n <= cfg->booths[b].consoles && !found; n++) {
				struct console_state *c = &st->booths[b].consoles[n - 1];
				if (c->listen == LISTEN_RELAY && relay_reaches(st, c->listen_lang, b)) {
					note(rep, "listen %s/%d floor: relay from %s would now be a cycle",
					     cfg->booths[b].id, n, lang_code(st, c->listen_lang));
					c->listen = LISTEN_FLOOR;
					c->listen_lang = 0;
					update_views(st);
					found = 1;
				}
			}
		if (!found)
			break;
	}
	return 0;
}

void state_track_shifts(struct state *st, int64_t now_ms)
{
	const struct config *cfg = st->cfg;
	int b, n;

	for (b = 0; b < cfg->n_booths; b++)
		for (n = 1; n <= cfg->booths[b].consoles; n++) {
			int64_t *since = &st->live_since_ms[cfg->booths[b].first_mic + n - 1];
			if (!state_mic_on(st, b, n))
				*since = 0;
			else if (!*since)
				*since = now_ms;
		}
}

int state_cough_lapsed(const struct state *st, int64_t now_ms, int *b, int *n)
{
	const struct config *cfg = st->cfg;
	int k;

	for (*b = 0; *b < cfg->n_booths; (*b)++)
		for (k = 1; k <= cfg->booths[*b].consoles; k++) {
			const int64_t until = st->cough_until_ms[cfg->booths[*b].first_mic + k - 1];
			if (until && now_ms >= until) {
				*n = k;
				return 1;
			}
		}
	return 0;
}
