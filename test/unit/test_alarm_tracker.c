/* Alarms are raised once after their condition holds long enough, and
 * cleared once after it has been gone long enough. */
#include "helpers.h"

#include "../../engine/core/alarm_tracker.h"

struct seen {
	char log[16][128];
	int n;
};

static void notify(void *user, const struct alarm *a, int raised)
{
	struct seen *s = user;
	if (s->n < 16)
		snprintf(s->log[s->n++], sizeof s->log[0], "%s %s %s", raised ? "raised" : "cleared", a->kind, a->subject);
}

static void tick(struct alarm_tracker *t, int64_t now, int holds)
{
	alarm_begin(t);
	alarm_state(t, now, "live-silent", "fr", holds, 1000, 500, "fr/1 below -50 dBFS");
	alarm_end(t, now, 500);
}

static void test_raise_once_and_clear(void **unused)
{
	struct alarm_tracker t;
	struct seen s = { .n = 0 };
	int64_t ms;
	(void)unused;

	alarm_tracker_init(&t, notify, &s);
	for (ms = 0; ms <= 900; ms += 100)
		tick(&t, ms, 1);
	assert_int_equal(s.n, 0); /* not yet: 900 ms < 1 s */
	for (; ms <= 3000; ms += 100)
		tick(&t, ms, 1);
	assert_int_equal(s.n, 1); /* raised once, not every tick */
	assert_string_equal(s.log[0], "raised live-silent fr");
	assert_int_equal(alarm_active_count(&t), 1);
	assert_string_equal(t.alarms[0].detail, "fr/1 below -50 dBFS");
	tick(&t, 3100, 0);
	tick(&t, 3300, 1); /* a flicker does not clear it */
	tick(&t, 3400, 0);
	tick(&t, 3800, 0);
	assert_int_equal(s.n, 1);
	tick(&t, 3900, 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.log[1], "cleared live-silent fr");
	assert_int_equal(alarm_active_count(&t), 0);
	alarm_tracker_free(&t);
}

/* A large room: a thousand conditions, all tracked, each found where the
 * last tick left it. */
static void test_many_conditions(void **unused)
{
	struct alarm_tracker t;
	struct seen s = { .n = 0 };
	char subject[16];
	int i, tick_no;
	(void)unused;

	alarm_tracker_init(&t, NULL, &s);
	for (tick_no = 0; tick_no < 3; tick_no++) {
		alarm_begin(&t);
		for (i = 0; i < 1000; i++) {
			snprintf(subject, sizeof subject, "port%d", i);
			alarm_state(&t, tick_no * 100, "clipping", subject, i == 999, 0, 500, "peak");
		}
		alarm_end(&t, tick_no * 100, 500);
	}
	assert_int_equal(t.n, 1000);
	assert_int_equal(alarm_active_count(&t), 1);
	assert_string_equal(t.alarms[999].subject, "port999");
	assert_true(t.alarms[999].raised_ms == 0);
	alarm_tracker_free(&t);
}

static void test_unstated_condition_clears(void **unused)
{
	struct alarm_tracker t;
	struct seen s = { .n = 0 };
	(void)unused;

	alarm_tracker_init(&t, notify, &s);
	alarm_begin(&t);
	alarm_state(&t, 0, "xrun", "", 1, 0, 500, "1 xrun");
	alarm_end(&t, 0, 500);
	assert_int_equal(s.n, 1);
	alarm_begin(&t); /* nobody says it holds any more */
	alarm_end(&t, 100, 500);
	alarm_begin(&t);
	alarm_end(&t, 700, 500);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.log[1], "cleared xrun ");
	alarm_tracker_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raise_once_and_clear),
		cmocka_unit_test(test_unstated_condition_clears),
		cmocka_unit_test(test_many_conditions),
	};
	return cmocka_run_group_tests_name("alarm_tracker", tests, NULL, NULL);
}
