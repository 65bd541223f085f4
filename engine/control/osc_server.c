#include "osc_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OSC_WORD_MAX 32
#define OSC_PACKET_MAX 65536

static void send_to(struct osc_server *o, const struct sockaddr_in *to, const char *path, lo_message m)
{
	size_t size = 0;
	void *data = lo_message_serialise(m, path, NULL, &size);

	if (data) {
		sendto(o->fd, data, size, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof *to);
		free(data);
	}
}

static int allowed(const struct osc_server *o, int b, const char *host)
{
	int i;
	for (i = 0; i < o->cfg->osc.n_peers; i++)
		if (o->cfg->osc.peers[i].booth == b && !strcmp(o->cfg->osc.peers[i].address, host))
			return 1;
	return 0;
}

/* "localhost" as inet_pton takes it; other hosts as they are. */
static const char *ipv4_literal(const char *host)
{
	return !strcmp(host, "localhost") ? "127.0.0.1" : host;
}

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/* An error for a message from `to`: to it, and to where the subscriptions
 * made from its host for that console (b, n; any console when b < 0) ask
 * for feedback. A sender such as oscsend, from a port of the moment,
 * never sees its own replies; the app listening on a fixed port does. */
static void send_error(struct osc_server *o, const struct sockaddr_in *to, int b, int n, const char *path,
		       const char *what)
{
	lo_message m = lo_message_new();
	char reply[256], text[512];
	const char *e = strstr(what, "\"error\":\"");
	int i, j;

	/* An engine reply: just its error text. */
	if (e) {
		size_t len = strcspn(e + 9, "\"");
		snprintf(text, sizeof text, "%.*s", (int)(len < sizeof text ? len : sizeof text - 1), e + 9);
		what = text;
	}
	snprintf(reply, sizeof reply, "%s/error", path);
	lo_message_add_string(m, what);
	send_to(o, to, reply, m);
	for (i = 0; i < o->n_subs; i++) {
		if (o->subs[i].from.s_addr != to->sin_addr.s_addr || same_addr(&o->subs[i].addr, to) ||
		    (b >= 0 && (o->subs[i].booth != b || o->subs[i].n != n)))
			continue;
		for (j = 0; j < i && !same_addr(&o->subs[j].addr, &o->subs[i].addr); j++)
			;
		if (j == i) /* once per address */
			send_to(o, &o->subs[i].addr, reply, m);
	}
	lo_message_free(m);
}

