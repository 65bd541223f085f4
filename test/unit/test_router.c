/* The router against golden buffers, worked out here sample by sample:
 * every ramp must take exactly the ramp time and never step further than
 * its slope, and a change in the middle of a ramp must not jump. */
#include "helpers.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "../../engine/core/router.h"
#include "../../engine/core/snapshot.h"
#include "../../engine/core/state.h"

#define RATE 48000
#define RAMP 240 /* 5 ms at 48 kHz */
#define MAXN 20000

enum { OUT_FLOOR, OUT_EN, OUT_FR, OUT_DE, OUT_ES, OUT_PH_FR1, OUT_PH_FR2, N_OUT = 10 };
#define N_IN 7
static const float FLOOR_MAIN = 0.5f, FLOOR_AUX = 0.25f, FLOOR = 0.75f;

struct fixture {
	struct config cfg;
	struct state st;
	struct router r;
	float in[N_IN][MAXN];
	float out[N_OUT][MAXN];
	const float *inp[N_IN];
	float *outp[N_OUT];
};

static float mic_level(int mic)
{
	return 0.1f * (float)(mic + 1); /* distinct constant per mic */
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	int i, k;

	load_room(&f->cfg);
	assert_int_equal(state_init(&f->st, &f->cfg), 0);
	assert_int_equal(router_init(&f->r, &f->cfg, RATE), 0);
	assert_int_equal(f->r.ramp_frames, RAMP);
	for (k = 0; k < MAXN; k++) {
		f->in[0][k] = FLOOR_MAIN;
		f->in[1][k] = FLOOR_AUX;
		for (i = 0; i < 5; i++)
			f->in[2 + i][k] = mic_level(i);
	}
	for (i = 0; i < N_IN; i++)
		f->inp[i] = f->in[i];
	for (i = 0; i < N_OUT; i++)
		f->outp[i] = f->out[i];
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	router_free(&f->r);
	state_free(&f->st);
	config_free(&f->cfg);
	free(f);
	return 0;
}

static void set_mic(struct fixture *f, int b, int n, int on)
{
	struct state_report rep;
	assert_true(state_set_mic(&f->st, b, n, on, &rep) >= 0);
}

/* Processes `frames` with the snapshot of the current state, in periods. */
static void run(struct fixture *f, uint32_t frames, uint32_t period)
{
	struct snapshot *s = snapshot_build(&f->st);
	uint32_t done = 0;
	int o;

	while (done < frames) {
		uint32_t n = frames - done < period ? frames - done : period;
		const float *in[N_IN];
		float *out[N_OUT];
		for (o = 0; o < N_IN; o++)
			in[o] = f->in[o] + done;
		for (o = 0; o < N_OUT; o++)
			out[o] = f->out[o] + done;
		router_process(&f->r, s, in, out, n);
		done += n;
	}
	snapshot_free(s);
}

/* The golden ramp: from a to b in exactly RAMP samples, then b. */
static float golden(float a, float b, uint32_t i)
{
	return i + 1 >= RAMP ? b : a + (b - a) * (float)(i + 1) / (float)RAMP;
}

static void assert_ramp(const float *y, float a, float b, uint32_t n)
{
	const float slope = fabsf(b - a) / RAMP;
	float prev = a;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (fabsf(y[i] - golden(a, b, i)) > 1e-5f)
			fail_msg("sample %u is %.7f, golden %.7f", i, y[i], golden(a, b, i));
		if (fabsf(y[i] - prev) > slope * 1.0001f + 1e-7f)
			fail_msg("step at %u is %.7f, slope is %.7f", i, fabsf(y[i] - prev), slope);
		prev = y[i];
	}
	assert_float_equal(y[n - 1], b, 0.0f);
}

static void test_start_fades_in_to_idle_policies(void **state)
{
	struct fixture *f = *state;
	const float duck = powf(10.0f, -18.0f / 20.0f);
	int o;

	run(f, 1024, 256);
	assert_ramp(f->out[OUT_FLOOR], 0.0f, FLOOR, 1024);
	assert_ramp(f->out[OUT_EN], 0.0f, FLOOR, 1024);        /* idle: floor */
	assert_ramp(f->out[OUT_FR], 0.0f, FLOOR, 1024);        /* idle: floor */
	assert_ramp(f->out[OUT_DE], 0.0f, 0.0f, 1024);         /* idle: silence */
	assert_ramp(f->out[OUT_ES], 0.0f, FLOOR * duck, 1024); /* idle: duck, -18 dB */
	for (o = OUT_PH_FR1; o < N_OUT; o++)
		assert_ramp(f->out[o], 0.0f, FLOOR, 1024);     /* phones: the floor */
}

