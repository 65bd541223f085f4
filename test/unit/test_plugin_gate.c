/* The gate: shut on breath-level noise, open within the attack time on a
 * voice, held through a pause shorter than hold_ms, and never a step. */
#include "plugin_harness.h"

static void *make(void)
{
	void *g = D->instantiate(RATE, MAXF);
	assert_non_null(g);
	set(g, "threshold_db", -50);
	set(g, "hysteresis_db", 6);
	set(g, "hold_ms", 200);
	set(g, "attack_ms", 2);
	set(g, "release_ms", 100);
	set(g, "range_db", -40);
	D->activate(g);
	return g;
}

static void test_noise_stays_down(void **state)
{
	const size_t n = 48000;
	float *x = malloc(n * sizeof *x);
	void *g = make();
	(void)state;

	sine(x, n, pow(10, -65 / 20.0), 300); /* breathing, below the threshold */
	render(g, x, n, 256);
	assert_true(mon(g, "open") == 0.0f);
	assert_float_equal(rms_dbfs(x + n / 2, n / 2), -65 - 3.01 - 40, 0.1);
	D->cleanup(g);
	free(x);
}

static void test_voice_opens_holds_closes(void **state)
{
	const size_t n = 48000;
	float *x = calloc(n, sizeof *x);
	const double voice = pow(10, -30 / 20.0);
	void *g = make();
	size_t i;
	(void)state;

	/* Voice 0-300 ms, a 100 ms pause, voice again 400-600 ms, then quiet. */
	for (i = 0; i < n; i++) {
		double t = i / RATE;
		if (t < 0.3 || (t >= 0.4 && t < 0.6))
			x[i] = (float)(voice * sin(2 * M_PI * 500 * t));
	}
	render(g, x, n, 64);
	/* Open within the attack time: from 5 ms on, the voice is whole. */
	assert_float_equal(rms_dbfs(x + 240, 4800), -30 - 3.01, 0.1);
	/* The pause is shorter than the hold: the second phrase starts open. */
	assert_float_equal(rms_dbfs(x + (size_t)(0.4 * RATE), 480), -30 - 3.01, 0.1);
	assert_true(max_step(x, n) < voice * 2 * M_PI * 500 / RATE * 1.05);
	/* 200 ms of hold, 100 ms of release: shut by 0.95 s. */
	assert_true(mon(g, "open") == 0.0f);
	assert_float_equal(mon(g, "gain_db"), -40.0, 0.01);
	D->cleanup(g);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noise_stays_down),
		cmocka_unit_test(test_voice_opens_holds_closes),
	};
	D = tolk_plugin_descriptor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
