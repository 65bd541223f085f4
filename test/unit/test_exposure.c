/* Exposure against its closed forms: the A-weighting curve at the IEC
 * 61672 frequencies, the LAeq of a calibrated tone, the dose of 80 dB(A)
 * for 8 h, a new day, and a day carried over a restart. */
#include "helpers.h"

#include <math.h>
#include <stdlib.h>

#include "../../engine/core/exposure.h"

static double a_db(double f, double rate)
{
	struct biquad q[3];
	double g = 1;
	int k;

	a_weighting_design(q, rate);
	for (k = 0; k < 3; k++)
		g *= biquad_magnitude(&q[k], f, rate);
	return 20 * log10(g);
}

static void test_a_weighting(void **state)
{
	/* IEC 61672-1 table: frequency, A (dB), class 1 tolerance (dB). */
	static const double table[][3] = {
		{ 31.5, -39.4, 1.5 }, { 63, -26.2, 1.0 }, { 125, -16.1, 1.0 }, { 250, -8.6, 1.0 },
		{ 500, -3.2, 1.0 },   { 1000, 0.0, 0.01 }, { 2000, 1.2, 1.0 }, { 4000, 1.0, 1.0 },
		{ 8000, -1.1, 1.5 },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof table / sizeof table[0]; i++) {
		assert_float_equal(a_db(table[i][0], 48000), table[i][1], table[i][2]);
		assert_float_equal(a_db(table[i][0], 44100), table[i][1], table[i][2]);
	}
}

/* A 1 kHz sine at 0.1 of full scale, 110 dB SPL at 0 dBFS:
 * LAeq = 110 + 20 log10(0.1 / sqrt 2) = 86.99 dB(A). */
static void test_calibrated_tone(void **state)
{
	const double rate = 48000, a = 0.1, want = 110 + 20 * log10(a / sqrt(2.0));
	const size_t n = 48000;
	struct exposure_tracker t;
	struct biquad q[3];
	float *x = malloc(n * sizeof *x);
	double total = 0;
	uint64_t frames = 0;
	int s, k;
	size_t i;
	(void)state;

	a_weighting_design(q, rate);
	assert_int_equal(exposure_tracker_init(&t, 1, 110, rate), 0);
	exposure_tracker_update(&t, &total, frames, 20261122);
	for (s = 0; s < 60; s++) {
		for (i = 0; i < n; i++)
			x[i] = (float)(a * sin(2 * M_PI * 1000 * (double)(s * n + i) / rate));
		for (k = 0; k < 3; k++)
			biquad_run(&q[k], x, (uint32_t)n);
		for (i = 0; i < n; i++)
			total += (double)x[i] * x[i];
		frames += n;
		exposure_tracker_update(&t, &total, frames, 20261122);
	}
	assert_float_equal(t.c[0].day_seconds, 60.0, 1e-9);
	assert_float_equal(exposure_leq_db(t.c[0].day_energy, t.c[0].day_seconds, 110), want, 0.01);
	assert_float_equal(exposure_dose_percent(t.c[0].day_energy, 110),
			   100.0 * 60 / 28800 * pow(10, (want - 80) / 10), 0.01 * 100.0 * 60 / 28800 * pow(10, (want - 80) / 10));
	assert_float_equal(exposure_take_minute(&t, 0), want, 0.01);
	assert_float_equal(exposure_take_minute(&t, 0), -200.0, 0); /* a new minute, empty */
	/* Midnight: the new day starts afresh. */
	frames += n;
	total += 1.0;
	exposure_tracker_update(&t, &total, frames, 20261123);
	assert_float_equal(t.c[0].day_seconds, 1.0, 1e-9);
	free(x);
	exposure_tracker_free(&t);
}

static void test_reference_dose(void **state)
{
	/* 80 dB(A) for 8 h is the lower action value: 100 %. At 110 dB SPL
	 * per full scale, 80 dB(A) is a mean square of 10^-3. */
	(void)state;
	assert_float_equal(exposure_dose_percent(1e-3 * 8 * 3600, 110), 100.0, 1e-9);
	assert_float_equal(exposure_dose_percent(1e-3 * 4 * 3600 * pow(10, 0.3), 110), 100.0 * pow(10, 0.3) / 2, 1e-9);
	assert_float_equal(exposure_leq_db(1e-3 * 3600, 3600, 110), 80.0, 1e-9);
	assert_float_equal(exposure_leq_db(0, 10, 110), -200.0, 0);
}

static void test_restore(void **state)
{
	struct exposure_tracker t;
	double totals[2] = { 0, 0 };
	(void)state;

	assert_int_equal(exposure_tracker_init(&t, 2, 110, 48000), 0);
	exposure_tracker_restore(&t, 1, 20261122, 80.0, 3600);
	exposure_tracker_update(&t, totals, 0, 20261122);
	assert_float_equal(exposure_dose_percent(t.c[1].day_energy, 110), 12.5, 1e-9);
	assert_float_equal(t.c[1].day_seconds, 3600, 0);
	exposure_tracker_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_weighting),
		cmocka_unit_test(test_calibrated_tone),
		cmocka_unit_test(test_reference_dose),
		cmocka_unit_test(test_restore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
