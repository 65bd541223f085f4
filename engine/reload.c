/* Reload: a new config read, checked and diffed; the new room's audio
 * side built beside the running one and switched to in one realtime cycle;
 * SIGHUPs and early requests coalesced. A file that does not load changes
 * nothing.
 * Thread: control. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config_diff.h"
#include "core/utc_time.h"
#include "engine.h"

static void reply_reset(struct json_writer *w)
{
	w->len = 0;
	w->failed = 0;
	if (w->buf)
		w->buf[0] = '\0';
}

struct reload_words {
	struct engine *e;
	struct json_writer *w;
	int n;
};

/* One change a reload makes: the reply, and the log, audit and timeline. */
static void say_change(void *user, const char *line)
{
	struct reload_words *r = user;
	char text[600];

	jw_raw(r->w, r->n++ ? "," : "");
	jw_string(r->w, line);
	snprintf(text, sizeof text, "reload: %s", line);
	if (r->e)
		note_change(r->e, text);
}

/* The booth and console (1-based) of mic k. */
static int mic_console(const struct config *cfg, int k, int *n)
{
	int b;

	for (b = 0; b < cfg->n_booths; b++)
		if (k >= cfg->booths[b].first_mic && k < cfg->booths[b].first_mic + cfg->booths[b].consoles) {
			*n = k - cfg->booths[b].first_mic + 1;
			return b;
		}
	return -1;
}

/* The same console's mic in the other config, or -1. */
static int same_mic(const struct config *now, int k, const struct config *was, int *b_now, int *b_was)
{
	int n;

	*b_now = mic_console(now, k, &n);
	*b_was = *b_now >= 0 ? config_find_booth(was, now->booths[*b_now].id) : -1;
	if (*b_was < 0 || n > was->booths[*b_was].consoles)
		return -1;
	return was->booths[*b_was].first_mic + n - 1;
}

/* Every chain of the new rack whose config is the same as the running
 * one's takes over its plugins and delay lines: no reset, no gap. */
static int adopt_inserts(struct insert_rack *k, const struct config *now, struct insert_rack *old,
			 const struct config *was)
{
	int c, adopted = 0;

	for (c = 0; c < k->n_chains; c++) {
		int index, from = -1, bn, bw, lang;
		enum chain_kind kind = rack_chain_kind(k, c, &index);

		if (kind == CHAIN_MIC || kind == CHAIN_PHONES) {
			int m = same_mic(now, index, was, &bn, &bw);
			if (m >= 0 && kind == CHAIN_MIC &&
			    config_chain_equal(config_mic_chain(now, bn), config_mic_chain(was, bw)))
				from = rack_chain_index(old, CHAIN_MIC, m);
			if (m >= 0 && kind == CHAIN_PHONES && !memcmp(&now->hearing, &was->hearing, sizeof now->hearing) &&
			    config_chain_equal(config_phones_chain(now, bn), config_phones_chain(was, bw)))
				from = rack_chain_index(old, CHAIN_PHONES, m);
		} else {
			lang = index == 0 ? -1 : config_find_language(was, now->languages[index - 1].code);
			if ((index == 0 || lang >= 0) &&
			    config_chain_equal(config_output_chain(now, index - 1), config_output_chain(was, lang)))
				from = rack_chain_index(old, CHAIN_OUTPUT, lang + 1);
		}
		if (from >= 0 && rack_adopt_chain(k, c, old, from) == 0)
			adopted++;
	}
	rack_adopt_floor(k, old);
	return adopted;
}

/* Where the kept recorder's channels are in the new config's ports; -1
 * when one is not there, or the new config records another set. */
static int recorder_follows(const struct recorder *r, const struct config *now, int *sources)
{
	struct recorder_channel *list;
	int n = recorder_channels(now, &list), i, ok = n == r->n_channels;

	for (i = 0; ok && i < n; i++) {
		ok = !strcmp(list[i].name, r->channels[i].name);
		sources[i] = list[i].source;
	}
	if (n >= 0)
		free(list);
	return ok ? 0 : -1;
}

