#include "command.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "command_util.h"
#include "console_view.h"
#include "incident_commands.h"
#include "insert_commands.h"
#include "rtp_stream.h"
#include "thread_role.h"
#include "utc_time.h"

#define MAX_WORDS 16
#define MAX_LINE 4096

void command_error(struct json_writer *reply, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	reply->len = 0;
	if (reply->buf)
		reply->buf[0] = '\0';
	jw_raw(reply, "{\"ok\":false,\"error\":");
	jw_string(reply, what);
	jw_raw(reply, "}");
}

/* Splits in place on blanks. Returns the word count, or -E2BIG. */
static int split_words(char *line, char *words[MAX_WORDS])
{
	int n = 0;
	char *save = NULL, *w;

	for (w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == MAX_WORDS)
			return -E2BIG;
		words[n++] = w;
	}
	return n;
}

static void write_time(struct json_writer *w, int64_t ms)
{
	char buf[UTC_ISO_MAX];

	utc_iso_ms(ms, buf);
	jw_printf(w, "\"%s\"", buf);
}

void command_write_event(struct json_writer *w, const struct event *e)
{
	jw_printf(w, "{\"seq\":%llu,\"time_ms\":%lld,\"time\":", (unsigned long long)e->seq,
		  (long long)e->time_ms);
	write_time(w, e->time_ms);
	jw_key(w, "kind", 0);
	jw_string(w, event_kind_name(e->kind));
	if (e->kind == EVENT_SLOWER || e->kind == EVENT_HELP || e->kind == EVENT_HANDOVER) {
		jw_key(w, "booth", 0);
		jw_string(w, e->booth);
		if (e->console)
			jw_printf(w, ",\"n\":%d", e->console);
		jw_printf(w, ",\"acked\":%s", e->acked ? "true" : "false");
	}
	jw_key(w, "text", 0);
	jw_string(w, e->text);
	jw_raw(w, "}");
}

/* Tells the log and the event list; returns the event, or NULL when no
 * events are kept. */
const struct event *command_record(struct command_context *ctx, enum event_kind kind, const char *booth,
				  int console, const char *text)
{
	if (ctx->log)
		ctx->log(ctx->log_user, text);
	return ctx->events ? event_log_add(ctx->events, ctx->now_ms, kind, booth, console, text) : NULL;
}

/* ---- status ----------------------------------------------------------- */

/* A linear level in dBFS, or null for silence. */
static void write_db(struct json_writer *w, float level)
{
	if (level > 1e-6f && isfinite(level))
		jw_printf(w, "%.1f", 20.0 * log10(level));
	else
		jw_raw(w, "null");
}

const char *command_hears_name(const struct state *st, int hears)
{
	return hears == STATE_HEARS_FLOOR ? "floor" : st->cfg->languages[hears].code;
}

const char *command_listen_name(const struct state *st, const struct console_state *c)
{
	return c->listen == LISTEN_FLOOR ? "floor"
	     : c->listen == LISTEN_AUTO  ? "auto"
					 : st->cfg->languages[c->listen_lang].code;
}

static void write_channel(struct command_context *ctx, struct json_writer *w, int lang)
{
	const struct state *st = ctx->state;
	const struct config *cfg = st->cfg;
	const struct channel_view *ch = &st->channels[lang];
	const char *quality = relay_quality_name(ch->quality);

	jw_printf(w, "{\"number\":%d", lang + 1);
	jw_key(w, "code", 0);
	jw_string(w, cfg->languages[lang].code);
	jw_key(w, "name", 0);
	jw_string(w, cfg->languages[lang].name);
	jw_key(w, "feed", 0);
	if (ch->booth >= 0)
		jw_printf(w, "\"%s/%d\"", cfg->booths[ch->booth].id, ch->console);
	else
		jw_string(w, idle_policy_name(cfg->languages[lang].idle));
	jw_key(w, "idle", 0);
	jw_string(w, idle_policy_name(cfg->languages[lang].idle));
	jw_printf(w, ",\"muted\":%s", ch->booth >= 0 && ch->muted ? "true" : "false");
	jw_key(w, "quality", 0);
	if (quality)
		jw_string(w, quality);
	else
		jw_raw(w, "null");
	jw_key(w, "source", 0);
	if (ch->booth >= 0)
		jw_string(w, command_hears_name(st, ch->source));
	else
		jw_raw(w, "null");
	if (ctx->router) {
		float peak, rms;
		router_output_meter(ctx->router, config_output_of_language(cfg, lang), &peak, &rms);
		jw_key(w, "peak_dbfs", 0);
		write_db(w, peak);
	}
	jw_raw(w, "}");
}

static void write_console(const struct state *st, struct json_writer *w, int b, int n)
{
	const struct config *cfg = st->cfg;
	const struct console_state *c = state_console(st, b, n);
	const struct console_view *v = &st->consoles[state_mic_index(st, b, n)];

	jw_printf(w, "{\"n\":%d,\"mic\":%s,\"mute\":%s,\"output\":\"%c\"", n,
		  state_mic_on(st, b, n) ? "true" : "false", c->mute ? "true" : "false", 'A' + c->output);
	jw_key(w, "channel", 0);
	jw_string(w, cfg->languages[cfg->booths[b].outputs[c->output]].code);
	jw_key(w, "listen", 0);
	jw_string(w, command_listen_name(st, c));
	jw_key(w, "hears", 0);
	jw_string(w, command_hears_name(st, v->hears));
	jw_key(w, "note", 0);
	if (v->no_pivot)
		jw_string(w, "no pivot");
	else
		jw_raw(w, "null");
	jw_printf(w, ",\"volume_db\":%g,\"bass_db\":%g,\"treble_db\":%g}", c->volume_db, c->bass_db,
		  c->treble_db);
}

