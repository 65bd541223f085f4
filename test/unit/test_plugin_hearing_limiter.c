/* The hearing limiter, rendered offline: no sample above the ceiling for
 * any input (bursts, clicks, sweeps, noise, NaN and Inf, any block size,
 * any calibration), no click when it acts, and the sustained and 1-minute
 * stages at the times the Lingua ID behaviour gives. */
#include "plugin_harness.h"

enum { P_CAL, P_CEILING, P_SUSTAINED, P_SUSTAINED_MS, P_AVERAGE, P_WARNING, P_BACKOFF_DB, P_BACKOFF_MIN,
       P_LOOKAHEAD, P_RELEASE };

static void *make(float cal, float ceiling, float sustained)
{
	void *l = D->instantiate(RATE, MAXF);
	assert_non_null(l);
	D->set_param(l, P_CAL, cal);
	D->set_param(l, P_CEILING, ceiling);
	D->set_param(l, P_SUSTAINED, sustained);
	D->activate(l);
	return l;
}

static float ceiling_of(float cal, float ceiling)
{
	return powf(10.0f, (ceiling - cal) / 20.0f);
}

static float peak(const float *x, size_t n)
{
	float p = 0;
	size_t i;
	for (i = 0; i < n; i++)
		p = fmaxf(p, fabsf(x[i]));
	return p;
}

static void test_descriptor(void **state)
{
	void *l;
	(void)state;
	assert_int_equal(D->abi_version, TOLK_PLUGIN_ABI_VERSION);
	assert_string_equal(D->name, "hearing_limiter");
	l = make(110, 100, 94);
	/* At most 1.5 ms of look-ahead; 1 ms by default. */
	assert_int_equal(D->latency(l), 48);
	D->cleanup(l);
	l = D->instantiate(RATE, MAXF);
	D->set_param(l, P_LOOKAHEAD, 5.0f); /* clamped to 1.5 ms */
	D->activate(l);
	assert_int_equal(D->latency(l), 72);
	D->cleanup(l);
}

/* 0 dBFS square bursts: the output sits at the ceiling, not above it, and
 * not far below it either. */
static void test_square_bursts(void **state)
{
	const size_t n = 48000;
	float *x = calloc(n, sizeof *x), ceil = ceiling_of(110, 100);
	void *l = make(110, 100, 94);
	size_t i;
	(void)state;

	for (i = 0; i < n; i++)
		x[i] = (i / 2400) % 2 ? 0.0f : ((i / 24) % 2 ? 1.0f : -1.0f); /* 50 ms bursts, 1 kHz */
	render(l, x, n, 256);
	assert_true(peak(x, n) <= ceil);
	assert_true(peak(x, n) >= 0.9f * ceil);
	assert_true(mon(l, "interventions") >= 1.0f);
	assert_true(mon(l, "reduction_db") >= 0.0f);
	assert_true(mon(l, "clamped") == 0.0f);
	D->cleanup(l);
	free(x);
}

static double uniform(void)
{
	return rand() / (RAND_MAX + 1.0);
}

/* Thousands of random cases. */
static void test_hammer(void **state)
{
	const size_t n = 9600;
	float *x = malloc(n * sizeof *x);
	int c;
	(void)state;

	srand(20261122);
	for (c = 0; c < 3000; c++) {
		float cal = 80.0f + 50.0f * (float)uniform();
		float ceiling = 70.0f + 50.0f * (float)uniform();
		float sustained = ceiling - 12.0f * (float)uniform();
		float ceil = ceiling_of(cal, ceiling), amp = powf(10.0f, (float)(-20.0 + 80.0 * uniform()) / 20.0f);
		int kind = c % 6;
		uint32_t block = 1 + (uint32_t)(uniform() * MAXF);
		double phase = 0, f = 20.0 + 20000.0 * uniform();
		void *l = D->instantiate(RATE, MAXF);
		size_t i;

		D->set_param(l, P_CAL, cal);
		D->set_param(l, P_CEILING, ceiling);
		D->set_param(l, P_SUSTAINED, sustained);
		D->set_param(l, P_LOOKAHEAD, 0.1f + 1.4f * (float)uniform());
		D->set_param(l, P_RELEASE, 5.0f + 500.0f * (float)uniform());
		D->activate(l);
		for (i = 0; i < n; i++) {
			switch (kind) {
			case 0: /* square bursts */
				x[i] = (i / 700) % 2 ? 0.0f : ((i / 11) % 2 ? amp : -amp);
				break;
			case 1: /* clicks */
				x[i] = uniform() < 0.002 ? (uniform() < 0.5 ? amp : -amp) : 0.0f;
				break;
			case 2: /* sweep up */
				phase += 2 * M_PI * (20.0 + 20000.0 * (double)i / n) / RATE;
				x[i] = amp * (float)sin(phase);
				break;
			case 3: /* noise */
				x[i] = amp * (float)(2 * uniform() - 1);
				break;
			case 4: /* a tone with steps in level */
				phase += 2 * M_PI * f / RATE;
				x[i] = amp * (float)((i / 1000) % 3) * (float)sin(phase);
				break;
			default: /* garbage: NaN, Inf, huge */
				x[i] = uniform() < 0.01 ? NAN : uniform() < 0.01 ? INFINITY : uniform() < 0.01 ? -1e30f
												   : amp * (float)(2 * uniform() - 1);
			}
		}
		render(l, x, n, block);
		for (i = 0; i < n; i++) {
			if (!isfinite(x[i]) || fabsf(x[i]) > ceil)
				fail_msg("case %d (kind %d): sample %zu is %g, ceiling %g", c, kind, i, x[i], ceil);
		}
		if (mon(l, "clamped") != 0.0f)
			fail_msg("case %d (kind %d): the look-ahead stage let a peak through to the clamp", c, kind);
		D->cleanup(l);
	}
	free(x);
}

