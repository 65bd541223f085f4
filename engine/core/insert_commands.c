#include "insert_commands.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exposure.h"

/* Chains as the commands name them. A booth's chains are one per console,
 * all alike; console 1's stands for them. */
struct chain_ref {
	enum chain_kind kind;
	int first, count; /* chain indices, consecutive */
	char name[TOLK_ID_MAX + 16];
};

static int find_chain(const struct config *cfg, const struct insert_rack *k, const char *word,
		      struct chain_ref *ref)
{
	const char *dot = strchr(word, '.');
	int b, lang;

	if (!dot)
		return -EINVAL;
	snprintf(ref->name, sizeof ref->name, "%s", word);
	if (!strncmp(word, "mics.", 5) || !strncmp(word, "phones.", 7)) {
		if ((b = config_find_booth(cfg, dot + 1)) < 0)
			return -ENOENT;
		ref->kind = word[0] == 'm' ? CHAIN_MIC : CHAIN_PHONES;
		ref->first = rack_chain_index(k, ref->kind, cfg->booths[b].first_mic);
		ref->count = cfg->booths[b].consoles;
		return 0;
	}
	if (!strncmp(word, "outputs.", 8)) {
		lang = !strcmp(dot + 1, "floor") ? -1 : config_find_language(cfg, dot + 1);
		if (lang < -1 || (lang == -1 && strcmp(dot + 1, "floor")))
			return -ENOENT;
		ref->kind = CHAIN_OUTPUT;
		ref->first = rack_chain_index(k, CHAIN_OUTPUT, lang + 1);
		ref->count = 1;
		return 0;
	}
	return -EINVAL;
}

static void write_insert(const struct insert_rack *k, const struct insert *in, int position, struct json_writer *w)
{
	uint32_t p;

	jw_printf(w, "{\"position\":%d", position);
	jw_key(w, "plugin", 0);
	jw_string(w, in->plugin);
	jw_key(w, "name", 0);
	jw_string(w, in->name);
	jw_printf(w, ",\"latency_frames\":%u,\"bypassed\":%s,\"mandatory\":%s", in->latency,
		  in->bypassed ? "true" : "false", in->mandatory ? "true" : "false");
	jw_key(w, "params", 0);
	jw_raw(w, "{");
	for (p = 0; p < in->n_params; p++) {
		jw_key(w, in->params[p].name, p == 0);
		jw_printf(w, "%g", in->values[p]);
	}
	jw_raw(w, "}");
	if (in->desc->monitor && in->desc->n_monitors) {
		jw_key(w, "monitors", 0);
		jw_raw(w, "{");
		for (p = 0; p < in->desc->n_monitors; p++) {
			float v = in->desc->monitor(in->instance, p);
			jw_key(w, in->desc->monitors[p].name, p == 0);
			jw_printf(w, "%.6g", isfinite(v) ? v : 0.0);
		}
		jw_raw(w, "}");
	}
	(void)k;
	jw_raw(w, "}");
}

static void write_chain(const struct insert_rack *k, const char *name, int chain, struct json_writer *w, int first)
{
	const struct insert_chain *c = &k->chains[chain];
	int i;

	jw_raw(w, first ? "{" : ",{");
	jw_key(w, "chain", 1);
	jw_string(w, name);
	jw_printf(w, ",\"latency_frames\":%u,\"delay_frames\":%u", c->latency, rack_chain_delay(k, chain));
	jw_key(w, "inserts", 0);
	jw_raw(w, "[");
	for (i = 0; i < c->count; i++) {
		if (i)
			jw_raw(w, ",");
		write_insert(k, &k->inserts[c->first + i], i + 1, w);
	}
	jw_raw(w, "]}");
}

/* The chains as the commands list them: mics.<booth>, outputs.floor and
 * outputs.<lang>, phones.<booth>. The i-th one's name and rack index, or
 * -1 past the last. */
