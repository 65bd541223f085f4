#include "helpers.h"

#include <stdlib.h>
#include <time.h>

#include <errno.h>
#include <stdio.h>

static void test_room_loads(void **unused)
{
	struct config cfg;
	char name[64];
	int is_input, index;
	(void)unused;

	load_room(&cfg);
	assert_string_equal(cfg.meeting, "unit-room");
	assert_int_equal(cfg.n_floor_inputs, 2);
	assert_string_equal(cfg.floor_language, "en");
	assert_int_equal(cfg.n_languages, 4);
	assert_string_equal(cfg.languages[1].name, "Français");
	assert_int_equal(cfg.languages[0].idle, IDLE_FLOOR);
	assert_int_equal(cfg.languages[2].idle, IDLE_SILENCE);
	assert_int_equal(cfg.languages[3].idle, IDLE_DUCK);
	assert_int_equal(cfg.n_booths, 2);
	assert_int_equal(cfg.booths[0].n_outputs, 2);
	assert_int_equal(cfg.booths[0].outputs[0], 1);
	assert_int_equal(cfg.booths[0].outputs[1], 0);
	assert_int_equal(cfg.booths[0].n_understands, 2);
	assert_int_equal(cfg.booths[1].consoles, 3);
	assert_int_equal(cfg.booths[1].first_mic, 2);
	assert_int_equal(cfg.n_mics, 5);

	/* The port layout the JACK shell registers. */
	assert_int_equal(config_input_count(&cfg), 7);
	assert_int_equal(config_output_count(&cfg), 1 + 4 + 5);
	config_input_name(&cfg, 0, name, sizeof name);
	assert_string_equal(name, "floor_main");
	config_input_name(&cfg, 1, name, sizeof name);
	assert_string_equal(name, "floor_aux");
	config_input_name(&cfg, 2, name, sizeof name);
	assert_string_equal(name, "mic_fr_1");
	config_input_name(&cfg, 6, name, sizeof name);
	assert_string_equal(name, "mic_en_3");
	config_output_name(&cfg, 0, name, sizeof name);
	assert_string_equal(name, "out_floor");
	config_output_name(&cfg, 2, name, sizeof name);
	assert_string_equal(name, "out_fr");
	config_output_name(&cfg, 5, name, sizeof name);
	assert_string_equal(name, "phones_fr_1");
	config_output_name(&cfg, 9, name, sizeof name);
	assert_string_equal(name, "phones_en_3");
	assert_int_equal(config_input_name(&cfg, 7, name, sizeof name), -EINVAL);
	assert_int_equal(config_find_port(&cfg, "mic_en_2", &is_input, &index), 0);
	assert_true(is_input);
	assert_int_equal(index, 5);
	assert_int_equal(config_find_port(&cfg, "out_de", &is_input, &index), 0);
	assert_false(is_input);
	assert_int_equal(index, 3);
	assert_int_equal(config_find_port(&cfg, "out_xx", &is_input, &index), -ENOENT);
	config_free(&cfg);
}

/* What patchbays show: JACK metadata pretty names and the room's order. */
static void test_port_labels(void **unused)
{
	struct config cfg;
	char pretty[128];
	int order, last = -1, mic;
	(void)unused;

	static const struct {
		enum port_label_kind kind;
		int index;
		const char *pretty;
	} names[] = {
		{ PORT_LABEL_INPUT, 1, "Floor: aux" },
		{ PORT_LABEL_OUTPUT, 0, "Floor (distribution)" },
		{ PORT_LABEL_OUTPUT, 2, "Français (distribution)" },
		{ PORT_LABEL_INPUT, 2, "fr booth 1 mic" },
		{ PORT_LABEL_OUTPUT, 9, "en booth 3 headphones" },
		{ PORT_LABEL_MIDI_OUT, 4, "en booth 3 MIDI out" },
	};

	load_room(&cfg);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		assert_int_equal(config_port_label(&cfg, names[i].kind, names[i].index, pretty, sizeof pretty, &order), 0);
		assert_string_equal(pretty, names[i].pretty);
	}

	/* Floor inputs, out_floor, languages, then console by console:
	 * mic, headphones, MIDI in, MIDI out; every place taken once. */
	for (int i = 0; i < cfg.n_floor_inputs + 1 + cfg.n_languages; i++, last = order) {
		const int floor_input = i < cfg.n_floor_inputs;
		assert_true(config_port_label(&cfg, floor_input ? PORT_LABEL_INPUT : PORT_LABEL_OUTPUT,
					      floor_input ? i : i - cfg.n_floor_inputs, pretty, sizeof pretty,
					      &order) == 0 &&
			    order == last + 1);
	}
	for (mic = 0; mic < cfg.n_mics; mic++) {
		const int kinds[] = { PORT_LABEL_INPUT, PORT_LABEL_OUTPUT, PORT_LABEL_MIDI_IN, PORT_LABEL_MIDI_OUT };
		const int index[] = { config_input_of_mic(&cfg, mic), config_output_of_phones(&cfg, mic), mic, mic };
		for (int k = 0; k < 4; k++, last = order)
			assert_true(config_port_label(&cfg, kinds[k], index[k], pretty, sizeof pretty, &order) == 0 &&
				    order == last + 1);
	}
	assert_int_equal(config_port_label(&cfg, PORT_LABEL_INPUT, 7, pretty, sizeof pretty, &order), -EINVAL);
	assert_int_equal(config_port_label(&cfg, PORT_LABEL_MIDI_IN, 5, pretty, sizeof pretty, &order), -EINVAL);
	assert_int_equal(config_port_label(NULL, PORT_LABEL_INPUT, 0, pretty, sizeof pretty, &order), -EINVAL);
	config_free(&cfg);
}

