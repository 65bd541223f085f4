#include "midi_map.h"

#include <stdio.h>

#include "thread_role.h"

int midi_command(const struct cfg_midi_map *map, const struct state *st, int b, int n, const struct midi_msg *m,
		 char *line, size_t len)
{
	const char *booth = st->cfg->booths[b].id;
	const int kind = m->status & 0xF0, note = m->data1;
	const int on = kind == 0x90 && m->data2 > 0, off = kind == 0x80 || (kind == 0x90 && m->data2 == 0);

	ASSERT_THREAD(THREAD_CONTROL);
	if (kind == 0xB0 && m->data1 == map->volume_cc) {
		/* 0..127 across the volume range, -60 to 0 dB. */
		snprintf(line, len, "volume %s %d %.1f", booth, n, TOLK_GAIN_DB_MIN - TOLK_GAIN_DB_MIN * m->data2 / 127.0);
		return 1;
	}
	if (note == map->cough && (on || off)) {
		snprintf(line, len, "mute %s %d %s", booth, n, on ? "on" : "off");
		return 1;
	}
	if (!on)
		return 0;
	if (note == map->mic)
		snprintf(line, len, "mic %s %d %s", booth, n, state_mic_on(st, b, n) ? "off" : "on");
	else if (note == map->output_a || note == map->output_b || note == map->output_c)
		snprintf(line, len, "output %s %d %c", booth, n,
			 note == map->output_a ? 'A' : note == map->output_b ? 'B' : 'C');
	else if (note == map->handover)
		snprintf(line, len, "handover-request %s %d", booth, n);
	else if (note == map->slower)
		snprintf(line, len, "slower %s %d", booth, n);
	else if (note == map->help)
		snprintf(line, len, "help %s %d", booth, n);
	else if (note == map->problem)
		snprintf(line, len, "problem %s %d", booth, n);
	else
		return 0;
	return 1;
}

int midi_leds(const struct cfg_midi_map *map, const struct state *st, int b, int n,
	      uint8_t leds[MIDI_LEDS_MAX][2])
{
	const struct console_state *c = state_console(st, b, n);
	const int outputs[3] = { map->output_a, map->output_b, map->output_c };
	int k = 0, o;

	leds[k][0] = (uint8_t)map->mic;
	leds[k++][1] = state_mic_on(st, b, n) ? 127 : 0;
	leds[k][0] = (uint8_t)map->cough;
	leds[k++][1] = c->mute ? 127 : 0;
	for (o = 0; o < st->cfg->booths[b].n_outputs && o < 3; o++) {
		leds[k][0] = (uint8_t)outputs[o];
		leds[k++][1] = c->output == o ? 127 : 0;
	}
	return k;
}
