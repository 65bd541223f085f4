/* The Prometheus exposition (core/room_metrics.c) from readings: every
 * series declared before it is written, labels escaped, the room on every
 * series, levels in dBFS with -Inf for silence, alarms raised and cleared,
 * and the audio side's series gone while JACK is. The room's name: room:
 * or the file's. */
#include <math.h>
#include <stdlib.h>

#include "helpers.h"

#include "../../engine/core/room_metrics.h"
#include "../../engine/core/thread_role.h"

struct room {
	struct config cfg;
	struct state st;
	struct alarm_tracker t;
	struct alarm_readings in;
	struct cycle_summary cycles;
	struct metrics_readings r;
	struct json_writer w;
};

static void meter(void *user, int is_output, int k, float *peak, float *rms)
{
	(void)user;
	/* out_fr (output 2) carries a 0.5 sine; the rest is silent */
	*peak = is_output && k == 2 ? 0.5f : 0.0f;
	*rms = is_output && k == 2 ? 0.35355339f : 0.0f;
}

static int loudness(void *user, int lang, double *momentary, double *short_term)
{
	(void)user;
	*momentary = *short_term = lang == 1 ? -9.5 : NAN;
	return 0;
}

static void stream(void *user, int i, struct stream_reading *out)
{
	(void)user;
	(void)i;
	*out = (struct stream_reading){ "fr", "/council/fr.opus", 0, 4096 };
}

static double interventions(void *user, int mic)
{
	(void)user;
	return mic == 0 ? 3 : 0;
}

static struct room *room_new(void)
{
	struct room *m = calloc(1, sizeof *m);
	assert_non_null(m);
	load_room(&m->cfg);
	assert_int_equal(state_init(&m->st, &m->cfg), 0);
	alarm_tracker_init(&m->t, NULL, NULL);
	m->in = (struct alarm_readings){ .audio_up = 1, .xruns = 2, .dropped = 512, .seconds_left = 7200,
					 .backlog_seconds = 0.25, .meter = meter, .n_streams = 1 };
	m->cycles = (struct cycle_summary){ .cycles = 1000, .p50_ns = 100000, .p99_ns = 200000, .max_ns = 400000,
					    .frames = 256, .overruns = 1, .sum_ns = 1.5e8 };
	m->r = (struct metrics_readings){ .version = "9.9.9", .start_time_seconds = 1796224095.5,
					  .jack_server = "main", .sample_rate = 48000, .period_frames = 256,
					  .in = &m->in, .alarms = &m->t, .cycles = &m->cycles,
					  .recording_state = "recording", .loudness = loudness, .stream = stream,
					  .interventions = interventions };
	jw_init(&m->w);
	return m;
}

static void room_free(struct room *m)
{
	jw_free(&m->w);
	alarm_tracker_free(&m->t);
	state_free(&m->st);
	config_free(&m->cfg);
	free(m);
}

static const char *write(struct room *m)
{
	m->w.len = 0;
	if (m->w.buf)
		m->w.buf[0] = '\0';
	room_metrics_write(&m->w, &m->cfg, &m->st, &m->r);
	assert_false(m->w.failed);
	return m->w.buf;
}

/* The line that starts with `series ` (its name and labels, exactly). */
static void assert_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
			return;
	fail_msg("no line '%s' in:\n%s", line, text);
}

static void assert_no_series(const char *text, const char *name)
{
	char want[128];

	snprintf(want, sizeof want, "\n%s{", name);
	if (strstr(text, want))
		fail_msg("%s is there:\n%s", name, text);
}

/* Every sample's family has its TYPE line before it, every series says
 * the room, and counters end in _total. */
static void assert_well_formed(const char *text, const char *room)
{
	char typed[64][96];
	int n_typed = 0, i;
	const char *p;

	for (p = text; *p; p = strchr(p, '\n') + 1) {
		char name[96], type[16];
		size_t len = strcspn(p, "{ \n");

		assert_non_null(strchr(p, '\n'));
		if (sscanf(p, "# TYPE %95s %15s", name, type) == 2) {
			assert_true(n_typed < 64);
			snprintf(typed[n_typed++], sizeof typed[0], "%s", name);
			if (!strcmp(type, "counter"))
				assert_string_equal(name + strlen(name) - 6, "_total");
			continue;
		}
		if (*p == '#')
			continue;
		snprintf(name, sizeof name, "%.*s", (int)len, p);
		for (i = 0; i < n_typed; i++) {
			size_t t = strlen(typed[i]);
			if (!strncmp(name, typed[i], t) &&
			    (!name[t] || !strcmp(name + t, "_sum") || !strcmp(name + t, "_count")))
				break;
		}
		if (i == n_typed)
			fail_msg("%s has no TYPE before it", name);
		assert_int_equal(strncmp(p + len, "{room=\"", 7), 0);
		assert_int_equal(strncmp(p + len + 7, room, strlen(room)), 0);
	}
}

