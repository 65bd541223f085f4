#include "clip.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/clip_time.h"
#include "../core/json_reader.h"
#include "../core/json_writer.h"
#include "../core/utc_time.h"
#include "encoder.h"
#include "segment_loudness.h"
#include "sha256_file.h"
#include "whole_file.h"

#define CLIP_CHUNK 8192
#define CLIP_SOURCES_MAX 4096

/* One segment's lossless file of the channel. */
struct clip_source {
	char file[256], sha256[65], language[32];
	long long start;     /* its first sample, samples since 1970 */
	long long frames;
};

/* The channel's lossless files from the manifest, in time order. */
static int read_sources(const char *dir, const char *channel, unsigned *rate, struct clip_source **out,
			char *why, size_t len)
{
	char path[4400];
	char *text;
	struct jnode *root, *files, *f;
	struct clip_source *list = NULL;
	int n = 0, i, j, pass;

	snprintf(path, sizeof path, "%s/manifest.json", dir);
	if (!(text = whole_file_read(path))) {
		snprintf(why, len, "%s: %s", path, strerror(errno ? errno : EIO));
		return -ENOENT;
	}
	root = json_parse(text);
	free(text);
	files = member(root, "files");
	if (!root || !files || files->type != J_ARRAY || atoi(text_of(member(root, "rate"))) <= 0) {
		snprintf(why, len, "%s: not a Tolk manifest", path);
		jfree(root);
		return -EINVAL;
	}
	*rate = (unsigned)atoi(text_of(member(root, "rate")));
	list = calloc(CLIP_SOURCES_MAX, sizeof *list);
	if (!list) {
		jfree(root);
		return -ENOMEM;
	}
	/* FLAC first; WAV for the segments that have no FLAC. */
	for (pass = 0; pass < 2; pass++)
		for (f = files->child; f && n < CLIP_SOURCES_MAX; f = f->next) {
			const char *first = text_of(member(f, "first_sample"));
			long long ms = clip_iso_ms(first), start;
			if (strcmp(text_of(member(f, "channel")), channel) ||
			    strcmp(text_of(member(f, "format")), pass ? "wav" : "flac") || ms < 0 ||
			    !strcmp(text_of(member(f, "time_reference")), "-"))
				continue;
			start = ms / 86400000 * 86400LL * *rate + atoll(text_of(member(f, "time_reference")));
			for (j = 0; j < n && list[j].start != start; j++)
				;
			if (j < n)
				continue; /* that segment has its FLAC already */
			snprintf(list[n].file, sizeof list[n].file, "%s", text_of(member(f, "file")));
			snprintf(list[n].sha256, sizeof list[n].sha256, "%s", text_of(member(f, "sha256")));
			snprintf(list[n].language, sizeof list[n].language, "%s", text_of(member(f, "language")));
			list[n].start = start;
			list[n].frames = atoll(text_of(member(f, "frames")));
			n++;
		}
	jfree(root);
	for (i = 1; i < n; i++) /* few: insertion sort by start */
		for (j = i; j > 0 && list[j - 1].start > list[j].start; j--) {
			struct clip_source t = list[j];
			list[j] = list[j - 1];
			list[j - 1] = t;
		}
	if (!n) {
		snprintf(why, len, "%s has no FLAC or WAV of channel %s with a time reference (a sample-exact clip needs one)",
			 dir, channel);
		free(list);
		return -ENOENT;
	}
	*out = list;
	return n;
}

static const struct encoder_ops *format_of(const char *name)
{
	static const struct encoder_ops *const all[] = { &encoder_wav, &encoder_flac, &encoder_opus };
	size_t i;

	for (i = 0; i < sizeof all / sizeof all[0]; i++)
		if (!strcmp(all[i]->name, name ? name : "wav"))
			return all[i];
	return NULL;
}

/* frames of source s from its frame `at` into buf, as floats that the
 * encoders turn back into the same 24-bit samples. */
static int read_frames(SNDFILE *sf, float *buf, int *ints, sf_count_t frames)
{
	sf_count_t i;

	if (sf_readf_int(sf, ints, frames) != frames)
		return -EIO;
	for (i = 0; i < frames; i++)
		buf[i] = (float)(ints[i] >> 8) / 8388608.0f;
	return 0;
}

static void iso_of_sample(long long sample, unsigned rate, char out[40])
{
	utc_iso_ms(sample / rate * 1000 + (sample % rate) * 1000 / rate, out);
}

