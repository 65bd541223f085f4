/* Tolk's Ogg Opus encoder against libopusenc's, on the same input: the
 * header fields, the lengths, and what RFC 7845 asks of the pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <ogg/ogg.h>
#include <unistd.h>

#include "../../engine/disk/encoder.h"

struct capture {
	unsigned char *data;
	size_t len, cap;
	int fail_after; /* pages; -1: never */
	int pages;
};

static int capture_page(void *user, const unsigned char *page, int len)
{
	struct capture *c = user;

	if (c->fail_after >= 0 && c->pages >= c->fail_after)
		return 1;
	if (c->len + (size_t)len > c->cap) {
		c->cap = (c->len + (size_t)len) * 2;
		c->data = realloc(c->data, c->cap);
		assert_non_null(c->data);
	}
	memcpy(c->data + c->len, page, (size_t)len);
	c->len += (size_t)len;
	c->pages++;
	return 0;
}

/* What a reader sees of a stream. */
struct stream_facts {
	int version, channels, pre_skip, mapping, gain;
	uint32_t input_rate;
	int head_alone, tags_alone, bos_pages, eos_pages, eos_last;
	int64_t last_granule, max_page_span;
	int pages, packets, sequence_ok, granule_monotonic;
	char vendor[64], title[64], language[16], time_reference[24], r128[16];
};

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void read_tags(struct stream_facts *f, const unsigned char *p, long len)
{
	uint32_t vlen = le32(p + 8), n, i, at;

	assert_true(len >= 16 && 12 + vlen + 4 <= (uint32_t)len);
	snprintf(f->vendor, sizeof f->vendor, "%.*s", (int)vlen, (const char *)p + 12);
	at = 12 + vlen;
	n = le32(p + at);
	at += 4;
	for (i = 0; i < n; i++) {
		uint32_t clen = le32(p + at);
		const char *c = (const char *)p + at + 4;

		assert_true(at + 4 + clen <= (uint32_t)len);
		if (!strncmp(c, "TITLE=", 6))
			snprintf(f->title, sizeof f->title, "%.*s", (int)clen - 6, c + 6);
		if (!strncmp(c, "LANGUAGE=", 9))
			snprintf(f->language, sizeof f->language, "%.*s", (int)clen - 9, c + 9);
		if (!strncmp(c, "TIME_REFERENCE=", 15))
			snprintf(f->time_reference, sizeof f->time_reference, "%.*s", (int)clen - 15, c + 15);
		if (!strncmp(c, "R128_TRACK_GAIN=", 16))
			snprintf(f->r128, sizeof f->r128, "%.*s", (int)clen - 16, c + 16);
		at += 4 + clen;
	}
}