static void test_mic_on_takeover_off(void **state)
{
	struct fixture *f = *state;

	run(f, 1024, 256);
	/* fr/1 on: out_fr goes from the floor to mic fr/1 over 5 ms. */
	set_mic(f, 0, 1, 1);
	run(f, 1024, 256);
	assert_ramp(f->out[OUT_FR], FLOOR, mic_level(0), 1024);
	assert_ramp(f->out[OUT_EN], FLOOR, FLOOR, 1024); /* untouched channels stay */
	assert_ramp(f->out[OUT_FLOOR], FLOOR, FLOOR, 1024);
	/* fr/2 takes over: a crossfade between the two mics. */
	set_mic(f, 0, 2, 1);
	run(f, 1024, 64);
	assert_ramp(f->out[OUT_FR], mic_level(0), mic_level(1), 1024);
	/* Off: back to the floor. */
	set_mic(f, 0, 2, 0);
	run(f, 1024, 128);
	assert_ramp(f->out[OUT_FR], mic_level(1), FLOOR, 1024);
}

static void test_period_does_not_change_the_result(void **state)
{
	struct fixture *f = *state;
	static float once[1024];
	struct router r2;

	run(f, 1024, 1024);
	set_mic(f, 1, 2, 1);
	run(f, 1024, 1024);
	memcpy(once, f->out[OUT_EN], sizeof once);

	/* Same history with period 64 through a fresh router. */
	r2 = f->r;
	assert_int_equal(router_init(&f->r, &f->cfg, RATE), 0);
	set_mic(f, 1, 2, 0);
	run(f, 1024, 64);
	set_mic(f, 1, 2, 1);
	run(f, 1024, 64);
	assert_memory_equal(once, f->out[OUT_EN], sizeof once);
	router_free(&r2);
}

static void test_change_mid_ramp_does_not_jump(void **state)
{
	struct fixture *f = *state;
	float max_step = 0.0f;
	int i;

	run(f, 1024, 256);
	set_mic(f, 0, 1, 1);
	run(f, 100, 100); /* 100 of 240 samples into the ramp */
	set_mic(f, 0, 1, 0);
	run(f, 1024, 64);
	/* It turns back from where it was, and lands on the floor. */
	for (i = 1; i < 1024; i++) {
		float step = fabsf(f->out[OUT_FR][i] - f->out[OUT_FR][i - 1]);
		max_step = step > max_step ? step : max_step;
	}
	assert_true(max_step <= fabsf(FLOOR - mic_level(0)) / RAMP * 1.001f);
	assert_float_equal(f->out[OUT_FR][RAMP - 1], FLOOR, 1e-6f);
}

static void test_nonfinite_input_is_silenced_and_counted(void **state)
{
	struct fixture *f = *state;
	int k;

	run(f, 1024, 256);
	set_mic(f, 0, 1, 1);
	run(f, 1024, 256);
	f->in[3][10] = NAN; /* fr/2: routed nowhere */
	run(f, 256, 256);
	assert_int_equal(atomic_load(&f->r.nonfinite), 0);
	f->in[2][10] = INFINITY; /* fr/1: live on out_fr */
	run(f, 256, 256);
	assert_int_equal(atomic_load(&f->r.nonfinite), 1);
	for (k = 0; k < 256; k++)
		assert_float_equal(f->out[OUT_FR][k], 0.0f, 0.0f);
	assert_float_equal(f->out[OUT_EN][5], FLOOR, 0.0f); /* others unharmed */
	f->in[2][10] = mic_level(0);
	f->in[3][10] = mic_level(1);
	run(f, 256, 256);
	assert_float_equal(f->out[OUT_FR][5], mic_level(0), 0.0f);
}

static void test_long_period_in_chunks(void **state)
{
	struct fixture *f = *state;
	run(f, MAXN, MAXN); /* longer than ROUTER_CHUNK_MAX */
	assert_ramp(f->out[OUT_FLOOR], 0.0f, FLOOR, MAXN);
}