static void test_every_family_declared_with_the_room(void **state)
{
	struct room *m = room_new();
	const char *t;
	(void)state;

	t = write(m);
	assert_well_formed(t, "room");
	assert_line(t, "tolk_build_info{room=\"room\",version=\"9.9.9\",jack_server=\"main\"} 1");
	assert_line(t, "tolk_start_time_seconds{room=\"room\"} 1796224095.5");
	assert_line(t, "tolk_jack_up{room=\"room\"} 1");
	assert_line(t, "tolk_jack_period_seconds{room=\"room\"} 0.00533333333333333");
	assert_line(t, "tolk_jack_xruns_total{room=\"room\"} 2");
	assert_line(t, "tolk_process_time_seconds{room=\"room\",quantile=\"0.99\"} 0.0002");
	assert_line(t, "tolk_process_time_seconds_sum{room=\"room\"} 0.15");
	assert_line(t, "tolk_process_time_seconds_count{room=\"room\"} 1000");
	assert_line(t, "tolk_process_overruns_total{room=\"room\"} 1");
	assert_line(t, "tolk_recording_dropped_frames_total{room=\"room\"} 512");
	assert_line(t, "tolk_recording_backlog_seconds{room=\"room\"} 0.25");
	assert_line(t, "tolk_recording_disk_left_seconds{room=\"room\"} 7200");
	assert_line(t, "tolk_recording_state{room=\"room\",state=\"recording\"} 1");
	assert_line(t, "tolk_recording_state{room=\"room\",state=\"failed\"} 0");
	assert_line(t, "tolk_stream_up{room=\"room\",channel=\"fr\",mount=\"/council/fr.opus\"} 0");
	assert_line(t, "tolk_stream_dropped_bytes_total{room=\"room\",channel=\"fr\",mount=\"/council/fr.opus\"} 4096");
	assert_line(t, "tolk_limiter_interventions_total{room=\"room\",booth=\"fr\",console=\"1\"} 3");
	assert_line(t, "tolk_limiter_interventions_total{room=\"room\",booth=\"en\",console=\"3\"} 0");
	room_free(m);
}

static void test_channels_levels_and_who_feeds_them(void **state)
{
	struct room *m = room_new();
	struct state_report rep;
	const char *t;
	(void)state;

	assert_int_equal(state_set_mic(&m->st, 0, 2, 1, &rep), 0); /* fr/2 live on fr */
	t = write(m);
	assert_line(t, "tolk_channel_info{room=\"room\",channel=\"fr\",name=\"Français\",kind=\"interpreter\","
		       "source=\"fr/2\"} 1");
	assert_line(t, "tolk_channel_info{room=\"room\",channel=\"de\",name=\"Deutsch\",kind=\"idle\",source=\"silence\"} 1");
	assert_line(t, "tolk_channel_info{room=\"room\",channel=\"es\",name=\"Español\",kind=\"idle\",source=\"duck\"} 1");
	assert_line(t, "tolk_channel_live{room=\"room\",channel=\"fr\"} 1");
	assert_line(t, "tolk_channel_live{room=\"room\",channel=\"de\"} 0");
	assert_line(t, "tolk_consoles_live{room=\"room\"} 1");
	/* 0.5 peak is -6.02 dBFS; silence is -Inf, which Prometheus reads */
	assert_non_null(strstr(t, "tolk_channel_peak_dbfs{room=\"room\",channel=\"fr\"} -6.0205"));
	assert_line(t, "tolk_channel_rms_dbfs{room=\"room\",channel=\"floor\"} -Inf");
	assert_line(t, "tolk_channel_short_term_loudness_lufs{room=\"room\",channel=\"fr\"} -9.5");
	assert_line(t, "tolk_channel_short_term_loudness_lufs{room=\"room\",channel=\"de\"} -Inf");
	assert_int_equal(state_set_mute(&m->st, 0, 2, 1, &rep), 0); /* a cough */
	t = write(m);
	assert_line(t, "tolk_channel_info{room=\"room\",channel=\"fr\",name=\"Français\",kind=\"interpreter-muted\","
		       "source=\"fr/2\"} 1");
	assert_line(t, "tolk_channel_live{room=\"room\",channel=\"fr\"} 0");
	room_free(m);
}

