/* State rules, the snapshot they produce, and the command path. */
#include "helpers.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../engine/core/command.h"
#include "../../engine/core/snapshot.h"
#include "../../engine/core/state.h"

struct fixture {
	struct config cfg;
	struct state st;
	char log[8][256];
	int n_log;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	load_room(&f->cfg);
	assert_int_equal(state_init(&f->st, &f->cfg), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	state_free(&f->st);
	config_free(&f->cfg);
	free(f);
	return 0;
}

static void test_one_live_mic_per_booth(void **state)
{
	struct fixture *f = *state;
	uint64_t g = f->st.generation;
	int prev = -1;

	assert_int_equal(state_set_mic(&f->st, 0, 1, 1, &prev), 0);
	assert_int_equal(prev, 0);
	assert_true(state_mic_on(&f->st, 0, 1));
	assert_true(f->st.generation > g);
	/* Takeover inside the booth. */
	assert_int_equal(state_set_mic(&f->st, 0, 2, 1, &prev), 0);
	assert_int_equal(prev, 1);
	assert_false(state_mic_on(&f->st, 0, 1));
	assert_true(state_mic_on(&f->st, 0, 2));
	/* Another booth is independent. */
	assert_int_equal(state_set_mic(&f->st, 1, 3, 1, &prev), 0);
	assert_true(state_mic_on(&f->st, 0, 2));
	/* Off for a console that is not live changes nothing. */
	g = f->st.generation;
	assert_int_equal(state_set_mic(&f->st, 0, 1, 0, &prev), 1);
	assert_int_equal(f->st.generation, g);
	assert_int_equal(state_set_mic(&f->st, 0, 2, 1, &prev), 1);
	assert_int_equal(state_set_mic(&f->st, 0, 2, 0, &prev), 0);
	assert_false(state_mic_on(&f->st, 0, 2));
	/* Out of range. */
	assert_int_equal(state_set_mic(&f->st, 0, 3, 1, &prev), -EINVAL);
	assert_int_equal(state_set_mic(&f->st, 0, 0, 1, &prev), -EINVAL);
	assert_int_equal(state_set_mic(&f->st, 2, 1, 1, &prev), -EINVAL);
}

static void test_channel_feeds(void **state)
{
	struct fixture *f = *state;
	struct channel_feed feed;

	state_channel_feed(&f->st, 1, &feed); /* fr, idle */
	assert_int_equal(feed.booth, -1);
	assert_int_equal(feed.idle, IDLE_FLOOR);
	state_set_mic(&f->st, 0, 2, 1, NULL);
	state_channel_feed(&f->st, 1, &feed);
	assert_int_equal(feed.booth, 0);
	assert_int_equal(feed.console, 2);
	state_channel_feed(&f->st, 0, &feed); /* en: booth fr speaks fr (A), not en */
	assert_int_equal(feed.booth, -1);
	state_set_mic(&f->st, 1, 1, 1, NULL);
	state_channel_feed(&f->st, 0, &feed);
	assert_int_equal(feed.booth, 1);
	assert_int_equal(feed.console, 1);
}

static void test_snapshot_gains(void **state)
{
	struct fixture *f = *state;
	const float duck = powf(10.0f, -18.0f / 20.0f);
	struct snapshot *s;
	int o, k, mic_fr2 = snapshot_src_mic(1);

	s = snapshot_build(&f->st);
	assert_non_null(s);
	assert_int_equal(s->n_outputs, 10);
	assert_int_equal(s->n_sources, 6);
	assert_float_equal(snapshot_gain(s, 0, SNAPSHOT_SRC_FLOOR), 1.0f, 0.0f);     /* out_floor */
	assert_float_equal(snapshot_gain(s, 1, SNAPSHOT_SRC_FLOOR), 1.0f, 0.0f);     /* en: floor */
	assert_float_equal(snapshot_gain(s, 2, SNAPSHOT_SRC_FLOOR), 1.0f, 0.0f);     /* fr: floor */
	assert_float_equal(snapshot_gain(s, 3, SNAPSHOT_SRC_FLOOR), 0.0f, 0.0f);     /* de: silence */
	assert_float_equal(snapshot_gain(s, 4, SNAPSHOT_SRC_FLOOR), duck, 1e-6f);    /* es: duck */
	for (o = 5; o < 10; o++)                                                     /* phones: floor */
		assert_float_equal(snapshot_gain(s, o, SNAPSHOT_SRC_FLOOR), 1.0f, 0.0f);
	for (o = 0; o < 10; o++)
		for (k = 1; k < 6; k++)
			assert_float_equal(snapshot_gain(s, o, k), 0.0f, 0.0f);
	snapshot_free(s);

	state_set_mic(&f->st, 0, 2, 1, NULL);
	s = snapshot_build(&f->st);
	assert_int_equal(s->generation, f->st.generation);
	assert_float_equal(snapshot_gain(s, 2, SNAPSHOT_SRC_FLOOR), 0.0f, 0.0f);
	assert_float_equal(snapshot_gain(s, 2, mic_fr2), 1.0f, 0.0f);
	/* The mic goes nowhere else: not to out_floor, not to another channel. */
	for (o = 0; o < 10; o++)
		if (o != 2)
			assert_float_equal(snapshot_gain(s, o, mic_fr2), 0.0f, 0.0f);
	snapshot_free(s);
}

static void log_capture(void *user, const char *line)
{
	struct fixture *f = user;
	if (f->n_log < 8)
		snprintf(f->log[f->n_log++], sizeof f->log[0], "%s", line);
}

static enum command_outcome run(struct fixture *f, const char *line, struct json_writer *w)
{
	struct command_context ctx = { .state = &f->st, .log = log_capture, .log_user = f };
	w->len = 0;
	if (w->buf)
		w->buf[0] = '\0';
	return command_execute(&ctx, line, w);
}

static void test_commands(void **state)
{
	struct fixture *f = *state;
	struct json_writer w;

	jw_init(&w);
	assert_int_equal(run(f, "status", &w), COMMAND_DONE);
	assert_string_equal(w.buf,
		"{\"ok\":true,\"meeting\":\"unit-room\",\"floor_language\":\"en\",\"channels\":["
		"{\"number\":1,\"code\":\"en\",\"name\":\"English\",\"feed\":\"floor\",\"idle\":\"floor\"},"
		"{\"number\":2,\"code\":\"fr\",\"name\":\"Français\",\"feed\":\"floor\",\"idle\":\"floor\"},"
		"{\"number\":3,\"code\":\"de\",\"name\":\"Deutsch\",\"feed\":\"silence\",\"idle\":\"silence\"},"
		"{\"number\":4,\"code\":\"es\",\"name\":\"Español\",\"feed\":\"duck\",\"idle\":\"duck\"}],"
		"\"booths\":[{\"id\":\"fr\",\"output\":\"fr\",\"consoles\":[{\"n\":1,\"mic\":false},"
		"{\"n\":2,\"mic\":false}]},{\"id\":\"en\",\"output\":\"en\",\"consoles\":[{\"n\":1,"
		"\"mic\":false},{\"n\":2,\"mic\":false},{\"n\":3,\"mic\":false}]}]}");

	assert_int_equal(run(f, "mic fr 1 on", &w), COMMAND_ROUTING);
	assert_string_equal(w.buf, "{\"ok\":true,\"booth\":\"fr\",\"n\":1,\"mic\":true,\"channel\":\"fr\","
				   "\"changed\":true}");
	assert_int_equal(run(f, "  mic\tfr 2 on  ", &w), COMMAND_ROUTING);
	assert_string_equal(w.buf, "{\"ok\":true,\"booth\":\"fr\",\"n\":2,\"mic\":true,\"channel\":\"fr\","
				   "\"taken_over\":1,\"changed\":true}");
	assert_int_equal(run(f, "mic fr 2 on", &w), COMMAND_DONE);
	assert_non_null(strstr(w.buf, "\"changed\":false"));
	assert_int_equal(f->n_log, 2);
	assert_string_equal(f->log[0], "mic fr/1 on");
	assert_string_equal(f->log[1], "mic fr/2 on, taking over from fr/1 (now off)");
	assert_int_equal(run(f, "status", &w), COMMAND_DONE);
	assert_non_null(strstr(w.buf, "\"code\":\"fr\",\"name\":\"Français\",\"feed\":\"fr/2\""));
	assert_int_equal(run(f, "mic fr 2 off", &w), COMMAND_ROUTING);
	assert_string_equal(f->log[2], "mic fr/2 off");
	jw_free(&w);
}

static void test_bad_commands(void **state)
{
	static const struct {
		const char *line, *reply;
	} cases[] = {
		{ "", "{\"ok\":false,\"error\":\"empty request (try help)\"}" },
		{ "dance", "{\"ok\":false,\"error\":\"unknown command 'dance' (try help)\"}" },
		{ "status now", "{\"ok\":false,\"error\":\"status: takes no arguments\"}" },
		{ "mic", "{\"ok\":false,\"error\":\"usage: mic <booth> <n> on|off\"}" },
		{ "mic fr 1", "{\"ok\":false,\"error\":\"usage: mic <booth> <n> on|off\"}" },
		{ "mic xx 1 on", "{\"ok\":false,\"error\":\"mic: unknown booth 'xx'\"}" },
		{ "mic fr 3 on", "{\"ok\":false,\"error\":\"mic: booth fr has consoles 1 to 2, not '3'\"}" },
		{ "mic fr 1x on", "{\"ok\":false,\"error\":\"mic: booth fr has consoles 1 to 2, not '1x'\"}" },
		{ "mic fr 1 maybe", "{\"ok\":false,\"error\":\"mic: expected on or off, not 'maybe'\"}" },
		{ "mic \"fr\" 1 on", "{\"ok\":false,\"error\":\"mic: unknown booth '\\\"fr\\\"'\"}" },
		{ "a b c d e f g h i j k l m n o p q", "{\"ok\":false,\"error\":\"request has more than 16 words\"}" },
		{ "mic fr\x01 1 on", "{\"ok\":false,\"error\":\"request holds a control character\"}" },
	};
	struct fixture *f = *state;
	struct json_writer w;
	uint64_t g = f->st.generation;
	size_t i;

	jw_init(&w);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(run(f, cases[i].line, &w), COMMAND_ERROR);
		assert_string_equal(w.buf, cases[i].reply);
	}
	assert_int_equal(f->st.generation, g); /* nothing changed */
	assert_int_equal(f->n_log, 0);
	jw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_live_mic_per_booth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_feeds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_gains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_commands, setup, teardown),
	};
	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
