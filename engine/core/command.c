#include "command.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thread_role.h"

#define MAX_WORDS 16
#define MAX_LINE 4096

void command_error(struct json_writer *reply, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	reply->len = 0;
	if (reply->buf)
		reply->buf[0] = '\0';
	jw_raw(reply, "{\"ok\":false,\"error\":");
	jw_string(reply, what);
	jw_raw(reply, "}");
}

static void logf_change(struct command_context *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_change(struct command_context *ctx, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!ctx->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	ctx->log(ctx->log_user, line);
}

/* Splits in place on blanks. Returns the word count, or -E2BIG. */
static int split_words(char *line, char *words[MAX_WORDS])
{
	int n = 0;
	char *save = NULL, *w;

	for (w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == MAX_WORDS)
			return -E2BIG;
		words[n++] = w;
	}
	return n;
}

static void write_feed(struct json_writer *w, const struct state *st, int lang)
{
	struct channel_feed feed;

	state_channel_feed(st, lang, &feed);
	if (feed.booth >= 0)
		jw_printf(w, "\"%s/%d\"", st->cfg->booths[feed.booth].id, feed.console);
	else
		jw_printf(w, "\"%s\"", idle_policy_name(feed.idle));
}

static enum command_outcome cmd_status(struct command_context *ctx, int argc, char **argv,
				       struct json_writer *w)
{
	const struct state *st = ctx->state;
	const struct config *cfg = st->cfg;
	int i, n;

	(void)argv;
	if (argc != 1) {
		command_error(w, "status: takes no arguments");
		return COMMAND_ERROR;
	}
	jw_raw(w, "{\"ok\":true");
	jw_key(w, "meeting", 0);
	jw_string(w, cfg->meeting);
	jw_key(w, "floor_language", 0);
	jw_string(w, st->floor_language);
	jw_key(w, "channels", 0);
	jw_raw(w, "[");
	for (i = 0; i < cfg->n_languages; i++) {
		jw_printf(w, "%s{\"number\":%d", i ? "," : "", i + 1);
		jw_key(w, "code", 0);
		jw_string(w, cfg->languages[i].code);
		jw_key(w, "name", 0);
		jw_string(w, cfg->languages[i].name);
		jw_key(w, "feed", 0);
		write_feed(w, st, i);
		jw_key(w, "idle", 0);
		jw_string(w, idle_policy_name(cfg->languages[i].idle));
		if (ctx->router) {
			float peak = router_take_peak(ctx->router, config_output_of_language(cfg, i));
			jw_key(w, "peak_dbfs", 0);
			if (peak > 1e-6f)
				jw_printf(w, "%.1f", 20.0 * log10(peak));
			else
				jw_raw(w, "null");
		}
		jw_raw(w, "}");
	}
	jw_raw(w, "]");
	jw_key(w, "booths", 0);
	jw_raw(w, "[");
	for (i = 0; i < cfg->n_booths; i++) {
		const struct cfg_booth *b = &cfg->booths[i];
		jw_printf(w, "%s{", i ? "," : "");
		jw_key(w, "id", 1);
		jw_string(w, b->id);
		jw_key(w, "output", 0);
		jw_string(w, cfg->languages[b->outputs[st->booths[i].output]].code);
		jw_key(w, "consoles", 0);
		jw_raw(w, "[");
		for (n = 1; n <= b->consoles; n++)
			jw_printf(w, "%s{\"n\":%d,\"mic\":%s}", n > 1 ? "," : "", n,
				  state_mic_on(st, i, n) ? "true" : "false");
		jw_raw(w, "]}");
	}
	jw_raw(w, "]}");
	return COMMAND_DONE;
}

/* Parses a console number for booth b: 1..consoles. */
static int parse_console(const struct config *cfg, int b, const char *word)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(word, &end, 10);
	if (!*word || *end || errno || n < 1 || n > cfg->booths[b].consoles)
		return -EINVAL;
	return (int)n;
}

