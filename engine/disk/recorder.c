#include "recorder.h"
#include "streamer.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "../core/thread_role.h"
#include "../core/utc_time.h"
#include "encoder.h"
#include "manifest.h"
#include "sha256_file.h"

#define RECORDER_CHUNK 4096     /* frames handed to the encoders at a time */
#define RECORDER_SYNC_MS 1000   /* headers refreshed and data synced this often */
#define RECORDER_IDLE_MS 200    /* the thread's longest sleep */
#define RECORDER_STOP_MS 500    /* longest wait for the last blocks after disarming */
#define RECORDER_DRAIN_MS 100   /* longest stretch of encoding between requests */

#ifndef TOLK_VERSION
#define TOLK_VERSION "0.1.0"
#endif

/* ---- time and names ---------------------------------------------------- */

/* ---- set-up -------------------------------------------------------------- */

static void wake_disk(void *user)
{
	sem_post(&((struct recorder *)user)->wake); /* async-signal-safe, never blocks */
}

static int wants_channel(const struct cfg_recording *rc, const char *name)
{
	int i;
	if (rc->all_channels)
		return 1;
	for (i = 0; i < rc->n_channels; i++)
		if (!strcmp(rc->channels[i], name))
			return 1;
	return 0;
}

int recorder_channels(const struct config *cfg, struct recorder_channel **out)
{
	const struct cfg_recording *rc = &cfg->recording;
	struct recorder_channel *list = calloc((size_t)(1 + cfg->n_languages + cfg->n_mics), sizeof *list);
	int i, n = 0;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!list)
		return -ENOMEM;
	if (wants_channel(rc, "floor"))
		list[n++] = (struct recorder_channel){ .name = "floor", .display = "floor", .is_floor = 1, .source = 0 };
	for (i = 0; i < cfg->n_languages; i++)
		if (wants_channel(rc, cfg->languages[i].code)) {
			snprintf(list[n].name, sizeof list[n].name, "%s", cfg->languages[i].code);
			snprintf(list[n].display, sizeof list[n].display, "%s", cfg->languages[i].name);
			snprintf(list[n].language, sizeof list[n].language, "%s", cfg->languages[i].code);
			list[n++].source = config_output_of_language(cfg, i);
		}
	if (rc->mics)
		for (i = 0; i < cfg->n_mics; i++) {
			int console = 0, booth = config_booth_of_mic(cfg, i, &console);
			config_input_name(cfg, config_input_of_mic(cfg, i), list[n].name, sizeof list[n].name);
			if (booth >= 0) {
				const struct cfg_booth *b = &cfg->booths[booth];
				snprintf(list[n].display, sizeof list[n].display, "%s booth, console %d mic", b->id,
					 console);
				/* An interpreter speaks the booth's A language. */
				if (b->n_outputs > 0)
					snprintf(list[n].language, sizeof list[n].language, "%s",
						 cfg->languages[b->outputs[0]].code);
			} else {
				snprintf(list[n].display, sizeof list[n].display, "%s", list[n].name);
			}
			list[n++].source = -(config_input_of_mic(cfg, i) + 1);
		}
	*out = list;
	return n;
}

/* Frees the allocations; the semaphore and mutex are the caller's. */
static void release(struct recorder *r)
{
	int i;

	for (i = 0; r->meters && i < r->n_channels; i++)
		segment_meter_free(&r->meters[i]);
	free(r->meters);
	free(r->seg_loud);
	capture_free(&r->capture);
	free(r->channels);
	free(r->files);
	free(r->closing);
	free(r->pub_files);
	free(r->scratch);
	free(r->silence);
	memset(r, 0, sizeof *r);
}

int recorder_init(struct recorder *r, const struct config *cfg, const char *root, uint32_t rate,
		  const struct xrun_log *xruns, char *err, size_t errlen)
{
	const struct cfg_recording *rc = &cfg->recording;
	int ret;

	ASSERT_THREAD(THREAD_CONTROL);
	memset(r, 0, sizeof *r);
	r->rate = rate;
	r->xruns = xruns;
	r->timeline_fd = -1;
	r->opus_bitrate = rc->opus_bitrate;
	r->opus_complexity = rc->opus_complexity;
	r->loudness_on = rc->loudness;
	snprintf(r->floor_language, sizeof r->floor_language, "%s", cfg->floor_language);
	snprintf(r->default_meeting, sizeof r->default_meeting, "%s", cfg->meeting);
	snprintf(r->root, sizeof r->root, "%s", root && *root ? root : rc->dir);
	if ((ret = recorder_channels(cfg, &r->channels)) < 0)
		goto fail_nomem;
	r->n_channels = ret;
	if (rc->formats & RECORD_WAV)
		r->formats[r->n_formats++] = &encoder_wav;
	if (rc->formats & RECORD_FLAC)
		r->formats[r->n_formats++] = &encoder_flac;
	if (rc->formats & RECORD_OPUS)
		r->formats[r->n_formats++] = &encoder_opus;
	r->segment_frames = (uint64_t)llround(rc->segment_minutes * 60.0 * rate);
	if (r->segment_frames < 1)
		r->segment_frames = 1;
	r->files = calloc((size_t)(r->n_channels * r->n_formats), sizeof *r->files);
	r->closing = calloc((size_t)(r->n_channels * r->n_formats), sizeof *r->closing);
	r->pub_files = calloc((size_t)(r->n_channels * r->n_formats), sizeof *r->pub_files);
	r->scratch = calloc((size_t)r->n_channels * RECORDER_CHUNK, sizeof *r->scratch);
	r->silence = calloc(RECORDER_CHUNK, sizeof *r->silence);
	r->meters = rc->loudness ? calloc((size_t)r->n_channels + 1, sizeof *r->meters) : NULL;
	r->seg_loud = calloc((size_t)r->n_channels + 1, sizeof *r->seg_loud);
	if (!r->files || !r->closing || !r->pub_files || !r->scratch || !r->silence ||
	    (rc->loudness && !r->meters) || !r->seg_loud)
		goto fail_nomem;
	ret = capture_init(&r->capture, r->n_channels, (uint32_t)ceil(rc->buffer_seconds * rate));
	if (ret < 0) {
		snprintf(err, errlen, "cannot allocate recording buffers: %s", strerror(-ret));
		goto fail;
	}
	r->capture.wake = wake_disk;
	r->capture.wake_user = r;
	if (sem_init(&r->wake, 0, 0) < 0 || pthread_mutex_init(&r->lock, NULL) != 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot set up the recorder: %s", strerror(errno));
		goto fail;
	}
	return 0;

fail_nomem:
	ret = -ENOMEM;
	snprintf(err, errlen, "out of memory");
fail:
	release(r);
	return ret;
}

