/* The one command path: every command, from the control socket, OSC or
 * the web page, runs through run_command: role check, execution, audit,
 * routing, timeline and OSC feedback. The entries of each path are here,
 * with what a command may reach in this engine.
 * Thread: control. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "core/console_view.h"
#include "core/utc_time.h"
#include "engine.h"

/* Publishes the routing the state calls for. A failure leaves the flag
 * set, and the loop tries again: the state is the truth, and the snapshot
 * catches up with it. */
void publish_routing(struct engine *e)
{
	struct snapshot *s;
	int ret;

	if (!e->audio_up) {
		e->routing_dirty = 0; /* the audio side starts from the state when it is back */
		return;
	}
	s = snapshot_build(&e->state);
	if (!s) {
		log_line("cannot build routing snapshot: out of memory; will retry");
		return;
	}
	ret = exchange_publish(&e->au->exchange, s);
	if (ret < 0) {
		snapshot_free(s);
		log_line("cannot publish routing: %s; will retry", strerror(-ret));
		return;
	}
	e->routing_dirty = 0;
}

static int read_loudness(void *user, int lang, double *momentary, double *short_term)
{
	return loudness_read(user, lang, momentary, short_term);
}

/* Recording commands while the JACK server is gone act on the recording
 * that resumes when it returns. */
static int rec_start(void *user, const char *meeting, char *err, size_t errlen)
{
	struct engine *e = user;

	if (e->opt->no_record) {
		snprintf(err, errlen, "recording is disabled for this run (--no-record)");
		return -EPERM;
	}
	if (e->audio_up)
		return recorder_start(e->au->rec, meeting, err, errlen);
	snprintf(err, errlen, "the JACK server is gone; %s", e->resume_recording
		 ? "the recording resumes when it is back" : "start recording when it is back");
	return -EAGAIN;
}

static int rec_stop(void *user, char *err, size_t errlen)
{
	struct engine *e = user;

	if (e->audio_up)
		return recorder_stop(e->au->rec, err, errlen);
	if (!e->resume_recording) {
		snprintf(err, errlen, "not recording");
		return -EINVAL;
	}
	e->resume_recording = 0; /* it will not resume */
	return 0;
}

static void rec_status(void *user, struct json_writer *w, int detailed)
{
	struct engine *e = user;

	if (e->opt->no_record) {
		jw_raw(w, "{\"state\":\"disabled\",\"why\":\"--no-record\"}");
		return;
	}
	if (e->audio_up) {
		recorder_status(e->au->rec, w, detailed);
		return;
	}
	jw_raw(w, "{\"state\":");
	jw_string(w, e->resume_recording ? "waiting-for-jack" : "stopped");
	jw_key(w, "meeting", 0);
	jw_string(w, e->resume_recording ? e->resume_meeting : "");
	jw_printf(w, ",\"segment\":%d}", e->resume_segment);
}

static double rec_backlog(void *user)
{
	struct engine *e = user;

	return e->audio_up && e->au->rec ? recorder_backlog_seconds(e->au->rec) : 0.0;
}

/* The recording commands' way to the recorder, through the engine. */
struct recorder_iface recorder_iface_of(struct engine *e)
{
	return (struct recorder_iface){ .user = e, .start = rec_start, .stop = rec_stop, .status = rec_status,
					.backlog = rec_backlog };
}

/* The actor for the audit: uid and, where the system knows it, the name. */
static void describe_peer(const struct control_peer *peer, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(peer->uid);
	struct json_writer w;

	jw_init(&w);
	jw_printf(&w, "\"uid\":%u,\"gid\":%u,\"pid\":%d,\"user\":", (unsigned)peer->uid, (unsigned)peer->gid,
		  (int)peer->pid);
	if (pw)
		jw_string(&w, pw->pw_name);
	else
		jw_raw(&w, "null");
	snprintf(buf, len, "%s", w.failed ? "\"uid\":null" : w.buf);
	jw_free(&w);
}

static void write_streams(void *user, struct json_writer *w)
{
	streamer_status(user, w);
}

static void write_rtp(void *user, struct json_writer *w)
{
	rtp_sender_status(user, w);
}

