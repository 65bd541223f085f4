/* The audio side: the JACK client and everything it feeds (router,
 * inserts, hearing log, recorder, streams, loudness), opened with every
 * realtime buffer allocated and touched before activation, closed with
 * every recording finished, lost with its server and retried.
 * Thread: control. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/utc_time.h"
#include "engine.h"

/* Keep the realtime thread's own buffers in RAM. Not mlockall: locking
 * libjack's shared memory along with ours keeps jackd from unregistering
 * itself when it goes away, which leaks one of its eight server slots.
 * MLOCK_ONFAULT: the buffers are touched already, so there is nothing to
 * populate, and plain mlock's walk over them holds the process's memory
 * map lock long enough, during a reload, for the realtime thread to miss
 * its period on a fault of its own (a new port's buffer): xruns under
 * jackd2, seen as lost periods on channels the reload never touched.
 * Without the privilege this fails, and Tolk still runs. */
static int lock_region(void *addr, size_t len, void *user)
{
	(void)user;
	return addr && len && mlock2(addr, len, MLOCK_ONFAULT) < 0 ? -errno : 0;
}

void lock_rt_memory(const struct router *r, const struct insert_rack *rack)
{
	struct memory_region regions[16];
	int i, n = router_memory(r, regions, 16), ret = 0;

	for (i = 0; i < n && !ret; i++)
		ret = lock_region(regions[i].addr, regions[i].len, NULL);
	if (!ret)
		ret = rack_each_memory(rack, lock_region, NULL);
	if (ret)
		log_line("note: cannot lock realtime memory (%s); a page-out could cause a dropout", strerror(-ret));
}

/* The recorder and its rings exist before activation: allocating them is
 * not for the realtime thread. Its sources are where its channels are in
 * cfg's ports. */
int open_recorder(struct engine *e, struct audio *a, const struct config *cfg, char *err, size_t errlen)
{
	int i;

	a->rec = calloc(1, sizeof *a->rec);
	if (!a->rec)
		return -ENOMEM;
	if (recorder_init(a->rec, cfg, e->opt->record_dir, jack_shell_sample_rate(&e->jack), &e->jack.xruns, err,
			  errlen) < 0) {
		free(a->rec);
		a->rec = NULL;
		return -EINVAL;
	}
	a->rec->clock_us = jack_shell_clock_us;
	recorder_set_floor_language(a->rec, e->state.floor_language);
	a->rec_sources = calloc((size_t)a->rec->n_channels + 1, sizeof *a->rec_sources);
	if (!a->rec_sources)
		return -ENOMEM;
	for (i = 0; i < a->rec->n_channels; i++)
		a->rec_sources[i] = a->rec->channels[i].source;
	if (cfg->stream.enabled) {
		int ret;
		a->streamer = calloc(1, sizeof *a->streamer);
		if (!a->streamer)
			return -ENOMEM;
		if ((ret = streamer_init(a->streamer, cfg, a->rec->channels, a->rec->n_channels,
					 jack_shell_sample_rate(&e->jack), err, errlen)) < 0)
			return ret;
		a->rec->streamer = a->streamer;
	}
	if (recorder_run(a->rec) < 0 || (a->streamer && streamer_run(a->streamer) < 0)) {
		snprintf(err, errlen, "cannot start the recorder");
		return -ENOMEM;
	}
	return 0;
}

/* R128 loudness of every language channel, off the audio thread. */
int open_loudness(struct engine *e, struct audio *a, const struct config *cfg)
{
	int i;

	a->loudness = calloc(1, sizeof *a->loudness);
	a->loudness_sources = calloc((size_t)cfg->n_languages, sizeof *a->loudness_sources);
	if (!a->loudness || !a->loudness_sources)
		return -ENOMEM;
	for (i = 0; i < cfg->n_languages; i++)
		a->loudness_sources[i] = config_output_of_language(cfg, i);
	if (loudness_init(a->loudness, cfg->n_languages, jack_shell_sample_rate(&e->jack)) < 0 ||
	    loudness_run(a->loudness) < 0)
		return -ENOMEM;
	return 0;
}

/* The distribution channels' last minute, for incidents: the floor's
 * output and each language's. None under --no-record or with
 * incidents.audio off. */