/* A word a console may send (a language code, A/B/C, floor, auto). */
static int plain_word(const char *s)
{
	size_t i, n = strlen(s);
	if (n == 0 || n >= OSC_WORD_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return 0;
	return 1;
}

static void send_state_to(struct osc_server *o, const struct sockaddr_in *to, int b, int n)
{
	const struct config *cfg = o->cfg;
	const struct console_state *c = state_console(o->st, b, n);
	const struct console_view *v = &o->st->consoles[cfg->booths[b].first_mic + n - 1];
	int lang = cfg->booths[b].outputs[c->output];
	const struct channel_view *ch = &o->st->channels[lang];
	const char *listen = c->listen == LISTEN_FLOOR ? "floor" : c->listen == LISTEN_AUTO ? "auto"
											     : cfg->languages[c->listen_lang].code;
	const char *quality = relay_quality_name(ch->quality);
	char path[128], output[2] = { (char)('A' + c->output), 0 };
	lo_message m = lo_message_new();

	lo_message_add_int32(m, state_mic_on(o->st, b, n));
	lo_message_add_int32(m, c->mute);
	lo_message_add_string(m, output);
	/* the channel this console speaks into, engaged by another booth? */
	lo_message_add_string(m, ch->booth >= 0 && ch->booth != b ? cfg->booths[ch->booth].id : "");
	lo_message_add_string(m, listen);
	lo_message_add_string(m, v->hears < 0 ? "floor" : cfg->languages[v->hears].code);
	lo_message_add_string(m, v->no_pivot ? "no pivot" : "");
	lo_message_add_string(m, quality ? quality : "");
	snprintf(path, sizeof path, "/tolk/%s/%d/state", cfg->booths[b].id, n);
	send_to(o, to, path, m);
	lo_message_free(m);
}

/* Feedback for console b/n goes to `to` from now on; from is the host
 * that asked. Returns 0, or -ENOSPC when every place is taken. */
static int subscribe(struct osc_server *o, const struct sockaddr_in *to, struct in_addr from, int b, int n)
{
	int i;

	for (i = 0; i < o->n_subs; i++)
		if (o->subs[i].booth == b && o->subs[i].n == n && same_addr(&o->subs[i].addr, to))
			break;
	if (i == o->n_subs) {
		if (o->n_subs == OSC_SUBSCRIBERS)
			return -ENOSPC;
		o->subs[i].addr = *to;
		o->subs[i].booth = b;
		o->subs[i].n = n;
		o->n_subs++;
	}
	o->subs[i].from = from;
	send_state_to(o, &o->subs[i].addr, b, n);
	return 0;
}

/* Where `subscribe` (types "", "i" or "s") asks feedback to go: the
 * source, a port on the source's host, or a host:port that the booth's
 * allowlist has. 0, or -EINVAL / -EPERM with the reason in why. */
static int feedback_address(const struct osc_server *o, int b, const char *types, lo_arg **argv,
			    const struct sockaddr_in *src, struct sockaddr_in *to, char *why, size_t whylen)
{
	char host[INET_ADDRSTRLEN + 16], extra;
	int port;

	*to = *src;
	if (!*types)
		return 0;
	if (!strcmp(types, "i")) {
		port = argv[0]->i;
	} else if (strlen(&argv[0]->s) >= sizeof host ||
		   sscanf(&argv[0]->s, "%[^:]:%d%c", host, &port, &extra) != 2) {
		snprintf(why, whylen, "subscribe s takes host:port, as 127.0.0.1:9000");
		return -EINVAL;
	} else if (inet_pton(AF_INET, ipv4_literal(host), &to->sin_addr) != 1) {
		snprintf(why, whylen, "subscribe: '%s' is not an IPv4 address", host);
		return -EINVAL;
	} else if (!allowed(o, b, host) && !allowed(o, b, ipv4_literal(host))) {
		snprintf(why, whylen, "subscribe: %s is not in booth %s's allowlist (osc: consoles)", host,
			 o->cfg->booths[b].id);
		return -EPERM;
	}
	if (port < 1 || port > 65535) {
		snprintf(why, whylen, "subscribe: port %d is not 1..65535", port);
		return -EINVAL;
	}
	to->sin_port = htons((uint16_t)port);
	return 0;
}

/* The console a path names, or -1 with an error that says what exists. */
static int find_console(const struct osc_server *o, const char *booth, int n, char *why, size_t whylen)
{
	int b = config_find_booth(o->cfg, booth), i;
	size_t at;

	if (b < 0) {
		at = (size_t)snprintf(why, whylen, "unknown booth '%s': the booths are", booth);
		for (i = 0; i < o->cfg->n_booths && at < whylen; i++)
			at += (size_t)snprintf(why + at, whylen - at, "%s %s", i ? "," : "", o->cfg->booths[i].id);
		return -1;
	}
	if (n < 1 || n > o->cfg->booths[b].consoles) {
		snprintf(why, whylen, "unknown console %s/%d: booth %s has consoles 1..%d", booth, n, booth,
			 o->cfg->booths[b].consoles);
		return -1;
	}
	return b;
}

static void on_message(struct osc_server *o, const char *path, const char *types, lo_arg **argv,
		       const struct sockaddr_in *src)
{
	char booth[OSC_WORD_MAX], verb[OSC_WORD_MAX], line[256], peer[128], prefix[96], host[INET_ADDRSTRLEN], extra;
	char why[256];
	struct sockaddr_in to;
	const char *reply;
	int b, n;

	inet_ntop(AF_INET, &src->sin_addr, host, sizeof host);
	snprintf(peer, sizeof peer, "%s:%u", host, (unsigned)ntohs(src->sin_port));
	if (strlen(path) > 128 || sscanf(path, "/tolk/%31[a-z0-9-]/%d/%31[a-z]%c", booth, &n, verb, &extra) != 3) {
		send_error(o, src, -1, 0, "/tolk", "unknown address: expected /tolk/<booth>/<n>/<command>");
		return;
	}
	if ((b = find_console(o, booth, n, why, sizeof why)) < 0) {
		send_error(o, src, -1, 0, "/tolk", why);
		return;
	}
	snprintf(prefix, sizeof prefix, "/tolk/%s/%d", booth, n);
#define WANT(t)                                                                                  \
	do {                                                                                     \
		if (strcmp(types, t)) {                                                          \
			snprintf(line, sizeof line, "%s takes '%s', not '%s'", verb, t, types);   \
			send_error(o, src, b, n, prefix, line);                                  \
			return;                                                                  \
		}                                                                                \
	} while (0)
	if (!strcmp(verb, "mic") || !strcmp(verb, "mute")) {
		WANT("i");
		snprintf(line, sizeof line, "%s %s %d %s", verb, booth, n, argv[0]->i ? "on" : "off");
	} else if (!strcmp(verb, "listen") || !strcmp(verb, "output")) {
		WANT("s");
		if (!plain_word(&argv[0]->s)) {
			send_error(o, src, b, n, prefix, "the argument must be a short plain word");
			return;
		}
		snprintf(line, sizeof line, "%s %s %d %s", verb, booth, n, &argv[0]->s);
	} else if (!strcmp(verb, "volume")) {
		WANT("f");
		snprintf(line, sizeof line, "volume %s %d %g", booth, n, (double)argv[0]->f);
	} else if (!strcmp(verb, "handover")) {
		WANT("i");
		snprintf(line, sizeof line, "handover %s %d %d", booth, n, argv[0]->i);
	} else if (!strcmp(verb, "slower") || !strcmp(verb, "help") || !strcmp(verb, "problem")) {
		WANT("");
		snprintf(line, sizeof line, "%s %s %d", verb, booth, n);
	} else if (!strcmp(verb, "subscribe")) {
		if (*types && strcmp(types, "i") && strcmp(types, "s")) {
			snprintf(line, sizeof line, "subscribe takes '', 'i' (a port) or 's' (host:port), not '%s'", types);
			send_error(o, src, b, n, prefix, line);
			return;
		}
		snprintf(line, sizeof line, "subscribe %s %d", booth, n);
	} else {
		send_error(o, src, b, n, prefix, "unknown command");
		return;
	}
#undef WANT
	if (!strcmp(verb, "subscribe")) {
		int ret;
		if (!allowed(o, b, host)) {
			send_error(o, src, b, n, prefix, o->execute(o->user, peer, line, 0));
			return;
		}
		why[0] = '\0';
		ret = feedback_address(o, b, types, argv, src, &to, why, sizeof why);
		if (ret == -EPERM) { /* refused, so audited, with the target */
			snprintf(line, sizeof line, "subscribe %s %d %.64s", booth, n, &argv[0]->s);
			o->execute(o->user, peer, line, 0);
		}
		if (ret == 0 && subscribe(o, &to, src->sin_addr, b, n) < 0)
			snprintf(why, sizeof why, "subscribe: all %d places are taken", OSC_SUBSCRIBERS);
		if (ret < 0 || why[0])
			send_error(o, src, b, n, prefix, why);
		return;
	}
	reply = o->execute(o->user, peer, line, allowed(o, b, host));
	if (strncmp(reply, "{\"ok\":true", 10))
		send_error(o, src, b, n, prefix, reply);
}

int osc_open(struct osc_server *o, const struct config *cfg, const struct state *st, const struct router *router,
	     osc_execute execute, void *user, char *err, size_t errlen)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };

	memset(o, 0, sizeof *o);
	o->fd = -1;
	o->cfg = cfg;
	o->st = st;
	o->router = router;
	o->execute = execute;
	o->user = user;
	addr.sin_port = htons((uint16_t)atoi(cfg->osc.port));
	if (inet_pton(AF_INET, ipv4_literal(cfg->osc.host), &addr.sin_addr) != 1) {
		snprintf(err, errlen, "osc listen host '%s' is not an IPv4 address", cfg->osc.host);
		return -EINVAL;
	}
	o->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (o->fd < 0 || bind(o->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		snprintf(err, errlen, "cannot listen for OSC on %s:%s: %s", cfg->osc.host, cfg->osc.port, strerror(errno));
		if (o->fd >= 0)
			close(o->fd);
		o->fd = -1;
		return -errno;
	}
	return 0;
}