void recorder_free(struct recorder *r)
{
	ASSERT_THREAD(THREAD_CONTROL);
	if (!r || !r->channels)
		return;
	sem_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	release(r);
}

/* ---- the disk thread's files ---------------------------------------------- */

static void set_alarm(struct recorder *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_alarm(struct recorder *r, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&r->lock);
	/* One waits at a time; the first says what went wrong, what follows
	 * is usually its echo. */
	if (!r->alarm_pending) {
		va_start(ap, fmt);
		vsnprintf(r->alarm, sizeof r->alarm, fmt, ap);
		va_end(ap);
		snprintf(r->pub_error, sizeof r->pub_error, "%s", r->alarm);
		r->alarm_pending = 1;
	}
	pthread_mutex_unlock(&r->lock);
}

/* One JSON line into timeline.jsonl, with time and JACK frame. */
static int timeline_write(struct recorder *r, uint64_t frame, const char *fields)
{
	char line[RECORDER_LINE_MAX + 128], when[40];
	int64_t ms = utc_now_ms();
	size_t len;
	ssize_t n;

	if (r->timeline_fd < 0)
		return 0;
	utc_iso_ms(ms, when);
	snprintf(line, sizeof line, "{\"time_ms\":%lld,\"time\":\"%s\",\"frame\":%llu,%s}\n", (long long)ms,
		 when, (unsigned long long)frame, fields);
	len = strlen(line);
	n = write(r->timeline_fd, line, len);
	return n == (ssize_t)len ? 0 : -(n < 0 ? errno : ENOSPC);
}

/* Each xrun since the last look, at the JACK frame where it fell, as far
 * as the log still has it: a glitch found in a file matches its line. */
static void timeline_xruns(struct recorder *r, uint32_t count)
{
	char fields[160];
	uint32_t i;

	for (i = r->xruns_seen; i != count; i++) {
		uint64_t at = xrun_log_frame(r->xruns, i);
		if (at == UINT64_MAX || at < r->seg_first_frame)
			at = r->seg_first_frame + r->seg_frames; /* written over: where the recording is */
		snprintf(fields, sizeof fields, "\"event\":\"xrun\",\"count\":1,\"total\":%u", i + 1);
		timeline_write(r, at, fields);
	}
}

static void publish(struct recorder *r)
{
	int i;
	pthread_mutex_lock(&r->lock);
	r->pub_state = r->state;
	snprintf(r->pub_meeting, sizeof r->pub_meeting, "%s", r->meeting);
	r->pub_frames = r->frames_recorded;
	r->pub_segment = r->segment;
	r->pub_n_files = 0;
	for (i = 0; i < r->n_files; i++)
		if (r->files[i].enc)
			snprintf(r->pub_files[r->pub_n_files++], sizeof r->pub_files[0], "%s", r->files[i].path);
	pthread_mutex_unlock(&r->lock);
}

/* ---- the manifest's reserve ---------------------------------------------------
 * A full disk must not cost the manifest: while recording, the meeting
 * folder holds a reserve file as big as the manifest will need at the end
 * of this segment (its lines, manifest.json and the copy made while it is
 * replaced, and the timeline's last lines). When the disk fills, the
 * reserve goes first and the manifest is written into its room. */
#define RESERVE_NAME ".manifest.reserve"
#define RESERVE_PER_FILE 1024 /* a manifest line, with room to spare */
#define RESERVE_EXTRA 16384   /* timeline lines, manifest.json's frame */

static void reserve_path(const struct recorder *r, char *path, size_t len)
{
	snprintf(path, len, "%s/" RESERVE_NAME, r->meeting_dir);
}

static void keep_reserve(struct recorder *r)
{
	char path[RECORDER_PATH_MAX];
	struct stat st;
	off_t lines = 0, want;
	int fd;

	snprintf(path, sizeof path, "%s/manifest.jsonl", r->meeting_dir);
	if (stat(path, &st) == 0)
		lines = st.st_size;
	want = 3 * (lines + (off_t)r->n_files * RESERVE_PER_FILE) + RESERVE_EXTRA;
	reserve_path(r, path, sizeof path);
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_size < want && posix_fallocate(fd, 0, want) != 0)
		set_alarm(r, "no room left to reserve for the manifest of %s", r->meeting);
	close(fd);
}

static void release_reserve(struct recorder *r)
{
	char path[RECORDER_PATH_MAX];

	reserve_path(r, path, sizeof path);
	unlink(path);
}

/* ---- the segment's loudness ---------------------------------------------
 * Every recorded channel is measured as it is written (segment_loudness.h),
 * from its segment's first sample to its last, so that bext, the Opus tags
 * and the manifest can say it at close. The disk thread measures, beside
 * the Opus workers. */

/* A new measurement per channel for a new segment. */
static void loudness_restart(struct recorder *r)
{
	int ch;

	for (ch = 0; r->meters && ch < r->n_channels; ch++) {
		segment_meter_free(&r->meters[ch]);
		/* Out of memory: that channel's loudness is "not measured". */
		segment_meter_init(&r->meters[ch], r->rate);
	}
}

static void loudness_add(struct recorder *r, int ch, const float *pcm, uint32_t n)
{
	if (r->meters)
		segment_meter_add(&r->meters[ch], pcm, n);
}

static int summarise_share(void *arg, int worker, int n_workers)
{
	struct recorder *r = arg;
	int ch;

	for (ch = worker; ch < r->n_channels; ch += n_workers)
		if (r->meters)
			segment_meter_result(&r->meters[ch], &r->seg_loud[ch]);
		else
			r->seg_loud[ch] = (struct segment_loudness){ NAN, NAN, NAN, NAN, NAN };
	return 0;
}

