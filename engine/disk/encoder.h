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
	const char *title;      /* "<meeting>: <channel's name>", as the streams say */
	const char *language;   /* a code; the floor's language at the segment's start */
	const char *date;       /* UTC of the first sample, ISO 8601 with ms */
	const char *software;   /* "tolk 0.1.0" */
	/* What the archive files say of themselves (bext, iXML, tags); a
	 * listener stream leaves them empty. */
	const char *meeting;
	const char *channel;        /* floor, fr, mic_fr_1 */
	const char *channel_name;   /* Français, floor, fr booth 1 mic */
	const char *reference;      /* unique per file: bext OriginatorReference */
	int has_time_reference;
	uint64_t time_reference;    /* samples since 00:00 UTC of the first sample's day */
	int64_t first_sample_us;    /* UTC of the first sample, microseconds */
};

/* A segment's loudness (EBU R128, libebur128), in LUFS / LU / dBTP. A
 * value not measured (silence has no integrated loudness) is NAN. */
struct segment_loudness {
	double integrated, range, true_peak, max_momentary, max_short_term;
};

/* The tags a file of the archive carries (Vorbis comments in FLAC and
 * Opus): TITLE, DATE, LANGUAGE, ... Fills up to max and returns how many;
 * the values live in buf. */
#define ENCODER_TAGS_MAX 12
struct encoder_tag {
	const char *key, *value;
};
int encoder_tags(const struct encoder_info *info, struct encoder_tag *tags, char *buf, size_t buflen);
/* RFC 7845's R128_TRACK_GAIN: Q7.8 dB to bring the track to -23 LUFS;
 * 0 when the loudness is not known (and *gain untouched). */
int encoder_r128_gain(const struct segment_loudness *l, int *gain);

struct encoder_ops {
	const char *name; /* wav, flac, opus: as in the config */
	const char *ext;
	/* Returns the encoder, or NULL with a reason in err. */
	void *(*open)(const struct encoder_info *info, char *err, size_t errlen);
	/* 0, or a negative errno (-ENOSPC when the disk is full). */
	int (*write)(void *enc, const float *pcm, uint32_t frames);
	int (*sync)(void *enc);
	/* Optional: the segment's loudness, told just before close; written
	 * into the file where its format has room at close (WAV's bext,
	 * Opus's R128_TRACK_GAIN). */
	void (*set_loudness)(void *enc, const struct segment_loudness *l);
	/* Finishes the file and closes it; frees enc whatever happens. */
	int (*close)(void *enc);
};

/* The 24-bit samples of every lossless archive file (FLAC and WAV hold the
 * same ones): each float scaled by 2^23, rounded, held inside 24 bits (a
 * sample past full scale is the loudest there is; one that is not a number
 * is silence), then shifted left by `shift` (WAV through libsndfile wants
 * them left-justified in 32 bits). *buf grows to n as needed (it and *cap
 * are the caller's, freed by it). 0 or -ENOMEM. */
int encoder_s24(const float *pcm, uint32_t n, unsigned shift, int32_t **buf, uint32_t *cap);

/* For the encoders that write their own bytes (the Ogg Opus ones): all of
 * p, or the errno that stopped it. */
int encoder_write_all(int fd, const unsigned char *p, size_t len);
/* The end of such a file: fsync and close fd (when >= 0), keeping the
 * first error: ret if it is one already, else theirs. */
int encoder_finish_fd(int fd, int ret);

extern const struct encoder_ops encoder_wav;
extern const struct encoder_ops encoder_flac;            /* libFLAC, with our own tags */
extern const struct encoder_ops encoder_opus;            /* libopus and libogg */
extern const struct encoder_ops encoder_opus_libopusenc; /* resampling rates; make bench */

#endif