static void write_signals(struct command_context *ctx, struct json_writer *w)
{
	const struct event *recent[COMMAND_SIGNALS_IN_STATUS];
	uint64_t seq;
	int n = 0;

	/* The newest signals, written oldest first. */
	if (ctx->events)
		for (seq = event_log_last(ctx->events);
		     seq >= event_log_first(ctx->events) && seq > 0 && n < COMMAND_SIGNALS_IN_STATUS; seq--) {
			const struct event *e = event_log_get(ctx->events, seq);
			if (e && (e->kind == EVENT_SLOWER || e->kind == EVENT_HELP))
				recent[n++] = e;
		}
	jw_raw(w, "[");
	while (n-- > 0) {
		command_write_event(w, recent[n]);
		if (n)
			jw_raw(w, ",");
	}
	jw_raw(w, "]");
}

static enum command_outcome cmd_status(struct command_context *ctx, int argc, char **argv,
				       struct json_writer *w)
{
	const struct state *st = ctx->state;
	const struct config *cfg = st->cfg;
	int i, n;

	(void)argv;
	if (argc != 1) {
		command_error(w, "status: takes no arguments");
		return COMMAND_ERROR;
	}
	jw_raw(w, "{\"ok\":true");
	jw_key(w, "meeting", 0);
	jw_string(w, cfg->meeting);
	jw_key(w, "floor_language", 0);
	jw_string(w, st->floor_language);
	jw_printf(w, ",\"floor_language_pinned\":%s", st->floor_language_pinned ? "true" : "false");
	jw_key(w, "channels", 0);
	jw_raw(w, "[");
	for (i = 0; i < cfg->n_languages; i++) {
		if (i)
			jw_raw(w, ",");
		write_channel(ctx, w, i);
	}
	jw_raw(w, "]");
	jw_key(w, "booths", 0);
	jw_raw(w, "[");
	for (i = 0; i < cfg->n_booths; i++) {
		const struct cfg_booth *b = &cfg->booths[i];
		jw_printf(w, "%s{", i ? "," : "");
		jw_key(w, "id", 1);
		jw_string(w, b->id);
		jw_key(w, "booth_mode", 0);
		jw_string(w, b->booth_mode == BOOTH_INTERLOCK ? "interlock" : "override");
		jw_key(w, "consoles", 0);
		jw_raw(w, "[");
		for (n = 1; n <= b->consoles; n++) {
			if (n > 1)
				jw_raw(w, ",");
			write_console(st, w, i, n);
		}
		jw_raw(w, "]}");
	}
	jw_raw(w, "]");
	jw_key(w, "signals", 0);
	write_signals(ctx, w);
	if (ctx->alarms) {
		jw_key(w, "alarms", 0);
		command_write_alarms(w, ctx->alarms);
	}
	if (ctx->recorder) {
		jw_key(w, "recording", 0);
		ctx->recorder->status(ctx->recorder->user, w, 0);
	}
	if (ctx->streams) {
		jw_key(w, "streams", 0);
		ctx->streams(ctx->streams_user, w);
	}
	if (ctx->rtp) {
		jw_key(w, "rtp", 0);
		ctx->rtp(ctx->rtp_user, w);
	}
	if (ctx->rack) {
		jw_key(w, "latency", 0);
		write_insert_latency(cfg, ctx->rack, w);
	}
	if (ctx->cycles && ctx->rate > 0) {
		struct cycle_summary c;
		double period_ns;

		cycle_stats_read(ctx->cycles, &c);
		period_ns = 1e9 * c.frames / ctx->rate;
		jw_printf(w, ",\"process\":{\"cycles\":%llu,\"frames\":%u,\"period_us\":%.1f,\"p50_us\":%.1f,"
			     "\"p99_us\":%.1f,\"max_us\":%.1f,\"p50_share\":%.4f,\"p99_share\":%.4f,\"max_share\":%.4f,"
			     "\"max_cpu_us\":%.1f,\"max_cpu_share\":%.4f,\"overruns\":%llu,\"wall_overruns\":%llu}",
			  (unsigned long long)c.cycles, c.frames, period_ns / 1000, c.p50_ns / 1000, c.p99_ns / 1000,
			  c.max_ns / 1000, period_ns > 0 ? c.p50_ns / period_ns : 0, period_ns > 0 ? c.p99_ns / period_ns : 0,
			  period_ns > 0 ? c.max_ns / period_ns : 0, c.max_cpu_ns / 1000,
			  period_ns > 0 ? c.max_cpu_ns / period_ns : 0, (unsigned long long)c.overruns,
			  (unsigned long long)c.wall_overruns);
	}
	jw_raw(w, "}");
	return COMMAND_DONE;
}

void command_write_alarms(struct json_writer *w, const struct alarm_tracker *t)
{
	int i, any = 0;

	jw_raw(w, "[");
	for (i = 0; i < t->n; i++) {
		const struct alarm *a = &t->alarms[i];
		if (a->raised_ms < 0)
			continue;
		jw_raw(w, any++ ? ",{" : "{");
		jw_key(w, "kind", 1);
		jw_string(w, a->kind);
		jw_key(w, "subject", 0);
		jw_string(w, a->subject);
		jw_key(w, "since", 0);
		write_time(w, a->raised_ms);
		jw_key(w, "detail", 0);
		jw_string(w, a->detail);
		jw_printf(w, ",\"acked\":%s", a->acked ? "true" : "false");
		jw_raw(w, "}");
	}
	jw_raw(w, "]");
}

