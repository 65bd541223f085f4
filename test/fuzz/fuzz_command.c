/* Fuzz target: the control command path (the one validator every way in
 * uses), on up to 32 lines per input, against a fresh conference state. */
#include <stddef.h>
#include <stdint.h>

#include "../../engine/core/command.h"
#include "../../engine/core/event_log.h"
#include "fuzz_room.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(void *user, const char *line)
{
	(void)user;
	(void)line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_log events;
	struct state st;
	struct json_writer reply;
	char line[1024];
	size_t at = 0;
	int lines = 0;

	fuzz_room_load();
	event_log_init(&events);
	if (state_init(&st, &fuzz_cfg) < 0)
		return 0;
	jw_init(&reply);
	while (at < size && lines++ < 32) {
		struct command_context ctx = { .state = &st, .events = &events, .now_ms = 1795000000000, .log = ignore };
		size_t n = 0;

		while (at < size && data[at] != '\n' && n < sizeof line - 1)
			line[n++] = (char)data[at++];
		line[n] = '\0';
		at++;
		reply.len = 0;
		reply.failed = 0;
		command_execute(&ctx, line, &reply);
		command_is_read_only(line);
	}
	jw_free(&reply);
	state_free(&st);
	return 0;
}
