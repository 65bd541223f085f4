#include "console_view.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "command_util.h"
#include "exposure.h"
#include "insert_rack.h"
#include "thread_role.h"

/* A level in dBFS, or null for silence. */
static void write_level(struct json_writer *w, float level)
{
	if (level > 1e-6f && isfinite(level))
		jw_printf(w, "%.1f", 20.0 * log10(level));
	else
		jw_raw(w, "null");
}

/* The mic in words, as the big button says it. */
static void write_mic(struct command_context *ctx, struct json_writer *w, int b, int n)
{
	const struct state *st = ctx->state;
	const struct config *cfg = st->cfg;
	const struct console_state *c = state_console(st, b, n);
	const int lang = cfg->booths[b].outputs[c->output], mic = cfg->booths[b].first_mic + n - 1;
	const struct channel_view *ch = &st->channels[lang];
	const int on = state_mic_on(st, b, n);
	char words[TOLK_ID_MAX + 32];

	if (on)
		snprintf(words, sizeof words, "%s", c->mute ? "MUTED" : "ON AIR");
	else if (ch->booth >= 0 && ch->booth != b)
		snprintf(words, sizeof words, "ENGAGED by %s", cfg->booths[ch->booth].id);
	else
		snprintf(words, sizeof words, "off");
	jw_printf(w, ",\"mic\":{\"on\":%s,\"mute\":%s,\"state\":", on ? "true" : "false", c->mute ? "true" : "false");
	jw_string(w, words);
	jw_printf(w, ",\"live_since_ms\":%lld,\"shift_minutes\":%g}",
		  (long long)(on && st->live_since_ms ? st->live_since_ms[mic] : 0), cfg->consoles.shift_minutes);
}

/* A, B, C with their channels, and who is live on each now. */
static void write_outputs(const struct state *st, struct json_writer *w, int b, int n)
{
	const struct config *cfg = st->cfg;
	const struct console_state *c = state_console(st, b, n);
	int o;

	jw_printf(w, ",\"output\":\"%c\",\"outputs\":[", 'A' + c->output);
	for (o = 0; o < cfg->booths[b].n_outputs; o++) {
		const int lang = cfg->booths[b].outputs[o];
		const struct channel_view *ch = &st->channels[lang];
		jw_printf(w, "%s{\"letter\":\"%c\",\"code\":", o ? "," : "", 'A' + o);
		jw_string(w, cfg->languages[lang].code);
		jw_key(w, "name", 0);
		jw_string(w, cfg->languages[lang].name);
		jw_key(w, "live", 0);
		if (ch->booth >= 0)
			jw_printf(w, "\"%s/%d\"", cfg->booths[ch->booth].id, ch->console);
		else
			jw_raw(w, "null");
		jw_raw(w, "}");
	}
	jw_raw(w, "]");
}

/* What the console may listen to: the floor, auto, and every channel
 * with its relay quality and whether someone is live on it. */
static void write_listen(const struct state *st, struct json_writer *w, int b, int n)
{
	const struct config *cfg = st->cfg;
	const struct console_state *c = state_console(st, b, n);
	const struct console_view *v = &st->consoles[state_mic_index(st, b, n)];
	int lang;

	jw_key(w, "listen", 0);
	jw_string(w, command_listen_name(st, c));
	jw_key(w, "hears", 0);
	jw_string(w, command_hears_name(st, v->hears));
	jw_printf(w, ",\"no_pivot\":%s,\"channels\":[", v->no_pivot ? "true" : "false");
	for (lang = 0; lang < cfg->n_languages; lang++) {
		const struct channel_view *ch = &st->channels[lang];
		const char *quality = ch->booth >= 0 ? relay_quality_name(ch->quality) : NULL;
		jw_raw(w, lang ? ",{\"code\":" : "{\"code\":");
		jw_string(w, cfg->languages[lang].code);
		jw_key(w, "name", 0);
		jw_string(w, cfg->languages[lang].name);
		jw_printf(w, ",\"live\":%s", ch->booth >= 0 && !ch->muted ? "true" : "false");
		jw_key(w, "quality", 0);
		if (quality)
			jw_string(w, quality);
		else
			jw_raw(w, "null");
		jw_raw(w, "}");
	}
	jw_raw(w, "]");
}