static enum command_outcome cmd_record(struct command_context *ctx, int argc, char **argv,
				       struct json_writer *w)
{
	const struct recorder_iface *rec = ctx->recorder;
	char err[512];
	int starting = argc >= 2 && !strcmp(argv[1], "start");

	if (!((starting && argc <= 3) || (argc == 2 && (!strcmp(argv[1], "stop") || !strcmp(argv[1], "status"))))) {
		command_usage_error(w, argv[0]);
		return COMMAND_ERROR;
	}
	if (!rec) {
		command_error(w, "record: recording is not available in this engine");
		return COMMAND_ERROR;
	}
	if (starting && rec->start(rec->user, argc == 3 ? argv[2] : NULL, err, sizeof err) < 0) {
		command_error(w, "record start: %s", err);
		return COMMAND_ERROR;
	}
	if (!strcmp(argv[1], "stop") && rec->stop(rec->user, err, sizeof err) < 0) {
		command_error(w, "record stop: %s", err);
		return COMMAND_ERROR;
	}
	if (starting)
		command_record(ctx, EVENT_CHANGE, NULL, 0, argc == 3 ? "record start (meeting given)" : "record start");
	else if (!strcmp(argv[1], "stop"))
		command_record(ctx, EVENT_CHANGE, NULL, 0, "record stop");
	jw_raw(w, "{\"ok\":true");
	/* Stop answers at once: what is still to be written, and the event
	 * "record-final: ..." says when every file is final. */
	if (!strcmp(argv[1], "stop"))
		jw_printf(w, ",\"finishing\":%.2f", rec->backlog ? rec->backlog(rec->user) : 0.0);
	jw_key(w, "recording", 0);
	rec->status(rec->user, w, 1);
	jw_raw(w, "}");
	return starting ? COMMAND_RECORD_START : COMMAND_DONE;
}

static void write_meter(struct json_writer *w, const char *port, float peak, float rms)
{
	jw_raw(w, "{");
	jw_key(w, "port", 1);
	jw_string(w, port);
	jw_key(w, "peak_dbfs", 0);
	write_db(w, peak);
	jw_key(w, "rms_dbfs", 0);
	write_db(w, rms);
	jw_raw(w, "}");
}

/* A list of meters: outputs or inputs, named by port. */
static void write_meters(struct json_writer *w, const struct router *r, const struct config *cfg, int count,
			 int (*name_of)(const struct config *, int, char *, size_t),
			 int (*level_of)(const struct router *, int, float *, float *))
{
	char port[TOLK_PORT_NAME_MAX];
	float peak, rms;
	int i;

	jw_raw(w, "[");
	for (i = 0; i < count; i++) {
		name_of(cfg, i, port, sizeof port);
		level_of(r, i, &peak, &rms);
		if (i)
			jw_raw(w, ",");
		write_meter(w, port, peak, rms);
	}
	jw_raw(w, "]");
}

/* One snapshot of every meter: the last 1/30 s window the audio thread
 * published, for outputs (floor, channels, phones) and inputs. */
static enum command_outcome cmd_meters(struct command_context *ctx, int argc, char **argv,
				       struct json_writer *w)
{
	const struct config *cfg = ctx->state->cfg;

	(void)argv;
	if (argc != 1) {
		command_error(w, "meters: takes no arguments");
		return COMMAND_ERROR;
	}
	if (!ctx->router) {
		command_error(w, "meters: no audio running");
		return COMMAND_ERROR;
	}
	jw_printf(w, "{\"ok\":true,\"window_ms\":%.1f,\"outputs\":", 1000.0 / ROUTER_METER_HZ);
	write_meters(w, ctx->router, cfg, config_output_count(cfg), config_output_name, router_output_meter);
	jw_raw(w, ",\"inputs\":");
	write_meters(w, ctx->router, cfg, config_input_count(cfg), config_input_name, router_input_meter);
	if (ctx->loudness) {
		int lang;
		jw_raw(w, ",\"loudness\":[");
		for (lang = 0; lang < cfg->n_languages; lang++) {
			double m = NAN, st = NAN;
			ctx->loudness(ctx->loudness_user, lang, &m, &st);
			jw_printf(w, "%s{\"channel\":", lang ? "," : "");
			jw_string(w, cfg->languages[lang].code);
			jw_raw(w, ",\"momentary_lufs\":");
			if (isfinite(m))
				jw_printf(w, "%.1f", m);
			else
				jw_raw(w, "null");
			jw_raw(w, ",\"short_term_lufs\":");
			if (isfinite(st))
				jw_printf(w, "%.1f", st);
			else
				jw_raw(w, "null");
			jw_raw(w, "}");
		}
		jw_raw(w, "]");
	}
	jw_raw(w, "}");
	return COMMAND_DONE;
}