/* Worker w of n closes and hashes its share of the segment's files. */
static int close_share(void *arg, int worker, int n_workers)
{
	struct recorder *r = arg;
	int i;

	for (i = worker; i < r->n_files; i += n_workers) {
		struct recorder_file *f = &r->files[i];
		f->close_ret = 0;
		if (!f->enc)
			continue;
		if (f->ops->set_loudness)
			f->ops->set_loudness(f->enc, &r->seg_loud[f->channel]);
		f->close_ret = f->ops->close(f->enc);
		f->enc = NULL;
		if (sha256_file(f->path, f->sha256) < 0)
			f->sha256[0] = 0;
	}
	return 0;
}

/* Closes the segment's files and puts them in the manifest. Closing and
 * hashing run on every core (the encode pool, when there is one): a
 * 127-channel segment is final within a second or two of its end, not
 * one file after another. `clean` is false after a disk error: close
 * what can be closed, report the rest. */
static void close_segment(struct recorder *r, int clean)
{
	char fields[256], why[RECORDER_LINE_MAX];
	int i, ret, bad = 0;

	if (r->pool.n_workers > 0) {
		encode_pool_fork(&r->pool, summarise_share, r);
		encode_pool_join(&r->pool);
		encode_pool_fork(&r->pool, close_share, r);
		encode_pool_join(&r->pool);
	} else {
		summarise_share(r, 0, 1);
		close_share(r, 0, 1);
	}
	for (i = 0; i < r->n_files; i++) {
		struct recorder_file *f = &r->files[i];
		if (f->close_ret < 0 && clean)
			set_alarm(r, "closing %s failed: %s", f->path, strerror(-f->close_ret));
		bad |= f->close_ret < 0;
		r->closing[i] = (struct manifest_entry){
			.path = f->path, .channel = r->channels[f->channel].name, .format = f->ops->name,
			.segment = r->segment, .first_frame = r->seg_first_frame, .frames = r->seg_frames,
			.rate = r->rate, .sha256 = f->sha256[0] ? f->sha256 : "unreadable",
			.reference = f->reference, .has_time_reference = 1, .time_reference = r->seg_time_ref,
			.language = r->channels[f->channel].is_floor ? r->seg_floor_language
								     : r->channels[f->channel].language,
			.first_sample = r->seg_date, .loudness = r->loudness_on ? &r->seg_loud[f->channel] : NULL,
		};
	}
	if (manifest_append_all(r->meeting_dir, r->closing, r->n_files, why, sizeof why) < 0)
		set_alarm(r, "%s", why);
	r->n_files = 0;
	if ((ret = manifest_rewrite(r->meeting_dir, r->meeting, r->rate)) < 0)
		set_alarm(r, "cannot rewrite (or sign) %s/manifest.json: %s", r->meeting_dir, strerror(-ret));
	snprintf(fields, sizeof fields, "\"event\":\"segment-end\",\"segment\":%d,\"frames\":%llu%s", r->segment,
		 (unsigned long long)r->seg_frames, bad ? ",\"error\":true" : "");
	timeline_write(r, r->seg_first_frame + r->seg_frames, fields);
}

/* ---- time references ------------------------------------------------------ */
#define DAY_US 86400000000LL

static int64_t realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The recording's first sample in UTC: the block's JACK stamp carried over
 * to the wall clock (now, less how long ago that was on JACK's clock), or
 * now when the block has no stamp. */
static void set_time_base(struct recorder *r, const struct capture_block *b)
{
	int64_t first_us = realtime_us();

	if (b->usecs && r->clock_us) {
		uint64_t jack_now = r->clock_us();
		if (jack_now >= b->usecs && jack_now - b->usecs < 60 * 1000000ULL)
			first_us -= (int64_t)(jack_now - b->usecs);
	}
	r->rec_day_us = first_us / DAY_US * DAY_US;
	r->rec_ref0 = (uint64_t)llround((double)(first_us - r->rec_day_us) * r->rate / 1e6);
	r->rec_frame0 = b->frame;
}

/* A segment starting on JACK frame `frame`: its time reference counted on
 * from the last one in frames (JACK's frame time is 32 bits: differences
 * are taken modulo 2^32, and a segment is at most a day), wrapped at
 * midnight, and its UTC. */
static void segment_time(struct recorder *r, uint64_t frame)
{
	const uint64_t per_day = 86400ULL * r->rate;
	uint64_t days;

	r->rec_ref0 += (uint32_t)((uint32_t)frame - (uint32_t)r->rec_frame0);
	r->rec_frame0 = frame;
	days = r->rec_ref0 / per_day;
	r->seg_time_ref = r->rec_ref0 % per_day;
	r->seg_first_us = r->rec_day_us + (int64_t)days * DAY_US + (int64_t)(r->seg_time_ref * 1000000ULL / r->rate);
}

/* Unique per file (bext OriginatorReference, 32 characters at most). */
static void make_reference(char ref[33])
{
	uint64_t v;

	if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
		v = (uint64_t)realtime_us() ^ (uint64_t)(uintptr_t)ref;
	snprintf(ref, 33, "TOLK-%016llx", (unsigned long long)v);
}

static int make_file(const char *path)
{
	/* Read too: an encoder may check what it wrote before editing it in
	 * place at close (the Opus tags page). */
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd >= 0)
		fchmod(fd, 0640); /* whatever the umask */
	return fd < 0 ? -errno : fd;
}

/* A new file set starting on JACK frame `frame`. Names are never reused:
 * when any file of the set exists, the whole set takes -2, -3, ... */
