#include "recovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/thread_role.h"
#include "../core/utc_time.h"
#include "manifest.h"

#define RECOVERY_PATH_MAX 4608

struct lost_file {
	char dir[RECOVERY_PATH_MAX];
	char meeting[256];
	char base[320];
};

struct recovery {
	pthread_t thread;
	void (*say)(const char *line);
	struct lost_file *files;
	int n, cap;
};

static int audio_ext(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && (!strcmp(dot, ".wav") || !strcmp(dot, ".flac") || !strcmp(dot, ".opus"));
}

static int add_lost(struct recovery *rc, const char *dir, const char *meeting, const char *base)
{
	if (rc->n == rc->cap) {
		int cap = rc->cap ? rc->cap * 2 : 16;
		struct lost_file *more = realloc(rc->files, (size_t)cap * sizeof *more);
		if (!more)
			return -ENOMEM;
		rc->files = more;
		rc->cap = cap;
	}
	snprintf(rc->files[rc->n].dir, sizeof rc->files[0].dir, "%s", dir);
	snprintf(rc->files[rc->n].meeting, sizeof rc->files[0].meeting, "%s", meeting);
	snprintf(rc->files[rc->n].base, sizeof rc->files[0].base, "%s", base);
	rc->n++;
	return 0;
}

/* A real file or folder (never a link), whatever the file system tells
 * readdir. */
static int is_type(const char *dir, const struct dirent *e, mode_t type)
{
	char path[RECOVERY_PATH_MAX + 260];
	struct stat st;

	if (e->d_type != DT_UNKNOWN)
		return type == S_IFREG ? e->d_type == DT_REG : e->d_type == DT_DIR;
	snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
	return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

/* One meeting folder: its audio files that the manifest does not list. */
static void scan_meeting(struct recovery *rc, const char *dir, const char *meeting)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *listed;

	if (!d)
		return;
	/* Read once: an archive's start-up reads each manifest, not each
	 * manifest once per file. */
	listed = manifest_lines(dir);
	while (listed && (e = readdir(d)))
		if (is_type(dir, e, S_IFREG) && audio_ext(e->d_name) && !manifest_has(listed, e->d_name))
			add_lost(rc, dir, meeting, e->d_name);
	free(listed);
	closedir(d);
}

/* ---- what a file holds ---------------------------------------------------- */

/* Ogg's page checksum: CRC-32, polynomial 0x04c11db7, no reflection. */
static uint32_t ogg_crc(const unsigned char *p, size_t n)
{
	uint32_t crc = 0;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= (uint32_t)p[i] << 24;
		for (k = 0; k < 8; k++)
			crc = crc & 0x80000000u ? (crc << 1) ^ 0x04c11db7u : crc << 1;
	}
	return crc;
}

/* An Ogg Opus file cut off by a kill: its last whole page (checksum
 * good) is marked end of stream, anything after it (half a page) cut
 * away, so that players and opusinfo take it as a finished stream.
 * Returns the frames at 48 kHz (the page's granule position less the
 * pre-skip), or a negative errno. */
