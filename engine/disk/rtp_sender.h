/* Listening on phones: the chosen channels as RTP Opus, 20 ms a packet,
 * to every rtp destination. The realtime thread pushes the channels into
 * a capture of their own every period and posts the sender's semaphore;
 * the sender (thread tolk-rtp) encodes each channel's frame as soon as it
 * has 20 ms and sends it at once: from a sample leaving the router to its
 * packet on the wire, at most one frame and one period, measured per
 * packet and shown in status.rtp. Sockets are non-blocking UDP; a send
 * that fails is counted, and raises rtp-send until sends succeed again.
 * The channels' sequence numbers and timestamps live in the engine's
 * rtp_sessions, not here: a new sender (reload, server back) goes on
 * where the last one stopped. */
#ifndef TOLK_RTP_SENDER_H
#define TOLK_RTP_SENDER_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../core/capture.h"
#include "../core/json_writer.h"
#include "../core/rtp_stream.h"

#define RTP_DELAYS 512 /* the last packets' delays, for status */

struct rtp_destination {
	char host[256];
	int port_base;
	int fd;
	struct sockaddr_storage *addr; /* [n channels], each with its port */
	unsigned addr_len;
	_Atomic int failing;            /* the last send failed */
	_Atomic uint64_t errors;
	_Atomic int last_errno;
};

struct rtp_out {
	struct rtp_channel ch;
	struct rtp_session *session;    /* the engine's, the sender thread's while it runs */
	void *opus;                     /* OpusEncoder */
	float *pcm;                     /* one frame at the room's rate */
	_Atomic uint64_t *packets, *bytes; /* [n_destinations] */
};

struct rtp_sender {
	int n, n_dest;
	uint32_t rate;
	uint32_t frame;                 /* samples per packet at the room's rate */
	int payload_type;
	struct rtp_out *out;
	struct rtp_destination *dest;
	int *sources;                   /* per channel: output index, for the capture tap */
	struct capture capture;
	uint64_t (*clock_us)(void);     /* JACK's clock: what capture blocks are stamped on */
	uint32_t filled;                /* frames in every channel's pcm */
	_Atomic uint32_t period;        /* frames in the last block: JACK's period */
	uint64_t first_us;              /* when the frame's first sample's period began; 0 unknown */
	/* delays, under lock (sender writes, control reads) */
	pthread_mutex_t lock;
	uint32_t delays_us[RTP_DELAYS];
	uint64_t n_delays;
	pthread_t thread;
	int running;
	sem_t wake;
	_Atomic int quit;
	_Atomic uint64_t dropped_frames; /* frames the capture had no room for */
};

/* Sockets, encoders and the capture for cfg's rtp channels at the room's
 * rate, their sessions from sessions (made when new). Returns 0, or a
 * negative errno with the reason in err. Thread: control. */
int rtp_sender_init(struct rtp_sender *s, const struct config *cfg, uint32_t rate, struct rtp_sessions *sessions,
		    uint64_t (*clock_us)(void), char *err, size_t errlen);
/* Thread: control. */
int rtp_sender_run(struct rtp_sender *s);
/* Stops the thread; the sessions stay the engine's. Thread: control. */
void rtp_sender_free(struct rtp_sender *s);
/* status.rtp: destinations, channels, packets and bytes, the delay. Thread: control. */
void rtp_sender_status(struct rtp_sender *s, struct json_writer *w);
/* Destination i as the alarm names it, and whether its sends fail now (1). Thread: control. */
int rtp_sender_failing(struct rtp_sender *s, int i, char *subject, size_t sublen, char *why, size_t whylen);
/* Median and worst of the last packets' delays, ms; 0 when none yet. Thread: control. */
int rtp_sender_delay(struct rtp_sender *s, double *median_ms, double *max_ms);

#endif
