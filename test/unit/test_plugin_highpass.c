/* The high-pass against its closed form: a 2nd-order Butterworth, so
 * |H(f)| = r^2 / sqrt(1 + r^4) with r = f / fc, and a corner that glides. */
#include "plugin_harness.h"

static double butterworth_db(double f, double fc)
{
	double r = f / fc;
	return 20 * log10(r * r / sqrt(1 + r * r * r * r));
}

static double response_db(double f, double fc)
{
	const size_t n = (size_t)RATE;
	float *x = malloc(n * sizeof *x);
	void *h = D->instantiate(RATE, MAXF);
	double db;

	set(h, "hz", (float)fc);
	D->activate(h);
	sine(x, n, 0.5, f);
	render(h, x, n, 256);
	/* Skip the first half second: the filter settles. */
	db = rms_dbfs(x + n / 2, n / 2) - 20 * log10(0.5 / sqrt(2.0));
	D->cleanup(h);
	free(x);
	return db;
}

static void test_response(void **state)
{
	(void)state;
	assert_string_equal(D->name, "highpass");
	assert_null(D->latency);
	/* Bilinear warping is small this far below Nyquist. */
	assert_float_equal(response_db(20, 80), butterworth_db(20, 80), 0.3);
	assert_float_equal(response_db(40, 80), butterworth_db(40, 80), 0.2);
	assert_float_equal(response_db(80, 80), -3.01, 0.1);
	assert_float_equal(response_db(1000, 80), 0.0, 0.05);
	assert_float_equal(response_db(50, 150), butterworth_db(50, 150), 0.2);
}

/* Golden vector: the impulse response starts with b0, then b1 - a1 b0. */
static void test_impulse(void **state)
{
	float x[4] = { 1, 0, 0, 0 };
	void *h = D->instantiate(RATE, MAXF);
	double w0 = 2 * M_PI * 80 / RATE, c = cos(w0), alpha = sin(w0) / (2 * M_SQRT1_2);
	double b0 = (1 + c) / 2 / (1 + alpha), b1 = -(1 + c) / (1 + alpha), a1 = -2 * c / (1 + alpha);
	(void)state;

	D->activate(h);
	D->run(h, x, 4);
	assert_float_equal(x[0], b0, 1e-6);
	assert_float_equal(x[1], b1 - a1 * b0, 1e-6);
	D->cleanup(h);
}

/* Moving the corner from 40 to 300 Hz under a 1 kHz tone: no step. */
static void test_glide(void **state)
{
	const size_t n = 24000;
	float *x = malloc(n * sizeof *x);
	void *h = D->instantiate(RATE, MAXF);
	(void)state;

	set(h, "hz", 40);
	D->activate(h);
	sine(x, n, 0.5, 1000);
	render(h, x, n / 2, 128);
	set(h, "hz", 300);
	render(h, x + n / 2, n / 2, 128);
	assert_true(max_step(x + 1000, n - 1000) < 0.5 * 2 * M_PI * 1000 / RATE * 1.05);
	D->cleanup(h);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_impulse),
		cmocka_unit_test(test_glide),
	};
	D = tolk_plugin_descriptor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
