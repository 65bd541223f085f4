/* Booth and console rules, the snapshot they produce, and the command path. */
#include "helpers.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../engine/core/command.h"
#include "../../engine/core/event_log.h"
#include "../../engine/core/snapshot.h"
#include "../../engine/core/state.h"

static const char RULES_YAML[] =
	"meeting: rules\n"
	"floor: { inputs: [main], language: en }\n"
	"phones: { sidetone_db: -20 }\n"
	"languages:\n"
	"  - { code: en, name: English }\n"
	"  - { code: fr, name: Français }\n"
	"  - { code: de, idle: silence }\n"
	"  - { code: es, idle: duck, duck_db: -24, channel_mode: override }\n"
	"  - { code: zh }\n"
	"booths:\n"
	"  - { id: en, outputs: [en, fr], understands: [fr, de, es], consoles: 2 }\n"
	"  - { id: fr, outputs: [fr, en], understands: [en, de], consoles: 2 }\n"
	"  - { id: de, outputs: [de], understands: [en, fr], consoles: 2, booth_mode: interlock }\n"
	"  - { id: es, outputs: [es, en], understands: [en, fr], consoles: 2 }\n"
	"  - { id: es2, outputs: [es], understands: [fr], consoles: 1 }\n"
	"  - { id: zh, outputs: [zh, en], understands: [en], consoles: 2 }\n";

enum { EN, FR, DE, ES, ZH };         /* languages */
enum { B_EN, B_FR, B_DE, B_ES, B_ES2, B_ZH }; /* booths */

struct fixture {
	struct config cfg;
	struct state st;
	struct state_report rep;
	struct event_log events;
	char log[16][STATE_REASON_MAX];
	int n_log;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[TOLK_ERROR_MAX];