int open_preroll(struct engine *e, struct audio *a, const struct config *cfg)
{
	int i;

	if (e->opt->no_record || !cfg->incidents.audio)
		return 0;
	a->preroll = calloc(1, sizeof *a->preroll);
	a->preroll_sources = calloc((size_t)cfg->n_languages + 1, sizeof *a->preroll_sources);
	if (!a->preroll || !a->preroll_sources)
		return -ENOMEM;
	for (i = -1; i < cfg->n_languages; i++)
		a->preroll_sources[i + 1] = config_output_of_language(cfg, i);
	if (preroll_init(a->preroll, cfg->n_languages + 1, jack_shell_sample_rate(&e->jack),
			 cfg->incidents.pre_seconds + cfg->incidents.post_seconds + 2) < 0 ||
	    preroll_run(a->preroll) < 0)
		return -ENOMEM;
	return 0;
}

/* The chosen channels as RTP Opus: its sessions are the engine's, so
 * sequence and timestamps go on from any sender before it. The thread
 * starts with rtp_start, once no earlier sender runs. */
int open_rtp(struct engine *e, struct audio *a, const struct config *cfg, char *err, size_t errlen)
{
	int ret;

	if (!cfg->rtp.enabled)
		return 0;
	if (!(a->rtp = calloc(1, sizeof *a->rtp)))
		return -ENOMEM;
	if ((ret = rtp_sender_init(a->rtp, cfg, jack_shell_sample_rate(&e->jack), &e->rtp_sessions,
				   jack_shell_clock_us, err, errlen)) < 0) {
		free(a->rtp);
		a->rtp = NULL;
		return ret;
	}
	a->rtp_sources = a->rtp->sources;
	return 0;
}

int rtp_start(struct audio *a)
{
	return a->rtp && !a->rtp->running ? rtp_sender_run(a->rtp) : 0;
}

/* The router with its first snapshot (from st), and every insert loaded,
 * instantiated and activated: all before the realtime thread sees them. */
int open_mixing(struct engine *e, struct audio *a, const struct config *cfg, const struct state *st,
		       char *err, size_t errlen)
{
	const uint32_t rate = jack_shell_sample_rate(&e->jack);
	struct snapshot *first;
	int ret;

	if ((ret = router_init(&a->router, cfg, rate)) < 0 || !(first = snapshot_build(st))) {
		snprintf(err, errlen, "cannot set up the router: %s", strerror(ret < 0 ? -ret : ENOMEM));
		return ret < 0 ? ret : -ENOMEM;
	}
	exchange_init(&a->exchange, first);
	ret = rack_init(&a->rack, cfg->n_mics, 1 + cfg->n_languages, (float)rate, ROUTER_CHUNK_MAX);
	if (ret == 0 && (ret = insert_host_build(&e->plugins, cfg, &a->rack, err, errlen)) < 0)
		return ret;
	if (ret < 0 || (ret = router_attach_rack(&a->router, &a->rack)) < 0)
		snprintf(err, errlen, "cannot set up the inserts: %s", strerror(-ret));
	return ret;
}