static int open_segment(struct recorder *r, uint64_t frame)
{
	char stamp[32], suffix[16] = "", fields[640], floor_language[TOLK_ID_MAX];
	int64_t ms;
	int k, i, j, ret, clash;

	segment_time(r, frame);
	ms = r->seg_first_us / 1000;
	utc_format(ms, "%Y%m%dT%H%M%SZ", stamp, sizeof stamp);
	utc_iso_ms(ms, r->seg_date);
	pthread_mutex_lock(&r->lock);
	snprintf(floor_language, sizeof floor_language, "%s", r->floor_language);
	pthread_mutex_unlock(&r->lock);
	snprintf(r->seg_floor_language, sizeof r->seg_floor_language, "%s", floor_language);
	for (k = 1;; k++) {
		if (k > 1)
			snprintf(suffix, sizeof suffix, "-%d", k);
		clash = 0;
		for (i = 0; i < r->n_channels && !clash; i++)
			for (j = 0; j < r->n_formats && !clash; j++) {
				char path[RECORDER_PATH_MAX];
				snprintf(path, sizeof path, "%s/%s_%s_%s%s.%s", r->meeting_dir, r->meeting,
					 r->channels[i].name, stamp, suffix, r->formats[j]->ext);
				clash = access(path, F_OK) == 0;
			}
		if (!clash)
			break;
	}
	r->n_files = 0;
	for (i = 0; i < r->n_channels; i++)
		for (j = 0; j < r->n_formats; j++) {
			struct recorder_file *f = &r->files[r->n_files];
			const struct recorder_channel *c = &r->channels[i];
			char title[256], err[256];
			struct encoder_info info = {
				.rate = r->rate, .opus_bitrate = r->opus_bitrate,
				.opus_complexity = r->opus_complexity,
				.title = title, .language = c->is_floor ? floor_language : c->language,
				.date = r->seg_date, .software = "tolk " TOLK_VERSION,
				.meeting = r->meeting, .channel = c->name, .channel_name = c->display,
				.reference = f->reference, .has_time_reference = 1,
				.time_reference = r->seg_time_ref, .first_sample_us = r->seg_first_us,
			};

			snprintf(f->path, sizeof f->path, "%s/%s_%s_%s%s.%s", r->meeting_dir, r->meeting,
				 r->channels[i].name, stamp, suffix, r->formats[j]->ext);
			/* As the listener streams name it. */
			snprintf(title, sizeof title, "%s: %s", r->meeting, c->display);
			make_reference(f->reference);
			f->ops = r->formats[j];
			f->channel = i;
			ret = make_file(f->path);
			if (ret < 0) {
				set_alarm(r, "cannot create %s: %s", f->path, strerror(-ret));
				goto fail;
			}
			info.fd = ret;
			f->enc = f->ops->open(&info, err, sizeof err);
			if (!f->enc) {
				set_alarm(r, "cannot start %s: %s", f->path, err);
				ret = -EIO;
				goto fail;
			}
			r->n_files++;
		}
	r->segment++;
	r->seg_first_frame = frame;
	r->seg_frames = 0;
	loudness_restart(r);
	pthread_mutex_lock(&r->lock);
	if (r->n_notices < 8)
		snprintf(r->notices[r->n_notices++], RECORDER_LINE_MAX, "recording %s: segment %d started (%s%s)",
			 r->meeting, r->segment, stamp, suffix);
	pthread_mutex_unlock(&r->lock);
	/* The first sample's UTC and time reference, as every file of the
	 * segment carries them (bext, tags, manifest). */
	snprintf(fields, sizeof fields, "\"event\":\"segment-start\",\"segment\":%d,\"stamp\":\"%s%s\","
		 "\"first_sample\":\"%s\",\"first_sample_us\":%lld,\"time_reference\":%llu,\"floor_language\":\"%s\"",
		 r->segment, stamp, suffix, r->seg_date, (long long)r->seg_first_us,
		 (unsigned long long)r->seg_time_ref, floor_language);
	timeline_write(r, frame, fields);
	keep_reserve(r);
	return 0;
fail:
	for (i = 0; i < r->n_files; i++) {
		r->files[i].ops->close(r->files[i].enc);
		r->files[i].enc = NULL;
	}
	r->n_files = 0;
	return ret;
}

static void close_timeline(struct recorder *r)
{
	if (r->timeline_fd >= 0) {
		fsync(r->timeline_fd);
		close(r->timeline_fd);
		r->timeline_fd = -1;
	}
}

/* Disk trouble: recording stops, routing is not touched, the alarm goes to
 * the control room. What was written stays decodable. */
static void fail_recording(struct recorder *r, const char *what, int err)
{
	char fields[512];

	atomic_store_explicit(&r->capture.armed, r->streamer != NULL, memory_order_release);
	/* The room kept for this moment: the manifest and the last timeline
	 * lines must fit even on a full disk. */
	release_reserve(r);
	set_alarm(r, "recording stopped: %s: %s", what, strerror(err));
	pthread_mutex_lock(&r->lock);
	r->failures++;
	pthread_mutex_unlock(&r->lock);
	snprintf(fields, sizeof fields, "\"event\":\"disk-error\",\"error\":\"%s: %s\"", what, strerror(err));
	timeline_write(r, r->seg_first_frame + r->seg_frames, fields);
	close_segment(r, 0);
	timeline_write(r, r->seg_first_frame + r->seg_frames, "\"event\":\"record-stop\",\"reason\":\"disk error\"");
	close_timeline(r);
	r->state = RECORDER_FAILED;
}

/* One encoder pool worker's share of the chunk: every n-th Opus file. */
static int write_opus_share(void *arg, int worker, int n_workers)
{
	struct recorder *r = arg;
	int i, k = 0, ret;
	for (i = 0; i < r->n_files; i++) {
		struct recorder_file *f = &r->files[i];
		if (f->ops != &encoder_opus || k++ % n_workers != worker)
			continue;
		ret = f->ops->write(f->enc, r->job_chans ? r->job_chans[f->channel] + r->job_off : r->silence,
				    r->job_take);
		if (ret < 0) {
			r->job_failed[worker] = i;
			return ret;
		}
	}
	return 0;
}

/* Writes n frames (n <= RECORDER_CHUNK) of every channel, from chans[ch]
 * or silence, rolling the segment on its exact frame. The Opus files go to
 * the encoder pool while this thread writes the others. */
