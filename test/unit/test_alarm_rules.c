/* The alarm rules, from readings: each condition raises its alarm, with
 * the right subject, after the right time, and a quiet good room raises
 * none. */
#include <stdlib.h>

#include "helpers.h"

#include "../../engine/core/alarm_rules.h"

struct room {
	struct config cfg;
	struct state st;
	struct alarm_tracker t;
	struct alarm_rules r;
	struct alarm_readings in;
	float level;         /* every port's rms and peak */
	int loud_output;     /* this output peaks at 1.0 (-1: none) */
	int streams_up;
	char raised[32][96];
	int n_raised;
};

static void notify(void *user, const struct alarm *a, int raised)
{
	struct room *m = user;
	if (raised && m->n_raised < 32)
		snprintf(m->raised[m->n_raised++], sizeof m->raised[0], "%s %s", a->kind, a->subject);
}

static void meter(void *user, int is_output, int k, float *peak, float *rms)
{
	struct room *m = user;
	*rms = m->level;
	*peak = is_output && k == m->loud_output ? 1.0f : m->level;
}

static int stream(void *user, int i, const char **mount, char *why, size_t whylen)
{
	struct room *m = user;
	(void)i;
	*mount = "/fr.opus";
	snprintf(why, whylen, "connection refused");
	return m->streams_up;
}

static struct room *room_new(void)
{
	struct room *m = calloc(1, sizeof *m);
	assert_non_null(m);
	load_room(&m->cfg);
	assert_int_equal(state_init(&m->st, &m->cfg), 0);
	alarm_tracker_init(&m->t, notify, m);
	m->level = 0.1f; /* -20 dBFS: speech, no clipping */
	m->loud_output = -1;
	m->streams_up = 1;
	m->in = (struct alarm_readings){ .audio_up = 1, .seconds_left = -1, .meter = meter, .meter_user = m,
					 .stream = stream, .stream_user = m };
	return m;
}

static void room_free(struct room *m)
{
	alarm_tracker_free(&m->t);
	state_free(&m->st);
	config_free(&m->cfg);
	free(m);
}

/* Ticks at 10 Hz from `from` to `to` ms. */
static void run(struct room *m, int64_t from, int64_t to)
{
	for (m->in.now_ms = from; m->in.now_ms <= to; m->in.now_ms += 100)
		alarm_rules_check(&m->r, &m->t, &m->cfg, &m->st, &m->in);
}

static int raised(const struct room *m, const char *what)
{
	int i;
	for (i = 0; i < m->n_raised; i++)
		if (!strcmp(m->raised[i], what))
			return 1;
	return 0;
}

static void test_quiet_good_room_raises_nothing(void **unused)
{
	struct room *m = room_new();
	(void)unused;
	run(m, 0, 60000);
	assert_int_equal(m->n_raised, 0);
	room_free(m);
}

static void test_jack_down_at_once_and_nothing_else(void **unused)
{
	struct room *m = room_new();
	(void)unused;
	m->in.audio_up = 0;
	m->level = 0; /* not read while the server is gone */
	run(m, 0, 60000);
	assert_int_equal(m->n_raised, 1);
	assert_true(raised(m, "jack-down "));
	room_free(m);
}

static void test_live_mic_silent_after_its_time(void **unused)
{
	struct room *m = room_new();
	struct state_report rep;
	(void)unused;
	assert_int_equal(state_set_mic(&m->st, 0, 1, 1, &rep), 0); /* fr/1 live on fr */
	m->level = 0.001f;                                        /* -60 dBFS, under -50 */
	run(m, 0, 9000);
	assert_false(raised(m, "live-silent fr"));
	run(m, 9100, 10500);
	assert_true(raised(m, "live-silent fr"));
	assert_false(raised(m, "live-silent en"));
	room_free(m);
}

static void test_floor_silent_and_clipping(void **unused)
{
	struct room *m = room_new();
	(void)unused;
	m->loud_output = 0; /* out_floor peaks at 0 dBFS */
	run(m, 0, 200);
	assert_true(raised(m, "clipping out_floor"));
	m->level = 0;
	run(m, 300, 31000);
	assert_true(raised(m, "floor-silent "));
	room_free(m);
}

static void test_counters_raise_when_they_move(void **unused)
{
	struct room *m = room_new();
	(void)unused;
	run(m, 0, 1000);
	m->in.xruns = 2;
	m->in.dropped = 480;
	run(m, 1100, 1200);
	assert_true(raised(m, "xrun "));
	assert_true(raised(m, "recording-drop "));
	assert_false(raised(m, "recording-failed "));
	m->in.failed_now = 1;
	run(m, 1300, 1400);
	assert_true(raised(m, "recording-failed "));
	room_free(m);
}

static void test_new_recorder_counts_from_zero(void **unused)
{
	struct room *m = room_new();
	(void)unused;
	m->in.failures = 3;
	run(m, 0, 100);
	m->n_raised = 0;
	m->in.failures = 0; /* a reload made a new recorder: not a failure */
	run(m, 200, 60000);
	assert_false(raised(m, "recording-failed "));
	room_free(m);
}

static void test_recorder_behind(void **unused)
{
	struct room *m = room_new();
	(void)unused;
	m->in.backlog_seconds = 1.0; /* a block or so: normal */
	run(m, 0, 5000);
	assert_false(raised(m, "recording-behind "));
	m->in.backlog_seconds = 4.0; /* past the default 3 s, for 1 s */
	run(m, 5100, 5900);
	assert_false(raised(m, "recording-behind "));
	run(m, 6000, 6300);
	assert_true(raised(m, "recording-behind "));
	/* Never later than half the rings: 1 s rings, 0.6 s behind. */
	m->cfg.recording.buffer_seconds = 1;
	m->n_raised = 0;
	m->in.backlog_seconds = 0;
	run(m, 6400, 20000);
	m->in.backlog_seconds = 0.6;
	run(m, 20100, 21500);
	assert_true(raised(m, "recording-behind "));
	room_free(m);
}

static void test_disk_low_and_stream_down(void **unused)
{
	struct room *m = room_new();
	(void)unused;
	m->in.seconds_left = 5 * 60; /* under the default */
	m->in.n_streams = 1;
	m->streams_up = 0;
	run(m, 0, 2000);
	assert_true(raised(m, "disk-low "));
	assert_false(raised(m, "stream-down /fr.opus")); /* a stream has 3 s to come back */
	run(m, 2100, 3500);
	assert_true(raised(m, "stream-down /fr.opus"));
	assert_string_equal(m->t.alarms[m->t.n - 1].detail, "listeners of /fr.opus hear nothing: connection refused");
	room_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet_good_room_raises_nothing),
		cmocka_unit_test(test_jack_down_at_once_and_nothing_else),
		cmocka_unit_test(test_live_mic_silent_after_its_time),
		cmocka_unit_test(test_floor_silent_and_clipping),
		cmocka_unit_test(test_counters_raise_when_they_move),
		cmocka_unit_test(test_new_recorder_counts_from_zero),
		cmocka_unit_test(test_recorder_behind),
		cmocka_unit_test(test_disk_low_and_stream_down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
