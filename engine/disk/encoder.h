/* One table per recording format: open, write, sync, close. The recorder
 * makes the file (O_EXCL, mode 0640: never overwriting) and hands the
 * descriptor over; the encoder owns it from then on. Sync refreshes what a
 * reader needs to decode the file so far (headers, pages) and fsyncs, so
 * that a crash loses at most what came after the last sync.
 *
 * Thread: one encoder is used by one thread at a time: the disk thread
 * opens and syncs; write runs on the disk thread or on an encode worker
 * the disk thread hands the block to (and joins before it goes on), and
 * so does close at a segment's end;
 * a listener stream's Opus encoder is opened on the control thread at
 * start, then used only by the disk thread. */
#ifndef TOLK_ENCODER_H
#define TOLK_ENCODER_H

#include <stddef.h>
#include <stdint.h>

struct encoder_info {
	int fd;                 /* taken over by open, even when it fails; -1 with sink */
	/* Opus only: pages go here instead of to fd (a listener stream).
	 * Returns 0, or nonzero to fail the encoder. */
	int (*sink)(void *user, const unsigned char *page, int len);
	void *sink_user;
	uint32_t rate;
	int opus_bitrate;
	int opus_complexity;
	int opus_page_ms;       /* Opus only: a page at least this often (0: every second) */
	const char *title;      /* "<meeting> <channel>" */
	const char *language;   /* a code, or "" for floor and mics */
	const char *date;       /* UTC start, ISO 8601 */
	const char *software;   /* "tolk 0.1.0" */
};

struct encoder_ops {
	const char *name; /* wav, flac, opus: as in the config */
	const char *ext;
	/* Returns the encoder, or NULL with a reason in err. */
	void *(*open)(const struct encoder_info *info, char *err, size_t errlen);
	/* 0, or a negative errno (-ENOSPC when the disk is full). */
	int (*write)(void *enc, const float *pcm, uint32_t frames);
	int (*sync)(void *enc);
	/* Finishes the file and closes it; frees enc whatever happens. */
	int (*close)(void *enc);
};

/* For the encoders that write their own bytes (the Ogg Opus ones): all of
 * p, or the errno that stopped it. */
int encoder_write_all(int fd, const unsigned char *p, size_t len);
/* The end of such a file: fsync and close fd (when >= 0), keeping the
 * first error: ret if it is one already, else theirs. */
int encoder_finish_fd(int fd, int ret);

extern const struct encoder_ops encoder_wav;
extern const struct encoder_ops encoder_flac;
extern const struct encoder_ops encoder_opus;            /* libopus and libogg */
extern const struct encoder_ops encoder_opus_libopusenc; /* resampling rates; make bench */

#endif
