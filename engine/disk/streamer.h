/* Listener streams to Icecast: each streamed channel encoded to Ogg Opus
 * by the recording's own Opus encoder, from the recording's own rings (the
 * disk thread hands it every block), and sent by a thread of its own with
 * libshout, non-blocking. A slow or dead server only fills that stream's
 * bounded page queue, whose overflow is dropped: the room's audio and the
 * recording never wait for the network. Reconnects back off from 1 s to
 * 30 s; each new connection starts a new Ogg stream (fresh headers). */
#ifndef TOLK_STREAMER_H
#define TOLK_STREAMER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/config.h"
#include "../core/json_writer.h"

#define STREAM_QUEUE_BYTES (256 * 1024)

struct recorder_channel;

struct streamer;

struct stream {
	struct streamer *owner;
	char channel[TOLK_ID_MAX];   /* floor, or a language code */
	char title[256];             /* "<meeting>: <language name>" */
	char language[TOLK_ID_MAX];
	int source;                  /* the recorder channel it takes */
	char mount[256];
	/* disk thread */
	void *enc;
	/* shared, under the streamer's lock */
	unsigned char *queue;
	size_t queued;
	int want_restart;
	uint64_t dropped_bytes;
	/* the network thread's */
	void *shout;
	int connecting;
	int64_t next_try_ms, backoff_ms;
	_Atomic int up;
	char error[160];
};

struct streamer {
	char host[256], user[64], password[256];
	int port, bitrate;
	int page_ms;                 /* an Ogg page at least this often */
	uint32_t rate;
	struct stream *streams;
	int n;
	pthread_t thread;
	int running;
	pthread_mutex_t lock;
	_Atomic int quit;
};

/* Reads the password file, maps the streamed channels onto the recorder's
 * channels. Returns 0 or a negative errno with a message (never the
 * password). Thread: control. */
int streamer_init(struct streamer *s, const struct config *cfg, const struct recorder_channel *channels,
		  int n_channels, uint32_t rate, char *err, size_t errlen);
/* Thread: control. */
int streamer_run(struct streamer *s);
/* Frames of every recorder channel. Thread: disk. */
void streamer_write(struct streamer *s, float *const *channels, uint32_t frames);
/* Each stream's URL and state, as a JSON list. Thread: control. */
void streamer_status(struct streamer *s, struct json_writer *w);
/* Is stream i connected? Thread: control. */
int streamer_up(struct streamer *s, int i);
/* Why stream i is down (or "not connected yet"). Thread: control. */
void streamer_error(struct streamer *s, int i, char *buf, size_t len);
/* Stops the thread, closes every connection and encoder. Thread: control. */
void streamer_free(struct streamer *s);

#endif
