/* What the command files share (command.c, insert_commands.c,
 * console_view.c): argument parsing and the event record, so that every
 * command says the same things the same way.
 * Thread: control. */
#ifndef TOLK_COMMAND_UTIL_H
#define TOLK_COMMAND_UTIL_H

#include "command.h"

/* "<booth> <n>" into a booth index and a 1-based console, or an error
 * reply ("<cmd>: unknown booth ...") and -EINVAL. */
int command_console_args(struct command_context *ctx, struct json_writer *w, const char *cmd,
			 const char *booth_word, const char *console_word, int *b, int *n);
/* An event for the log, the events and the timeline. */
const struct event *command_record(struct command_context *ctx, enum event_kind kind, const char *booth,
				   int console, const char *text);
/* What a console hears ("floor" or a code), and what it asked for. */
const char *command_hears_name(const struct state *st, int hears);
const char *command_listen_name(const struct state *st, const struct console_state *c);

#endif