/* One tracker tick of live-silent on a subject the text format must escape. */
static void odd_subject_tick(struct room *m, int64_t now, int holds)
{
	alarm_begin(&m->t);
	alarm_state(&m->t, now, "live-silent", "a \"quoted\\\" subject\nhere", holds, 0, 1000, "x");
	alarm_end(&m->t, now, 1000);
}

static void test_alarms_raised_cleared_and_escaped(void **state)
{
	struct room *m = room_new();
	const char *t;
	(void)state;

	/* Watched, never raised: no series (every port has a clipping watch). */
	alarm_begin(&m->t);
	alarm_state(&m->t, 0, "clipping", "out_fr", 0, 0, 1000, "");
	alarm_end(&m->t, 0, 1000);
	odd_subject_tick(m, 0, 1);
	t = write(m);
	assert_line(t, "tolk_alarms_active{room=\"room\"} 1");
	assert_line(t, "tolk_alarm_active{room=\"room\",kind=\"live-silent\",subject=\"a \\\"quoted\\\\\\\" "
		       "subject\\nhere\",acked=\"false\"} 1");
	assert_null(strstr(t, "kind=\"clipping\""));
	odd_subject_tick(m, 2000, 0);
	odd_subject_tick(m, 3500, 0); /* gone 1.5 s: cleared */
	t = write(m);
	assert_line(t, "tolk_alarms_active{room=\"room\"} 0");
	assert_line(t, "tolk_alarm_active{room=\"room\",kind=\"live-silent\",subject=\"a \\\"quoted\\\\\\\" "
		       "subject\\nhere\",acked=\"false\"} 0");
	room_free(m);
}

static void test_jack_gone(void **state)
{
	struct room *m = room_new();
	const char *t;
	(void)state;

	m->in.audio_up = 0;
	m->r.cycles = NULL;
	m->r.recording_state = "waiting-for-jack";
	t = write(m);
	assert_well_formed(t, "room");
	assert_line(t, "tolk_jack_up{room=\"room\"} 0");
	assert_line(t, "tolk_recording_state{room=\"room\",state=\"waiting-for-jack\"} 1");
	assert_no_series(t, "tolk_jack_sample_rate_hertz");
	assert_no_series(t, "tolk_channel_rms_dbfs");
	assert_no_series(t, "tolk_process_time_seconds");
	assert_no_series(t, "tolk_stream_up");
	assert_no_series(t, "tolk_recording_dropped_frames_total");
	/* what the state knows stays: who feeds which channel */
	assert_line(t, "tolk_channel_live{room=\"room\",channel=\"fr\"} 0");
	m->r.recording_state = "disabled";
	t = write(m);
	assert_line(t, "tolk_recording_state{room=\"room\",state=\"disabled\"} 1");
	room_free(m);
}

static void test_room_name(void **state)
{
	struct config cfg;
	char err[TOLK_ERROR_MAX], text[sizeof ROOM_YAML + 64];
	(void)state;

	assert_int_equal(config_load_string(&cfg, ROOM_YAML, strlen(ROOM_YAML), "/etc/tolk/council.yaml", err,
					    sizeof err), 0);
	assert_string_equal(cfg.room, "council");
	config_free(&cfg);
	assert_int_equal(config_load_string(&cfg, ROOM_YAML, strlen(ROOM_YAML), "/tmp/my room.yaml", err, sizeof err), 0);
	assert_string_equal(cfg.room, "tolk");
	config_free(&cfg);
	snprintf(text, sizeof text, "room: plenary-2\n%s", ROOM_YAML);
	assert_int_equal(config_load_string(&cfg, text, strlen(text), "council.yaml", err, sizeof err), 0);
	assert_string_equal(cfg.room, "plenary-2");
	config_free(&cfg);
	snprintf(text, sizeof text, "room: \"a b\"\n%s", ROOM_YAML);
	assert_int_not_equal(config_load_string(&cfg, text, strlen(text), "council.yaml", err, sizeof err), 0);
	assert_non_null(strstr(err, "council.yaml:1:7: room 'a b' must be"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_family_declared_with_the_room),
		cmocka_unit_test(test_channels_levels_and_who_feeds_them),
		cmocka_unit_test(test_alarms_raised_cleared_and_escaped),
		cmocka_unit_test(test_jack_gone),
		cmocka_unit_test(test_room_name),
	};

	thread_role_set(THREAD_CONTROL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
