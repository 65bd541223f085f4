/* The one command table drives help, usage errors and the role checks:
 * what help lists, what an observer may run and what it is told. */
#include "helpers.h"

#include "../../engine/core/command.h"

static void test_help_lists_every_form_of_the_table(void **unused)
{
	struct config cfg;
	struct state st;
	struct json_writer w;
	struct command_context ctx;
	size_t i;
	(void)unused;

	load_room(&cfg);
	assert_int_equal(state_init(&st, &cfg), 0);
	ctx = (struct command_context){ .state = &st };
	jw_init(&w);
	assert_int_equal(command_execute(&ctx, "help", &w), COMMAND_DONE);
	for (i = 0; i < N_COMMANDS; i++) {
		char first[128];
		snprintf(first, sizeof first, "\"%s", commands[i].name);
		assert_non_null(strstr(w.buf, first));
	}
	assert_non_null(strstr(w.buf, "\"help <booth> <n>\",\"help\",\"console <booth> <n>\""));
	assert_non_null(strstr(w.buf, "\"record start [meeting] | record stop | record status\""));
	jw_free(&w);
	state_free(&st);
	config_free(&cfg);
}

static void test_usage_errors_come_from_the_table(void **unused)
{
	struct config cfg;
	struct state st;
	struct json_writer w;
	struct command_context ctx;
	static const char *const lines[] = { "record", "events since", "insert x", "exposure a b", "ack", "tone fr 1" };
	size_t i, k;
	(void)unused;

	load_room(&cfg);
	assert_int_equal(state_init(&st, &cfg), 0);
	ctx = (struct command_context){ .state = &st };
	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		char want[300];
		for (k = 0; k < N_COMMANDS && strncmp(lines[i], commands[k].name, strlen(commands[k].name)); k++)
			;
		assert_true(k < N_COMMANDS);
		snprintf(want, sizeof want, "{\"ok\":false,\"error\":\"usage: %s\"}", commands[k].usage);
		jw_init(&w);
		assert_int_equal(command_execute(&ctx, lines[i], &w), COMMAND_ERROR);
		assert_string_equal(w.buf, want);
		jw_free(&w);
	}
	state_free(&st);
	config_free(&cfg);
}

static void test_roles(void **unused)
{
	char why[400];
	(void)unused;

	assert_true(command_permits(ROLE_TECHNICIAN, NULL, "mic fr 1 on", why, sizeof why));
	assert_true(command_permits(ROLE_TECHNICIAN, NULL, "no-such-command", why, sizeof why)); /* execute says why */
	assert_true(command_permits(ROLE_OBSERVER, NULL, "status", why, sizeof why));
	assert_true(command_permits(ROLE_OBSERVER, NULL, "record status", why, sizeof why));
	assert_true(command_permits(ROLE_OBSERVER, NULL, "help", why, sizeof why));
	assert_false(command_permits(ROLE_OBSERVER, NULL, "help fr 1", why, sizeof why)); /* a signal */
	assert_false(command_permits(ROLE_OBSERVER, NULL, "record start", why, sizeof why));
	assert_string_equal(why, "permission denied: an observer may use status, events, meters, record status, "
				 "inserts, exposure, help, console and incidents only");
	assert_true(command_permits(ROLE_OBSERVER, NULL, "incidents", why, sizeof why));
	assert_false(command_permits(ROLE_OBSERVER, NULL, "incident the fr channel crackles", why, sizeof why));
	assert_true(command_permits(ROLE_INTERPRETER, "fr", "problem fr 1", why, sizeof why));
	assert_false(command_permits(ROLE_INTERPRETER, "fr", "problem de 1", why, sizeof why));
	assert_false(command_permits(ROLE_INTERPRETER, "fr", "incident x", why, sizeof why));
	assert_false(command_permits(ROLE_NONE, NULL, "status", why, sizeof why));
	/* An interpreter: its own booth's consoles, nothing else, ever. */
	assert_true(command_permits(ROLE_INTERPRETER, "fr", "mic fr 1 on", why, sizeof why));
	assert_true(command_permits(ROLE_INTERPRETER, "fr", "cough fr 2 on", why, sizeof why));
	assert_true(command_permits(ROLE_INTERPRETER, "fr", "console fr 1", why, sizeof why));
	assert_true(command_permits(ROLE_INTERPRETER, "fr", "handover fr 1 2", why, sizeof why));
	assert_false(command_permits(ROLE_INTERPRETER, "fr", "mic en 1 on", why, sizeof why));
	assert_non_null(strstr(why, "permission denied: booth fr's token may use its own consoles only: mic fr <n>"));
	assert_false(command_permits(ROLE_INTERPRETER, "fr", "record start", why, sizeof why));
	assert_false(command_permits(ROLE_INTERPRETER, "fr", "status", why, sizeof why));
	assert_false(command_permits(ROLE_INTERPRETER, "fr", "help", why, sizeof why));
	assert_false(command_permits(ROLE_INTERPRETER, "fr", "floor-language fr", why, sizeof why));
	assert_false(command_permits(ROLE_INTERPRETER, NULL, "mic fr 1 on", why, sizeof why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_lists_every_form_of_the_table),
		cmocka_unit_test(test_usage_errors_come_from_the_table),
		cmocka_unit_test(test_roles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
