/* The insert rack with test plugins: chains padded to the slowest of their
 * kind, the floor delayed like the mics, parameters through the queue,
 * bypass that crossfades without changing the time, and the router running
 * mic, output and phones chains, with sidetone taken before the inserts. */
#include "helpers.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "../../engine/core/command.h"
#include "../../engine/core/insert_rack.h"
#include "../../engine/core/router.h"
#include "../../engine/core/snapshot.h"
#include "../../engine/core/state.h"

#define RATE 48000
#define MAXF ROUTER_CHUNK_MAX

/* "delay_gain": a gain (param 0) after a delay of `latency` frames. */
struct dg {
	uint32_t latency, pos;
	float gain;
	float line[64];
	int set_calls;
};

static uint32_t next_latency;

static void *dg_instantiate(double rate, uint32_t max_frames)
{
	struct dg *d = calloc(1, sizeof *d);
	(void)rate;
	(void)max_frames;
	d->latency = next_latency;
	d->gain = 1.0f;
	return d;
}

static uint32_t dg_latency(const void *p)
{
	return ((const struct dg *)p)->latency;
}

static void dg_set(void *p, uint32_t index, float v)
{
	struct dg *d = p;
	if (index == 0)
		d->gain = v;
	d->set_calls++;
}

static void dg_run(void *p, float *buf, uint32_t n)
{
	struct dg *d = p;
	uint32_t i;
	for (i = 0; i < n; i++) {
		float x = buf[i];
		if (d->latency) {
			buf[i] = d->line[d->pos];
			d->line[d->pos] = x;
			d->pos = (d->pos + 1) % d->latency;
		}
		buf[i] *= d->gain;
	}
}

static void dg_cleanup(void *p)
{
	free(p);
}

static const struct tolk_plugin_param dg_params[] = { { "gain", 0, 4, 1, "" } };
static const struct tolk_plugin_descriptor DG = {
	.abi_version = TOLK_PLUGIN_ABI_VERSION,
	.name = "delay_gain",
	.params = dg_params,
	.n_params = 1,
	.instantiate = dg_instantiate,
	.latency = dg_latency,
	.set_param = dg_set,
	.run = dg_run,
	.cleanup = dg_cleanup,
};

static int add(struct insert_rack *k, int chain, uint32_t latency, float gain, int mandatory)
{
	void *inst;
	int ret;
	next_latency = latency;
	inst = DG.instantiate(RATE, MAXF);
	DG.set_param(inst, 0, gain);
	ret = rack_add(k, chain, &DG, inst, "delay_gain", "delay_gain", dg_params, 1, &gain, mandatory);
	if (ret < 0)
		DG.cleanup(inst); /* refused: still ours */
	return ret;
}

static int first_nonzero(const float *x, int n)
{
	int i;
	for (i = 0; i < n; i++)
		if (x[i] != 0.0f)
			return i;
	return -1;
}

static void test_alignment(void **state)
{
	struct insert_rack k;
	float x[64];
	int c;
	(void)state;

	assert_int_equal(rack_init(&k, 2, 2, RATE, MAXF), 0);
	assert_true(add(&k, rack_chain_index(&k, CHAIN_MIC, 0), 8, 1, 0) >= 0);
	assert_true(add(&k, rack_chain_index(&k, CHAIN_MIC, 0), 4, 1, 0) >= 0);
	assert_true(add(&k, rack_chain_index(&k, CHAIN_OUTPUT, 1), 5, 1, 0) >= 0);
	assert_true(add(&k, rack_chain_index(&k, CHAIN_PHONES, 1), 3, 1, 1) >= 0);
	/* Chains are filled in order: going back to an earlier one is refused. */
	assert_int_equal(add(&k, rack_chain_index(&k, CHAIN_MIC, 0), 1, 1, 0), -EINVAL);
	assert_int_equal(rack_prepare(&k), 0);
	assert_int_equal(k.mic_latency, 12);
	assert_int_equal(k.output_latency, 5);
	/* Every mic chain and the floor arrive 12 frames late, every output
	 * chain 5; phones are never padded. */
	for (c = 0; c < k.n_chains; c++) {
		int index;
		enum chain_kind kind = rack_chain_kind(&k, c, &index);
		memset(x, 0, sizeof x);
		x[0] = 1.0f;
		rack_run(&k, c, x, 64);
		assert_int_equal(first_nonzero(x, 64), kind == CHAIN_MIC ? 12 : kind == CHAIN_OUTPUT ? 5
									 : index == 1 ? 3 : 0);
		assert_int_equal(rack_chain_delay(&k, c), kind == CHAIN_MIC ? 12 : kind == CHAIN_OUTPUT ? 5
									 : index == 1 ? 3 : 0);
	}
	memset(x, 0, sizeof x);
	x[0] = 1.0f;
	rack_align_floor(&k, x, 64);
	assert_int_equal(first_nonzero(x, 64), 12);
	rack_free(&k);
}