static void read_stream(const struct capture *c, struct stream_facts *f)
{
	ogg_sync_state oy;
	ogg_stream_state os;
	ogg_page og;
	ogg_packet op;
	int started = 0, r;
	long expect_seq = 0;
	int64_t prev_granule = 0;

	memset(f, 0, sizeof *f);
	f->sequence_ok = f->granule_monotonic = 1;
	ogg_sync_init(&oy);
	memcpy(ogg_sync_buffer(&oy, (long)c->len), c->data, c->len);
	ogg_sync_wrote(&oy, (long)c->len);
	while ((r = ogg_sync_pageout(&oy, &og)) != 0) {
		int in_page = 0;

		assert_int_equal(r, 1); /* a bad checksum or a hole: -1 */
		if (!started) {
			ogg_stream_init(&os, ogg_page_serialno(&og));
			started = 1;
		}
		f->bos_pages += ogg_page_bos(&og) ? 1 : 0;
		f->eos_pages += ogg_page_eos(&og) ? 1 : 0;
		f->eos_last = ogg_page_eos(&og) ? 1 : 0;
		if (ogg_page_pageno(&og) != expect_seq++)
			f->sequence_ok = 0;
		if (ogg_page_granulepos(&og) >= 0) {
			if (f->pages >= 2 && ogg_page_granulepos(&og) < prev_granule)
				f->granule_monotonic = 0;
			if (f->pages >= 2 && ogg_page_granulepos(&og) - prev_granule > f->max_page_span && !ogg_page_eos(&og))
				f->max_page_span = ogg_page_granulepos(&og) - prev_granule;
			prev_granule = ogg_page_granulepos(&og);
			f->last_granule = prev_granule;
		}
		assert_int_equal(ogg_stream_pagein(&os, &og), 0);
		while (ogg_stream_packetout(&os, &op) == 1) {
			in_page++;
			if (f->packets == 0) {
				assert_true(op.bytes >= 19 && !memcmp(op.packet, "OpusHead", 8));
				f->version = op.packet[8];
				f->channels = op.packet[9];
				f->pre_skip = op.packet[10] | op.packet[11] << 8;
				f->input_rate = le32(op.packet + 12);
				f->gain = (int16_t)(op.packet[16] | op.packet[17] << 8);
				f->mapping = op.packet[18];
				f->head_alone = f->pages == 0 && ogg_page_packets(&og) == 1 && op.b_o_s;
			} else if (f->packets == 1) {
				assert_true(op.bytes >= 16 && !memcmp(op.packet, "OpusTags", 8));
				read_tags(f, op.packet, op.bytes);
				/* RFC 7845: the tags end their page; audio starts on the next. */
				f->tags_alone = ogg_page_packets(&og) == 1 && in_page == 1;
			}
			f->packets++;
		}
		f->pages++;
	}
	if (started)
		ogg_stream_clear(&os);
	ogg_sync_clear(&oy);
}

static float *tone(long n, uint32_t rate)
{
	float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
	long i;

	assert_non_null(x);
	for (i = 0; i < n; i++)
		x[i] = 0.3f * sinf(2.0f * (float)M_PI * 440.0f * (float)i / (float)rate);
	return x;
}

/* An encoder through ops whose pages go into c (the sink fails after
 * fail_after pages; -1: never). */
static void *open_capturing(const struct encoder_ops *ops, struct capture *c, uint32_t rate, int page_ms,
			    const char *language, int fail_after)
{
	struct encoder_info info = {
		.fd = -1, .sink = capture_page, .sink_user = c, .rate = rate, .opus_bitrate = 32000,
		.opus_complexity = 3, .opus_page_ms = page_ms, .title = "unit fr", .language = language,
		.date = "2026-12-02T09:00:00.000Z", .software = "tolk test",
	};
	char err[256];
	void *enc;

	memset(c, 0, sizeof *c);
	c->fail_after = fail_after;
	enc = ops->open(&info, err, sizeof err);
	assert_non_null(enc);
	return enc;
}

/* Encodes n samples at rate through ops, in blocks of block samples. */
static void encode(const struct encoder_ops *ops, struct capture *c, long n, uint32_t rate, long block,
		   int page_ms, const char *language)
{
	float *x = tone(n, rate);
	void *enc = open_capturing(ops, c, rate, page_ms, language, -1);
	long i;

	for (i = 0; i < n; i += block)
		assert_int_equal(ops->write(enc, x + i, (uint32_t)(n - i < block ? n - i : block)), 0);
	assert_int_equal(ops->close(enc), 0);
	free(x);
}

