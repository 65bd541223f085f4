/* Ogg Opus through libopusenc, written straight to the descriptor (no
 * stdio buffer to lose in a crash), pages flushed at least every second,
 * or every stream.page_ms to a listener stream's sink.
 *
 * Used only at rates Opus does not take as they are (44.1, 88.2, 96 kHz):
 * libopusenc resamples. Everywhere else ogg_opus_encoder.c encodes without
 * libopusenc's multistream calls (see there why), and make bench compares
 * the two. */
#include <errno.h>
#include <opus/opusenc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encoder.h"

#define OPUS_MUX_DELAY 48000     /* samples at 48 kHz: a page at least every second */
#define OPUS_DECISION_DELAY 4800 /* 100 ms of look-ahead, not libopusenc's two seconds */

struct opus_encoder_file {
	OggOpusEnc *enc;
	int fd;
	int (*sink)(void *user, const unsigned char *page, int len);
	void *sink_user;
	int failed_errno;
};

static int write_page(void *user, const unsigned char *ptr, opus_int32 len)
{
	struct opus_encoder_file *e = user;

	if (e->sink) {
		if (e->sink(e->sink_user, ptr, (int)len)) {
			e->failed_errno = EIO;
			return 1;
		}
		return 0;
	}
	if ((e->failed_errno = encoder_write_all(e->fd, ptr, (size_t)len)))
		return 1;
	return 0;
}

static int close_stream(void *user)
{
	(void)user; /* the descriptor is closed in opus_close, after the last page */
	return 0;
}

static void *opus_open(const struct encoder_info *info, char *err, size_t errlen)
{
	static const OpusEncCallbacks callbacks = { write_page, close_stream };
	struct opus_encoder_file *e = calloc(1, sizeof *e);
	OggOpusComments *comments = ope_comments_create();
	struct encoder_tag tags[ENCODER_TAGS_MAX];
	char encoder_tag[96], ref[24];
	int error = 0, n, i;

	if (!e || !comments) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	e->fd = info->fd;
	e->sink = info->sink;
	e->sink_user = info->sink_user;
	snprintf(encoder_tag, sizeof encoder_tag, "%s (libopusenc)", info->software);
	n = encoder_tags(info, tags, ref, sizeof ref);
	for (i = 0; i < n; i++)
		ope_comments_add(comments, tags[i].key, tags[i].value);
	ope_comments_add(comments, "ENCODER", encoder_tag);
	e->enc = ope_encoder_create_callbacks(&callbacks, e, comments, (opus_int32)info->rate, 1, 0, &error);
	ope_comments_destroy(comments);
	comments = NULL;
	if (!e->enc) {
		snprintf(err, errlen, "libopusenc: %s", ope_strerror(error));
		goto fail;
	}
	/* Speech, at the configured rate, flushed often: a file with other
	 * settings is not the archive that was asked for. */
	if ((error = ope_encoder_ctl(e->enc, OPUS_SET_APPLICATION(OPUS_APPLICATION_VOIP))) != OPE_OK ||
	    (error = ope_encoder_ctl(e->enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE))) != OPE_OK ||
	    (error = ope_encoder_ctl(e->enc, OPUS_SET_BITRATE(info->opus_bitrate))) != OPE_OK ||
	    (error = ope_encoder_ctl(e->enc, OPUS_SET_COMPLEXITY(info->opus_complexity))) != OPE_OK ||
	    (error = ope_encoder_ctl(e->enc, OPE_SET_MUXING_DELAY(info->opus_page_ms > 0 ?
								  info->opus_page_ms * 48 : OPUS_MUX_DELAY))) != OPE_OK ||
	    (error = ope_encoder_ctl(e->enc, OPE_SET_DECISION_DELAY(OPUS_DECISION_DELAY))) != OPE_OK) {
		snprintf(err, errlen, "libopusenc refused a setting: %s", ope_strerror(error));
		ope_encoder_destroy(e->enc);
		goto fail;
	}
	if (ope_encoder_flush_header(e->enc) != OPE_OK || e->failed_errno) {
		snprintf(err, errlen, "cannot write the Opus header: %s",
			 strerror(e->failed_errno ? e->failed_errno : EIO));
		ope_encoder_destroy(e->enc);
		goto fail;
	}
	return e;
fail:
	if (comments)
		ope_comments_destroy(comments);
	if (info->fd >= 0)
		close(info->fd);
	free(e);
	return NULL;
}

static int opus_write(void *enc, const float *pcm, uint32_t frames)
{
	struct opus_encoder_file *e = enc;

	if (ope_encoder_write_float(e->enc, pcm, (int)frames) != OPE_OK || e->failed_errno)
		return -(e->failed_errno ? e->failed_errno : EIO);
	return 0;
}

static int opus_sync(void *enc)
{
	struct opus_encoder_file *e = enc;

	if (e->fd >= 0 && fsync(e->fd) < 0 && errno != EINVAL)
		return -errno;
	return e->failed_errno ? -e->failed_errno : 0;
}

static int opus_close(void *enc)
{
	struct opus_encoder_file *e = enc;
	int ret = ope_encoder_drain(e->enc) == OPE_OK && !e->failed_errno ? 0 : -EIO;

	ope_encoder_destroy(e->enc);
	ret = encoder_finish_fd(e->fd, ret);
	free(e);
	return ret;
}

const struct encoder_ops encoder_opus_libopusenc = {
	.name = "opus", .ext = "opus",
	.open = opus_open, .write = opus_write, .sync = opus_sync, .close = opus_close,
};