static void test_defaults(void **unused)
{
	static const char y[] =
		"meeting: m\n"
		"floor: { inputs: [a] }\n"
		"languages: [{ code: en }, { code: fr }]\n"
		"booths: [{ id: fr, outputs: [fr] }]\n";
	struct config cfg;
	char err[TOLK_ERROR_MAX];
	(void)unused;

	assert_int_equal(config_load_string(&cfg, y, strlen(y), "d.yaml", err, sizeof err), 0);
	assert_string_equal(cfg.floor_language, "en"); /* the first language */
	assert_string_equal(cfg.languages[0].name, "en");
	assert_int_equal(cfg.languages[1].idle, IDLE_FLOOR);
	assert_int_equal(cfg.booths[0].consoles, 2);
	assert_int_equal(cfg.booths[0].booth_mode, BOOTH_OVERRIDE);
	assert_int_equal(cfg.languages[0].channel_mode, CHANNEL_INTERLOCK);
	assert_true(cfg.languages[0].duck_db == -18.0);
	assert_false(cfg.sidetone);
	assert_int_equal(cfg.n_connects, 0);
	/* The archive is on by default: FLAC and Opus, hour segments. */
	assert_string_equal(cfg.recording.dir, "recordings");
	assert_int_equal(cfg.recording.formats, RECORD_FLAC | RECORD_OPUS);
	assert_int_equal(cfg.recording.opus_bitrate, 32000);
	assert_true(cfg.recording.segment_minutes == 60);
	assert_true(cfg.recording.buffer_seconds == 10);
	assert_true(cfg.recording.autostart);
	assert_true(cfg.recording.all_channels);
	assert_false(cfg.recording.mics);
	/* Alarm thresholds as the issue gives them. */
	assert_true(cfg.alarms.live_silent_db == -50 && cfg.alarms.live_silent_seconds == 10);
	assert_true(cfg.alarms.clip_dbfs == -0.1 && cfg.alarms.disk_low_minutes == 10);
	config_free(&cfg);
}

static void test_console_rule_keys(void **unused)
{
	static const char y[] =
		"meeting: m\n"
		"floor: { inputs: [a] }\n"
		"phones: { sidetone_db: -15.5 }\n"
		"languages: [{ code: en, idle: duck, duck_db: -30, channel_mode: override }]\n"
		"booths: [{ id: en, outputs: [en], booth_mode: interlock }]\n";
	struct config cfg;
	char err[TOLK_ERROR_MAX];
	(void)unused;

	if (config_load_string(&cfg, y, strlen(y), "k.yaml", err, sizeof err))
		fail_msg("%s", err);
	assert_true(cfg.sidetone);
	assert_true(cfg.sidetone_db == -15.5);
	assert_true(cfg.languages[0].duck_db == -30.0);
	assert_int_equal(cfg.languages[0].channel_mode, CHANNEL_OVERRIDE);
	assert_int_equal(cfg.booths[0].booth_mode, BOOTH_INTERLOCK);
	config_free(&cfg);
}

static void test_recording_keys(void **unused)
{
	static const char y[] =
		"meeting: m\n"
		"floor: { inputs: [a] }\n"
		"languages: [{ code: en }, { code: fr }]\n"
		"recording:\n"
		"  dir: /srv/archive\n"
		"  formats: [wav, opus]\n"
		"  opus_bitrate: 24000\n"
		"  segment_minutes: 0.5\n"
		"  buffer_seconds: 4\n"
		"  autostart: no\n"
		"  channels: [floor, fr]\n"
		"  mics: true\n"
		"  loudness: false\n"
		"  signing_key: /etc/tolk/archive.key\n";
	struct config cfg;
	char err[TOLK_ERROR_MAX];
	(void)unused;

	if (config_load_string(&cfg, y, strlen(y), "r.yaml", err, sizeof err))
		fail_msg("%s", err);
	assert_string_equal(cfg.recording.dir, "/srv/archive");
	assert_int_equal(cfg.recording.formats, RECORD_WAV | RECORD_OPUS);
	assert_int_equal(cfg.recording.opus_bitrate, 24000);
	assert_true(cfg.recording.segment_minutes == 0.5);
	assert_true(cfg.recording.buffer_seconds == 4);
	assert_false(cfg.recording.autostart);
	assert_false(cfg.recording.all_channels);
	assert_int_equal(cfg.recording.n_channels, 2);
	assert_string_equal(cfg.recording.channels[1], "fr");
	assert_true(cfg.recording.mics);
	assert_false(cfg.recording.loudness);
	assert_string_equal(cfg.recording.signing_key, "/etc/tolk/archive.key");
	config_free(&cfg);
}