static int nth_chain(const struct config *cfg, const struct insert_rack *k, int i, char *name, size_t len)
{
	if (i < cfg->n_booths) {
		snprintf(name, len, "mics.%s", cfg->booths[i].id);
		return rack_chain_index(k, CHAIN_MIC, cfg->booths[i].first_mic);
	}
	i -= cfg->n_booths;
	if (i <= cfg->n_languages) {
		snprintf(name, len, "outputs.%s", i == 0 ? "floor" : cfg->languages[i - 1].code);
		return rack_chain_index(k, CHAIN_OUTPUT, i);
	}
	i -= cfg->n_languages + 1;
	if (i < cfg->n_booths) {
		snprintf(name, len, "phones.%s", cfg->booths[i].id);
		return rack_chain_index(k, CHAIN_PHONES, cfg->booths[i].first_mic);
	}
	return -1;
}

void write_insert_latency(const struct config *cfg, const struct insert_rack *k, struct json_writer *w)
{
	char name[TOLK_ID_MAX + 16];
	uint32_t phones = 0;
	int c, i;

	for (c = rack_chain_index(k, CHAIN_PHONES, 0); c < k->n_chains; c++)
		phones = k->chains[c].latency > phones ? k->chains[c].latency : phones;
	jw_printf(w, "{\"rate\":%.0f,\"mic_frames\":%u,\"output_frames\":%u,\"channel_frames\":%u,"
		     "\"phones_frames\":%u,\"channel_ms\":%.3f,\"phones_ms\":%.3f",
		  k->rate, k->mic_latency, k->output_latency, k->mic_latency + k->output_latency, phones,
		  1000.0 * (k->mic_latency + k->output_latency) / k->rate, 1000.0 * phones / k->rate);
	jw_key(w, "chains", 0);
	jw_raw(w, "{");
	for (i = 0; (c = nth_chain(cfg, k, i, name, sizeof name)) >= 0; i++) {
		jw_key(w, name, i == 0);
		jw_printf(w, "%u", k->chains[c].latency);
	}
	jw_raw(w, "}}");
}

enum command_outcome cmd_inserts(struct command_context *ctx, int argc, char **argv, struct json_writer *w)
{
	const struct config *cfg = ctx->state->cfg;
	const struct insert_rack *k = ctx->rack;
	char name[TOLK_ID_MAX + 16];
	int i, c;

	(void)argv;
	if (argc != 1) {
		command_error(w, "inserts: takes no arguments");
		return COMMAND_ERROR;
	}
	if (!k) {
		command_error(w, "inserts: this engine runs no inserts");
		return COMMAND_ERROR;
	}
	jw_raw(w, "{\"ok\":true");
	jw_key(w, "latency", 0);
	write_insert_latency(cfg, k, w);
	jw_key(w, "chains", 0);
	jw_raw(w, "[");
	for (i = 0; (c = nth_chain(cfg, k, i, name, sizeof name)) >= 0; i++)
		write_chain(k, name, c, w, i == 0);
	jw_raw(w, "]}");
	return COMMAND_DONE;
}

/* insert <chain> <position|plugin> <param> <value> | bypass on|off */
enum command_outcome cmd_insert(struct command_context *ctx, int argc, char **argv, struct json_writer *w)
{
	const struct config *cfg = ctx->state->cfg;
	struct insert_rack *k = ctx->rack;
	const struct insert_chain *c;
	const struct insert *in;
	struct chain_ref ref;
	char line[256], *end;
	uint32_t param = RACK_PARAM_BYPASS;
	double value;
	long pos;
	int i, ret;

