/* The process-time histogram: percentiles within one bucket (about 4 %)
 * of the truth, the maximum exact, and the last period's length. */
#include "helpers.h"

#include "../../engine/core/cycle_stats.h"

static void test_percentiles(void **state)
{
	static struct cycle_stats c;
	struct cycle_summary s;
	int i;
	(void)state;

	cycle_stats_init(&c);
	cycle_stats_set_rate(&c, 48000); /* 256 frames: 5.333 ms; 128: 2.667 ms */
	cycle_stats_read(&c, &s);
	assert_int_equal(s.cycles, 0);
	/* 1000 cycles: 10 us to 10 ms in steps of 10 us, then one of 50 ms. */
	for (i = 1; i <= 1000; i++)
		cycle_stats_add(&c, (uint64_t)i * 10000, (uint64_t)i * 10000, 256);
	cycle_stats_add(&c, 50000000, 50000000, 128);
	/* preempted: long by the wall clock, short in CPU time */
	cycle_stats_add(&c, 20000000, 100000, 256);
	cycle_stats_read(&c, &s);
	assert_int_equal(s.cycles, 1002);
	assert_int_equal(s.frames, 256);
	/* 5.34 ms .. 10 ms at 256 frames ran past the period (467), and the
	 * 50 ms one at 128; the preempted one only by the wall clock. */
	assert_int_equal(s.overruns, 468);
	assert_int_equal(s.wall_overruns, 469);
	assert_true(s.max_cpu_ns == 50000000.0);
	assert_true(s.max_ns == 50000000.0);
	assert_true(s.p50_ns >= 5000000.0 && s.p50_ns <= 5000000.0 * 1.07);
	assert_true(s.p99_ns >= 9910000.0 && s.p99_ns <= 9910000.0 * 1.07);
}

static void test_small_and_huge(void **state)
{
	static struct cycle_stats c;
	struct cycle_summary s;
	(void)state;

	cycle_stats_init(&c);
	cycle_stats_add(&c, 3, 3, 64);        /* below the first octave */
	cycle_stats_add(&c, UINT64_MAX / 2, 1, 64); /* beyond the last bucket: kept in it */
	cycle_stats_read(&c, &s);
	assert_int_equal(s.cycles, 2);
	assert_true(s.p50_ns <= 3.0);
	assert_true(s.p99_ns <= s.max_ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_small_and_huge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
