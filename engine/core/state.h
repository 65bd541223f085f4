/* The conference state the control thread owns: who is live in each booth,
 * which output each booth speaks into, the floor language. Mutated only by
 * validated commands; each mutation bumps the generation so that a new
 * routing snapshot is built from it. */
#ifndef TOLK_STATE_H
#define TOLK_STATE_H

#include <stdint.h>

#include "config.h"

struct booth_state {
	int live;   /* live console, 1-based; 0 when no mic is on */
	int output; /* selected output: 0 = A, 1 = B, 2 = C */
};

struct state {
	const struct config *cfg;
	struct booth_state *booths;
	char floor_language[TOLK_ID_MAX];
	uint64_t generation;
};

/* What feeds a language channel right now. */
struct channel_feed {
	int booth;   /* booth index, or -1 when the channel is idle */
	int console; /* 1-based, valid when booth >= 0 */
	enum idle_policy idle;
};

int state_init(struct state *st, const struct config *cfg);
void state_free(struct state *st);

/* Turn console n (1-based) of booth b on or off. One mic is live per booth,
 * so turning one on turns the booth's other console off; *previous gets the
 * console that lost the mic (0 when none). Returns 0 when the state changed,
 * 1 when it already was so, or -EINVAL. */
int state_set_mic(struct state *st, int b, int n, int on, int *previous);

int state_mic_on(const struct state *st, int b, int n);
void state_channel_feed(const struct state *st, int lang, struct channel_feed *feed);

#endif