static enum command_outcome cmd_events(struct command_context *ctx, int argc, char **argv,
				       struct json_writer *w)
{
	unsigned long long since = 0;
	uint64_t seq;
	char *end;
	int any = 0, follow = 0, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--follow") && !follow) {
			follow = 1;
		} else if (!strcmp(argv[i], "since") && i + 1 < argc) {
			errno = 0;
			since = strtoull(argv[++i], &end, 10);
			if (!*argv[i] || *end || errno || argv[i][0] == '-') {
				command_error(w, "events: 'since' needs a sequence number, not '%.32s'", argv[i]);
				return COMMAND_ERROR;
			}
		} else {
			command_usage_error(w, argv[0]);
			return COMMAND_ERROR;
		}
	}
	if (follow) {
		/* The stream starts after `since`, or with what happens next. */
		uint64_t last = ctx->events ? event_log_last(ctx->events) : 0;
		ctx->follow_from = argc > 2 ? since : last;
		jw_printf(w, "{\"ok\":true,\"following\":true,\"last\":%llu}", (unsigned long long)last);
		return COMMAND_FOLLOW;
	}
	jw_raw(w, "{\"ok\":true,\"events\":[");
	if (ctx->events)
		for (seq = event_log_first(ctx->events); seq && seq <= event_log_last(ctx->events); seq++) {
			const struct event *e = event_log_get(ctx->events, seq);
			if (!e || e->seq <= since)
				continue;
			if (any++)
				jw_raw(w, ",");
			command_write_event(w, e);
		}
	jw_printf(w, "],\"last\":%llu}",
		  (unsigned long long)(ctx->events ? event_log_last(ctx->events) : 0));
	return COMMAND_DONE;
}

/* ---- arguments -------------------------------------------------------- */

/* Booth and console words, as in "mic fr 2 on". On a bad word, writes the
 * error reply and returns -EINVAL. */
int command_console_args(struct command_context *ctx, struct json_writer *w, const char *cmd,
			const char *booth_word, const char *console_word, int *b, int *n)
{
	const struct config *cfg = ctx->state->cfg;
	char *end;
	long v;

	*b = config_find_booth(cfg, booth_word);
	if (*b < 0) {
		command_error(w, "%s: unknown booth '%.32s'", cmd, booth_word);
		return -EINVAL;
	}
	errno = 0;
	v = strtol(console_word, &end, 10);
	if (!*console_word || *end || errno || v < 1 || v > cfg->booths[*b].consoles) {
		command_error(w, "%s: booth %s has consoles 1 to %d, not '%.32s'", cmd, cfg->booths[*b].id,
			      cfg->booths[*b].consoles, console_word);
		return -EINVAL;
	}
	*n = (int)v;
	return 0;
}

static int on_off(struct json_writer *w, const char *cmd, const char *word)
{
	if (!strcmp(word, "on"))
		return 1;
	if (!strcmp(word, "off"))
		return 0;
	command_error(w, "%s: expected on or off, not '%.32s'", cmd, word);
	return -EINVAL;
}

static int parse_db(struct json_writer *w, const char *cmd, const char *word, double *db)
{
	char *end;
	errno = 0;
	*db = strtod(word, &end);
	if (!*word || *end || errno || *db != *db || isinf(*db)) {
		command_error(w, "%s: '%.32s' is not a number of dB", cmd, word);
		return -EINVAL;
	}
	return 0;
}

/* The common ending of a state mutation: refusal, or notes and a reply. */
static enum command_outcome finish(struct command_context *ctx, struct json_writer *w,
				   const char *cmd, int ret, const struct state_report *rep, int b, int n)
{
	const struct config *cfg = ctx->state->cfg;
	int i;

	if (ret < 0) {
		command_error(w, "%s: %s", cmd, rep->reason[0] ? rep->reason : strerror(-ret));
		return COMMAND_ERROR;
	}
	for (i = 0; i < rep->n_notes; i++)
		command_record(ctx, EVENT_CHANGE, NULL, 0, rep->notes[i]);
	jw_raw(w, "{\"ok\":true");
	if (b >= 0) {
		const struct console_state *c = state_console(ctx->state, b, n);
		jw_key(w, "booth", 0);
		jw_string(w, cfg->booths[b].id);
		jw_printf(w, ",\"n\":%d,\"mic\":%s,\"mute\":%s,\"output\":\"%c\"", n,
			  state_mic_on(ctx->state, b, n) ? "true" : "false", c->mute ? "true" : "false",
			  'A' + c->output);
		jw_key(w, "channel", 0);
		jw_string(w, cfg->languages[cfg->booths[b].outputs[c->output]].code);
		jw_key(w, "listen", 0);
		jw_string(w, command_listen_name(ctx->state, c));
		jw_key(w, "hears", 0);
		jw_string(w, command_hears_name(ctx->state, ctx->state->consoles[state_mic_index(ctx->state, b, n)].hears));
	}
	if (rep->taken_over)
		jw_printf(w, ",\"taken_over\":%d", rep->taken_over);
	if (rep->bumped_booth >= 0)
		jw_printf(w, ",\"bumped\":\"%s/%d\"", cfg->booths[rep->bumped_booth].id, rep->bumped_console);
	jw_key(w, "floor_language", 0);
	jw_string(w, ctx->state->floor_language);
	jw_printf(w, ",\"changed\":%s}", ret == 0 ? "true" : "false");
	return ret == 0 ? COMMAND_ROUTING : COMMAND_DONE;
}

/* ---- console commands ------------------------------------------------- */