static long long mend_opus(const char *path)
{
	unsigned char *buf = malloc(65536 * 2);
	int preskip = 0, fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	long long frames = -EINVAL;
	ssize_t n;
	off_t size, base;
	size_t i;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	/* OpusHead is in the first page: its pre-skip at byte 10. */
	n = pread(fd, buf, 512, 0);
	for (i = 0; n > 0 && i + 12 <= (size_t)n; i++)
		if (!memcmp(buf + i, "OpusHead", 8)) {
			preskip = buf[i + 10] | buf[i + 11] << 8;
			break;
		}
	/* A page is at most 65307 bytes: the last whole one starts in the
	 * last 128 KiB. */
	size = lseek(fd, 0, SEEK_END);
	base = size > 65536 * 2 ? size - 65536 * 2 : 0;
	n = pread(fd, buf, 65536 * 2, base);
	for (i = n > 27 ? (size_t)n - 27 : 0; n > 27; i--) {
		size_t segs = buf[i + 26], body = 0, len, k;
		uint32_t crc;
		uint64_t g = 0;

		if (memcmp(buf + i, "OggS", 4) || i + 27 + segs > (size_t)n)
			goto next;
		for (k = 0; k < segs; k++)
			body += buf[i + 27 + k];
		len = 27 + segs + body;
		if (i + len > (size_t)n)
			goto next;
		crc = (uint32_t)buf[i + 22] | (uint32_t)buf[i + 23] << 8 | (uint32_t)buf[i + 24] << 16 |
		      (uint32_t)buf[i + 25] << 24;
		memset(buf + i + 22, 0, 4);
		if (ogg_crc(buf + i, len) != crc) {
			memcpy(buf + i + 22, &crc, 4); /* not a page after all: as it was */
			goto next;
		}
		for (k = 0; k < 8; k++)
			g |= (uint64_t)buf[i + 6 + k] << (8 * k);
		if (g == UINT64_MAX)
			goto next; /* no packet ends on this page */
		buf[i + 5] |= 0x04; /* end of stream */
		crc = ogg_crc(buf + i, len);
		buf[i + 22] = (unsigned char)crc;
		buf[i + 23] = (unsigned char)(crc >> 8);
		buf[i + 24] = (unsigned char)(crc >> 16);
		buf[i + 25] = (unsigned char)(crc >> 24);
		if (pwrite(fd, buf + i, 27, base + (off_t)i) != 27 || ftruncate(fd, base + (off_t)(i + len)) < 0 ||
		    fsync(fd) < 0)
			frames = -errno;
		else
			frames = g > (uint64_t)preskip ? (long long)(g - (uint64_t)preskip) : 0;
		break;
next:
		if (i == 0)
			break;
	}
	free(buf);
	close(fd);
	return frames;
}

/* Frames that decode, counted by reading them all (a FLAC header after a
 * kill says 0). */
static long long decoded_frames(const char *path, int *channels, int *rate, sf_count_t *header)
{
	SF_INFO info = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	const sf_count_t chunk = 8192;
	float *buf = sf && info.channels > 0 ? malloc((size_t)chunk * (size_t)info.channels * sizeof *buf) : NULL;
	long long total = 0;
	sf_count_t n;

	if (!buf) {
		if (sf)
			sf_close(sf);
		return -1;
	}
	*channels = info.channels;
	*rate = info.samplerate;
	*header = info.frames;
	while ((n = sf_readf_float(sf, buf, chunk)) > 0)
		total += n;
	free(buf);
	sf_close(sf);
	return total;
}

/* STREAMINFO's 36-bit total sample count, set in place: it starts 13.5
 * bytes into the block, after "fLaC" and the block's 4-byte header. */
static int set_flac_frames(const char *path, uint64_t frames)
{
	unsigned char h[26];
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h, "fLaC", 4) || (h[4] & 0x7f) != 0) {
		close(fd);
		return -EINVAL;
	}
	h[21] = (unsigned char)((h[21] & 0xf0) | ((frames >> 32) & 0x0f));
	h[22] = (unsigned char)(frames >> 24);
	h[23] = (unsigned char)(frames >> 16);
	h[24] = (unsigned char)(frames >> 8);
	h[25] = (unsigned char)frames;
	if (pwrite(fd, h + 21, 5, 21) != 5 || fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static uint32_t le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put_le32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
	b[2] = (unsigned char)(v >> 16);
	b[3] = (unsigned char)(v >> 24);
}

/* A RIFF WAV's header counts the frames of the last header refresh (once
 * a second); the frames written after it are in the file. The data
 * chunk's size (and RIFF's) set from the file's length, whole frames
 * only. Returns the frames, or a negative errno (RF64 is left alone). */
static long long set_wav_frames(const char *path)
{
	unsigned char h[12], c[8], fmt[16];
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	off_t at = 12, size;
	uint32_t align = 0;
	long long frames = -EINVAL;

	if (fd < 0)
		return -errno;
	size = lseek(fd, 0, SEEK_END);
	if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4))
		goto out;
	while (at + 8 <= size && pread(fd, c, sizeof c, at) == (ssize_t)sizeof c) {
		if (!memcmp(c, "fmt ", 4) && pread(fd, fmt, sizeof fmt, at + 8) == (ssize_t)sizeof fmt)
			align = (uint32_t)(fmt[12] | fmt[13] << 8);
		if (!memcmp(c, "data", 4)) {
			uint64_t bytes = align ? (uint64_t)(size - at - 8) / align * align : 0;
			if (!align || (uint64_t)at + bytes > UINT32_MAX) /* RIFF's size: at + 8 + bytes - 8 */
				break;
			put_le32(c + 4, (uint32_t)bytes);
			put_le32(h + 4, (uint32_t)(at + 8 + (off_t)bytes - 8));
			if (pwrite(fd, c, sizeof c, at) != (ssize_t)sizeof c || pwrite(fd, h, 8, 0) != 8 || fsync(fd) < 0)
				frames = -errno;
			else
				frames = (long long)(bytes / align);
			break;
		}
		at += 8 + (off_t)le32(c + 4) + (le32(c + 4) & 1);
	}