/* The provenance, as JSON: what was cut from what. */
static int write_provenance(const char *out_path, const struct clip_request *rq, const struct clip_source *src,
			    int n_src, unsigned rate, long long from, long long to, const char *clip_sha,
			    const struct segment_loudness *l, long long gap_frames)
{
	char path[4200], when[40];
	struct json_writer w;
	int fd, i, first = 1, ret = 0;
	const char *base = strrchr(out_path, '/') ? strrchr(out_path, '/') + 1 : out_path;

	jw_init(&w);
	jw_raw(&w, "{\"clip\":");
	jw_string(&w, base);
	jw_key(&w, "sha256", 0);
	jw_string(&w, clip_sha);
	jw_key(&w, "format", 0);
	jw_string(&w, rq->format ? rq->format : "wav");
	jw_key(&w, "meeting_dir", 0);
	jw_string(&w, rq->meeting_dir);
	jw_key(&w, "channel", 0);
	jw_string(&w, rq->channel);
	jw_key(&w, "asked", 0);
	jw_printf(&w, "{\"from\":");
	jw_string(&w, rq->from);
	jw_key(&w, "to", 0);
	jw_string(&w, rq->to);
	iso_of_sample(from, rate, when);
	jw_raw(&w, "},\"from\":");
	jw_string(&w, when);
	iso_of_sample(to, rate, when);
	jw_key(&w, "to", 0);
	jw_string(&w, when);
	jw_printf(&w, ",\"rate\":%u,\"frames\":%lld,\"time_reference\":%lld,\"silence_frames\":%lld", rate, to - from,
		  from % (86400LL * rate), gap_frames);
	jw_raw(&w, ",\"loudness_integrated\":");
	if (isfinite(l->integrated))
		jw_printf(&w, "%.2f", l->integrated);
	else
		jw_raw(&w, "null");
	jw_raw(&w, ",\"sources\":[");
	for (i = 0; i < n_src; i++) {
		long long a = from > src[i].start ? from : src[i].start;
		long long b = to < src[i].start + src[i].frames ? to : src[i].start + src[i].frames;
		if (a >= b)
			continue;
		jw_raw(&w, first ? "{\"file\":" : ",{\"file\":");
		first = 0;
		jw_string(&w, src[i].file);
		jw_key(&w, "sha256", 0);
		jw_string(&w, src[i].sha256);
		jw_printf(&w, ",\"sha256_checked\":true,\"from_frame\":%lld,\"frames\":%lld,\"clip_frame\":%lld}",
			  a - src[i].start, b - a, a - from);
	}
	utc_iso_ms(utc_now_ms(), when);
	jw_raw(&w, "],\"made\":");
	jw_string(&w, when);
	jw_key(&w, "made_by", 0);
	jw_string(&w, rq->software);
	jw_raw(&w, "}\n");
	snprintf(path, sizeof path, "%s.provenance.json", out_path);
	fd = w.failed ? -1 : open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		ret = w.failed ? -ENOMEM : -errno;
	else {
		if (write(fd, w.buf, w.len) != (ssize_t)w.len || fsync(fd) < 0)
			ret = -(errno ? errno : EIO);
		close(fd);
		if (ret)
			unlink(path);
	}
	jw_free(&w);
	return ret;
}