static int languages_same(const struct config *a, const struct config *b)
{
	int i;

	if (a->n_languages != b->n_languages)
		return 0;
	for (i = 0; i < a->n_languages; i++)
		if (strcmp(a->languages[i].code, b->languages[i].code))
			return 0;
	return 1;
}

/* The running sender's channels, by code, in next's outputs: 1 with the
 * new plan's sources in *sources, 0 when the channels differ, -ENOMEM. */
static int rtp_follows(const struct rtp_sender *s, const struct config *next, int **sources)
{
	struct rtp_channel *ch = calloc(RTP_CHANNELS_MAX, sizeof *ch);
	int n, k, same;

	if (!ch || !(*sources = calloc((size_t)s->n + 1, sizeof **sources))) {
		free(ch);
		return -ENOMEM;
	}
	n = rtp_channels_of(next, ch);
	same = n == s->n;
	for (k = 0; same && k < n; k++) {
		same = !strcmp(ch[k].code, s->out[k].ch.code);
		(*sources)[k] = ch[k].output;
	}
	free(ch);
	if (!same) {
		free(*sources);
		*sources = NULL;
	}
	return same;
}

/* The audio side for the new config, built beside the running one and
 * switched to in one realtime cycle. Channels and consoles whose ports,
 * sources and inserts stay go on sample for sample: the router takes over
 * the gains where they are, the chains their running plugins. The recorder
 * goes on when it records the same channels; otherwise the recording goes
 * on in a new segment from the switch, frame for frame. */