/* A loud tone arriving all at once: the gain comes down over the look-ahead
 * time in a straight line, so the output's slope never passes what a sine
 * at the ceiling has, with a little room for the ramp. */
static void test_no_click(void **state)
{
	const size_t n = 24000;
	float *x = malloc(n * sizeof *x), ceil = ceiling_of(110, 100), worst = 0;
	void *l = make(110, 100, 94);
	size_t i;
	(void)state;

	for (i = 0; i < n; i++) /* a quiet sine that jumps 30 dB at a peak */
		x[i] = (i < 12000 ? 0.05f : 1.58f) * (float)sin(2 * M_PI * 440.0 * (double)i / RATE);
	render(l, x, n, 128);
	for (i = 1; i < n; i++)
		worst = fmaxf(worst, fabsf(x[i] - x[i - 1]));
	/* A sine of amplitude A at f moves at most 2*pi*f/rate*A per sample. */
	assert_true(worst <= 2.0f * (float)(2 * M_PI * 440.0 / RATE) * ceil + 0.02f);
	D->cleanup(l);
	free(x);
}

/* 97 dB SPL peaks: through for a moment, down to 94 after 100 ms, and back
 * up to the ceiling once quiet for a second. */
static void test_sustained_stage(void **state)
{
	const size_t n = (size_t)(RATE * 3);
	float *x = malloc(n * sizeof *x), amp = ceiling_of(110, 97), sus = ceiling_of(110, 94);
	void *l = make(110, 100, 94);
	size_t i;
	(void)state;

	for (i = 0; i < n; i++) {
		double t = (double)i / RATE;
		int on = t < 0.05 || (t >= 0.5 && t < 1.0) || t >= 2.5;
		x[i] = on ? amp * (float)sin(2 * M_PI * 500.0 * t) : 0.0f;
	}
	render(l, x, (size_t)(0.4 * RATE), 64);
	assert_true(mon(l, "sustained") == 0.0f);
	render(l, x + (size_t)(0.4 * RATE), n - (size_t)(0.4 * RATE), 64);
	/* 50 ms burst: untouched. */
	assert_true(peak(x, (size_t)(0.06 * RATE)) > 0.99f * amp);
	/* The long one: at the full 97 dB for its first 100 ms... */
	assert_true(peak(x + (size_t)(0.5 * RATE), (size_t)(0.09 * RATE)) > 0.99f * amp);
	/* ... then at 94 dB SPL from 100 ms plus the 20 ms glide on. */
	assert_true(peak(x + (size_t)(0.65 * RATE), (size_t)(0.35 * RATE)) <= sus * 1.001f);
	/* Quiet from 1.0 s to 2.5 s: the ceiling is back for the last burst. */
	assert_true(peak(x + (size_t)(2.5 * RATE), (size_t)(0.09 * RATE)) > 0.99f * amp);
	D->cleanup(l);
	free(x);
}

static double goertzel_rms(const float *x, size_t n, double f)
{
	double w = 2 * M_PI * f / RATE, c = 2 * cos(w), s1 = 0, s2 = 0, s;
	size_t i;
	for (i = 0; i < n; i++) {
		s = x[i] + c * s1 - s2;
		s2 = s1;
		s1 = s;
	}
	/* |X| = A n / 2 for a sine of amplitude A; its RMS is A / sqrt(2). */
	return sqrt(s1 * s1 + s2 * s2 - c * s1 * s2) * 2.0 / (double)n / sqrt(2.0);
}

static double rms_db(const float *x, size_t n, double cal)
{
	return cal + rms_dbfs(x, n);
}

/* 90 dB SPL at the ear: the 1-minute average passes 80 after 6 s, two beeps
 * at 70 dB SPL, the gain backs off 6 dB, and returns when the back-off time
 * is over (2 minutes here, offline). */