void engine_command_context(struct engine *e, struct command_context *ctx)
{
	*ctx = (struct command_context){
		.state = &e->state, .events = &e->events, .router = e->audio_up ? &e->au->router : NULL,
		.log = note_change, .log_user = e,
		.recorder = e->rec_iface.user ? &e->rec_iface : NULL,
		.alarms = &e->alarms,
		.loudness = e->audio_up ? read_loudness : NULL, .loudness_user = e->au->loudness,
		.rack = e->audio_up && e->au->rack.prepared ? &e->au->rack : NULL,
		.exposure = e->audio_up && e->au->hearing.tracker.c ? &e->au->hearing.tracker : NULL,
		.exposure_day = hearing_log_day, .exposure_user = &e->au->hearing,
		.reload = reload, .reload_user = e,
		.streams = e->audio_up && e->au->streamer ? write_streams : NULL, .streams_user = e->au->streamer,
		.cycles = e->audio_up ? &e->jack.cycles : NULL,
		.incidents = incidents_iface_of(e),
		.rtp = e->audio_up && e->au->rtp ? write_rtp : NULL, .rtp_user = e->au->rtp,
		.rtp_secret = e->rtp_secret, .rtp_pin = e->rtp_pin,
		.rate = e->audio_up ? jack_shell_sample_rate(&e->jack) : 0,
	};
}

/* The one way a command runs, whichever path brought it: role check,
 * execution, audit, routing, timeline and OSC feedback. The reply is left
 * in e->reply. `refusal` explains a ROLE_NONE. */
enum command_outcome run_command(struct engine *e, const struct origin *o, const char *line, uint64_t *follow_from,
				 int *quiet)
{
	const char *via = o->via, *actor = o->actor, *who = o->who;
	const enum role role = o->role;
	struct command_context ctx;
	enum command_outcome outcome;
	char why[400];

	engine_command_context(e, &ctx);
	ctx.now_ms = utc_now_ms();
	e->current = o;
	e->reply.len = 0;
	if (e->reply.buf)
		e->reply.buf[0] = '\0';
	e->reply.failed = 0;
	e->n_changes = 0;
	if (role == ROLE_NONE) {
		command_error(&e->reply, "permission denied: %s", o->refusal);
		outcome = COMMAND_ERROR;
	} else if (!command_permits(role, o->booth, line, why, sizeof why)) {
		command_error(&e->reply, "%s", why);
		outcome = COMMAND_ERROR;
	} else {
		outcome = command_execute(&ctx, line, &e->reply);
	}
	e->current = NULL;
	/* A refusal is audited; past a small burst from one source in a
	 * second it is counted instead, and the count audited once. */
	if (quiet && outcome != COMMAND_ERROR && command_is_read_only(line)) {
		/* An accepted read on a connection: counted there, and audited
		 * once in the connection's closing line. */
		*quiet = 1;
	} else if (outcome != COMMAND_ERROR || refusal_audit_admit(&e->refusals, who, ctx.now_ms)) {
		if (role != ROLE_TECHNICIAN && outcome == COMMAND_ERROR &&
		    !strncmp(e->reply.buf ? e->reply.buf : "", "{\"ok\":false,\"error\":\"permission", 30))
			log_line("refused %s (%s): %.200s", who, role_name(role), line);
		if (e->reply.buf && audit_write(&e->audit, ctx.now_ms, via, actor, line, e->reply.buf, e->changes,
						 e->n_changes) < 0)
			log_line("ALARM: cannot write the audit log %s", e->audit.path);
	}
	if (outcome == COMMAND_ROUTING) {
		e->routing_dirty = 1;
		publish_routing(e);
		timeline_channels(e, 0);
		if (e->osc.fd > 0)
			osc_push_state(&e->osc);
		/* Every open page sees a change in this turn of the loop, not at
		 * the next frame (not from here: this may be inside a request
		 * the web server is serving). */
		e->web_due = 1;
	} else if (outcome == COMMAND_RECORD_START) {
		timeline_channels(e, 1); /* the state the recording starts in */
	} else if (outcome == COMMAND_FOLLOW && follow_from) {
		*follow_from = ctx.follow_from;
	}
	if (e->reply.failed || !e->reply.buf) {
		e->reply.len = 0;
		e->reply.failed = 0;
		jw_raw(&e->reply, "{\"ok\":false,\"error\":\"out of memory\"}");
	}
	return outcome;
}