/* Two mics, one with a slower chain: mic 0 padded to mic 1's latency. */
static void build_pair(struct insert_rack *k, uint32_t slow)
{
	assert_int_equal(rack_init(k, 2, 1, RATE, MAXF), 0);
	assert_true(add(k, rack_chain_index(k, CHAIN_MIC, 0), 3, 2, 0) >= 0);
	assert_true(add(k, rack_chain_index(k, CHAIN_MIC, 1), slow, 1, 0) >= 0);
	assert_int_equal(rack_prepare(k), 0);
}

static void feed(struct insert_rack *k, int chain, int from, float *y, int n)
{
	int i;
	for (i = 0; i < n; i++)
		y[i] = (float)(from + i + 1);
	rack_run(k, chain, y, (uint32_t)n);
}

/* A reload: the new rack takes the running chain's plugin (its delay line
 * and gain) and padding, and goes on exactly where the old one was. */
static void test_adopt_chain(void **state)
{
	struct insert_rack ref, old, next, other;
	float a[100], b[100];
	int c0, i;
	(void)state;

	build_pair(&ref, 7);
	build_pair(&old, 7);
	c0 = rack_chain_index(&old, CHAIN_MIC, 0);
	rack_send(&old, 0, 0, 3.0f); /* a change at run time that the new rack must keep */
	rack_send(&ref, 0, 0, 3.0f);
	rack_apply(&old);
	rack_apply(&ref);
	feed(&ref, c0, 0, a, 100);
	feed(&old, c0, 0, b, 100);
	build_pair(&next, 7);
	assert_int_equal(rack_adopt_chain(&next, c0, &old, c0), 0);
	assert_float_equal(next.inserts[0].values[0], 3.0f, 0);
	rack_apply(&next); /* the realtime side's first cycle */
	feed(&ref, c0, 100, a, 100);
	feed(&next, c0, 100, b, 100);
	for (i = 0; i < 100; i++)
		assert_float_equal(a[i], b[i], 0);
	/* A chain whose plugins differ in latency is not taken over. */
	build_pair(&other, 9);
	assert_int_equal(rack_adopt_chain(&other, rack_chain_index(&other, CHAIN_MIC, 1), &next,
					  rack_chain_index(&next, CHAIN_MIC, 1)),
			 -EINVAL);
	rack_free(&old); /* leaves alone what it gave away */
	rack_free(&other);
	rack_free(&next);
	rack_free(&ref);
}

static void test_params_through_the_queue(void **state)
{
	struct insert_rack k;
	float x[16];
	int i, sent = 0;
	(void)state;

	assert_int_equal(rack_init(&k, 1, 1, RATE, MAXF), 0);
	assert_true(add(&k, 0, 0, 1, 0) == 0);
	assert_int_equal(rack_prepare(&k), 0);
	assert_int_equal(rack_send(&k, 0, 0, 0.5f), 0);
	assert_int_equal(rack_send(&k, 0, 7, 0.5f), -EINVAL); /* no such param */
	assert_int_equal(rack_send(&k, 3, 0, 0.5f), -EINVAL); /* no such insert */
	assert_int_equal(rack_send(&k, 0, 0, NAN), -EINVAL);
	/* Nothing reaches the plugin before the realtime side applies it. */
	assert_float_equal(((struct dg *)k.inserts[0].instance)->gain, 1.0f, 0);
	assert_float_equal(k.inserts[0].values[0], 0.5f, 0);
	rack_apply(&k);
	for (i = 0; i < 16; i++)
		x[i] = 1.0f;
	rack_run(&k, 0, x, 16);
	assert_float_equal(x[15], 0.5f, 0);
	/* A full queue refuses, and counts. */
	while (rack_send(&k, 0, 0, 1.0f) == 0)
		sent++;
	assert_int_equal(sent, RACK_QUEUE_MESSAGES);
	assert_int_equal(k.dropped_messages, 1);
	rack_apply(&k);
	assert_int_equal(((struct dg *)k.inserts[0].instance)->set_calls, 2 + RACK_QUEUE_MESSAGES);
	rack_free(&k);
}

/* Bypass: a crossfade over RACK_BYPASS_MS to the input delayed by the
 * insert's own latency, so neither the time nor the level jumps. */
