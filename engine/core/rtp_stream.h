/* RTP for listening on phones (RFC 3550, Opus per RFC 7587): which
 * channels go where, the 12-byte header, each channel's sequence and
 * timestamp kept across a reload or a lost JACK server, and the
 * mountpoints Janus's Streaming plugin needs to take them. Pure: no
 * socket here; the sender (disk/rtp_sender.c) is the thin shell. */
#ifndef TOLK_RTP_STREAM_H
#define TOLK_RTP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "json_writer.h"

#define RTP_CLOCK 48000        /* Opus's RTP clock is 48 kHz whatever the room's rate */
#define RTP_FRAME_MS 20
#define RTP_FRAME (RTP_CLOCK / 1000 * RTP_FRAME_MS) /* timestamp units per packet */
#define RTP_HEADER 12
#define RTP_CHANNELS_MAX (1 + TOLK_LANGUAGES_MAX) /* the floor and every language */

/* One channel sent: its code, its name for people, its output port and
 * its place k (0-based) in the rtp list, which gives its ports. */
struct rtp_channel {
	char code[TOLK_ID_MAX];
	char name[TOLK_NAME_MAX];
	int output;    /* config_output_of_language: 0 out_floor, ... */
	int lang;      /* -1 the floor */
};

/* The channels cfg's rtp: sends, in order, into out (RTP_CHANNELS_MAX).
 * Returns how many. */
int rtp_channels_of(const struct config *cfg, struct rtp_channel *out);
/* Channel k's port at destination d. */
int rtp_port(const struct cfg_rtp *r, int d, int k);

/* Writes the header for one packet. out has RTP_HEADER bytes. */
void rtp_header_write(uint8_t *out, int payload_type, int marker, uint16_t seq, uint32_t ts, uint32_t ssrc);
/* Reads one back (tests, tools): 0, or -EINVAL for what is no RTP v2. */
int rtp_header_read(const uint8_t *in, size_t len, int *payload_type, int *marker, uint16_t *seq, uint32_t *ts,
		    uint32_t *ssrc);

/* A channel's RTP identity and position. It lives as long as the engine,
 * not as a sender: a reload or a lost server gives the same SSRC, the
 * next sequence number and a timestamp that has gone on with the clock. */
struct rtp_session {
	char code[TOLK_ID_MAX];
	uint32_t ssrc;
	uint16_t seq;          /* the next packet's */
	uint32_t ts;           /* the next packet's */
	int64_t last_us;       /* when the last packet went (monotonic µs); 0 never */
	int marker;            /* the next packet begins a talkspurt (after a gap) */
};

/* Channels ever sent in one run: reloads may rename and add languages. */
#define RTP_SESSIONS_MAX (4 * RTP_CHANNELS_MAX)

struct rtp_sessions {
	struct rtp_session *s;
	int n, cap;
};

/* Thread: control (the store is handed to a sender and back). */
void rtp_sessions_free(struct rtp_sessions *st);
/* The channel's session, made with ssrc and a random start (seed: the
 * caller's randomness: ssrc, seq and ts) when new. NULL out of memory,
 * or RTP_SESSIONS_MAX channels already. */
struct rtp_session *rtp_session_of(struct rtp_sessions *st, const char *code, const uint32_t seed[3]);
/* The stream resumes at now_us after a pause in its packets (a lost
 * server, a rebuilt sender): the timestamp goes on by the whole frames
 * the pause lasted beyond one frame, and the next packet is marked. No
 * change when the packets never stopped. */
void rtp_session_resume(struct rtp_session *s, int64_t now_us);
/* One packet went at now_us. */
void rtp_session_sent(struct rtp_session *s, int64_t now_us);

/* The Streaming plugin's mountpoints for destination d (0-based) as
 * janus.plugin.streaming.jcfg text: one per channel, id id_base + k,
 * the language's name, its port and Opus. secret is written as given;
 * pin may be "" (none). Returns 0, or -EINVAL (no rtp, no such
 * destination). */
int rtp_janus_config(const struct config *cfg, int d, const char *secret, const char *pin, struct json_writer *w);

#endif