	if (config_load_string(&f->cfg, RULES_YAML, strlen(RULES_YAML), "rules.yaml", err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(state_init(&f->st, &f->cfg), 0);
	event_log_init(&f->events);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	state_free(&f->st);
	config_free(&f->cfg);
	free(f);
	return 0;
}

#define MIC(b, n, on) state_set_mic(&f->st, (b), (n), (on), &f->rep)
#define LISTEN(b, n, kind, lang) state_set_listen(&f->st, (b), (n), (kind), (lang), &f->rep)

static int hears(struct fixture *f, int b, int n)
{
	return f->st.consoles[state_mic_index(&f->st, b, n)].hears;
}

/* ---- speaking ---------------------------------------------------------- */

static void test_booth_override_takes_over(void **state)
{
	struct fixture *f = *state;
	uint64_t g = f->st.generation;

	assert_int_equal(MIC(B_FR, 1, 1), 0);
	assert_true(f->st.generation > g);
	assert_string_equal(f->rep.notes[0], "mic fr/1 on");
	assert_int_equal(MIC(B_FR, 2, 1), 0);
	assert_int_equal(f->rep.taken_over, 1);
	assert_string_equal(f->rep.notes[0], "mic fr/2 on, taking over from fr/1 (now off)");
	assert_false(state_mic_on(&f->st, B_FR, 1));
	assert_true(state_mic_on(&f->st, B_FR, 2));
	assert_int_equal(f->st.channels[FR].booth, B_FR);
	assert_int_equal(f->st.channels[FR].console, 2);
	/* Already so: no change, no error. */
	g = f->st.generation;
	assert_int_equal(MIC(B_FR, 2, 1), 1);
	assert_int_equal(MIC(B_FR, 1, 0), 1);
	assert_int_equal(f->st.generation, g);
	assert_int_equal(MIC(B_FR, 2, 0), 0);
	assert_int_equal(f->st.channels[FR].booth, -1);
	assert_int_equal(MIC(B_FR, 3, 1), -EINVAL);
	assert_int_equal(MIC(9, 1, 1), -EINVAL);
}

static void test_booth_interlock_refuses_and_names_the_colleague(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(MIC(B_DE, 1, 1), 0);
	assert_int_equal(MIC(B_DE, 2, 1), -EBUSY);
	assert_string_equal(f->rep.reason, "interlock: de/1 is live");
	assert_true(state_mic_on(&f->st, B_DE, 1));
	assert_false(state_mic_on(&f->st, B_DE, 2));
	assert_int_equal(MIC(B_DE, 1, 0), 0);
	assert_int_equal(MIC(B_DE, 2, 1), 0);
}

static void test_channel_interlock_refuses_engaged_channel(void **state)
{
	struct fixture *f = *state;
	uint64_t g;

	assert_int_equal(MIC(B_EN, 1, 1), 0);
	/* zh/1 on its B channel, English, which the en booth holds. */
	assert_int_equal(state_set_output(&f->st, B_ZH, 1, 1, &f->rep), 0);
	g = f->st.generation;
	assert_int_equal(MIC(B_ZH, 1, 1), -EBUSY);
	assert_string_equal(f->rep.reason, "engaged by en: en/1 is live on channel en");
	assert_false(state_mic_on(&f->st, B_ZH, 1));
	assert_true(state_mic_on(&f->st, B_EN, 1));
	assert_int_equal(f->st.generation, g);
	/* A live console switching onto an engaged channel is refused too,
	 * and keeps its output. */
	assert_int_equal(MIC(B_FR, 1, 1), 0);
	assert_int_equal(state_set_output(&f->st, B_FR, 1, 1, &f->rep), -EBUSY);
	assert_string_equal(f->rep.reason, "engaged by en: en/1 is live on channel en");
	assert_int_equal(state_console(&f->st, B_FR, 1)->output, 0);
	assert_int_equal(f->st.channels[FR].booth, B_FR);
	/* Once free, it may. */
	assert_int_equal(MIC(B_EN, 1, 0), 0);
	assert_int_equal(state_set_output(&f->st, B_FR, 1, 1, &f->rep), 0);
	assert_int_equal(f->st.channels[EN].booth, B_FR);
	assert_int_equal(f->st.channels[FR].booth, -1);
	assert_int_equal(state_set_output(&f->st, B_DE, 1, 1, &f->rep), -EINVAL);
	assert_string_equal(f->rep.reason, "booth de has no B output");
}

static void test_channel_override_bumps_the_other_booth(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(MIC(B_ES, 1, 1), 0);
	assert_int_equal(MIC(B_ES2, 1, 1), 0);
	assert_int_equal(f->rep.bumped_booth, B_ES);
	assert_int_equal(f->rep.bumped_console, 1);
	assert_string_equal(f->rep.notes[0], "mic es2/1 on");
	assert_string_equal(f->rep.notes[1], "mic es/1 off: channel es taken over by es2/1");
	assert_false(state_mic_on(&f->st, B_ES, 1));
	assert_int_equal(f->st.channels[ES].booth, B_ES2);
}

static void test_retour_sets_floor_language_unless_pinned(void **state)
{
	struct fixture *f = *state;

	/* The fr booth working into English (its B): the floor speaks French. */
	assert_int_equal(state_set_output(&f->st, B_FR, 1, 1, &f->rep), 0);
	assert_int_equal(MIC(B_FR, 1, 1), 0);
	assert_string_equal(f->st.floor_language, "fr");
	assert_string_equal(f->rep.notes[1], "floor language fr (retour by fr)");
	assert_int_equal(MIC(B_FR, 1, 0), 0);
	/* Pinned by the technician: retour leaves it alone. */
	assert_int_equal(state_set_floor_language(&f->st, "de", 1, &f->rep), 0);
	assert_true(f->st.floor_language_pinned);
	assert_int_equal(MIC(B_FR, 1, 1), 0);
	assert_string_equal(f->st.floor_language, "de");
	/* Unpinned again by setting it without pin. */
	assert_int_equal(state_set_floor_language(&f->st, "de", 0, &f->rep), 0);
	assert_false(f->st.floor_language_pinned);
	assert_int_equal(state_set_floor_language(&f->st, "xx", 0, &f->rep), -EINVAL);
	assert_string_equal(f->rep.reason, "unknown language 'xx'");
	/* A language only understood, not a channel, is still known. */
	assert_true(state_knows_language(&f->st, "es"));
}

static void test_cough_silences_the_channel(void **state)
{
	struct fixture *f = *state;
	struct snapshot *s;
	int k;

	assert_int_equal(MIC(B_FR, 1, 1), 0);
	assert_int_equal(state_set_mute(&f->st, B_FR, 1, 1, &f->rep), 0);
	assert_true(f->st.channels[FR].muted);
	s = snapshot_build(&f->st);
	for (k = 0; k < s->n_sources; k++) /* silent: not the mic, not the floor */
		assert_float_equal(snapshot_gain(s, config_output_of_language(&f->cfg, FR), k), 0.0f, 0.0f);
	/* No sidetone of a muted mic either. */
	assert_float_equal(snapshot_gain(s, config_output_of_phones(&f->cfg, state_mic_index(&f->st, B_FR, 1)),
					 snapshot_src_sidetone(&f->cfg, state_mic_index(&f->st, B_FR, 1))),
			   0.0f, 0.0f);
	snapshot_free(s);
	assert_int_equal(state_set_mute(&f->st, B_FR, 1, 0, &f->rep), 0);
	assert_false(f->st.channels[FR].muted);
	/* Mic off clears a held cough. */
	state_set_mute(&f->st, B_FR, 1, 1, &f->rep);
	MIC(B_FR, 1, 0);
	assert_false(state_console(&f->st, B_FR, 1)->mute);
}

static void test_handover(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(state_handover(&f->st, B_FR, 1, 2, &f->rep), -EINVAL);
	assert_string_equal(f->rep.reason, "handover: fr/1 is not live");
	state_set_output(&f->st, B_FR, 1, 1, &f->rep);
	MIC(B_FR, 1, 1);
	assert_int_equal(state_handover(&f->st, B_FR, 1, 1, &f->rep), -EINVAL);
	assert_string_equal(f->rep.reason, "handover: fr/1 to itself");
	assert_int_equal(state_handover(&f->st, B_FR, 1, 2, &f->rep), 0);
	assert_string_equal(f->rep.notes[0], "handover fr/1 -> fr/2 on en");
	assert_true(state_mic_on(&f->st, B_FR, 2));
	assert_false(state_mic_on(&f->st, B_FR, 1));
	assert_int_equal(state_console(&f->st, B_FR, 2)->output, 1); /* same channel */
	assert_int_equal(f->st.channels[EN].console, 2);
	assert_true(f->st.ramp_ms == STATE_HANDOVER_RAMP_MS);
	MIC(B_FR, 2, 0);
	assert_true(f->st.ramp_ms == STATE_RAMP_MS);
}

/* ---- hearing ----------------------------------------------------------- */

static void test_auto_relay(void **state)
{
	struct fixture *f = *state;

	LISTEN(B_ES, 1, LISTEN_AUTO, 0);
	LISTEN(B_EN, 2, LISTEN_AUTO, 0);
	/* Floor en: es understands en -> floor; en booth: en is its A -> floor. */
	assert_int_equal(hears(f, B_ES, 1), STATE_HEARS_FLOOR);
	assert_int_equal(hears(f, B_EN, 2), STATE_HEARS_FLOOR);
	/* Floor de: es understands en and fr, not de. No pivot live yet. */
	assert_int_equal(state_set_floor_language(&f->st, "de", 0, &f->rep), 0);
	assert_int_equal(hears(f, B_ES, 1), STATE_HEARS_FLOOR);
	assert_true(f->st.consoles[state_mic_index(&f->st, B_ES, 1)].no_pivot);
	/* Two candidate pivots, en and fr, both from the floor: the first
	 * understood language wins. */
	MIC(B_FR, 1, 1);
	assert_int_equal(hears(f, B_ES, 1), FR);
	assert_false(f->st.consoles[state_mic_index(&f->st, B_ES, 1)].no_pivot);
	MIC(B_EN, 1, 1);
	assert_int_equal(hears(f, B_ES, 1), EN);
	/* en taken by relay is no pivot: fr is next. */
	LISTEN(B_EN, 1, LISTEN_RELAY, FR);
	assert_int_equal(hears(f, B_ES, 1), FR);
	/* The en booth's auto console understands de: floor. */
	assert_int_equal(hears(f, B_EN, 2), STATE_HEARS_FLOOR);
	/* Floor zh: nobody but zh understands it; zh's A is zh, so floor. */
	LISTEN(B_ZH, 1, LISTEN_AUTO, 0);
	state_set_floor_language(&f->st, "zh", 0, &f->rep);
	assert_int_equal(hears(f, B_ZH, 1), STATE_HEARS_FLOOR);
}

static void test_auto_relay_skips_a_channel_fed_by_itself(void **state)
{
	struct fixture *f = *state;

	state_set_floor_language(&f->st, "de", 0, &f->rep);
	MIC(B_FR, 1, 1);
	/* es/1 works into English (B) from the floor; es/2 on auto must not
	 * take its own booth's English. */
	state_set_output(&f->st, B_ES, 1, 1, &f->rep);
	LISTEN(B_ES, 1, LISTEN_FLOOR, 0);
	state_set_floor_language(&f->st, "de", 1, &f->rep); /* pinned against the retour */
	MIC(B_ES, 1, 1);
	LISTEN(B_ES, 2, LISTEN_AUTO, 0);
	assert_int_equal(f->st.channels[EN].booth, B_ES);
	assert_int_equal(hears(f, B_ES, 2), FR);
}

static void test_relay_quality_and_source(void **state)
{
	struct fixture *f = *state;

	MIC(B_EN, 1, 1);                  /* en from the floor */
	MIC(B_FR, 1, 1);
	LISTEN(B_FR, 1, LISTEN_RELAY, EN); /* fr from en */
	MIC(B_ES, 1, 1);
	LISTEN(B_ES, 1, LISTEN_RELAY, FR); /* es from fr: a relay of a relay */
	assert_int_equal(f->st.channels[EN].quality, QUALITY_FLOOR);
	assert_int_equal(f->st.channels[EN].source, STATE_HEARS_FLOOR);
	assert_int_equal(f->st.channels[FR].quality, QUALITY_PLUS);
	assert_int_equal(f->st.channels[FR].source, EN);
	assert_int_equal(f->st.channels[ES].quality, QUALITY_MINUS);
	assert_int_equal(f->st.channels[ES].source, FR);
	assert_int_equal(f->st.channels[DE].quality, QUALITY_NONE);
	assert_string_equal(relay_quality_name(QUALITY_PLUS), "+");
	assert_null(relay_quality_name(QUALITY_NONE));
}

static void test_relay_cycles_are_refused(void **state)
{
	struct fixture *f = *state;

	MIC(B_FR, 1, 1);
	/* Directly: fr/2 from fr, which its own booth feeds. */
	assert_int_equal(LISTEN(B_FR, 2, LISTEN_RELAY, FR), -EINVAL);
	assert_string_equal(f->rep.reason, "relay cycle: channel fr is fed, through relay, by booth fr");
	/* Through another booth: en from fr, then fr/1 from en. */
	MIC(B_EN, 1, 1);
	assert_int_equal(LISTEN(B_EN, 1, LISTEN_RELAY, FR), 0);
	assert_int_equal(LISTEN(B_FR, 1, LISTEN_RELAY, EN), -EINVAL);
	assert_int_equal(LISTEN(B_FR, 2, LISTEN_RELAY, EN), -EINVAL);
	assert_int_equal(state_console(&f->st, B_FR, 1)->listen, LISTEN_FLOOR);
	/* Three booths: es from en (from fr), then fr from es. */
	MIC(B_ES, 1, 1);
	assert_int_equal(LISTEN(B_ES, 1, LISTEN_RELAY, EN), 0);
	assert_int_equal(LISTEN(B_FR, 1, LISTEN_RELAY, ES), -EINVAL);
	/* A choice that closes somebody else's loop: fr/2 takes en while en
	 * is from the floor, then en/1 asks for fr. */
	LISTEN(B_ES, 1, LISTEN_FLOOR, 0);
	LISTEN(B_EN, 1, LISTEN_FLOOR, 0);
	assert_int_equal(LISTEN(B_FR, 2, LISTEN_RELAY, EN), 0);
	assert_int_equal(LISTEN(B_EN, 1, LISTEN_RELAY, FR), -EINVAL);
	assert_string_equal(f->rep.reason, "relay cycle: fr/2 hears en, which this would feed from fr");
	assert_int_equal(state_console(&f->st, B_EN, 1)->listen, LISTEN_FLOOR);
	assert_int_equal(f->rep.n_notes, 0);
	/* Not a cycle: relay from a channel nobody of this booth feeds. */
	assert_int_equal(LISTEN(B_DE, 1, LISTEN_RELAY, EN), 0);
}

static void test_volume_and_tone_ranges(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(state_set_volume(&f->st, B_FR, 1, -12, &f->rep), 0);
	assert_int_equal(state_set_volume(&f->st, B_FR, 1, 1, &f->rep), -EINVAL);
	assert_string_equal(f->rep.reason, "volume must be between -60 and 0 dB");
	assert_int_equal(state_set_volume(&f->st, B_FR, 1, -61, &f->rep), -EINVAL);
	assert_int_equal(state_set_tone(&f->st, B_FR, 1, 6, -3, &f->rep), 0);
	assert_int_equal(state_set_tone(&f->st, B_FR, 1, 13, 0, &f->rep), -EINVAL);
	assert_string_equal(f->rep.reason, "tone must be between -12 and 12 dB");
	assert_true(state_console(&f->st, B_FR, 1)->bass_db == 6);
}

static void test_snapshot_phones(void **state)
{
	struct fixture *f = *state;
	const int fr1 = state_mic_index(&f->st, B_FR, 1), en1 = state_mic_index(&f->st, B_EN, 1);
	const int ph_fr1 = config_output_of_phones(&f->cfg, fr1);
	struct snapshot *s;
	int k;

	MIC(B_EN, 1, 1);
	MIC(B_FR, 1, 1);
	LISTEN(B_FR, 1, LISTEN_RELAY, EN);
	state_set_volume(&f->st, B_FR, 1, -6, &f->rep);
	state_set_tone(&f->st, B_FR, 1, 3, -2, &f->rep);
	s = snapshot_build(&f->st);
	assert_int_equal(s->n_sources, 1 + 2 * f->cfg.n_mics + f->cfg.n_languages);
	/* fr/1 hears out_en at -6 dB, plus its own voice at -6 - 20 dB. */
	assert_float_equal(snapshot_gain(s, ph_fr1, snapshot_src_channel(&f->cfg, EN)), powf(10, -6 / 20.0f), 1e-6);
	assert_float_equal(snapshot_gain(s, ph_fr1, snapshot_src_sidetone(&f->cfg, fr1)), powf(10, -26 / 20.0f), 1e-6);
	assert_float_equal(snapshot_gain(s, ph_fr1, SNAPSHOT_SRC_FLOOR), 0.0f, 0.0f);
	assert_float_equal(s->bass_db[fr1], 3.0f, 0.0f);
	assert_float_equal(s->treble_db[fr1], -2.0f, 0.0f);
	/* Channels never take a channel source; the duck uses duck_db. */
	for (k = 0; k < f->cfg.n_languages; k++)
		assert_float_equal(snapshot_gain(s, config_output_of_language(&f->cfg, k),
						 snapshot_src_channel(&f->cfg, EN)), 0.0f, 0.0f);
	assert_float_equal(snapshot_gain(s, config_output_of_language(&f->cfg, ES), SNAPSHOT_SRC_FLOOR),
			   powf(10, -24 / 20.0f), 1e-6);
	assert_float_equal(snapshot_gain(s, config_output_of_language(&f->cfg, EN), snapshot_src_mic(en1)),
			   1.0f, 0.0f);
	snapshot_free(s);
}

/* ---- the command path ---------------------------------------------------- */

static void log_capture(void *user, const char *line)
{
	struct fixture *f = user;
	if (f->n_log < 16)
		snprintf(f->log[f->n_log++], sizeof f->log[0], "%s", line);
}

static enum command_outcome run(struct fixture *f, const char *line, struct json_writer *w)
{
	struct command_context ctx = {
		.state = &f->st, .events = &f->events, .now_ms = 1795378800123LL,
		.log = log_capture, .log_user = f,
	};
	w->len = 0;
	if (w->buf)
		w->buf[0] = '\0';
	return command_execute(&ctx, line, w);
}

static void test_status_keys(void **state)
{
	struct fixture *f = *state;
	struct json_writer w;

	jw_init(&w);
	run(f, "mic en 1 on", &w);
	run(f, "mic fr 1 on", &w);
	run(f, "listen fr 1 en", &w);
	run(f, "listen es 2 auto", &w);
	assert_int_equal(run(f, "status", &w), COMMAND_DONE);
	assert_non_null(strstr(w.buf, "{\"ok\":true,\"meeting\":\"rules\",\"floor_language\":\"en\","
				      "\"floor_language_pinned\":false,\"channels\":[{\"number\":1,"));
	assert_non_null(strstr(w.buf, "{\"number\":1,\"code\":\"en\",\"name\":\"English\",\"feed\":\"en/1\","
				      "\"idle\":\"floor\",\"muted\":false,\"quality\":\"floor\",\"source\":\"floor\"}"));
	assert_non_null(strstr(w.buf, "{\"number\":2,\"code\":\"fr\",\"name\":\"Français\",\"feed\":\"fr/1\","
				      "\"idle\":\"floor\",\"muted\":false,\"quality\":\"+\",\"source\":\"en\"}"));
	assert_non_null(strstr(w.buf, "{\"number\":3,\"code\":\"de\",\"name\":\"de\",\"feed\":\"silence\","
				      "\"idle\":\"silence\",\"muted\":false,\"quality\":null,\"source\":null}"));
	assert_non_null(strstr(w.buf, "{\"id\":\"fr\",\"booth_mode\":\"override\",\"consoles\":[{\"n\":1,"
				      "\"mic\":true,\"mute\":false,\"output\":\"A\",\"channel\":\"fr\","
				      "\"listen\":\"en\",\"hears\":\"en\",\"note\":null,\"volume_db\":0,"
				      "\"bass_db\":0,\"treble_db\":0}"));
	assert_non_null(strstr(w.buf, "\"listen\":\"auto\",\"hears\":\"floor\",\"note\":null"));
	assert_non_null(strstr(w.buf, "\"signals\":[]}"));
	run(f, "floor-language de", &w);
	run(f, "listen en 1 floor", &w);
	run(f, "mic en 1 off", &w);
	run(f, "mic fr 1 off", &w);
	run(f, "status", &w);
	assert_non_null(strstr(w.buf, "\"listen\":\"auto\",\"hears\":\"floor\",\"note\":\"no pivot\""));
	jw_free(&w);
}

static void test_signals_and_events(void **state)
{
	struct fixture *f = *state;
	struct json_writer w;

	jw_init(&w);
	run(f, "mic fr 2 on", &w);
	assert_int_equal(run(f, "slower fr 2", &w), COMMAND_DONE);
	assert_string_equal(w.buf, "{\"ok\":true,\"signal\":\"slower\",\"booth\":\"fr\",\"seq\":2}");
	assert_int_equal(run(f, "help de 1", &w), COMMAND_DONE);
	assert_string_equal(w.buf, "{\"ok\":true,\"signal\":\"help\",\"booth\":\"de\",\"seq\":3}");
	run(f, "status", &w);
	/* slower is anonymous: the booth, not the console. */
	assert_non_null(strstr(w.buf, "\"signals\":[{\"seq\":2,\"time_ms\":1795378800123,"
				      "\"time\":\"2026-11-22T20:20:00.123Z\",\"kind\":\"slower\",\"booth\":\"fr\",\"acked\":false,"
				      "\"text\":\"slower: booth fr asks the speaker to slow down\"},{\"seq\":3,"
				      "\"time_ms\":1795378800123,\"time\":\"2026-11-22T20:20:00.123Z\","
				      "\"kind\":\"help\",\"booth\":\"de\",\"n\":1,\"acked\":false,"
				      "\"text\":\"help: de/1 calls the technician\"}]}"));
	/* A technician answers the help call; it stays listed, answered. */
	assert_int_equal(run(f, "ack 3", &w), COMMAND_DONE);
	assert_string_equal(w.buf, "{\"ok\":true,\"acknowledged\":\"signal 3 (help from de) acknowledged\"}");
	run(f, "status", &w);
	assert_non_null(strstr(w.buf, "\"n\":1,\"acked\":true,"));
	assert_int_equal(run(f, "ack 1", &w), COMMAND_ERROR); /* a change, not a signal */
	assert_int_equal(run(f, "ack 99", &w), COMMAND_ERROR);
	assert_int_equal(run(f, "ack alarm xrun", &w), COMMAND_ERROR); /* none raised here */
	assert_int_equal(run(f, "ack", &w), COMMAND_ERROR);
	assert_int_equal(run(f, "events since 2", &w), COMMAND_DONE);
	assert_non_null(strstr(w.buf, "{\"ok\":true,\"events\":[{\"seq\":3,"));
	assert_non_null(strstr(w.buf, "],\"last\":3}"));
	run(f, "events", &w);
	assert_non_null(strstr(w.buf, "\"kind\":\"change\",\"text\":\"mic fr/2 on\"}"));
	assert_int_equal(run(f, "help", &w), COMMAND_DONE);
	assert_non_null(strstr(w.buf, "\"handover <booth> <from> <to>\""));
	jw_free(&w);
}

static void test_command_replies(void **state)
{
	struct fixture *f = *state;
	struct json_writer w;

	jw_init(&w);
	assert_int_equal(run(f, "mic fr 1 on", &w), COMMAND_ROUTING);
	assert_string_equal(w.buf, "{\"ok\":true,\"booth\":\"fr\",\"n\":1,\"mic\":true,\"mute\":false,"
				   "\"output\":\"A\",\"channel\":\"fr\",\"listen\":\"floor\",\"hears\":\"floor\","
				   "\"floor_language\":\"en\",\"changed\":true}");
	assert_int_equal(run(f, "  mic\tfr 2 on  ", &w), COMMAND_ROUTING);
	assert_non_null(strstr(w.buf, "\"taken_over\":1"));
	assert_int_equal(run(f, "mic fr 2 on", &w), COMMAND_DONE);
	assert_non_null(strstr(w.buf, "\"changed\":false"));
	assert_int_equal(run(f, "handover fr 2 1", &w), COMMAND_ROUTING);
	assert_int_equal(run(f, "mute fr 1 on", &w), COMMAND_ROUTING);
	assert_non_null(strstr(w.buf, "\"mute\":true"));
	assert_int_equal(run(f, "mic es 1 on", &w), COMMAND_ROUTING);
	assert_int_equal(run(f, "mic es2 1 on", &w), COMMAND_ROUTING);
	assert_non_null(strstr(w.buf, "\"bumped\":\"es/1\""));
	assert_int_equal(run(f, "output zh 1 B", &w), COMMAND_ROUTING);
	assert_int_equal(run(f, "volume zh 1 -12.5", &w), COMMAND_ROUTING);
	assert_int_equal(run(f, "tone zh 1 3 -3", &w), COMMAND_ROUTING);
	assert_int_equal(run(f, "floor-language fr pin", &w), COMMAND_ROUTING);
	assert_non_null(strstr(w.buf, "\"floor_language\":\"fr\""));
	assert_string_equal(f->log[0], "mic fr/1 on");
	assert_string_equal(f->log[1], "mic fr/2 on, taking over from fr/1 (now off)");
	assert_string_equal(f->log[2], "handover fr/2 -> fr/1 on fr");
	jw_free(&w);
}

/* A held cough lapses; a mute said outright does not. */
static void test_cough_lease(void **state)
{
	struct fixture *f = *state;
	struct json_writer w;
	const int fr = config_find_booth(&f->cfg, "fr"), mic = state_mic_index(&f->st, fr, 1);
	int b, n;

	jw_init(&w);
	assert_int_equal(run(f, "cough fr 1 on", &w), COMMAND_ROUTING);
	assert_true(f->st.cough_until_ms[mic] == 1795378800123LL + COUGH_LEASE_MS);
	assert_false(state_cough_lapsed(&f->st, 1795378800123LL + COUGH_LEASE_MS - 1, &b, &n));
	assert_true(state_cough_lapsed(&f->st, 1795378800123LL + COUGH_LEASE_MS, &b, &n));
	assert_int_equal(b, fr);
	assert_int_equal(n, 1);
	assert_int_equal(run(f, "mute fr 1 on", &w), COMMAND_DONE); /* already muted: but now for good */
	assert_true(f->st.cough_until_ms[mic] == 0);
	assert_false(state_cough_lapsed(&f->st, 1795378800123LL + 60000, &b, &n));
	assert_int_equal(run(f, "cough fr 1 on", &w), COMMAND_DONE);
	assert_int_equal(run(f, "cough fr 1 off", &w), COMMAND_ROUTING);
	assert_true(f->st.cough_until_ms[mic] == 0);
	jw_free(&w);
}

static void test_bad_commands(void **state)
{
	static const struct {
		const char *line, *reply;
	} cases[] = {
		{ "", "empty request (try help)" },
		{ "dance", "unknown command 'dance' (try help)" },
		{ "status now", "status: takes no arguments" },
		{ "mic", "usage: mic <booth> <n> on|off" },
		{ "mic fr 1", "usage: mic <booth> <n> on|off" },
		{ "mic xx 1 on", "mic: unknown booth 'xx'" },
		{ "mic fr 3 on", "mic: booth fr has consoles 1 to 2, not '3'" },
		{ "mic fr 1x on", "mic: booth fr has consoles 1 to 2, not '1x'" },
		{ "mic fr 1 maybe", "mic: expected on or off, not 'maybe'" },
		{ "mic \"fr\" 1 on", "mic: unknown booth '\\\"fr\\\"'" },
		{ "mute fr 1 loud", "mute: expected on or off, not 'loud'" },
		{ "output fr 1 D", "output: expected A, B or C, not 'D'" },
		{ "output de 1 B", "output: booth de has no B output" },
		{ "handover fr 1", "usage: handover <booth> <from> <to>" },
		{ "handover fr 1 2", "handover: handover: fr/1 is not live" },
		{ "listen fr 1 klingon", "listen: expected floor, auto or a channel's language, not 'klingon'" },
		{ "volume fr 1 loud", "volume: 'loud' is not a number of dB" },
		{ "volume fr 1 nan", "volume: 'nan' is not a number of dB" },
		{ "volume fr 1 6", "volume: volume must be between -60 and 0 dB" },
		{ "tone fr 1 20 0", "tone: tone must be between -12 and 12 dB" },
		{ "floor-language", "usage: floor-language <language> [pin]" },
		{ "floor-language en lock", "usage: floor-language <language> [pin]" },
		{ "floor-language xx", "floor-language: unknown language 'xx'" },
		{ "slower fr", "usage: slower <booth> <n>" },
		{ "help fr 9", "help: booth fr has consoles 1 to 2, not '9'" },
		{ "events since -1", "events: 'since' needs a sequence number, not '-1'" },
		{ "a b c d e f g h i j k l m n o p q", "request has more than 16 words" },
		{ "mic fr\x01 1 on", "request holds a control character" },
	};
	struct fixture *f = *state;
	struct json_writer w;
	uint64_t g = f->st.generation;
	char want[512];
	size_t i;

	jw_init(&w);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(want, sizeof want, "{\"ok\":false,\"error\":\"%s\"}", cases[i].reply);
		assert_int_equal(run(f, cases[i].line, &w), COMMAND_ERROR);
		assert_string_equal(w.buf, want);
	}
	assert_int_equal(f->st.generation, g); /* nothing changed */
	assert_int_equal(f->n_log, 0);
	assert_int_equal(event_log_last(&f->events), 0);
	jw_free(&w);
}

static void test_read_only_commands(void **state)
{
	(void)state;
	assert_true(command_is_read_only("status"));
	assert_true(command_is_read_only("  events since 4"));
	assert_true(command_is_read_only("help"));
	assert_true(command_is_read_only("record status"));
	assert_true(command_is_read_only("meters"));
	assert_false(command_is_read_only("help fr 1")); /* a signal */
	assert_false(command_is_read_only("record start"));
	assert_false(command_is_read_only("record status now"));
	assert_false(command_is_read_only("mic fr 1 on"));
	assert_false(command_is_read_only("floor-language en"));
	assert_false(command_is_read_only("statusx"));
}

static void test_event_log_ring(void **state)
{
	struct event_log log;
	int i;
	(void)state;

	event_log_init(&log);
	assert_int_equal(event_log_last(&log), 0);
	assert_null(event_log_get(&log, 1));
	for (i = 0; i < EVENT_LOG_SIZE + 5; i++)
		event_log_add(&log, i, EVENT_CHANGE, NULL, 0, "x");
	assert_int_equal(event_log_last(&log), EVENT_LOG_SIZE + 5);
	assert_int_equal(event_log_first(&log), 6);
	assert_null(event_log_get(&log, 5));
	assert_int_equal(event_log_get(&log, 6)->seq, 6);
	assert_int_equal(event_log_get(&log, EVENT_LOG_SIZE + 5)->time_ms, EVENT_LOG_SIZE + 4);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_booth_override_takes_over),
		T(test_booth_interlock_refuses_and_names_the_colleague),
		T(test_channel_interlock_refuses_engaged_channel),
		T(test_channel_override_bumps_the_other_booth),
		T(test_retour_sets_floor_language_unless_pinned),
		T(test_cough_silences_the_channel),
		T(test_handover),
		T(test_auto_relay),
		T(test_auto_relay_skips_a_channel_fed_by_itself),
		T(test_relay_quality_and_source),
		T(test_relay_cycles_are_refused),
		T(test_volume_and_tone_ranges),
		T(test_snapshot_phones),
		T(test_status_keys),
		T(test_signals_and_events),
		T(test_command_replies),
		T(test_cough_lease),
		T(test_bad_commands),
		cmocka_unit_test(test_read_only_commands),
		cmocka_unit_test(test_event_log_ring),
	};
	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
