/* The archive over HTTP, for the page's Archive view (technician and
 * observer tokens; the web server checks them first):
 *   GET /api/archive                 the meetings, newest first (JSON)
 *   GET /archive/<meeting>/<file>    a file of a meeting folder: its
 *                                    manifest.json, timeline.jsonl, and the
 *                                    recordings, with byte ranges (206)
 * A path is resolved only inside the recordings folder: one plain name per
 * level (letters, digits, '.', '_', '-'; no leading dot), opened with
 * openat and O_NOFOLLOW, so that "..", absolute and encoded forms and
 * links leading out all fail. Anything refused is a 404, with the reason
 * for the audit.
 *
 * Thread: control (the web server's loop). Bounded: a listing reads at
 * most ARCHIVE_MEETINGS_MAX folders and the first line of each timeline;
 * file bodies go out by sendfile. */
#ifndef TOLK_ARCHIVE_HTTP_H
#define TOLK_ARCHIVE_HTTP_H

#include <microhttpd.h>
#include <stddef.h>

#define ARCHIVE_MEETINGS_MAX 1000

/* Clips on request: GET /api/clip?meeting=M&channel=C&from=F&to=T[&format=wav|flac|opus]
 * cuts a sample-exact clip (disk/clip.h) on a helper thread of its own
 * (tolk-clip) while the request waits, suspended; the answer is the clip
 * as a download, its provenance in the X-Tolk-Provenance header. At most
 * ARCHIVE_CLIPS_MAX at once. */
#define ARCHIVE_CLIPS_MAX 2
struct archive_clip_job;
struct archive_clips {
	struct archive_clip_job *jobs[ARCHIVE_CLIPS_MAX];
	int n;
};

/* For /api/clip: the first call (*job NULL) starts the cut and suspends
 * the connection; the call after the resume answers. Returns 1 when url
 * is /api/clip (*ret set), else 0. */
int archive_clip_serve(struct archive_clips *clips, struct MHD_Connection *c, const char *root, const char *url,
		       struct archive_clip_job **job, enum MHD_Result *ret, char *refused, size_t refused_len);
/* Resumes the requests whose clip is cut. Thread: control, each turn. */
void archive_clips_poll(struct archive_clips *clips);
/* The request is over: its hold on the job goes. */
void archive_clip_release(struct archive_clips *clips, struct archive_clip_job *job);
/* Stopping the server: every waiting request resumed (answered 503). */
void archive_clips_stop(struct archive_clips *clips);

/* 1 when url is the archive's (and a response has been queued in *ret),
 * 0 when it is not. *refused is set with the reason when the request was
 * turned away (404) for something other than a file that is not there. */
int archive_http_serve(struct MHD_Connection *c, const char *root, const char *url, const char *method,
		       enum MHD_Result *ret, char *refused, size_t refused_len);

#endif
