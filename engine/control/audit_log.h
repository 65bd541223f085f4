/* audit.jsonl: every accepted or refused command, from any control path,
 * one JSON line each, appended and written out per line. Mode 0640.
 *
 * Tamper-evident: each line ends with "prev", the SHA-256 (hex) of the
 * line before it, newline included; the first line of a new file has 64
 * zeros, and the first chained line of an older file the hash of its last
 * unchained line. `tolk-verify --audit FILE` walks the chain. */
#ifndef TOLK_AUDIT_LOG_H
#define TOLK_AUDIT_LOG_H

#include <stddef.h>
#include <stdint.h>

struct audit_log {
	int fd;
	char path[4200];
};

/* Opens (creating) DIR/audit.jsonl. Returns 0 or a negative errno. Thread: control. */
int audit_open(struct audit_log *a, const char *dir, char *err, size_t errlen);
/* Thread: control. */
void audit_close(struct audit_log *a);

/* actor: a JSON object's inside, e.g. "\"uid\":0,\"user\":\"root\"".
 * reply: the engine's JSON reply, whose ok/error it records. changes: the
 * state changes in words, n of them. Thread: control. */
int audit_write(struct audit_log *a, int64_t time_ms, const char *via, const char *actor,
		const char *command, const char *reply, const char *const *changes, int n);

/* A control connection opened (reads < 0) or closed, with the accepted
 * reads it made (those are not a line each) and why it closed. Returns 0
 * or a negative errno. Thread: control. */
int audit_connection(struct audit_log *a, int64_t time_ms, const char *via, const char *actor, long reads,
		     const char *why);

#endif