/* The hearing limiter on this console's phones, and today's dose. */
static void write_hearing(struct command_context *ctx, struct json_writer *w, int mic)
{
	jw_raw(w, ",\"limiter\":");
	if (ctx->rack) {
		const int phones = rack_chain_index(ctx->rack, CHAIN_PHONES, mic);
		const float reduction = rack_last_monitor(ctx->rack, phones, "reduction_db");
		const int backoff = rack_last_monitor(ctx->rack, phones, "backoff") > 0;
		jw_printf(w, "{\"limiting\":%s,\"reduction_db\":%.1f,\"backoff\":%s,\"backoff_left_s\":%.0f}",
			  reduction > 0.5f ? "true" : "false", reduction, backoff ? "true" : "false",
			  backoff ? rack_last_monitor(ctx->rack, phones, "backoff_left_s") : 0.0);
	} else {
		jw_raw(w, "null");
	}
	jw_raw(w, ",\"dose_percent\":");
	if (ctx->exposure && mic < ctx->exposure->n)
		jw_printf(w, "%.3g", exposure_dose_percent(ctx->exposure->c[mic].day_energy, ctx->exposure->calibration));
	else
		jw_raw(w, "null");
}

/* The booth-mates, and the newest handover request from one of them that
 * has not expired or been answered. */
static void write_mates(struct command_context *ctx, struct json_writer *w, int b, int n)
{
	const struct state *st = ctx->state;
	const struct config *cfg = st->cfg;
	int m, any = 0;
	uint64_t seq;

	jw_raw(w, ",\"mates\":[");
	for (m = 1; m <= cfg->booths[b].consoles; m++) {
		const struct console_state *c = state_console(st, b, m);
		if (m == n)
			continue;
		jw_printf(w, "%s{\"n\":%d,\"live\":%s,\"channel\":", any++ ? "," : "", m,
			  state_mic_on(st, b, m) ? "true" : "false");
		jw_string(w, cfg->languages[cfg->booths[b].outputs[c->output]].code);
		jw_raw(w, "}");
	}
	jw_raw(w, "],\"request\":");
	for (seq = ctx->events ? event_log_last(ctx->events) : 0; seq && seq >= event_log_first(ctx->events); seq--) {
		const struct event *e = event_log_get(ctx->events, seq);
		if (!e || e->kind != EVENT_HANDOVER || strcmp(e->booth, cfg->booths[b].id))
			continue;
		if (!e->acked && e->console != n && ctx->now_ms - e->time_ms < CONSOLE_REQUEST_MS) {
			jw_printf(w, "{\"from\":%d,\"seq\":%llu,\"expires_in_s\":%.0f}", e->console,
				  (unsigned long long)e->seq, (CONSOLE_REQUEST_MS - (ctx->now_ms - e->time_ms)) / 1000.0);
			return;
		}
		break; /* only the newest request of the booth counts */
	}
	jw_raw(w, "null");
}

/* This console's help signals and its booth's slower, newest first: the
 * interpreter sees when the technician has answered. */
static void write_signals(struct command_context *ctx, struct json_writer *w, int b, int n)
{
	const char *booth = ctx->state->cfg->booths[b].id;
	uint64_t seq;
	int k = 0;

	jw_raw(w, ",\"signals\":[");
	for (seq = ctx->events ? event_log_last(ctx->events) : 0;
	     seq && seq >= event_log_first(ctx->events) && k < 4; seq--) {
		const struct event *e = event_log_get(ctx->events, seq);
		if (!e || strcmp(e->booth, booth) || !((e->kind == EVENT_HELP && e->console == n) || e->kind == EVENT_SLOWER))
			continue;
		jw_printf(w, "%s{\"kind\":\"%s\",\"seq\":%llu,\"time_ms\":%lld,\"acked\":%s}", k++ ? "," : "",
			  event_kind_name(e->kind), (unsigned long long)e->seq, (long long)e->time_ms,
			  e->acked ? "true" : "false");
	}
	jw_raw(w, "]");
}

