/* The delegates' phones: what the listener page (/listen) is told, the
 * gateway's JavaScript it loads, and the Janus mountpoints' pin and
 * secret, read from their files (never from the config itself).
 * Thread: control. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "engine.h"

/* A pin or secret: one line of printable ASCII without quotes or
 * backslashes (it goes into a jcfg string and a JSON one), 1..127 bytes. */
static int read_secret(const char *path, const char *what, char *out, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char buf[256] = "";
	size_t n;
	struct stat st;

	if (!f) {
		snprintf(err, errlen, "rtp janus %s %s: %s", what, path, strerror(errno));
		return -errno;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0007)) {
		fclose(f);
		snprintf(err, errlen, "rtp janus %s %s: others may read it (chmod o-rwx)", what, path);
		return -EPERM;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (!n || n >= len || strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
					 "-_.~!#$%&()*+,/:;<=>?@[]^{|}") != n) {
		snprintf(err, errlen, "rtp janus %s %s: one line of 1 to %zu printable characters, without spaces, "
			 "quotes or backslashes", what, path, len - 1);
		explicit_bzero(buf, sizeof buf);
		return -EINVAL;
	}
	memcpy(out, buf, n + 1);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

int listeners_read_secrets(struct engine *e, const struct config *cfg, char *err, size_t errlen)
{
	char pin[sizeof e->rtp_pin] = "", secret[sizeof e->rtp_secret] = "";
	unsigned char raw[16];
	int i, ret;

	if (!cfg->rtp.enabled)
		return 0;
	if (*cfg->rtp.janus_pin_file &&
	    (ret = read_secret(cfg->rtp.janus_pin_file, "pin_file", pin, sizeof pin, err, errlen)) < 0)
		return ret;
	if (*cfg->rtp.janus_secret_file) {
		if ((ret = read_secret(cfg->rtp.janus_secret_file, "secret_file", secret, sizeof secret, err, errlen)) < 0)
			return ret;
	} else if (*e->rtp_secret) {
		snprintf(secret, sizeof secret, "%s", e->rtp_secret); /* this run's, made up before */
	} else {
		/* Nobody needs to manage the mountpoints over the API: a secret
		 * that nobody knows, this run's. */
		if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
			snprintf(err, errlen, "rtp: no randomness for the mountpoints' secret");
			return -EIO;
		}
		for (i = 0; i < (int)sizeof raw; i++)
			snprintf(secret + 2 * i, 3, "%02x", raw[i]);
	}
	memcpy(e->rtp_pin, pin, sizeof pin);
	memcpy(e->rtp_secret, secret, sizeof secret);
	explicit_bzero(pin, sizeof pin);
	explicit_bzero(secret, sizeof secret);
	return 0;
}

/* GET /api/listen: the room, the gateway, and each channel sent with its
 * mountpoint and whether an interpreter is on it now. w NULL: only
 * whether the room sends RTP at all. */
static int listen_info(void *user, struct json_writer *w)
{
	struct engine *e = user;
	const struct config *cfg = e->cfg;
	struct rtp_channel *ch;
	int n, k;

	if (!cfg->rtp.enabled)
		return -ENOENT;
	if (!w)
		return 0;
	if (!(ch = calloc(RTP_CHANNELS_MAX, sizeof *ch))) {
		w->failed = 1;
		return -ENOMEM;
	}
	n = rtp_channels_of(cfg, ch);
	jw_raw(w, "{\"ok\":true");
	jw_key(w, "room", 0);
	jw_string(w, cfg->room);
	jw_key(w, "meeting", 0);
	jw_string(w, cfg->meeting);
	jw_key(w, "janus", 0);
	jw_string(w, cfg->rtp.janus_url);
	if (*e->rtp_pin) {
		jw_key(w, "pin", 0);
		jw_string(w, e->rtp_pin);
	}
	jw_printf(w, ",\"sending\":%s,\"channels\":[", e->audio_up && e->au->rtp ? "true" : "false");
	for (k = 0; k < n; k++) {
		const struct channel_view *v = ch[k].lang >= 0 ? &e->state.channels[ch[k].lang] : NULL;
		jw_raw(w, k ? ",{" : "{");
		jw_key(w, "code", 1);
		jw_string(w, ch[k].code);
		jw_key(w, "name", 0);
		jw_string(w, ch[k].name);
		jw_printf(w, ",\"mountpoint\":%d,\"live\":%s", cfg->rtp.janus_id_base + k,
			  v && v->booth >= 0 && !v->muted ? "true" : "false");
		jw_key(w, "idle", 0);
		jw_string(w, ch[k].lang >= 0 ? idle_policy_name(cfg->languages[ch[k].lang].idle) : "floor");
		jw_raw(w, "}");
	}
	jw_raw(w, "]}");
	free(ch);
	return 0;
}

/* Debian's janus.js, read once when the page server opens. */
static char *read_janus_js(size_t *len)
{
	FILE *f = fopen(TOLK_JANUS_JS, "re");
	char *buf = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < 8 * 1024 * 1024 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

void listeners_attach(struct engine *e, const struct config *cfg)
{
	e->web.listen = listen_info;
	if (!cfg->rtp.enabled)
		return;
	e->web.janus_js = read_janus_js(&e->web.janus_js_len);
	if (!e->web.janus_js)
		log_line("note: the listener page cannot play: %s is missing (install libjs-janus-gateway)", TOLK_JANUS_JS);
	else
		log_line("web: listener page at %slisten%s", e->web.url,
			 cfg->web.listen_open ? " (open to anyone who reaches it)" : "?token=<web.tokens.listener>");
}
