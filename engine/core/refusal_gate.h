/* Refusals from one source, counted rather than written one by one: a
 * flood of refused packets or requests must not fill the audit and the
 * log. Each source gets a small burst of full lines per second; beyond it
 * refusals are only counted, and once its second is over the count is
 * told in one summary line. Pure: no I/O, the caller writes.
 *
 * Thread: control (one owner, no lock). */
#ifndef TOLK_REFUSAL_GATE_H
#define TOLK_REFUSAL_GATE_H

#include <stdint.h>

#define REFUSAL_SOURCES 64      /* sources tracked at once; the least recent goes */
#define REFUSAL_BURST 5         /* full lines per source per second */
#define REFUSAL_WINDOW_MS 1000
#define REFUSAL_KEY_MAX 128

struct refusal_source {
	char key[REFUSAL_KEY_MAX];
	int64_t window_start_ms;
	uint32_t in_window;   /* refusals in this window, written or not */
	uint32_t held;        /* of those, the ones only counted */
	int64_t last_ms;
};

struct refusal_gate {
	struct refusal_source sources[REFUSAL_SOURCES];
	int n;
};

/* What a summary says: this many refusals of `source` were not written
 * one by one in the window that began at window_start_ms. */
typedef void (*refusal_summary)(void *user, const char *source, uint32_t held, uint32_t total,
				int64_t window_start_ms);

void refusal_gate_init(struct refusal_gate *g);

/* A refusal from `source` at now_ms: 1 write it in full, 0 it is counted
 * (a summary follows). A window that is over is summarised first through
 * `summary` (may be NULL). */
int refusal_gate_admit(struct refusal_gate *g, const char *source, int64_t now_ms, refusal_summary summary,
		       void *user);

/* Summarises every source whose window is over (call a few times a
 * second). */
void refusal_gate_flush(struct refusal_gate *g, int64_t now_ms, refusal_summary summary, void *user);

#endif