void console_view_write(struct command_context *ctx, struct json_writer *w, int b, int n)
{
	const struct state *st = ctx->state;
	const struct config *cfg = st->cfg;
	const struct console_state *c = state_console(st, b, n);
	const int mic = cfg->booths[b].first_mic + n - 1;
	float peak, rms;

	ASSERT_THREAD(THREAD_CONTROL);
	jw_raw(w, "{\"booth\":");
	jw_string(w, cfg->booths[b].id);
	jw_printf(w, ",\"n\":%d,\"consoles\":%d,\"time_ms\":%lld", n, cfg->booths[b].consoles, (long long)ctx->now_ms);
	write_mic(ctx, w, b, n);
	write_outputs(st, w, b, n);
	write_listen(st, w, b, n);
	jw_printf(w, ",\"volume_db\":%g,\"bass_db\":%g,\"treble_db\":%g", c->volume_db, c->bass_db, c->treble_db);
	write_hearing(ctx, w, mic);
	write_mates(ctx, w, b, n);
	write_signals(ctx, w, b, n);
	jw_raw(w, ",\"meters\":");
	if (ctx->router) {
		router_input_meter(ctx->router, config_input_of_mic(cfg, mic), &peak, &rms);
		jw_raw(w, "{\"mic_dbfs\":");
		write_level(w, peak);
		router_output_meter(ctx->router, config_output_of_phones(cfg, mic), &peak, &rms);
		jw_raw(w, ",\"phones_dbfs\":");
		write_level(w, peak);
		jw_raw(w, "}");
	} else {
		jw_raw(w, "null");
	}
	jw_raw(w, "}");
}

/* "<cmd> <booth> <n>": the console, or an error reply and -EINVAL. */
static int one_console(struct command_context *ctx, int argc, char **argv, struct json_writer *w, int *b, int *n)
{
	if (argc != 3) {
		command_usage_error(w, argv[0]);
		return -EINVAL;
	}
	return command_console_args(ctx, w, argv[0], argv[1], argv[2], b, n);
}

enum command_outcome cmd_console(struct command_context *ctx, int argc, char **argv, struct json_writer *w)
{
	int b, n;

	if (one_console(ctx, argc, argv, w, &b, &n))
		return COMMAND_ERROR;
	jw_raw(w, "{\"ok\":true,\"console\":");
	console_view_write(ctx, w, b, n);
	jw_raw(w, "}");
	return COMMAND_DONE;
}

enum command_outcome cmd_handover_request(struct command_context *ctx, int argc, char **argv,
					  struct json_writer *w)
{
	const struct config *cfg = ctx->state->cfg;
	char text[EVENT_TEXT_MAX];
	const struct event *e;
	int b, n;

	if (one_console(ctx, argc, argv, w, &b, &n))
		return COMMAND_ERROR;
	if (cfg->booths[b].consoles < 2) {
		command_error(w, "%s: booth %s has no booth-mate to take over", argv[0], cfg->booths[b].id);
		return COMMAND_ERROR;
	}
	snprintf(text, sizeof text, "handover: %s/%d asks a booth-mate to take over", cfg->booths[b].id, n);
	e = command_record(ctx, EVENT_HANDOVER, cfg->booths[b].id, n, text);
	jw_raw(w, "{\"ok\":true,\"signal\":\"handover-request\",\"booth\":");
	jw_string(w, cfg->booths[b].id);
	jw_printf(w, ",\"n\":%d,\"expires_in_s\":%d", n, CONSOLE_REQUEST_MS / 1000);
	if (e)
		jw_printf(w, ",\"seq\":%llu", (unsigned long long)e->seq);
	jw_raw(w, "}");
	return COMMAND_DONE;
}

void console_requests_answered(struct command_context *ctx, int b)
{
	const char *booth = ctx->state->cfg->booths[b].id;
	uint64_t seq;

	for (seq = ctx->events ? event_log_last(ctx->events) : 0; seq && seq >= event_log_first(ctx->events); seq--) {
		const struct event *e = event_log_get(ctx->events, seq);
		if (e && e->kind == EVENT_HANDOVER && !e->acked && !strcmp(e->booth, booth))
			event_log_ack(ctx->events, seq);
	}
}
