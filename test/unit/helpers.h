/* Shared by the unit tests: cmocka, and a room loaded from a string. */
#ifndef TOLK_TEST_HELPERS_H
#define TOLK_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../engine/core/config.h"

/* en, fr, de (silence) and es (duck); booths fr (2 consoles, outputs fr,en)
 * and en (3 consoles); two floor inputs. */
static const char ROOM_YAML[] =
	"meeting: unit-room\n"
	"floor:\n"
	"  inputs: [main, aux]\n"
	"  language: en\n"
	"languages:\n"
	"  - { code: en, name: English }\n"
	"  - { code: fr, name: Français, idle: floor }\n"
	"  - { code: de, name: Deutsch, idle: silence }\n"
	"  - { code: es, name: Español, idle: duck }\n"
	"booths:\n"
	"  - id: fr\n"
	"    outputs: [fr, en]\n"
	"    understands: [en, de]\n"
	"    consoles: 2\n"
	"  - id: en\n"
	"    outputs: [en]\n"
	"    consoles: 3\n";

static inline void load_room(struct config *cfg)
{
	char err[TOLK_ERROR_MAX];
	int ret = config_load_string(cfg, ROOM_YAML, strlen(ROOM_YAML), "room.yaml", err, sizeof err);
	if (ret)
		fail_msg("room did not load: %s", err);
}

#endif
