/* Broadcast Wave (EBU Tech 3285 v2; RF64 once past 4 GiB) through
 * libsndfile, 24-bit PCM.
 *
 * bext says what the file is and when its first sample was spoken
 * (OriginationDate/Time, TimeReference: samples since midnight UTC, equal
 * in every file of one segment, so a DAW lines the channels up by
 * itself). Its loudness fields are "not measured" (0x7FFF) until close,
 * when the segment's loudness is known: libsndfile writes the header again
 * at close, with the same size (the coding history does not change). iXML
 * names the project, the track and its language for the DAWs that read
 * it. Both chunks come before the audio, which a crash cannot cut off. */
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "encoder.h"

#define BEXT_UNKNOWN 0x7fff /* Tech 3285 v2: a loudness value not measured */

struct wav_file {
	SNDFILE *sf;
	int failed_errno;
	SF_BROADCAST_INFO bext;
	int32_t *ints;     /* the block as 24-bit samples, left-justified */
	uint32_t n_ints;
};

/* s in ASCII, which is what bext's text fields and RIFF INFO hold (readers
 * take their bytes as Latin-1): the accented Latin letters of U+00C0 to
 * U+00FF lose their accents, anything else becomes '?'. */
static void ascii_fold(char *dst, size_t n, const char *s)
{
	/* U+00C0 .. U+00FF, as plain letters; "" for the signs without one. */
	static const char *const latin[64] = {
		"A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
		"D", "N", "O", "O", "O", "O", "O", "x", "O", "U", "U", "U", "U", "Y", "Th", "ss",
		"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
		"d", "n", "o", "o", "o", "o", "o", "/", "o", "u", "u", "u", "u", "y", "th", "y",
	};
	const unsigned char *u = (const unsigned char *)s;
	size_t at = 0;

	while (*u && at + 3 < n) {
		if (*u < 0x80) {
			dst[at++] = (char)*u++;
		} else if (u[0] == 0xc3 && u[1] >= 0x80 && u[1] <= 0xbf) {
			const char *rep = latin[u[1] - 0x80];
			while (*rep)
				dst[at++] = *rep++;
			u += 2;
		} else {
			dst[at++] = '?';
			for (u++; (*u & 0xc0) == 0x80; u++) /* the rest of that character */
				;
		}
	}
	dst[at] = '\0';
}

/* s into dst (at most n bytes, NUL-padded as bext's fields are). */
static void bext_text(char *dst, size_t n, const char *s)
{
	memset(dst, 0, n);
	memcpy(dst, s, strlen(s) < n ? strlen(s) : n);
}

static void fill_bext(SF_BROADCAST_INFO *b, const struct encoder_info *info)
{
	char text[512], ascii[512];
	time_t secs = (time_t)(info->first_sample_us / 1000000);
	struct tm tm;

	memset(b, 0, sizeof *b);
	snprintf(text, sizeof text, "%s: %s %s", info->meeting, info->channel, info->channel_name);
	ascii_fold(ascii, sizeof ascii, text);
	bext_text(b->description, sizeof b->description, ascii);
	bext_text(b->originator, sizeof b->originator, "Tolk");
	bext_text(b->originator_reference, sizeof b->originator_reference, info->reference ? info->reference : "");
	gmtime_r(&secs, &tm);
	strftime(text, sizeof text, "%Y-%m-%d", &tm);
	bext_text(b->origination_date, sizeof b->origination_date, text);
	strftime(text, sizeof text, "%H:%M:%S", &tm);
	bext_text(b->origination_time, sizeof b->origination_time, text);
	b->time_reference_low = (uint32_t)info->time_reference;
	b->time_reference_high = (uint32_t)(info->time_reference >> 32);
	b->version = 2;
	b->loudness_value = b->loudness_range = b->max_true_peak_level = BEXT_UNKNOWN;
	b->max_momentary_loudness = b->max_shortterm_loudness = BEXT_UNKNOWN;
	snprintf(b->coding_history, sizeof b->coding_history, "A=PCM,F=%u,W=24,M=mono,T=%s\r\n", info->rate,
		 info->software);
	b->coding_history_size = (uint32_t)strlen(b->coding_history);
}

/* s, escaped for XML text, appended to out. */
static void xml_text(char *out, size_t len, const char *s)
{
	size_t at = strlen(out);

	for (; *s && at + 7 < len; s++) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
		if (rep)
			at += (size_t)snprintf(out + at, len - at, "%s", rep);
		else
			out[at++] = *s;
	}
	out[at] = '\0';
}

static void xml_element(char *out, size_t len, const char *name, const char *value)
{
	size_t at = strlen(out);

	snprintf(out + at, len - at, "<%s>", name);
	xml_text(out, len, value);
	at = strlen(out);
	snprintf(out + at, len - at, "</%s>", name);
}

/* iXML 2.10: the project (meeting), one track named for its channel, the
 * time stamp, and the language in USER (iXML has no element of its own
 * for it). */