static enum command_outcome cmd_mic(struct command_context *ctx, int argc, char **argv,
				    struct json_writer *w)
{
	struct state *st = ctx->state;
	const struct config *cfg = st->cfg;
	int b, n, on, previous = 0, ret;

	if (argc != 4) {
		command_error(w, "usage: mic <booth> <n> on|off");
		return COMMAND_ERROR;
	}
	b = config_find_booth(cfg, argv[1]);
	if (b < 0) {
		command_error(w, "mic: unknown booth '%s'", argv[1]);
		return COMMAND_ERROR;
	}
	n = parse_console(cfg, b, argv[2]);
	if (n < 0) {
		command_error(w, "mic: booth %s has consoles 1 to %d, not '%s'", cfg->booths[b].id,
			      cfg->booths[b].consoles, argv[2]);
		return COMMAND_ERROR;
	}
	if (!strcmp(argv[3], "on"))
		on = 1;
	else if (!strcmp(argv[3], "off"))
		on = 0;
	else {
		command_error(w, "mic: expected on or off, not '%s'", argv[3]);
		return COMMAND_ERROR;
	}
	ret = state_set_mic(st, b, n, on, &previous);
	if (ret < 0) {
		command_error(w, "mic: %s", strerror(-ret));
		return COMMAND_ERROR;
	}
	if (ret == 0) {
		if (previous)
			logf_change(ctx, "mic %s/%d on, taking over from %s/%d (now off)",
				    cfg->booths[b].id, n, cfg->booths[b].id, previous);
		else
			logf_change(ctx, "mic %s/%d %s", cfg->booths[b].id, n, on ? "on" : "off");
	}
	jw_raw(w, "{\"ok\":true");
	jw_key(w, "booth", 0);
	jw_string(w, cfg->booths[b].id);
	jw_printf(w, ",\"n\":%d,\"mic\":%s", n, on ? "true" : "false");
	jw_key(w, "channel", 0);
	jw_string(w, cfg->languages[cfg->booths[b].outputs[st->booths[b].output]].code);
	if (previous)
		jw_printf(w, ",\"taken_over\":%d", previous);
	jw_printf(w, ",\"changed\":%s}", ret == 0 ? "true" : "false");
	return ret == 0 ? COMMAND_ROUTING : COMMAND_DONE;
}

static enum command_outcome cmd_help(struct command_context *ctx, int argc, char **argv,
				     struct json_writer *w)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	jw_raw(w, "{\"ok\":true,\"commands\":[\"status\",\"mic <booth> <n> on|off\",\"help\"]}");
	return COMMAND_DONE;
}

static const struct {
	const char *name;
	enum command_outcome (*run)(struct command_context *, int, char **, struct json_writer *);
} commands[] = {
	{ "status", cmd_status },
	{ "mic", cmd_mic },
	{ "help", cmd_help },
};

enum command_outcome command_execute(struct command_context *ctx, const char *line,
				     struct json_writer *reply)
{
	char copy[MAX_LINE];
	char *words[MAX_WORDS];
	size_t i;
	int argc;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!ctx || !ctx->state || !line || !reply)
		return COMMAND_ERROR;
	if (strlen(line) >= sizeof copy) {
		command_error(reply, "request longer than %d bytes", MAX_LINE - 1);
		return COMMAND_ERROR;
	}
	for (i = 0; line[i]; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t' && line[i] != '\r' && line[i] != '\n') {
			command_error(reply, "request holds a control character");
			return COMMAND_ERROR;
		}
	strcpy(copy, line);
	argc = split_words(copy, words);
	if (argc < 0) {
		command_error(reply, "request has more than %d words", MAX_WORDS);
		return COMMAND_ERROR;
	}
	if (argc == 0) {
		command_error(reply, "empty request (try help)");
		return COMMAND_ERROR;
	}
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(words[0], commands[i].name))
			return commands[i].run(ctx, argc, words, reply);
	command_error(reply, "unknown command '%.64s' (try help)", words[0]);
	return COMMAND_ERROR;
}