static void test_bypass_keeps_latency(void **state)
{
	const uint32_t fade = (uint32_t)(RACK_BYPASS_MS * RATE / 1000);
	struct insert_rack k;
	float *x = calloc(4096, sizeof *x);
	uint32_t i;
	(void)state;

	assert_int_equal(rack_init(&k, 1, 1, RATE, MAXF), 0);
	assert_true(add(&k, 0, 16, 0.5f, 0) == 0);
	assert_int_equal(rack_prepare(&k), 0);
	for (i = 0; i < 4096; i++)
		x[i] = (float)i; /* a ramp shows any shift in time */
	rack_run(&k, 0, x, 1024);
	assert_float_equal(x[1000], 0.5f * 984, 1e-3);
	assert_int_equal(rack_send(&k, 0, RACK_PARAM_BYPASS, 1), 0);
	rack_apply(&k);
	rack_run(&k, 0, x + 1024, 3072);
	/* Still 16 frames late all through the fade, and then at full level. */
	for (i = 1024; i < 4096; i++) {
		float wet = i - 1024 + 1 >= fade ? 0.0f : 1.0f - (float)(i - 1024 + 1) / (float)fade;
		float want = (float)(i - 16) * (0.5f * wet + (1.0f - wet));
		if (fabsf(x[i] - want) > 0.01f * want + 1e-3f)
			fail_msg("frame %u is %g, want %g", i, x[i], want);
	}
	assert_true(k.inserts[0].bypassed);
	rack_free(&k);
	free(x);
}

/* The router with a rack: mic chains before mixing, sidetone before them. */
enum { OUT_EN = 1, OUT_FR = 2, N_OUT = 10, N_IN = 7 };

static void test_router_runs_chains(void **state)
{
	struct config cfg;
	struct state st;
	struct router r;
	struct insert_rack k;
	struct state_report rep;
	struct snapshot *s;
	static float in[N_IN][4096], out[N_OUT][4096];
	const float *inp[N_IN];
	float *outp[N_OUT];
	int i, c, mic, ph;
	(void)state;

	load_room(&cfg);
	cfg.sidetone = 1; /* -20 dB of the live mic in its own phones */
	cfg.sidetone_db = -20;
	assert_int_equal(state_init(&st, &cfg), 0);
	assert_int_equal(router_init(&r, &cfg, RATE), 0);
	assert_int_equal(rack_init(&k, cfg.n_mics, 1 + cfg.n_languages, RATE, MAXF), 0);
	/* Mic fr/1 through a gain of 0.25; out_en through 2; phones unity. */
	mic = 0;
	for (c = 0; c < k.n_chains; c++) {
		int index;
		enum chain_kind kind = rack_chain_kind(&k, c, &index);
		if (kind == CHAIN_MIC && index == mic)
			assert_true(add(&k, c, 0, 0.25f, 0) >= 0);
		if (kind == CHAIN_OUTPUT && index == 1 + 0)
			assert_true(add(&k, c, 0, 2.0f, 0) >= 0);
		if (kind == CHAIN_PHONES)
			assert_true(add(&k, c, 0, 1.0f, 1) >= 0);
	}
	assert_int_equal(rack_prepare(&k), 0);
	assert_int_equal(router_attach_rack(&r, &k), 0);
	for (i = 0; i < 4096; i++) {
		in[0][i] = 0.1f; /* floor main */
		in[2][i] = 0.4f; /* mic fr/1 */
	}
	for (i = 0; i < N_IN; i++)
		inp[i] = in[i];
	for (i = 0; i < N_OUT; i++)
		outp[i] = out[i];
	/* fr/1 live on fr; fr/1 hears the floor, and itself as sidetone. */
	assert_true(state_set_mic(&st, 0, 1, 1, &rep) >= 0);
	s = snapshot_build(&st);
	router_process(&r, s, inp, outp, 4096);
	assert_float_equal(out[OUT_FR][4095], 0.4f * 0.25f, 1e-6);  /* the mic's chain */
	assert_float_equal(out[OUT_EN][4095], 0.1f * 2.0f, 1e-6);   /* en idle: floor, then its chain */
	ph = config_output_of_phones(&cfg, mic);
	/* Sidetone is the mic as it comes in (0.4), not after its chain (0.1). */
	assert_float_equal(out[ph][4095] - 0.1f, 0.4f * 0.1f, 1e-5);
	{
		double totals[16];
		assert_int_equal(router_exposure(&r, totals), 4096);
		assert_true(totals[mic] > 0);
	}
	snapshot_free(s);
	rack_free(&k);
	router_free(&r);
	state_free(&st);
	config_free(&cfg);
}

/* The commands, on the one command path: by name or position, checked
 * against the plugin's range, a booth at once, the limiter untouchable. */