static void test_control_keys(void **unused)
{
	static const char y[] = "meeting: m\nfloor: { inputs: [a] }\nlanguages: [{ code: en }]\n"
				"control:\n  technicians: [root, avtech]\n  observers: [\"@staff\"]\n";
	struct config cfg;
	char err[TOLK_ERROR_MAX];
	(void)unused;

	if (config_load_string(&cfg, y, strlen(y), "c.yaml", err, sizeof err))
		fail_msg("%s", err);
	assert_true(cfg.control.present);
	assert_int_equal(cfg.control.n_technicians, 2);
	assert_string_equal(cfg.control.technicians[1].name, "avtech");
	assert_false(cfg.control.technicians[1].is_group);
	assert_int_equal(cfg.control.technicians[1].line, 5);
	assert_int_equal(cfg.control.n_observers, 1);
	assert_string_equal(cfg.control.observers[0].name, "staff");
	assert_true(cfg.control.observers[0].is_group);
	config_free(&cfg);
}

static void test_osc_keys(void **unused)
{
	static const char y[] = "meeting: m\nfloor: { inputs: [a] }\nlanguages: [{ code: en }]\n"
				"booths: [{ id: en, outputs: [en] }]\n"
				"osc: { listen: 9010, consoles: { en: [127.0.0.1, 10.0.0.7] } }\n";
	struct config cfg;
	char err[TOLK_ERROR_MAX];
	(void)unused;

	if (config_load_string(&cfg, y, strlen(y), "o.yaml", err, sizeof err))
		fail_msg("%s", err);
	assert_true(cfg.osc.enabled);
	assert_string_equal(cfg.osc.host, "127.0.0.1"); /* a bare port means loopback */
	assert_string_equal(cfg.osc.port, "9010");
	assert_int_equal(cfg.osc.n_peers, 2);
	assert_string_equal(cfg.osc.peers[1].address, "10.0.0.7");
	config_free(&cfg);
	/* No osc: section, no network port. */
	load_room(&cfg);
	assert_false(cfg.osc.enabled);
	assert_false(cfg.web.enabled);
	config_free(&cfg);
}

static void test_web_keys(void **unused)
{
	static const char y[] = "meeting: m\nfloor: { inputs: [a] }\nlanguages: [{ code: en }]\n"
				"web: { listen: 8080, tokens: { observer: observer-token-0123 } }\n";
	struct config cfg;
	char err[TOLK_ERROR_MAX];
	(void)unused;

	if (config_load_string(&cfg, y, strlen(y), "w.yaml", err, sizeof err))
		fail_msg("%s", err);
	assert_true(cfg.web.enabled);
	assert_string_equal(cfg.web.host, "127.0.0.1"); /* a bare port means loopback */
	assert_string_equal(cfg.web.port, "8080");
	assert_string_equal(cfg.web.technician, ""); /* made up at start */
	assert_string_equal(cfg.web.observer, "observer-token-0123");
	config_free(&cfg);
}

static void test_inserts_and_hearing(void **unused)
{
	static const char yaml[] =
		"meeting: m\n"
		"floor: { inputs: [main] }\n"
		"languages:\n"
		"  - { code: en }\n"
		"  - code: fr\n"
		"    inserts: { outputs: [{lv2: {uri: \"urn:x:y\", params: {gain: -3}}}] }\n"
		"booths:\n"
		"  - { id: fr, outputs: [fr], inserts: { mics: [] } }\n"
		"  - { id: en, outputs: [en] }\n"
		"phones: { dbspl_at_0dbfs: 105, ceiling_dbspl: 98, sustained_dbspl: 92 }\n"
		"inserts:\n"
		"  mics: [highpass, {gate: {threshold_db: -50, hold_ms: 300}}]\n"
		"  outputs: [{leveller: }]\n";
	struct config cfg;
	char err[TOLK_ERROR_MAX];
	const struct cfg_chain *c;
	(void)unused;

	assert_int_equal(config_load_string(&cfg, yaml, strlen(yaml), "r.yaml", err, sizeof err), 0);
	assert_string_equal(cfg.source, "r.yaml");
	/* The default mic chain, with its line and column for later errors. */
	c = config_mic_chain(&cfg, 1);
	assert_int_equal(c->n, 2);
	assert_string_equal(c->items[0].plugin, "highpass");
	assert_int_equal(c->items[0].n_params, 0);
	assert_string_equal(c->items[1].plugin, "gate");
	assert_int_equal(c->items[1].n_params, 2);
	assert_string_equal(c->items[1].params[1].name, "hold_ms");
	assert_true(c->items[1].params[1].value == 300);
	assert_int_equal(c->items[1].params[1].line, 12);
	assert_int_equal(c->items[1].params[1].column, 47);
	/* A booth's own empty chain overrides the default. */
	assert_int_equal(config_mic_chain(&cfg, 0)->n, 0);
	assert_int_equal(config_phones_chain(&cfg, 0)->n, 0);
	/* out_floor and en take the default, fr its own LV2 chain. */
	assert_string_equal(config_output_chain(&cfg, -1)->items[0].plugin, "leveller");
	assert_string_equal(config_output_chain(&cfg, 0)->items[0].plugin, "leveller");
	c = config_output_chain(&cfg, 1);
	assert_string_equal(c->items[0].plugin, "lv2");
	assert_string_equal(c->items[0].uri, "urn:x:y");
	assert_true(c->items[0].params[0].value == -3);
	/* The hearing limiter's levels, and Lingua ID's for the rest. */
	assert_true(cfg.hearing.dbspl_at_0dbfs == 105);
	assert_true(cfg.hearing.ceiling_dbspl == 98);
	assert_true(cfg.hearing.sustained_dbspl == 92);
	assert_true(cfg.hearing.average_dbspl == 80);
	assert_true(cfg.hearing.backoff_minutes == 30);
	config_free(&cfg);
}

