/* The alarm rules: which conditions hold now, from the room's state, its
 * meters and the engine's counters. The shell gathers the readings; the
 * rules state every condition to the alarm tracker, which decides what is
 * raised and what is cleared. Pure, so that each rule is unit-tested.
 * Thread: control (one owner, no lock). */
#ifndef TOLK_ALARM_RULES_H
#define TOLK_ALARM_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "alarm_tracker.h"
#include "config.h"
#include "state.h"

/* What the engine reads off its audio side, ten times a second. */
struct alarm_readings {
	int64_t now_ms;
	int audio_up;         /* 0: the JACK server is gone, nothing else is read */
	uint32_t xruns;       /* JACK's count, since the client opened */
	uint64_t dropped;     /* recording frames dropped, in all */
	unsigned failures;    /* recording failures, in all */
	int failed_now;       /* the recording is failed at this moment */
	double seconds_left;  /* of recording on the disk; < 0 unknown */
	double backlog_seconds; /* captured, not yet written by the disk thread */
	/* A port's level: input k (is_output 0) or output k, linear. */
	void (*meter)(void *user, int is_output, int k, float *peak, float *rms);
	void *meter_user;
	/* Listener streams: stream i's mount, whether it is up, and why not. */
	int n_streams;
	int (*stream)(void *user, int i, const char **mount, char *why, size_t whylen);
	void *stream_user;
	/* RTP destinations: destination i as "host:port_base", whether its
	 * sends fail now, and why. */
	int n_rtp;
	int (*rtp)(void *user, int i, char *subject, size_t sublen, char *why, size_t whylen);
	void *rtp_user;
};

/* Counters as last seen: an alarm on "it went up" needs the last value. */
struct alarm_rules {
	uint32_t xruns_seen;
	uint64_t dropped_seen;
	unsigned failures_seen;
};

/* One tick of every rule. */
void alarm_rules_check(struct alarm_rules *r, struct alarm_tracker *t, const struct config *cfg,
		       const struct state *st, const struct alarm_readings *in);

#endif