void handle_request(void *user, const struct control_peer *peer, const char *line, char **reply,
		    size_t *reply_len, int *follow, uint64_t *follow_from, int *quiet)
{
	struct engine *e = user;
	enum role role = access_role(&e->access, peer->uid, peer->gid);
	char actor[256], who[64], refusal[160];
	const struct origin o = { "socket", actor, who, role, NULL, refusal };

	describe_peer(peer, actor, sizeof actor);
	snprintf(who, sizeof who, "uid %u", (unsigned)peer->uid);
	snprintf(refusal, sizeof refusal, "uid %u has no role on this engine (control: technicians, observers)",
		 (unsigned)peer->uid);
	if (run_command(e, &o, line, follow_from, quiet) == COMMAND_FOLLOW)
		*follow = 1;
	*reply = e->reply.buf ? e->reply.buf : (char *)"";
	*reply_len = e->reply.len;
}

/* The control socket's door: a peer's role decides whether it may hold a
 * connection at all (see control_socket.h). */
int socket_admit(void *user, const struct control_peer *peer)
{
	struct engine *e = user;

	return (int)access_role(&e->access, peer->uid, peer->gid);
}

/* A connection refused at the door is audited like a refused command,
 * counted past a burst like them. */
void socket_refused(void *user, const struct control_peer *peer, const char *why)
{
	struct engine *e = user;
	char actor[256], who[64];
	const int64_t now = utc_now_ms();

	snprintf(who, sizeof who, "uid %u", (unsigned)peer->uid);
	if (!refusal_audit_admit(&e->refusals, who, now))
		return;
	describe_peer(peer, actor, sizeof actor);
	refusal_audit_write(&e->refusals, now, "socket", actor, who, "connection", "(connect)", why);
}

/* A connection let in or gone: its opening, and its closing with the
 * reads it made (accepted reads are not a line each). */
void socket_seen(void *user, const struct control_peer *peer, long reads, const char *why)
{
	struct engine *e = user;
	char actor[256];

	describe_peer(peer, actor, sizeof actor);
	if (audit_connection(&e->audit, utc_now_ms(), "socket", actor, reads, why) < 0)
		log_line("ALARM: cannot write the audit log %s", e->audit.path);
}

/* OSC: the console's booth allows the peer, or it is refused and audited. */
const char *osc_run(void *user, const char *peer, const char *line, int allowed)
{
	struct engine *e = user;
	char actor[160], who[128];
	const struct origin o = { "osc", actor, who, allowed ? ROLE_TECHNICIAN : ROLE_NONE, NULL,
				  "this address may not drive that booth (osc: consoles)" };

	snprintf(actor, sizeof actor, "\"address\":\"%.100s\"", peer);
	/* The source is the host: a flood from many ports is one source. */
	snprintf(who, sizeof who, "OSC %.*s", (int)(strrchr(peer, ':') ? strrchr(peer, ':') - peer : 100), peer);
	run_command(e, &o, line, NULL, NULL);
	return e->reply.buf ? e->reply.buf : "{\"ok\":false,\"error\":\"no reply\"}";
}

/* The web page: the token's role, audited with the token's name (never
 * the token) and the address. */
static const char *web_run(void *user, const char *token_name, const char *peer, enum role role, const char *line)
{
	struct engine *e = user;
	char actor[200], who[128];
	/* An interpreter's token is named "booth:<id>": it is bound to it. */
	const struct origin o = { "web", actor, who, role,
				  role == ROLE_INTERPRETER && !strncmp(token_name, "booth:", 6) ? token_name + 6 : NULL,
				  "this token has no role on this engine" };

	snprintf(actor, sizeof actor, "\"token\":\"%s\",\"address\":\"%.64s\"", token_name, peer);
	snprintf(who, sizeof who, "web %s from %.64s", token_name, peer);
	run_command(e, &o, line, NULL, NULL);
	return e->reply.buf ? e->reply.buf : "{\"ok\":false,\"error\":\"no reply\"}";
}

/* A path the Archive view turned away ("..", a link out, ...): audited
 * as a refusal of that token, through the flood gate. */
