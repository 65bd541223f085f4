/* Alarms, each raised once and cleared when resolved. The engine states
 * every tick which conditions hold (kind + subject, e.g. "live-silent" on
 * "fr"); the tracker raises one when its condition has held for its raise
 * time and clears it when the condition has been gone for its clear time,
 * so a flickering level does not flood the control room. */
#ifndef TOLK_ALARM_TRACKER_H
#define TOLK_ALARM_TRACKER_H

#include <stdint.h>

#define ALARM_KIND_MAX 24
#define ALARM_SUBJECT_MAX 64
#define ALARM_DETAIL_MAX 160

struct alarm {
	char kind[ALARM_KIND_MAX];
	char subject[ALARM_SUBJECT_MAX];
	char detail[ALARM_DETAIL_MAX];
	int64_t true_since_ms;   /* condition holding since, or -1 */
	int64_t false_since_ms;  /* condition gone since, or -1 */
	int64_t raised_ms;       /* when raised, or -1 */
	int seen;                /* stated this tick */
	int acked;               /* a technician has seen it (until raised again) */
	int ever_raised;         /* raised at least once: the metrics show it, 0 once cleared */
};

struct alarm_tracker {
	struct alarm *alarms; /* grows with the room: every condition of every port */
	int n, cap;
	int cursor; /* where the next search starts */
	/* Told of each raise (raised = 1) and clear (0). */
	void (*notify)(void *user, const struct alarm *a, int raised);
	void *user;
};

void alarm_tracker_init(struct alarm_tracker *t, void (*notify)(void *, const struct alarm *, int), void *user);
void alarm_tracker_free(struct alarm_tracker *t);

/* One tick: call alarm_begin, then alarm_state for every condition that
 * can hold (true or false), then alarm_end. A condition not stated in a
 * tick counts as false. */
void alarm_begin(struct alarm_tracker *t);
void alarm_state(struct alarm_tracker *t, int64_t now_ms, const char *kind, const char *subject, int holds,
		 int64_t raise_after_ms, int64_t clear_after_ms, const char *detail);
void alarm_end(struct alarm_tracker *t, int64_t now_ms, int64_t clear_after_ms);

int alarm_active_count(const struct alarm_tracker *t);
/* A technician acknowledges a raised alarm. Returns 0, or -ENOENT when no
 * such alarm is raised. */
int alarm_ack(struct alarm_tracker *t, const char *kind, const char *subject);

#endif