int no_record_log_dir(char *buf, size_t len)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *slash;

	if (state && *state == '/')
		snprintf(buf, len, "%s/tolk", state);
	else if (home && *home == '/')
		snprintf(buf, len, "%s/.local/state/tolk", home);
	else
		snprintf(buf, len, "/tmp/tolk-%u/logs", (unsigned)getuid());
	/* Each missing folder on the way, private to the engine's user. */
	for (slash = strchr(buf + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
			*slash = '/';
			return -errno;
		}
		*slash = '/';
	}
	return mkdir(buf, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

const char *log_dir(const struct engine *e, const struct config *cfg)
{
	return e->opt->log_dir ? e->opt->log_dir : e->opt->record_dir ? e->opt->record_dir : cfg->recording.dir;
}

/* Everything an audio side holds; the realtime thread must no longer
 * see it. The struct itself stays the caller's. */
void audio_free(struct audio *a)
{
	if (a->loudness) {
		loudness_free(a->loudness);
		free(a->loudness);
	}
	free(a->loudness_sources);
	if (a->preroll) {
		preroll_free(a->preroll);
		free(a->preroll);
	}
	free(a->preroll_sources);
	if (a->rtp) {
		if (a->rtp_sources != a->rtp->sources)
			free(a->rtp_sources);
		rtp_sender_free(a->rtp);
		free(a->rtp);
	} else {
		free(a->rtp_sources);
	}
	if (a->rec) {
		recorder_shutdown(a->rec);
		recorder_free(a->rec);
		free(a->rec);
	}
	free(a->rec_sources);
	if (a->streamer) {
		/* After the disk thread: nothing feeds it any more. */
		streamer_free(a->streamer);
		free(a->streamer);
	}
	hearing_log_close(&a->hearing);
	exchange_destroy(&a->exchange);
	rack_free(&a->rack);
	router_free(&a->router);
}

/* Undoes audio_open, or as much of it as was done. Recording ends first,
 * while the realtime side may still feed it, so that every file is
 * finished properly; then the client goes, and no realtime cycle runs past
 * that point. Everything is left zeroed, ready for audio_open again. */
void audio_close(struct engine *e)
{
	uint32_t xruns;

	if (e->au->rec)
		recorder_shutdown(e->au->rec);
	xruns = xrun_log_count(&e->jack.xruns);
	jack_shell_close(&e->jack);
	if (xruns)
		log_line("%u xruns during this run", xruns);
	audio_free(e->au);
	memset(e->au, 0, sizeof *e->au);
	memset(&e->jack, 0, sizeof e->jack);
	e->audio_up = 0;
}

/* The audio side: the JACK client and its ports, the router and its first
 * snapshot from the current state, every insert, the hearing log, the
 * recorder and the loudness meter, all allocated and touched before the
 * client is activated. Returns EXIT_CLEAN, or the exit status the failure
 * calls for with everything undone. */
int audio_open(struct engine *e, int quiet)
{
	char err[TOLK_ERROR_MAX + 256];
	int status, ret;

	jack_shell_quiet(quiet);
	ret = jack_shell_open(&e->jack, e->cfg, e->opt->name, e->opt->server, e->wake_fd, err, sizeof err);
	jack_shell_quiet(0);
	if (ret < 0) {
		if (!quiet)
			say(e, "%s", err);
		return EXIT_JACK;
	}
	if ((ret = open_mixing(e, e->au, e->cfg, &e->state, err, sizeof err)) == 0)
		ret = hearing_log_open(&e->au->hearing, e->cfg, &e->au->router, &e->au->rack,
				       jack_shell_sample_rate(&e->jack), log_dir(e, e->cfg), on_hearing, e, err, sizeof err);
	if (ret == 0)
		log_line("inserts: %d, channel latency %u frames, phones limit %g dB SPL (%g dB SPL at 0 dBFS)",
			 e->au->rack.n_inserts, e->au->rack.mic_latency + e->au->rack.output_latency,
			 e->cfg->hearing.ceiling_dbspl, e->cfg->hearing.dbspl_at_0dbfs);
	if (ret == 0 && (ret = open_recorder(e, e->au, e->cfg, err, sizeof err)) == 0 &&
	    ((ret = open_loudness(e, e->au, e->cfg)) < 0 || (ret = open_preroll(e, e->au, e->cfg)) < 0))
		snprintf(err, sizeof err, "cannot start the loudness meter or the incidents' pre-roll");
	if (ret == 0)
		ret = open_rtp(e, e->au, e->cfg, err, sizeof err);
	if (ret == 0 && (jack_shell_add_capture(&e->jack, &e->au->rec->capture, e->au->rec_sources) < 0 ||
			 (e->au->rtp && jack_shell_add_capture(&e->jack, &e->au->rtp->capture, e->au->rtp_sources) < 0) ||
			 jack_shell_add_capture(&e->jack, &e->au->loudness->capture, e->au->loudness_sources) < 0 ||
			 (e->au->preroll &&
			  jack_shell_add_capture(&e->jack, &e->au->preroll->capture, e->au->preroll_sources) < 0))) {
		snprintf(err, sizeof err, "out of memory");
		ret = -ENOMEM;
	}
	if (ret < 0) {
		say(e, "%s", err);
		status = EXIT_USAGE;
		goto fail;
	}
	lock_rt_memory(&e->au->router, &e->au->rack);
	if (rtp_start(e->au) < 0) {
		say(e, "cannot start the RTP sender");
		status = EXIT_USAGE;
		goto fail;
	}
	if (jack_shell_start(&e->jack, &e->au->router, &e->au->exchange, link_note, e) < 0) {
		say(e, "cannot activate the JACK client");
		status = EXIT_JACK;
		goto fail;
	}
	log_line("running: client '%s', %d inputs, %d outputs, %u Hz, control %s, %s %.0f ms",
		 jack_get_client_name(e->jack.client), e->jack.plan->n_inputs, e->jack.plan->n_outputs,
		 jack_shell_sample_rate(&e->jack), e->control_path, e->audio_ever_up ? "back in" : "ready in",
		 (double)(utc_now_ms() - (e->audio_ever_up ? e->next_attempt_ms - 1000 : e->started_ms)));
	e->audio_up = 1;
	e->audio_ever_up = 1;
	if (midi_leds_reset(e) < 0)
		log_line("MIDI consoles: out of memory; their LEDs are not updated");
	return EXIT_CLEAN;
fail:
	audio_close(e);
	return status;
}

/* The server went away: every recording file is closed properly (the
 * timeline says why), and the audio side is let go. The state stays. */
void audio_lost(struct engine *e)
{
	char fields[400];
	struct json_writer w;

	log_line("JACK server went away: %s", e->jack.shutdown_reason);
	incidents_audio_going(e); /* what the pre-roll holds, before it goes */
	event_log_add(&e->events, utc_now_ms(), EVENT_ALARM, "", 0, "the JACK server went away");
	e->resume_recording = e->au->rec &&
			      recorder_running(e->au->rec, e->resume_meeting, sizeof e->resume_meeting, &e->resume_segment);
	jw_init(&w);
	jw_raw(&w, "\"event\":\"jack-lost\",\"reason\":");
	jw_string(&w, e->jack.shutdown_reason);
	snprintf(fields, sizeof fields, "%s", w.failed ? "\"event\":\"jack-lost\"" : w.buf);
	jw_free(&w);
	timeline_event(e, fields);
	audio_close(e);
	if (e->resume_recording)
		log_line("recording %s closed at segment %d%s", e->resume_meeting, e->resume_segment,
			 e->opt->reconnect ? "; it resumes in a new segment when the server is back" : "");
	e->next_attempt_ms = utc_now_ms() + 1000;
	if (e->opt->reconnect)
		log_line("waiting for the JACK server; trying every second");
}

/* Once a second while the server is gone: everything back as it was,
 * from the state, and the recording on in a new segment. */
void audio_retry(struct engine *e)
{
	char why[512];

	e->next_attempt_ms = utc_now_ms() + 1000;
	if (audio_open(e, 1) != EXIT_CLEAN)
		return;
	log_line("JACK server is back: ports, connections and state restored");
	event_log_add(&e->events, utc_now_ms(), EVENT_CHANGE, "", 0, "the JACK server is back; state restored");
	if (e->resume_recording) {
		if (recorder_continue(e->au->rec, e->resume_meeting, e->resume_segment, why, sizeof why) < 0) {
			log_line("ALARM: recording %s not resumed: %s", e->resume_meeting, why);
		} else {
			timeline_event(e, "\"event\":\"jack-back\"");
			timeline_channels(e, 1);
		}
		e->resume_recording = 0;
	}
	if (e->osc.fd > 0)
		osc_push_state(&e->osc);
}

static void read_meter(void *user, int is_output, int k, float *peak, float *rms)
{
	if (is_output)
		router_output_meter(user, k, peak, rms);
	else
		router_input_meter(user, k, peak, rms);
}

static int read_stream(void *user, int i, const char **mount, char *why, size_t whylen)
{
	struct streamer *s = user;

	*mount = s->streams[i].mount;
	streamer_error(s, i, why, whylen);
	return streamer_up(s, i);
}

static int read_rtp(void *user, int i, char *subject, size_t sublen, char *why, size_t whylen)
{
	return rtp_sender_failing(user, i, subject, sublen, why, whylen);
}

const char *jack_server_name(const struct engine *e)
{
	const char *env = getenv("JACK_DEFAULT_SERVER");

	if (e->opt && e->opt->server)
		return e->opt->server;
	return env && *env ? env : "default";
}

/* What the audio side reads now: for the alarm rules and the metrics. */
void alarm_readings_of(struct engine *e, struct alarm_readings *in)
{
	*in = (struct alarm_readings){
		.now_ms = utc_now_ms(),
		.audio_up = e->audio_up,
		.xruns = xrun_log_count(&e->jack.xruns),
		.dropped = e->au->rec ? recorder_dropped(e->au->rec) : 0,
		.seconds_left = e->au->rec ? recorder_seconds_left(e->au->rec) : -1,
		.backlog_seconds = e->au->rec ? recorder_backlog_seconds(e->au->rec) : 0,
		.meter = read_meter, .meter_user = &e->au->router,
		.n_streams = e->au->streamer ? e->au->streamer->n : 0,
		.stream = read_stream, .stream_user = e->au->streamer,
		.n_rtp = e->audio_up && e->au->rtp ? e->au->rtp->n_dest : 0,
		.rtp = read_rtp, .rtp_user = e->au->rtp,
	};
	if (e->au->rec)
		in->failures = recorder_failures(e->au->rec, &in->failed_now);
}

/* Ten times a second: the alarm rules (core/alarm_rules.c). */
void check_alarms(struct engine *e)
{
	struct alarm_readings in;

	alarm_readings_of(e, &in);
	alarm_rules_check(&e->alarm_rules, &e->alarms, e->cfg, &e->state, &in);
}
