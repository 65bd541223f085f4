/* What a reload rests on: the config diff in words, the conference state
 * carried over to a new room, and the router taking over a running one
 * port by port without a step on untouched channels. */
#include "helpers.h"

#include <stdlib.h>

#include "../../engine/core/config_diff.h"
#include "../../engine/core/router.h"
#include "../../engine/core/snapshot.h"
#include "../../engine/core/state.h"

static void load(struct config *cfg, const char *yaml)
{
	char err[TOLK_ERROR_MAX];
	if (config_load_string(cfg, yaml, strlen(yaml), "r.yaml", err, sizeof err))
		fail_msg("%s", err);
}

/* ROOM_YAML with one substitution. */
static void load_edited(struct config *cfg, const char *from, const char *to)
{
	char text[4096];
	const char *at = strstr(ROOM_YAML, from);

	assert_non_null(at);
	snprintf(text, sizeof text, "%.*s%s%s", (int)(at - ROOM_YAML), ROOM_YAML, to, at + strlen(from));
	load(cfg, text);
}

struct lines {
	char text[16][256];
	int n;
};

static void keep(void *user, const char *line)
{
	struct lines *l = user;
	if (l->n < 16)
		snprintf(l->text[l->n++], sizeof l->text[0], "%s", line);
}

static void test_diff_in_words(void **unused)
{
	struct config a, b;
	struct lines l = { .n = 0 };

	(void)unused;
	load_room(&a);
	load_room(&b);
	assert_int_equal(config_diff(&a, &b, keep, &l), 0);
	config_free(&b);

	load_edited(&b, "  - { code: es, name: Español, idle: duck }\n",
		    "  - { code: es, name: Español, idle: silence }\n  - { code: it, name: Italiano }\n");
	assert_int_equal(config_diff(&a, &b, keep, &l), 2);
	assert_string_equal(l.text[0], "language es: idle duck -> silence");
	assert_string_equal(l.text[1], "language it added (port out_it)");
	config_free(&b);

	l.n = 0;
	load_edited(&b, "    consoles: 3\n", "    consoles: 2\n");
	assert_int_equal(config_diff(&a, &b, keep, &l), 1);
	assert_string_equal(l.text[0], "booth en: consoles 3 -> 2");
	assert_int_equal(config_diff(&b, &a, keep, &l), 1);
	assert_string_equal(l.text[1], "booth en: consoles 2 -> 3");
	config_free(&b);

	l.n = 0;
	load_edited(&b, "  - id: en\n    outputs: [en]\n    consoles: 3\n", "");
	assert_int_equal(config_diff(&a, &b, keep, &l), 1);
	assert_string_equal(l.text[0], "booth en removed (3 console(s) go)");
	config_free(&b);

	l.n = 0;
	load_edited(&b, "  language: en\n", "  language: en\ninserts: { mics: [{gate: {threshold_db: -50}}] }\n");
	assert_int_equal(config_diff(&a, &b, keep, &l), 3);
	assert_string_equal(l.text[0], "booth fr: mic inserts changed");
	assert_string_equal(l.text[2], "default mic inserts changed");
	config_free(&b);
	config_free(&a);
}

static void test_state_carries_over(void **unused)
{
	struct config a, b;
	struct state s, t;
	struct state_report rep;
	int fr, en, de;

	(void)unused;
	load_room(&a);
	assert_int_equal(state_init(&s, &a), 0);
	assert_int_equal(state_set_mic(&s, 0, 2, 1, &rep), 0);                /* fr/2 live on fr */
	assert_int_equal(state_set_listen(&s, 1, 1, LISTEN_RELAY, 1, &rep), 0); /* en/1 hears fr */
	assert_int_equal(state_set_volume(&s, 1, 3, -12, &rep), 0);
	assert_int_equal(state_set_floor_language(&s, "de", 1, &rep) >= 0, 1);
	state_track_shifts(&s, 1000); /* fr/2 went live at t = 1000 ms */

	/* A new language before fr shifts every index; fr stays fr. */
	load_edited(&b, "  - { code: en, name: English }\n", "  - { code: en, name: English }\n  - { code: it }\n");
	assert_int_equal(state_init(&t, &b), 0);
	assert_int_equal(state_adopt(&t, &s, &rep), 0);
	assert_int_equal(rep.n_notes, 0);
	fr = config_find_language(&b, "fr");
	en = config_find_booth(&b, "en");
	de = config_find_language(&b, "de");
	assert_int_equal(t.booths[config_find_booth(&b, "fr")].live, 2);
	assert_int_equal(t.channels[fr].booth, config_find_booth(&b, "fr"));
	assert_int_equal(t.booths[en].consoles[0].listen, LISTEN_RELAY);
	assert_int_equal(t.booths[en].consoles[0].listen_lang, fr);
	assert_true(t.booths[en].consoles[2].volume_db == -12);
	assert_string_equal(t.floor_language, "de");
	assert_int_equal(t.floor_language_pinned, 1);
	assert_true(t.generation > s.generation);
	/* The live console's shift goes on. */
	assert_true(t.live_since_ms[b.booths[config_find_booth(&b, "fr")].first_mic + 1] == 1000);
	(void)de;
	state_free(&t);
	config_free(&b);

	/* fr gone (the live fr/2 spoke into it, en/1 heard it), and the fr
	 * booth down to one console. */
	load(&b, "meeting: m\nfloor: { inputs: [main, aux], language: en }\n"
		 "languages: [{ code: en }, { code: de }, { code: es }]\n"
		 "booths:\n  - { id: fr, outputs: [en], consoles: 1 }\n"
		 "  - { id: en, outputs: [en], consoles: 3 }\n");
	assert_int_equal(state_init(&t, &b), 0);
	assert_int_equal(state_adopt(&t, &s, &rep), 0);
	assert_int_equal(rep.n_notes, 2);
	assert_string_equal(rep.notes[0], "mic fr/2 off: the console is gone");
	assert_string_equal(rep.notes[1], "listen en/1 floor: channel fr is gone");
	assert_int_equal(t.booths[0].live, 0);
	assert_int_equal(t.booths[1].consoles[0].listen, LISTEN_FLOOR);
	state_free(&t);
	config_free(&b);
	state_free(&s);
	config_free(&a);
}

