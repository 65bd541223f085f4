/* MIDI control surfaces: each note and the volume controller becomes the
 * console's command, note-on with velocity 0 is a note-off, and the LEDs
 * follow the state. */
#include "helpers.h"

#include "../../engine/core/midi_map.h"

static const struct cfg_midi_map MAP = { 60, 61, 62, 63, 64, 65, 66, 67, 68, 7 };

static int line_of(const struct state *st, uint8_t status, uint8_t d1, uint8_t d2, char *line)
{
	struct midi_msg m = { .mic = 0, .status = status, .data1 = d1, .data2 = d2 };
	return midi_command(&MAP, st, 0, 1, &m, line, 128);
}

static void test_notes_and_controller(void **unused)
{
	struct config cfg;
	struct state st;
	struct state_report rep;
	char line[128];
	(void)unused;

	load_room(&cfg);
	assert_int_equal(state_init(&st, &cfg), 0);
	assert_true(line_of(&st, 0x90, 60, 100, line));
	assert_string_equal(line, "mic fr 1 on");
	assert_int_equal(state_set_mic(&st, 0, 1, 1, &rep), 0);
	assert_true(line_of(&st, 0x91, 60, 1, line)); /* any channel */
	assert_string_equal(line, "mic fr 1 off");
	assert_false(line_of(&st, 0x80, 60, 0, line)); /* releasing MIC does nothing */
	assert_true(line_of(&st, 0x90, 61, 127, line));
	assert_string_equal(line, "mute fr 1 on");
	assert_true(line_of(&st, 0x90, 61, 0, line)); /* note-on, velocity 0: a note-off */
	assert_string_equal(line, "mute fr 1 off");
	assert_true(line_of(&st, 0x90, 63, 127, line));
	assert_string_equal(line, "output fr 1 B");
	assert_true(line_of(&st, 0x90, 65, 127, line));
	assert_string_equal(line, "handover-request fr 1");
	assert_true(line_of(&st, 0x90, 68, 127, line));
	assert_string_equal(line, "problem fr 1");
	assert_true(line_of(&st, 0x90, 67, 127, line));
	assert_string_equal(line, "help fr 1");
	assert_true(line_of(&st, 0xB0, 7, 127, line));
	assert_string_equal(line, "volume fr 1 0.0");
	assert_true(line_of(&st, 0xB0, 7, 0, line));
	assert_string_equal(line, "volume fr 1 -60.0");
	assert_false(line_of(&st, 0xB0, 8, 64, line)); /* another controller */
	assert_false(line_of(&st, 0x90, 70, 127, line)); /* an unmapped note */
	state_free(&st);
	config_free(&cfg);
}

static void test_leds_follow_the_state(void **unused)
{
	struct config cfg;
	struct state st;
	struct state_report rep;
	uint8_t leds[MIDI_LEDS_MAX][2];
	(void)unused;

	load_room(&cfg);
	assert_int_equal(state_init(&st, &cfg), 0);
	/* fr has outputs A and B: mic, cough, A, B. */
	assert_int_equal(midi_leds(&MAP, &st, 0, 1, leds), 4);
	assert_int_equal(leds[0][0], 60);
	assert_int_equal(leds[0][1], 0);
	assert_int_equal(leds[2][1], 127); /* A selected */
	assert_int_equal(state_set_mic(&st, 0, 1, 1, &rep), 0);
	assert_int_equal(state_set_mute(&st, 0, 1, 1, &rep), 0);
	midi_leds(&MAP, &st, 0, 1, leds);
	assert_int_equal(leds[0][1], 127);
	assert_int_equal(leds[1][1], 127);
	state_free(&st);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notes_and_controller),
		cmocka_unit_test(test_leds_follow_the_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
