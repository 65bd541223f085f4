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
/* Same recording (dir, formats, bit rate, complexity, segments, ring,
 * channels); autostart does not count. */
int config_recording_equal(const struct cfg_recording *a, const struct cfg_recording *b);
/* Same Icecast server, mounts, channels and bit rate. */
int config_stream_equal(const struct cfg_stream *a, const struct cfg_stream *b);
/* Same OSC listening address and peers (peers by booth id). */
int config_osc_equal(const struct config *a, const struct config *b);

#endif
