/* A sample-exact clip of one channel of a recorded meeting, across segment
 * boundaries: its first sample is the one recorded at the time asked for.
 * Cut from the lossless files (FLAC, else WAV) after their SHA-256 is
 * checked against the manifest, written in any archive format with its
 * own bext/tags (time reference of its first sample, loudness), and
 * described beside it in <clip>.provenance.json: the source files, their
 * hashes, the range in each, and the clip's own hash.
 *
 * Times: UTC as "2026-12-02T11:42:00.250Z" or "11:42:00.25" (that time of
 * day on the meeting's day, or the next one after it started), or an
 * offset from the meeting's first sample as "+90", "+1:30" or
 * "+1:02:03.5".
 *
 * Thread: any but the realtime one; nothing shared (tolkctl, or a web
 * request's helper). */
#ifndef TOLK_CLIP_H
#define TOLK_CLIP_H

#include <stddef.h>

#define CLIP_MAX_SECONDS (6 * 3600)

struct clip_request {
	const char *meeting_dir; /* the meeting folder (holding manifest.json) */
	const char *channel;     /* floor, fr, mic_fr_1 */
	const char *from, *to;   /* as above */
	const char *format;      /* wav, flac, opus; NULL: wav */
	const char *software;    /* "tolkctl 0.1.0": in the tags and provenance */
};

/* Cuts the clip into out_path (made anew, never overwriting) and writes
 * out_path.provenance.json. Returns 0, or a negative errno with the
 * reason in why (nothing left behind). */
int clip_cut(const struct clip_request *rq, const char *out_path, char *why, size_t len);

#endif
