/* Fuzz target: the OSC message handler, one datagram per input, from a
 * peer that may drive two booths; commands it makes run the real command
 * path. No socket: replies are sent to fd -1 and go nowhere. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "../../engine/control/osc_server.h"
#include "../../engine/core/command.h"
#include "fuzz_room.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct state st;
static struct json_writer reply;

static void ignore(void *user, const char *line)
{
	(void)user;
	(void)line;
}

static const char *run(void *user, const char *peer, const char *line, int allowed)
{
	struct command_context ctx = { .state = &st, .now_ms = 1795000000000, .log = ignore };

	(void)user;
	(void)peer;
	reply.len = 0;
	reply.failed = 0;
	if (!allowed)
		return "{\"ok\":false,\"error\":\"permission denied\"}";
	command_execute(&ctx, line, &reply);
	return reply.buf && !reply.failed ? reply.buf : "{\"ok\":false}";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct osc_server o;
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(9000),
				   .sin_addr = { htonl(INADDR_LOOPBACK) } };

	fuzz_room_load();
	if (!st.cfg && state_init(&st, &fuzz_cfg) < 0)
		return 0;
	if (!reply.buf)
		jw_init(&reply);
	memset(&o, 0, sizeof o);
	o.fd = -1;
	o.cfg = &fuzz_cfg;
	o.st = &st;
	o.execute = run;
	osc_handle_packet(&o, (const char *)data, size, &src);
	osc_push_state(&o);
	return 0;
}