static int write_frames(struct recorder *r, float *const *chans, uint32_t n)
{
	uint32_t off = 0;
	int i, ret;

	while (off < n && r->state == RECORDER_RECORDING) {
		uint64_t room = r->segment_frames - r->seg_frames;
		uint32_t take = n - off < room ? n - off : (uint32_t)room;
		const int pooled = r->pool.n_workers > 0;

		if (pooled) {
			r->job_chans = chans;
			r->job_off = off;
			r->job_take = take;
			encode_pool_fork(&r->pool, write_opus_share, r);
		}
		for (i = 0, ret = 0; i < r->n_files && ret >= 0; i++) {
			struct recorder_file *f = &r->files[i];
			if (pooled && f->ops == &encoder_opus)
				continue;
			ret = f->ops->write(f->enc, chans ? chans[f->channel] + off : r->silence, take);
		}
		/* The loudness here, while the workers encode Opus: FLAC leaves
		 * this thread the lighter load, and the chunk is done when the
		 * slower side is. */
		for (i = 0; i < r->n_channels; i++)
			loudness_add(r, i, chans ? chans[i] + off : r->silence, take);
		if (pooled) {
			int pool_ret = encode_pool_join(&r->pool), w;
			if (ret >= 0 && pool_ret < 0) {
				for (w = 0; w < r->pool.n_workers && r->pool.ret[w] >= 0; w++)
					;
				i = r->job_failed[w] + 1;
				ret = pool_ret;
			}
		}
		if (ret < 0) {
			fail_recording(r, r->files[i - 1].path, -ret);
			return ret;
		}
		r->seg_frames += take;
		r->frames_recorded += take;
		off += take;
		if (r->seg_frames == r->segment_frames) {
			uint64_t next = r->seg_first_frame + r->seg_frames;
			close_segment(r, 1);
			if ((ret = open_segment(r, next)) < 0) {
				fail_recording(r, "a new segment", -ret);
				return ret;
			}
		}
	}
	return 0;
}

static int begin_recording(struct recorder *r, const struct capture_block *b)
{
	const uint64_t frame = b->frame;
	char path[RECORDER_PATH_MAX], fields[512];
	int ret;

	snprintf(path, sizeof path, "%s/timeline.jsonl", r->meeting_dir);
	r->timeline_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (r->timeline_fd < 0) {
		fail_recording(r, path, errno);
		return -1;
	}
	r->segment = r->first_segment;
	r->frames_recorded = 0;
	set_time_base(r, b);
	snprintf(fields, sizeof fields, "\"event\":\"record-start\",\"meeting\":\"%s\",\"rate\":%u,"
		 "\"channels\":%d,\"formats\":%d%s", r->meeting, r->rate, r->n_channels, r->n_formats,
		 r->first_segment ? ",\"continued\":true" : "");
	timeline_write(r, frame, fields);
	r->state = RECORDER_RECORDING;
	if ((ret = open_segment(r, frame)) < 0) {
		fail_recording(r, "the first segment", -ret);
		return -1;
	}
	return 0;
}

static void process_block(struct recorder *r, const struct capture_block *b)
{
	float *chans[64];
	float **ptrs = r->n_channels <= 64 ? chans : malloc((size_t)r->n_channels * sizeof *ptrs);
	uint32_t done = 0, left;
	char fields[256];
	int ch;

	if (!ptrs)
		return;
	for (ch = 0; ch < r->n_channels; ch++)
		ptrs[ch] = r->scratch + (size_t)ch * RECORDER_CHUNK;
	if (r->state == RECORDER_ARMING) {
		if (begin_recording(r, b) < 0)
			goto discard;
		r->next_block_frame = b->frame;
	}
	/* JACK's frame time jumped between two cycles (at an xrun: cycles it
	 * never ran, or a frame time it gave twice). The files go on without a
	 * hole; the timeline says where in them it happened, so that a glitch
	 * heard there has its reason. */
	if (r->state == RECORDER_RECORDING && b->frame != r->next_block_frame + b->dropped) {
		snprintf(fields, sizeof fields, "\"event\":\"discontinuity\",\"segment\":%d,\"at\":%llu,\"jack_frames\":%lld",
			 r->segment, (unsigned long long)(r->seg_frames + b->dropped),
			 (long long)(b->frame - (r->next_block_frame + b->dropped)));
		timeline_write(r, b->frame, fields);
	}
	r->next_block_frame = b->frame + b->frames;
	if (b->dropped && r->state == RECORDER_RECORDING) {
		snprintf(fields, sizeof fields, "\"event\":\"dropped\",\"frames\":%u,\"channel\":\"all\"", b->dropped);
		timeline_write(r, b->frame, fields);
		for (left = b->dropped; left && r->state == RECORDER_RECORDING;) {
			uint32_t take = left < RECORDER_CHUNK ? left : RECORDER_CHUNK;
			write_frames(r, NULL, take);
			left -= take;
		}
	}
	while (done < b->frames) {
		uint32_t take = b->frames - done < RECORDER_CHUNK ? b->frames - done : RECORDER_CHUNK;
		for (ch = 0; ch < r->n_channels; ch++)
			capture_read(&r->capture, ch, ptrs[ch], take);
		if (r->state == RECORDER_RECORDING)
			write_frames(r, ptrs, take);
		if (r->streamer)
			streamer_write(r->streamer, ptrs, take);
		done += take;
	}
	capture_release_block(&r->capture);
	goto out;
discard: /* recording could not begin: the block is consumed unwritten */
	for (done = 0; done < b->frames;) {
		uint32_t take = b->frames - done < RECORDER_CHUNK ? b->frames - done : RECORDER_CHUNK;
		for (ch = 0; ch < r->n_channels; ch++)
			capture_read(&r->capture, ch, r->scratch, take);
		done += take;
	}
	capture_release_block(&r->capture);
out:
	if (ptrs != chans)
		free(ptrs);
}

/* Drains every block queued now. Returns how many there were. */
/* Processes queued blocks until none is left or `until` (UTC ms; 0: no
 * limit) has passed. Returns how many. A recorder that only just keeps up
 * always has a block waiting: the limit lets it look at its requests, sync
 * and publish between them. */
static int drain(struct recorder *r, int64_t until)
{
	struct capture_block b;
	int n = 0;

	while (capture_next(&r->capture, &b) == 0) {
		process_block(r, &b);
		n++;
		if (until && utc_now_ms() >= until)
			break;
	}
	return n;
}