static void same_as_libopusenc(long n, uint32_t rate, long block)
{
	struct capture a, b;
	struct stream_facts ours, theirs;

	encode(&encoder_opus, &a, n, rate, block, 0, "fr");
	encode(&encoder_opus_libopusenc, &b, n, rate, block, 0, "fr");
	read_stream(&a, &ours);
	read_stream(&b, &theirs);
	/* The header fields a player reads. */
	assert_int_equal(ours.version, 1);
	assert_int_equal(ours.version, theirs.version);
	assert_int_equal(ours.channels, theirs.channels);
	assert_int_equal(ours.pre_skip, theirs.pre_skip);
	assert_int_equal(ours.input_rate, theirs.input_rate);
	assert_int_equal(ours.gain, theirs.gain);
	assert_int_equal(ours.mapping, theirs.mapping);
	assert_string_equal(ours.title, theirs.title);
	assert_string_equal(ours.language, "fr");
	assert_non_null(strstr(ours.vendor, "libopus"));
	/* The length: pre-skip plus every sample written, at 48 kHz. With
	 * nothing written, libopusenc ends at granule 0 and we at the
	 * pre-skip: both play for 0 samples. */
	if (n > 0)
		assert_int_equal(ours.last_granule, theirs.last_granule);
	assert_int_equal(ours.last_granule, ours.pre_skip + n * (48000 / rate));
	/* The pages: head alone and first, tags alone, one BOS, one EOS last,
	 * no hole in the sequence, granules never going back. */
	assert_true(ours.head_alone);
	assert_true(ours.tags_alone);
	assert_int_equal(ours.bos_pages, 1);
	assert_int_equal(ours.eos_pages, 1);
	assert_true(ours.eos_last);
	assert_true(ours.sequence_ok);
	assert_true(ours.granule_monotonic);
	/* Packets: as many 20 ms frames as libopusenc made, give or take the
	 * one its end padding may add. */
	assert_true(abs(ours.packets - theirs.packets) <= 1);
	free(a.data);
	free(b.data);
}

static void test_lengths_at_48k(void **state)
{
	static const long lengths[] = { 0, 1, 311, 312, 959, 960, 961, 48000, 48000 * 3 + 17 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof lengths / sizeof *lengths; i++) {
		same_as_libopusenc(lengths[i], 48000, 256);
		same_as_libopusenc(lengths[i], 48000, 1024);
	}
}

static void test_other_opus_rates(void **state)
{
	(void)state;
	same_as_libopusenc(16000 * 2 + 5, 16000, 128);
	same_as_libopusenc(24000 + 100, 24000, 333);
	same_as_libopusenc(8000 * 3, 8000, 64);
}

/* 44.1 kHz is not an Opus rate: the table hands it to libopusenc, which
 * resamples, and the file is still whole. */
static void test_resampling_rate_delegates(void **state)
{
	struct capture a;
	struct stream_facts f;

	(void)state;
	encode(&encoder_opus, &a, 44100 * 2, 44100, 512, 0, "");
	read_stream(&a, &f);
	assert_int_equal(f.input_rate, 44100);
	assert_non_null(strstr(f.vendor, "libopusenc"));
	assert_int_equal(f.eos_pages, 1);
	assert_int_equal(f.language[0], 0);
	free(a.data);
}

/* A listener stream's pages: none longer than page_ms. */
static void test_stream_pages(void **state)
{
	struct capture a;
	struct stream_facts f;

	(void)state;
	encode(&encoder_opus, &a, 48000 * 5, 48000, 256, 100, "de");
	read_stream(&a, &f);
	assert_true(f.max_page_span > 0 && f.max_page_span <= 4800);
	free(a.data);
	encode(&encoder_opus, &a, 48000 * 5, 48000, 256, 0, "de");
	read_stream(&a, &f);
	assert_int_equal(f.max_page_span, 48000);
	free(a.data);
}

/* After a sync every sample written so far is in whole pages. */
static void test_sync_flushes(void **state)
{
	struct capture c;
	struct stream_facts f;
	float *x = tone(9600, 48000);
	void *enc = open_capturing(&encoder_opus, &c, 48000, 0, "", -1);

	(void)state;
	assert_int_equal(encoder_opus.write(enc, x, 9600), 0);
	assert_int_equal(encoder_opus.sync(enc), 0);
	read_stream(&c, &f);
	assert_int_equal(f.last_granule, 9600); /* 10 whole frames out of 9600 + 312 */
	assert_int_equal(f.eos_pages, 0);
	assert_int_equal(encoder_opus.close(enc), 0);
	free(c.data);
	free(x);
}

