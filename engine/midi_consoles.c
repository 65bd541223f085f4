/* JACK MIDI control surfaces for consoles, the control thread's half: the
 * events the process callback queued become command lines on the one
 * command path (audited "via":"midi", bound to their console's booth like
 * an interpreter's token), and the LEDs follow the state.
 * Thread: control. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/midi_map.h"
#include "engine.h"

void midi_service(struct engine *e)
{
	struct midi_msg m;
	char line[TOLK_ID_MAX + 48], name[TOLK_ID_MAX + 16], actor[TOLK_ID_MAX + 32], who[TOLK_ID_MAX + 32];
	int b, n, k;

	if (!e->audio_up || !e->cfg->midi.enabled)
		return;
	for (k = 0; k < 256 && ring_read(&e->jack.midi_in, &m, sizeof m) == sizeof m; k++) {
		b = config_booth_of_mic(e->cfg, m.mic, &n);
		if (b < 0 || !config_midi_console(e->cfg, m.mic) ||
		    !midi_command(&e->cfg->midi.map, &e->state, b, n, &m, line, sizeof line))
			continue;
		config_console_name(e->cfg, m.mic, name, sizeof name);
		snprintf(actor, sizeof actor, "\"midi\":\"%s\"", name);
		snprintf(who, sizeof who, "midi %s", name);
		run_command(e, &(struct origin){ "midi", actor, who, ROLE_INTERPRETER, e->cfg->booths[b].id,
						 "a MIDI port drives its own console only" },
			    line, NULL, NULL);
	}
}

void midi_feedback(struct engine *e)
{
	uint8_t leds[MIDI_LEDS_MAX][2];
	struct midi_msg m;
	int mic, b, n, k, count;

	if (!e->audio_up || !e->cfg->midi.enabled || !e->midi_leds)
		return;
	for (mic = 0; mic < e->cfg->n_mics; mic++) {
		if (!config_midi_console(e->cfg, mic) || (b = config_booth_of_mic(e->cfg, mic, &n)) < 0)
			continue;
		count = midi_leds(&e->cfg->midi.map, &e->state, b, n, leds);
		for (k = 0; k < count; k++) {
			uint8_t *shown = &e->midi_leds[mic][leds[k][0]];
			if (*shown == leds[k][1])
				continue;
			m = (struct midi_msg){ .mic = (int16_t)mic, .status = 0x90, .data1 = leds[k][0], .data2 = leds[k][1] };
			if (ring_write(&e->jack.midi_out, &m, sizeof m))
				*shown = leds[k][1]; /* else tried again next turn */
		}
	}
}

int midi_leds_reset(struct engine *e)
{
	free(e->midi_leds);
	e->midi_leds = calloc((size_t)e->cfg->n_mics + 1, sizeof *e->midi_leds);
	if (!e->midi_leds)
		return -1;
	memset(e->midi_leds, 0xFF, ((size_t)e->cfg->n_mics + 1) * sizeof *e->midi_leds); /* unknown: all sent */
	return 0;
}
