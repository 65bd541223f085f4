#include "room_metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "thread_role.h"

const char *const room_metrics_recording_states[] = { "stopped", "starting", "recording", "failed", "waiting-for-jack", "disabled", NULL };

/* A label set being written: the room's label first, then pairs. */
struct labels {
	struct json_writer *w;
	const char *room;
};

/* Label values escaped as the text format wants: \\, \" and \n. */
static void label_value(struct json_writer *w, const char *v)
{
	char buf[2];

	for (; *v; v++) {
		if (*v == '\\')
			jw_raw(w, "\\\\");
		else if (*v == '"')
			jw_raw(w, "\\\"");
		else if (*v == '\n')
			jw_raw(w, "\\n");
		else {
			buf[0] = *v;
			buf[1] = '\0';
			jw_raw(w, buf);
		}
	}
}

static void family(struct json_writer *w, const char *name, const char *type, const char *help)
{
	jw_printf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void value(struct json_writer *w, double v)
{
	if (isnan(v))
		jw_raw(w, " NaN\n");
	else if (isinf(v))
		jw_raw(w, v > 0 ? " +Inf\n" : " -Inf\n");
	else if (v == floor(v) && fabs(v) < 1e15)
		jw_printf(w, " %.0f\n", v);
	else
		jw_printf(w, " %.15g\n", v);
}

/* name{room="...",k1="v1",...} value: pairs end with NULL. */
static void sample(const struct labels *l, const char *name, double v, const char *const *pairs)
{
	struct json_writer *w = l->w;
	int i;

	jw_printf(w, "%s{room=\"", name);
	label_value(w, l->room);
	jw_raw(w, "\"");
	for (i = 0; pairs && pairs[i]; i += 2) {
		jw_printf(w, ",%s=\"", pairs[i]);
		label_value(w, pairs[i + 1] ? pairs[i + 1] : "");
		jw_raw(w, "\"");
	}
	jw_raw(w, "}");
	value(w, v);
}

/* A family with one series. */
static void single(const struct labels *l, const char *name, const char *type, const char *help, double v)
{
	family(l->w, name, type, help);
	sample(l, name, v, NULL);
}

static double to_dbfs(float level)
{
	return level > 0 ? 20.0 * log10(level) : -INFINITY;
}

static void write_engine(const struct labels *l, const struct metrics_readings *r)
{
	const char *info[] = { "version", r->version, "jack_server", r->jack_server ? r->jack_server : "", NULL };

	family(l->w, "tolk_build_info", "gauge", "Tolk's version and the JACK server it serves; always 1.");
	sample(l, "tolk_build_info", 1, info);
	single(l, "tolk_start_time_seconds", "gauge", "When this engine started, in Unix time.",
	       r->start_time_seconds);
	single(l, "tolk_jack_up", "gauge", "1 while the JACK server runs Tolk's process callback, 0 while it is gone.",
	       r->in->audio_up);
	if (r->in->audio_up && r->sample_rate) {
		single(l, "tolk_jack_sample_rate_hertz", "gauge", "The JACK server's sample rate.", r->sample_rate);
		single(l, "tolk_jack_period_seconds", "gauge", "The JACK period: one process cycle's audio.",
		       (double)r->period_frames / r->sample_rate);
	}
	single(l, "tolk_jack_xruns_total", "counter", "xruns the JACK server reported since Tolk's client opened.",
	       r->in->xruns);
	if (r->cycles) {
		const struct cycle_summary *c = r->cycles;
		const char *q50[] = { "quantile", "0.5", NULL }, *q99[] = { "quantile", "0.99", NULL },
			   *q1[] = { "quantile", "1", NULL };

		family(l->w, "tolk_process_time_seconds", "summary",
		       "Wall time of Tolk's process callback per cycle since the client opened.");
		sample(l, "tolk_process_time_seconds", c->p50_ns / 1e9, q50);
		sample(l, "tolk_process_time_seconds", c->p99_ns / 1e9, q99);
		sample(l, "tolk_process_time_seconds", c->max_ns / 1e9, q1);
		sample(l, "tolk_process_time_seconds_sum", c->sum_ns / 1e9, NULL);
		sample(l, "tolk_process_time_seconds_count", (double)c->cycles, NULL);
		single(l, "tolk_process_overruns_total", "counter",
		       "Process cycles whose own CPU time passed their period: Tolk's share of an xrun.",
		       (double)c->overruns);
		single(l, "tolk_process_wall_overruns_total", "counter",
		       "Process cycles longer than their period by the wall clock (preempted ones too).",
		       (double)c->wall_overruns);
	}
}

/* What feeds language channel lang: an interpreter, or the idle policy. */
static void channel_source(const struct config *cfg, const struct state *st, int lang, char *source, size_t len,
			   const char **kind)
{
	const struct channel_view *ch = &st->channels[lang];

	if (ch->booth >= 0) {
		snprintf(source, len, "%s/%d", cfg->booths[ch->booth].id, ch->console);
		*kind = ch->muted ? "interpreter-muted" : "interpreter";
	} else {
		snprintf(source, len, "%s", idle_policy_name(cfg->languages[lang].idle));
		*kind = "idle";
	}
}

/* The output meters of the floor, then the languages: the channels a
 * listener can be given. */
static void level_family(const struct labels *l, const struct config *cfg, const struct metrics_readings *r,
			 const char *name, const char *help, int peak_not_rms)
{
	float peak, rms;
	int lang;

	family(l->w, name, "gauge", help);
	for (lang = -1; lang < cfg->n_languages; lang++) {
		const char *pairs[] = { "channel", lang < 0 ? "floor" : cfg->languages[lang].code, NULL };
		r->in->meter(r->in->meter_user, 1, config_output_of_language(cfg, lang), &peak, &rms);
		sample(l, name, to_dbfs(peak_not_rms ? peak : rms), pairs);
	}
}

static void write_channels(const struct labels *l, const struct config *cfg, const struct state *st,
			   const struct metrics_readings *r)
{
	char source[TOLK_ID_MAX + 16];
	const char *kind;
	int lang;

	family(l->w, "tolk_channel_info", "gauge",
	       "A distribution channel: its language's name and what feeds it (kind interpreter, "
	       "interpreter-muted or idle; source the console booth/n, or the idle policy); always 1.");
	for (lang = 0; lang < cfg->n_languages; lang++) {
		channel_source(cfg, st, lang, source, sizeof source, &kind);
		const char *pairs[] = { "channel", cfg->languages[lang].code, "name", cfg->languages[lang].name,
					"kind", kind, "source", source, NULL };
		sample(l, "tolk_channel_info", 1, pairs);
	}
	family(l->w, "tolk_channel_live", "gauge",
	       "1 while an interpreter's mic is live (and not coughing) on the channel.");
	for (lang = 0; lang < cfg->n_languages; lang++) {
		const char *pairs[] = { "channel", cfg->languages[lang].code, NULL };
		sample(l, "tolk_channel_live", st->channels[lang].booth >= 0 && !st->channels[lang].muted, pairs);
	}
	if (!r->in->audio_up || !r->in->meter)
		return;
	level_family(l, cfg, r, "tolk_channel_rms_dbfs", "RMS level of a distribution channel's output, dBFS (-Inf silent).", 0);
	level_family(l, cfg, r, "tolk_channel_peak_dbfs", "Sample peak of a distribution channel's output, dBFS (-Inf silent).",
		     1);
	if (!r->loudness)
		return;
	family(l->w, "tolk_channel_short_term_loudness_lufs", "gauge",
	       "EBU R128 short-term (3 s) loudness of a language channel, LUFS (-Inf silent).");
	for (lang = 0; lang < cfg->n_languages; lang++) {
		const char *pairs[] = { "channel", cfg->languages[lang].code, NULL };
		double m = NAN, s = NAN;
		r->loudness(r->loudness_user, lang, &m, &s);
		sample(l, "tolk_channel_short_term_loudness_lufs", isfinite(s) ? s : -INFINITY, pairs);
	}
}

static void write_consoles(const struct labels *l, const struct config *cfg, const struct state *st,
			   const struct metrics_readings *r)
{
	int b, n, live = 0;

	for (b = 0; b < cfg->n_booths; b++)
		live += st->booths[b].live > 0;
	single(l, "tolk_consoles_live", "gauge", "Consoles whose mic is live.", live);
	if (!r->interventions || !r->in->audio_up)
		return;
	family(l->w, "tolk_limiter_interventions_total", "counter",
	       "Times the hearing limiter on a console's headphones held a burst down.");
	for (b = 0; b < cfg->n_booths; b++)
		for (n = 1; n <= cfg->booths[b].consoles; n++) {
			char console[12];
			const char *pairs[] = { "booth", cfg->booths[b].id, "console", console, NULL };
			double v = r->interventions(r->interventions_user, cfg->booths[b].first_mic + n - 1);
			snprintf(console, sizeof console, "%d", n);
			if (v >= 0)
				sample(l, "tolk_limiter_interventions_total", v, pairs);
		}
}

static void write_alarms(const struct labels *l, const struct metrics_readings *r)
{
	int i, active = 0;

	if (!r->alarms)
		return;
	for (i = 0; i < r->alarms->n; i++)
		active += r->alarms->alarms[i].raised_ms >= 0;
	single(l, "tolk_alarms_active", "gauge", "Alarms raised and not yet cleared.", active);
	family(l->w, "tolk_alarm_active", "gauge",
	       "1 while the alarm of this kind on this subject is raised, 0 once it has cleared.");
	for (i = 0; i < r->alarms->n; i++) {
		const struct alarm *a = &r->alarms->alarms[i];
		const char *pairs[] = { "kind", a->kind, "subject", a->subject, "acked", a->acked ? "true" : "false",
					NULL };
		/* A condition only ever watched, never raised, is no series:
		 * every port has a clipping watch. */
		if (a->ever_raised)
			sample(l, "tolk_alarm_active", a->raised_ms >= 0, pairs);
	}
}

static void write_recording(const struct labels *l, const struct metrics_readings *r)
{
	const struct alarm_readings *in = r->in;
	int i;

	if (r->recording_state) {
		family(l->w, "tolk_recording_state", "gauge", "The recorder's state: 1 for the state it is in.");
		for (i = 0; room_metrics_recording_states[i]; i++) {
			const char *pairs[] = { "state", room_metrics_recording_states[i], NULL };
			sample(l, "tolk_recording_state", !strcmp(r->recording_state, room_metrics_recording_states[i]),
			       pairs);
		}
	}
	if (!in->audio_up || !r->recording_state || !strcmp(r->recording_state, "disabled"))
		return;
	single(l, "tolk_recording_dropped_frames_total", "counter",
	       "Frames the recorder could not take in time (written as silence), every channel alike.",
	       (double)in->dropped);
	single(l, "tolk_recording_failures_total", "counter", "Times the recording failed (disk errors).",
	       in->failures);
	single(l, "tolk_recording_backlog_seconds", "gauge", "Audio captured and not yet written by the disk thread.",
	       in->backlog_seconds);
	if (in->seconds_left >= 0)
		single(l, "tolk_recording_disk_left_seconds", "gauge",
		       "Recording time left on the recordings' disk at the present rate of writing.", in->seconds_left);
}

static void write_streams(const struct labels *l, const struct metrics_readings *r)
{
	struct stream_reading s;
	int i;

	if (!r->stream || !r->in->n_streams || !r->in->audio_up)
		return;
	family(l->w, "tolk_stream_up", "gauge", "1 while a listener stream is connected to its Icecast server.");
	for (i = 0; i < r->in->n_streams; i++) {
		r->stream(r->stream_user, i, &s);
		const char *pairs[] = { "channel", s.channel, "mount", s.mount, NULL };
		sample(l, "tolk_stream_up", s.up, pairs);
	}
	family(l->w, "tolk_stream_dropped_bytes_total", "counter",
	       "Encoded bytes a listener stream dropped because its server did not take them in time.");
	for (i = 0; i < r->in->n_streams; i++) {
		r->stream(r->stream_user, i, &s);
		const char *pairs[] = { "channel", s.channel, "mount", s.mount, NULL };
		sample(l, "tolk_stream_dropped_bytes_total", (double)s.dropped_bytes, pairs);
	}
}

static void write_rtp(const struct labels *l, const struct metrics_readings *r)
{
	struct rtp_reading x;
	int i;

	if (!r->rtp || !r->n_rtp || !r->in->audio_up)
		return;
	family(l->w, "tolk_rtp_packets_total", "counter", "RTP packets sent, per channel and destination.");
	for (i = 0; i < r->n_rtp; i++) {
		r->rtp(r->rtp_user, i, &x);
		const char *pairs[] = { "channel", x.channel, "destination", x.destination, NULL };
		sample(l, "tolk_rtp_packets_total", (double)x.packets, pairs);
	}
	family(l->w, "tolk_rtp_bytes_total", "counter", "RTP bytes sent (headers and Opus), per channel and destination.");
	for (i = 0; i < r->n_rtp; i++) {
		r->rtp(r->rtp_user, i, &x);
		const char *pairs[] = { "channel", x.channel, "destination", x.destination, NULL };
		sample(l, "tolk_rtp_bytes_total", (double)x.bytes, pairs);
	}
	family(l->w, "tolk_rtp_send_errors_total", "counter", "RTP sends that failed, per destination.");
	for (i = 0; i < r->n_rtp; i++) {
		r->rtp(r->rtp_user, i, &x);
		if (!x.first)
			continue; /* one series per destination */
		const char *pairs[] = { "destination", x.destination, NULL };
		sample(l, "tolk_rtp_send_errors_total", (double)x.destination_errors, pairs);
	}
	single(l, "tolk_rtp_delay_median_seconds", "gauge",
	       "From a sample leaving the router to its RTP packet on the wire: the median of the last packets.",
	       r->rtp_delay_median);
	single(l, "tolk_rtp_delay_max_seconds", "gauge",
	       "From a sample leaving the router to its RTP packet on the wire: the worst of the last packets.",
	       r->rtp_delay_max);
}

void room_metrics_write(struct json_writer *w, const struct config *cfg, const struct state *st,
			const struct metrics_readings *r)
{
	const struct labels l = { w, cfg->room };

	ASSERT_THREAD(THREAD_CONTROL);
	write_engine(&l, r);
	write_channels(&l, cfg, st, r);
	write_consoles(&l, cfg, st, r);
	write_alarms(&l, r);
	write_recording(&l, r);
	write_streams(&l, r);
	write_rtp(&l, r);
}
