#include "rtp_sender.h"
#include "../core/utc_time.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <opus/opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/thread_role.h"

#define RTP_RING_SECONDS 1       /* what the capture holds: the sender is never that far behind */
#define RTP_PACKET_MAX 1500      /* one Ethernet frame; 20 ms at 256 kb/s is 640 bytes */
#define RTP_COMPLEXITY 5         /* ~2 % of a core per channel less than 10, no audible difference for speech */

static void wake(void *user)
{
	sem_post(&((struct rtp_sender *)user)->wake);
}

static int is_multicast(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return IN_MULTICAST(ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr));
	return a->ss_family == AF_INET6 && IN6_IS_ADDR_MULTICAST(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

/* One destination's socket and its channels' addresses. */
static int open_destination(struct rtp_sender *s, struct rtp_destination *d, const struct cfg_rtp_destination *c,
			    char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int k, ret, on_v6, ttl = c->ttl;
	unsigned ifindex = 0;

	snprintf(d->host, sizeof d->host, "%s", c->host);
	d->port_base = c->port_base;
	d->fd = -1;
	if ((ret = getaddrinfo(c->host, "9", &hints, &ai)) != 0) {
		snprintf(err, errlen, "rtp destination %s: %s", c->host, gai_strerror(ret));
		return -EINVAL;
	}
	d->addr = calloc((size_t)s->n, sizeof *d->addr);
	if (!d->addr) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	d->addr_len = (unsigned)ai->ai_addrlen;
	for (k = 0; k < s->n; k++) {
		memcpy(&d->addr[k], ai->ai_addr, ai->ai_addrlen);
		if (ai->ai_family == AF_INET)
			((struct sockaddr_in *)&d->addr[k])->sin_port = htons((uint16_t)(c->port_base + 2 * k));
		else
			((struct sockaddr_in6 *)&d->addr[k])->sin6_port = htons((uint16_t)(c->port_base + 2 * k));
	}
	on_v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	d->fd = socket(on_v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0) {
		snprintf(err, errlen, "rtp destination %s: socket: %s", c->host, strerror(errno));
		return -errno;
	}
	if (*c->interface && !(ifindex = if_nametoindex(c->interface))) {
		snprintf(err, errlen, "rtp destination %s: no interface '%s'", c->host, c->interface);
		return -ENODEV;
	}
	if (is_multicast(&d->addr[0])) {
		/* Multicast: the hops it may go, and the interface it leaves by. */
		if (on_v6) {
			ret = setsockopt(d->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl);
			if (!ret && ifindex)
				ret = setsockopt(d->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex);
		} else {
			struct ip_mreqn m = { .imr_ifindex = (int)ifindex };
			unsigned char t = (unsigned char)ttl;
			ret = setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_TTL, &t, sizeof t);
			if (!ret && ifindex)
				ret = setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m);
		}
	} else if (ifindex) {
		/* Unicast: bound to the interface (needs CAP_NET_RAW before Linux 5.7). */
		ret = setsockopt(d->fd, SOL_SOCKET, SO_BINDTODEVICE, c->interface, (socklen_t)strlen(c->interface));
	} else {
		ret = 0;
	}
	if (ret < 0) {
		snprintf(err, errlen, "rtp destination %s: cannot set up %s: %s", c->host,
			 *c->interface ? c->interface : "multicast", strerror(errno));
		return -errno;
	}
	/* Speech for people listening now: mark it so (DSCP EF, 46). */
	{
		int tos = 46 << 2;
		if (on_v6)
			(void)setsockopt(d->fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
		else
			(void)setsockopt(d->fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
	}
	return 0;
}

int rtp_sender_init(struct rtp_sender *s, const struct config *cfg, uint32_t rate, struct rtp_sessions *sessions,
		    uint64_t (*clock_us)(void), char *err, size_t errlen)
{
	struct rtp_channel *ch = NULL;
	int k, d, ret = -ENOMEM, oerr;

	ASSERT_THREAD(THREAD_CONTROL);
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	sem_init(&s->wake, 0, 0);
	if (!cfg || !cfg->rtp.enabled || !sessions) {
		snprintf(err, errlen, "rtp: not configured");
		ret = -EINVAL;
		goto fail;
	}
	/* Opus takes these rates itself; RTP's clock stays 48 kHz. */
	if (rate != 48000 && rate != 24000 && rate != 16000 && rate != 12000 && rate != 8000) {
		snprintf(err, errlen, "rtp: the JACK server runs at %u Hz; RTP Opus needs 48000 (or 24000, 16000, "
			 "12000, 8000) Hz", rate);
		ret = -EINVAL;
		goto fail;
	}
	s->rate = rate;
	s->frame = rate / 1000 * RTP_FRAME_MS;
	s->payload_type = cfg->rtp.payload_type;
	s->clock_us = clock_us;
	if (!(ch = calloc(RTP_CHANNELS_MAX, sizeof *ch)))
		goto fail;
	s->n = rtp_channels_of(cfg, ch);
	s->n_dest = cfg->rtp.n_destinations;
	s->out = calloc((size_t)s->n, sizeof *s->out);
	s->dest = calloc((size_t)s->n_dest, sizeof *s->dest);
	s->sources = calloc((size_t)s->n + 1, sizeof *s->sources);
	if (!s->out || !s->dest || !s->sources)
		goto fail;
	for (d = 0; d < s->n_dest; d++)
		s->dest[d].fd = -1;
	for (k = 0; k < s->n; k++) {
		struct rtp_out *o = &s->out[k];
		uint32_t seed[3];

		o->ch = ch[k];
		s->sources[k] = ch[k].output;
		if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
			snprintf(err, errlen, "rtp: no randomness for the SSRCs: %s", strerror(errno));
			ret = -EIO;
			goto fail;
		}
		o->session = rtp_session_of(sessions, ch[k].code, seed);
		o->pcm = calloc(s->frame, sizeof *o->pcm);
		o->packets = calloc((size_t)s->n_dest, sizeof *o->packets);
		o->bytes = calloc((size_t)s->n_dest, sizeof *o->bytes);
		if (!o->session || !o->pcm || !o->packets || !o->bytes)
			goto fail;
		/* Speech and music alike (the floor may be a film): AUDIO. Its
		 * 6.5 ms lookahead delays the sound at the decoder, not the packet. */
		o->opus = opus_encoder_create((opus_int32)rate, 1, OPUS_APPLICATION_AUDIO, &oerr);
		if (!o->opus) {
			snprintf(err, errlen, "rtp: Opus encoder: %s", opus_strerror(oerr));
			ret = -EINVAL;
			goto fail;
		}
		opus_encoder_ctl(o->opus, OPUS_SET_BITRATE(cfg->rtp.bitrate));
		opus_encoder_ctl(o->opus, OPUS_SET_COMPLEXITY(RTP_COMPLEXITY));
		opus_encoder_ctl(o->opus, OPUS_SET_SIGNAL(OPUS_AUTO));
	}
	for (d = 0; d < s->n_dest; d++)
		if ((ret = open_destination(s, &s->dest[d], &cfg->rtp.destinations[d], err, errlen)) < 0)
			goto fail;
	if ((ret = capture_init(&s->capture, s->n, RTP_RING_SECONDS * rate)) < 0) {
		snprintf(err, errlen, "rtp: out of memory");
		goto fail;
	}
	s->capture.wake = wake;
	s->capture.wake_user = s;
	atomic_store(&s->capture.armed, 1);
	free(ch);
	return 0;
fail:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "rtp: out of memory");
	free(ch);
	rtp_sender_free(s);
	return ret;
}

