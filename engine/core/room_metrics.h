/* The room as Prometheus sees it: GET /metrics in the text exposition
 * format (version 0.0.4). Every series has the tolk_ prefix, base units
 * (seconds, bytes, hertz; levels in dBFS and LUFS, the units every meter
 * in the room shows, for which Prometheus has no base unit), _total on
 * counters, and a room label from the config, so that one Prometheus
 * watching many rooms can tell them apart without relabelling.
 *
 * Pure: the engine gathers the readings (the same the alarm rules read)
 * and this writes them, so every line is unit-tested offline.
 * Thread: control. */
#ifndef TOLK_ROOM_METRICS_H
#define TOLK_ROOM_METRICS_H

#include <stdint.h>

#include "alarm_rules.h"
#include "alarm_tracker.h"
#include "config.h"
#include "cycle_stats.h"
#include "json_writer.h"
#include "state.h"

/* One listener stream as the metrics show it. */
struct stream_reading {
	const char *channel, *mount;
	int up;
	uint64_t dropped_bytes;
};

/* One RTP channel at one destination as the metrics show it. */
struct rtp_reading {
	const char *channel;
	char destination[ALARM_SUBJECT_MAX]; /* host:port_base, as rtp-send names it */
	uint64_t packets, bytes;
	uint64_t destination_errors;         /* sends to that destination that failed */
	int first;                           /* the destination's first channel */
};

struct metrics_readings {
	const char *version;
	double start_time_seconds;         /* the engine's start, Unix time */
	/* JACK: its name, and while it is up its rate and period */
	const char *jack_server;
	uint32_t sample_rate, period_frames;
	/* the alarm rules' readings: audio_up, xruns, recording counters,
	 * the meters and the streams' up/down */
	const struct alarm_readings *in;
	const struct alarm_tracker *alarms;
	const struct cycle_summary *cycles; /* NULL while the audio is down */
	/* the recording: its state's name ("disabled" under --no-record, or
	 * NULL when this engine has no recorder), and its failures */
	const char *recording_state;
	/* a language channel's loudness (LUFS, NaN silent); NULL none */
	int (*loudness)(void *user, int lang, double *momentary, double *short_term);
	void *loudness_user;
	/* stream i, for i < in->n_streams */
	void (*stream)(void *user, int i, struct stream_reading *out);
	void *stream_user;
	/* RTP: reading i, for i < n_rtp (destination-major); the delay from
	 * router to wire, median and worst of the last packets (s) */
	int n_rtp;
	void (*rtp)(void *user, int i, struct rtp_reading *out);
	void *rtp_user;
	double rtp_delay_median, rtp_delay_max;
	/* the hearing limiter's interventions on a console's phones since
	 * its chain was made (< 0: not known); NULL none */
	double (*interventions)(void *user, int mic);
	void *interventions_user;
};

/* The whole exposition, into w (which the caller initialised). */
void room_metrics_write(struct json_writer *w, const struct config *cfg, const struct state *st,
			const struct metrics_readings *r);

/* The recording states a tolk_recording_state series is given for, in order. */
extern const char *const room_metrics_recording_states[];

#endif