int clip_cut(const struct clip_request *rq, const char *out_path, char *why, size_t len)
{
	const struct encoder_ops *ops = format_of(rq->format);
	struct clip_source *src = NULL;
	struct segment_loudness loud = { NAN, NAN, NAN, NAN, NAN };
	struct segment_meter meter = { 0 };
	float *buf = NULL;
	int *ints = NULL;
	void *enc = NULL;
	unsigned rate = 0;
	long long from, to, at, gap = 0, end;
	char hex[65], date[40], title[300], ref[33], path[4400];
	uint64_t rnd;
	int n, i, fd, ret;

	if (!ops) {
		snprintf(why, len, "format %s: wav, flac or opus", rq->format);
		return -EINVAL;
	}
	if ((n = read_sources(rq->meeting_dir, rq->channel, &rate, &src, why, len)) < 0)
		return n;
	end = src[n - 1].start + src[n - 1].frames;
	if (clip_parse_time(rq->from, src[0].start, rate, &from) < 0 || clip_parse_time(rq->to, src[0].start, rate, &to) < 0) {
		snprintf(why, len, "times are UTC (2026-12-02T11:42:00.25Z or 11:42:00.25) or offsets (+90, +1:30)");
		ret = -EINVAL;
		goto out;
	}
	if (from < src[0].start || to > end || to <= from || to - from > (long long)CLIP_MAX_SECONDS * rate) {
		char a[40], b[40];
		iso_of_sample(src[0].start, rate, a);
		iso_of_sample(end, rate, b);
		snprintf(why, len, "the clip must lie within the recording of %s (%s to %s), end after it starts, and "
			 "last at most %d h", rq->channel, a, b, CLIP_MAX_SECONDS / 3600);
		ret = -ERANGE;
		goto out;
	}
	/* The sources must be what the manifest says they were. */
	for (i = 0; i < n; i++) {
		if (src[i].start >= to || src[i].start + src[i].frames <= from)
			continue;
		snprintf(path, sizeof path, "%s/%s", rq->meeting_dir, src[i].file);
		if (sha256_file(path, hex) < 0 || strcmp(hex, src[i].sha256)) {
			snprintf(why, len, "%s does not match the manifest (changed or unreadable since it was recorded): no clip",
				 path);
			ret = -EBADMSG;
			goto out;
		}
	}
	buf = malloc(CLIP_CHUNK * sizeof *buf);
	ints = malloc(CLIP_CHUNK * sizeof *ints);
	if (!buf || !ints || segment_meter_init(&meter, rate) < 0) {
		snprintf(why, len, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	if ((fd = open(out_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640)) < 0) {
		ret = -errno;
		snprintf(why, len, "%s: %s%s", out_path, strerror(errno), errno == EEXIST ? " (a clip never overwrites)" : "");
		goto out;
	}
	if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
		rnd = (uint64_t)time(NULL);
	snprintf(ref, sizeof ref, "TOLK-%016llx", (unsigned long long)rnd);
	iso_of_sample(from, rate, date);
	snprintf(title, sizeof title, "%s (clip from %s)", rq->channel, date);
	{
		const char *meeting = strrchr(rq->meeting_dir, '/') ? strrchr(rq->meeting_dir, '/') + 1 : rq->meeting_dir;
		struct encoder_info info = {
			.fd = fd, .rate = rate, .opus_bitrate = 32000, .opus_complexity = 8, .title = title,
			.language = src[0].language, .date = date, .software = rq->software, .meeting = meeting,
			.channel = rq->channel, .channel_name = rq->channel, .reference = ref, .has_time_reference = 1,
			.time_reference = (uint64_t)(from % (86400LL * rate)),
			.first_sample_us = from / rate * 1000000 + (from % rate) * 1000000 / rate,
		};
		char err[256];
		if (!(enc = ops->open(&info, err, sizeof err))) {
			snprintf(why, len, "%s: %s", out_path, err);
			ret = -EIO;
			unlink(out_path);
			goto out;
		}
	}
	/* Sample by sample from `from`: each source for the part it holds,
	 * silence where none does (a gap between two recordings). */
	for (at = from, ret = 0; at < to && ret == 0;) {
		SNDFILE *sf = NULL;
		SF_INFO sfi = { 0 };
		long long stop = to;
		for (i = 0; i < n && !(src[i].start <= at && at < src[i].start + src[i].frames); i++)
			if (src[i].start > at && src[i].start < stop)
				stop = src[i].start;
		if (i < n) {
			stop = to < src[i].start + src[i].frames ? to : src[i].start + src[i].frames;
			snprintf(path, sizeof path, "%s/%s", rq->meeting_dir, src[i].file);
			if (!(sf = sf_open(path, SFM_READ, &sfi)) || sfi.channels != 1 ||
			    sf_seek(sf, at - src[i].start, SEEK_SET) != at - src[i].start) {
				snprintf(why, len, "%s: cannot be read there", path);
				ret = -EIO;
			}
		} else {
			gap += stop - at;
			memset(buf, 0, CLIP_CHUNK * sizeof *buf);
		}
		while (ret == 0 && at < stop) {
			sf_count_t take = stop - at < CLIP_CHUNK ? (sf_count_t)(stop - at) : CLIP_CHUNK;
			if (sf && read_frames(sf, buf, ints, take) < 0) {
				snprintf(why, len, "%s: cut short", path);
				ret = -EIO;
				break;
			}
			segment_meter_add(&meter, buf, (uint32_t)take);
			if ((ret = ops->write(enc, buf, (uint32_t)take)) < 0)
				snprintf(why, len, "%s: %s", out_path, strerror(-ret));
			at += take;
		}
		if (sf)
			sf_close(sf);
	}
	segment_meter_result(&meter, &loud);
	if (ops->set_loudness)
		ops->set_loudness(enc, &loud);
	i = ops->close(enc);
	if (!ret && i < 0) {
		ret = i;
		snprintf(why, len, "%s: %s", out_path, strerror(-i));
	}
	if (!ret && sha256_file(out_path, hex) < 0)
		ret = -EIO;
	if (!ret && (ret = write_provenance(out_path, rq, src, n, rate, from, to, hex, &loud, gap)) < 0)
		snprintf(why, len, "%s.provenance.json: %s", out_path, strerror(-ret));
	if (ret)
		unlink(out_path);
out:
	segment_meter_free(&meter);
	free(buf);
	free(ints);
	free(src);
	return ret;
}
