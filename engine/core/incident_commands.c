#include "incident_commands.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "command_util.h"
#include "thread_role.h"

static const char *const severity_names[] = { "low", "medium", "high", NULL };

const char *incident_severity_name(enum incident_severity s)
{
	return s >= INCIDENT_LOW && s <= INCIDENT_HIGH ? severity_names[s] : "medium";
}

/* An id as the engine makes them: YYYYMMDD-NN. */
static int looks_like_id(const char *w)
{
	size_t i, n = strlen(w);

	if (n < 11 || n > 14 || w[8] != '-')
		return 0;
	for (i = 0; i < n; i++)
		if (i != 8 && (w[i] < '0' || w[i] > '9'))
			return 0;
	return 1;
}

int incident_parse(const struct config *cfg, int argc, char **argv, struct incident_request *rq,
		   struct json_writer *w)
{
	size_t at = 0;
	int i, s, lang;

	memset(rq, 0, sizeof *rq);
	rq->severity = INCIDENT_MEDIUM;
	rq->opened_by = "command";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--severity") || !strcmp(argv[i], "--channel")) {
			if (i + 1 == argc) {
				command_error(w, "incident: %s needs a value", argv[i]);
				return -EINVAL;
			}
			if (!strcmp(argv[i], "--severity")) {
				for (s = 0; severity_names[s] && strcmp(severity_names[s], argv[i + 1]); s++)
					;
				if (!severity_names[s]) {
					command_error(w, "incident: severity '%.32s' is not low, medium or high", argv[i + 1]);
					return -EINVAL;
				}
				rq->severity = (enum incident_severity)s;
			} else {
				lang = strcmp(argv[i + 1], "floor") ? config_find_language(cfg, argv[i + 1]) : -1;
				if (lang < -1 || (lang == -1 && strcmp(argv[i + 1], "floor"))) {
					command_error(w, "incident: '%.32s' is not a channel of this room (floor or a language code)",
						      argv[i + 1]);
					return -EINVAL;
				}
				if (rq->n_channels == INCIDENT_CHANNELS_MAX) {
					command_error(w, "incident: at most %d channels", INCIDENT_CHANNELS_MAX);
					return -EINVAL;
				}
				for (s = 0; s < rq->n_channels && rq->channels[s] != lang; s++)
					;
				if (s == rq->n_channels)
					rq->channels[rq->n_channels++] = lang;
			}
			i++;
			continue;
		}
		/* Words of the text: tolkctl sends its arguments joined by spaces. */
		if (at + strlen(argv[i]) + 2 > sizeof rq->text) {
			command_error(w, "incident: the text is longer than %d bytes", INCIDENT_TEXT_MAX - 1);
			return -EINVAL;
		}
		at += (size_t)snprintf(rq->text + at, sizeof rq->text - at, "%s%s", at ? " " : "", argv[i]);
	}
	if (!at) {
		command_usage_error(w, "incident");
		return -EINVAL;
	}
	return 0;
}

enum command_outcome cmd_incident(struct command_context *ctx, int argc, char **argv, struct json_writer *w)
{
	struct incident_request rq;

	if (!ctx->incidents) {
		command_error(w, "incident: incident reports are not available in this engine");
		return COMMAND_ERROR;
	}
	if (argc == 2 && looks_like_id(argv[1]))
		return ctx->incidents->show(ctx->incidents->user, argv[1], w) < 0 ? COMMAND_ERROR : COMMAND_DONE;
	if (incident_parse(ctx->state->cfg, argc, argv, &rq, w) < 0)
		return COMMAND_ERROR;
	return ctx->incidents->open(ctx->incidents->user, &rq, w) < 0 ? COMMAND_ERROR : COMMAND_DONE;
}

enum command_outcome cmd_incidents(struct command_context *ctx, int argc, char **argv, struct json_writer *w)
{
	(void)argv;
	if (argc != 1) {
		command_usage_error(w, "incidents");
		return COMMAND_ERROR;
	}
	if (!ctx->incidents) {
		command_error(w, "incidents: incident reports are not available in this engine");
		return COMMAND_ERROR;
	}
	return ctx->incidents->show(ctx->incidents->user, NULL, w) < 0 ? COMMAND_ERROR : COMMAND_DONE;
}

/* A console's "technical problem": a signal the control room acks, and a
 * draft incident with the console's channel and the minute around it. */
enum command_outcome cmd_problem(struct command_context *ctx, int argc, char **argv, struct json_writer *w)
{
	const struct config *cfg = ctx->state->cfg;
	struct incident_request rq = { .severity = INCIDENT_MEDIUM, .draft = 1, .opened_by = "console" };
	const struct booth_state *bs;
	char text[EVENT_TEXT_MAX];
	int b, n;

	if (argc != 3) {
		command_usage_error(w, "problem");
		return COMMAND_ERROR;
	}
	if (command_console_args(ctx, w, "problem", argv[1], argv[2], &b, &n))
		return COMMAND_ERROR;
	bs = &ctx->state->booths[b];
	snprintf(text, sizeof text, "problem: %s/%d reports a technical problem", cfg->booths[b].id, n);
	command_record(ctx, EVENT_HELP, cfg->booths[b].id, n, text);
	snprintf(rq.text, sizeof rq.text, "technical problem reported from console %s/%d", cfg->booths[b].id, n);
	/* The channel the console speaks into, and the one it hears. */
	rq.channels[rq.n_channels++] = cfg->booths[b].outputs[bs->consoles[n - 1].output];
	if (ctx->state->consoles[cfg->booths[b].first_mic + n - 1].hears != rq.channels[0])
		rq.channels[rq.n_channels++] = ctx->state->consoles[cfg->booths[b].first_mic + n - 1].hears;
	if (!ctx->incidents) {
		jw_raw(w, "{\"ok\":true,\"signal\":\"problem\"}");
		return COMMAND_DONE;
	}
	return ctx->incidents->open(ctx->incidents->user, &rq, w) < 0 ? COMMAND_ERROR : COMMAND_DONE;
}
