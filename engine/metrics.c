/* GET /metrics: the engine's readings for core/room_metrics.c, which
 * writes them in Prometheus's text format. The same readings the alarm
 * rules take (alarm_readings_of), and what only the metrics show: process
 * times, stream byte counts, limiter interventions. Thread: control. */
#include "core/room_metrics.h"
#include "core/thread_role.h"
#include "engine.h"

static int loudness_of(void *user, int lang, double *momentary, double *short_term)
{
	return loudness_read(user, lang, momentary, short_term);
}

static void stream_of(void *user, int i, struct stream_reading *out)
{
	struct streamer *s = user;
	struct stream *st = &s->streams[i];

	out->channel = st->channel;
	out->mount = st->mount;
	out->up = streamer_up(s, i);
	pthread_mutex_lock(&s->lock);
	out->dropped_bytes = st->dropped_bytes;
	pthread_mutex_unlock(&s->lock);
}

static void rtp_of(void *user, int i, struct rtp_reading *out)
{
	struct rtp_sender *s = user;
	const int d = i / s->n, k = i % s->n;
	char why[8];

	out->channel = s->out[k].ch.code;
	rtp_sender_failing(s, d, out->destination, sizeof out->destination, why, sizeof why);
	out->packets = atomic_load(&s->out[k].packets[d]);
	out->bytes = atomic_load(&s->out[k].bytes[d]);
	out->destination_errors = atomic_load(&s->dest[d].errors);
	out->first = k == 0;
}

static double interventions_of(void *user, int mic)
{
	const struct insert_rack *rack = user;
	const int phones = rack_chain_index(rack, CHAIN_PHONES, mic);

	return phones < 0 ? -1 : rack_last_monitor(rack, phones, "interventions");
}

static const char *recording_state_of(struct engine *e)
{
	if (e->opt && e->opt->no_record)
		return "disabled";
	if (e->audio_up)
		return e->au->rec ? recorder_state_name(e->au->rec) : NULL;
	return e->resume_recording ? "waiting-for-jack" : "stopped";
}

void metrics_of(void *user, struct json_writer *w)
{
	struct engine *e = user;
	struct alarm_readings in;
	struct cycle_summary cycles;
	struct metrics_readings r = {
		.version = TOLK_VERSION,
		.start_time_seconds = (double)e->started_ms / 1000.0,
		.jack_server = jack_server_name(e),
		.in = &in,
		.alarms = &e->alarms,
		.recording_state = recording_state_of(e),
	};

	ASSERT_THREAD(THREAD_CONTROL);
	alarm_readings_of(e, &in);
	if (e->audio_up) {
		cycle_stats_read(&e->jack.cycles, &cycles);
		r.cycles = &cycles;
		r.sample_rate = jack_shell_sample_rate(&e->jack);
		r.period_frames = cycles.frames;
		if (e->au->loudness) {
			r.loudness = loudness_of;
			r.loudness_user = e->au->loudness;
		}
		if (e->au->streamer) {
			r.stream = stream_of;
			r.stream_user = e->au->streamer;
		}
		if (e->au->rtp && e->au->rtp->n) {
			double median, max;
			rtp_sender_delay(e->au->rtp, &median, &max);
			r.n_rtp = e->au->rtp->n * e->au->rtp->n_dest;
			r.rtp = rtp_of;
			r.rtp_user = e->au->rtp;
			r.rtp_delay_median = median / 1000;
			r.rtp_delay_max = max / 1000;
		}
		if (e->au->rack.prepared) {
			r.interventions = interventions_of;
			r.interventions_user = &e->au->rack;
		}
	}
	room_metrics_write(w, e->cfg, &e->state, &r);
}
