/* Ogg Opus (RFC 7845) from one single-stream OpusEncoder, muxed with
 * libogg, written straight to the descriptor (no stdio buffer to lose in a
 * crash).
 *
 * Why not libopusenc, which did this before: it encodes through the
 * multistream API, and libopus 1.3.1 probes the CPU (CPUID) inside every
 * multistream encode call. On a virtual machine each CPUID traps to the
 * hypervisor, and a 127-channel room spent ~40 % of its encoding there.
 * A mono channel needs neither multistream nor libopusenc's resampler when
 * the room runs at a rate Opus takes as it is (8, 12, 16, 24 or 48 kHz);
 * at any other rate (44.1, 96 kHz) this table hands the file to libopusenc
 * (libopusenc_encoder.c), which resamples.
 *
 * What a reader relies on, and where it is made:
 * - OpusHead: version 1, one channel, the encoder's look-ahead as pre-skip
 *   (at 48 kHz), the input rate, gain 0, mapping family 0; alone on the
 *   first page (BOS). OpusTags on the page(s) after it, alone.
 * - Granule positions count 48 kHz samples including the pre-skip; the
 *   last page (EOS) carries pre-skip + the samples written, so a decoder
 *   trims the zeros that fill the last frame.
 * - OpusTags carries the archive's tags (encoder_tags) and room to spare
 *   after them (RFC 7845 5.2 allows padding): at close the segment's
 *   loudness goes in there as R128_TRACK_GAIN, the page rewritten in place
 *   with the same length, so nothing after it moves.
 * - A page leaves at least every opus_page_ms (a listener waits for it; the
 *   archive flushes once a second) and at every sync, so a crash loses at
 *   most what came after the last sync. */
#include <errno.h>
#include <ogg/ogg.h>
#include <opus/opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "encoder.h"

#define OGG_OPUS_FRAME_MS 20
#define OGG_OPUS_PACKET_MAX 1500    /* a 20 ms mono packet is at most 1275 bytes */
#define OGG_OPUS_PAGE_MAX (27 + 255 + 255 * 255)
#define OGG_OPUS_ARCHIVE_PAGE 48000 /* granule units: a page at least every second */
#define OGG_OPUS_TAGS_ROOM 64       /* bytes kept for R128_TRACK_GAIN=-32768 */

struct ogg_opus_file {
	OpusEncoder *opus;
	ogg_stream_state os;
	int os_ready;
	int fd;
	int (*sink)(void *user, const unsigned char *page, int len);
	void *sink_user;
	int failed_errno;
	int frame;                 /* input samples in a 20 ms frame */
	int scale;                 /* 48 kHz granule units per input sample */
	int lookahead;             /* input samples: the pre-skip at the input rate */
	int64_t page_every;        /* granule units */
	int64_t written;           /* input samples handed to write */
	int64_t encoded;           /* input samples encoded (whole frames, zeros at the end) */
	int64_t packetno;
	int64_t page_granule;      /* granule of the last page out */
	int n_pending;             /* input samples waiting for a whole frame */
	float *pending;            /* frame samples */
	unsigned char *packet;     /* OGG_OPUS_PACKET_MAX */
	unsigned char *page;       /* OGG_OPUS_PAGE_MAX: header and body together */
	int64_t bytes_out;         /* written to fd so far */
	int64_t tags_page_at;      /* where the OpusTags page starts in the file */
	int tags_page_len;         /* its header and body; 0 when not in place to edit */
	unsigned char *tags;       /* the OpusTags packet as written (tags_len bytes) */
	size_t tags_len, tags_end; /* its length; where its comments end and the room begins */
	int r128_gain, has_r128;   /* told by set_loudness */
	/* Delegated to libopusenc (a rate Opus does not take as it is). */
	void *via_libopusenc;
};

/* Whole page to the sink or the descriptor: 0, or 1 with failed_errno set. */
static int put_page(struct ogg_opus_file *e, const ogg_page *og)
{
	size_t len = (size_t)og->header_len + (size_t)og->body_len;
	const unsigned char *p = e->page;

	if (e->failed_errno)
		return 1;
	memcpy(e->page, og->header, (size_t)og->header_len);
	memcpy(e->page + og->header_len, og->body, (size_t)og->body_len);
	e->page_granule = ogg_page_granulepos(og);
	if (e->sink) {
		if (e->sink(e->sink_user, p, (int)len)) {
			e->failed_errno = EIO;
			return 1;
		}
		return 0;
	}
	if ((e->failed_errno = encoder_write_all(e->fd, p, len)))
		return 1;
	e->bytes_out += (int64_t)len;
	return 0;
}