static int add_ixml(SNDFILE *sf, const struct encoder_info *info)
{
	char xml[4096], num[32], track[384];
	SF_CHUNK_INFO chunk = { .id = "iXML", .id_size = 4 };

	snprintf(xml, sizeof xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BWFXML><IXML_VERSION>2.10</IXML_VERSION>");
	xml_element(xml, sizeof xml, "PROJECT", info->meeting);
	xml_element(xml, sizeof xml, "FILE_UID", info->reference ? info->reference : "");
	xml_element(xml, sizeof xml, "NOTE", info->title);
	strcat(xml, "<SPEED>");
	snprintf(num, sizeof num, "%u", info->rate);
	xml_element(xml, sizeof xml, "FILE_SAMPLE_RATE", num);
	xml_element(xml, sizeof xml, "TIMESTAMP_SAMPLE_RATE", num);
	snprintf(num, sizeof num, "%u", (uint32_t)(info->time_reference >> 32));
	xml_element(xml, sizeof xml, "TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI", num);
	snprintf(num, sizeof num, "%u", (uint32_t)info->time_reference);
	xml_element(xml, sizeof xml, "TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO", num);
	strcat(xml, "</SPEED><TRACK_LIST><TRACK_COUNT>1</TRACK_COUNT><TRACK><CHANNEL_INDEX>1</CHANNEL_INDEX>"
		    "<INTERLEAVE_INDEX>1</INTERLEAVE_INDEX>");
	snprintf(track, sizeof track, "%s", info->channel);
	xml_element(xml, sizeof xml, "NAME", track);
	xml_element(xml, sizeof xml, "FUNCTION", info->channel_name);
	strcat(xml, "</TRACK></TRACK_LIST><USER>");
	snprintf(track, sizeof track, "LANGUAGE=%s\nCHANNEL=%s\nMEETING=%s", info->language, info->channel,
		 info->meeting);
	xml_text(xml, sizeof xml, track);
	strcat(xml, "</USER></BWFXML>\n");
	chunk.data = xml;
	chunk.datalen = (unsigned)strlen(xml);
	return sf_set_chunk(sf, &chunk) == SF_ERR_NO_ERROR ? 0 : -1;
}

static void *wav_open(const struct encoder_info *info, char *err, size_t errlen)
{
	struct wav_file *e = calloc(1, sizeof *e);
	char title[512];
	SF_INFO sfi = { .samplerate = (int)info->rate, .channels = 1, .format = SF_FORMAT_RF64 | SF_FORMAT_PCM_24 };

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
	sf_command(e->sf, SFC_RF64_AUTO_DOWNGRADE, NULL, SF_TRUE);
	ascii_fold(title, sizeof title, info->title);
	sf_set_string(e->sf, SF_STR_TITLE, title);
	sf_set_string(e->sf, SF_STR_SOFTWARE, info->software);
	if (info->meeting) {
		fill_bext(&e->bext, info);
		if (sf_command(e->sf, SFC_SET_BROADCAST_INFO, &e->bext, sizeof e->bext) != SF_TRUE ||
		    add_ixml(e->sf, info) < 0) {
			snprintf(err, errlen, "cannot set bext and iXML: %s", sf_strerror(e->sf));
			sf_close(e->sf);
			free(e);
			return NULL;
		}
	}
	return e;
}

static int wav_write(void *enc, const float *pcm, uint32_t frames)
{
	struct wav_file *e = enc;

	/* The FLAC files' samples: libsndfile's own float path scales by
	 * 2^31 - 1 and can land a step low, and the formats of one archive
	 * must hold the same samples. */
	if (encoder_s24(pcm, frames, 8, &e->ints, &e->n_ints) < 0)
		return -ENOMEM;
	errno = 0;
	if (sf_writef_int(e->sf, e->ints, frames) != (sf_count_t)frames) {
		e->failed_errno = errno ? errno : EIO;
		return -e->failed_errno;
	}
	return 0;
}

static int wav_sync(void *enc)
{
	struct wav_file *e = enc;

	/* The header says how long the data is, so a reader after a crash
	 * finds all of it up to here. */
	sf_command(e->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
	sf_write_sync(e->sf);
	return sf_error(e->sf) ? -(e->failed_errno ? e->failed_errno : EIO) : 0;
}

/* bext's loudness: hundredths, as Tech 3285 v2 counts them. */
static int16_t centi(double v)
{
	if (!isfinite(v) || v * 100.0 >= BEXT_UNKNOWN || v * 100.0 < -32768.0)
		return BEXT_UNKNOWN;
	return (int16_t)lround(v * 100.0);
}

static void wav_set_loudness(void *enc, const struct segment_loudness *l)
{
	struct wav_file *e = enc;

	if (!e->bext.version)
		return;
	e->bext.loudness_value = centi(l->integrated);
	e->bext.loudness_range = centi(l->range);
	e->bext.max_true_peak_level = centi(l->true_peak);
	e->bext.max_momentary_loudness = centi(l->max_momentary);
	e->bext.max_shortterm_loudness = centi(l->max_short_term);
	/* The same coding history, so the header keeps its size. */
	sf_command(e->sf, SFC_SET_BROADCAST_INFO, &e->bext, sizeof e->bext);
}

static int wav_close(void *enc)
{
	struct wav_file *e = enc;
	int ret = sf_close(e->sf) ? -EIO : 0;

	free(e->ints);
	free(e);
	return ret;
}

const struct encoder_ops encoder_wav = {
	.name = "wav", .ext = "wav",
	.open = wav_open, .write = wav_write, .sync = wav_sync,
	.set_loudness = wav_set_loudness, .close = wav_close,
};
