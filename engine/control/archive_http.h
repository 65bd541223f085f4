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

/* 1 when url is the archive's (and a response has been queued in *ret),
 * 0 when it is not. *refused is set with the reason when the request was
 * turned away (404) for something other than a file that is not there. */
int archive_http_serve(struct MHD_Connection *c, const char *root, const char *url, const char *method,
		       enum MHD_Result *ret, char *refused, size_t refused_len);

#endif