static void sync_files(struct recorder *r)
{
	int i, ret;

	for (i = 0; i < r->n_files && r->state == RECORDER_RECORDING; i++) {
		ret = r->files[i].ops->sync(r->files[i].enc);
		if (ret < 0)
			fail_recording(r, r->files[i].path, -ret);
	}
	if (r->timeline_fd >= 0)
		fsync(r->timeline_fd);
}

static void flush_queue(struct recorder *r)
{
	char lines[RECORDER_QUEUE][RECORDER_LINE_MAX];
	int n, i;

	pthread_mutex_lock(&r->lock);
	n = r->n_queued;
	memcpy(lines, r->queue, (size_t)n * sizeof lines[0]);
	r->n_queued = 0;
	pthread_mutex_unlock(&r->lock);
	/* Each queued line starts with its frame: "<frame> <fields>". */
	for (i = 0; i < n; i++) {
		char *fields;
		unsigned long long frame = strtoull(lines[i], &fields, 10);
		timeline_write(r, frame, fields + 1);
	}
}

static void stop_recording(struct recorder *r)
{
	int64_t deadline;
	int quiet = 0;

	atomic_store_explicit(&r->capture.armed, r->streamer != NULL, memory_order_release);
	/* Everything already captured is written, however long the backlog;
	 * then the realtime cycle running now may still push one block. With
	 * streams the rings never go quiet: what is there now is the end. */
	deadline = utc_now_ms() + RECORDER_STOP_MS;
	if (r->streamer) {
		drain(r, 0);
		quiet = 3;
	}
	while (quiet < 3 && utc_now_ms() < deadline) {
		struct timespec pause = { 0, 10 * 1000000 };
		if (drain(r, 0)) {
			quiet = 0;
			deadline = utc_now_ms() + RECORDER_STOP_MS;
		} else {
			quiet++;
		}
		nanosleep(&pause, NULL);
	}
	if (r->state == RECORDER_RECORDING) {
		flush_queue(r);
		release_reserve(r); /* its room is the manifest's now */
		close_segment(r, 1);
		timeline_write(r, r->seg_first_frame + r->seg_frames, "\"event\":\"record-stop\"");
		close_timeline(r);
		/* record stop answered at once, with the backlog it had: this
		 * says when every file is final. */
		pthread_mutex_lock(&r->lock);
		if (r->n_notices < 8)
			snprintf(r->notices[r->n_notices++], RECORDER_LINE_MAX,
				 "record-final: recording %s stopped at segment %d; every file is final", r->meeting,
				 r->segment);
		pthread_mutex_unlock(&r->lock);
	}
	if (!r->streamer)
		capture_discard(&r->capture);
	if (r->state != RECORDER_FAILED)
		r->state = RECORDER_STOPPED;
}

