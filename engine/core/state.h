/* The conference state the control thread owns, and the booth rules that
 * change it: who is live, which output each console speaks into, what each
 * console listens to, cough, volume and tone, the floor language.
 *
 * Every mutation either applies completely or is refused with a reason and
 * changes nothing. After each change the derived views are recomputed:
 * what every console actually hears (auto-relay resolved), what feeds
 * every channel, and the channel's relay quality. Snapshots and status are
 * built from those views, so the rules live in one place. */
#ifndef TOLK_STATE_H
#define TOLK_STATE_H

#include <stdint.h>

#include "config.h"

#define STATE_HEARS_FLOOR (-1)
#define STATE_REASON_MAX 192
#define STATE_NOTES_MAX 4
#define STATE_RAMP_MS 5.0
#define STATE_HANDOVER_RAMP_MS 20.0
#define STATE_TONE_DB_MAX 12.0

enum listen_kind { LISTEN_FLOOR = 0, LISTEN_AUTO, LISTEN_RELAY };

enum relay_quality {
	QUALITY_NONE = 0, /* idle channel */
	QUALITY_FLOOR,    /* its interpreter listens to the floor */
	QUALITY_PLUS,     /* relayed from a channel fed from the floor */
	QUALITY_MINUS,    /* relayed from a relay */
};

struct console_state {
	int output;              /* 0 = A, 1 = B, 2 = C */
	int mute;                /* cough */
	enum listen_kind listen;
	int listen_lang;         /* with LISTEN_RELAY */
	double volume_db;        /* TOLK_GAIN_DB_MIN..0 */
	double bass_db, treble_db;
};

struct booth_state {
	int live; /* live console, 1-based; 0 when no mic is on */
	struct console_state consoles[TOLK_MAX_CONSOLES];
};

/* Derived, per console (indexed by mic). */
struct console_view {
	int hears;    /* STATE_HEARS_FLOOR or a language index */
	int no_pivot; /* auto-relay found no pivot and fell back to the floor */
};

/* Derived, per language channel. */
struct channel_view {
	int booth;   /* feeding booth, or -1 when idle */
	int console; /* 1-based, when booth >= 0 */
	int muted;   /* the feeding console coughs: the channel is silent */
	int source;  /* what the interpreter hears: STATE_HEARS_FLOOR or a language */
	enum relay_quality quality;
};

struct state {
	const struct config *cfg;
	struct booth_state *booths;
	char floor_language[TOLK_ID_MAX];
	int floor_language_pinned;
	uint64_t generation;
	double ramp_ms;  /* ramp time of the routing change just made */
	struct console_view *consoles; /* [n_mics] */
	struct channel_view *channels; /* [n_languages] */
	struct booth_state *undo;      /* [n_booths], for refusing atomically */
	/* [n_mics]: when each mic went live (UTC ms), 0 while off: the
	 * console's shift timer. Kept by the command path, which knows the
	 * time (state_track_shifts); the rules here do not need it. */
	int64_t *live_since_ms;
	/* [n_mics]: a cough held from a page lasts until then (UTC ms), 0
	 * none: the page renews it while the button is held, so that a page
	 * that goes away cannot leave the mic muted. */
	int64_t *cough_until_ms;
};

/* What a mutation did, or why it was refused. */
struct state_report {
	char reason[STATE_REASON_MAX];                /* set when refused */
	char notes[STATE_NOTES_MAX][STATE_REASON_MAX]; /* changes, for log and events */
	int n_notes;
	int taken_over;        /* console that lost the mic in the same booth */
	int bumped_booth;      /* booth whose mic a channel override turned off, or -1 */
	int bumped_console;
};

int state_init(struct state *st, const struct config *cfg);
/* After a reload: st is fresh from the new config; take over from old
 * (on the old config) every booth's consoles by booth id, outputs and
 * relay by language code, the live mics, and the floor language. What
 * cannot carry over (a live console whose channel is gone, relay from a
 * channel that is gone or would close a loop) is turned off and told in
 * rep's notes. Returns 0 or -EINVAL. */
int state_adopt(struct state *st, const struct state *old, struct state_report *rep);
void state_free(struct state *st);
/* After a change at now_ms: a mic that went live starts its shift, one
 * that went off ends it. */
void state_track_shifts(struct state *st, int64_t now_ms);
/* The first console whose held cough has lapsed by now_ms: 1 with b and n
 * (1-based), or 0. */
int state_cough_lapsed(const struct state *st, int64_t now_ms, int *b, int *n);

/* Each returns 0 when the state changed, 1 when it already was so (no
 * change, not an error), or -EINVAL / -EBUSY with rep->reason set. Booth b
 * is an index, console n is 1-based. */
int state_set_mic(struct state *st, int b, int n, int on, struct state_report *rep);
int state_set_output(struct state *st, int b, int n, int output, struct state_report *rep);
int state_set_mute(struct state *st, int b, int n, int on, struct state_report *rep);
int state_handover(struct state *st, int b, int from, int to, struct state_report *rep);
int state_set_listen(struct state *st, int b, int n, enum listen_kind kind, int lang,
		     struct state_report *rep);
int state_set_volume(struct state *st, int b, int n, double db, struct state_report *rep);
int state_set_tone(struct state *st, int b, int n, double bass_db, double treble_db,
		   struct state_report *rep);
int state_set_floor_language(struct state *st, const char *code, int pin, struct state_report *rep);

int state_mic_on(const struct state *st, int b, int n);
const struct console_state *state_console(const struct state *st, int b, int n);
int state_mic_index(const struct state *st, int b, int n);

/* Is `code` a language this room knows (a channel, or one a booth
 * understands)? */
int state_knows_language(const struct state *st, const char *code);

const char *relay_quality_name(enum relay_quality q); /* NULL for none */

#endif
