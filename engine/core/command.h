/* The one command path. Every way of controlling Tolk (the Unix socket
 * now, OSC and the web page later) hands a line of words to
 * command_execute, which validates it, applies it to the state and
 * answers with one line of JSON. There is no second validator. */
#ifndef TOLK_COMMAND_H
#define TOLK_COMMAND_H

#include <stdint.h>

#include "alarm_tracker.h"
#include "cycle_stats.h"
#include "event_log.h"
#include "exposure.h"
#include "insert_rack.h"
#include "json_writer.h"
#include "router.h"
#include "state.h"

#define COMMAND_SIGNALS_IN_STATUS 16
#define COUGH_LEASE_MS 700 /* a held cough lapses this long after its last renewal */

/* Recording, as the command path sees it; the disk side implements it. */
struct recorder_iface {
	void *user;
	int (*start)(void *user, const char *meeting, char *err, size_t errlen);
	int (*stop)(void *user, char *err, size_t errlen);
	void (*status)(void *user, struct json_writer *w, int detailed);
	/* Seconds of audio not yet written (0 when not known). May be NULL. */
	double (*backlog)(void *user);
};

struct incident_request;

/* Incident reports, as the command path sees them; the engine files them. */
struct incidents_iface {
	void *user;
	/* Files one; writes the whole reply. 0, or -errno (refused). */
	int (*open)(void *user, const struct incident_request *rq, struct json_writer *reply);
	/* One (id) or all (NULL), as the whole reply. 0, or -errno. */
	int (*show)(void *user, const char *id, struct json_writer *reply);
};

struct command_context {
	struct state *state;
	struct event_log *events; /* may be NULL: no events kept */
	int64_t now_ms;           /* UTC time of this request, ms since the epoch */
	struct router *router;    /* for meters; may be NULL */
	const struct recorder_iface *recorder; /* may be NULL: no recording */
	uint64_t follow_from;     /* set with COMMAND_FOLLOW */
	struct alarm_tracker *alarms; /* active alarms for status and ack; may be NULL */
	/* EBU R128 loudness of a language channel (LUFS, NaN for silence);
	 * may be NULL. */
	int (*loudness)(void *user, int lang, double *momentary, double *short_term);
	void *loudness_user;
	struct insert_rack *rack;                /* inserts; may be NULL */
	const struct cycle_stats *cycles;        /* process callback times; may be NULL */
	double rate;                             /* sample rate, with cycles */
	const struct exposure_tracker *exposure; /* may be NULL */
	/* A past day's exposure (YYYYMMDD) as a JSON list, from the log;
	 * returns how many consoles it found, or -errno. May be NULL. */
	int (*exposure_day)(void *user, int day, struct json_writer *w);
	void *exposure_user;
	/* Listener streams as a JSON list (URL and state), or NULL. */
	void (*streams)(void *user, struct json_writer *w);
	void *streams_user;
	/* Re-read the config file and apply it; writes the whole reply.
	 * Returns 0, or -errno when refused (nothing changed). May be NULL. */
	int (*reload)(void *user, struct json_writer *reply);
	void *reload_user;
	const struct incidents_iface *incidents; /* may be NULL */
	/* RTP for the phones: status.rtp (NULL: not sending), and the
	 * mountpoints' secret and pin for janus-config ("" pin: none). */
	void (*rtp)(void *user, struct json_writer *w);
	void *rtp_user;
	const char *rtp_secret, *rtp_pin;
	/* Told of every change that was applied, in words, for the log. */
	void (*log)(void *user, const char *line);
	void *log_user;
};

enum command_outcome {
	COMMAND_ERROR = 0,     /* refused; nothing changed */
	COMMAND_DONE,          /* answered; routing unchanged */
	COMMAND_ROUTING,       /* applied; a new snapshot must be published */
	COMMAND_RECORD_START,  /* a recording was asked to start */
	COMMAND_FOLLOW,        /* events --follow: stream events after ctx->follow_from */
};

/* Executes one request line. The JSON reply (no newline) is left in *reply,
 * which the caller initialised. */
enum command_outcome command_execute(struct command_context *ctx, const char *line,
				     struct json_writer *reply);

/* The alarms raised now, as status lists them: a JSON list. */
void command_write_alarms(struct json_writer *w, const struct alarm_tracker *t);
/* One event as a JSON object, as `events` and event streams show it. */
void command_write_event(struct json_writer *w, const struct event *e);

/* Who may run a command. Observers and technicians are ordered (a
 * technician may do all an observer may); an interpreter is bound to one
 * booth and may use that booth's console commands only. */
enum role { ROLE_NONE = 0, ROLE_OBSERVER, ROLE_TECHNICIAN, ROLE_INTERPRETER };
#define ROLE_BIT(r) (1u << (r))
#define ROLES_CONTROL (ROLE_BIT(ROLE_OBSERVER) | ROLE_BIT(ROLE_TECHNICIAN))
#define ROLES_CONSOLE (ROLES_CONTROL | ROLE_BIT(ROLE_INTERPRETER))

typedef enum command_outcome (*command_handler)(struct command_context *ctx, int argc, char **argv,
						struct json_writer *reply);

/* A row of the one command table (command.c): see README's Architecture
 * for how to add one. */
struct command_def {
	const char *name;
	command_handler run;
	const char *usage;  /* every form, " | " between them; help and usage errors show it */
	const char *reads;  /* the form an observer may use: NULL none, "*" any, else exactly these words */
	unsigned roles;     /* ROLE_BITs of the roles that may run it at all */
	int split_forms;    /* help lists each form on a line of its own */
};

extern const struct command_def commands[];
extern const size_t N_COMMANDS;

/* Does the request only read (status, events, help, record status)? From
 * the table's reads column: the one list of what an observer may do. */
int command_is_read_only(const char *line);

/* May `role` run this line? 1, or 0 with the reason in why (for an
 * observer, the list of what it may use, from the table). An interpreter
 * is bound to `booth` (NULL for the other roles): its commands must name
 * that booth first. */
int command_permits(enum role role, const char *booth, const char *line, char *why, size_t len);

/* "usage: <the table's forms>" for the command `name`, as its error reply. */
void command_usage_error(struct json_writer *reply, const char *name);

/* A refusal reply, for callers that must refuse before executing
 * (the engine busy, say). */
void command_error(struct json_writer *reply, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