static int reload_audio(struct engine *e, struct config *next, const struct state *st, struct json_writer *w,
			char *err, size_t errlen)
{
	struct audio *old = e->au, *a = calloc(1, sizeof *a);
	struct rt_plan *plan = NULL;
	int *in_map = NULL, *out_map = NULL, keep_rec, keep_loud, keep_pre, keep_rtp, ret, segment = 0, running = 0;
	char meeting[TOLK_MEETING_MAX] = "";

	if (!a)
		return -ENOMEM;
	if ((ret = open_mixing(e, a, next, st, err, errlen)) < 0)
		goto fail;
	/* The streams ride with the recorder that feeds them. */
	keep_rec = config_section_equal(e->cfg, next, "recording") && config_section_equal(e->cfg, next, "stream");
	if (keep_rec) {
		a->rec_sources = calloc((size_t)old->rec->n_channels + 1, sizeof *a->rec_sources);
		if (!a->rec_sources) {
			ret = -ENOMEM;
			goto fail;
		}
		keep_rec = recorder_follows(old->rec, next, a->rec_sources) == 0;
		if (!keep_rec) {
			free(a->rec_sources);
			a->rec_sources = NULL;
		}
	}
	if (!keep_rec && (ret = open_recorder(e, a, next, err, errlen)) < 0)
		goto fail;
	keep_loud = languages_same(e->cfg, next);
	/* The pre-roll goes on through a reload that keeps the channels (and
	 * the incidents' window): an incident being collected keeps its audio. */
	keep_pre = keep_loud && next->incidents.pre_seconds == e->cfg->incidents.pre_seconds &&
		   next->incidents.post_seconds == e->cfg->incidents.post_seconds &&
		   next->incidents.audio == e->cfg->incidents.audio;
	if (!keep_loud && (ret = open_loudness(e, a, next)) < 0) {
		snprintf(err, errlen, "cannot start the loudness meter");
		goto fail;
	}
	if (!keep_pre && (ret = open_preroll(e, a, next)) < 0) {
		snprintf(err, errlen, "cannot start the incidents' pre-roll");
		goto fail;
	}
	/* RTP goes on through a reload that sends the same channels the same
	 * way (they may sit on other ports now); otherwise a new sender takes
	 * over each channel's sequence and timestamps after the switch. */
	if ((keep_rtp = old->rtp && config_section_equal(e->cfg, next, "rtp")) &&
	    (ret = rtp_follows(old->rtp, next, &a->rtp_sources)) <= 0) {
		if (ret < 0)
			goto fail;
		keep_rtp = 0;
	}
	if (!keep_rtp && (ret = open_rtp(e, a, next, err, errlen)) < 0)
		goto fail;
	plan = jack_shell_plan(&e->jack, next, &a->router, &a->exchange, err, errlen);
	in_map = calloc((size_t)config_input_count(next) + 1, sizeof *in_map);
	out_map = calloc((size_t)config_output_count(next) + 1, sizeof *out_map);
	if (!plan || !in_map || !out_map) {
		if (plan)
			snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	if (jack_shell_plan_add_capture(plan, keep_rec ? &old->rec->capture : &a->rec->capture, a->rec_sources) < 0 ||
	    jack_shell_plan_add_capture(plan, keep_loud ? &old->loudness->capture : &a->loudness->capture,
					keep_loud ? old->loudness_sources : a->loudness_sources) < 0 ||
	    ((keep_pre ? old->preroll : a->preroll) &&
	     jack_shell_plan_add_capture(plan, keep_pre ? &old->preroll->capture : &a->preroll->capture,
					 keep_pre ? old->preroll_sources : a->preroll_sources) < 0) ||
	    ((keep_rtp ? old->rtp : a->rtp) &&
	     jack_shell_plan_add_capture(plan, keep_rtp ? &old->rtp->capture : &a->rtp->capture, a->rtp_sources) < 0)) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	jack_shell_plan_map(&e->jack, plan, in_map, out_map);
	if ((ret = router_adopt(&a->router, &old->router, out_map, in_map)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Nothing can fail from here on: the new rack takes the old one's
	 * plugins, which the old one then no longer owns. */
	ret = adopt_inserts(&a->rack, next, &old->rack, e->cfg);
	jw_printf(w, ",\"inserts_kept\":%d,\"inserts_new\":%d", ret, a->rack.n_chains - ret);
	if (!keep_rec)
		running = recorder_running(old->rec, meeting, sizeof meeting, &segment);
	if (running) {
		char why[512];
		/* It arms now and takes its first block from the switch on. */
		if (recorder_continue(a->rec, meeting, segment, why, sizeof why) < 0) {
			log_line("ALARM: recording %s not continued after the reload: %s", meeting, why);
		} else {
			/* Armed before the switch, so that its first block is the
			 * frame after the old recorder's last. */
			int waited;
			for (waited = 0; waited < 1000 && !atomic_load(&a->rec->capture.armed); waited++)
				nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		}
	}
	lock_rt_memory(&a->router, &a->rack);
	hearing_log_close(&old->hearing); /* this minute's share, before the sums start over */
	memset(&old->hearing, 0, sizeof old->hearing);
	ret = jack_shell_switch(&e->jack, plan, 2000, link_note, e);
	if (ret < 0) {
		/* The realtime thread did not come round: nothing old may be
		 * freed. The server is going; the reconnect path takes over. */
		log_line("reload: the JACK server did not run a cycle; the old room is left in memory");
		e->au = a;
		free(in_map);
		free(out_map);
		return 0;
	}
	if (running)
		recorder_stop(old->rec, err, errlen);
	if (keep_rec) {
		a->rec = old->rec;
		a->streamer = old->streamer; /* it rides with the recorder that feeds it */
		old->rec = NULL;
		old->streamer = NULL;
	}
	if (keep_loud) {
		a->loudness = old->loudness;
		a->loudness_sources = old->loudness_sources;
		old->loudness = NULL;
		old->loudness_sources = NULL;
	}
	if (keep_pre) {
		a->preroll = old->preroll;
		a->preroll_sources = old->preroll_sources;
		old->preroll = NULL;
		old->preroll_sources = NULL;
	} else
		incidents_audio_going(e); /* the old channels' audio, before their pre-roll goes */
	if (keep_rtp) {
		a->rtp = old->rtp;
		if (old->rtp_sources != old->rtp->sources)
			free(old->rtp_sources);
		old->rtp_sources = NULL;
		old->rtp = NULL;
	}
	audio_free(old);
	free(old);
	e->au = a;
	if (rtp_start(a) < 0)
		log_line("ALARM: after the reload: the RTP sender did not start");
	free(in_map);
	free(out_map);
	if (hearing_log_open(&a->hearing, next, &a->router, &a->rack, jack_shell_sample_rate(&e->jack),
			     log_dir(e, next), on_hearing, e, err, errlen) < 0)
		log_line("ALARM: after the reload: %s", err);
	jw_printf(w, ",\"recording\":\"%s\"", keep_rec ? "kept" : running ? "new segment" : "new channels");
	return 0;

fail:
	if (plan)
		jack_shell_plan_discard(&e->jack, plan);
	free(in_map);
	free(out_map);
	audio_free(a);
	free(a);
	return ret < 0 ? ret : -ENOMEM;
}

static int reload_now(struct engine *e, struct json_writer *w);

/* reload and SIGHUP: re-read the config file. A reload that comes within
 * RELOAD_GAP_MS of the last one waits and is coalesced with any others
 * into one reload of the file as it is then (the reply says so): under
 * jackd2, ports registered and unregistered several times a second cost
 * xruns. */
int reload(void *user, struct json_writer *w)
{
	struct engine *e = user;
	const int64_t since = utc_now_ms() - e->last_reload_ms;

	if (since < RELOAD_GAP_MS) {
		e->reloads_waiting++;
		jw_printf(w, "{\"ok\":true,\"coalesced\":true,\"note\":\"a reload ran %lld ms ago: this one is "
			  "applied in %lld ms, with the file as it is then\"}", (long long)since,
			  (long long)(RELOAD_GAP_MS - since));
		return 0;
	}
	return reload_now(e, w);
}

/* A file that does not load changes nothing; the reply carries its
 * file:line:col error. */
static int reload_now(struct engine *e, struct json_writer *w)
{
	struct config *next = calloc(1, sizeof *next), *was = e->cfg;
	struct access_policy access;
	struct state st, old_state;
	struct state_report rep;
	struct reload_words words = { NULL, w, 0 };
	struct channel_view *last;
	char err[TOLK_ERROR_MAX + 256] = "";
	int i, n;

	if (!next) {
		command_error(w, "reload: out of memory");
		return -ENOMEM;
	}
	if (config_load_file(next, e->opt->config, err, sizeof err) < 0 ||
	    insert_host_check(&e->plugins, next, err, sizeof err) < 0 ||
	    listeners_read_secrets(e, next, err, sizeof err) < 0) {
		command_error(w, "reload refused, the running configuration stays: %s", err);
		free(next);
		return -EINVAL;
	}
	jw_raw(w, "{\"ok\":true,\"changed\":[");
	n = config_diff(was, next, say_change, &words);
	jw_raw(w, "]");
	if (n == 0) {
		jw_raw(w, ",\"note\":\"no change\"}");
		config_free(next);
		free(next);
		return 0;
	}
	memset(&access, 0, sizeof access);
	if (state_init(&st, next) < 0 || state_adopt(&st, &e->state, &rep) < 0 ||
	    access_init(&access, next, e->opt->config, err, sizeof err) < 0 ||
	    !(last = calloc((size_t)next->n_languages + 1, sizeof *last))) {
		state_free(&st);
		access_free(&access);
		reply_reset(w);
		command_error(w, "reload refused, the running configuration stays: %s", *err ? err : "out of memory");
		config_free(next);
		free(next);
		return -EINVAL;
	}
	e->last_reload_ms = utc_now_ms(); /* ports may come and go from here: the next reload waits its gap */
	if (e->audio_up && reload_audio(e, next, &st, w, err, sizeof err) < 0) {
		reply_reset(w);
		command_error(w, "reload refused, the running configuration stays: %s", err);
		state_free(&st);
		access_free(&access);
		free(last);
		config_free(next);
		free(next);
		return -EINVAL;
	}
	/* From here on the new room is in force. */
	old_state = e->state;
	e->state = st;
	e->state.cfg = next;
	state_free(&old_state);
	access_free(&e->access);
	e->access = access;
	if (e->osc.fd >= 0 && config_osc_equal(was, next)) {
		osc_rebind(&e->osc, next, &e->state, &e->au->router);
	} else {
		osc_close(&e->osc);
		if (next->osc.enabled && osc_open(&e->osc, next, &e->state, &e->au->router, osc_run, e, err, sizeof err) < 0)
			log_line("ALARM: after the reload: %s", err);
	}
	if (!config_section_equal(was, next, "web")) {
		char made[WEB_TOKEN_MAX] = "";
		if (e->web.token_made)
			snprintf(made, sizeof made, "%s", e->web.technician); /* the same page keeps working */
		web_close(&e->web);
		if (next->web.enabled && open_web(e, next, *made ? made : NULL) < 0)
			log_line("ALARM: after the reload: the web page is off");
	}
	/* Told now that it is done: the log, the audit, the timeline (the
	 * reply has them already; the second pass writes into scratch). */
	words.e = e;
	words.w = &e->stream;
	words.n = 0;
	e->stream.len = 0;
	config_diff(was, next, say_change, &words);
	e->cfg = next;
	config_free(was);
	free(was);
	if (midi_leds_reset(e) < 0)
		log_line("MIDI consoles: out of memory; their LEDs are not updated");
	free(e->last_channels);
	e->last_channels = last;
	jw_raw(w, ",\"notes\":[");
	for (i = 0; i < rep.n_notes; i++) {
		jw_raw(w, i ? "," : "");
		jw_string(w, rep.notes[i]);
	}
	jw_raw(w, "]}");
	for (i = 0; i < rep.n_notes; i++)
		note_change(e, rep.notes[i]);
	e->routing_dirty = 1;
	publish_routing(e);
	timeline_channels(e, 1);
	if (e->osc.fd >= 0)
		osc_push_state(&e->osc);
	return 0;
}

/* SIGHUP, and reloads that waited: the same reload as tolkctl's, audited
 * as the signal (or, when tolkctl requests waited too, as coalesced).
 * Requests that came while the last reload was being applied, or just
 * after it, are one reload of the file as it is now: the last file wins. */
void reload_waiting(struct engine *e)
{
	const int n = e->hup_pending + e->reloads_waiting;
	char text[96], actor[64];

	if (n > 1) {
		snprintf(text, sizeof text, "reload: %d requests coalesced into one; the file as it is now applies", n);
		log_line("%s", text);
		event_log_add(&e->events, utc_now_ms(), EVENT_CHANGE, "", 0, text);
	}
	/* Each tolkctl request was audited when it came; this is the one
	 * reload that answers them all. */
	snprintf(actor, sizeof actor, "\"signals\":%d,\"requests\":%d", e->hup_pending, e->reloads_waiting);
	if (e->reloads_waiting)
		run_command(e, &(struct origin){ "coalesced", actor, "coalesced reload", ROLE_TECHNICIAN, NULL, "" },
			    "reload", NULL, NULL);
	else
		run_command(e, &(struct origin){ "signal", "\"signal\":\"SIGHUP\"", "SIGHUP", ROLE_TECHNICIAN, NULL, "" },
			    "reload", NULL, NULL);
	log_line("%s: %s", e->reloads_waiting ? "coalesced reload" : "SIGHUP", e->reply.buf ? e->reply.buf : "");
	e->hup_pending = e->reloads_waiting = 0;
}
