/* tolk: the engine. Start-up order matters: everything that can be wrong
 * with the config or the command line is found before any JACK port is
 * made, and every buffer the realtime thread touches exists before the
 * client is activated. The main thread then becomes the control thread. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "control/access.h"
#include "control/audit_log.h"
#include "control/control_socket.h"
#include "control/osc_server.h"
#include "control/refusal_audit.h"
#include "control/web_server.h"
#include "core/command.h"
#include "core/config.h"
#include "core/config_diff.h"
#include "core/router.h"
#include "core/snapshot.h"
#include "core/state.h"
#include "core/thread_role.h"
#include "core/utc_time.h"
#include "disk/recorder.h"
#include "disk/recovery.h"
#include "disk/streamer.h"
#include "jack/jack_client.h"
#include "inserts/insert_host.h"
#include "meters/hearing_log.h"
#include "meters/loudness.h"

#ifndef TOLK_VERSION
#define TOLK_VERSION "0.1.0"
#endif

enum {
	EXIT_CLEAN = 0,
	EXIT_JACK = 1,  /* JACK unreachable, or the server went away */
	EXIT_USAGE = 2, /* command line or configuration */
};

struct options {
	const char *config;
	const char *name;
	const char *server;
	const char *control;
	const char *record_dir;
	const char *log_dir;
	const char *plugin_dir;
	int no_record;
	int check_only;
	int reconnect;
};

/* The audio side of one room, built for one config and one JACK client:
 * a reload builds a second beside it and switches, a lost server takes it
 * down. The recorder and the loudness meter are their own objects (they
 * have threads), handed from one to the next when their channels stay. */
struct audio {
	struct router router;
	struct snapshot_exchange exchange;
	struct insert_rack rack;
	struct hearing_log hearing;
	struct recorder *rec;
	int *rec_sources;               /* per recorded channel, for the JACK shell */
	struct streamer *streamer;      /* listener streams, fed by the recorder; or NULL */
	struct loudness *loudness;
	int *loudness_sources;
};

#define WEB_FRAME_MS 50 /* the page's live data at 20 Hz */
#define RELOAD_GAP_MS 250 /* reloads closer than this to the last one wait and coalesce */

