/* JACK MIDI control surfaces for consoles: what a note or a controller
 * asks for (a command line for the one command path), and what the LEDs
 * should show. Pure: the JACK shell moves the bytes, the engine runs the
 * lines. Any MIDI channel; a note-on with velocity 0 is a note-off.
 * Thread: control. */
#ifndef TOLK_MIDI_MAP_H
#define TOLK_MIDI_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "state.h"

/* One MIDI event between the realtime thread and the control thread, in
 * the rings: the console (mic index) and up to three bytes. */
struct midi_msg {
	int16_t mic;
	uint8_t status, data1, data2;
	uint8_t pad[3];
};

#define MIDI_LEDS_MAX 5 /* mic, cough, outputs A to C */

/* The command line an event on console n of booth b asks for: 1 with the
 * line, or 0 when the event means nothing here. */
int midi_command(const struct cfg_midi_map *map, const struct state *st, int b, int n, const struct midi_msg *m,
		 char *line, size_t len);

/* What the console's LEDs should show now: (note, velocity) pairs. Returns
 * how many. */
int midi_leds(const struct cfg_midi_map *map, const struct state *st, int b, int n,
	      uint8_t leds[MIDI_LEDS_MAX][2]);

#endif