/* Every page libogg holds: flushed (force) or only those it has filled. */
static int pages_out(struct ogg_opus_file *e, int force)
{
	ogg_page og;

	while (force ? ogg_stream_flush(&e->os, &og) : ogg_stream_pageout(&e->os, &og))
		if (put_page(e, &og))
			return 1;
	return 0;
}

static int packet_in(struct ogg_opus_file *e, unsigned char *data, long bytes, int64_t granule, int bos, int eos)
{
	ogg_packet op = {
		.packet = data, .bytes = bytes, .b_o_s = bos, .e_o_s = eos,
		.granulepos = granule, .packetno = e->packetno++,
	};

	return ogg_stream_packetin(&e->os, &op) ? (e->failed_errno = EIO, 1) : 0;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* RFC 7845 5.1: OpusHead, alone on the first page. */
static int write_head(struct ogg_opus_file *e, uint32_t rate)
{
	unsigned char head[19] = "OpusHead";
	int pre_skip = e->lookahead * e->scale;

	head[8] = 1; /* version */
	head[9] = 1; /* channels */
	head[10] = (unsigned char)pre_skip;
	head[11] = (unsigned char)(pre_skip >> 8);
	put_le32(head + 12, rate);
	head[16] = head[17] = 0; /* output gain */
	head[18] = 0;            /* mapping family: mono or stereo, no table */
	return packet_in(e, head, sizeof head, 0, 1, 0) || pages_out(e, 1);
}

static size_t put_comment(unsigned char *p, const char *key, const char *value)
{
	size_t k = strlen(key), v = strlen(value);

	if (p) {
		put_le32(p, (uint32_t)(k + 1 + v));
		memcpy(p + 4, key, k);
		p[4 + k] = '=';
		memcpy(p + 5 + k, value, v);
	}
	return 4 + k + 1 + v;
}

/* The OpusTags packet: vendor, the comments and room (zeros) after them.
 * Returns its length, the comments' end in *end; fills p when given. */
static size_t build_tags(unsigned char *p, const struct encoder_tag *tags, int n, const char *gain, size_t room,
			 size_t *end)
{
	const char *vendor = opus_get_version_string();
	size_t at = 12 + strlen(vendor) + 4;
	int i;

	if (p) {
		memcpy(p, "OpusTags", 8);
		put_le32(p + 8, (uint32_t)strlen(vendor));
		memcpy(p + 12, vendor, strlen(vendor));
		put_le32(p + at - 4, (uint32_t)(n + (gain != NULL)));
	}
	for (i = 0; i < n; i++)
		at += put_comment(p ? p + at : NULL, tags[i].key, tags[i].value);
	if (gain)
		at += put_comment(p ? p + at : NULL, "R128_TRACK_GAIN", gain);
	*end = at;
	if (p)
		memset(p + at, 0, room);
	return at + room;
}

/* RFC 7845 5.2: OpusTags, on a page of its own. */
static int write_tags(struct ogg_opus_file *e, const struct encoder_info *info)
{
	struct encoder_tag tags[ENCODER_TAGS_MAX + 1];
	char encoder_tag[128], ref[24];
	int n = encoder_tags(info, tags, ref, sizeof ref);
	int64_t at = e->bytes_out;

	snprintf(encoder_tag, sizeof encoder_tag, "%s (libopus, libogg)", info->software);
	tags[n++] = (struct encoder_tag){ "ENCODER", encoder_tag };
	e->tags_len = build_tags(NULL, tags, n, NULL, OGG_OPUS_TAGS_ROOM, &e->tags_end);
	if (!(e->tags = malloc(e->tags_len)))
		return e->failed_errno = ENOMEM, 1;
	build_tags(e->tags, tags, n, NULL, OGG_OPUS_TAGS_ROOM, &e->tags_end);
	if (packet_in(e, e->tags, (long)e->tags_len, 0, 0, 0) || pages_out(e, 1))
		return 1;
	/* One page, to a file: it can be edited in place at close. */
	if (!e->sink && e->tags_len < 255 * 255 && e->packetno == 2)
		e->tags_page_at = at, e->tags_page_len = (int)(e->bytes_out - at);
	return 0;
}

/* R128_TRACK_GAIN into the room the tags kept: the comment count goes up
 * by one, the new comment takes the room's first bytes, and the page keeps
 * its length; only its checksum is new. */
static int add_track_gain(struct ogg_opus_file *e)
{
	unsigned char *page, *count_at;
	char gain[16];
	size_t body_at, need;
	ogg_page og;
	uint32_t count;
	int ret = 0;

	if (!e->has_r128 || !e->tags_page_len || e->fd < 0)
		return 0;
	snprintf(gain, sizeof gain, "%d", e->r128_gain);
	need = put_comment(NULL, "R128_TRACK_GAIN", gain);
	if (need > e->tags_len - e->tags_end || !(page = malloc((size_t)e->tags_page_len)))
		return 0; /* no room: the manifest still has the loudness */
	/* Not the page written (or not readable): left as it is, the audio
	 * is whole; the manifest has the loudness. */
	body_at = (size_t)e->tags_page_len - e->tags_len;
	if (pread(e->fd, page, (size_t)e->tags_page_len, e->tags_page_at) != e->tags_page_len ||
	    memcmp(page, "OggS", 4) || memcmp(page + body_at, e->tags, e->tags_len)) {
		free(page);
		return 0;
	}
	/* The comment count sits after the vendor string. */
	count_at = page + body_at + 12 + get_le32(e->tags + 8);
	count = get_le32(count_at);
	put_le32(count_at, count + 1);
	put_comment(page + body_at + e->tags_end, "R128_TRACK_GAIN", gain);
	og = (ogg_page){ .header = page, .header_len = (long)body_at, .body = page + body_at,
			 .body_len = (long)e->tags_len };
	ogg_page_checksum_set(&og);
	if (pwrite(e->fd, page, (size_t)e->tags_page_len, e->tags_page_at) != e->tags_page_len)
		ret = -(errno ? errno : EIO);
	free(page);
	return ret;
}

/* One frame of input into one packet. The last packet (eos) carries the
 * granule that trims the frame's fill of zeros. */
static int encode_frame(struct ogg_opus_file *e, const float *pcm, int eos)
{
	opus_int32 bytes = opus_encode_float(e->opus, pcm, e->frame, e->packet, OGG_OPUS_PACKET_MAX);
	int64_t granule;

	if (bytes < 0)
		return e->failed_errno = EIO, 1;
	e->encoded += e->frame;
	granule = eos ? (e->lookahead + e->written) * e->scale : e->encoded * e->scale;
	if (packet_in(e, e->packet, bytes, granule, 0, eos))
		return 1;
	return pages_out(e, eos || granule - e->page_granule >= e->page_every);
}

static int open_opus(struct ogg_opus_file *e, const struct encoder_info *info, char *err, size_t errlen)
{
	int error = 0;
	uint32_t serial;

	e->opus = opus_encoder_create((opus_int32)info->rate, 1, OPUS_APPLICATION_VOIP, &error);
	if (!e->opus) {
		snprintf(err, errlen, "libopus: %s", opus_strerror(error));
		return -1;
	}
	/* Speech, at the configured rate: a file with other settings is not
	 * the archive that was asked for. */
	if ((error = opus_encoder_ctl(e->opus, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE))) != OPUS_OK ||
	    (error = opus_encoder_ctl(e->opus, OPUS_SET_BITRATE(info->opus_bitrate))) != OPUS_OK ||
	    (error = opus_encoder_ctl(e->opus, OPUS_SET_COMPLEXITY(info->opus_complexity))) != OPUS_OK ||
	    (error = opus_encoder_ctl(e->opus, OPUS_GET_LOOKAHEAD(&e->lookahead))) != OPUS_OK) {
		snprintf(err, errlen, "libopus refused a setting: %s", opus_strerror(error));
		return -1;
	}
	/* A serial of its own per file, so that files chained or muxed
	 * together stay apart. */
	if (getrandom(&serial, sizeof serial, GRND_NONBLOCK) != (ssize_t)sizeof serial)
		serial = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)e;
	if (ogg_stream_init(&e->os, (int)(serial & 0x7fffffff))) {
		snprintf(err, errlen, "libogg: cannot start a stream");
		return -1;
	}
	e->os_ready = 1;
	return 0;
}

