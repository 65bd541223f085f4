#include "refusal_gate.h"

#include <stdio.h>
#include <string.h>

#include "thread_role.h"

void refusal_gate_init(struct refusal_gate *g)
{
	if (g)
		memset(g, 0, sizeof *g);
}

/* The window is over: its held-back refusals told, the count started
 * again. */
static void close_window(struct refusal_source *s, int64_t now_ms, refusal_summary summary, void *user)
{
	if (s->held && summary)
		summary(user, s->key, s->held, s->in_window, s->window_start_ms);
	s->window_start_ms = now_ms;
	s->in_window = 0;
	s->held = 0;
}

static struct refusal_source *source_of(struct refusal_gate *g, const char *key, int64_t now_ms,
					refusal_summary summary, void *user)
{
	struct refusal_source *s, *stale = NULL;
	int i;

	for (i = 0; i < g->n; i++) {
		s = &g->sources[i];
		if (!strncmp(s->key, key, sizeof s->key - 1))
			return s;
		if (!stale || s->last_ms < stale->last_ms)
			stale = s;
	}
	if (g->n < REFUSAL_SOURCES) {
		s = &g->sources[g->n++];
	} else {
		/* Full: the source heard from longest ago makes room, its count
		 * told first so that nothing goes untold. */
		close_window(stale, now_ms, summary, user);
		s = stale;
	}
	memset(s, 0, sizeof *s);
	snprintf(s->key, sizeof s->key, "%s", key);
	s->window_start_ms = now_ms;
	return s;
}

int refusal_gate_admit(struct refusal_gate *g, const char *source, int64_t now_ms, refusal_summary summary,
		       void *user)
{
	struct refusal_source *s;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!g || !source)
		return 1;
	s = source_of(g, source, now_ms, summary, user);
	if (now_ms - s->window_start_ms >= REFUSAL_WINDOW_MS)
		close_window(s, now_ms, summary, user);
	s->last_ms = now_ms;
	s->in_window++;
	if (s->in_window <= REFUSAL_BURST)
		return 1;
	s->held++;
	return 0;
}

void refusal_gate_flush(struct refusal_gate *g, int64_t now_ms, refusal_summary summary, void *user)
{
	int i;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!g)
		return;
	for (i = 0; i < g->n; i++)
		if (g->sources[i].held && now_ms - g->sources[i].window_start_ms >= REFUSAL_WINDOW_MS)
			close_window(&g->sources[i], now_ms, summary, user);
}
