/* FLAC through libFLAC, written straight to the descriptor (no stdio
 * buffer to lose in a crash), 24-bit, compression level 5.
 *
 * Why not libsndfile, which did this before: its FLAC writer knows a fixed
 * set of Vorbis comments, and an archive file has to carry LANGUAGE,
 * TIME_REFERENCE, MEETING and CHANNEL (encoder_tags). STREAMINFO is
 * written again at close with the length and MD5 (libFLAC seeks back);
 * after a crash it says 0 frames, which decoders read as "unknown", and
 * recovery sets the count it decodes. */
#include <FLAC/metadata.h>
#include <FLAC/stream_encoder.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encoder.h"

#define FLAC_BITS 24 /* encoder_s24's */
#define FLAC_LEVEL 5

struct flac_file {
	FLAC__StreamEncoder *fse;
	FLAC__StreamMetadata *tags;
	int fd;
	int failed_errno;
	int32_t *ints;     /* the block as 24-bit samples (FLAC__int32 is int32_t) */
	uint32_t n_ints;
};

static FLAC__StreamEncoderWriteStatus write_bytes(const FLAC__StreamEncoder *fse, const FLAC__byte buffer[],
						  size_t bytes, uint32_t samples, uint32_t frame, void *user)
{
	struct flac_file *e = user;

	(void)fse;
	(void)samples;
	(void)frame;
	if ((e->failed_errno = encoder_write_all(e->fd, buffer, bytes)))
		return FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR;
	return FLAC__STREAM_ENCODER_WRITE_STATUS_OK;
}

static FLAC__StreamEncoderSeekStatus seek_to(const FLAC__StreamEncoder *fse, FLAC__uint64 at, void *user)
{
	struct flac_file *e = user;

	(void)fse;
	return lseek(e->fd, (off_t)at, SEEK_SET) < 0 ? FLAC__STREAM_ENCODER_SEEK_STATUS_ERROR
						     : FLAC__STREAM_ENCODER_SEEK_STATUS_OK;
}

static FLAC__StreamEncoderTellStatus tell_at(const FLAC__StreamEncoder *fse, FLAC__uint64 *at, void *user)
{
	struct flac_file *e = user;
	off_t pos = lseek(e->fd, 0, SEEK_CUR);

	(void)fse;
	if (pos < 0)
		return FLAC__STREAM_ENCODER_TELL_STATUS_ERROR;
	*at = (FLAC__uint64)pos;
	return FLAC__STREAM_ENCODER_TELL_STATUS_OK;
}

static int add_tag(FLAC__StreamMetadata *tags, const char *key, const char *value)
{
	FLAC__StreamMetadata_VorbisComment_Entry entry;

	if (!FLAC__metadata_object_vorbiscomment_entry_from_name_value_pair(&entry, key, value))
		return -1;
	/* copy = false: the block takes the entry's memory. */
	return FLAC__metadata_object_vorbiscomment_append_comment(tags, entry, false) ? 0 : -1;
}

static void free_file(struct flac_file *e)
{
	if (e->fse)
		FLAC__stream_encoder_delete(e->fse);
	if (e->tags)
		FLAC__metadata_object_delete(e->tags);
	free(e->ints);
	free(e);
}

static void *flac_open(const struct encoder_info *info, char *err, size_t errlen)
{
	struct flac_file *e = calloc(1, sizeof *e);
	struct encoder_tag tags[ENCODER_TAGS_MAX];
	char ref[24], encoder_tag[128];
	FLAC__StreamEncoderInitStatus st;
	int n, i;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		close(info->fd);
		return NULL;
	}
	e->fd = info->fd;
	e->fse = FLAC__stream_encoder_new();
	e->tags = FLAC__metadata_object_new(FLAC__METADATA_TYPE_VORBIS_COMMENT);
	if (!e->fse || !e->tags) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	n = encoder_tags(info, tags, ref, sizeof ref);
	snprintf(encoder_tag, sizeof encoder_tag, "%s (libFLAC)", info->software);
	for (i = 0; i < n; i++)
		if (add_tag(e->tags, tags[i].key, tags[i].value) < 0)
			break;
	if (i < n || add_tag(e->tags, "ENCODER", encoder_tag) < 0) {
		snprintf(err, errlen, "libFLAC: cannot set the tags");
		goto fail;
	}
	if (!FLAC__stream_encoder_set_channels(e->fse, 1) ||
	    !FLAC__stream_encoder_set_bits_per_sample(e->fse, FLAC_BITS) ||
	    !FLAC__stream_encoder_set_sample_rate(e->fse, info->rate) ||
	    !FLAC__stream_encoder_set_compression_level(e->fse, FLAC_LEVEL) ||
	    !FLAC__stream_encoder_set_metadata(e->fse, &e->tags, 1)) {
		snprintf(err, errlen, "libFLAC refused a setting");
		goto fail;
	}
	st = FLAC__stream_encoder_init_stream(e->fse, write_bytes, seek_to, tell_at, NULL, e);
	if (st != FLAC__STREAM_ENCODER_INIT_STATUS_OK) {
		snprintf(err, errlen, "libFLAC: %s", e->failed_errno ? strerror(e->failed_errno)
								     : FLAC__StreamEncoderInitStatusString[st]);
		goto fail;
	}
	return e;
fail:
	close(e->fd);
	free_file(e);
	return NULL;
}

static int flac_write(void *enc, const float *pcm, uint32_t frames)
{
	struct flac_file *e = enc;

	if (encoder_s24(pcm, frames, 0, &e->ints, &e->n_ints) < 0)
		return -ENOMEM;
	if (!FLAC__stream_encoder_process(e->fse, (const FLAC__int32 *const *)&e->ints, frames))
		return -(e->failed_errno ? e->failed_errno : EIO);
	return 0;
}

static int flac_sync(void *enc)
{
	struct flac_file *e = enc;

	/* libFLAC keeps the block it is filling; what it has written is
	 * whole frames, each decodable. */
	if (fsync(e->fd) < 0 && errno != EINVAL)
		return -errno;
	return e->failed_errno ? -e->failed_errno : 0;
}

static int flac_close(void *enc)
{
	struct flac_file *e = enc;
	int ret = FLAC__stream_encoder_finish(e->fse) ? 0 : -(e->failed_errno ? e->failed_errno : EIO);

	ret = encoder_finish_fd(e->fd, ret);
	free_file(e);
	return ret;
}

const struct encoder_ops encoder_flac = {
	.name = "flac", .ext = "flac",
	.open = flac_open, .write = flac_write, .sync = flac_sync, .close = flac_close,
};