/* mic and mute: "<cmd> <booth> <n> on|off". */
static enum command_outcome console_switch(struct command_context *ctx, int argc, char **argv,
					   struct json_writer *w,
					   int (*set)(struct state *, int, int, int, struct state_report *))
{
	struct state_report rep;
	int b, n, on;

	if (argc != 4) {
		command_usage_error(w, argv[0]);
		return COMMAND_ERROR;
	}
	if (command_console_args(ctx, w, argv[0], argv[1], argv[2], &b, &n) ||
	    (on = on_off(w, argv[0], argv[3])) < 0)
		return COMMAND_ERROR;
	return finish(ctx, w, argv[0], set(ctx->state, b, n, on, &rep), &rep, b, n);
}

static enum command_outcome cmd_mic(struct command_context *ctx, int argc, char **argv,
				    struct json_writer *w)
{
	return console_switch(ctx, argc, argv, w, state_set_mic);
}

static enum command_outcome cmd_mute(struct command_context *ctx, int argc, char **argv,
				     struct json_writer *w)
{
	const enum command_outcome outcome = console_switch(ctx, argc, argv, w, state_set_mute);
	int b, n;

	/* A mute said outright is not a held cough: no lease may undo it. */
	if (outcome != COMMAND_ERROR && !command_console_args(ctx, w, argv[0], argv[1], argv[2], &b, &n))
		ctx->state->cough_until_ms[state_mic_index(ctx->state, b, n)] = 0;
	return outcome;
}

/* cough: mute while a button is held. "on" holds it for COUGH_LEASE_MS,
 * renewed by the holder; "off", or the lapse, lets go. */
static enum command_outcome cmd_cough(struct command_context *ctx, int argc, char **argv,
				      struct json_writer *w)
{
	const enum command_outcome outcome = console_switch(ctx, argc, argv, w, state_set_mute);
	int b, n;

	/* The words were checked by console_switch: they parse. */
	if (outcome != COMMAND_ERROR && !command_console_args(ctx, w, argv[0], argv[1], argv[2], &b, &n))
		ctx->state->cough_until_ms[state_mic_index(ctx->state, b, n)] =
			strcmp(argv[3], "on") ? 0 : ctx->now_ms + COUGH_LEASE_MS;
	return outcome;
}

static enum command_outcome cmd_output(struct command_context *ctx, int argc, char **argv,
				       struct json_writer *w)
{
	struct state_report rep;
	int b, n;

	if (argc != 4) {
		command_usage_error(w, argv[0]);
		return COMMAND_ERROR;
	}
	if (command_console_args(ctx, w, "output", argv[1], argv[2], &b, &n))
		return COMMAND_ERROR;
	if (strlen(argv[3]) != 1 || argv[3][0] < 'A' || argv[3][0] > 'C') {
		command_error(w, "output: expected A, B or C, not '%.32s'", argv[3]);
		return COMMAND_ERROR;
	}
	return finish(ctx, w, "output", state_set_output(ctx->state, b, n, argv[3][0] - 'A', &rep), &rep,
		      b, n);
}

static enum command_outcome cmd_handover(struct command_context *ctx, int argc, char **argv,
					 struct json_writer *w)
{
	struct state_report rep;
	enum command_outcome ret;
	int b, from, to, b2;

	if (argc != 4) {
		command_usage_error(w, argv[0]);
		return COMMAND_ERROR;
	}
	if (command_console_args(ctx, w, "handover", argv[1], argv[2], &b, &from) ||
	    command_console_args(ctx, w, "handover", argv[1], argv[3], &b2, &to))
		return COMMAND_ERROR;
	ret = finish(ctx, w, "handover", state_handover(ctx->state, b, from, to, &rep), &rep, b, to);
	if (ret == COMMAND_ROUTING)
		console_requests_answered(ctx, b); /* the take-over answers any request */
	return ret;
}

static enum command_outcome cmd_listen(struct command_context *ctx, int argc, char **argv,
				       struct json_writer *w)
{
	struct state_report rep;
	enum listen_kind kind = LISTEN_RELAY;
	int b, n, lang = -1;

	if (argc != 4) {
		command_usage_error(w, argv[0]);
		return COMMAND_ERROR;
	}
	if (command_console_args(ctx, w, "listen", argv[1], argv[2], &b, &n))
		return COMMAND_ERROR;
	if (!strcmp(argv[3], "floor"))
		kind = LISTEN_FLOOR;
	else if (!strcmp(argv[3], "auto"))
		kind = LISTEN_AUTO;
	else if ((lang = config_find_language(ctx->state->cfg, argv[3])) < 0) {
		command_error(w, "listen: expected floor, auto or a channel's language, not '%.32s'", argv[3]);
		return COMMAND_ERROR;
	}
	return finish(ctx, w, "listen", state_set_listen(ctx->state, b, n, kind, lang, &rep), &rep, b, n);
}

static enum command_outcome cmd_volume(struct command_context *ctx, int argc, char **argv,
				       struct json_writer *w)
{
	struct state_report rep;
	double db;
	int b, n;

	if (argc != 4) {
		command_usage_error(w, argv[0]);
		return COMMAND_ERROR;
	}
	if (command_console_args(ctx, w, "volume", argv[1], argv[2], &b, &n) || parse_db(w, "volume", argv[3], &db))
		return COMMAND_ERROR;
	return finish(ctx, w, "volume", state_set_volume(ctx->state, b, n, db, &rep), &rep, b, n);
}

static enum command_outcome cmd_tone(struct command_context *ctx, int argc, char **argv,
				     struct json_writer *w)
{
	struct state_report rep;
	double bass, treble;
	int b, n;