static void test_connect(void **unused)
{
	static const char y[] =
		"meeting: m\n"
		"floor: { inputs: [main] }\n"
		"languages: [{ code: en }]\n"
		"connect:\n"
		"  floor_main: system:capture_1\n"
		"  out_en: [system:playback_1, system:playback_2]\n";
	struct config cfg;
	char err[TOLK_ERROR_MAX];
	(void)unused;

	assert_int_equal(config_load_string(&cfg, y, strlen(y), "c.yaml", err, sizeof err), 0);
	assert_int_equal(cfg.n_connects, 3);
	assert_string_equal(cfg.connects[0].port, "floor_main");
	assert_string_equal(cfg.connects[0].other, "system:capture_1");
	assert_string_equal(cfg.connects[2].port, "out_en");
	assert_string_equal(cfg.connects[2].other, "system:playback_2");
	assert_int_equal(cfg.connects[2].line, 6);
	config_free(&cfg);
}

/* Each bad file must fail with exactly this one line. */
struct bad_case {
	const char *yaml;
	const char *error;
};

#define HEAD "meeting: m\nfloor: { inputs: [main] }\n"
#define LANGS "languages: [{ code: en }, { code: fr }]\n"

static const struct bad_case bad_cases[] = {
	{ "meeting: [unclosed\n", "bad.yaml:2:1: malformed YAML: did not find expected ',' or ']' "
				  "while parsing a flow sequence" },
	{ "meeting: m\n  bad: indent\n", "bad.yaml:2:6: malformed YAML: mapping values are not "
					 "allowed in this context" },
	{ "", "bad.yaml:1:1: the configuration is empty" },
	{ "- a\n- b\n", "bad.yaml:1:1: the configuration must be a mapping, not a list" },
	{ HEAD LANGS "colour: blue\n", "bad.yaml:4:1: unknown key 'colour' (expected one of: "
				      "meeting, room, floor, languages, booths, connect, phones, inserts, recording, control, alarms, osc, web, stream, rtp, "
				      "consoles, midi, incidents)" },
	{ HEAD LANGS "booths: [{ id: fr, outputs: [fr] }]\n"
		     "web: { listen: 8080, tokens: { booths: { en: abcdefghijklmnopqrstuvwxyz } } }\n",
	  "bad.yaml:5:42: tokens.booths names 'en', which is not a booth" },
	{ HEAD LANGS "booths: [{ id: fr, outputs: [fr] }]\n"
		     "web: { listen: 8080, tokens: { technician: abcdefghijklmnopqrstuvwxyz, "
		     "booths: { fr: abcdefghijklmnopqrstuvwxyz } } }\n",
	  "bad.yaml:5:6: web: the same token is given for two roles; each role (and each booth) needs its own" },
	{ HEAD LANGS "web: { listen: 8080, tokens: { observer: abcdefghijklmnopqrstuvwxyz, "
		     "metrics: abcdefghijklmnopqrstuvwxyz } }\n",
	  "bad.yaml:4:6: web: the same token is given for two roles; each role (and each booth) needs its own" },
	{ HEAD LANGS "incidents: { auto: [jack-down, nonsense] }\n",
	  "bad.yaml:4:32: alarm kind 'nonsense' must be jack-down, live-silent, both-open, floor-silent, clipping, "
	  "no-pivot, xrun, recording-drop, recording-failed, recording-behind, disk-low, stream-down or rtp-send" },
	{ HEAD LANGS "incidents: { auto: [xrun, xrun] }\n", "bad.yaml:4:27: alarm kind 'xrun' is listed twice" },
	{ HEAD LANGS "incidents: { command: hook.sh }\n",
	  "bad.yaml:4:23: incidents.command must be an absolute path, not 'hook.sh'" },
	{ HEAD LANGS "incidents: { audio: false, pre_seconds: 200 }\n",
	  "bad.yaml:4:41: pre_seconds must be between 0 and 120, not 200" },
	{ HEAD LANGS "web: { listen: 8080, tokens: { metrics: short } }\n",
	  "bad.yaml:4:41: the metrics token must be 16 to 127 characters" },
	{ HEAD LANGS "consoles: { shift_minutes: 0 }\n", "bad.yaml:4:28: shift_minutes must be between 1 and 600, not 0" },
	{ HEAD LANGS "stream: { mount_prefix: /c }\n",
	  "bad.yaml:4:9: stream needs icecast.password_file (the password is never written in the config or on a command line)" },
	{ HEAD LANGS "recording: { channels: [en] }\nstream: { icecast: { password_file: /p }, channels: [fr] }\n",
	  "bad.yaml:5:9: stream channel 'fr' must be recorded too (recording.channels): streams are encoded from the recording's buffers" },
	{ HEAD LANGS "stream: { icecast: { password_file: /p }, mount_prefix: council }\n",
	  "bad.yaml:4:57: mount_prefix 'council' must begin with '/'" },
	{ HEAD LANGS "web: { tokens: { technician: abcdefghijklmnopqrstuvwxyz } }\n",
	  "bad.yaml:4:6: web needs listen (\"127.0.0.1:8080\", or a port)" },
	{ HEAD LANGS "web: { listen: 8080, tokens: { technician: short } }\n",
	  "bad.yaml:4:44: the technician token must be 16 to 127 characters" },
	{ HEAD LANGS "web: { listen: 8080, tokens: { observer: \"has space in it, long\" } }\n",
	  "bad.yaml:4:42: the observer token may hold only printable ASCII, without spaces, ';', ',', '\"' or '\\'" },
	{ HEAD LANGS "web: { listen: 8080, tokens: { root: abcdefghijklmnopqrstuvwxyz } }\n",
	  "bad.yaml:4:32: unknown key 'root' in tokens (expected one of: technician, observer, metrics, listener, booths)" },
	{ HEAD LANGS "web: { listen: \"0.0.0.0:99999\" }\n",
	  "bad.yaml:4:16: listen '0.0.0.0:99999' must be host:port or a port (1-65535)" },
	{ HEAD LANGS "meeting: n\n", "bad.yaml:4:1: duplicate key 'meeting'" },
	{ "floor: { inputs: [main] }\n" LANGS, "bad.yaml:1:1: missing key 'meeting'" },
	{ "meeting: m\n" LANGS, "bad.yaml:1:1: missing key 'floor'" },
	{ HEAD, "bad.yaml:1:1: missing key 'languages'" },
	{ HEAD "languages: []\n", "bad.yaml:3:12: languages needs at least one entry" },
	{ HEAD "languages: [{ code: en }, { code: en }]\n",
	  "bad.yaml:3:35: duplicate language code 'en'" },
	{ HEAD "languages: [{ code: EN }]\n", "bad.yaml:3:21: language code 'EN' must match [a-z0-9-]+" },
	{ HEAD "languages: [{ code: floor }]\n",
	  "bad.yaml:3:21: language code 'floor' is reserved for out_floor" },
	{ HEAD "languages: [{ code: en, idle: loud }]\n",
	  "bad.yaml:3:31: idle 'loud' must be floor, silence or duck" },
	{ HEAD "languages: [{ code: en, colour: red }]\n",
	  "bad.yaml:3:25: unknown key 'colour' in language (expected one of: code, name, idle, duck_db, channel_mode, inserts)" },
	{ HEAD "languages: [{ name: English }]\n", "bad.yaml:3:13: language has no code" },
	{ HEAD LANGS "booths:\n  - { id: fr, outputs: [fr], id: en }\n",
	  "bad.yaml:5:30: duplicate key 'id' in booth" },
	{ HEAD LANGS "booths:\n  - { id: fr, outputs: [it] }\n",
	  "bad.yaml:5:25: booth output 'it' names no language" },
	{ HEAD LANGS "booths:\n  - { id: fr, outputs: [fr, fr] }\n",
	  "bad.yaml:5:29: booth output 'fr' is listed twice" },
	{ HEAD LANGS "booths:\n  - { id: fr, outputs: [] }\n",
	  "bad.yaml:5:24: outputs needs 1 to 3 languages (A, then B and C), not 0" },
	{ HEAD LANGS "booths:\n  - { id: fr, outputs: [fr], consoles: 0 }\n",
	  "bad.yaml:5:40: consoles must be between 1 and 8, not 0" },
	{ HEAD LANGS "booths:\n  - { id: fr, outputs: [fr], consoles: 9 }\n",
	  "bad.yaml:5:40: consoles must be between 1 and 8, not 9" },
	{ HEAD LANGS "booths:\n  - { id: fr, outputs: [fr], consoles: two }\n",
	  "bad.yaml:5:40: consoles 'two' is not a whole number" },
	{ HEAD LANGS "booths:\n  - { id: fr, outputs: [fr] }\n  - { id: fr, outputs: [en] }\n",
	  "bad.yaml:6:11: duplicate booth id 'fr'" },
	{ HEAD LANGS "booths:\n  - { outputs: [fr] }\n", "bad.yaml:5:5: booth has no id" },
	{ HEAD LANGS "booths:\n  - { id: fr }\n", "bad.yaml:5:5: booth 'fr' has no outputs" },
	{ HEAD LANGS "booths:\n  - { id: fr_1, outputs: [fr] }\n",
	  "bad.yaml:5:11: booth id 'fr_1' must match [a-z0-9-]+" },
	{ HEAD LANGS "connect:\n  out_it: system:playback_1\n",
	  "bad.yaml:5:3: connect names 'out_it', which is not a tolk port" },
	{ HEAD LANGS "connect:\n  out_en: playback\n",
	  "bad.yaml:5:11: connection target 'playback' must be a full port name (client:port)" },
	{ "meeting: m\nfloor: { inputs: [main, main] }\n" LANGS,
	  "bad.yaml:2:25: duplicate 'main' in floor inputs" },
	{ "meeting: m\nfloor: { inputs: [] }\n" LANGS,
	  "bad.yaml:2:18: floor inputs needs at least 1 entry" },
	{ HEAD "languages: [{ code: en, idle: duck, duck_db: 3 }]\n",
	  "bad.yaml:3:46: duck_db must be between -60 and 0, not 3" },
	{ HEAD "languages: [{ code: en, duck_db: low }]\n", "bad.yaml:3:34: duck_db 'low' is not a number" },
	{ HEAD "languages: [{ code: en, channel_mode: shared }]\n",
	  "bad.yaml:3:39: channel_mode 'shared' must be interlock or override" },
	{ HEAD LANGS "booths:\n  - { id: fr, outputs: [fr], booth_mode: polite }\n",
	  "bad.yaml:5:42: booth_mode 'polite' must be override or interlock" },
	{ HEAD LANGS "phones: { sidetone_db: 6 }\n", "bad.yaml:4:24: sidetone_db must be between -60 and 0, not 6" },
	{ HEAD LANGS "phones: { limiter: off }\n",
	  "bad.yaml:4:11: unknown key 'limiter' in phones (expected one of: sidetone_db, dbspl_at_0dbfs, "
	  "ceiling_dbspl, sustained_dbspl, sustained_ms, average_dbspl, warning_dbspl, backoff_db, "
	  "backoff_minutes)" },
	{ HEAD LANGS "phones: { ceiling_dbspl: 105, sustained_dbspl: 110 }\n",
	  "bad.yaml:4:9: sustained_dbspl 110 is above ceiling_dbspl 105" },
	{ HEAD LANGS "phones: { dbspl_at_0dbfs: 95 }\n",
	  "bad.yaml:4:9: ceiling_dbspl 100 is above dbspl_at_0dbfs 95: the headphones cannot play that loud, "
	  "so set the ceiling at or below the calibration" },
	{ HEAD LANGS "phones: { ceiling_dbspl: 140 }\n",
	  "bad.yaml:4:26: ceiling_dbspl must be between 60 and 130, not 140" },
	{ HEAD LANGS "inserts: { phones: [{hearing_limiter: {}}] }\n",
	  "bad.yaml:4:22: the hearing limiter is always last on every phones feed and cannot be added or "
	  "removed; set its levels under phones:" },
	{ HEAD LANGS "inserts: { mics: [{gate: {threshold_db: loud}}] }\n",
	  "bad.yaml:4:41: threshold_db 'loud' is not a number" },
	{ HEAD LANGS "inserts: { mics: [{gate: {}, highpass: {}}] }\n",
	  "bad.yaml:4:30: an insert is one plugin: {plugin: {parameters}, name: ...}" },
	{ HEAD LANGS "inserts: { mics: [{gate: {}, name: 2nd}] }\n",
	  "bad.yaml:4:36: insert name '2nd' must match [a-z][a-z0-9_-]* (at most 31 characters)" },
	{ HEAD LANGS "inserts: { mics: [{gate: {}, name: g}, {highpass: {}, name: g}] }\n",
	  "bad.yaml:4:61: insert name 'g' is taken in this chain (line 4)" },
	{ HEAD LANGS "inserts: { mics: [{name: g}] }\n",
	  "bad.yaml:4:19: an insert needs a plugin: {plugin: {parameters}, name: ...}" },
	{ HEAD LANGS "inserts: { mics: [{gate: {}, name: [g]}] }\n",
	  "bad.yaml:4:36: an insert name must be a scalar, not a list" },
	{ HEAD LANGS "inserts: { mics: [{Gate: {}}] }\n",
	  "bad.yaml:4:20: plugin name 'Gate' must match [a-z0-9_]+" },
	{ HEAD LANGS "inserts: { lv2: [] }\n",
	  "bad.yaml:4:12: unknown key 'lv2' in inserts (expected one of: mics, outputs, phones)" },
	{ HEAD LANGS "inserts: { mics: [{lv2: {params: {gain: 1}}}] }\n", "bad.yaml:4:25: lv2 needs a uri" },
	{ HEAD LANGS "booths:\n  - { id: fr, outputs: [fr], inserts: { outputs: [] } }\n",
	  "bad.yaml:5:41: unknown key 'outputs' in booth inserts (expected one of: mics, phones)" },
	{ HEAD LANGS "recording: { formats: [mp3] }\n",
	  "bad.yaml:4:24: format 'mp3' must be wav, flac or opus" },
	{ HEAD LANGS "recording: { formats: [wav, wav] }\n", "bad.yaml:4:29: format 'wav' is listed twice" },
	{ HEAD LANGS "recording: { formats: [] }\n", "bad.yaml:4:23: formats needs at least one of wav, flac, opus" },
	{ HEAD LANGS "recording: { segment_minutes: 0 }\n",
	  "bad.yaml:4:31: segment_minutes must be between 0.01 and 1440, not 0" },
	{ HEAD LANGS "recording: { autostart: maybe }\n",
	  "bad.yaml:4:25: autostart 'maybe' must be false, true, no or yes" },
	{ HEAD LANGS "recording: { channels: [floor, it] }\n",
	  "bad.yaml:4:32: recording channel 'it' is neither floor nor a language" },
	{ HEAD LANGS "recording: { channels: some }\n",
	  "bad.yaml:4:24: channels must be all or a list of floor and language codes" },
	{ HEAD LANGS "recording: { path: /tmp }\n",
	  "bad.yaml:4:14: unknown key 'path' in recording (expected one of: dir, formats, opus_bitrate, opus_complexity, "
	  "segment_minutes, buffer_seconds, autostart, channels, mics, loudness, signing_key)" },
	{ HEAD LANGS "control: { technicians: root }\n", "bad.yaml:4:25: technicians must be a list, not a scalar" },
	{ HEAD LANGS "control: { technicians: [\"a/b\"] }\n", "bad.yaml:4:26: 'a/b' is not a user name or @group" },
	{ HEAD LANGS "control: { admins: [root] }\n",
	  "bad.yaml:4:12: unknown key 'admins' in control (expected one of: technicians, observers)" },
	{ HEAD LANGS "alarms: { clip_dbfs: 3 }\n", "bad.yaml:4:22: clip_dbfs must be between -20 and 0, not 3" },
	{ HEAD LANGS "alarms: { loud: 1 }\n",
	  "bad.yaml:4:11: unknown key 'loud' in alarms (expected one of: live_silent_db, live_silent_seconds, "
	  "floor_silent_db, floor_silent_seconds, clip_dbfs, disk_low_minutes, clear_seconds, recording_behind_seconds)" },
	{ HEAD LANGS "osc: { listen: \"127.0.0.1:99999\" }\n",
	  "bad.yaml:4:16: listen '127.0.0.1:99999' must be host:port or a port (1-65535)" },
	{ HEAD LANGS "osc: { consoles: { it: [\"127.0.0.1\"] } }\n",
	  "bad.yaml:4:20: osc consoles names 'it', which is not a booth" },
	{ "meeting: ../etc\nfloor: { inputs: [main] }\n" LANGS,
	  "bad.yaml:1:10: meeting '../etc' may hold only letters, digits, '-', '_' and '.' (not first)" },
};