	if (argc != 5) {
		command_usage_error(w, argv[0]);
		return COMMAND_ERROR;
	}
	if (!k) {
		command_error(w, "insert: this engine runs no inserts");
		return COMMAND_ERROR;
	}
	if (find_chain(cfg, k, argv[1], &ref) < 0) {
		command_error(w, "insert: no chain '%.64s' (mics.<booth>, phones.<booth>, outputs.floor or "
				 "outputs.<language>)", argv[1]);
		return COMMAND_ERROR;
	}
	c = &k->chains[ref.first];
	pos = strtol(argv[2], &end, 10);
	if (*end || end == argv[2]) {
		for (pos = 0, i = 0; i < c->count; i++)
			if (!strcmp(k->inserts[c->first + i].name, argv[2])) {
				pos = i + 1;
				break;
			}
	}
	if (pos < 1 || pos > c->count) {
		char names[512];
		size_t at = 0;
		for (i = 0; i < c->count && at < sizeof names; i++)
			at += (size_t)snprintf(names + at, sizeof names - at, "%s%d %s", i ? ", " : "", i + 1,
					       k->inserts[c->first + i].name);
		command_error(w, "insert: %s has no insert '%.64s' (it has: %s)", ref.name, argv[2],
			      c->count ? names : "none");
		return COMMAND_ERROR;
	}
	in = &k->inserts[c->first + pos - 1];
	if (in->mandatory) {
		command_error(w, "insert: the hearing limiter is set in the configuration (phones:) and cannot "
				 "be changed or bypassed while running");
		return COMMAND_ERROR;
	}
	if (!strcmp(argv[3], "bypass")) {
		if (strcmp(argv[4], "on") && strcmp(argv[4], "off")) {
			command_error(w, "insert: bypass takes on or off, not '%.32s'", argv[4]);
			return COMMAND_ERROR;
		}
		value = !strcmp(argv[4], "on");
	} else {
		for (param = 0; param < in->n_params; param++)
			if (!strcmp(in->params[param].name, argv[3]))
				break;
		if (param == in->n_params) {
			command_error(w, "insert: %s has no parameter '%.64s'", in->name, argv[3]);
			return COMMAND_ERROR;
		}
		value = strtod(argv[4], &end);
		if (*end || end == argv[4] || !isfinite(value)) {
			command_error(w, "insert: '%.32s' is not a number", argv[4]);
			return COMMAND_ERROR;
		}
		if (value < in->params[param].min || value > in->params[param].max) {
			command_error(w, "insert: %s must be between %g and %g, not %g", argv[3], in->params[param].min,
				      in->params[param].max, value);
			return COMMAND_ERROR;
		}
	}
	/* All consoles of a booth or none: there must be room for each. */
	if (ring_write_space(&k->queue) < (uint32_t)ref.count * 16u) {
		command_error(w, "insert: the engine is busy applying changes; try again");
		return COMMAND_ERROR;
	}
	if (param == RACK_PARAM_BYPASS)
		snprintf(line, sizeof line, "insert %s %ld (%s) bypass %s", ref.name, pos, in->name, argv[4]);
	else
		snprintf(line, sizeof line, "insert %s %ld (%s) %s %g (was %g)", ref.name, pos, in->name, argv[3],
			 value, in->values[param]);
	for (i = 0; i < ref.count; i++) {
		ret = rack_send(k, k->chains[ref.first + i].first + (int)pos - 1, param, (float)value);
		if (ret < 0) {
			command_error(w, "insert: %s", strerror(-ret));
			return COMMAND_ERROR;
		}
	}
	if (ctx->log)
		ctx->log(ctx->log_user, line);
	if (ctx->events)
		event_log_add(ctx->events, ctx->now_ms, EVENT_CHANGE, "", 0, line);
	jw_raw(w, "{\"ok\":true");
	jw_key(w, "changed", 0);
	jw_string(w, line);
	jw_raw(w, "}");
	return COMMAND_DONE;
}

enum command_outcome cmd_exposure(struct command_context *ctx, int argc, char **argv, struct json_writer *w)
{
	const struct config *cfg = ctx->state->cfg;
	const struct exposure_tracker *t = ctx->exposure;
	int b, n, any = 0;

	int day = 0, y, m, d;
	char tail;