static void prepare_start(struct recorder *r, const char *meeting)
{
	int ret;

	snprintf(r->meeting, sizeof r->meeting, "%s", meeting);
	snprintf(r->meeting_dir, sizeof r->meeting_dir, "%s/%s", r->root, r->meeting);
	r->xruns_seen = r->xruns ? xrun_log_count(r->xruns) : 0; /* the timeline tells this recording's */
	if ((mkdir(r->root, 0750) < 0 && errno != EEXIST) || (mkdir(r->meeting_dir, 0750) < 0 && errno != EEXIST)) {
		ret = errno;
		set_alarm(r, "recording not started: cannot make %s: %s", r->meeting_dir, strerror(ret));
		r->state = RECORDER_FAILED;
		return;
	}
	{
		struct stat st;
		/* The meeting folder is a real folder: a link would send the
		 * archive somewhere nobody chose. */
		if (lstat(r->meeting_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			set_alarm(r, "recording not started: %s is not a folder (a link?)", r->meeting_dir);
			r->state = RECORDER_FAILED;
			return;
		}
		r->dir_dev = st.st_dev;
		r->dir_ino = st.st_ino;
	}
	pthread_mutex_lock(&r->lock);
	r->pub_error[0] = '\0';
	pthread_mutex_unlock(&r->lock);
	if (!r->streamer)
		capture_discard(&r->capture);
	r->dropped_seen = atomic_load(&r->capture.dropped_total);
	r->state = RECORDER_ARMING;
	atomic_store_explicit(&r->capture.armed, 1, memory_order_release);
}

/* The meeting folder was removed (or replaced) under the recording, or
 * the timeline unlinked: everything written since goes nowhere. */
static int folder_gone(const struct recorder *r)
{
	struct stat st;

	if (lstat(r->meeting_dir, &st) < 0 || st.st_dev != r->dir_dev || st.st_ino != r->dir_ino)
		return 1;
	return r->timeline_fd >= 0 && fstat(r->timeline_fd, &st) == 0 && st.st_nlink == 0;
}

/* The folder is gone: the recording fails loudly (recording-failed), and
 * goes on at once in a new segment of a folder made again, so that what
 * follows is kept. */
static void start_over(struct recorder *r)
{
	char meeting[TOLK_MEETING_MAX];

	snprintf(meeting, sizeof meeting, "%s", r->meeting);
	fail_recording(r, r->meeting_dir, ENOENT);
	r->first_segment = r->segment;
	prepare_start(r, meeting);
	if (r->state == RECORDER_ARMING) {
		pthread_mutex_lock(&r->lock);
		if (r->n_notices < 8)
			snprintf(r->notices[r->n_notices++], RECORDER_LINE_MAX,
				 "recording %s: its folder was removed; recording on in a new one, segment %d", meeting,
				 r->segment + 1);
		pthread_mutex_unlock(&r->lock);
	}
}

static void *disk_thread(void *arg)
{
	struct recorder *r = arg;
	int64_t last_sync = utc_now_ms();

	thread_role_set(THREAD_DISK);
	pthread_setname_np(pthread_self(), "tolk-disk"); /* for top -H, gdb and tests */
	for (;;) {
		int start, stop, quit, after_segment;
		char meeting[TOLK_MEETING_MAX];

		capture_wait(&r->wake, RECORDER_IDLE_MS);

		pthread_mutex_lock(&r->lock);
		start = r->req_start;
		stop = r->req_stop;
		quit = r->req_quit;
		after_segment = r->req_after_segment;
		r->req_start = r->req_stop = 0;
		snprintf(meeting, sizeof meeting, "%s", r->req_meeting);
		pthread_mutex_unlock(&r->lock);

		if (start && r->state != RECORDER_RECORDING && r->state != RECORDER_ARMING) {
			r->first_segment = after_segment;
			prepare_start(r, meeting);
		}
		/* Blocks first, so that events land after the audio they follow.
		 * A backlog is drained without sleeping: the wake-up is posted once
		 * per block, so the wait above returns at once while one remains. */
		drain(r, utc_now_ms() + RECORDER_DRAIN_MS);
		if (r->state == RECORDER_RECORDING) {
			uint32_t x = r->xruns ? xrun_log_count(r->xruns) : 0;
			if (x != r->xruns_seen)
				timeline_xruns(r, x);
			r->xruns_seen = x;
			flush_queue(r);
			if (utc_now_ms() - last_sync >= RECORDER_SYNC_MS) {
				sync_files(r);
				if (r->state == RECORDER_RECORDING && folder_gone(r))
					start_over(r);
				last_sync = utc_now_ms();
			}
		} else if (r->state != RECORDER_ARMING) {
			pthread_mutex_lock(&r->lock);
			r->n_queued = 0; /* nothing to log them into */
			pthread_mutex_unlock(&r->lock);
		}
		if ((stop || quit) && (r->state == RECORDER_RECORDING || r->state == RECORDER_ARMING))
			stop_recording(r);
		publish(r);
		if (quit)
			return NULL;
	}
}

int recorder_run(struct recorder *r)
{
	int ret, i;

	ASSERT_THREAD(THREAD_CONTROL);
	if (r->streamer)
		atomic_store_explicit(&r->capture.armed, 1, memory_order_release);
	for (i = 0; i < r->n_formats; i++)
		if (r->formats[i] == &encoder_opus && (ret = encode_pool_start(&r->pool, 0)) < 0)
			return ret;
	ret = pthread_create(&r->thread, NULL, disk_thread, r);
	if (ret) {
		encode_pool_stop(&r->pool);
		return -ret;
	}
	r->thread_running = 1;
	return 0;
}

void recorder_shutdown(struct recorder *r)
{
	ASSERT_THREAD(THREAD_CONTROL);
	if (!r->thread_running)
		return;
	pthread_mutex_lock(&r->lock);
	r->req_quit = 1;
	pthread_mutex_unlock(&r->lock);
	sem_post(&r->wake);
	pthread_join(r->thread, NULL);
	r->thread_running = 0;
	encode_pool_stop(&r->pool);
}

/* ---- control-thread API ---------------------------------------------------- */

int recorder_start(struct recorder *r, const char *meeting, char *err, size_t errlen)
{
	ASSERT_THREAD(THREAD_CONTROL);
	return recorder_continue(r, meeting, 0, err, errlen);
}

int recorder_continue(struct recorder *r, const char *meeting, int after_segment, char *err, size_t errlen)
{
	int ret = 0;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!meeting)
		meeting = r->default_meeting;
	if (!config_meeting_ok(meeting)) {
		snprintf(err, errlen, "meeting '%.64s' may hold only letters, digits, '-', '_' and '.' (not first)",
			 meeting);
		return -EINVAL;
	}
	pthread_mutex_lock(&r->lock);
	if (r->pub_state == RECORDER_RECORDING || r->pub_state == RECORDER_ARMING || r->req_start) {
		snprintf(err, errlen, "already recording %s", r->req_start ? r->req_meeting : r->pub_meeting);
		ret = -EBUSY;
	} else {
		r->req_start = 1;
		r->req_after_segment = after_segment > 0 ? after_segment : 0;
		snprintf(r->req_meeting, sizeof r->req_meeting, "%s", meeting);
		r->pub_state = RECORDER_ARMING; /* so that a status right after says so */
		snprintf(r->pub_meeting, sizeof r->pub_meeting, "%s", meeting);
	}
	pthread_mutex_unlock(&r->lock);
	if (!ret)
		sem_post(&r->wake);
	return ret;
}

int recorder_stop(struct recorder *r, char *err, size_t errlen)
{
	int ret = 0;

	ASSERT_THREAD(THREAD_CONTROL);
	pthread_mutex_lock(&r->lock);
	if (r->pub_state != RECORDER_RECORDING && r->pub_state != RECORDER_ARMING && !r->req_start) {
		snprintf(err, errlen, "not recording");
		ret = -EINVAL;
	} else {
		r->req_stop = 1;
	}
	pthread_mutex_unlock(&r->lock);
	if (!ret)
		sem_post(&r->wake);
	return ret;
}

static const char *state_name(enum recorder_state s)
{
	switch (s) {
	case RECORDER_ARMING: return "starting";
	case RECORDER_RECORDING: return "recording";
	case RECORDER_FAILED: return "failed";
	default: return "stopped";
	}
}

/* What the disk thread has yet to take: the first channel's ring (every
 * channel's holds as much). Either side may read the fill. */
static double backlog_seconds(struct recorder *r)
{
	if (!r->n_channels || !r->rate)
		return 0;
	return (double)ring_fill(&r->capture.rings[0]) / sizeof(float) / r->rate;
}