static void test_backoff(void **state)
{
	const size_t second = (size_t)RATE, n = 200 * second;
	const float amp = (float)(sqrt(2.0) * pow(10.0, (90.0 - 110.0) / 20.0));
	float *x = malloc(n * sizeof *x), *clean;
	void *l = make(110, 100, 94);
	size_t i, trigger = 0;
	(void)state;

	D->set_param(l, P_BACKOFF_MIN, 2.0f);
	for (i = 0; i < n; i++)
		x[i] = amp * (float)sin(2 * M_PI * 250.0 * (double)i / RATE);
	clean = malloc(n * sizeof *clean);
	memcpy(clean, x, n * sizeof *x);
	for (i = 0; i < n; i += second) {
		D->run(l, x + i, 1000);
		D->run(l, x + i + 1000, (uint32_t)(second - 1000));
		if (!trigger && mon(l, "backoff") == 1.0f)
			trigger = i + second; /* it fired within this second */
		if (i == 150 * second)
			assert_true(mon(l, "backoff") == 0.0f);
	}
	/* 90 + 10 log10(t / 60) > 80 once t > 6 s; bins close on the second. */
	assert_true(trigger >= 7 * second && trigger <= 8 * second);
	assert_true(mon(l, "backoffs") == 1.0f);
	/* Before: 90 dB. Two seconds after: 84 dB. */
	assert_float_equal(rms_db(x + 2 * second, second, 110), 90.0, 0.1);
	assert_float_equal(rms_db(x + trigger + 3 * second, second, 110), 84.0, 0.2);
	/* The beeps: 1 kHz at about 70 dB SPL right after the trigger, none before. */
	{
		/* 100 ms windows: whole cycles of both tones, so no leakage. */
		double beep = goertzel_rms(x + trigger, (size_t)(0.1 * RATE), 1000.0);
		double before = goertzel_rms(x + 2 * second, (size_t)(0.1 * RATE), 1000.0);
		assert_true(110 + 20 * log10(beep) > 66 && 110 + 20 * log10(beep) < 72);
		assert_true(110 + 20 * log10(before + 1e-12) < 40);
	}
	/* Two minutes later, plus the 10 s fade: 90 dB again (and armed: the
	 * average is above 80, so no new warning until it has come down). */
	assert_float_equal(rms_db(x + trigger + 135 * second, second, 110), 90.0, 0.2);
	D->cleanup(l);
	free(x);
	free(clean);
}

/* A loud input for a long time, the case the back-off is for: a 0 dBFS
 * tone sits at the 94 dB SPL sustained limit until the 1-minute average
 * trips, then at 88 (94 - 6) for the back-off's time, then at 94 again.
 * Never a sample above the ceiling, none above the ceiling less 6 dB while
 * backed off, and the beeps heard over the loud signal. */
static void test_backoff_loud_input(void **state)
{
	const size_t second = (size_t)RATE, n = 45 * second;
	const float sus = ceiling_of(110, 94), ceil = ceiling_of(110, 100), bo = powf(10.0f, -6.0f / 20.0f);
	float *x = malloc(n * sizeof *x);
	void *l = make(110, 100, 94);
	size_t i, trigger = 0, ended = 0;
	float left_max = 0;
	(void)state;

	D->set_param(l, P_BACKOFF_MIN, 0.2f); /* 12 s */
	sine(x, n, 1.0, 250.0);
	for (i = 0; i < n; i += second) {
		render(l, x + i, second, 256);
		if (!trigger && mon(l, "backoff") == 1.0f)
			trigger = i + second;
		if (trigger && !ended && mon(l, "backoff") == 0.0f)
			ended = i + second;
		if (mon(l, "backoff") == 1.0f)
			left_max = fmaxf(left_max, mon(l, "backoff_left_s"));
	}
	/* 94 dB SPL of a sine is 91 dB SPL RMS: the average passes 80 after
	 * 60 s x 10^((80 - 91) / 10) = 4.8 s, on the next whole second. */
	assert_true(trigger >= 5 * second && trigger <= 6 * second);
	assert_true(ended >= trigger + 11 * second && ended <= trigger + 13 * second);
	assert_true(left_max > 10.0f && left_max <= 12.0f);
	assert_true(peak(x, n) <= ceil * 1.0001f);
	/* Before: at the sustained limit. */
	assert_float_equal(20 * log10(peak(x + 2 * second, second) / sus), 0.0, 0.5);
	/* Backed off, once the 2 s glide is over: 6 dB lower, whatever came in. */
	assert_float_equal(20 * log10(peak(x + trigger + 3 * second, second) / sus), -6.0, 0.5);
	assert_true(peak(x + trigger + 2 * second, ended - trigger - 2 * second) <= ceil * bo * 1.0001f);
	/* The beeps: 1 kHz at about 70 dB SPL over the 88 dB SPL tone. */
	{
		double beep = goertzel_rms(x + trigger, (size_t)(0.1 * RATE), 1000.0);
		assert_true(110 + 20 * log10(beep) > 66 && 110 + 20 * log10(beep) < 72);
	}
	/* After the back-off and its 10 s glide back: 94 again (the average is
	 * still high, so it does not warn again). */
	assert_float_equal(20 * log10(peak(x + ended + 11 * second, second) / sus), 0.0, 0.5);
	assert_true(mon(l, "backoffs") == 1.0f);
	assert_true(mon(l, "clamped") == 0.0f);
	D->cleanup(l);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_square_bursts),
		cmocka_unit_test(test_hammer),
		cmocka_unit_test(test_no_click),
		cmocka_unit_test(test_sustained_stage),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_backoff_loud_input),
	};
	D = tolk_plugin_descriptor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