static void free_file(struct ogg_opus_file *e)
{
	if (e->opus)
		opus_encoder_destroy(e->opus);
	if (e->os_ready)
		ogg_stream_clear(&e->os);
	free(e->pending);
	free(e->tags);
	free(e->packet);
	free(e->page);
	free(e);
}

static int opus_takes_rate(uint32_t rate)
{
	return rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000 || rate == 48000;
}

static void *ogg_opus_open(const struct encoder_info *info, char *err, size_t errlen)
{
	struct ogg_opus_file *e = calloc(1, sizeof *e);

	if (!e) {
		snprintf(err, errlen, "out of memory");
		goto fail_fd;
	}
	if (!opus_takes_rate(info->rate)) {
		if (!(e->via_libopusenc = encoder_opus_libopusenc.open(info, err, errlen))) {
			free(e);
			return NULL; /* it has closed the descriptor */
		}
		return e;
	}
	e->fd = info->fd;
	e->sink = info->sink;
	e->sink_user = info->sink_user;
	e->frame = (int)info->rate / (1000 / OGG_OPUS_FRAME_MS);
	e->scale = 48000 / (int)info->rate;
	e->page_every = info->opus_page_ms > 0 ? (int64_t)info->opus_page_ms * 48 : OGG_OPUS_ARCHIVE_PAGE;
	e->pending = calloc((size_t)e->frame, sizeof *e->pending);
	e->packet = malloc(OGG_OPUS_PACKET_MAX);
	e->page = malloc(OGG_OPUS_PAGE_MAX);
	if (!e->pending || !e->packet || !e->page) {
		snprintf(err, errlen, "out of memory");
		goto fail_file;
	}
	if (open_opus(e, info, err, errlen) < 0)
		goto fail_file;
	if (write_head(e, info->rate) || write_tags(e, info)) {
		snprintf(err, errlen, "cannot write the Opus header: %s", strerror(e->failed_errno));
		goto fail_file;
	}
	return e;
fail_file:
	free_file(e);
fail_fd:
	if (info->fd >= 0)
		close(info->fd);
	return NULL;
}

