#include "refusal_audit.h"

#include <stdio.h>

#include "../core/json_writer.h"

void refusal_audit_init(struct refusal_audit *ra, struct audit_log *audit, void (*log)(const char *line))
{
	refusal_gate_init(&ra->gate);
	ra->audit = audit;
	ra->log = log;
}

static void audit_or_alarm(struct refusal_audit *ra, int64_t ms, const char *via, const char *actor,
			   const char *command, const char *reply)
{
	char text[4300];

	if (audit_write(ra->audit, ms, via, actor, command, reply, NULL, 0) < 0) {
		snprintf(text, sizeof text, "ALARM: cannot write the audit log %s", ra->audit->path);
		ra->log(text);
	}
}

/* Refusals from one source that were counted, not written: one line in
 * the log and the audit for the lot. */
static void summarise(void *user, const char *source, uint32_t held, uint32_t total, int64_t since_ms)
{
	struct refusal_audit *ra = user;
	char actor[200], what[160], reply[200], text[400];
	struct json_writer w;

	jw_init(&w);
	jw_raw(&w, "\"source\":");
	jw_string(&w, source);
	snprintf(actor, sizeof actor, "%s", w.failed ? "\"source\":null" : w.buf);
	jw_free(&w);
	snprintf(what, sizeof what, "%u refused requests in one second, %u of them counted only", total, held);
	snprintf(reply, sizeof reply, "{\"ok\":false,\"error\":\"%u more refusals, not written one by one\"}", held);
	snprintf(text, sizeof text, "refused %s: %s", source, what);
	ra->log(text);
	audit_or_alarm(ra, since_ms, "summary", actor, what, reply);
}

int refusal_audit_admit(struct refusal_audit *ra, const char *source, int64_t now_ms)
{
	return refusal_gate_admit(&ra->gate, source, now_ms, summarise, ra);
}

void refusal_audit_flush(struct refusal_audit *ra, int64_t now_ms)
{
	refusal_gate_flush(&ra->gate, now_ms, summarise, ra);
}

void refusal_audit_write(struct refusal_audit *ra, int64_t now_ms, const char *via, const char *actor,
			 const char *source, const char *what, const char *command, const char *why)
{
	char reply[320], text[400];
	struct json_writer w;

	jw_init(&w);
	jw_raw(&w, "{\"ok\":false,\"error\":");
	jw_string(&w, why);
	jw_raw(&w, "}");
	snprintf(reply, sizeof reply, "%s", w.failed ? "{\"ok\":false}" : w.buf);
	jw_free(&w);
	snprintf(text, sizeof text, "refused %s (%s): %s", source, what, why);
	ra->log(text);
	audit_or_alarm(ra, now_ms, via, actor, command, reply);
}
