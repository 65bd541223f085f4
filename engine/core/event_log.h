/* Recent events for status, `events` and (later) the timeline: mic
 * changes, signals from the booths, floor-language changes. A fixed ring
 * owned by the control thread; the oldest entry gives way. */
#ifndef TOLK_EVENT_LOG_H
#define TOLK_EVENT_LOG_H

#include <stdint.h>

#include "config.h"

#define EVENT_LOG_SIZE 128
#define EVENT_TEXT_MAX 192

enum event_kind {
	EVENT_CHANGE = 0, /* a state change, in words */
	EVENT_SLOWER,     /* a booth asks the speaker to slow down (anonymous) */
	EVENT_HELP,       /* a console calls the technician */
	EVENT_ALARM,      /* something the technician must act on (disk error, ...) */
	EVENT_HEARING,    /* the hearing limiter acted on a headphone feed */
	EVENT_HANDOVER,   /* a console asks a booth-mate to take over (acked when done) */
};

struct event {
	uint64_t seq;    /* 1, 2, ...; never reused */
	int64_t time_ms; /* UTC, ms since the epoch */
	enum event_kind kind;
	char booth[TOLK_ID_MAX]; /* signals only */
	int console;             /* help only; 0 for anonymous */
	char text[EVENT_TEXT_MAX];
	int acked;               /* a signal a technician has answered */
};

struct event_log {
	struct event ring[EVENT_LOG_SIZE];
	uint64_t next_seq;
};

void event_log_init(struct event_log *log);
const struct event *event_log_add(struct event_log *log, int64_t time_ms, enum event_kind kind,
				  const char *booth, int console, const char *text);
/* The event with sequence number seq, or NULL when it has given way (or is
 * yet to come). */
/* A technician has answered this signal. 0, or -ENOENT when it is no
 * longer kept. */
int event_log_ack(struct event_log *log, uint64_t seq);
const struct event *event_log_get(const struct event_log *log, uint64_t seq);
uint64_t event_log_first(const struct event_log *log); /* oldest kept seq */
uint64_t event_log_last(const struct event_log *log);  /* newest seq, 0 if none */
const char *event_kind_name(enum event_kind kind);

#endif
