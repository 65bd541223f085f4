/* The leveller: a quiet channel and a loud one both end at the target,
 * slowly, within their limits, and a silence does not pump. */
#include "plugin_harness.h"


static float settle(double in_rms_db, float max_boost, double seconds, double *out_db)
{
	const size_t n = (size_t)(RATE * seconds);
	float *x = malloc(n * sizeof *x), gain;
	void *l = D->instantiate(RATE, MAXF);

	set(l, "target_lufs", -23);
	set(l, "max_boost_db", max_boost);
	set(l, "rate_db_s", 2);
	D->activate(l);
	sine(x, n, pow(10, in_rms_db / 20.0) * sqrt(2.0), 1000);
	render(l, x, n, 512);
	gain = mon(l, "gain_db");
	*out_db = rms_dbfs(x + n - (size_t)RATE, (size_t)RATE);
	D->cleanup(l);
	free(x);
	return gain;
}

static void test_quiet_and_loud(void **state)
{
	double out, lufs_offset;
	float g;
	(void)state;

	assert_string_equal(D->name, "leveller");
	/* Quiet: -33 dBFS RMS wants about +10 dB. */
	g = settle(-33, 12, 15, &out);
	lufs_offset = -23 - (-33 + g); /* what libebur128 adds for a 1 kHz sine */
	assert_true(g > 9 && g < 11);
	assert_float_equal(out, -33 + g, 0.1);
	assert_true(fabs(lufs_offset) < 1.0);
	/* Loud: -13 dBFS wants about -10 dB. */
	g = settle(-13, 12, 15, &out);
	assert_true(g < -9 && g > -11);
	/* Limits: at most max_boost_db. */
	g = settle(-43, 6, 15, &out);
	assert_float_equal(g, 6.0, 0.01);
}

/* Silence after speech: the gain holds where it was. */
static void test_silence_holds(void **state)
{
	const size_t n = (size_t)(RATE * 20);
	float *x = calloc(n, sizeof *x), held;
	void *l = D->instantiate(RATE, MAXF);
	(void)state;

	set(l, "rate_db_s", 5);
	D->activate(l);
	sine(x, n / 2, pow(10, -29 / 20.0) * sqrt(2.0), 1000);
	render(l, x, n / 2, 256);
	held = mon(l, "gain_db");
	assert_true(held > 4 && held < 7);
	render(l, x + n / 2, n / 2, 256);
	assert_float_equal(mon(l, "gain_db"), held, 0.5);
	/* Never a step: the gain moves in 32-frame straight lines, so the
	 * slope stays that of a sine at the largest gain (max_boost_db, 9). */
	assert_true(max_step(x, n / 2) < pow(10, -29 / 20.0) * sqrt(2.0) * pow(10, 9 / 20.0) * 2 * M_PI * 1000 / RATE);
	D->cleanup(l);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet_and_loud),
		cmocka_unit_test(test_silence_holds),
	};
	D = tolk_plugin_descriptor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
