/* What a reload changes: two configs compared part by part, in words for
 * the reply, the log and the audit ("language it added", "booth fr:
 * consoles 2 -> 3", "inserts of out_en changed"), and the comparisons the
 * engine uses to decide what it may carry over untouched. */
#ifndef TOLK_CONFIG_DIFF_H
#define TOLK_CONFIG_DIFF_H

#include "config.h"

/* Calls say() once per difference, in a stable order. Returns how many. */
int config_diff(const struct config *was, const struct config *now, void (*say)(void *user, const char *line),
		void *user);

/* Same plugins, in the same order, with the same parameters. */
int config_chain_equal(const struct cfg_chain *a, const struct cfg_chain *b);
/* Same OSC listening address and peers (peers by booth id, so not by
 * config_section_equal, which compares within one section). */
int config_osc_equal(const struct config *a, const struct config *b);

#endif