void osc_rebind(struct osc_server *o, const struct config *cfg, const struct state *st, const struct router *router)
{
	int i, kept = 0;

	for (i = 0; i < o->n_subs; i++) {
		int b = config_find_booth(cfg, o->cfg->booths[o->subs[i].booth].id);
		if (b < 0 || o->subs[i].n > cfg->booths[b].consoles)
			continue; /* that console is gone */
		o->subs[kept] = o->subs[i];
		o->subs[kept++].booth = b;
	}
	o->n_subs = kept;
	o->cfg = cfg;
	o->st = st;
	o->router = router;
}

int osc_fd(const struct osc_server *o)
{
	return o->fd;
}

void osc_handle_packet(struct osc_server *o, const char *packet, size_t n, const struct sockaddr_in *src)
{
	lo_message m;
	const char *path;
	int result = 0;

	path = n > 0 ? lo_get_path((void *)packet, (ssize_t)n) : NULL;
	m = path && *path == '/' ? lo_message_deserialise((void *)packet, n, &result) : NULL;
	if (!m) {
		send_error(o, src, -1, 0, "/tolk", "malformed OSC message");
		return;
	}
	on_message(o, path, lo_message_get_types(m), lo_message_get_argv(m), src);
	lo_message_free(m);
}

void osc_service(struct osc_server *o)
{
	static char packet[OSC_PACKET_MAX];
	int budget = 256; /* a flood cannot hold the control thread */

	while (o->fd >= 0 && budget-- > 0) {
		struct sockaddr_in src;
		socklen_t len = sizeof src;
		ssize_t n = recvfrom(o->fd, packet, sizeof packet, 0, (struct sockaddr *)&src, &len);

		if (n < 0)
			return;
		if (len != sizeof src || src.sin_family != AF_INET)
			continue;
		osc_handle_packet(o, packet, (size_t)n, &src);
	}
}

