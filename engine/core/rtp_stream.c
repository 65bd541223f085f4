#include "rtp_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int rtp_channels_of(const struct config *cfg, struct rtp_channel *out)
{
	const struct cfg_rtp *r = &cfg->rtp;
	int n = 0, i, lang;

	if (!r->enabled)
		return 0;
	for (i = 0; i < (r->all_channels ? 1 + cfg->n_languages : r->n_channels) && n < RTP_CHANNELS_MAX; i++) {
		struct rtp_channel *c = &out[n];

		lang = r->all_channels ? i - 1 : strcmp(r->channels[i], "floor") ? config_find_language(cfg, r->channels[i])
										 : -1;
		if (lang < -1)
			continue;
		c->lang = lang;
		c->output = config_output_of_language(cfg, lang);
		snprintf(c->code, sizeof c->code, "%s", lang < 0 ? "floor" : cfg->languages[lang].code);
		snprintf(c->name, sizeof c->name, "%s", lang < 0 ? "Floor" : cfg->languages[lang].name);
		n++;
	}
	return n;
}

int rtp_port(const struct cfg_rtp *r, int d, int k)
{
	return r->destinations[d].port_base + 2 * k;
}

void rtp_header_write(uint8_t *out, int payload_type, int marker, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	out[0] = 0x80; /* version 2, no padding, no extension, no CSRC */
	out[1] = (uint8_t)((marker ? 0x80 : 0) | (payload_type & 0x7f));
	out[2] = (uint8_t)(seq >> 8);
	out[3] = (uint8_t)seq;
	out[4] = (uint8_t)(ts >> 24);
	out[5] = (uint8_t)(ts >> 16);
	out[6] = (uint8_t)(ts >> 8);
	out[7] = (uint8_t)ts;
	out[8] = (uint8_t)(ssrc >> 24);
	out[9] = (uint8_t)(ssrc >> 16);
	out[10] = (uint8_t)(ssrc >> 8);
	out[11] = (uint8_t)ssrc;
}

int rtp_header_read(const uint8_t *in, size_t len, int *payload_type, int *marker, uint16_t *seq, uint32_t *ts,
		    uint32_t *ssrc)
{
	if (!in || len < RTP_HEADER || (in[0] & 0xc0) != 0x80)
		return -EINVAL;
	*payload_type = in[1] & 0x7f;
	*marker = !!(in[1] & 0x80);
	*seq = (uint16_t)(in[2] << 8 | in[3]);
	*ts = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
	*ssrc = (uint32_t)in[8] << 24 | (uint32_t)in[9] << 16 | (uint32_t)in[10] << 8 | in[11];
	return 0;
}

void rtp_sessions_free(struct rtp_sessions *st)
{
	free(st->s);
	memset(st, 0, sizeof *st);
}

struct rtp_session *rtp_session_of(struct rtp_sessions *st, const char *code, const uint32_t seed[3])
{
	struct rtp_session *s;
	int i;

	if (!st || !code)
		return NULL;
	for (i = 0; i < st->n; i++)
		if (!strcmp(st->s[i].code, code))
			return &st->s[i];
	/* Allocated once: a sender holds pointers into it while another is
	 * being made. */
	if (!st->s) {
		if (!(st->s = calloc(RTP_SESSIONS_MAX, sizeof *st->s)))
			return NULL;
		st->cap = RTP_SESSIONS_MAX;
	}
	if (st->n == st->cap)
		return NULL;
	s = &st->s[st->n++];
	memset(s, 0, sizeof *s);
	snprintf(s->code, sizeof s->code, "%s", code);
	/* Random starts (RFC 3550 5.1), and an SSRC no other channel has:
	 * Janus tells streams apart by port, a capture tool by SSRC. */
	s->ssrc = seed[0];
	for (i = 0; i < st->n - 1; i++)
		if (st->s[i].ssrc == s->ssrc) {
			s->ssrc++;
			i = -1;
		}
	s->seq = (uint16_t)seed[1];
	s->ts = seed[2];
	s->marker = 1;
	return s;
}

