#include "streamer.h"

#include <errno.h>
#include <fcntl.h>
#include <shout/shout.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/thread_role.h"
#include "../core/utc_time.h"
#include "encoder.h"
#include "recorder.h"

#define STREAM_BACKOFF_MAX_MS 30000
#define STREAM_TICK_MS 20

static int64_t now_ms(void)
{
	return utc_now_ms();
}

/* ---- the disk thread's side: encoding into each stream's queue ---------- */

/* The encoder's pages: into the stream's queue, or dropped whole when it
 * is full (a listener hears a gap; nothing waits). Thread: disk, or
 * control when streamer_init opens the encoders (their headers). */
static int sink_page(void *user, const unsigned char *page, int len)
{
	struct stream *st = user;

	ASSERT_THREAD(THREAD_DISK | THREAD_CONTROL);
	if (!atomic_load(&st->up))
		return 0; /* nobody to send it to */
	pthread_mutex_lock(&st->owner->lock);
	if (st->queued + (size_t)len <= STREAM_QUEUE_BYTES) {
		memcpy(st->queue + st->queued, page, (size_t)len);
		st->queued += (size_t)len;
	} else {
		st->dropped_bytes += (uint64_t)len;
	}
	pthread_mutex_unlock(&st->owner->lock);
	return 0;
}

/* Thread: disk (control, in streamer_init, before the disk thread runs). */
static int open_encoder(struct streamer *s, int i)
{
	struct stream *st = &s->streams[i];
	char err[256], date[UTC_ISO_MAX];
	struct encoder_info info = {
		.fd = -1, .rate = s->rate, .opus_bitrate = s->bitrate, .opus_complexity = RECORD_OPUS_COMPLEXITY,
		.opus_page_ms = s->page_ms,
		.title = st->title, .language = st->language, .date = date, .software = "tolk " TOLK_VERSION,
		.sink = sink_page, .sink_user = st,
	};

	utc_iso_ms(utc_now_ms(), date);
	st->enc = encoder_opus.open(&info, err, sizeof err);
	return st->enc ? 0 : -EIO;
}

/* ---- control thread: life cycle --------------------------------------- */

