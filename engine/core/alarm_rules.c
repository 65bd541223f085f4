#include "alarm_rules.h"

#include <math.h>
#include <stdio.h>

#include "thread_role.h"

static double to_db(float level)
{
	return level > 1e-9f ? 20.0 * log10(level) : -200.0;
}

/* Per language channel: a live mic that says nothing, two mics live. */
static void check_channels(struct alarm_tracker *t, const struct config *cfg, const struct state *st,
			   const struct alarm_readings *in, int64_t clear)
{
	const struct cfg_alarms *th = &cfg->alarms;
	char detail[ALARM_DETAIL_MAX];
	float peak, rms;
	int lang, b, live_count;

	for (lang = 0; lang < cfg->n_languages; lang++) {
		const struct channel_view *ch = &st->channels[lang];
		int silent = 0;
		detail[0] = '\0';
		if (ch->booth >= 0 && !ch->muted) {
			int mic = cfg->booths[ch->booth].first_mic + ch->console - 1;
			in->meter(in->meter_user, 0, config_input_of_mic(cfg, mic), &peak, &rms);
			silent = to_db(rms) < th->live_silent_db;
			snprintf(detail, sizeof detail, "%s/%d is live but below %g dBFS", cfg->booths[ch->booth].id,
				 ch->console, th->live_silent_db);
		}
		alarm_state(t, in->now_ms, "live-silent", cfg->languages[lang].code, silent,
			    (int64_t)(th->live_silent_seconds * 1000), clear, detail);
		for (b = 0, live_count = 0; b < cfg->n_booths; b++)
			live_count += st->booths[b].live &&
				      cfg->booths[b].outputs[st->booths[b].consoles[st->booths[b].live - 1].output] == lang;
		alarm_state(t, in->now_ms, "both-open", cfg->languages[lang].code, live_count > 1, 0, clear,
			    "two mics live on one channel");
	}
}

/* Every port: the floor's silence, clipping anywhere, consoles without a
 * pivot. */
static void check_ports(struct alarm_tracker *t, const struct config *cfg, const struct state *st,
			const struct alarm_readings *in, int64_t clear)
{
	const struct cfg_alarms *th = &cfg->alarms;
	const int outputs = config_output_count(cfg);
	char name[TOLK_PORT_NAME_MAX], detail[ALARM_DETAIL_MAX];
	float peak, rms;
	int i, b, n;

	in->meter(in->meter_user, 1, 0, &peak, &rms);
	snprintf(detail, sizeof detail, "the floor is below %g dBFS", th->floor_silent_db);
	alarm_state(t, in->now_ms, "floor-silent", "", to_db(rms) < th->floor_silent_db,
		    (int64_t)(th->floor_silent_seconds * 1000), clear, detail);
	for (i = 0; i < outputs + config_input_count(cfg); i++) {
		const int is_output = i < outputs, k = is_output ? i : i - outputs;
		if (is_output)
			config_output_name(cfg, k, name, sizeof name);
		else
			config_input_name(cfg, k, name, sizeof name);
		in->meter(in->meter_user, is_output, k, &peak, &rms);
		snprintf(detail, sizeof detail, "peak %.1f dBFS", to_db(peak));
		alarm_state(t, in->now_ms, "clipping", name, to_db(peak) >= th->clip_dbfs, 0, clear, detail);
	}
	for (b = 0; b < cfg->n_booths; b++)
		for (n = 1; n <= cfg->booths[b].consoles; n++) {
			const struct console_view *v = &st->consoles[cfg->booths[b].first_mic + n - 1];
			snprintf(name, sizeof name, "%s/%d", cfg->booths[b].id, n);
			alarm_state(t, in->now_ms, "no-pivot", name, v->no_pivot, 0, clear,
				    "auto-relay found no pivot: hearing the floor");
		}
}

/* The engine's counters and the recording: xruns, drops, failures, the
 * disk, the listener streams. */
