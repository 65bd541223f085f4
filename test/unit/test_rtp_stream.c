/* RTP for the phones (core/rtp_stream.c): the rtp: section and its
 * refusals, the channels and their ports, the header both ways, each
 * channel's SSRC, sequence and timestamp across senders and pauses, and
 * the Janus mountpoints written for a room. */
#include <errno.h>
#include <stdlib.h>

#include "helpers.h"

#include "../../engine/core/rtp_stream.h"

static int load_with(struct config *cfg, const char *extra, char *err, size_t len)
{
	char y[4096];

	snprintf(y, sizeof y, "%s%s", ROOM_YAML, extra);
	return config_load_string(cfg, y, strlen(y), "r.yaml", err, len);
}

static void refused(const char *extra, const char *want)
{
	struct config cfg;
	char err[TOLK_ERROR_MAX];

	if (load_with(&cfg, extra, err, sizeof err) == 0) {
		config_free(&cfg);
		fail_msg("loaded: %s", extra);
	}
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_section(void **state)
{
	struct config cfg;
	struct rtp_channel ch[RTP_CHANNELS_MAX];
	char err[TOLK_ERROR_MAX];
	(void)state;

	assert_int_equal(load_with(&cfg, "", err, sizeof err), 0);
	assert_int_equal(cfg.rtp.enabled, 0); /* nothing is sent unless rtp: says so */
	assert_int_equal(rtp_channels_of(&cfg, ch), 0);
	config_free(&cfg);

	assert_int_equal(load_with(&cfg,
				   "rtp:\n  destinations: [{ host: 127.0.0.1, port_base: 5002 }]\n  channels: all\n"
				   "  bitrate: 48000\n",
				   err, sizeof err),
			 0);
	assert_int_equal(cfg.rtp.enabled, 1);
	assert_int_equal(cfg.rtp.payload_type, 111);
	assert_int_equal(cfg.rtp.destinations[0].ttl, 1);
	assert_int_equal(cfg.rtp.janus_id_base, 1);
	assert_int_equal(rtp_channels_of(&cfg, ch), 5);
	assert_string_equal(ch[0].code, "floor");
	assert_int_equal(ch[0].lang, -1);
	assert_int_equal(ch[0].output, 0);
	assert_string_equal(ch[2].code, "fr");
	assert_string_equal(ch[2].name, "Français");
	assert_int_equal(ch[2].output, config_output_of_language(&cfg, 1));
	/* channel k on port_base + 2(k - 1) */
	assert_int_equal(rtp_port(&cfg.rtp, 0, 0), 5002);
	assert_int_equal(rtp_port(&cfg.rtp, 0, 4), 5010);
	config_free(&cfg);

	assert_int_equal(load_with(&cfg,
				   "rtp:\n  destinations:\n    - { host: 239.1.2.3, port_base: 6000, ttl: 4, "
				   "interface: eth1 }\n    - { host: '::1', port_base: 7000 }\n  channels: [fr, floor]\n"
				   "  payload_type: 100\n  janus: { id_base: 500, url: 'https://listen.example/janus' }\n",
				   err, sizeof err),
			 0);
	assert_int_equal(cfg.rtp.n_destinations, 2);
	assert_int_equal(cfg.rtp.destinations[0].ttl, 4);
	assert_string_equal(cfg.rtp.destinations[0].interface, "eth1");
	assert_int_equal(rtp_channels_of(&cfg, ch), 2);
	assert_string_equal(ch[0].code, "fr");
	assert_string_equal(ch[1].code, "floor");
	assert_int_equal(rtp_port(&cfg.rtp, 1, 1), 7002);
	config_free(&cfg);
}

static void test_section_refusals(void **state)
{
	(void)state;
	refused("rtp:\n  channels: all\n", "r.yaml:19:3: rtp needs destinations");
	refused("rtp:\n  destinations: [{ host: listen.example, port_base: 5002 }]\n",
		"rtp host 'listen.example' is not an IP address");
	refused("rtp:\n  destinations: [{ port_base: 5002 }]\n", "an rtp destination needs host");
	refused("rtp:\n  destinations: [{ host: 127.0.0.1, port: 5002 }]\n",
		"unknown key 'port' in rtp destination (expected one of: host, port_base, ttl, interface)");
	refused("rtp:\n  destinations: [{ host: 127.0.0.1, port_base: 65530 }]\n",
		"port_base 65530 leaves no port for channel 5");
	refused("rtp:\n  destinations: [{ host: 127.0.0.1 }]\n  channels: [it]\n",
		"rtp channel 'it' is neither floor nor a language");
	refused("rtp:\n  destinations: [{ host: 127.0.0.1 }]\n  payload_type: 8\n",
		"payload_type must be between 96 and 127, not 8");
	refused("rtp:\n  destinations: [{ host: 127.0.0.1 }]\n  janus: { url: 'janus.example' }\n",
		"janus url 'janus.example' must begin with http://");
	refused("rtp:\n  destinations: [{ host: 127.0.0.1 }]\n  frames_ms: 10\n", "unknown key 'frames_ms' in rtp");
	refused("web:\n  listen: 8080\n  listen_page: public\n", "listen_page");
	refused("web:\n  listen: 8080\n  tokens: { observer: same-token-0123456789, listener: same-token-0123456789 }\n",
		"the same token is given for two roles");
}

static void test_header(void **state)
{
	uint8_t p[RTP_HEADER];
	int pt, m;
	uint16_t seq;
	uint32_t ts, ssrc;
	(void)state;

	rtp_header_write(p, 111, 1, 0xfffe, 0xdeadbeef, 0x01020304);
	assert_int_equal(p[0], 0x80);
	assert_int_equal(p[1], 0x80 | 111);
	assert_int_equal(rtp_header_read(p, sizeof p, &pt, &m, &seq, &ts, &ssrc), 0);
	assert_int_equal(pt, 111);
	assert_int_equal(m, 1);
	assert_int_equal(seq, 0xfffe);
	assert_int_equal(ts, 0xdeadbeef);
	assert_int_equal(ssrc, 0x01020304);
	p[0] = 0x40; /* version 1 */
	assert_int_equal(rtp_header_read(p, sizeof p, &pt, &m, &seq, &ts, &ssrc), -EINVAL);
	assert_int_equal(rtp_header_read(p, 4, &pt, &m, &seq, &ts, &ssrc), -EINVAL);
}

static void test_sessions(void **state)
{
	struct rtp_sessions st = { 0 };
	const uint32_t seed[3] = { 77, 65535, 4294966000u };
	struct rtp_session *fr, *en, *again;
	int i;
	(void)state;

	fr = rtp_session_of(&st, "fr", seed);
	assert_non_null(fr);
	assert_int_equal(fr->ssrc, 77);
	assert_int_equal(fr->seq, 65535);
	assert_int_equal(fr->marker, 1); /* the first packet begins a talkspurt */
	en = rtp_session_of(&st, "en", seed);
	assert_int_not_equal(en->ssrc, fr->ssrc); /* one SSRC per channel */
	/* A packet every 20 ms: seq and ts step by one and by a frame, and wrap. */
	rtp_session_resume(fr, 1000000);
	rtp_session_sent(fr, 1000000);
	assert_int_equal(fr->seq, 0);
	assert_int_equal(fr->ts, 4294966000u + RTP_FRAME);
	assert_int_equal(fr->marker, 0);
	for (i = 1; i <= 10; i++) {
		rtp_session_resume(fr, 1000000 + i * 20000 + 3000); /* a little late: no gap */
		rtp_session_sent(fr, 1000000 + i * 20000 + 3000);
	}
	assert_int_equal(fr->seq, 10);
	assert_int_equal(fr->ts, (uint32_t)(4294966000u + 11 * RTP_FRAME));
	/* A new sender (a reload) finds the same session: same SSRC, next seq. */
	again = rtp_session_of(&st, "fr", (const uint32_t[3]){ 1, 2, 3 });
	assert_ptr_equal(again, fr);
	assert_int_equal(again->ssrc, 77);
	/* The server was gone 2 s: seq goes on by one, ts by the time that
	 * passed (whole frames, the one due not counted twice), marked. */
	{
		uint32_t ts = fr->ts;
		uint16_t seq = fr->seq;
		int64_t last = fr->last_us;
		rtp_session_resume(fr, last + 2000000);
		assert_int_equal(fr->ts, ts + 99 * RTP_FRAME);
		assert_int_equal(fr->marker, 1);
		rtp_session_sent(fr, last + 2000000);
		assert_int_equal(fr->seq, (uint16_t)(seq + 1));
	}
	rtp_sessions_free(&st);
}

static void test_janus_config(void **state)
{
	struct config cfg;
	struct json_writer w;
	char err[TOLK_ERROR_MAX];
	(void)state;

	assert_int_equal(load_with(&cfg,
				   "rtp:\n  destinations: [{ host: 127.0.0.1, port_base: 5002 }, { host: 239.0.0.9, "
				   "port_base: 6000, interface: eth1 }]\n  channels: [floor, fr]\n  janus: { id_base: 100 }\n",
				   err, sizeof err),
			 0);
	jw_init(&w);
	assert_int_equal(rtp_janus_config(&cfg, 0, "s3cret", "1234", &w), 0);
	assert_non_null(strstr(w.buf, "tolk-floor: {\n\ttype = \"rtp\"\n\tid = 100\n\tdescription = \"Floor\"\n"));
	assert_non_null(strstr(w.buf, "tolk-fr: {\n\ttype = \"rtp\"\n\tid = 101\n\tdescription = \"Français\"\n"));
	assert_non_null(strstr(w.buf, "\t\t\tport = 5004\n\t\t\tpt = 111\n\t\t\tcodec = \"opus\"\n\t\t\tiface = \"127.0.0.1\"\n"));
	assert_non_null(strstr(w.buf, "\tsecret = \"s3cret\"\n\tpin = \"1234\"\n"));
	assert_null(strstr(w.buf, "mcast"));
	jw_free(&w);
	jw_init(&w);
	assert_int_equal(rtp_janus_config(&cfg, 1, "s", "", &w), 0);
	assert_non_null(strstr(w.buf, "\t\t\tport = 6002\n"));
	assert_non_null(strstr(w.buf, "\t\t\tmcast = \"239.0.0.9\"\n\t\t\tiface = \"eth1\"\n"));
	assert_null(strstr(w.buf, "pin ="));
	jw_free(&w);
	jw_init(&w);
	assert_int_equal(rtp_janus_config(&cfg, 2, "s", "", &w), -EINVAL);
	jw_free(&w);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_section),
		cmocka_unit_test(test_section_refusals),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_janus_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