	if (argc != 5) {
		command_usage_error(w, argv[0]);
		return COMMAND_ERROR;
	}
	if (command_console_args(ctx, w, "tone", argv[1], argv[2], &b, &n) || parse_db(w, "tone", argv[3], &bass) ||
	    parse_db(w, "tone", argv[4], &treble))
		return COMMAND_ERROR;
	return finish(ctx, w, "tone", state_set_tone(ctx->state, b, n, bass, treble, &rep), &rep, b, n);
}

static enum command_outcome cmd_floor_language(struct command_context *ctx, int argc, char **argv,
					       struct json_writer *w)
{
	struct state_report rep;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "pin"))) {
		command_usage_error(w, argv[0]);
		return COMMAND_ERROR;
	}
	return finish(ctx, w, "floor-language",
		      state_set_floor_language(ctx->state, argv[1], argc == 3, &rep), &rep, -1, 0);
}

/* slower and help: signals from a console to the chair and technician. */
static enum command_outcome signal_cmd(struct command_context *ctx, int argc, char **argv,
				       struct json_writer *w, enum event_kind kind)
{
	const char *name = event_kind_name(kind);
	const struct config *cfg = ctx->state->cfg;
	char text[EVENT_TEXT_MAX];
	const struct event *e;
	int b, n;

	if (argc != 3) {
		command_usage_error(w, name);
		return COMMAND_ERROR;
	}
	if (command_console_args(ctx, w, name, argv[1], argv[2], &b, &n))
		return COMMAND_ERROR;
	/* "slower" names the booth only: the speaker need not know who asked. */
	if (kind == EVENT_SLOWER)
		snprintf(text, sizeof text, "slower: booth %s asks the speaker to slow down", cfg->booths[b].id);
	else
		snprintf(text, sizeof text, "help: %s/%d calls the technician", cfg->booths[b].id, n);
	e = command_record(ctx, kind, cfg->booths[b].id, kind == EVENT_HELP ? n : 0, text);
	jw_raw(w, "{\"ok\":true");
	jw_key(w, "signal", 0);
	jw_string(w, name);
	jw_key(w, "booth", 0);
	jw_string(w, cfg->booths[b].id);
	if (e)
		jw_printf(w, ",\"seq\":%llu", (unsigned long long)e->seq);
	jw_raw(w, "}");
	return COMMAND_DONE;
}

static enum command_outcome cmd_slower(struct command_context *ctx, int argc, char **argv,
				       struct json_writer *w)
{
	return signal_cmd(ctx, argc, argv, w, EVENT_SLOWER);
}


/* "help" alone lists the commands; "help <booth> <n>" is the signal. */
static enum command_outcome cmd_help(struct command_context *ctx, int argc, char **argv,
				     struct json_writer *w)
{
	size_t i;

	if (argc > 1)
		return signal_cmd(ctx, argc, argv, w, EVENT_HELP);
	jw_raw(w, "{\"ok\":true,\"commands\":[");
	for (i = 0; i < N_COMMANDS; i++) {
		const char *form = commands[i].usage, *bar;
		/* Each form of a command on its own line, as help always listed them. */
		for (; form; form = bar ? bar + 3 : NULL) {
			bar = strstr(form, " | ");
			jw_raw(w, w->len && w->buf[w->len - 1] != '[' ? "," : "");
			if (bar && commands[i].split_forms) {
				char one[128];
				snprintf(one, sizeof one, "%.*s", (int)(bar - form), form);
				jw_string(w, one);
			} else {
				jw_string(w, form);
				bar = NULL;
			}
		}
	}
	jw_raw(w, "]}");
	return COMMAND_DONE;
}

/* A technician answers a signal (by its seq) or an alarm (by kind and
 * subject): it stops flashing in the control room. */
static enum command_outcome cmd_ack(struct command_context *ctx, int argc, char **argv, struct json_writer *w)
{
	char text[160], *end;
	unsigned long long seq;

	if (argc >= 3 && argc <= 4 && !strcmp(argv[1], "alarm")) {
		const char *subject = argc == 4 ? argv[3] : "";
		if (!ctx->alarms || alarm_ack(ctx->alarms, argv[2], subject) < 0) {
			command_error(w, "ack: no alarm %s%s%s is raised", argv[2], *subject ? " " : "", subject);
			return COMMAND_ERROR;
		}
		snprintf(text, sizeof text, "alarm %s%s%s acknowledged", argv[2], *subject ? " " : "", subject);
	} else if (argc == 2 && (seq = strtoull(argv[1], &end, 10)) > 0 && !*end) {
		const struct event *e = ctx->events ? event_log_get(ctx->events, seq) : NULL;
		if (!e || (e->kind != EVENT_SLOWER && e->kind != EVENT_HELP) || event_log_ack(ctx->events, seq) < 0) {
			command_error(w, "ack: no signal %llu (see status: signals)", seq);
			return COMMAND_ERROR;
		}
		snprintf(text, sizeof text, "signal %llu (%s from %s) acknowledged", seq, event_kind_name(e->kind),
			 e->booth);
	} else {
		command_usage_error(w, argv[0]);
		return COMMAND_ERROR;
	}
	if (ctx->log)
		ctx->log(ctx->log_user, text);
	jw_raw(w, "{\"ok\":true,\"acknowledged\":");
	jw_string(w, text);
	jw_raw(w, "}");
	return COMMAND_DONE;
}