static void web_archive_refused(void *user, const char *token_name, const char *peer, const char *what,
				const char *why)
{
	struct engine *e = user;
	char actor[200], who[128], command[320];
	int64_t now = utc_now_ms();

	snprintf(who, sizeof who, "web %s from %.64s", token_name, peer);
	if (!refusal_audit_admit(&e->refusals, who, now))
		return;
	snprintf(actor, sizeof actor, "\"token\":\"%s\",\"address\":\"%.64s\"", token_name, peer);
	snprintf(command, sizeof command, "GET %.300s", what);
	refusal_audit_write(&e->refusals, now, "web", actor, who, "archive", command, why);
}

/* One live frame for the page: what status, meters and record status
 * say, read without touching the audit (reading changes nothing). */
static void web_frame_of(void *user, const char *booth, struct json_writer *w)
{
	struct engine *e = user;
	struct command_context ctx;
	int b, n;

	engine_command_context(e, &ctx);
	ctx.now_ms = utc_now_ms();
	ctx.log = NULL;
	if (booth) {
		/* A booth's consoles, as their interpreters see them: no more. */
		b = config_find_booth(e->cfg, booth);
		jw_printf(w, "{\"time_ms\":%lld,\"booth\":", (long long)ctx.now_ms);
		jw_string(w, booth);
		if (b < 0) {
			jw_raw(w, ",\"error\":\"no such booth in this room\"}");
			return;
		}
		jw_key(w, "floor_language", 0);
		jw_string(w, e->state.floor_language);
		jw_raw(w, ",\"consoles\":[");
		for (n = 1; n <= e->cfg->booths[b].consoles; n++) {
			jw_raw(w, n > 1 ? "," : "");
			console_view_write(&ctx, w, b, n);
		}
		jw_raw(w, "]}");
		return;
	}
	jw_printf(w, "{\"time_ms\":%lld,\"status\":", (long long)ctx.now_ms);
	command_execute(&ctx, "status", w);
	jw_raw(w, ",\"meters\":");
	if (e->audio_up)
		command_execute(&ctx, "meters", w);
	else
		jw_raw(w, "null");
	jw_raw(w, ",\"recording\":");
	rec_status(e, w, 1);
	jw_printf(w, ",\"seconds_left\":%.0f}", e->audio_up && e->au->rec ? recorder_seconds_left(e->au->rec) : -1.0);
}

int open_web(struct engine *e, const struct config *cfg, const char *keep_token)
{
	struct cfg_web web = cfg->web;
	char err[256];

	if (!*web.technician && keep_token)
		snprintf(web.technician, sizeof web.technician, "%s", keep_token);
	if (web_open(&e->web, &web, cfg, web_run, web_frame_of, e, err, sizeof err) < 0) {
		fprintf(stderr, "tolk: %s\n", err);
		return -1;
	}
	snprintf(e->web.archive_root, sizeof e->web.archive_root, "%s",
		 e->opt && e->opt->record_dir ? e->opt->record_dir : cfg->recording.dir);
	e->web.refused = web_archive_refused;
	e->web.metrics = metrics_of;
	listeners_attach(e, cfg);
	if (e->web.token_made)
		log_line("web: control-room page at %s?token=%s (technician token made up at start, shown once; "
			 "set web.tokens.technician to keep one)", e->web.url, e->web.technician);
	else
		log_line("web: control-room page at %s", e->web.url);
	return 0;
}

/* A cough held from a page that no longer renews it (the page closed, the
 * network went) is let go, through the command path and its audit. */
void release_lapsed_coughs(struct engine *e)
{
	const struct origin o = { "lease", "\"lease\":\"cough\"", "cough lease", ROLE_TECHNICIAN, NULL, "" };
	const int64_t now = utc_now_ms();
	char line[TOLK_ID_MAX + 32];
	int b, n;

	while (state_cough_lapsed(&e->state, now, &b, &n)) {
		e->state.cough_until_ms[state_mic_index(&e->state, b, n)] = 0;
		snprintf(line, sizeof line, "cough %s %d off", e->cfg->booths[b].id, n);
		run_command(e, &o, line, NULL, NULL);
		log_line("cough %s/%d let go: its page stopped holding it", e->cfg->booths[b].id, n);
	}
}