/* A sink that fails fails the write, and close still frees everything. */
static void test_sink_failure(void **state)
{
	struct capture c;
	float *x = tone(4800, 48000);
	void *enc = open_capturing(&encoder_opus, &c, 48000, 20, "", 2); /* the headers get through */

	(void)state;
	assert_int_equal(encoder_opus.write(enc, x, 4800), -EIO);
	assert_int_equal(encoder_opus.close(enc), -EIO);
	free(c.data);
	free(x);
}

/* An archive file: its tags name the time reference, and the loudness
 * told at close goes into the tags page in place (RFC 7845's
 * R128_TRACK_GAIN, Q7.8 dB to -23 LUFS); the page's checksum is right
 * (read_stream asserts every page's) and nothing after it moved. */
static void test_track_gain_in_place(void **state)
{
	FILE *tmp = tmpfile();
	struct encoder_info info = {
		.fd = -1, .rate = 48000, .opus_bitrate = 32000, .opus_complexity = 3, .title = "unit: Français",
		.language = "fr", .date = "2026-12-02T09:00:00.000Z", .software = "tolk test", .meeting = "unit",
		.channel = "fr", .channel_name = "Français", .reference = "TOLK-0", .has_time_reference = 1,
		.time_reference = 1555200000,
	};
	const struct segment_loudness loud = { -20.0, 3.0, -6.0, -18.0, -19.0 };
	float *x = tone(48000, 48000);
	struct capture c = { 0 };
	struct stream_facts f;
	char err[256];
	long size;
	void *enc;

	(void)state;
	assert_non_null(tmp);
	info.fd = dup(fileno(tmp));
	enc = encoder_opus.open(&info, err, sizeof err);
	assert_non_null(enc);
	assert_int_equal(encoder_opus.write(enc, x, 48000), 0);
	encoder_opus.set_loudness(enc, &loud);
	assert_int_equal(encoder_opus.close(enc), 0);
	assert_int_equal(fseek(tmp, 0, SEEK_END), 0);
	size = ftell(tmp);
	rewind(tmp);
	c.data = malloc((size_t)size);
	assert_non_null(c.data);
	assert_int_equal(fread(c.data, 1, (size_t)size, tmp), (size_t)size);
	c.len = (size_t)size;
	read_stream(&c, &f);
	assert_string_equal(f.time_reference, "1555200000");
	assert_string_equal(f.r128, "-768");
	assert_string_equal(f.language, "fr");
	assert_true(f.tags_alone);
	assert_true(f.sequence_ok);
	assert_int_equal(f.last_granule, f.pre_skip + 48000);
	free(c.data);
	free(x);
	fclose(tmp);
}

/* Silence has no loudness: no R128_TRACK_GAIN, and the room stays zeros. */
static void test_no_gain_for_silence(void **state)
{
	const struct segment_loudness none = { NAN, NAN, NAN, NAN, NAN };
	int gain = 12345;

	(void)state;
	assert_int_equal(encoder_r128_gain(&none, &gain), 0);
	assert_int_equal(gain, 12345);
	assert_int_equal(encoder_r128_gain(&(struct segment_loudness){ -23.0, 0, 0, 0, 0 }, &gain), 1);
	assert_int_equal(gain, 0);
	assert_int_equal(encoder_r128_gain(&(struct segment_loudness){ -300.0, 0, 0, 0, 0 }, &gain), 1);
	assert_int_equal(gain, 32767); /* held inside Q7.8 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths_at_48k),
		cmocka_unit_test(test_other_opus_rates),
		cmocka_unit_test(test_resampling_rate_delegates),
		cmocka_unit_test(test_stream_pages),
		cmocka_unit_test(test_sync_flushes),
		cmocka_unit_test(test_sink_failure),
		cmocka_unit_test(test_track_gain_in_place),
		cmocka_unit_test(test_no_gain_for_silence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
