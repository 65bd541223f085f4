/* The times a clip is asked for: UTC, time of day, offsets; and what is
 * refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../engine/core/clip_time.h"

#define RATE 48000
/* 2026-12-02T11:42:00.000Z */
#define T0_S 1796211720LL
#define FIRST (T0_S * RATE + 12345) /* a meeting whose first sample is 12345 samples after it */

static void test_iso(void **state)
{
	long long s;

	(void)state;
	assert_int_equal(clip_iso_ms("2026-12-02T11:42:00.250Z"), T0_S * 1000 + 250);
	assert_int_equal(clip_iso_ms("2026-12-02T11:42:00"), T0_S * 1000);
	assert_int_equal(clip_parse_time("2026-12-02T11:42:00.250Z", FIRST, RATE, &s), 0);
	/* whole seconds exactly, the fraction to the nearest sample */
	assert_true(s == T0_S * RATE + 12000);
	assert_int_equal(clip_parse_time("2026-12-02T11:42:01Z", FIRST, RATE, &s), 0);
	assert_true(s == (T0_S + 1) * RATE);
}

static void test_offsets(void **state)
{
	long long s;

	(void)state;
	assert_int_equal(clip_parse_time("+90", FIRST, RATE, &s), 0);
	assert_true(s == FIRST + 90LL * RATE);
	assert_int_equal(clip_parse_time("+1:30", FIRST, RATE, &s), 0);
	assert_true(s == FIRST + 90LL * RATE);
	assert_int_equal(clip_parse_time("+1:02:03.5", FIRST, RATE, &s), 0);
	assert_true(s == FIRST + (3723LL * RATE + RATE / 2));
	assert_int_equal(clip_parse_time("+0.00002", FIRST, RATE, &s), 0);
	assert_true(s == FIRST + 1); /* one sample is 20.8 µs */
}

static void test_time_of_day(void **state)
{
	long long s;

	(void)state;
	/* On the meeting's day... */
	assert_int_equal(clip_parse_time("11:43:00.5", FIRST, RATE, &s), 0);
	assert_true(s == (T0_S + 60) * RATE + RATE / 2);
	/* ...and a time of day earlier than its start is the next day's. */
	assert_int_equal(clip_parse_time("01:00:00", FIRST, RATE, &s), 0);
	assert_true(s == (T0_S - (11 * 3600 + 42 * 60) + 86400 + 3600) * RATE);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"", "now", "+", "+-5", "-5", "+1:75", "+1:2.5:00", "25:00:00", "11:42", "+inf", "+nan",
		"2026-13-02T11:42:00Z", "2026-12-02T11:42:00.Z", "2026-12-02T11:42:00.5e3Z", "2026-12-02T11:42:00Zjunk",
		"2026-12-02 11:42:00",
	};
	long long s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (clip_parse_time(bad[i], FIRST, RATE, &s) != -EINVAL)
			fail_msg("'%s' was taken", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_time_of_day),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