static void test_meters_publish_whole_windows(void **state)
{
	struct fixture *f = *state;
	float peak, rms;
	int k;

	assert_int_equal(f->r.window, RATE / ROUTER_METER_HZ);
	for (k = 0; k < MAXN; k++)
		f->in[2][k] = 0.5f * sinf(2.0f * (float)M_PI * 1000.0f * (float)k / RATE); /* fr/1 */
	run(f, 1000, 256); /* less than a window: nothing published yet */
	assert_int_equal(router_output_meter(&f->r, OUT_FLOOR, &peak, &rms), 0);
	assert_float_equal(peak, 0.0f, 0.0f);
	run(f, 4096, 256);
	router_output_meter(&f->r, OUT_FLOOR, &peak, &rms);
	assert_float_equal(peak, FLOOR, 1e-6f);             /* DC 0.75 */
	assert_float_equal(rms, FLOOR, 1e-3f);
	router_input_meter(&f->r, 2, &peak, &rms);          /* mic fr/1: a sine */
	assert_float_equal(peak, 0.5f, 1e-3f);
	assert_float_equal(rms, 0.5f / sqrtf(2.0f), 2e-3f);
	router_output_meter(&f->r, OUT_DE, &peak, &rms);    /* idle: silence */
	assert_float_equal(rms, 0.0f, 0.0f);
	/* Reading takes nothing away: a second reader sees the same window. */
	{
		float p1, r1, p2, r2;
		router_input_meter(&f->r, 2, &p1, &r1);
		router_input_meter(&f->r, 2, &p2, &r2);
		assert_float_equal(p1, 0.5f, 1e-3f);
		assert_float_equal(p2, p1, 0.0f);
		assert_float_equal(r2, r1, 0.0f);
	}
	assert_int_equal(router_output_meter(&f->r, 99, &peak, &rms), -EINVAL);
	assert_int_equal(router_input_meter(&f->r, 7, &peak, &rms), -EINVAL);
}

static void test_exchange_frees_only_after_rt_moved_on(void **state)
{
	struct fixture *f = *state;
	struct snapshot_exchange x;
	struct snapshot *a = snapshot_build(&f->st), *b, *seen;
	int i;

	exchange_init(&x, a);
	seen = exchange_rt_begin(&x); /* RT is inside a cycle with a */
	assert_ptr_equal(seen, a);
	b = snapshot_build(&f->st);
	assert_int_equal(exchange_publish(&x, b), 0);
	assert_int_equal(exchange_collect(&x, 0), 1); /* a still in use */
	exchange_rt_end(&x);
	assert_int_equal(exchange_collect(&x, 0), 0); /* now freed (ASan checks) */
	assert_ptr_equal(exchange_rt_begin(&x), b);
	exchange_rt_end(&x);

	/* A stalled RT: the retired list fills, then publishing refuses. */
	for (i = 0; i < SNAPSHOT_RETIRED_MAX; i++)
		assert_int_equal(exchange_publish(&x, snapshot_build(&f->st)), 0);
	b = snapshot_build(&f->st);
	assert_int_equal(exchange_publish(&x, b), -EBUSY);
	snapshot_free(b);
	assert_int_equal(exchange_collect(&x, 1), 0); /* deactivated: all go */
	exchange_destroy(&x);
}

static void test_relay_is_heard_in_the_same_period(void **state)
{
	struct fixture *f = *state;
	struct state_report rep;
	int k;

	/* en/1 (mic 2) live on en; fr/1 listens to out_en. */
	set_mic(f, 1, 1, 1);
	assert_int_equal(state_set_listen(&f->st, 0, 1, LISTEN_RELAY, 0, &rep), 0);
	for (k = 0; k < MAXN; k++)
		f->in[4][k] = 0.3f * sinf((float)k * 0.05f); /* en/1 speaks */
	run(f, 2048, 256);
	run(f, 1024, 256);
	/* phones_fr_1 is out_en sample for sample: no period of delay. */
	for (k = 0; k < 1024; k++)
		assert_float_equal(f->out[OUT_PH_FR1][k], f->out[OUT_EN][k], 0.0f);
	assert_float_equal(f->out[OUT_EN][100], f->in[4][100], 0.0f);
}

