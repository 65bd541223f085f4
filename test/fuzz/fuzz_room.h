/* The room the command and OSC fuzz targets run against: every booth
 * rule in play (relay, B outputs, interlock, override), and OSC peers. */
#ifndef TOLK_FUZZ_ROOM_H
#define TOLK_FUZZ_ROOM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/core/config.h"
#include "../../engine/core/state.h"

static const char fuzz_room_yaml[] =
	"meeting: fuzz\n"
	"floor: { inputs: [main, aux], language: en }\n"
	"languages:\n"
	"  - { code: en, name: English }\n"
	"  - { code: fr, name: French, idle: silence }\n"
	"  - { code: de, name: German, idle: duck, channel_mode: override }\n"
	"booths:\n"
	"  - { id: en, outputs: [en, fr], understands: [fr, de], consoles: 2 }\n"
	"  - { id: fr, outputs: [fr, en], understands: [en], consoles: 3, booth_mode: interlock }\n"
	"  - { id: de, outputs: [de], understands: [en, fr], consoles: 2 }\n"
	"osc: { listen: \"127.0.0.1:19999\", consoles: { en: [127.0.0.1], fr: [127.0.0.1] } }\n";

static struct config fuzz_cfg;

static void fuzz_room_load(void)
{
	char err[TOLK_ERROR_MAX];

	if (fuzz_cfg.n_languages)
		return;
	if (config_load_string(&fuzz_cfg, fuzz_room_yaml, strlen(fuzz_room_yaml), "fuzz-room.yaml", err,
			       sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
}

#endif
