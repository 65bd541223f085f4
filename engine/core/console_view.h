/* One console as its interpreter sees it (the touch console, MIDI LEDs):
 * the mic in words, the outputs, what it may listen to and with which
 * relay quality, volume and tone, the hearing limiter and today's dose,
 * the booth-mates and a handover request, the signals, its meters. And the
 * handover request itself: a console asks a booth-mate to take over, who
 * does so with the existing handover.
 * Thread: control. */
#ifndef TOLK_CONSOLE_VIEW_H
#define TOLK_CONSOLE_VIEW_H

#include "command.h"

#define CONSOLE_REQUEST_MS 30000 /* a handover request expires */

/* console <booth> <n>: the view, read-only. */
enum command_outcome cmd_console(struct command_context *ctx, int argc, char **argv, struct json_writer *w);
/* handover-request <booth> <n>: console n asks a booth-mate to take over. */
enum command_outcome cmd_handover_request(struct command_context *ctx, int argc, char **argv,
					  struct json_writer *w);
/* After a handover in booth b: its requests are answered. */
void console_requests_answered(struct command_context *ctx, int b);
/* The view of console n of booth b, as a JSON object, into w. */
void console_view_write(struct command_context *ctx, struct json_writer *w, int b, int n);

#endif