#define N 512
#define RAMP_FRAMES 240

/* A router that took over from another gives, sample for sample, what the
 * other would have given; a new output ramps in from silence. (Over a
 * switch still ramping, the new ramp starts where the old one is: no step,
 * but not the same slope.) */
static void test_router_takes_over(void **unused)
{
	struct config a, b;
	struct state s, t;
	struct state_report rep;
	struct router ref, old, next;
	static float in[7][4 * N], out_ref[12][4 * N], out_new[12][4 * N];
	const float *inp[7];
	float *outp[12];
	struct snapshot *snap;
	int in_map[7], out_map[12], i, o;
	uint32_t k;

	(void)unused;
	load_room(&a);
	load_edited(&b, "  - { code: es, name: Español, idle: duck }\n",
		    "  - { code: es, name: Español, idle: duck }\n  - { code: it }\n");
	for (i = 0; i < 7; i++)
		for (k = 0; k < 4 * N; k++)
			in[i][k] = 0.001f * (float)((k * (unsigned)(i + 3)) % 997) - 0.4f;
	assert_int_equal(state_init(&s, &a), 0);
	assert_int_equal(router_init(&ref, &a, 48000), 0);
	assert_int_equal(router_init(&old, &a, 48000), 0);
	snap = snapshot_build(&s);
	/* Both run one block, then a switch and its ramp. */
	for (i = 0; i < 7; i++)
		inp[i] = in[i];
	for (o = 0; o < 10; o++)
		outp[o] = out_ref[o];
	router_process(&ref, snap, inp, outp, N);
	router_process(&old, snap, inp, outp, N);
	snapshot_free(snap);
	assert_int_equal(state_set_mic(&s, 0, 1, 1, &rep), 0);
	snap = snapshot_build(&s);
	for (i = 0; i < 7; i++)
		inp[i] = in[i] + N;
	for (o = 0; o < 10; o++)
		outp[o] = out_ref[o] + N;
	router_process(&ref, snap, inp, outp, 300);
	router_process(&old, snap, inp, outp, 300);
	/* The reference runs on. */
	for (i = 0; i < 7; i++)
		inp[i] = in[i] + N + 300;
	for (o = 0; o < 10; o++)
		outp[o] = out_ref[o] + N + 300;
	router_process(&ref, snap, inp, outp, N);
	snapshot_free(snap);

	/* The new room: out_it after out_es, so phones move up by one. */
	assert_int_equal(state_init(&t, &b), 0);
	assert_int_equal(state_adopt(&t, &s, &rep), 0);
	assert_int_equal(router_init(&next, &b, 48000), 0);
	for (i = 0; i < 7; i++)
		in_map[i] = i;
	for (o = 0; o < 11; o++)
		out_map[o] = o < 5 ? o : o == 5 ? -1 : o - 1;
	assert_int_equal(router_adopt(&next, &old, out_map, in_map), 0);
	snap = snapshot_build(&t);
	for (o = 0; o < 11; o++)
		outp[o] = out_new[o];
	router_process(&next, snap, inp, outp, N);
	snapshot_free(snap);
	/* Every old output goes on exactly, ramp included. */
	for (o = 0; o < 11; o++) {
		if (o == 5)
			continue;
		for (k = 0; k < N; k++)
			if (out_new[o][k] != out_ref[out_map[o]][N + 300 + k])
				fail_msg("output %d frame %u: %g, the running router %g", o, k, (double)out_new[o][k],
					 (double)out_ref[out_map[o]][N + 300 + k]);
	}
	/* out_it (idle floor) ramps in from silence over the ramp. */
	assert_true(fabsf(out_new[5][0]) < 0.01f);
	assert_true(fabsf(out_new[5][RAMP_FRAMES + 10] - (in[0][N + 300 + RAMP_FRAMES + 10] +
							    in[1][N + 300 + RAMP_FRAMES + 10])) < 1e-6f);
	router_free(&next);
	router_free(&old);
	router_free(&ref);
	state_free(&t);
	state_free(&s);
	config_free(&b);
	config_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_in_words),
		cmocka_unit_test(test_state_carries_over),
		cmocka_unit_test(test_router_takes_over),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