/* The engine re-reads its config file: its work, its reply. */
static enum command_outcome cmd_reload(struct command_context *ctx, int argc, char **argv,
				       struct json_writer *w)
{
	(void)argv;
	if (argc != 1) {
		command_error(w, "reload: takes no arguments (it re-reads the config file)");
		return COMMAND_ERROR;
	}
	if (!ctx->reload) {
		command_error(w, "reload: not available in this engine");
		return COMMAND_ERROR;
	}
	return ctx->reload(ctx->reload_user, w) < 0 ? COMMAND_ERROR : COMMAND_DONE;
}

/* janus-config [destination]: the Streaming plugin's mountpoints for
 * this room, as text (tolkctl prints it as a file). */
static enum command_outcome cmd_janus_config(struct command_context *ctx, int argc, char **argv,
					     struct json_writer *w)
{
	const struct config *cfg = ctx->state->cfg;
	struct json_writer text;
	char *end;
	long d = 1;

	if (argc > 2) {
		command_usage_error(w, "janus-config");
		return COMMAND_ERROR;
	}
	if (!cfg->rtp.enabled) {
		command_error(w, "janus-config: this room sends no RTP (no rtp: section in %s)", cfg->source);
		return COMMAND_ERROR;
	}
	if (argc == 2 && ((d = strtol(argv[1], &end, 10)) < 1 || *end || d > cfg->rtp.n_destinations)) {
		command_error(w, "janus-config: '%s' is not a destination: this room has %d (1..%d)", argv[1],
			      cfg->rtp.n_destinations, cfg->rtp.n_destinations);
		return COMMAND_ERROR;
	}
	jw_init(&text);
	if (rtp_janus_config(cfg, (int)d - 1, ctx->rtp_secret ? ctx->rtp_secret : "", ctx->rtp_pin, &text) < 0 ||
	    text.failed) {
		jw_free(&text);
		command_error(w, "janus-config: out of memory");
		return COMMAND_ERROR;
	}
	jw_raw(w, "{\"ok\":true");
	jw_key(w, "destination", 0);
	jw_string(w, cfg->rtp.destinations[d - 1].host);
	jw_key(w, "jcfg", 0);
	jw_string(w, text.buf);
	jw_raw(w, "}");
	jw_free(&text);
	return COMMAND_DONE;
}

/* The one command table: name, handler, usage (every form, " | " between
 * them), the form an observer may use (NULL: none; "*": any; else exactly
 * those words), and the roles that may run it at all. A new command is a
 * row here and its handler. */
const struct command_def commands[] = {
	{ "status", cmd_status, "status", "*", ROLES_CONTROL, 0 },
	{ "events", cmd_events, "events [since <seq>] [--follow]", "*", ROLES_CONTROL, 0 },
	{ "meters", cmd_meters, "meters", "*", ROLES_CONTROL, 0 },
	{ "mic", cmd_mic, "mic <booth> <n> on|off", NULL, ROLES_CONSOLE, 0 },
	{ "mute", cmd_mute, "mute <booth> <n> on|off", NULL, ROLES_CONSOLE, 0 },
	{ "cough", cmd_cough, "cough <booth> <n> on|off", NULL, ROLES_CONSOLE, 0 },
	{ "output", cmd_output, "output <booth> <n> A|B|C", NULL, ROLES_CONSOLE, 0 },
	{ "handover", cmd_handover, "handover <booth> <from> <to>", NULL, ROLES_CONSOLE, 0 },
	{ "listen", cmd_listen, "listen <booth> <n> floor|auto|<language>", NULL, ROLES_CONSOLE, 0 },
	{ "volume", cmd_volume, "volume <booth> <n> <dB, -60..0>", NULL, ROLES_CONSOLE, 0 },
	{ "tone", cmd_tone, "tone <booth> <n> <bass dB> <treble dB>", NULL, ROLES_CONSOLE, 0 },
	{ "floor-language", cmd_floor_language, "floor-language <language> [pin]", NULL, ROLES_CONTROL, 0 },
	{ "record", cmd_record, "record start [meeting] | record stop | record status", "record status", ROLES_CONTROL, 0 },
	{ "inserts", cmd_inserts, "inserts", "*", ROLES_CONTROL, 0 },
	{ "insert", cmd_insert,
	  "insert <chain> <position|plugin> <param> <value> | insert <chain> <position|plugin> bypass on|off", NULL,
	  ROLES_CONTROL, 0 },
	{ "exposure", cmd_exposure, "exposure [YYYY-MM-DD]", "*", ROLES_CONTROL, 0 },
	{ "reload", cmd_reload, "reload", NULL, ROLES_CONTROL, 0 },
	{ "ack", cmd_ack, "ack <signal seq> | ack alarm <kind> [<subject>]", NULL, ROLES_CONTROL, 0 },
	{ "slower", cmd_slower, "slower <booth> <n>", NULL, ROLES_CONSOLE, 0 },
	{ "help", cmd_help, "help <booth> <n> | help", "help", ROLES_CONSOLE, 1 },
	{ "console", cmd_console, "console <booth> <n>", "*", ROLES_CONSOLE, 0 },
	{ "handover-request", cmd_handover_request, "handover-request <booth> <n>", NULL, ROLES_CONSOLE, 0 },
	{ "problem", cmd_problem, "problem <booth> <n>", NULL, ROLES_CONSOLE, 0 },
	{ "incident", cmd_incident,
	  "incident <what happened> [--severity low|medium|high] [--channel <code>]... | incident <id>", NULL,
	  ROLES_CONTROL, 0 },
	{ "incidents", cmd_incidents, "incidents", "*", ROLES_CONTROL, 0 },
	/* Not an observer's: it holds the mountpoints' secret and pin. */
	{ "janus-config", cmd_janus_config, "janus-config [destination]", NULL, ROLE_BIT(ROLE_TECHNICIAN), 0 },
};