/* Commands address an insert by name: a name the chain has already gets
 * -2, -3, ... so each stays reachable. */
static void test_unique_names(void **state)
{
	struct insert_rack k;
	int i;
	(void)state;

	assert_int_equal(rack_init(&k, 1, 1, RATE, MAXF), 0);
	for (i = 0; i < 3; i++)
		assert_true(add(&k, 0, 0, 1.0f, 0) >= 0);
	assert_true(add(&k, 1, 0, 1.0f, 0) >= 0);
	assert_string_equal(k.inserts[0].name, "delay_gain");
	assert_string_equal(k.inserts[1].name, "delay_gain-2");
	assert_string_equal(k.inserts[2].name, "delay_gain-3");
	assert_string_equal(k.inserts[2].plugin, "delay_gain");
	assert_string_equal(k.inserts[3].name, "delay_gain"); /* another chain: its own names */
	rack_free(&k);
}

static void test_commands(void **state)
{
	struct config cfg;
	struct state st;
	struct insert_rack k;
	struct json_writer w;
	struct command_context ctx = { 0 };
	int c, i;
	(void)state;

	load_room(&cfg);
	assert_int_equal(state_init(&st, &cfg), 0);
	assert_int_equal(rack_init(&k, cfg.n_mics, 1 + cfg.n_languages, RATE, MAXF), 0);
	for (c = 0; c < k.n_chains; c++) {
		int index;
		enum chain_kind kind = rack_chain_kind(&k, c, &index);
		if (kind != CHAIN_OUTPUT)
			assert_true(add(&k, c, 0, 1.0f, kind == CHAIN_PHONES) >= 0);
	}
	assert_int_equal(rack_prepare(&k), 0);
	ctx.state = &st;
	ctx.rack = &k;
	jw_init(&w);
#define RUN(line) (w.len = 0, w.failed = 0, command_execute(&ctx, line, &w))
	assert_int_equal(RUN("insert mics.fr delay_gain gain 2"), COMMAND_DONE);
	assert_non_null(strstr(w.buf, "\"changed\":\"insert mics.fr 1 (delay_gain) gain 2 (was 1)\""));
	/* Both consoles of booth fr, and only they. */
	for (i = 0; i < cfg.n_mics; i++)
		assert_float_equal(k.inserts[k.chains[i].first].values[0], i < 2 ? 2.0f : 1.0f, 0);
	assert_int_equal(RUN("insert mics.en 1 bypass on"), COMMAND_DONE);
	assert_true(k.inserts[k.chains[2].first].bypassed);
	assert_int_equal(RUN("insert mics.fr 1 gain 9"), COMMAND_ERROR);
	assert_non_null(strstr(w.buf, "gain must be between 0 and 4, not 9"));
	assert_int_equal(RUN("insert mics.fr 2 gain 1"), COMMAND_ERROR);
	assert_non_null(strstr(w.buf, "mics.fr has no insert '2' (it has: 1 delay_gain)"));
	assert_int_equal(RUN("insert mics.xx 1 gain 1"), COMMAND_ERROR);
	assert_int_equal(RUN("insert outputs.en 1 gain 1"), COMMAND_ERROR); /* an empty chain */
	assert_int_equal(RUN("insert mics.fr 1 volume 1"), COMMAND_ERROR);
	assert_int_equal(RUN("insert mics.fr 1 gain loud"), COMMAND_ERROR);
	assert_int_equal(RUN("insert phones.fr 1 bypass on"), COMMAND_ERROR);
	assert_non_null(strstr(w.buf, "cannot be changed or bypassed"));
	assert_int_equal(RUN("inserts"), COMMAND_DONE);
	assert_non_null(strstr(w.buf, "\"chain\":\"mics.fr\",\"latency_frames\":0,\"delay_frames\":0,\"inserts\":[{"
				      "\"position\":1,\"plugin\":\"delay_gain\",\"name\":\"delay_gain\",\"latency_frames\":0,\"bypassed\":false,"
				      "\"mandatory\":false,\"params\":{\"gain\":2}}]"));
	assert_true(command_is_read_only("inserts"));
	assert_true(command_is_read_only("exposure 2026-11-22"));
	assert_false(command_is_read_only("insert mics.fr 1 gain 1"));
#undef RUN
	jw_free(&w);
	rack_free(&k);
	state_free(&st);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_adopt_chain),
		cmocka_unit_test(test_params_through_the_queue),
		cmocka_unit_test(test_bypass_keeps_latency),
		cmocka_unit_test(test_router_runs_chains),
		cmocka_unit_test(test_unique_names),
		cmocka_unit_test(test_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