static void test_bad_configs(void **unused)
{
	size_t i, wrong = 0;
	(void)unused;

	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		struct config cfg;
		char err[TOLK_ERROR_MAX] = "";
		int ret = config_load_string(&cfg, bad_cases[i].yaml, strlen(bad_cases[i].yaml),
					     "bad.yaml", err, sizeof err);
		if (ret != -EINVAL || strcmp(err, bad_cases[i].error)) {
			print_error("case %zu: got %d '%s'\n  want '%s'\n", i, ret, err,
				    bad_cases[i].error);
			wrong++;
		}
		assert_int_equal(cfg.n_languages, 0); /* nothing half-loaded is left */
		assert_null(cfg.languages);
	}
	assert_int_equal(wrong, 0);
}

/* A hostile or careless file: nesting, size and counts beyond what a room
 * can be are refused quickly, at the place they go too far. */
static void test_limits(void **unused)
{
	const size_t deep = 100000, langs = TOLK_LANGUAGES_MAX + 1;
	size_t i, len = 0, cap = deep * 2 + langs * 32 + TOLK_CONFIG_BYTES_MAX + 256;
	char *text = malloc(cap), err[TOLK_ERROR_MAX];
	struct config cfg;
	clock_t t0 = clock();
	(void)unused;

	assert_non_null(text);
	len = (size_t)sprintf(text, "meeting: x\nfloor: ");
	for (i = 0; i < deep; i++)
		text[len++] = '[';
	for (i = 0; i < deep; i++)
		text[len++] = ']';
	assert_int_equal(config_load_string(&cfg, text, len, "deep.yaml", err, sizeof err), -EINVAL);
	assert_string_equal(err, "deep.yaml:2:39: nested deeper than 32 levels: no room file needs that");
	/* 100,000 levels took 20 s and 40 MB in libyaml's loader. */
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);

	len = (size_t)sprintf(text, "meeting: x\nfloor: { inputs: [main] }\nlanguages:\n");
	for (i = 0; i < langs; i++)
		len += (size_t)sprintf(text + len, "  - { code: l%zu }\n", i);
	assert_int_equal(config_load_string(&cfg, text, len, "many.yaml", err, sizeof err), -EINVAL);
	assert_string_equal(err, "many.yaml:260:5: one language too many: a room has at most 256");

	/* A flat list of 100,000 values within the size: the loader would
	 * build them all (half a second) before load_root saw them. */
	t0 = clock();
	len = (size_t)sprintf(text, "meeting: x\nfloor: { inputs: [");
	for (i = 0; i < 100000; i++)
		len += (size_t)sprintf(text + len, "%sa", i ? "," : "");
	len += (size_t)sprintf(text + len, "] }\n");
	assert_int_equal(config_load_string(&cfg, text, len, "flat.yaml", err, sizeof err), -EINVAL);
	assert_string_equal(err, "flat.yaml:2:100005: more than 50000 values: no room file needs that");
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);

	len = (size_t)sprintf(text, "meeting: x\n");
	while (len <= TOLK_CONFIG_BYTES_MAX)
		len += (size_t)sprintf(text + len, "# a comment that pads the file\n");
	assert_int_equal(config_load_string(&cfg, text, len, "big.yaml", err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, ": the file goes on past 1048576 bytes: a room file is at most that"));
	free(text);
}