out:
	close(fd);
	return frames;
}

/* What the timeline said of the segment of `stamp`: its number, first
 * frame, and (from engines that write them) its first sample's UTC and
 * time reference, which the recovered files' manifest lines carry too. */
struct segment_facts {
	int has_time_reference;
	uint64_t time_reference;
	char first_sample[40];
	char floor_language[32];
};

static void segment_of(const char *dir, const char *stamp, int *segment, uint64_t *first_frame,
		       struct segment_facts *facts)
{
	char path[RECOVERY_PATH_MAX + 32], line[1024], want[96];
	FILE *f;

	*segment = 0;
	*first_frame = 0;
	memset(facts, 0, sizeof *facts);
	snprintf(path, sizeof path, "%s/timeline.jsonl", dir);
	snprintf(want, sizeof want, "\"stamp\":\"%s\"", stamp);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof line, f)) {
		const char *s, *fr;
		if (!strstr(line, "\"event\":\"segment-start\"") || !strstr(line, want))
			continue;
		if ((s = strstr(line, "\"segment\":")))
			*segment = atoi(s + 10);
		if ((fr = strstr(line, "\"frame\":")))
			*first_frame = strtoull(fr + 8, NULL, 10);
		if ((s = strstr(line, "\"time_reference\":"))) {
			facts->time_reference = strtoull(s + 17, NULL, 10);
			facts->has_time_reference = 1;
		}
		if ((s = strstr(line, "\"first_sample\":\"")))
			sscanf(s + 16, "%39[^\"]", facts->first_sample);
		if ((s = strstr(line, "\"floor_language\":\"")))
			sscanf(s + 18, "%31[^\"]", facts->floor_language);
	}
	fclose(f);
}

/* <meeting>_<channel>_<stamp>.<ext>: the channel and the stamp. */
static int split_name(const struct lost_file *l, char *channel, size_t clen, char *stamp, size_t slen,
		      char *format, size_t flen)
{
	const char *dot = strrchr(l->base, '.'), *us;
	size_t mlen = strlen(l->meeting);

	if (!dot || strncmp(l->base, l->meeting, mlen) || l->base[mlen] != '_')
		return -EINVAL;
	for (us = dot; us > l->base + mlen && *us != '_'; us--)
		;
	if (us <= l->base + mlen)
		return -EINVAL;
	snprintf(channel, clen, "%.*s", (int)(us - l->base - mlen - 1), l->base + mlen + 1);
	snprintf(stamp, slen, "%.*s", (int)(dot - us - 1), us + 1);
	snprintf(format, flen, "%s", dot + 1);
	return 0;
}

static void timeline_note(const char *dir, uint64_t frame, int segment, int files)
{
	char path[RECOVERY_PATH_MAX + 32], line[512], when[UTC_ISO_MAX];
	const int64_t ms = utc_now_ms();
	int fd, n;

	snprintf(path, sizeof path, "%s/timeline.jsonl", dir);
	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	utc_iso_ms(ms, when);
	n = snprintf(line, sizeof line,
		     "{\"time_ms\":%lld,\"time\":\"%s\",\"frame\":%llu,\"event\":\"recovered\",\"segment\":%d,"
		     "\"files\":%d,\"reason\":\"the engine stopped without closing this segment\"}\n",
		     (long long)ms, when, (unsigned long long)frame, segment, files);
	if (write(fd, line, (size_t)n) != n) {
		/* the manifest has it; the timeline line is a courtesy */
	}
	close(fd);
}