static void check_counters(struct alarm_rules *r, struct alarm_tracker *t, const struct config *cfg,
			   const struct alarm_readings *in, int64_t clear)
{
	char detail[ALARM_DETAIL_MAX];
	double behind;
	int i;

	snprintf(detail, sizeof detail, "%u xrun(s) in all", in->xruns);
	alarm_state(t, in->now_ms, "xrun", "", in->xruns != r->xruns_seen, 0, 5 * clear, detail);
	snprintf(detail, sizeof detail, "%llu frame(s) dropped in all", (unsigned long long)in->dropped);
	alarm_state(t, in->now_ms, "recording-drop", "", in->dropped != r->dropped_seen, 0, 5 * clear, detail);
	if (in->failures < r->failures_seen) /* a new recorder after a reload */
		r->failures_seen = in->failures;
	snprintf(detail, sizeof detail, "recording failed %u time(s): see the log and record status", in->failures);
	alarm_state(t, in->now_ms, "recording-failed", "", in->failed_now || in->failures != r->failures_seen, 0,
		    5 * clear, detail);
	/* Raised long before the rings overflow: the encoders are not keeping
	 * up, and frames will be dropped if it goes on. Never later than half
	 * the rings, whatever the threshold says. */
	behind = cfg->alarms.recording_behind_seconds;
	if (behind > cfg->recording.buffer_seconds / 2)
		behind = cfg->recording.buffer_seconds / 2;
	snprintf(detail, sizeof detail, "the recorder is %.1f s behind: its encoders are not keeping up",
		 in->backlog_seconds);
	alarm_state(t, in->now_ms, "recording-behind", "", in->backlog_seconds > behind, 1000, clear, detail);
	snprintf(detail, sizeof detail, "%.0f minute(s) of recording left on the disk", in->seconds_left / 60);
	alarm_state(t, in->now_ms, "disk-low", "",
		    in->seconds_left >= 0 && in->seconds_left < cfg->alarms.disk_low_minutes * 60, 0, clear, detail);
	for (i = 0; i < in->n_streams; i++) {
		const char *mount = "";
		char why[80] = "";
		int up = in->stream(in->stream_user, i, &mount, why, sizeof why);
		snprintf(detail, sizeof detail, "listeners of %.48s hear nothing: %.60s", mount, why);
		/* A stream comes back by itself: it is cleared as soon as it is up. */
		alarm_state(t, in->now_ms, "stream-down", mount, !up, 3000, 0, detail);
	}
	for (i = 0; i < in->n_rtp; i++) {
		char subject[ALARM_SUBJECT_MAX], why[80] = "";
		int failing = in->rtp(in->rtp_user, i, subject, sizeof subject, why, sizeof why);
		snprintf(detail, sizeof detail, "RTP to %.60s cannot be sent: %.60s", subject, why);
		/* Raised once on the first failure, cleared when sends go through again. */
		alarm_state(t, in->now_ms, "rtp-send", subject, failing, 0, clear, detail);
	}
	r->xruns_seen = in->xruns;
	r->dropped_seen = in->dropped;
	r->failures_seen = in->failures;
}

void alarm_rules_check(struct alarm_rules *r, struct alarm_tracker *t, const struct config *cfg,
		       const struct state *st, const struct alarm_readings *in)
{
	const int64_t clear = (int64_t)(cfg->alarms.clear_seconds * 1000);

	ASSERT_THREAD(THREAD_CONTROL);
	alarm_begin(t);
	alarm_state(t, in->now_ms, "jack-down", "", !in->audio_up, 0, clear,
		    "the JACK server is gone: no audio, no recording; waiting for it");
	if (in->audio_up) {
		check_channels(t, cfg, st, in, clear);
		check_ports(t, cfg, st, in, clear);
		check_counters(r, t, cfg, in, clear);
	}
	alarm_end(t, in->now_ms, clear);
}
