/* WAV (RF64 once past 4 GiB) and FLAC, through libsndfile. */
#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encoder.h"

struct sndfile_encoder {
	SNDFILE *sf;
	int failed_errno;
};

static void *open_format(const struct encoder_info *info, int format, char *err, size_t errlen)
{
	struct sndfile_encoder *e = calloc(1, sizeof *e);
	SF_INFO sfi = { .samplerate = (int)info->rate, .channels = 1, .format = format };
	char comment[128];

	if (!e) {
		close(info->fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->sf = sf_open_fd(info->fd, SFM_WRITE, &sfi, SF_TRUE);
	if (!e->sf) {
		snprintf(err, errlen, "%s", sf_strerror(NULL));
		close(info->fd);
		free(e);
		return NULL;
	}
	/* A WAV header cannot count past 4 GiB: become RF64 then, stay WAV below. */
	if ((format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RF64)
		sf_command(e->sf, SFC_RF64_AUTO_DOWNGRADE, NULL, SF_TRUE);
	snprintf(comment, sizeof comment, "LANGUAGE=%s", info->language);
	/* Where the format has no place for a string, libsndfile says so; the
	 * audio matters more than the tag. */
	sf_set_string(e->sf, SF_STR_TITLE, info->title);
	sf_set_string(e->sf, SF_STR_DATE, info->date);
	sf_set_string(e->sf, SF_STR_SOFTWARE, info->software);
	sf_set_string(e->sf, SF_STR_COMMENT, comment);
	return e;
}

static void *wav_open(const struct encoder_info *info, char *err, size_t errlen)
{
	return open_format(info, SF_FORMAT_RF64 | SF_FORMAT_PCM_24, err, errlen);
}

static void *flac_open(const struct encoder_info *info, char *err, size_t errlen)
{
	return open_format(info, SF_FORMAT_FLAC | SF_FORMAT_PCM_24, err, errlen);
}

static int sndfile_write(void *enc, const float *pcm, uint32_t frames)
{
	struct sndfile_encoder *e = enc;

	errno = 0;
	if (sf_writef_float(e->sf, pcm, frames) != (sf_count_t)frames) {
		e->failed_errno = errno ? errno : EIO;
		return -e->failed_errno;
	}
	return 0;
}

static int sndfile_sync(void *enc)
{
	struct sndfile_encoder *e = enc;

	/* The header says how long the data is, so a reader after a crash
	 * finds all of it up to here. */
	sf_command(e->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
	sf_write_sync(e->sf);
	return sf_error(e->sf) ? -(e->failed_errno ? e->failed_errno : EIO) : 0;
}

static int sndfile_close(void *enc)
{
	struct sndfile_encoder *e = enc;
	int ret = sf_close(e->sf) ? -EIO : 0;

	free(e);
	return ret;
}

const struct encoder_ops encoder_wav = {
	.name = "wav", .ext = "wav",
	.open = wav_open, .write = sndfile_write, .sync = sndfile_sync, .close = sndfile_close,
};

const struct encoder_ops encoder_flac = {
	.name = "flac", .ext = "flac",
	.open = flac_open, .write = sndfile_write, .sync = sndfile_sync, .close = sndfile_close,
};