void osc_push_state(struct osc_server *o)
{
	int i;
	for (i = 0; i < o->n_subs; i++)
		send_state_to(o, &o->subs[i].addr, o->subs[i].booth, o->subs[i].n);
}

void osc_push_meters(struct osc_server *o)
{
	char path[128];
	float peak, rms, ppeak, prms;
	int i;

	for (i = 0; i < o->n_subs; i++) {
		int mic = o->cfg->booths[o->subs[i].booth].first_mic + o->subs[i].n - 1;
		lo_message m = lo_message_new();
		router_input_meter(o->router, config_input_of_mic(o->cfg, mic), &peak, &rms);
		router_output_meter(o->router, config_output_of_phones(o->cfg, mic), &ppeak, &prms);
		lo_message_add_float(m, rms > 1e-9f ? 20.0f * log10f(rms) : -200.0f);
		lo_message_add_float(m, prms > 1e-9f ? 20.0f * log10f(prms) : -200.0f);
		snprintf(path, sizeof path, "/tolk/%s/%d/meters", o->cfg->booths[o->subs[i].booth].id, o->subs[i].n);
		send_to(o, &o->subs[i].addr, path, m);
		lo_message_free(m);
	}
}

void osc_close(struct osc_server *o)
{
	if (o->fd >= 0)
		close(o->fd);
	memset(o, 0, sizeof *o);
	o->fd = -1;
}
