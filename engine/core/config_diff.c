#include "config_diff.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct differ {
	void (*say)(void *user, const char *line);
	void *user;
	int n;
};

static void tell(struct differ *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tell(struct differ *d, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	d->say(d->user, line);
	d->n++;
}

int config_chain_equal(const struct cfg_chain *a, const struct cfg_chain *b)
{
	int i, j;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		const struct cfg_insert *x = &a->items[i], *y = &b->items[i];
		if (strcmp(x->plugin, y->plugin) || (!x->uri) != (!y->uri) || (x->uri && strcmp(x->uri, y->uri)) ||
		    x->n_params != y->n_params)
			return 0;
		for (j = 0; j < x->n_params; j++)
			if (strcmp(x->params[j].name, y->params[j].name) || x->params[j].value != y->params[j].value)
				return 0;
	}
	return 1;
}

int config_osc_equal(const struct config *a, const struct config *b)
{
	int i;

	if (a->osc.enabled != b->osc.enabled || strcmp(a->osc.host, b->osc.host) || strcmp(a->osc.port, b->osc.port) ||
	    a->osc.n_peers != b->osc.n_peers)
		return 0;
	for (i = 0; i < a->osc.n_peers; i++)
		if (strcmp(a->booths[a->osc.peers[i].booth].id, b->booths[b->osc.peers[i].booth].id) ||
		    strcmp(a->osc.peers[i].address, b->osc.peers[i].address))
			return 0;
	return 1;
}

static void diff_languages(struct differ *d, const struct config *was, const struct config *now)
{
	int i, k;

	for (i = 0; i < was->n_languages; i++)
		if (config_find_language(now, was->languages[i].code) < 0)
			tell(d, "language %s removed (port out_%s goes)", was->languages[i].code, was->languages[i].code);
	for (i = 0; i < now->n_languages; i++) {
		const struct cfg_language *n = &now->languages[i], *o;
		if ((k = config_find_language(was, n->code)) < 0) {
			tell(d, "language %s added (port out_%s)", n->code, n->code);
			continue;
		}
		o = &was->languages[k];
		if (k != i)
			tell(d, "language %s is now channel %d (was %d)", n->code, i + 1, k + 1);
		if (strcmp(o->name, n->name))
			tell(d, "language %s: name '%s' -> '%s'", n->code, o->name, n->name);
		if (o->idle != n->idle || (n->idle == IDLE_DUCK && o->duck_db != n->duck_db))
			tell(d, "language %s: idle %s -> %s", n->code, idle_policy_name(o->idle), idle_policy_name(n->idle));
		if (o->channel_mode != n->channel_mode)
			tell(d, "language %s: channel_mode %s", n->code,
			     n->channel_mode == CHANNEL_OVERRIDE ? "override" : "interlock");
		if (!config_chain_equal(config_output_chain(was, k), config_output_chain(now, i)))
			tell(d, "inserts of out_%s changed", n->code);
	}
}

static void diff_booths(struct differ *d, const struct config *was, const struct config *now)
{
	int i, k, j, same;

	for (i = 0; i < was->n_booths; i++)
		if (config_find_booth(now, was->booths[i].id) < 0)
			tell(d, "booth %s removed (%d console(s) go)", was->booths[i].id, was->booths[i].consoles);
	for (i = 0; i < now->n_booths; i++) {
		const struct cfg_booth *n = &now->booths[i], *o;
		if ((k = config_find_booth(was, n->id)) < 0) {
			tell(d, "booth %s added (%d console(s))", n->id, n->consoles);
			continue;
		}
		o = &was->booths[k];
		if (o->consoles != n->consoles)
			tell(d, "booth %s: consoles %d -> %d", n->id, o->consoles, n->consoles);
		same = o->n_outputs == n->n_outputs;
		for (j = 0; same && j < n->n_outputs; j++)
			same = !strcmp(was->languages[o->outputs[j]].code, now->languages[n->outputs[j]].code);
		if (!same)
			tell(d, "booth %s: outputs changed", n->id);
		if (!config_ids_equal((const char(*)[TOLK_ID_MAX])o->understands, o->n_understands,
				      (const char(*)[TOLK_ID_MAX])n->understands, n->n_understands))
			tell(d, "booth %s: understands changed", n->id);
		if (o->booth_mode != n->booth_mode)
			tell(d, "booth %s: booth_mode %s", n->id, n->booth_mode == BOOTH_INTERLOCK ? "interlock" : "override");
		if (!config_chain_equal(config_mic_chain(was, k), config_mic_chain(now, i)))
			tell(d, "booth %s: mic inserts changed", n->id);
		if (!config_chain_equal(config_phones_chain(was, k), config_phones_chain(now, i)))
			tell(d, "booth %s: phones inserts changed", n->id);
	}
}

static int connects_equal(const struct config *a, const struct config *b)
{
	int i;

	if (a->n_connects != b->n_connects)
		return 0;
	for (i = 0; i < a->n_connects; i++)
		if (strcmp(a->connects[i].port, b->connects[i].port) || strcmp(a->connects[i].other, b->connects[i].other))
			return 0;
	return 1;
}

int config_diff(const struct config *was, const struct config *now, void (*say)(void *user, const char *line),
		void *user)
{
	struct differ d = { say, user, 0 };

	if (strcmp(was->meeting, now->meeting))
		tell(&d, "meeting %s -> %s (the next recording's name)", was->meeting, now->meeting);
	if (!config_ids_equal((const char(*)[TOLK_ID_MAX])was->floor_inputs, was->n_floor_inputs,
			      (const char(*)[TOLK_ID_MAX])now->floor_inputs, now->n_floor_inputs))
		tell(&d, "floor inputs changed");
	if (strcmp(was->floor_language, now->floor_language))
		tell(&d, "floor language at start %s -> %s", was->floor_language, now->floor_language);
	diff_languages(&d, was, now);
	diff_booths(&d, was, now);
	if (!config_chain_equal(&was->mic_inserts, &now->mic_inserts))
		tell(&d, "default mic inserts changed");
	if (!config_chain_equal(&was->output_inserts, &now->output_inserts))
		tell(&d, "default output inserts changed");
	if (!config_chain_equal(&was->phones_inserts, &now->phones_inserts))
		tell(&d, "default phones inserts changed");
	if (!config_section_equal(was, now, "phones"))
		tell(&d, "phones (hearing protection or sidetone) changed");
	if (!config_section_equal(was, now, "recording"))
		tell(&d, "recording changed");
	if (was->recording.autostart != now->recording.autostart)
		tell(&d, "recording autostart %s (at the next start)", now->recording.autostart ? "on" : "off");
	if (!config_section_equal(was, now, "alarms"))
		tell(&d, "alarm thresholds changed");
	if (!config_osc_equal(was, now))
		tell(&d, "osc changed");
	if (!config_section_equal(was, now, "control"))
		tell(&d, "control (who may do what) changed");
	if (!config_section_equal(was, now, "stream"))
		tell(&d, "stream changed (the streams reconnect; recording goes on in a new segment)");
	if (!config_section_equal(was, now, "rtp"))
		tell(&d, "rtp changed (each channel's stream goes on with its SSRC, sequence and timestamps)");
	if (!config_section_equal(was, now, "web"))
		tell(&d, "web changed (the page restarts; open pages reconnect)");
	if (!connects_equal(was, now))
		tell(&d, "connect changed");
	return d.n;
}