struct engine {
	struct config *cfg;
	struct state state;
	struct audio *au;               /* never NULL; empty while the server is gone */
	struct jack_shell jack;
	struct control_socket control;
	struct json_writer reply;
	struct json_writer stream; /* event-stream lines */
	struct event_log events;
	struct recorder_iface rec_iface;
	struct access_policy access;
	struct osc_server osc;
	struct web_server web;
	int64_t last_web_ms;
	struct alarm_tracker alarms;
	struct insert_host plugins;
	uint32_t xruns_seen;
	uint64_t dropped_seen;
	unsigned failures_seen;
	int64_t last_alarm_tick;
	struct audit_log audit;
	struct refusal_audit refusals; /* refusals per source, counted past a burst */
	const char *changes[16];       /* this request's changes, for the audit */
	char change_text[16][256];
	int n_changes;
	struct channel_view *last_channels; /* as last told to the timeline */
	char last_floor_language[TOLK_ID_MAX];
	int last_pinned;
	int routing_dirty; /* state changed but its snapshot is not yet published */
	/* The audio side (JACK client, router, inserts, recorder, meters) is
	 * up, or gone with its server and waiting to come back. The conference
	 * state and the control paths stay through it. */
	const struct options *opt;
	const char *control_path;
	int64_t started_ms;
	int wake_fd;                           /* the JACK shell wakes the control loop */
	int audio_ever_up;
	int audio_up;
	int64_t next_attempt_ms;
	/* Reloads waiting (SIGHUPs, and tolkctl's that came too soon), and
	 * when the last one began to change the room: a storm of them becomes
	 * one reload of the file as it is then. */
	int hup_pending;
	int reloads_waiting;
	int64_t last_reload_ms;
	int resume_recording;                  /* when the audio is back */
	char resume_meeting[TOLK_MEETING_MAX];
	int resume_segment;
};

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void log_line(const char *fmt, ...)
{
	char when[UTC_ISO_MAX];
	va_list ap;

	utc_iso_ms(utc_now_ms(), when);
	flockfile(stderr); /* one line whole, whichever thread writes it */
	fprintf(stderr, "%s tolk: ", when);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

/* A whole line for the log, from any thread (the recovery helper too). */
static void log_text(const char *line)
{
	log_line("%s", line);
}

static void timeline_event(struct engine *e, const char *fields)
{
	if (e->au->rec)
		recorder_event(e->au->rec, jack_shell_frame_now(&e->jack), fields);
}

/* A line of words on the timeline, as an event of this kind. */
static void timeline_text(struct engine *e, const char *kind, const char *text)
{
	struct json_writer w;

	jw_init(&w);
	jw_printf(&w, "\"event\":\"%s\",\"text\":", kind);
	jw_string(&w, text);
	if (!w.failed)
		timeline_event(e, w.buf);
	jw_free(&w);
}

/* A change the command path made: the log, this request's audit entry,
 * and the timeline. */
static void log_cb(void *user, const char *line)
{
	struct engine *e = user;

	log_line("%s", line);
	if (e->n_changes < 16) {
		snprintf(e->change_text[e->n_changes], sizeof e->change_text[0], "%s", line);
		e->changes[e->n_changes] = e->change_text[e->n_changes];
		e->n_changes++;
	}
	timeline_text(e, "change", line);
}

/* Tells the timeline who is live on which channel, from which source, with
 * which relay quality: every channel that changed, or all of them. */
static void timeline_channels(struct engine *e, int all)
{
	const struct config *cfg = e->cfg;
	int lang;

	for (lang = 0; lang < cfg->n_languages; lang++) {
		const struct channel_view *now = &e->state.channels[lang];
		struct channel_view *was = &e->last_channels[lang];
		const char *quality = relay_quality_name(now->quality);
		struct json_writer w;

		if (!all && now->booth == was->booth && now->console == was->console && now->source == was->source &&
		    now->quality == was->quality && now->muted == was->muted)
			continue;
		jw_init(&w);
		jw_raw(&w, "\"event\":\"channel\",\"channel\":");
		jw_string(&w, cfg->languages[lang].code);
		jw_key(&w, "live", 0);
		if (now->booth >= 0)
			jw_printf(&w, "\"%s/%d\"", cfg->booths[now->booth].id, now->console);
		else
			jw_raw(&w, "null");
		jw_key(&w, "source", 0);
		if (now->booth < 0)
			jw_raw(&w, "null");
		else
			jw_string(&w, now->source < 0 ? "floor" : cfg->languages[now->source].code);
		jw_key(&w, "quality", 0);
		if (quality)
			jw_string(&w, quality);
		else
			jw_raw(&w, "null");
		jw_printf(&w, ",\"muted\":%s", now->booth >= 0 && now->muted ? "true" : "false");
		jw_key(&w, "idle", 0);
		jw_string(&w, idle_policy_name(cfg->languages[lang].idle));
		if (!w.failed)
			timeline_event(e, w.buf);
		jw_free(&w);
		*was = *now;
	}
	if (all || strcmp(e->last_floor_language, e->state.floor_language) ||
	    e->last_pinned != e->state.floor_language_pinned) {
		char fields[128];
		snprintf(fields, sizeof fields, "\"event\":\"floor-language\",\"language\":\"%s\",\"pinned\":%s",
			 e->state.floor_language, e->state.floor_language_pinned ? "true" : "false");
		timeline_event(e, fields);
		strcpy(e->last_floor_language, e->state.floor_language);
		e->last_pinned = e->state.floor_language_pinned;
	}
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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tolk [OPTIONS]\n"
		"Simultaneous-interpretation audio router (a JACK client).\n"
		"\n"
		"  -c, --config FILE      room configuration (default channels.yaml)\n"
		"  -n, --name CLIENT      JACK client name (default tolk)\n"
		"  -s, --server NAME      JACK server name (default: libjack's rules,\n"
		"                         JACK_DEFAULT_SERVER); a server is never started\n"
		"  -C, --control PATH     control socket (default $XDG_RUNTIME_DIR/tolk/CLIENT.sock,\n"
		"                         else /tmp/tolk-UID/CLIENT.sock)\n"
		"      --record-dir DIR   recordings folder (overrides recording.dir)\n"
		"      --no-record        do not start recording on its own (recording.autostart);\n"
		"                         'record start' still can\n"
		"      --log-dir DIR      where audit.jsonl and exposure.jsonl go (default: the\n"
		"                         recordings folder)\n"
		"      --plugin-dir DIR   built-in plugins (default $TOLK_PLUGIN_DIR, else plugins/\n"
		"                         next to the executable, else " TOLK_PLUGINDIR ")\n"
		"      --reconnect        when the JACK server goes away, close the recordings\n"
		"                         cleanly, wait for it (trying every second), then\n"
		"                         restore ports, connections and state and record on\n"
		"                         in a new segment (default: exit with status 1)\n"
		"      --check FILE       validate FILE and exit (0 valid, 2 invalid)\n"
		"  -V, --version          print the version and exit\n"
		"  -h, --help             print this help and exit\n"
		"\n"
		"Exit status: 0 clean stop (SIGINT, SIGTERM), 1 JACK unreachable or gone\n"
		"(without --reconnect),\n"
		"2 usage or configuration error.\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_RECORD_DIR = 256, OPT_NO_RECORD, OPT_CHECK, OPT_LOG_DIR, OPT_PLUGIN_DIR, OPT_RECONNECT };
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "server", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, 'C' },
		{ "record-dir", required_argument, NULL, OPT_RECORD_DIR },
		{ "no-record", no_argument, NULL, OPT_NO_RECORD },
		{ "log-dir", required_argument, NULL, OPT_LOG_DIR },
		{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
		{ "check", required_argument, NULL, OPT_CHECK },
		{ "reconnect", no_argument, NULL, OPT_RECONNECT },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .config = "channels.yaml", .name = "tolk" };
	while ((c = getopt_long(argc, argv, "c:n:s:C:Vh", longs, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'n': o->name = optarg; break;
		case 's': o->server = optarg; break;
		case 'C': o->control = optarg; break;
		case OPT_RECORD_DIR: o->record_dir = optarg; break;
		case OPT_NO_RECORD: o->no_record = 1; break;
		case OPT_LOG_DIR: o->log_dir = optarg; break;
		case OPT_PLUGIN_DIR: o->plugin_dir = optarg; break;
		case OPT_CHECK: o->config = optarg; o->check_only = 1; break;
		case OPT_RECONNECT: o->reconnect = 1; break;
		case 'V': printf("tolk %s\n", TOLK_VERSION); exit(EXIT_CLEAN);
		case 'h': usage(stdout); exit(EXIT_CLEAN);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tolk: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	if (!*o->name || strchr(o->name, '/') || strchr(o->name, ':')) {
		fprintf(stderr, "tolk: --name '%s' must be non-empty, without '/' or ':'\n", o->name);
		return -EINVAL;
	}
	return 0;
}

/* Publishes the routing the state calls for. A failure leaves the flag
 * set, and the loop tries again: the state is the truth, and the snapshot
 * catches up with it. */
static void publish_routing(struct engine *e)
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

static int reload(void *user, struct json_writer *w);

static void write_streams(void *user, struct json_writer *w)
{
	streamer_status(user, w);
}

/* What a command may reach in this engine, as it is now. */
static void command_context_of(struct engine *e, struct command_context *ctx)
{
	*ctx = (struct command_context){
		.state = &e->state, .events = &e->events, .router = e->audio_up ? &e->au->router : NULL,
		.log = log_cb, .log_user = e,
		.recorder = e->rec_iface.user ? &e->rec_iface : NULL,
		.alarms = &e->alarms,
		.loudness = e->audio_up ? read_loudness : NULL, .loudness_user = e->au->loudness,
		.rack = e->audio_up && e->au->rack.prepared ? &e->au->rack : NULL,
		.exposure = e->audio_up && e->au->hearing.tracker.c ? &e->au->hearing.tracker : NULL,
		.exposure_day = hearing_log_day, .exposure_user = &e->au->hearing,
		.reload = reload, .reload_user = e,
		.streams = e->audio_up && e->au->streamer ? write_streams : NULL, .streams_user = e->au->streamer,
		.cycles = e->audio_up ? &e->jack.cycles : NULL,
		.rate = e->audio_up ? jack_shell_sample_rate(&e->jack) : 0,
	};
}

/* The one way a command runs, whichever path brought it: role check,
 * execution, audit, routing, timeline and OSC feedback. The reply is left
 * in e->reply. `refusal` explains a ROLE_NONE. */
static enum command_outcome run_command(struct engine *e, const char *via, const char *actor, const char *who,
					const char *line, enum role role, const char *refusal, uint64_t *follow_from)
{
	struct command_context ctx;
	enum command_outcome outcome;

	command_context_of(e, &ctx);
	ctx.now_ms = utc_now_ms();
	e->reply.len = 0;
	if (e->reply.buf)
		e->reply.buf[0] = '\0';
	e->reply.failed = 0;
	e->n_changes = 0;
	if (role == ROLE_NONE) {
		command_error(&e->reply, "permission denied: %s", refusal);
		outcome = COMMAND_ERROR;
	} else if (role == ROLE_OBSERVER && !command_is_read_only(line)) {
		command_error(&e->reply, "permission denied: an observer may use status, events, meters, inserts, "
			      "exposure, help and record status only");
		outcome = COMMAND_ERROR;
	} else {
		outcome = command_execute(&ctx, line, &e->reply);
	}
	/* A refusal is audited; past a small burst from one source in a
	 * second it is counted instead, and the count audited once. */
	if (outcome != COMMAND_ERROR || refusal_audit_admit(&e->refusals, who, ctx.now_ms)) {
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

static void handle_request(void *user, const struct control_peer *peer, const char *line, char **reply,
			   size_t *reply_len, int *follow, uint64_t *follow_from)
{
	struct engine *e = user;
	enum role role = access_role(&e->access, peer->uid, peer->gid);
	char actor[256], who[64], refusal[160];

	describe_peer(peer, actor, sizeof actor);
	snprintf(who, sizeof who, "uid %u", (unsigned)peer->uid);
	snprintf(refusal, sizeof refusal, "uid %u has no role on this engine (control: technicians, observers)",
		 (unsigned)peer->uid);
	if (run_command(e, "socket", actor, who, line, role, refusal, follow_from) == COMMAND_FOLLOW)
		*follow = 1;
	*reply = e->reply.buf ? e->reply.buf : (char *)"";
	*reply_len = e->reply.len;
}

/* The control socket's door: a peer's role decides whether it may hold a
 * connection at all (see control_socket.h). */
static int socket_admit(void *user, const struct control_peer *peer)
{
	struct engine *e = user;

	return (int)access_role(&e->access, peer->uid, peer->gid);
}

/* A connection refused at the door is audited like a refused command,
 * counted past a burst like them. */
static void socket_refused(void *user, const struct control_peer *peer, const char *why)
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

/* OSC: the console's booth allows the peer, or it is refused and audited. */
static const char *osc_run(void *user, const char *peer, const char *line, int allowed)
{
	struct engine *e = user;
	char actor[160], who[128];

	snprintf(actor, sizeof actor, "\"address\":\"%.100s\"", peer);
	/* The source is the host: a flood from many ports is one source. */
	snprintf(who, sizeof who, "OSC %.*s", (int)(strrchr(peer, ':') ? strrchr(peer, ':') - peer : 100), peer);
	run_command(e, "osc", actor, who, line, allowed ? ROLE_TECHNICIAN : ROLE_NONE,
		    "this address may not drive that booth (osc: consoles)", NULL);
	return e->reply.buf ? e->reply.buf : "{\"ok\":false,\"error\":\"no reply\"}";
}

/* The web page: the token's role, audited with the token's name (never
 * the token) and the address. */
static const char *web_run(void *user, const char *token_name, const char *peer, enum role role, const char *line)
{
	struct engine *e = user;
	char actor[200], who[128];

	snprintf(actor, sizeof actor, "\"token\":\"%s\",\"address\":\"%.64s\"", token_name, peer);
	snprintf(who, sizeof who, "web %s from %.64s", token_name, peer);
	run_command(e, "web", actor, who, line, role, "this token has no role on this engine", NULL);
	return e->reply.buf ? e->reply.buf : "{\"ok\":false,\"error\":\"no reply\"}";
}

/* One live frame for the page: what status, meters and record status
 * say, read without touching the audit (reading changes nothing). */
static void web_frame_of(void *user, struct json_writer *w)
{
	struct engine *e = user;
	struct command_context ctx;

	command_context_of(e, &ctx);
	ctx.now_ms = utc_now_ms();
	ctx.log = NULL;
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

static int open_web(struct engine *e, const struct config *cfg, const char *keep_token)
{
	struct cfg_web web = cfg->web;
	char err[256];

	if (!*web.technician && keep_token)
		snprintf(web.technician, sizeof web.technician, "%s", keep_token);
	if (web_open(&e->web, &web, web_run, web_frame_of, e, err, sizeof err) < 0) {
		fprintf(stderr, "tolk: %s\n", err);
		return -1;
	}
	if (e->web.token_made)
		log_line("web: control-room page at %s?token=%s (technician token made up at start, shown once; "
			 "set web.tokens.technician to keep one)", e->web.url, e->web.technician);
	else
		log_line("web: control-room page at %s", e->web.url);
	return 0;
}

/* Keep the realtime thread's own buffers in RAM. Not mlockall: locking
 * libjack's shared memory along with ours keeps jackd from unregistering
 * itself when it goes away, which leaks one of its eight server slots.
 * MLOCK_ONFAULT: the buffers are touched already, so there is nothing to
 * populate, and plain mlock's walk over them holds the process's memory
 * map lock long enough, during a reload, for the realtime thread to miss
 * its period on a fault of its own (a new port's buffer): xruns under
 * jackd2, seen as lost periods on channels the reload never touched.
 * Without the privilege this fails, and Tolk still runs. */
static int lock_region(void *addr, size_t len, void *user)
{
	(void)user;
	return addr && len && mlock2(addr, len, MLOCK_ONFAULT) < 0 ? -errno : 0;
}

static void lock_rt_memory(const struct router *r, const struct insert_rack *rack)
{
	struct memory_region regions[16];
	int i, n = router_memory(r, regions, 16), ret = 0;

	for (i = 0; i < n && !ret; i++)
		ret = lock_region(regions[i].addr, regions[i].len, NULL);
	if (!ret)
		ret = rack_each_memory(rack, lock_region, NULL);
	if (ret)
		log_line("note: cannot lock realtime memory (%s); a page-out could cause a dropout", strerror(-ret));
}

/* The recorder and its rings exist before activation: allocating them is
 * not for the realtime thread. Its sources are where its channels are in
 * cfg's ports. */
static int open_recorder(struct engine *e, struct audio *a, const struct config *cfg, char *err, size_t errlen)
{
	int i;

	a->rec = calloc(1, sizeof *a->rec);
	if (!a->rec)
		return -ENOMEM;
	if (recorder_init(a->rec, cfg, e->opt->record_dir, jack_shell_sample_rate(&e->jack), &e->jack.xruns, err,
			  errlen) < 0) {
		free(a->rec);
		a->rec = NULL;
		return -EINVAL;
	}
	a->rec_sources = calloc((size_t)a->rec->n_channels + 1, sizeof *a->rec_sources);
	if (!a->rec_sources)
		return -ENOMEM;
	for (i = 0; i < a->rec->n_channels; i++)
		a->rec_sources[i] = a->rec->channels[i].source;
	if (cfg->stream.enabled) {
		int ret;
		a->streamer = calloc(1, sizeof *a->streamer);
		if (!a->streamer)
			return -ENOMEM;
		if ((ret = streamer_init(a->streamer, cfg, a->rec->channels, a->rec->n_channels,
					 jack_shell_sample_rate(&e->jack), err, errlen)) < 0)
			return ret;
		a->rec->streamer = a->streamer;
	}
	if (recorder_run(a->rec) < 0 || (a->streamer && streamer_run(a->streamer) < 0)) {
		snprintf(err, errlen, "cannot start the recorder");
		return -ENOMEM;
	}
	return 0;
}

/* R128 loudness of every language channel, off the audio thread. */
static int open_loudness(struct engine *e, struct audio *a, const struct config *cfg)
{
	int i;

	a->loudness = calloc(1, sizeof *a->loudness);
	a->loudness_sources = calloc((size_t)cfg->n_languages, sizeof *a->loudness_sources);
	if (!a->loudness || !a->loudness_sources)
		return -ENOMEM;
	for (i = 0; i < cfg->n_languages; i++)
		a->loudness_sources[i] = config_output_of_language(cfg, i);
	if (loudness_init(a->loudness, cfg->n_languages, jack_shell_sample_rate(&e->jack)) < 0 ||
	    loudness_run(a->loudness) < 0)
		return -ENOMEM;
	return 0;
}

/* The router with its first snapshot (from st), and every insert loaded,
 * instantiated and activated: all before the realtime thread sees them. */
static int open_mixing(struct engine *e, struct audio *a, const struct config *cfg, const struct state *st,
		       char *err, size_t errlen)
{
	const uint32_t rate = jack_shell_sample_rate(&e->jack);
	struct snapshot *first;
	int ret;

	if ((ret = router_init(&a->router, cfg, rate)) < 0 || !(first = snapshot_build(st))) {
		snprintf(err, errlen, "cannot set up the router: %s", strerror(ret < 0 ? -ret : ENOMEM));
		return ret < 0 ? ret : -ENOMEM;
	}
	exchange_init(&a->exchange, first);
	ret = rack_init(&a->rack, cfg->n_mics, 1 + cfg->n_languages, (float)rate, ROUTER_CHUNK_MAX);
	if (ret == 0 && (ret = insert_host_build(&e->plugins, cfg, &a->rack, err, errlen)) < 0)
		return ret;
	if (ret < 0 || (ret = router_attach_rack(&a->router, &a->rack)) < 0)
		snprintf(err, errlen, "cannot set up the inserts: %s", strerror(-ret));
	return ret;
}

static const char *log_dir(const struct engine *e, const struct config *cfg)
{
	return e->opt->log_dir ? e->opt->log_dir : e->opt->record_dir ? e->opt->record_dir : cfg->recording.dir;
}

/* An alarm raised or cleared: the log, the events and the timeline. */
static void on_alarm(void *user, const struct alarm *a, int raised)
{
	struct engine *e = user;
	char text[ALARM_KIND_MAX + ALARM_SUBJECT_MAX + ALARM_DETAIL_MAX + 16];
	struct json_writer w;

	snprintf(text, sizeof text, "%s %s%s%s%s%s", raised ? "alarm" : "cleared", a->kind, *a->subject ? " " : "",
		 a->subject, raised && *a->detail ? ": " : "", raised ? a->detail : "");
	if (!raised && !strcmp(a->kind, "stream-down"))
		snprintf(text, sizeof text, "stream-up %s", a->subject); /* what the control room wants to read */
	log_line("%s%s", raised ? "ALARM: " : "", text);
	event_log_add(&e->events, utc_now_ms(), EVENT_ALARM, "", 0, text);
	jw_init(&w);
	jw_raw(&w, "\"event\":\"alarm\",\"kind\":");
	jw_string(&w, a->kind);
	jw_key(&w, "subject", 0);
	jw_string(&w, a->subject);
	jw_printf(&w, ",\"raised\":%s", raised ? "true" : "false");
	if (!w.failed)
		timeline_event(e, w.buf);
	jw_free(&w);
}

static double to_db(float level)
{
	return level > 1e-9f ? 20.0 * log10(level) : -200.0;
}

/* Ten times a second: what holds now. The tracker decides what is raised
 * and what is cleared. */
static void check_alarms(struct engine *e)
{
	const struct config *cfg = e->cfg;
	const struct cfg_alarms *th = &cfg->alarms;
	const int64_t now = utc_now_ms(), clear = (int64_t)(th->clear_seconds * 1000);
	char name[TOLK_PORT_NAME_MAX], detail[ALARM_DETAIL_MAX];
	float peak, rms;
	uint32_t xruns = atomic_load(&e->jack.xruns);
	uint64_t dropped = e->au->rec ? recorder_dropped(e->au->rec) : 0;
	double left = e->au->rec ? recorder_seconds_left(e->au->rec) : -1;
	int lang, b, n, i, live_count;

	alarm_begin(&e->alarms);
	alarm_state(&e->alarms, now, "jack-down", "", !e->audio_up, 0, clear,
		    "the JACK server is gone: no audio, no recording; waiting for it");
	if (!e->audio_up) {
		alarm_end(&e->alarms, now, clear);
		return;
	}
	for (lang = 0; lang < cfg->n_languages; lang++) {
		const struct channel_view *ch = &e->state.channels[lang];
		int silent = 0;
		if (ch->booth >= 0 && !ch->muted) {
			int mic = cfg->booths[ch->booth].first_mic + ch->console - 1;
			router_input_meter(&e->au->router, config_input_of_mic(cfg, mic), &peak, &rms);
			silent = to_db(rms) < th->live_silent_db;
			snprintf(detail, sizeof detail, "%s/%d is live but below %g dBFS", cfg->booths[ch->booth].id,
				 ch->console, th->live_silent_db);
		}
		alarm_state(&e->alarms, now, "live-silent", cfg->languages[lang].code, silent,
			    (int64_t)(th->live_silent_seconds * 1000), clear, detail);
		for (b = 0, live_count = 0; b < cfg->n_booths; b++)
			live_count += e->state.booths[b].live &&
				      cfg->booths[b].outputs[e->state.booths[b].consoles[e->state.booths[b].live - 1].output] == lang;
		alarm_state(&e->alarms, now, "both-open", cfg->languages[lang].code, live_count > 1, 0, clear,
			    "two mics live on one channel");
	}
	router_output_meter(&e->au->router, 0, &peak, &rms);
	snprintf(detail, sizeof detail, "the floor is below %g dBFS", th->floor_silent_db);
	alarm_state(&e->alarms, now, "floor-silent", "", to_db(rms) < th->floor_silent_db,
		    (int64_t)(th->floor_silent_seconds * 1000), clear, detail);
	for (i = 0; i < config_output_count(cfg) + config_input_count(cfg); i++) {
		int is_output = i < config_output_count(cfg), k = is_output ? i : i - config_output_count(cfg);
		if (is_output) {
			config_output_name(cfg, k, name, sizeof name);
			router_output_meter(&e->au->router, k, &peak, &rms);
		} else {
			config_input_name(cfg, k, name, sizeof name);
			router_input_meter(&e->au->router, k, &peak, &rms);
		}
		snprintf(detail, sizeof detail, "peak %.1f dBFS", to_db(peak));
		alarm_state(&e->alarms, now, "clipping", name, to_db(peak) >= th->clip_dbfs, 0, clear, detail);
	}
	for (b = 0; b < cfg->n_booths; b++)
		for (n = 1; n <= cfg->booths[b].consoles; n++) {
			const struct console_view *v = &e->state.consoles[cfg->booths[b].first_mic + n - 1];
			snprintf(name, sizeof name, "%s/%d", cfg->booths[b].id, n);
			alarm_state(&e->alarms, now, "no-pivot", name, v->no_pivot, 0, clear,
				    "auto-relay found no pivot: hearing the floor");
		}
	snprintf(detail, sizeof detail, "%u xrun(s) in all", xruns);
	alarm_state(&e->alarms, now, "xrun", "", xruns != e->xruns_seen, 0, 5 * clear, detail);
	snprintf(detail, sizeof detail, "%llu frame(s) dropped in all", (unsigned long long)dropped);
	alarm_state(&e->alarms, now, "recording-drop", "", dropped != e->dropped_seen, 0, 5 * clear, detail);
	{
		int failed_now = 0;
		unsigned failures = e->au->rec ? recorder_failures(e->au->rec, &failed_now) : 0;
		if (failures < e->failures_seen) /* a new recorder after a reload */
			e->failures_seen = failures;
		snprintf(detail, sizeof detail, "recording failed %u time(s): see the log and record status",
			 failures);
		alarm_state(&e->alarms, now, "recording-failed", "", failed_now || failures != e->failures_seen, 0,
			    5 * clear, detail);
		e->failures_seen = failures;
	}
	snprintf(detail, sizeof detail, "%.0f minute(s) of recording left on the disk", left / 60);
	alarm_state(&e->alarms, now, "disk-low", "", left >= 0 && left < th->disk_low_minutes * 60, 0, clear, detail);
	for (i = 0; e->au->streamer && i < e->au->streamer->n; i++) {
		const struct stream *st = &e->au->streamer->streams[i];
		char why[80];
		streamer_error(e->au->streamer, i, why, sizeof why);
		snprintf(detail, sizeof detail, "listeners of %.48s hear nothing: %.60s", st->mount, why);
		alarm_state(&e->alarms, now, "stream-down", st->mount, !streamer_up(e->au->streamer, i), 3000, 0,
			    detail);
	}
	alarm_end(&e->alarms, now, clear);
	e->xruns_seen = xruns;
	e->dropped_seen = dropped;
}

/* The hearing limiter acted: the log, the events and the timeline. */
static void on_hearing(void *user, const char *text)
{
	struct engine *e = user;

	log_line("%s", text);
	event_log_add(&e->events, utc_now_ms(), EVENT_HEARING, "", 0, text);
	timeline_text(e, "hearing", text);
}

/* For event streams: the event after `after` as a JSON line. */
static uint64_t next_event(void *user, uint64_t after, char **line, size_t *len)
{
	struct engine *e = user;
	uint64_t seq = after + 1;
	const struct event *ev;

	if (seq < event_log_first(&e->events))
		seq = event_log_first(&e->events); /* the stream fell behind the ring */
	ev = event_log_get(&e->events, seq);
	if (!ev)
		return 0;
	e->stream.len = 0;
	e->stream.failed = 0;
	command_write_event(&e->stream, ev);
	if (e->stream.failed)
		return 0;
	*line = e->stream.buf;
	*len = e->stream.len;
	return seq;
}


/* Everything an audio side holds; the realtime thread must no longer
 * see it. The struct itself stays the caller's. */
static void audio_free(struct audio *a)
{
	if (a->loudness) {
		loudness_free(a->loudness);
		free(a->loudness);
	}
	free(a->loudness_sources);
	if (a->rec) {
		recorder_shutdown(a->rec);
		recorder_free(a->rec);
		free(a->rec);
	}
	free(a->rec_sources);
	if (a->streamer) {
		/* After the disk thread: nothing feeds it any more. */
		streamer_free(a->streamer);
		free(a->streamer);
	}
	hearing_log_close(&a->hearing);
	exchange_destroy(&a->exchange);
	rack_free(&a->rack);
	router_free(&a->router);
}

/* Undoes audio_open, or as much of it as was done. Recording ends first,
 * while the realtime side may still feed it, so that every file is
 * finished properly; then the client goes, and no realtime cycle runs past
 * that point. Everything is left zeroed, ready for audio_open again. */
static void audio_close(struct engine *e)
{
	uint32_t xruns;

	if (e->au->rec)
		recorder_shutdown(e->au->rec);
	xruns = atomic_load(&e->jack.xruns);
	jack_shell_close(&e->jack);
	if (xruns)
		log_line("%u xruns during this run", xruns);
	audio_free(e->au);
	memset(e->au, 0, sizeof *e->au);
	memset(&e->jack, 0, sizeof e->jack);
	e->audio_up = 0;
}

/* Say why the audio side cannot start: on the terminal at start, in the
 * log while waiting for the server to come back. */
static void say(struct engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct engine *e, const char *fmt, ...)
{
	char text[TOLK_ERROR_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (e->audio_ever_up)
		log_line("%s", text);
	else
		fprintf(stderr, "tolk: %s\n", text);
}

/* A connect: entry made late, or lost: the log, the events and the
 * timeline. */
static void link_note(void *user, const char *line)
{
	struct engine *e = user;

	log_line("%s", line);
	event_log_add(&e->events, utc_now_ms(), EVENT_CHANGE, "", 0, line);
	timeline_text(e, "connection", line);
}

/* The audio side: the JACK client and its ports, the router and its first
 * snapshot from the current state, every insert, the hearing log, the
 * recorder and the loudness meter, all allocated and touched before the
 * client is activated. Returns EXIT_CLEAN, or the exit status the failure
 * calls for with everything undone. */
static int audio_open(struct engine *e, int quiet)
{
	char err[TOLK_ERROR_MAX + 256];
	int status, ret;

	jack_shell_quiet(quiet);
	ret = jack_shell_open(&e->jack, e->cfg, e->opt->name, e->opt->server, e->wake_fd, err, sizeof err);
	jack_shell_quiet(0);
	if (ret < 0) {
		if (!quiet)
			say(e, "%s", err);
		return EXIT_JACK;
	}
	if ((ret = open_mixing(e, e->au, e->cfg, &e->state, err, sizeof err)) == 0)
		ret = hearing_log_open(&e->au->hearing, e->cfg, &e->au->router, &e->au->rack,
				       jack_shell_sample_rate(&e->jack), log_dir(e, e->cfg), on_hearing, e, err, sizeof err);
	if (ret == 0)
		log_line("inserts: %d, channel latency %u frames, phones limit %g dB SPL (%g dB SPL at 0 dBFS)",
			 e->au->rack.n_inserts, e->au->rack.mic_latency + e->au->rack.output_latency,
			 e->cfg->hearing.ceiling_dbspl, e->cfg->hearing.dbspl_at_0dbfs);
	if (ret == 0 && (ret = open_recorder(e, e->au, e->cfg, err, sizeof err)) == 0 &&
	    (ret = open_loudness(e, e->au, e->cfg)) < 0)
		snprintf(err, sizeof err, "cannot start the loudness meter");
	if (ret == 0 && (jack_shell_add_capture(&e->jack, &e->au->rec->capture, e->au->rec_sources) < 0 ||
			 jack_shell_add_capture(&e->jack, &e->au->loudness->capture, e->au->loudness_sources) < 0)) {
		snprintf(err, sizeof err, "out of memory");
		ret = -ENOMEM;
	}
	if (ret < 0) {
		say(e, "%s", err);
		status = EXIT_USAGE;
		goto fail;
	}
	lock_rt_memory(&e->au->router, &e->au->rack);
	if (jack_shell_start(&e->jack, &e->au->router, &e->au->exchange, link_note, e) < 0) {
		say(e, "cannot activate the JACK client");
		status = EXIT_JACK;
		goto fail;
	}
	log_line("running: client '%s', %d inputs, %d outputs, %u Hz, control %s, %s %.0f ms",
		 jack_get_client_name(e->jack.client), e->jack.plan->n_inputs, e->jack.plan->n_outputs,
		 jack_shell_sample_rate(&e->jack), e->control_path, e->audio_ever_up ? "back in" : "ready in",
		 (double)(utc_now_ms() - (e->audio_ever_up ? e->next_attempt_ms - 1000 : e->started_ms)));
	e->audio_up = 1;
	e->audio_ever_up = 1;
	return EXIT_CLEAN;
fail:
	audio_close(e);
	return status;
}


/* The server went away: every recording file is closed properly (the
 * timeline says why), and the audio side is let go. The state stays. */
static void audio_lost(struct engine *e)
{
	char fields[400];
	struct json_writer w;

	log_line("JACK server went away: %s", e->jack.shutdown_reason);
	event_log_add(&e->events, utc_now_ms(), EVENT_ALARM, "", 0, "the JACK server went away");
	e->resume_recording = e->au->rec &&
			      recorder_running(e->au->rec, e->resume_meeting, sizeof e->resume_meeting, &e->resume_segment);
	jw_init(&w);
	jw_raw(&w, "\"event\":\"jack-lost\",\"reason\":");
	jw_string(&w, e->jack.shutdown_reason);
	snprintf(fields, sizeof fields, "%s", w.failed ? "\"event\":\"jack-lost\"" : w.buf);
	jw_free(&w);
	timeline_event(e, fields);
	audio_close(e);
	if (e->resume_recording)
		log_line("recording %s closed at segment %d%s", e->resume_meeting, e->resume_segment,
			 e->opt->reconnect ? "; it resumes in a new segment when the server is back" : "");
	e->next_attempt_ms = utc_now_ms() + 1000;
	if (e->opt->reconnect)
		log_line("waiting for the JACK server; trying every second");
}

/* Once a second while the server is gone: everything back as it was,
 * from the state, and the recording on in a new segment. */
static void audio_retry(struct engine *e)
{
	char why[512];

	e->next_attempt_ms = utc_now_ms() + 1000;
	if (audio_open(e, 1) != EXIT_CLEAN)
		return;
	log_line("JACK server is back: ports, connections and state restored");
	event_log_add(&e->events, utc_now_ms(), EVENT_CHANGE, "", 0, "the JACK server is back; state restored");
	if (e->resume_recording) {
		if (recorder_continue(e->au->rec, e->resume_meeting, e->resume_segment, why, sizeof why) < 0) {
			log_line("ALARM: recording %s not resumed: %s", e->resume_meeting, why);
		} else {
			timeline_event(e, "\"event\":\"jack-back\"");
			timeline_channels(e, 1);
		}
		e->resume_recording = 0;
	}
	if (e->osc.fd > 0)
		osc_push_state(&e->osc);
}

/* ---- reload ---------------------------------------------------------------- */

static void reply_reset(struct json_writer *w)
{
	w->len = 0;
	w->failed = 0;
	if (w->buf)
		w->buf[0] = '\0';
}

struct reload_words {
	struct engine *e;
	struct json_writer *w;
	int n;
};

/* One change a reload makes: the reply, and the log, audit and timeline. */
static void say_change(void *user, const char *line)
{
	struct reload_words *r = user;
	char text[600];

	jw_raw(r->w, r->n++ ? "," : "");
	jw_string(r->w, line);
	snprintf(text, sizeof text, "reload: %s", line);
	if (r->e)
		log_cb(r->e, text);
}

/* The booth and console (1-based) of mic k. */
static int mic_console(const struct config *cfg, int k, int *n)
{
	int b;

	for (b = 0; b < cfg->n_booths; b++)
		if (k >= cfg->booths[b].first_mic && k < cfg->booths[b].first_mic + cfg->booths[b].consoles) {
			*n = k - cfg->booths[b].first_mic + 1;
			return b;
		}
	return -1;
}

/* The same console's mic in the other config, or -1. */
static int same_mic(const struct config *now, int k, const struct config *was, int *b_now, int *b_was)
{
	int n;

	*b_now = mic_console(now, k, &n);
	*b_was = *b_now >= 0 ? config_find_booth(was, now->booths[*b_now].id) : -1;
	if (*b_was < 0 || n > was->booths[*b_was].consoles)
		return -1;
	return was->booths[*b_was].first_mic + n - 1;
}

/* Every chain of the new rack whose config is the same as the running
 * one's takes over its plugins and delay lines: no reset, no gap. */
static int adopt_inserts(struct insert_rack *k, const struct config *now, struct insert_rack *old,
			 const struct config *was)
{
	int c, adopted = 0;

	for (c = 0; c < k->n_chains; c++) {
		int index, from = -1, bn, bw, lang;
		enum chain_kind kind = rack_chain_kind(k, c, &index);

		if (kind == CHAIN_MIC || kind == CHAIN_PHONES) {
			int m = same_mic(now, index, was, &bn, &bw);
			if (m >= 0 && kind == CHAIN_MIC &&
			    config_chain_equal(config_mic_chain(now, bn), config_mic_chain(was, bw)))
				from = rack_chain_index(old, CHAIN_MIC, m);
			if (m >= 0 && kind == CHAIN_PHONES && !memcmp(&now->hearing, &was->hearing, sizeof now->hearing) &&
			    config_chain_equal(config_phones_chain(now, bn), config_phones_chain(was, bw)))
				from = rack_chain_index(old, CHAIN_PHONES, m);
		} else {
			lang = index == 0 ? -1 : config_find_language(was, now->languages[index - 1].code);
			if ((index == 0 || lang >= 0) &&
			    config_chain_equal(config_output_chain(now, index - 1), config_output_chain(was, lang)))
				from = rack_chain_index(old, CHAIN_OUTPUT, lang + 1);
		}
		if (from >= 0 && rack_adopt_chain(k, c, old, from) == 0)
			adopted++;
	}
	rack_adopt_floor(k, old);
	return adopted;
}

/* Where the kept recorder's channels are in the new config's ports; -1
 * when one is not there, or the new config records another set. */
static int recorder_follows(const struct recorder *r, const struct config *now, int *sources)
{
	struct recorder_channel *list;
	int n = recorder_channels(now, &list), i, ok = n == r->n_channels;

	for (i = 0; ok && i < n; i++) {
		ok = !strcmp(list[i].name, r->channels[i].name);
		sources[i] = list[i].source;
	}
	if (n >= 0)
		free(list);
	return ok ? 0 : -1;
}

static int languages_same(const struct config *a, const struct config *b)
{
	int i;

	if (a->n_languages != b->n_languages)
		return 0;
	for (i = 0; i < a->n_languages; i++)
		if (strcmp(a->languages[i].code, b->languages[i].code))
			return 0;
	return 1;
}

/* The audio side for the new config, built beside the running one and
 * switched to in one realtime cycle. Channels and consoles whose ports,
 * sources and inserts stay go on sample for sample: the router takes over
 * the gains where they are, the chains their running plugins. The recorder
 * goes on when it records the same channels; otherwise the recording goes
 * on in a new segment from the switch, frame for frame. */
static int reload_audio(struct engine *e, struct config *next, const struct state *st, struct json_writer *w,
			char *err, size_t errlen)
{
	struct audio *old = e->au, *a = calloc(1, sizeof *a);
	struct rt_plan *plan = NULL;
	int *in_map = NULL, *out_map = NULL, keep_rec, keep_loud, ret, segment = 0, running = 0;
	char meeting[TOLK_MEETING_MAX] = "";

	if (!a)
		return -ENOMEM;
	if ((ret = open_mixing(e, a, next, st, err, errlen)) < 0)
		goto fail;
	/* The streams ride with the recorder that feeds them. */
	keep_rec = config_recording_equal(&e->cfg->recording, &next->recording) &&
		   config_stream_equal(&e->cfg->stream, &next->stream);
	if (keep_rec) {
		a->rec_sources = calloc((size_t)old->rec->n_channels + 1, sizeof *a->rec_sources);
		if (!a->rec_sources) {
			ret = -ENOMEM;
			goto fail;
		}
		keep_rec = recorder_follows(old->rec, next, a->rec_sources) == 0;
		if (!keep_rec) {
			free(a->rec_sources);
			a->rec_sources = NULL;
		}
	}
	if (!keep_rec && (ret = open_recorder(e, a, next, err, errlen)) < 0)
		goto fail;
	keep_loud = languages_same(e->cfg, next);
	if (!keep_loud && (ret = open_loudness(e, a, next)) < 0) {
		snprintf(err, errlen, "cannot start the loudness meter");
		goto fail;
	}
	plan = jack_shell_plan(&e->jack, next, &a->router, &a->exchange, err, errlen);
	in_map = calloc((size_t)config_input_count(next) + 1, sizeof *in_map);
	out_map = calloc((size_t)config_output_count(next) + 1, sizeof *out_map);
	if (!plan || !in_map || !out_map) {
		if (plan)
			snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	if (jack_shell_plan_add_capture(plan, keep_rec ? &old->rec->capture : &a->rec->capture, a->rec_sources) < 0 ||
	    jack_shell_plan_add_capture(plan, keep_loud ? &old->loudness->capture : &a->loudness->capture,
					keep_loud ? old->loudness_sources : a->loudness_sources) < 0) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	jack_shell_plan_map(&e->jack, plan, in_map, out_map);
	if ((ret = router_adopt(&a->router, &old->router, out_map, in_map)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Nothing can fail from here on: the new rack takes the old one's
	 * plugins, which the old one then no longer owns. */
	ret = adopt_inserts(&a->rack, next, &old->rack, e->cfg);
	jw_printf(w, ",\"inserts_kept\":%d,\"inserts_new\":%d", ret, a->rack.n_chains - ret);
	if (!keep_rec)
		running = recorder_running(old->rec, meeting, sizeof meeting, &segment);
	if (running) {
		char why[512];
		/* It arms now and takes its first block from the switch on. */
		if (recorder_continue(a->rec, meeting, segment, why, sizeof why) < 0) {
			log_line("ALARM: recording %s not continued after the reload: %s", meeting, why);
		} else {
			/* Armed before the switch, so that its first block is the
			 * frame after the old recorder's last. */
			int waited;
			for (waited = 0; waited < 1000 && !atomic_load(&a->rec->capture.armed); waited++)
				nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		}
	}
	lock_rt_memory(&a->router, &a->rack);
	hearing_log_close(&old->hearing); /* this minute's share, before the sums start over */
	memset(&old->hearing, 0, sizeof old->hearing);
	ret = jack_shell_switch(&e->jack, plan, 2000, link_note, e);
	if (ret < 0) {
		/* The realtime thread did not come round: nothing old may be
		 * freed. The server is going; the reconnect path takes over. */
		log_line("reload: the JACK server did not run a cycle; the old room is left in memory");
		e->au = a;
		free(in_map);
		free(out_map);
		return 0;
	}
	if (running)
		recorder_stop(old->rec, err, errlen);
	if (keep_rec) {
		a->rec = old->rec;
		a->streamer = old->streamer; /* it rides with the recorder that feeds it */
		old->rec = NULL;
		old->streamer = NULL;
	}
	if (keep_loud) {
		a->loudness = old->loudness;
		a->loudness_sources = old->loudness_sources;
		old->loudness = NULL;
		old->loudness_sources = NULL;
	}
	audio_free(old);
	free(old);
	e->au = a;
	free(in_map);
	free(out_map);
	if (hearing_log_open(&a->hearing, next, &a->router, &a->rack, jack_shell_sample_rate(&e->jack),
			     log_dir(e, next), on_hearing, e, err, errlen) < 0)
		log_line("ALARM: after the reload: %s", err);
	jw_printf(w, ",\"recording\":\"%s\"", keep_rec ? "kept" : running ? "new segment" : "new channels");
	return 0;

fail:
	if (plan)
		jack_shell_plan_discard(&e->jack, plan);
	free(in_map);
	free(out_map);
	audio_free(a);
	free(a);
	return ret < 0 ? ret : -ENOMEM;
}

static int reload_now(struct engine *e, struct json_writer *w);

/* reload and SIGHUP: re-read the config file. A reload that comes within
 * RELOAD_GAP_MS of the last one waits and is coalesced with any others
 * into one reload of the file as it is then (the reply says so): under
 * jackd2, ports registered and unregistered several times a second cost
 * xruns. */
static int reload(void *user, struct json_writer *w)
{
	struct engine *e = user;
	const int64_t since = utc_now_ms() - e->last_reload_ms;

	if (since < RELOAD_GAP_MS) {
		e->reloads_waiting++;
		jw_printf(w, "{\"ok\":true,\"coalesced\":true,\"note\":\"a reload ran %lld ms ago: this one is "
			  "applied in %lld ms, with the file as it is then\"}", (long long)since,
			  (long long)(RELOAD_GAP_MS - since));
		return 0;
	}
	return reload_now(e, w);
}

/* A file that does not load changes nothing; the reply carries its
 * file:line:col error. */
static int reload_now(struct engine *e, struct json_writer *w)
{
	struct config *next = calloc(1, sizeof *next), *was = e->cfg;
	struct access_policy access;
	struct state st, old_state;
	struct state_report rep;
	struct reload_words words = { NULL, w, 0 };
	struct channel_view *last;
	char err[TOLK_ERROR_MAX + 256] = "";
	int i, n;

	if (!next) {
		command_error(w, "reload: out of memory");
		return -ENOMEM;
	}
	if (config_load_file(next, e->opt->config, err, sizeof err) < 0 ||
	    insert_host_check(&e->plugins, next, err, sizeof err) < 0) {
		command_error(w, "reload refused, the running configuration stays: %s", err);
		free(next);
		return -EINVAL;
	}
	jw_raw(w, "{\"ok\":true,\"changed\":[");
	n = config_diff(was, next, say_change, &words);
	jw_raw(w, "]");
	if (n == 0) {
		jw_raw(w, ",\"note\":\"no change\"}");
		config_free(next);
		free(next);
		return 0;
	}
	memset(&access, 0, sizeof access);
	if (state_init(&st, next) < 0 || state_adopt(&st, &e->state, &rep) < 0 ||
	    access_init(&access, next, e->opt->config, err, sizeof err) < 0 ||
	    !(last = calloc((size_t)next->n_languages + 1, sizeof *last))) {
		state_free(&st);
		access_free(&access);
		reply_reset(w);
		command_error(w, "reload refused, the running configuration stays: %s", *err ? err : "out of memory");
		config_free(next);
		free(next);
		return -EINVAL;
	}
	e->last_reload_ms = utc_now_ms(); /* ports may come and go from here: the next reload waits its gap */
	if (e->audio_up && reload_audio(e, next, &st, w, err, sizeof err) < 0) {
		reply_reset(w);
		command_error(w, "reload refused, the running configuration stays: %s", err);
		state_free(&st);
		access_free(&access);
		free(last);
		config_free(next);
		free(next);
		return -EINVAL;
	}
	/* From here on the new room is in force. */
	old_state = e->state;
	e->state = st;
	e->state.cfg = next;
	state_free(&old_state);
	access_free(&e->access);
	e->access = access;
	if (e->osc.fd >= 0 && config_osc_equal(was, next)) {
		osc_rebind(&e->osc, next, &e->state, &e->au->router);
	} else {
		osc_close(&e->osc);
		if (next->osc.enabled && osc_open(&e->osc, next, &e->state, &e->au->router, osc_run, e, err, sizeof err) < 0)
			log_line("ALARM: after the reload: %s", err);
	}
	if (memcmp(&was->web, &next->web, sizeof was->web)) {
		char made[WEB_TOKEN_MAX] = "";
		if (e->web.token_made)
			snprintf(made, sizeof made, "%s", e->web.technician); /* the same page keeps working */
		web_close(&e->web);
		if (next->web.enabled && open_web(e, next, *made ? made : NULL) < 0)
			log_line("ALARM: after the reload: the web page is off");
	}
	/* Told now that it is done: the log, the audit, the timeline (the
	 * reply has them already; the second pass writes into scratch). */
	words.e = e;
	words.w = &e->stream;
	words.n = 0;
	e->stream.len = 0;
	config_diff(was, next, say_change, &words);
	e->cfg = next;
	config_free(was);
	free(was);
	free(e->last_channels);
	e->last_channels = last;
	jw_raw(w, ",\"notes\":[");
	for (i = 0; i < rep.n_notes; i++) {
		jw_raw(w, i ? "," : "");
		jw_string(w, rep.notes[i]);
	}
	jw_raw(w, "]}");
	for (i = 0; i < rep.n_notes; i++)
		log_cb(e, rep.notes[i]);
	e->routing_dirty = 1;
	publish_routing(e);
	timeline_channels(e, 1);
	if (e->osc.fd >= 0)
		osc_push_state(&e->osc);
	return 0;
}

/* SIGHUP, and reloads that waited: the same reload as tolkctl's, audited
 * as the signal (or, when tolkctl requests waited too, as coalesced). Requests that came while the last reload was being
 * applied, or just after it, are one reload of the file as it is now:
 * the last file wins. */
static void reload_waiting(struct engine *e)
{
	const int n = e->hup_pending + e->reloads_waiting;
	char text[96], actor[64];

	if (n > 1) {
		snprintf(text, sizeof text, "reload: %d requests coalesced into one; the file as it is now applies", n);
		log_line("%s", text);
		event_log_add(&e->events, utc_now_ms(), EVENT_CHANGE, "", 0, text);
	}
	/* Each tolkctl request was audited when it came; this is the one
	 * reload that answers them all. */
	snprintf(actor, sizeof actor, "\"signals\":%d,\"requests\":%d", e->hup_pending, e->reloads_waiting);
	if (e->reloads_waiting)
		run_command(e, "coalesced", actor, "coalesced reload", "reload", ROLE_TECHNICIAN, "", NULL);
	else
		run_command(e, "signal", "\"signal\":\"SIGHUP\"", "SIGHUP", "reload", ROLE_TECHNICIAN, "", NULL);
	log_line("%s: %s", e->reloads_waiting ? "coalesced reload" : "SIGHUP", e->reply.buf ? e->reply.buf : "");
	e->hup_pending = e->reloads_waiting = 0;
}

/* Runs until a signal (0) or, without --reconnect, the server's
 * departure (1). */
static int control_loop(struct engine *e, int signal_fd, int wake_fd)
{
	struct pollfd fds[4 + 1 + CONTROL_MAX_CLIENTS];

	for (;;) {
		int n = 0, waiting, timeout;

		fds[n++] = (struct pollfd){ .fd = signal_fd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = osc_fd(&e->osc), .events = POLLIN }; /* -1: ignored */
		fds[n++] = (struct pollfd){ .fd = web_fd(&e->web), .events = POLLIN };
		n += control_socket_pollfds(&e->control, fds + n, (int)(sizeof fds / sizeof fds[0]) - n);
		waiting = exchange_collect(&e->au->exchange, 0);
		timeout = waiting || e->routing_dirty ? 20 : 100; /* alarms are checked at 10 Hz */
		if (e->web.n_streams)
			timeout = timeout < WEB_FRAME_MS ? timeout : WEB_FRAME_MS;
		if (web_timeout_ms(&e->web) >= 0 && web_timeout_ms(&e->web) < timeout)
			timeout = web_timeout_ms(&e->web);
		if (e->hup_pending || e->reloads_waiting) {
			int64_t due = e->last_reload_ms + RELOAD_GAP_MS - utc_now_ms();
			timeout = due < 0 ? 0 : due < timeout ? (int)due : timeout;
		}
		if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			log_line("poll failed: %s", strerror(errno));
			return EXIT_JACK;
		}
		if (fds[0].revents) {
			struct signalfd_siginfo si;
			if (read(signal_fd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGHUP) {
				e->hup_pending++;
			} else {
				log_line("%s: stopping", strsignal((int)si.ssi_signo));
				return EXIT_CLEAN;
			}
		}
		if ((e->hup_pending || e->reloads_waiting) && utc_now_ms() - e->last_reload_ms >= RELOAD_GAP_MS)
			reload_waiting(e);
		if (fds[1].revents) {
			char drain[64];
			while (read(wake_fd, drain, sizeof drain) > 0)
				;
		}
		if (e->audio_up && atomic_load(&e->jack.server_gone)) {
			audio_lost(e);
			if (!e->opt->reconnect)
				return EXIT_JACK;
		}
		if (!e->audio_up && utc_now_ms() >= e->next_attempt_ms)
			audio_retry(e);
		if (e->audio_up && atomic_load(&e->jack.ports_changed))
			jack_shell_relink(&e->jack, link_note, e);
		if (fds[2].revents)
			osc_service(&e->osc);
		if (fds[3].revents || e->web.daemon)
			web_service(&e->web);
		control_socket_service(&e->control, fds + 4, n - 4, handle_request, e);
		if (e->web.n_streams && utc_now_ms() - e->last_web_ms >= WEB_FRAME_MS) {
			web_push(&e->web);
			e->last_web_ms = utc_now_ms();
		}
		if (e->routing_dirty)
			publish_routing(e);
		if (e->au->rec) {
			char alarm[RECORDER_LINE_MAX];
			while (recorder_take_notice(e->au->rec, alarm, sizeof alarm)) {
				log_line("%s", alarm);
				event_log_add(&e->events, utc_now_ms(), EVENT_CHANGE, "", 0, alarm);
			}
			while (recorder_take_alarm(e->au->rec, alarm, sizeof alarm)) {
				log_line("ALARM: %s", alarm);
				event_log_add(&e->events, utc_now_ms(), EVENT_ALARM, "", 0, alarm);
			}
		}
		if (utc_now_ms() - e->last_alarm_tick >= 100) {
			refusal_audit_flush(&e->refusals, utc_now_ms());
			check_alarms(e);
			if (e->audio_up)
				hearing_log_tick(&e->au->hearing, utc_now_ms());
			if (e->osc.fd > 0 && e->audio_up)
				osc_push_meters(&e->osc);
			e->last_alarm_tick = utc_now_ms();
		}
		control_socket_push(&e->control, next_event, e);
	}
}

int main(int argc, char **argv)
{
	struct options opt;
	struct engine *e;
	char err[TOLK_ERROR_MAX + 256], control_path[108];
	int status = EXIT_USAGE, signal_fd = -1, wake[2] = { -1, -1 };
	struct recovery *recovery = NULL;
	sigset_t sigs;
	const int64_t started_ms = utc_now_ms();

	thread_role_set(THREAD_CONTROL);
	if (parse_options(argc, argv, &opt) < 0)
		return EXIT_USAGE;
	e = calloc(1, sizeof *e);
	if (e) {
		e->cfg = calloc(1, sizeof *e->cfg);
		e->au = calloc(1, sizeof *e->au);
	}
	if (!e || !e->cfg || !e->au) {
		fprintf(stderr, "tolk: out of memory\n");
		return EXIT_USAGE;
	}
	jw_init(&e->reply);
	jw_init(&e->stream);
	e->audit.fd = -1;
	refusal_audit_init(&e->refusals, &e->audit, log_text);
	e->osc.fd = -1;
	alarm_tracker_init(&e->alarms, on_alarm, e);
	event_log_init(&e->events);

	if (config_load_file(e->cfg, opt.config, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out_free;
	}
	insert_host_init(&e->plugins, opt.plugin_dir);
	if (insert_host_check(&e->plugins, e->cfg, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out_config;
	}
	if (opt.check_only) {
		printf("%s: ok (%d languages, %d booths, %d consoles)\n", opt.config,
		       e->cfg->n_languages, e->cfg->n_booths, e->cfg->n_mics);
		status = EXIT_CLEAN;
		goto out_config;
	}

	if (opt.control) {
		snprintf(control_path, sizeof control_path, "%s", opt.control);
	} else if (control_default_path(opt.name, control_path, sizeof control_path) < 0) {
		fprintf(stderr, "tolk: default control socket path is too long; use --control\n");
		goto out_config;
	}

	/* Signals arrive through a descriptor in the control loop rather than
	 * in a handler, and never on the JACK threads (they inherit the mask). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal_fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (signal_fd < 0 || pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		fprintf(stderr, "tolk: cannot set up signal handling: %s\n", strerror(errno));
		goto out_config;
	}

	if (state_init(&e->state, e->cfg) < 0) {
		fprintf(stderr, "tolk: out of memory\n");
		goto out_fds;
	}
	if (access_init(&e->access, e->cfg, opt.config, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out_state;
	}
	if (audit_open(&e->audit, opt.log_dir ? opt.log_dir : opt.record_dir ? opt.record_dir : e->cfg->recording.dir,
		       err, sizeof err) < 0) {
		fprintf(stderr, "tolk: %s\n", err);
		goto out_state;
	}
	if (control_socket_open(&e->control, control_path, e->access.configured, err, sizeof err) < 0) {
		fprintf(stderr, "tolk: %s\n", err);
		goto out_state;
	}
	control_socket_set_admit(&e->control, socket_admit, socket_refused, ROLE_TECHNICIAN, e);
	/* A network port only when the room asks for one. */
	if (e->cfg->osc.enabled &&
	    osc_open(&e->osc, e->cfg, &e->state, &e->au->router, osc_run, e, err, sizeof err) < 0) {
		fprintf(stderr, "tolk: %s\n", err);
		goto out_control;
	}
	if (e->cfg->web.enabled && open_web(e, e->cfg, NULL) < 0)
		goto out_control;

	e->opt = &opt;
	e->control_path = control_path;
	e->started_ms = started_ms;
	e->wake_fd = wake[1];
	e->rec_iface = (struct recorder_iface){ .user = e, .start = rec_start, .stop = rec_stop, .status = rec_status };
	e->last_channels = calloc((size_t)e->cfg->n_languages, sizeof *e->last_channels);
	if (!e->last_channels) {
		fprintf(stderr, "tolk: out of memory\n");
		goto out_control;
	}
	/* What an unclean stop left open is mended beside the new recording. */
	recovery = recovery_start(opt.record_dir ? opt.record_dir : e->cfg->recording.dir, log_text);
	status = audio_open(e, 0);
	if (status == EXIT_JACK && opt.reconnect) {
		/* Tolk comes up before its server: the control paths answer, and
		 * the audio starts when the server does. */
		log_line("waiting for the JACK server; trying every second");
		e->next_attempt_ms = utc_now_ms() + 1000;
		status = EXIT_CLEAN;
	}
	if (status != EXIT_CLEAN)
		goto out_control;
	if (e->cfg->recording.autostart && !opt.no_record) {
		char why[512];
		if (!e->audio_up) {
			e->resume_recording = 1;
			snprintf(e->resume_meeting, sizeof e->resume_meeting, "%s", e->cfg->meeting);
		} else if (recorder_start(e->au->rec, NULL, why, sizeof why) < 0) {
			log_line("recording not started: %s", why);
		} else {
			timeline_channels(e, 1);
		}
	}

	status = control_loop(e, signal_fd, wake[0]);

	audio_close(e);
out_control:
	recovery_finish(recovery);
	free(e->last_channels);
	web_close(&e->web);
	osc_close(&e->osc);
	control_socket_close(&e->control);
out_state:
	audit_close(&e->audit);
	access_free(&e->access);
	state_free(&e->state);
out_fds:
	if (signal_fd >= 0)
		close(signal_fd);
	if (wake[0] >= 0) {
		close(wake[0]);
		close(wake[1]);
	}
out_config:
	insert_host_close(&e->plugins);
	config_free(e->cfg);
	free(e->cfg);
	free(e->au);
out_free:
	jw_free(&e->reply);
	jw_free(&e->stream);
	alarm_tracker_free(&e->alarms);
	free(e);
	return status;
}