static int ogg_opus_write(void *enc, const float *pcm, uint32_t frames)
{
	struct ogg_opus_file *e = enc;
	int take;

	if (e->via_libopusenc)
		return encoder_opus_libopusenc.write(e->via_libopusenc, pcm, frames);
	e->written += frames;
	/* A frame begun earlier is completed first; whole frames are encoded
	 * from the caller's block without a copy. */
	if (e->n_pending > 0) {
		take = e->frame - e->n_pending < (int)frames ? e->frame - e->n_pending : (int)frames;
		memcpy(e->pending + e->n_pending, pcm, (size_t)take * sizeof *pcm);
		e->n_pending += take;
		pcm += take;
		frames -= (uint32_t)take;
		if (e->n_pending < e->frame)
			return 0;
		e->n_pending = 0;
		if (encode_frame(e, e->pending, 0))
			return -e->failed_errno;
	}
	for (; frames >= (uint32_t)e->frame; pcm += e->frame, frames -= (uint32_t)e->frame)
		if (encode_frame(e, pcm, 0))
			return -e->failed_errno;
	memcpy(e->pending, pcm, frames * sizeof *pcm);
	e->n_pending = (int)frames;
	return 0;
}

static int ogg_opus_sync(void *enc)
{
	struct ogg_opus_file *e = enc;

	if (e->via_libopusenc)
		return encoder_opus_libopusenc.sync(e->via_libopusenc);
	if (pages_out(e, 1))
		return -e->failed_errno;
	if (e->fd >= 0 && fsync(e->fd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

/* The frames still owed: the pending ones and the look-ahead, filled with
 * zeros, the last packet marked as the end. */
static int finish_stream(struct ogg_opus_file *e)
{
	const int64_t owed = e->written + e->lookahead;

	do {
		memset(e->pending + e->n_pending, 0, (size_t)(e->frame - e->n_pending) * sizeof *e->pending);
		e->n_pending = 0;
		if (encode_frame(e, e->pending, e->encoded + e->frame >= owed))
			return 1;
	} while (e->encoded < owed);
	return 0;
}

static int ogg_opus_close(void *enc)
{
	struct ogg_opus_file *e = enc;
	int ret;

	if (e->via_libopusenc) {
		ret = encoder_opus_libopusenc.close(e->via_libopusenc);
		free(e);
		return ret;
	}
	ret = finish_stream(e) ? -(e->failed_errno ? e->failed_errno : EIO) : 0;
	if (!ret)
		ret = add_track_gain(e);
	ret = encoder_finish_fd(e->fd, ret);
	free_file(e);
	return ret;
}

static void ogg_opus_set_loudness(void *enc, const struct segment_loudness *l)
{
	struct ogg_opus_file *e = enc;

	if (e->via_libopusenc)
		return; /* libopusenc wrote its tags at the start: the manifest has it */
	e->has_r128 = encoder_r128_gain(l, &e->r128_gain);
}

const struct encoder_ops encoder_opus = {
	.name = "opus", .ext = "opus",
	.open = ogg_opus_open, .write = ogg_opus_write, .sync = ogg_opus_sync,
	.set_loudness = ogg_opus_set_loudness, .close = ogg_opus_close,
};
