/* The incident command's words (core/incident_commands.c): the text as
 * tolkctl joins it, --severity and --channel anywhere, each refusal with
 * its reason; and `incident <id>` against `incident <text>`. */
#include <stdlib.h>

#include "helpers.h"

#include "../../engine/core/incident_commands.h"
#include "../../engine/core/thread_role.h"

static int parse(const struct config *cfg, const char *line, struct incident_request *rq, char *err, size_t len)
{
	char copy[512], *argv[64], *save = NULL, *w;
	struct json_writer out;
	int argc = 0, ret;

	snprintf(copy, sizeof copy, "%s", line);
	for (w = strtok_r(copy, " ", &save); w && argc < 64; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	jw_init(&out);
	ret = incident_parse(cfg, argc, argv, rq, &out);
	snprintf(err, len, "%s", out.buf ? out.buf : "");
	jw_free(&out);
	return ret;
}

static void test_words(void **state)
{
	struct config cfg;
	struct incident_request rq;
	char err[512];
	(void)state;

	load_room(&cfg);
	assert_int_equal(parse(&cfg, "incident fr crackles --severity high --channel fr since the break", &rq, err,
			       sizeof err), 0);
	assert_string_equal(rq.text, "fr crackles since the break");
	assert_int_equal(rq.severity, INCIDENT_HIGH);
	assert_int_equal(rq.n_channels, 1);
	assert_int_equal(rq.channels[0], config_find_language(&cfg, "fr"));
	assert_int_equal(parse(&cfg, "incident hum --channel floor --channel en --channel floor", &rq, err,
			       sizeof err), 0);
	assert_int_equal(rq.severity, INCIDENT_MEDIUM); /* the default */
	assert_int_equal(rq.n_channels, 2);             /* floor once */
	assert_int_equal(rq.channels[0], -1);
	assert_string_equal(rq.opened_by, "command");
	assert_int_equal(rq.draft, 0);

	assert_int_not_equal(parse(&cfg, "incident x --severity urgent", &rq, err, sizeof err), 0);
	assert_non_null(strstr(err, "incident: severity 'urgent' is not low, medium or high"));
	assert_int_not_equal(parse(&cfg, "incident x --channel it", &rq, err, sizeof err), 0);
	assert_non_null(strstr(err, "incident: 'it' is not a channel of this room (floor or a language code)"));
	assert_int_not_equal(parse(&cfg, "incident x --channel", &rq, err, sizeof err), 0);
	assert_non_null(strstr(err, "incident: --channel needs a value"));
	assert_int_not_equal(parse(&cfg, "incident --severity low", &rq, err, sizeof err), 0);
	assert_non_null(strstr(err, "usage: incident <what happened>"));
	config_free(&cfg);
}

static void test_long_text_refused(void **state)
{
	struct config cfg;
	struct incident_request rq;
	char *argv[130], word[] = "abcdefghi";
	struct json_writer out;
	int i;
	(void)state;

	load_room(&cfg);
	argv[0] = "incident";
	for (i = 1; i < 130; i++)
		argv[i] = word; /* 129 * 10 bytes: past the limit */
	jw_init(&out);
	assert_int_not_equal(incident_parse(&cfg, 130, argv, &rq, &out), 0);
	assert_non_null(strstr(out.buf, "the text is longer than 999 bytes"));
	jw_free(&out);
	config_free(&cfg);
}

static int opened, shown;
static int fake_open(void *user, const struct incident_request *rq, struct json_writer *w)
{
	(void)user;
	opened++;
	jw_printf(w, "{\"ok\":true,\"text\":\"%s\",\"draft\":%d,\"n\":%d}", rq->text, rq->draft, rq->n_channels);
	return 0;
}
static int fake_show(void *user, const char *id, struct json_writer *w)
{
	(void)user;
	shown++;
	jw_printf(w, "{\"ok\":true,\"id\":\"%s\"}", id ? id : "all");
	return 0;
}

static void test_id_or_text_and_problem(void **state)
{
	struct config cfg;
	struct state st;
	struct json_writer w;
	const struct incidents_iface iface = { NULL, fake_open, fake_show };
	struct command_context ctx = { .state = &st, .incidents = &iface };
	(void)state;

	load_room(&cfg);
	assert_int_equal(state_init(&st, &cfg), 0);
	jw_init(&w);
	assert_int_equal(command_execute(&ctx, "incident 20261202-03", &w), COMMAND_DONE);
	assert_int_equal(shown, 1);
	assert_non_null(strstr(w.buf, "\"id\":\"20261202-03\""));
	w.len = 0;
	assert_int_equal(command_execute(&ctx, "incident 20261202-03 again", &w), COMMAND_DONE);
	assert_int_equal(opened, 1);
	w.len = 0;
	assert_int_equal(command_execute(&ctx, "incidents", &w), COMMAND_DONE);
	assert_non_null(strstr(w.buf, "\"id\":\"all\""));
	w.len = 0;
	/* fr/2 speaks into fr (its A) and hears the floor: two channels, a draft */
	assert_int_equal(command_execute(&ctx, "problem fr 2", &w), COMMAND_DONE);
	assert_non_null(strstr(w.buf, "\"text\":\"technical problem reported from console fr/2\",\"draft\":1,\"n\":2"));
	w.len = 0;
	assert_int_equal(command_execute(&ctx, "problem fr 9", &w), COMMAND_ERROR);
	jw_free(&w);
	state_free(&st);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_long_text_refused),
		cmocka_unit_test(test_id_or_text_and_problem),
	};

	thread_role_set(THREAD_CONTROL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
