#include "alarm_tracker.h"

#include <errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void alarm_tracker_init(struct alarm_tracker *t, void (*notify)(void *, const struct alarm *, int), void *user)
{
	memset(t, 0, sizeof *t);
	t->notify = notify;
	t->user = user;
}

/* Ticks state their conditions in the same order each time, so the search
 * starts where the last one ended: one comparison per condition, not a
 * scan of hundreds in a large room. */
static struct alarm *find(struct alarm_tracker *t, const char *kind, const char *subject)
{
	int j;
	for (j = 0; j < t->n; j++) {
		int i = (t->cursor + j) % t->n;
		if (!strcmp(t->alarms[i].subject, subject) && !strcmp(t->alarms[i].kind, kind)) {
			t->cursor = i + 1;
			return &t->alarms[i];
		}
	}
	if (t->n == t->cap) {
		int cap = t->cap ? 2 * t->cap : 64;
		struct alarm *more = realloc(t->alarms, (size_t)cap * sizeof *more);
		if (!more)
			return NULL; /* out of memory: this condition goes untracked */
		t->alarms = more;
		t->cap = cap;
	}
	memset(&t->alarms[t->n], 0, sizeof t->alarms[0]);
	snprintf(t->alarms[t->n].kind, ALARM_KIND_MAX, "%s", kind);
	snprintf(t->alarms[t->n].subject, ALARM_SUBJECT_MAX, "%s", subject);
	t->alarms[t->n].true_since_ms = t->alarms[t->n].false_since_ms = t->alarms[t->n].raised_ms = -1;
	t->cursor = t->n + 1;
	return &t->alarms[t->n++];
}

void alarm_tracker_free(struct alarm_tracker *t)
{
	free(t->alarms);
	memset(t, 0, sizeof *t);
}

void alarm_begin(struct alarm_tracker *t)
{
	int i;
	for (i = 0; i < t->n; i++)
		t->alarms[i].seen = 0;
	t->cursor = 0;
}

static void step(struct alarm_tracker *t, struct alarm *a, int64_t now, int holds, int64_t raise_after,
		 int64_t clear_after)
{
	if (holds) {
		a->false_since_ms = -1;
		if (a->true_since_ms < 0)
			a->true_since_ms = now;
		if (a->raised_ms < 0 && now - a->true_since_ms >= raise_after) {
			a->raised_ms = now;
			a->acked = 0;
			a->ever_raised = 1;
			if (t->notify)
				t->notify(t->user, a, 1);
		}
	} else {
		a->true_since_ms = -1;
		if (a->raised_ms >= 0) {
			if (a->false_since_ms < 0)
				a->false_since_ms = now;
			if (now - a->false_since_ms >= clear_after) {
				a->raised_ms = -1;
				a->false_since_ms = -1;
				if (t->notify)
					t->notify(t->user, a, 0);
			}
		}
	}
}

void alarm_state(struct alarm_tracker *t, int64_t now_ms, const char *kind, const char *subject, int holds,
		 int64_t raise_after_ms, int64_t clear_after_ms, const char *detail)
{
	struct alarm *a = find(t, kind, subject);

	if (!a)
		return;
	a->seen = 1;
	if (holds && detail)
		snprintf(a->detail, sizeof a->detail, "%s", detail);
	step(t, a, now_ms, holds, raise_after_ms, clear_after_ms);
}

void alarm_end(struct alarm_tracker *t, int64_t now_ms, int64_t clear_after_ms)
{
	int i;
	for (i = 0; i < t->n; i++)
		if (!t->alarms[i].seen)
			step(t, &t->alarms[i], now_ms, 0, 0, clear_after_ms);
}

int alarm_active_count(const struct alarm_tracker *t)
{
	int i, n = 0;
	for (i = 0; i < t->n; i++)
		n += t->alarms[i].raised_ms >= 0;
	return n;
}

int alarm_ack(struct alarm_tracker *t, const char *kind, const char *subject)
{
	int i;

	for (i = 0; i < t->n; i++) {
		struct alarm *a = &t->alarms[i];
		if (a->raised_ms >= 0 && !strcmp(a->kind, kind) && !strcmp(a->subject, subject)) {
			a->acked = 1;
			return 0;
		}
	}
	return -ENOENT;
}
