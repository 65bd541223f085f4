/* The segment meter against libebur128 measuring everything itself, on a
 * programme whose level moves (so that the range is not 0): the same
 * integrated loudness and true peak, the range within its 0.1 LU bins,
 * and the largest momentary and short-term values read every 100 ms. */
#include <ebur128.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../../engine/disk/segment_loudness.h"

#define RATE 48000

/* 40 s: a tone whose level steps every 2 s between -30 and -12 dBFS, with
 * a quiet stretch and a loud burst, fed in blocks of `chunk` frames. */
static float *programme(long n)
{
	float *x = malloc((size_t)n * sizeof *x);
	long i;

	assert_non_null(x);
	for (i = 0; i < n; i++) {
		long step = i / (2 * RATE);
		double db = -30.0 + (double)((step * 7) % 19);
		if (step == 9)
			db = -60.0;
		if (i >= 31 * RATE && i < 31 * RATE + RATE / 5)
			db = -3.0;
		x[i] = (float)(pow(10.0, db / 20.0) * sin(2.0 * M_PI * 997.0 * (double)i / RATE));
	}
	return x;
}

static void compare(long chunk)
{
	const long n = 40L * RATE;
	float *x = programme(n);
	ebur128_state *ref = ebur128_init(1, RATE, EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_M | EBUR128_MODE_S |
							 EBUR128_MODE_TRUE_PEAK);
	struct segment_meter m;
	struct segment_loudness got;
	double want_i, want_lra, want_tp, v, max_m = -HUGE_VAL, max_s = -HUGE_VAL;
	long i;

	assert_non_null(ref);
	assert_int_equal(segment_meter_init(&m, RATE), 0);
	for (i = 0; i < n; i += chunk)
		segment_meter_add(&m, x + i, (uint32_t)(n - i < chunk ? n - i : chunk));
	/* The reference, read at every 100 ms as the meter does. */
	for (i = 0; i < n; i += RATE / 10) {
		ebur128_add_frames_float(ref, x + i, RATE / 10);
		if (i >= 3 * RATE / 10 && ebur128_loudness_momentary(ref, &v) == EBUR128_SUCCESS && v > max_m)
			max_m = v;
		if (i >= 29 * RATE / 10 && ebur128_loudness_shortterm(ref, &v) == EBUR128_SUCCESS && v > max_s)
			max_s = v;
	}
	segment_meter_result(&m, &got);
	assert_int_equal(ebur128_loudness_global(ref, &want_i), EBUR128_SUCCESS);
	assert_int_equal(ebur128_loudness_range(ref, &want_lra), EBUR128_SUCCESS);
	assert_int_equal(ebur128_true_peak(ref, 0, &want_tp), EBUR128_SUCCESS);
	/* The histogram mode bins the integrated gating at 0.1 LU too. */
	if (fabs(got.integrated - want_i) > 0.1)
		fail_msg("integrated %.3f, want %.3f", got.integrated, want_i);
	if (fabs(got.true_peak - 20.0 * log10(want_tp)) > 0.001)
		fail_msg("true peak %.3f, want %.3f", got.true_peak, 20.0 * log10(want_tp));
	if (want_lra < 5 || fabs(got.range - want_lra) > 0.15)
		fail_msg("range %.3f, want %.3f", got.range, want_lra);
	if (fabs(got.max_momentary - max_m) > 0.01)
		fail_msg("max momentary %.3f, want %.3f", got.max_momentary, max_m);
	if (fabs(got.max_short_term - max_s) > 0.01)
		fail_msg("max short-term %.3f, want %.3f", got.max_short_term, max_s);
	segment_meter_free(&m);
	ebur128_destroy(&ref);
	free(x);
}

static void test_against_libebur128(void **state)
{
	(void)state;
	compare(4096); /* the recorder's chunks, not on block edges */
	compare(256);
	compare(4800);
}

/* Silence: nothing to say, and no number pretends otherwise. */
static void test_silence(void **state)
{
	static float zeros[RATE];
	struct segment_meter m;
	struct segment_loudness got;
	int i;

	(void)state;
	assert_int_equal(segment_meter_init(&m, RATE), 0);
	for (i = 0; i < 5; i++)
		segment_meter_add(&m, zeros, RATE);
	segment_meter_result(&m, &got);
	assert_true(isnan(got.integrated) && isnan(got.range) && isnan(got.true_peak));
	assert_true(isnan(got.max_momentary) && isnan(got.max_short_term));
	segment_meter_free(&m);
}

/* Shorter than a short-term window: the whole segment is the window. */
static void test_short_segment(void **state)
{
	float *x = programme(RATE);
	struct segment_meter m;
	struct segment_loudness got;

	(void)state;
	assert_int_equal(segment_meter_init(&m, RATE), 0);
	segment_meter_add(&m, x, RATE);
	segment_meter_result(&m, &got);
	assert_true(isfinite(got.max_short_term) && fabs(got.max_short_term - got.integrated) < 0.5);
	assert_true(got.range == 0.0);
	segment_meter_free(&m);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_libebur128),
		cmocka_unit_test(test_silence),
		cmocka_unit_test(test_short_segment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