/* A whole frame of every channel is there: each one encoded and sent to
 * every destination at once. */
static void send_frame(struct rtp_sender *s)
{
	uint8_t packet[RTP_PACKET_MAX];
	int k, d;
	/* The sessions' clock runs on while no JACK server does (JACK's own
	 * clock is for the delay). */
	int64_t now = monotonic_us();
	int failed[16] = { 0 };

	for (k = 0; k < s->n; k++) {
		struct rtp_out *o = &s->out[k];
		struct rtp_session *ss = o->session;
		opus_int32 len;

		rtp_session_resume(ss, now);
		len = opus_encode_float(o->opus, o->pcm, (int)s->frame, packet + RTP_HEADER,
					(opus_int32)(sizeof packet - RTP_HEADER));
		if (len < 0)
			continue;
		rtp_header_write(packet, s->payload_type, ss->marker, ss->seq, ss->ts, ss->ssrc);
		for (d = 0; d < s->n_dest; d++) {
			struct rtp_destination *dst = &s->dest[d];
			ssize_t n = sendto(dst->fd, packet, RTP_HEADER + (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL,
					   (const struct sockaddr *)&dst->addr[k], dst->addr_len);
			if (n < 0) {
				atomic_fetch_add(&dst->errors, 1);
				atomic_store(&dst->last_errno, errno);
				if (d < 16)
					failed[d] = 1;
				continue;
			}
			atomic_fetch_add(&o->packets[d], 1);
			atomic_fetch_add(&o->bytes[d], (uint64_t)n);
		}
		rtp_session_sent(ss, now);
	}
	for (d = 0; d < s->n_dest && d < 16; d++)
		atomic_store(&s->dest[d].failing, failed[d]);
	if (s->first_us) {
		uint64_t wire = s->clock_us();
		pthread_mutex_lock(&s->lock);
		s->delays_us[s->n_delays++ % RTP_DELAYS] = wire > s->first_us ? (uint32_t)(wire - s->first_us) : 0;
		pthread_mutex_unlock(&s->lock);
	}
}

static void *run(void *arg)
{
	struct rtp_sender *s = arg;
	struct capture_block b;
	int k;

	thread_role_set(THREAD_RTP);
	pthread_setname_np(pthread_self(), "tolk-rtp");
	while (!atomic_load(&s->quit)) {
		capture_wait(&s->wake, 100);
		while (capture_next(&s->capture, &b) == 0) {
			uint32_t done = 0;

			if (b.dropped) {
				/* What the ring lost is gone: the frame starts over, and the
				 * timestamp goes on with the clock (rtp_session_resume). */
				atomic_fetch_add(&s->dropped_frames, b.dropped);
				s->filled = 0;
			}
			s->period = b.frames;
			while (done < b.frames) {
				uint32_t take = s->frame - s->filled;
				if (take > b.frames - done)
					take = b.frames - done;
				if (s->filled == 0)
					s->first_us = b.usecs ? b.usecs + (uint64_t)done * 1000000 / s->rate : 0;
				for (k = 0; k < s->n; k++)
					capture_read(&s->capture, k, s->out[k].pcm + s->filled, take);
				s->filled += take;
				done += take;
				if (s->filled == s->frame) {
					send_frame(s);
					s->filled = 0;
				}
			}
			capture_release_block(&s->capture);
		}
	}
	return NULL;
}

int rtp_sender_run(struct rtp_sender *s)
{
	int ret;

	ASSERT_THREAD(THREAD_CONTROL);
	if ((ret = pthread_create(&s->thread, NULL, run, s)))
		return -ret;
	s->running = 1;
	return 0;
}

void rtp_sender_free(struct rtp_sender *s)
{
	int k, d;

	ASSERT_THREAD(THREAD_CONTROL);
	if (s->running) {
		atomic_store(&s->quit, 1);
		sem_post(&s->wake);
		pthread_join(s->thread, NULL);
		s->running = 0;
	}
	if (s->capture.rings)
		capture_free(&s->capture);
	for (k = 0; s->out && k < s->n; k++) {
		if (s->out[k].opus)
			opus_encoder_destroy(s->out[k].opus);
		free(s->out[k].pcm);
		free(s->out[k].packets);
		free(s->out[k].bytes);
	}
	for (d = 0; s->dest && d < s->n_dest; d++) {
		if (s->dest[d].fd >= 0)
			close(s->dest[d].fd);
		free(s->dest[d].addr);
	}
	free(s->out);
	free(s->dest);
	free(s->sources);
	sem_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	memset(s, 0, sizeof *s);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int rtp_sender_delay(struct rtp_sender *s, double *median_ms, double *max_ms)
{
	uint32_t copy[RTP_DELAYS];
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n_delays < RTP_DELAYS ? (size_t)s->n_delays : RTP_DELAYS;
	memcpy(copy, s->delays_us, n * sizeof *copy);
	pthread_mutex_unlock(&s->lock);
	*median_ms = *max_ms = 0;
	if (!n)
		return 0;
	qsort(copy, n, sizeof *copy, cmp_u32);
	*median_ms = copy[n / 2] / 1000.0;
	*max_ms = copy[n - 1] / 1000.0;
	return (int)n;
}

void rtp_sender_status(struct rtp_sender *s, struct json_writer *w)
{
	double median, max;
	int d, k, n;

	ASSERT_THREAD(THREAD_CONTROL);
	n = rtp_sender_delay(s, &median, &max);
	jw_printf(w, "{\"payload_type\":%d,\"frame_ms\":%d,\"packets_measured\":%d,\"delay_ms\":{\"median\":%.2f,"
		     "\"max\":%.2f,\"bound\":%.2f},\"dropped_frames\":%llu,\"destinations\":[",
		  s->payload_type, RTP_FRAME_MS, n, median, max, RTP_FRAME_MS + 1000.0 * s->period / s->rate,
		  (unsigned long long)atomic_load(&s->dropped_frames));
	for (d = 0; d < s->n_dest; d++) {
		const struct rtp_destination *dst = &s->dest[d];
		int e = atomic_load(&dst->last_errno);
		jw_raw(w, d ? ",{" : "{");
		jw_key(w, "host", 1);
		jw_string(w, dst->host);
		jw_printf(w, ",\"port_base\":%d,\"errors\":%llu,\"failing\":%s", dst->port_base,
			  (unsigned long long)atomic_load(&dst->errors), atomic_load(&dst->failing) ? "true" : "false");
		jw_key(w, "last_error", 0);
		if (e)
			jw_string(w, strerror(e));
		else
			jw_raw(w, "null");
		jw_key(w, "channels", 0);
		jw_raw(w, "[");
		for (k = 0; k < s->n; k++) {
			const struct rtp_out *o = &s->out[k];
			jw_raw(w, k ? ",{" : "{");
			jw_key(w, "channel", 1);
			jw_string(w, o->ch.code);
			jw_printf(w, ",\"port\":%d,\"ssrc\":%u,\"packets\":%llu,\"bytes\":%llu}", dst->port_base + 2 * k,
				  o->session->ssrc, (unsigned long long)atomic_load(&o->packets[d]),
				  (unsigned long long)atomic_load(&o->bytes[d]));
		}
		jw_raw(w, "]}");
	}
	jw_raw(w, "]}");
}

int rtp_sender_failing(struct rtp_sender *s, int i, char *subject, size_t sublen, char *why, size_t whylen)
{
	const struct rtp_destination *d = &s->dest[i];
	int e = atomic_load(&d->last_errno);

	snprintf(subject, sublen, "%s:%d", d->host, d->port_base);
	snprintf(why, whylen, "%s", e ? strerror(e) : "");
	return atomic_load(&d->failing);
}