/* Mends one file and lists it. Returns 0 or a negative errno. */
static int mend(struct lost_file *l, int *segment, uint64_t *first_frame, uint64_t *frames_out, int *rate_out)
{
	char path[RECOVERY_PATH_MAX + 330], channel[128], stamp[64], format[8], why[512];
	struct manifest_entry m;
	struct segment_facts facts;
	long long frames;
	int channels = 0, rate = 48000, ret;
	sf_count_t header = 0;

	if (split_name(l, channel, sizeof channel, stamp, sizeof stamp, format, sizeof format) < 0)
		return -EINVAL;
	snprintf(path, sizeof path, "%s/%s", l->dir, l->base);
	if (!strcmp(format, "opus")) {
		frames = mend_opus(path);
	} else if (!strcmp(format, "wav") && set_wav_frames(path) < 0) {
		return -EIO;
	} else {
		frames = decoded_frames(path, &channels, &rate, &header);
		if (frames >= 0 && !strcmp(format, "flac") && header != frames &&
		    (ret = set_flac_frames(path, (uint64_t)frames)) < 0)
			return ret;
	}
	if (frames < 0)
		return -EIO;
	segment_of(l->dir, stamp, segment, first_frame, &facts);
	m = (struct manifest_entry){ .path = path, .channel = channel, .format = format, .segment = *segment,
				     .first_frame = *first_frame, .frames = (uint64_t)frames, .rate = (uint32_t)rate,
				     .recovered = 1, .has_time_reference = facts.has_time_reference,
				     .time_reference = facts.time_reference,
				     .first_sample = *facts.first_sample ? facts.first_sample : NULL,
				     .language = !strcmp(channel, "floor") && *facts.floor_language ? facts.floor_language
												     : NULL };
	*frames_out = (uint64_t)frames;
	*rate_out = rate;
	return manifest_append(l->dir, &m, why, sizeof why);
}

static void *recover_thread(void *arg)
{
	struct recovery *rc = arg;
	int i, j;

	thread_role_set(THREAD_RECOVERY);
	pthread_setname_np(pthread_self(), "tolk-recover");
	for (i = 0; i < rc->n; i = j) {
		char line[RECOVERY_PATH_MAX + 128];
		int mended = 0, failed = 0, segment = 0, rate = 48000;
		uint64_t first = 0, frames = 0, most = 0;

		/* One meeting folder at a time: its files, then its manifest. */
		for (j = i; j < rc->n && !strcmp(rc->files[j].dir, rc->files[i].dir); j++) {
			if (mend(&rc->files[j], &segment, &first, &frames, &rate) == 0) {
				mended++;
				most = frames > most ? frames : most;
			} else {
				failed++;
			}
		}
		if (mended) {
			/* A reserve the kill left stays: a recording may be going on
			 * in this folder again, and it takes the reserve over. */
			manifest_rewrite(rc->files[i].dir, rc->files[i].meeting, (uint32_t)rate);
			timeline_note(rc->files[i].dir, first + most, segment, mended);
		}
		snprintf(line, sizeof line, "recovered %d file(s) of %s left open by an unclean stop%s", mended,
			 rc->files[i].dir, failed ? "; some could not be read (see the folder)" : "");
		if (rc->say)
			rc->say(line);
	}
	return NULL;
}

struct recovery *recovery_start(const char *root, void (*say)(const char *line))
{
	struct recovery *rc = calloc(1, sizeof *rc);
	struct dirent *e;
	DIR *d;

	if (!rc || !root)
		goto out_none;
	d = opendir(root);
	if (!d)
		goto out_none;
	rc->say = say;
	while ((e = readdir(d))) {
		char dir[RECOVERY_PATH_MAX];
		if (e->d_name[0] == '.' || !is_type(root, e, S_IFDIR))
			continue;
		snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
		scan_meeting(rc, dir, e->d_name);
	}
	closedir(d);
	if (!rc->n || pthread_create(&rc->thread, NULL, recover_thread, rc))
		goto out_none;
	return rc;
out_none:
	if (rc)
		free(rc->files);
	free(rc);
	return NULL;
}

void recovery_finish(struct recovery *rc)
{
	if (!rc)
		return;
	pthread_join(rc->thread, NULL);
	free(rc->files);
	free(rc);
}