void rtp_session_resume(struct rtp_session *s, int64_t now_us)
{
	int64_t gap_frames;

	if (!s->last_us || now_us <= s->last_us)
		return;
	/* Whole frames beyond the one that was due: the receiver's jitter
	 * buffer sees the silence as time, not as a burst of late audio. */
	gap_frames = (now_us - s->last_us) / (RTP_FRAME_MS * 1000) - 1;
	if (gap_frames <= 0)
		return;
	s->ts += (uint32_t)(gap_frames * RTP_FRAME);
	s->marker = 1;
}

void rtp_session_sent(struct rtp_session *s, int64_t now_us)
{
	s->seq++;
	s->ts += RTP_FRAME;
	s->last_us = now_us;
	s->marker = 0;
}

/* A jcfg string: the names are the config's, checked as UTF-8 text; a
 * quote or backslash would end or bend the string. */
static void jcfg_string(struct json_writer *w, const char *s)
{
	jw_raw(w, "\"");
	for (; *s; s++)
		jw_printf(w, "%s%c", *s == '"' || *s == '\\' ? "\\" : "", *s);
	jw_raw(w, "\"");
}

int rtp_janus_config(const struct config *cfg, int d, const char *secret, const char *pin, struct json_writer *w)
{
	struct rtp_channel *ch;
	const struct cfg_rtp *r = &cfg->rtp;
	const struct cfg_rtp_destination *dst;
	int n, k, multicast;

	if (!r->enabled || d < 0 || d >= r->n_destinations)
		return -EINVAL;
	ch = calloc(RTP_CHANNELS_MAX, sizeof *ch);
	if (!ch)
		return -ENOMEM;
	n = rtp_channels_of(cfg, ch);
	dst = &r->destinations[d];
	/* 224.0.0.0/4 and ff00::/8 */
	multicast = (strchr(dst->host, ':') && !strncasecmp(dst->host, "ff", 2)) ||
		    (!strchr(dst->host, ':') && atoi(dst->host) >= 224 && atoi(dst->host) <= 239);
	jw_printf(w, "# janus.plugin.streaming.jcfg for room %s (meeting %s), written by tolkctl janus-config.\n"
		     "# RTP Opus from Tolk to %s, one mountpoint per channel. Replace the\n"
		     "# shipped file: it has sample mountpoints and a known secret.\n"
		     "general: {\n"
		     "\tevents = false\n"
		     "\tstring_ids = false\n"
		     "\t# No mountpoint is made or changed over the API without it.\n"
		     "\tadmin_key = ",
		  cfg->room, cfg->meeting, dst->host);
	jcfg_string(w, secret);
	jw_raw(w, "\n}\n");
	for (k = 0; k < n; k++) {
		jw_printf(w, "\ntolk-%s: {\n\ttype = \"rtp\"\n\tid = %d\n\tdescription = ", ch[k].code,
			  r->janus_id_base + k);
		jcfg_string(w, ch[k].name);
		jw_raw(w, "\n\tmetadata = ");
		jcfg_string(w, ch[k].code);
		jw_raw(w, "\n\tis_private = true\n\tmedia = (\n\t\t{\n\t\t\ttype = \"audio\"\n\t\t\tmid = \"a\"\n");
		jw_printf(w, "\t\t\tport = %d\n\t\t\tpt = %d\n\t\t\tcodec = \"opus\"\n", rtp_port(r, d, k), r->payload_type);
		if (multicast) {
			jw_raw(w, "\t\t\tmcast = ");
			jcfg_string(w, dst->host);
			jw_raw(w, "\n");
			if (*dst->interface) {
				jw_raw(w, "\t\t\tiface = ");
				jcfg_string(w, dst->interface);
				jw_raw(w, "\n");
			}
		} else {
			/* The gateway listens on the address Tolk sends to, and nowhere else. */
			jw_raw(w, "\t\t\tiface = ");
			jcfg_string(w, dst->host);
			jw_raw(w, "\n");
		}
		jw_raw(w, "\t\t}\n\t)\n\tsecret = ");
		jcfg_string(w, secret);
		jw_raw(w, "\n");
		if (pin && *pin) {
			jw_raw(w, "\tpin = ");
			jcfg_string(w, pin);
			jw_raw(w, "\n");
		}
		jw_raw(w, "}\n");
	}
	free(ch);
	return 0;
}