	if (argc > 2) {
		command_usage_error(w, argv[0]);
		return COMMAND_ERROR;
	}
	if (!t) {
		command_error(w, "exposure: not measured by this engine");
		return COMMAND_ERROR;
	}
	if (argc == 2) {
		if (sscanf(argv[1], "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31 ||
		    strlen(argv[1]) != 10) {
			command_error(w, "exposure: '%.32s' is not a day (YYYY-MM-DD)", argv[1]);
			return COMMAND_ERROR;
		}
		day = y * 10000 + m * 100 + d;
	}
	if (day && t->n && day != t->c[0].day) {
		/* A past day: what the log kept of it. */
		int found;

		if (!ctx->exposure_day) {
			command_error(w, "exposure: no exposure log to read %s from", argv[1]);
			return COMMAND_ERROR;
		}
		jw_raw(w, "{\"ok\":true");
		jw_printf(w, ",\"day\":\"%s\",\"from\":\"exposure.jsonl\",\"dbspl_at_0dbfs\":%g", argv[1],
			  t->calibration);
		jw_key(w, "consoles", 0);
		found = ctx->exposure_day(ctx->exposure_user, day, w);
		if (found <= 0) {
			w->len = 0;
			w->failed = 0;
			command_error(w, "exposure: nothing logged for %s%s%s", argv[1], found < 0 ? ": " : "",
				      found < 0 ? strerror(-found) : "");
			return COMMAND_ERROR;
		}
		jw_raw(w, "}");
		return COMMAND_DONE;
	}
	jw_raw(w, "{\"ok\":true");
	jw_printf(w, ",\"dbspl_at_0dbfs\":%g,\"reference_dba\":%g,\"reference_hours\":%g", t->calibration,
		  EXPOSURE_REFERENCE_DBA, EXPOSURE_REFERENCE_SECONDS / 3600.0);
	jw_key(w, "consoles", 0);
	jw_raw(w, "[");
	for (b = 0; b < cfg->n_booths; b++)
		for (n = 1; n <= cfg->booths[b].consoles; n++) {
			int mic = cfg->booths[b].first_mic + n - 1;
			const struct exposure_console *c = &t->c[mic];
			char id[TOLK_ID_MAX + 16];

			snprintf(id, sizeof id, "%s/%d", cfg->booths[b].id, n);
			jw_raw(w, any++ ? ",{" : "{");
			jw_key(w, "console", 1);
			jw_string(w, id);
			/* seconds to the ms: the dose of a short stretch must be
			 * checkable against its LAeq to better than 1 % */
			jw_printf(w, ",\"day\":\"%04d-%02d-%02d\",\"seconds\":%.3f,\"laeq_dba\":%.3f,\"dose_percent\":%.6g",
				  c->day / 10000, c->day / 100 % 100, c->day % 100, c->day_seconds,
				  exposure_leq_db(c->day_energy, c->day_seconds, t->calibration),
				  exposure_dose_percent(c->day_energy, t->calibration));
			if (ctx->rack) {
				const struct insert_rack *k = ctx->rack;
				const int phones = rack_chain_index(k, CHAIN_PHONES, mic);
				const int backoff = rack_last_monitor(k, phones, "backoff") > 0;
				jw_printf(w, ",\"limiter\":{\"interventions\":%.0f,\"reduction_db\":%.1f,"
					     "\"sustained\":%s,\"backoff\":%s,\"backoff_left_s\":%.0f,\"backoffs\":%.0f,"
					     "\"average_dbspl\":%.1f}",
					  rack_last_monitor(k, phones, "interventions"), rack_last_monitor(k, phones, "reduction_db"),
					  rack_last_monitor(k, phones, "sustained") > 0 ? "true" : "false",
					  backoff ? "true" : "false",
					  backoff ? rack_last_monitor(k, phones, "backoff_left_s") : 0.0,
					  rack_last_monitor(k, phones, "backoffs"), rack_last_monitor(k, phones, "average_dbspl"));
			}
			jw_raw(w, "}");
		}
	jw_raw(w, "]}");
	return COMMAND_DONE;
}
