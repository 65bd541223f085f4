/* The incident commands: `incident "<what happened>" [--severity
 * low|medium|high] [--channel <code>]...` files a report, `incident <id>`
 * shows one, `incidents` lists them, and `problem <booth> <n>` (a
 * console's "technical problem" button, from OSC, MIDI or the touch
 * console) files a draft. The words are checked here; the engine files
 * the folder (engine/incidents.c). Part of the one command path. */
#ifndef TOLK_INCIDENT_COMMANDS_H
#define TOLK_INCIDENT_COMMANDS_H

#include "command.h"

#define INCIDENT_TEXT_MAX 1000
#define INCIDENT_CHANNELS_MAX 32

enum incident_severity { INCIDENT_LOW = 0, INCIDENT_MEDIUM, INCIDENT_HIGH };

struct incident_request {
	char text[INCIDENT_TEXT_MAX];
	enum incident_severity severity;
	int channels[INCIDENT_CHANNELS_MAX]; /* language indices; -1 the floor */
	int n_channels;
	int draft;                           /* from a console: to be completed by a technician */
	const char *opened_by;               /* "command", "console", "alarm" */
};

const char *incident_severity_name(enum incident_severity s);
/* "incident ... ", parsed; 0, or -EINVAL with the error reply written. */
int incident_parse(const struct config *cfg, int argc, char **argv, struct incident_request *rq,
		   struct json_writer *w);

enum command_outcome cmd_incident(struct command_context *ctx, int argc, char **argv, struct json_writer *w);
enum command_outcome cmd_incidents(struct command_context *ctx, int argc, char **argv, struct json_writer *w);
enum command_outcome cmd_problem(struct command_context *ctx, int argc, char **argv, struct json_writer *w);

#endif