static void test_missing_file(void **unused)
{
	struct config cfg;
	char err[TOLK_ERROR_MAX];
	(void)unused;

	assert_int_equal(config_load_file(&cfg, "/nonexistent/channels.yaml", err, sizeof err), -ENOENT);
	assert_string_equal(err, "/nonexistent/channels.yaml:1:1: cannot open: No such file or directory");
}

static void test_shipped_file(void **unused)
{
	struct config cfg;
	char err[TOLK_ERROR_MAX];
	(void)unused;

	if (config_load_file(&cfg, "channels.yaml", err, sizeof err))
		fail_msg("%s", err);
	assert_string_equal(cfg.meeting, "council-demo");
	assert_int_equal(config_find_language(&cfg, "en"), 0);
	assert_int_equal(config_find_language(&cfg, "fr"), 1);
	assert_true(config_find_language(&cfg, "de") >= 0);
	assert_true(config_find_booth(&cfg, "fr") >= 0);
	config_free(&cfg);
}

/* The benchmark rooms in test/rooms/ are real rooms: each loads, with the
 * size make bench says it has. */
static void test_bench_rooms(void **unused)
{
	static const struct {
		const char *file;
		int languages, booths, consoles, outputs;
	} rooms[] = {
		{ "test/rooms/room-2.yaml", 2, 2, 4, 7 },
		{ "test/rooms/room-2-lv2.yaml", 2, 2, 4, 7 },
		{ "test/rooms/room-un.yaml", 6, 6, 18, 25 },
		{ "test/rooms/room-ep.yaml", 24, 24, 72, 97 },
		{ "test/rooms/room-64.yaml", 64, 64, 192, 257 },
		{ "test/rooms/record-32.yaml", 31, 0, 0, 32 },
		{ "test/rooms/record-64.yaml", 63, 0, 0, 64 },
		{ "test/rooms/record-128.yaml", 127, 0, 0, 128 },
	};
	size_t i;
	(void)unused;

	for (i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
		struct config cfg;
		char err[TOLK_ERROR_MAX];
		if (config_load_file(&cfg, rooms[i].file, err, sizeof err))
			fail_msg("%s", err);
		assert_int_equal(cfg.n_languages, rooms[i].languages);
		assert_int_equal(cfg.n_booths, rooms[i].booths);
		assert_int_equal(cfg.n_mics, rooms[i].consoles);
		assert_int_equal(config_output_count(&cfg), rooms[i].outputs);
		config_free(&cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bench_rooms),
		cmocka_unit_test(test_room_loads),
		cmocka_unit_test(test_port_labels),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_console_rule_keys),
		cmocka_unit_test(test_recording_keys),
		cmocka_unit_test(test_control_keys),
		cmocka_unit_test(test_osc_keys),
		cmocka_unit_test(test_web_keys),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_inserts_and_hearing),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_shipped_file),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