void recorder_status(struct recorder *r, struct json_writer *w, int detailed)
{
	uint64_t dropped = atomic_load(&r->capture.dropped_total);
	struct statvfs vfs;
	int i;

	ASSERT_THREAD(THREAD_CONTROL);
	pthread_mutex_lock(&r->lock);
	jw_raw(w, "{");
	jw_key(w, "state", 1);
	jw_string(w, state_name(r->pub_state));
	jw_key(w, "meeting", 0);
	jw_string(w, r->pub_meeting);
	jw_printf(w, ",\"seconds\":%.3f,\"dropped_frames\":%llu,\"segment\":%d", (double)r->pub_frames / r->rate,
		  (unsigned long long)dropped, r->pub_segment);
	jw_printf(w, ",\"backlog_seconds\":%.2f", backlog_seconds(r));
	jw_key(w, "error", 0);
	if (*r->pub_error)
		jw_string(w, r->pub_error);
	else
		jw_raw(w, "null");
	if (detailed) {
		jw_key(w, "dir", 0);
		jw_string(w, r->root);
		jw_key(w, "formats", 0);
		jw_raw(w, "[");
		for (i = 0; i < r->n_formats; i++) {
			if (i)
				jw_raw(w, ",");
			jw_string(w, r->formats[i]->name);
		}
		jw_raw(w, "]");
		jw_key(w, "files", 0);
		jw_raw(w, "[");
		for (i = 0; i < r->pub_n_files; i++) {
			if (i)
				jw_raw(w, ",");
			jw_string(w, r->pub_files[i]);
		}
		jw_raw(w, "]");
		/* Drops are all or nothing, so every channel has the same count. */
		jw_key(w, "dropped_per_channel", 0);
		jw_raw(w, "{");
		for (i = 0; i < r->n_channels; i++) {
			if (i)
				jw_raw(w, ",");
			jw_key(w, r->channels[i].name, 1);
			jw_printf(w, "%llu", (unsigned long long)dropped);
		}
		jw_raw(w, "}");
		jw_printf(w, ",\"ring_seconds\":%.3f,\"ring_high_water_seconds\":%.3f",
			  (double)r->capture.capacity / r->rate,
			  (double)atomic_load(&r->capture.high_water) / r->rate);
		jw_printf(w, ",\"xruns\":%u", r->xruns ? xrun_log_count(r->xruns) : 0);
		if (statvfs(r->root, &vfs) == 0)
			jw_printf(w, ",\"free_bytes\":%llu", (unsigned long long)vfs.f_bavail * vfs.f_frsize);
		else
			jw_raw(w, ",\"free_bytes\":null");
	}
	jw_raw(w, "}");
	pthread_mutex_unlock(&r->lock);
}

void recorder_event(struct recorder *r, uint64_t frame, const char *fields)
{
	ASSERT_THREAD(THREAD_CONTROL);
	pthread_mutex_lock(&r->lock);
	if ((r->pub_state == RECORDER_RECORDING || r->pub_state == RECORDER_ARMING) && r->n_queued < RECORDER_QUEUE)
		snprintf(r->queue[r->n_queued++], RECORDER_LINE_MAX, "%llu %s", (unsigned long long)frame, fields);
	pthread_mutex_unlock(&r->lock);
	sem_post(&r->wake);
}

int recorder_take_alarm(struct recorder *r, char *buf, size_t len)
{
	int had;

	ASSERT_THREAD(THREAD_CONTROL);
	pthread_mutex_lock(&r->lock);
	had = r->alarm_pending;
	if (had)
		snprintf(buf, len, "%s", r->alarm);
	r->alarm_pending = 0;
	pthread_mutex_unlock(&r->lock);
	return had;
}

double recorder_seconds_left(struct recorder *r)
{
	struct statvfs vfs;
	double per_second = 0;
	int recording, i;

	ASSERT_THREAD(THREAD_CONTROL);
	pthread_mutex_lock(&r->lock);
	recording = r->pub_state == RECORDER_RECORDING;
	pthread_mutex_unlock(&r->lock);
	if (!recording || statvfs(r->root, &vfs) < 0)
		return -1;
	/* Bytes per second of one channel: 24-bit PCM for WAV, the same as a
	 * bound for FLAC, the bitrate for Opus. */
	for (i = 0; i < r->n_formats; i++)
		per_second += r->formats[i] == &encoder_opus ? r->opus_bitrate / 8.0 : 3.0 * r->rate;
	per_second *= r->n_channels;
	return per_second > 0 ? (double)vfs.f_bavail * vfs.f_frsize / per_second : -1;
}

unsigned recorder_failures(struct recorder *r, int *failed_now)
{
	unsigned n;

	ASSERT_THREAD(THREAD_CONTROL);
	pthread_mutex_lock(&r->lock);
	n = r->failures;
	*failed_now = r->pub_state == RECORDER_FAILED;
	pthread_mutex_unlock(&r->lock);
	return n;
}

const char *recorder_state_name(struct recorder *r)
{
	enum recorder_state st;

	ASSERT_THREAD(THREAD_CONTROL);
	pthread_mutex_lock(&r->lock);
	st = r->pub_state;
	pthread_mutex_unlock(&r->lock);
	return state_name(st);
}

double recorder_backlog_seconds(struct recorder *r)
{
	ASSERT_THREAD(THREAD_CONTROL);
	return backlog_seconds(r);
}

uint64_t recorder_dropped(struct recorder *r)
{
	ASSERT_THREAD(THREAD_CONTROL);
	return atomic_load(&r->capture.dropped_total);
}

void recorder_set_floor_language(struct recorder *r, const char *code)
{
	ASSERT_THREAD(THREAD_CONTROL);
	pthread_mutex_lock(&r->lock);
	snprintf(r->floor_language, sizeof r->floor_language, "%s", code);
	pthread_mutex_unlock(&r->lock);
}

int recorder_take_notice(struct recorder *r, char *buf, size_t len)
{
	int had;

	ASSERT_THREAD(THREAD_CONTROL);
	pthread_mutex_lock(&r->lock);
	had = r->n_notices > 0;
	if (had) {
		snprintf(buf, len, "%s", r->notices[0]);
		memmove(r->notices[0], r->notices[1], (size_t)(r->n_notices - 1) * sizeof r->notices[0]);
		r->n_notices--;
	}
	pthread_mutex_unlock(&r->lock);
	return had;
}

int recorder_running(struct recorder *r, char *meeting, size_t len, int *segment)
{
	int running;

	ASSERT_THREAD(THREAD_CONTROL);
	pthread_mutex_lock(&r->lock);
	running = r->pub_state == RECORDER_RECORDING || r->pub_state == RECORDER_ARMING || r->req_start;
	snprintf(meeting, len, "%s", r->req_start ? r->req_meeting : r->pub_meeting);
	*segment = r->pub_segment;
	pthread_mutex_unlock(&r->lock);
	return running;
}