static void test_handover_crossfades_over_20_ms(void **state)
{
	struct fixture *f = *state;
	struct state_report rep;
	const uint32_t ramp = 960; /* 20 ms */
	float prev;
	uint32_t i;

	set_mic(f, 0, 1, 1);
	run(f, 1024, 256);
	assert_int_equal(state_handover(&f->st, 0, 1, 2, &rep), 0);
	run(f, 2048, 256);
	assert_int_equal(f->r.ramp_frames, ramp);
	prev = mic_level(0);
	for (i = 0; i < 2048; i++) {
		float want = i + 1 >= ramp ? mic_level(1)
					   : mic_level(0) + (mic_level(1) - mic_level(0)) * (float)(i + 1) / ramp;
		assert_float_equal(f->out[OUT_FR][i], want, 1e-5f);
		assert_true(fabsf(f->out[OUT_FR][i] - prev) <= (mic_level(1) - mic_level(0)) / ramp * 1.001f);
		prev = f->out[OUT_FR][i];
	}
}

static void test_phones_never_pass_minus_1_dbfs(void **state)
{
	struct fixture *f = *state;
	int k, o;

	for (k = 0; k < MAXN; k++) {
		f->in[0][k] = 1.5f * sinf((float)k * 0.01f);
		f->in[1][k] = 0.0f;
	}
	run(f, 4096, 256);
	for (o = OUT_PH_FR1; o < N_OUT; o++)
		for (k = 0; k < 4096; k++)
			assert_true(fabsf(f->out[o][k]) <= ROUTER_PHONES_CEILING);
	/* The distribution channels are not the phones: untouched. */
	assert_float_equal(f->out[OUT_FLOOR][1000], f->in[0][1000], 0.0f);
}

/* Amplitude of a steady sine in y, from its peak. */
static float amplitude(const float *y, int n)
{
	float peak = 0.0f;
	int k;
	for (k = 0; k < n; k++)
		peak = fabsf(y[k]) > peak ? fabsf(y[k]) : peak;
	return peak;
}

static void test_tone_shelves_glide_to_their_settings(void **state)
{
	struct fixture *f = *state;
	struct state_report rep;
	float max_step = 0.0f;
	int k;

	/* 100 Hz and 10 kHz, one after the other, into the floor. */
	for (k = 0; k < MAXN; k++) {
		f->in[0][k] = 0.1f * sinf(2.0f * (float)M_PI * 100.0f * (float)k / RATE);
		f->in[1][k] = 0.0f;
	}
	run(f, 4800, 256);
	assert_float_equal(amplitude(f->out[OUT_PH_FR1] + 2400, 2400), 0.1f, 1e-3f); /* flat */
	assert_int_equal(state_set_tone(&f->st, 0, 1, 6.0, -6.0, &rep), 0);
	run(f, 9600, 256);
	for (k = 1; k < 9600; k++) {
		float step = fabsf(f->out[OUT_PH_FR1][k] - f->out[OUT_PH_FR1][k - 1]);
		max_step = step > max_step ? step : max_step;
	}
	/* A 100 Hz sine of 0.2 steps by at most 0.2 * 2 pi 100 / 48000 = 0.0026. */
	print_message("tone change: max step %f\n", max_step);
	if (max_step >= 0.0028f)
		fail_msg("max step %f", max_step);
	/* Bass +6 dB at 100 Hz (a 250 Hz shelf: nearly all of it). */
	assert_float_equal(amplitude(f->out[OUT_PH_FR1] + 4800, 4800), 0.1f * powf(10, 5.5f / 20), 0.012f);
	assert_float_equal(amplitude(f->out[OUT_PH_FR2] + 4800, 4800), 0.1f, 1e-3f); /* others flat */
	for (k = 0; k < MAXN; k++)
		f->in[0][k] = 0.1f * sinf(2.0f * (float)M_PI * 10000.0f * (float)k / RATE);
	run(f, 4800, 256);
	/* Treble -6 dB at 10 kHz (a 4 kHz shelf). */
	assert_float_equal(amplitude(f->out[OUT_PH_FR1] + 2400, 2400), 0.1f * powf(10, -5.5f / 20), 0.008f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_fades_in_to_idle_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mic_on_takeover_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_period_does_not_change_the_result, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_mid_ramp_does_not_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonfinite_input_is_silenced_and_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_period_in_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meters_publish_whole_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange_frees_only_after_rt_moved_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_is_heard_in_the_same_period, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handover_crossfades_over_20_ms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_phones_never_pass_minus_1_dbfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tone_shelves_glide_to_their_settings, setup, teardown),
	};
	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
