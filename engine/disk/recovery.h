/* After an unclean stop (kill -9, a crash, power): the files of the
 * segment that was open are on disk but in no manifest, and a FLAC file's
 * header still says 0 samples. At start-up, before any recorder runs,
 * recovery lists every audio file of every meeting folder under the
 * recordings folder that its manifest does not list; a helper thread then
 * mends each (the FLAC and WAV headers count every frame in the file, the
 * last whole Ogg page of an Opus file ends the stream and half a page
 * after it goes), adds it to the manifest ("recovered": true), rebuilds
 * manifest.json and puts a "recovered" line in the meeting's timeline.
 * The recording starts at once: the helper touches only the files it
 * listed, and the manifest under its lock. */
#ifndef TOLK_RECOVERY_H
#define TOLK_RECOVERY_H

struct recovery;

/* Thread: control, at start-up, before any recorder runs. Returns the
 * running helper, or NULL when there is nothing to mend. `say` gets a
 * line per meeting mended (from the helper thread: it must be
 * thread-safe). */
struct recovery *recovery_start(const char *root, void (*say)(const char *line));

/* Thread: control. Waits for the helper and frees it. */
void recovery_finish(struct recovery *rc);

#endif
