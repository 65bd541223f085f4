/* Refusals into the audit and the log without letting a flood fill them:
 * each source's refusals go through a refusal_gate (a burst a second in
 * full, the rest counted), and a source's count is written as one
 * "summary" line once its second is over.
 *
 * Thread: control. */
#ifndef TOLK_REFUSAL_AUDIT_H
#define TOLK_REFUSAL_AUDIT_H

#include <stdint.h>

#include "../core/refusal_gate.h"
#include "audit_log.h"

struct refusal_audit {
	struct refusal_gate gate;
	struct audit_log *audit;       /* where summaries and door refusals go */
	void (*log)(const char *line); /* the engine's log */
};

void refusal_audit_init(struct refusal_audit *ra, struct audit_log *audit, void (*log)(const char *line));

/* A refusal from `source` at now_ms: 1 when it is to be written in full
 * (the caller writes it), 0 when it was counted. */
int refusal_audit_admit(struct refusal_audit *ra, const char *source, int64_t now_ms);

/* Writes the summaries of the sources whose second is over; a few times a
 * second. */
void refusal_audit_flush(struct refusal_audit *ra, int64_t now_ms);

/* A refusal that is no command's (a connection refused at the door), in
 * full: the log ("refused SOURCE (WHAT): WHY") and an audit line whose
 * reply is {"ok":false,"error":why}. actor is a JSON object's inside.
 * Call after refusal_audit_admit said 1. */
void refusal_audit_write(struct refusal_audit *ra, int64_t now_ms, const char *via, const char *actor,
			 const char *source, const char *what, const char *command, const char *why);

#endif