int streamer_init(struct streamer *s, const struct config *cfg, const struct recorder_channel *channels,
		  int n_channels, uint32_t rate, char *err, size_t errlen)
{
	const struct cfg_stream *c = &cfg->stream;
	FILE *f;
	int i, k, n_want = c->all_channels ? 1 + cfg->n_languages : c->n_channels;

	ASSERT_THREAD(THREAD_CONTROL);
	memset(s, 0, sizeof *s);
	snprintf(s->host, sizeof s->host, "%s", c->host);
	snprintf(s->user, sizeof s->user, "%s", c->user);
	s->port = c->port;
	s->bitrate = c->bitrate;
	s->page_ms = c->page_ms;
	s->rate = rate;
	f = fopen(c->password_file, "r");
	if (!f || !fgets(s->password, sizeof s->password, f)) {
		snprintf(err, errlen, "stream: cannot read the password file %s: %s", c->password_file,
			 f ? "it is empty" : strerror(errno));
		if (f)
			fclose(f);
		return -EACCES;
	}
	fclose(f);
	s->password[strcspn(s->password, "\r\n")] = '\0';
	s->streams = calloc((size_t)n_want + 1, sizeof *s->streams);
	if (!s->streams || pthread_mutex_init(&s->lock, NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n_want; i++) {
		struct stream *st = &s->streams[s->n];
		const char *want = c->all_channels ? (i ? cfg->languages[i - 1].code : "floor") : c->channels[i];
		int lang = config_find_language(cfg, want);

		for (k = 0; k < n_channels && strcmp(channels[k].name, want); k++)
			;
		if (k == n_channels) {
			snprintf(err, errlen, "stream: channel %s is not recorded", want);
			return -EINVAL;
		}
		snprintf(st->channel, sizeof st->channel, "%s", want);
		snprintf(st->language, sizeof st->language, "%s", lang >= 0 ? want : "");
		snprintf(st->title, sizeof st->title, "%s: %s", cfg->meeting,
			 lang >= 0 ? cfg->languages[lang].name : "floor");
		snprintf(st->mount, sizeof st->mount, "%s/%s.opus", c->mount_prefix, want);
		st->source = k;
		st->queue = malloc(STREAM_QUEUE_BYTES);
		if (!st->queue) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		st->owner = s;
		s->n++;
	}
	for (i = 0; i < s->n; i++)
		if (open_encoder(s, i) < 0) {
			snprintf(err, errlen, "stream: cannot start the Opus encoder for %s", s->streams[i].channel);
			return -EIO;
		}
	return 0;
}

/* Thread: disk. A stream whose connection is new starts a new Ogg stream. */
void streamer_write(struct streamer *s, float *const *channels, uint32_t frames)
{
	int i;

	ASSERT_THREAD(THREAD_DISK);
	for (i = 0; i < s->n; i++) {
		struct stream *st = &s->streams[i];
		int restart;

		pthread_mutex_lock(&s->lock);
		restart = st->want_restart;
		pthread_mutex_unlock(&s->lock);
		if (restart) {
			/* A new listener connection: a new Ogg stream, headers first.
			 * Nothing is sent while want_restart holds, so the old
			 * stream's last pages never reach the new connection. */
			if (st->enc)
				encoder_opus.close(st->enc);
			st->enc = NULL;
			pthread_mutex_lock(&s->lock);
			st->queued = 0;
			pthread_mutex_unlock(&s->lock);
			open_encoder(s, i);
			pthread_mutex_lock(&s->lock);
			st->want_restart = 0;
			pthread_mutex_unlock(&s->lock);
		}
		if (st->enc && encoder_opus.write(st->enc, channels[st->source], frames) < 0) {
			encoder_opus.close(st->enc);
			st->enc = NULL;
		}
	}
}

/* ---- the network thread's side: connections and sending --------------- */

/* The error is read by the control thread (for the alarm): under the lock.
 * Thread: stream. */
static void set_error(struct stream *st, const char *why)
{
	ASSERT_THREAD(THREAD_STREAM);
	pthread_mutex_lock(&st->owner->lock);
	snprintf(st->error, sizeof st->error, "%s", why);
	pthread_mutex_unlock(&st->owner->lock);
}

static void go_down(struct stream *st, const char *why)
{
	ASSERT_THREAD(THREAD_STREAM);
	set_error(st, why);
	if (st->shout) {
		shout_close(st->shout);
		shout_free(st->shout);
		st->shout = NULL;
	}
	st->connecting = 0;
	atomic_store(&st->up, 0);
	st->backoff_ms = st->backoff_ms ? st->backoff_ms * 2 : 1000;
	if (st->backoff_ms > STREAM_BACKOFF_MAX_MS)
		st->backoff_ms = STREAM_BACKOFF_MAX_MS;
	st->next_try_ms = now_ms() + st->backoff_ms;
}

static void try_connect(struct streamer *s, struct stream *st)
{
	int ret;

	ASSERT_THREAD(THREAD_STREAM);
	if (!st->shout) {
		shout_t *sh = shout_new();
		if (!sh)
			return;
		if (shout_set_host(sh, s->host) || shout_set_port(sh, (unsigned short)s->port) ||
		    shout_set_user(sh, s->user) || shout_set_password(sh, s->password) ||
		    shout_set_mount(sh, st->mount) || shout_set_protocol(sh, SHOUT_PROTOCOL_HTTP) ||
		    shout_set_content_format(sh, SHOUT_FORMAT_OGG, SHOUT_USAGE_AUDIO, NULL) ||
		    shout_set_meta(sh, SHOUT_META_NAME, st->title) ||
		    shout_set_meta(sh, SHOUT_META_DESCRIPTION, st->title) || shout_set_nonblocking(sh, 1)) {
			char why[160];
			snprintf(why, sizeof why, "libshout: %s", shout_get_error(sh));
			set_error(st, why);
			shout_free(sh);
			return;
		}
		st->shout = sh;
		ret = shout_open(sh);
		st->connecting = 1;
	} else {
		ret = shout_get_connected(st->shout);
	}
	if (ret == SHOUTERR_SUCCESS || ret == SHOUTERR_CONNECTED) {
		st->connecting = 0;
		st->backoff_ms = 0;
		pthread_mutex_lock(&s->lock);
		st->error[0] = '\0';
		st->want_restart = 1; /* headers first on this connection */
		st->queued = 0;
		pthread_mutex_unlock(&s->lock);
		atomic_store(&st->up, 1);
	} else if (ret != SHOUTERR_BUSY) {
		char why[160];
		snprintf(why, sizeof why, "%s", shout_get_error(st->shout));
		go_down(st, why);
	}
}

static void send_queued(struct streamer *s, struct stream *st, unsigned char *buf)
{
	size_t n;
	int ret;

	ASSERT_THREAD(THREAD_STREAM);
	pthread_mutex_lock(&s->lock);
	n = st->want_restart ? 0 : st->queued;
	memcpy(buf, st->queue, n);
	st->queued = 0;
	pthread_mutex_unlock(&s->lock);
	/* Non-blocking: BUSY means libshout kept the rest for later. */
	if (n && (ret = shout_send(st->shout, buf, n)) != SHOUTERR_SUCCESS && ret != SHOUTERR_BUSY) {
		char why[160];
		snprintf(why, sizeof why, "%s", shout_get_error(st->shout));
		go_down(st, why);
	} else if (shout_queuelen(st->shout) > (ssize_t)STREAM_QUEUE_BYTES) {
		go_down(st, "the server does not keep up");
	}
}

static void *network_thread(void *arg)
{
	struct streamer *s = arg;
	unsigned char *buf = malloc(STREAM_QUEUE_BYTES);
	int i;

	thread_role_set(THREAD_STREAM);
	pthread_setname_np(pthread_self(), "tolk-stream");
	while (buf && !atomic_load(&s->quit)) {
		struct timespec tick = { 0, STREAM_TICK_MS * 1000000L };
		for (i = 0; i < s->n; i++) {
			struct stream *st = &s->streams[i];
			if (!atomic_load(&st->up) && (st->connecting || now_ms() >= st->next_try_ms))
				try_connect(s, st);
			if (atomic_load(&st->up))
				send_queued(s, st, buf);
		}
		nanosleep(&tick, NULL);
	}
	free(buf);
	return NULL;
}

/* ---- control thread: start, status, stop ------------------------------ */

int streamer_run(struct streamer *s)
{
	ASSERT_THREAD(THREAD_CONTROL);
	shout_init();
	if (pthread_create(&s->thread, NULL, network_thread, s) != 0)
		return -EAGAIN;
	s->running = 1;
	return 0;
}

void streamer_status(struct streamer *s, struct json_writer *w)
{
	int i;

	ASSERT_THREAD(THREAD_CONTROL);
	jw_raw(w, "[");
	for (i = 0; i < s->n; i++) {
		struct stream *st = &s->streams[i];
		uint64_t dropped;
		pthread_mutex_lock(&s->lock);
		dropped = st->dropped_bytes;
		pthread_mutex_unlock(&s->lock);
		jw_raw(w, i ? ",{" : "{");
		jw_key(w, "channel", 1);
		jw_string(w, st->channel);
		jw_printf(w, ",\"url\":\"http://%s:%d%s\"", s->host, s->port, st->mount);
		jw_key(w, "state", 0);
		jw_string(w, atomic_load(&st->up) ? "up" : "down");
		jw_printf(w, ",\"dropped_bytes\":%llu}", (unsigned long long)dropped);
	}
	jw_raw(w, "]");
}

int streamer_up(struct streamer *s, int i)
{
	ASSERT_THREAD(THREAD_CONTROL);
	return atomic_load(&s->streams[i].up);
}

void streamer_error(struct streamer *s, int i, char *buf, size_t len)
{
	ASSERT_THREAD(THREAD_CONTROL);
	pthread_mutex_lock(&s->lock);
	snprintf(buf, len, "%s", *s->streams[i].error ? s->streams[i].error : "not connected yet");
	pthread_mutex_unlock(&s->lock);
}

void streamer_free(struct streamer *s)
{
	int i;

	ASSERT_THREAD(THREAD_CONTROL);
	if (s->running) {
		atomic_store(&s->quit, 1);
		pthread_join(s->thread, NULL);
		s->running = 0;
	}
	for (i = 0; s->streams && i < s->n; i++) {
		struct stream *st = &s->streams[i];
		if (st->shout) {
			shout_close(st->shout);
			shout_free(st->shout);
		}
		if (st->enc)
			encoder_opus.close(st->enc);
		free(st->queue);
	}
	free(s->streams);
	memset(s->password, 0, sizeof s->password);
	if (s->n)
		pthread_mutex_destroy(&s->lock);
	memset(s, 0, sizeof *s);
}