const size_t N_COMMANDS = sizeof commands / sizeof commands[0];

static const struct command_def *command_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

void command_usage_error(struct json_writer *w, const char *name)
{
	const struct command_def *c = command_find(name);

	command_error(w, "usage: %s", c ? c->usage : name);
}

/* Do these words make the form an observer may use? */
static int is_read_form(const struct command_def *c, int argc, char **argv)
{
	char form[64], *words[MAX_WORDS];
	int n, i;

	if (!c->reads)
		return 0;
	if (!strcmp(c->reads, "*"))
		return 1;
	snprintf(form, sizeof form, "%s", c->reads);
	n = split_words(form, words);
	if (n != argc)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(words[i], argv[i]))
			return 0;
	return 1;
}

int command_is_read_only(const char *line)
{
	char copy[MAX_LINE];
	char *words[MAX_WORDS];
	const struct command_def *c;
	int argc;

	if (!line || strlen(line) >= sizeof copy)
		return 0;
	strcpy(copy, line);
	argc = split_words(copy, words);
	if (argc < 0)
		return 0;
	if (argc == 0)
		return 1; /* an empty request changes nothing; it gets its own error */
	c = command_find(words[0]);
	return c && is_read_form(c, argc, words);
}

/* What an interpreter's token may use, from the table, for its refusal. */
static void interpreter_refusal(const char *booth, char *why, size_t len)
{
	size_t i, at = (size_t)snprintf(why, len, "permission denied: booth %s's token may use its own consoles "
					     "only:", booth ? booth : "?");
	int first = 1;

	for (i = 0; i < N_COMMANDS && at < len; i++)
		if (commands[i].roles & ROLE_BIT(ROLE_INTERPRETER)) {
			at += (size_t)snprintf(why + at, len - at, "%s %s %s <n>", first ? "" : ",", commands[i].name,
					       booth ? booth : "<booth>");
			first = 0;
		}
}

int command_permits(enum role role, const char *booth, const char *line, char *why, size_t len)
{
	char copy[MAX_LINE], *words[MAX_WORDS];
	const struct command_def *c = NULL;
	const char *forms[sizeof commands / sizeof commands[0]];
	size_t i, at;
	int n = 0, argc = 0;

	if (role == ROLE_NONE) {
		snprintf(why, len, "no role on this engine");
		return 0;
	}
	if (line && strlen(line) < sizeof copy) {
		strcpy(copy, line);
		argc = split_words(copy, words);
		if (argc > 0)
			c = command_find(words[0]);
	}
	if (role == ROLE_INTERPRETER) {
		/* Its own booth's consoles, whatever the command: never another. */
		if (!c || !(c->roles & ROLE_BIT(role)) || argc < 3 || !booth || strcmp(words[1], booth)) {
			interpreter_refusal(booth, why, len);
			return 0;
		}
		return 1;
	}
	if (c && !(c->roles & ROLE_BIT(role))) {
		snprintf(why, len, "permission denied: the %s role may not use %s", role == ROLE_OBSERVER ? "observer"
			 : "technician", c->name);
		return 0;
	}
	if (role == ROLE_TECHNICIAN || command_is_read_only(line))
		return 1;
	/* The refusal lists what an observer may use, from the table. */
	for (i = 0; i < N_COMMANDS; i++)
		if (commands[i].reads)
			forms[n++] = strcmp(commands[i].reads, "*") ? commands[i].reads : commands[i].name;
	at = (size_t)snprintf(why, len, "permission denied: an observer may use");
	for (i = 0; i < (size_t)n && at < len; i++)
		at += (size_t)snprintf(why + at, len - at, "%s%s", i == 0 ? " " : i + 1 == (size_t)n ? " and " : ", ",
				       forms[i]);
	if (at < len)
		snprintf(why + at, len - at, " only");
	return 0;
}

enum command_outcome command_execute(struct command_context *ctx, const char *line,
				     struct json_writer *reply)
{
	char copy[MAX_LINE];
	char *words[MAX_WORDS];
	size_t i;
	int argc;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!ctx || !ctx->state || !line || !reply)
		return COMMAND_ERROR;
	if (strlen(line) >= sizeof copy) {
		command_error(reply, "request longer than %d bytes", MAX_LINE - 1);
		return COMMAND_ERROR;
	}
	for (i = 0; line[i]; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t' && line[i] != '\r' && line[i] != '\n') {
			command_error(reply, "request holds a control character");
			return COMMAND_ERROR;
		}
	strcpy(copy, line);
	argc = split_words(copy, words);
	if (argc < 0) {
		command_error(reply, "request has more than %d words", MAX_WORDS);
		return COMMAND_ERROR;
	}
	if (argc == 0) {
		command_error(reply, "empty request (try help)");
		return COMMAND_ERROR;
	}
	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(words[0], commands[i].name)) {
			enum command_outcome outcome = commands[i].run(ctx, argc, words, reply);
			if (outcome == COMMAND_ROUTING)
				state_track_shifts(ctx->state, ctx->now_ms);
			return outcome;
		}
	command_error(reply, "unknown command '%.64s' (try help)", words[0]);
	return COMMAND_ERROR;
}
