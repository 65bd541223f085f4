/* The engine: one room's conference state, its control paths and its
 * audio side, as engine/main.c and its companions share them. Every member
 * says which thread owns it; "control" means only the control thread
 * reads or writes it, so it needs no lock.
 *
 *   main.c        options, signals, start and stop, the control loop
 *   notify.c      the log, the timeline, alarm and hearing callbacks
 *   dispatch.c    the one command path and its entries (socket, OSC, web)
 *   audio_side.c  the JACK client and what it feeds: open, close, lost,
 *                 retry, memory locking, the alarm readings
 *   reload.c      a new config beside the running room, and the switch
 *   midi_consoles.c  MIDI buttons as commands, and their LEDs
 *   incidents.c   incident folders: evidence, audio, report, the hook
 *   metrics.c     GET /metrics: the readings for core/room_metrics.c
 *   service_notify.c  systemd's READY, STATUS, WATCHDOG and STOPPING
 *
 * Thread: control, for every function declared here but log_line and
 * log_text (any thread). */
#ifndef TOLK_ENGINE_H
#define TOLK_ENGINE_H

#include <stdint.h>

#include "control/access.h"
#include "control/audit_log.h"
#include "control/control_socket.h"
#include "control/osc_server.h"
#include "control/refusal_audit.h"
#include "control/web_server.h"
#include "core/alarm_rules.h"
#include "core/alarm_tracker.h"
#include "core/command.h"
#include "core/config.h"
#include "core/event_log.h"
#include "core/json_writer.h"
#include "core/router.h"
#include "core/snapshot.h"
#include "core/state.h"
#include "disk/recorder.h"
#include "disk/streamer.h"
#include "disk/whole_file.h"
#include "inserts/insert_host.h"
#include "jack/jack_client.h"
#include "meters/hearing_log.h"
#include "meters/loudness.h"
#include "meters/preroll.h"
#include "disk/rtp_sender.h"

#ifndef TOLK_VERSION
#define TOLK_VERSION "0.1.0"
#endif

enum {
	EXIT_CLEAN = 0,
	EXIT_JACK = 1,  /* JACK unreachable, or the server went away */
	EXIT_USAGE = 2, /* command line or configuration */
};

#define WEB_FRAME_MS 50   /* the page's live data at 20 Hz */
#define RELOAD_GAP_MS 250 /* reloads closer than this to the last one wait and coalesce */

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
 * have threads), handed from one to the next when their channels stay.
 * Owned by the control thread; the realtime thread reads the router,
 * exchange, rack and captures through the JACK shell's plan only. */
struct audio {
	struct router router;
	struct snapshot_exchange exchange;
	struct insert_rack rack;
	struct hearing_log hearing;
	struct recorder *rec;           /* has its disk thread and encoders */
	int *rec_sources;               /* per recorded channel, for the JACK shell */
	struct streamer *streamer;      /* listener streams, fed by the recorder; or NULL */
	struct loudness *loudness;      /* has its own thread */
	int *loudness_sources;
	struct preroll *preroll;        /* incidents' audio; has its own thread; NULL under --no-record */
	int *preroll_sources;
	struct rtp_sender *rtp;         /* RTP Opus for the phones; has its own thread; or NULL */
	int *rtp_sources;               /* its channels' outputs in this audio side's plan */
};

/* systemd's notifications (service_notify.c). Thread: control. */
struct service_notify {
	int enabled;            /* NOTIFY_SOCKET set */
	int ready;              /* READY=1 sent */
	int64_t ping_every_ms;  /* half of WATCHDOG_USEC; 0 no watchdog */
	int64_t next_ping_ms, last_ping_ms;
	uint64_t cycles_seen;   /* the process callback's count at the last ping */
	int stall_told;
	char status[256];       /* the STATUS= last sent */
	int64_t next_status_ms;
};

struct engine {
	/* control: the room and what the control paths act on */
	struct config *cfg;
	struct state state;
	struct access_policy access;
	struct event_log events;
	struct alarm_tracker alarms;
	struct alarm_rules alarm_rules;
	struct insert_host plugins;
	/* control; the JACK threads write only its atomics (see jack_client.h) */
	struct jack_shell jack;
	struct audio *au;               /* never NULL; empty while the server is gone */
	/* control: the paths in */
	struct control_socket control;
	struct osc_server osc;
	struct web_server web;
	struct recorder_iface rec_iface;
	struct json_writer reply;       /* the reply to the request being run */
	struct json_writer stream;      /* event-stream lines */
	int64_t last_web_ms;
	int web_due;                    /* a change to show on the pages now */
	uint8_t (*midi_leds)[128];      /* per mic: the LED velocities sent, 0xFF unknown */
	int64_t last_alarm_tick;
	unsigned long thread_violations_seen; /* calls from the wrong thread, as last logged */
	/* control: the audit, and this request's changes for it */
	struct audit_log audit;
	struct refusal_audit refusals;  /* refusals per source, counted past a burst */
	const char *changes[16];
	char change_text[16][256];
	int n_changes;
	/* control: what the timeline was last told */
	struct channel_view *last_channels;
	char last_floor_language[TOLK_ID_MAX];
	int last_pinned;
	int routing_dirty;              /* state changed but its snapshot is not yet published */
	/* control: the audio side (JACK client, router, inserts, recorder,
	 * meters) is up, or gone with its server and waiting to come back.
	 * The conference state and the control paths stay through it. */
	const struct options *opt;
	const char *control_path;
	int64_t started_ms;
	int wake_fd;                    /* the JACK shell wakes the control loop */
	int audio_ever_up;
	int audio_up;
	int64_t next_attempt_ms;
	/* control: reloads waiting (SIGHUPs, and tolkctl's that came too
	 * soon), and when the last one began to change the room: a storm of
	 * them becomes one reload of the file as it is then. */
	int hup_pending;
	int reloads_waiting;
	int64_t last_reload_ms;
	struct service_notify service;  /* control */
	const struct origin *current;   /* control: the request being run, for who filed an incident */
	/* control: the recording to resume when the audio is back */
	int resume_recording;
	char resume_meeting[TOLK_MEETING_MAX];
	int resume_segment;
	/* control: each RTP channel's SSRC, sequence and timestamp, kept
	 * across senders (reloads, a lost server); the mountpoints' pin and
	 * secret, read from their files at start */
	struct rtp_sessions rtp_sessions;
	char rtp_pin[128], rtp_secret[128];
};

/* ---- notify.c ---- */
/* A line for the log (stderr), whole. Thread: any. */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_text(const char *line);
/* At start: when stderr is the journal's stream (JOURNAL_STREAM), lines
 * carry syslog priority prefixes instead of a timestamp. */
void log_detect_journal(void);
/* Why the audio side cannot start: the terminal at start, the log later. */
void say(struct engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void timeline_event(struct engine *e, const char *fields);
void timeline_text(struct engine *e, const char *kind, const char *text);
void timeline_channels(struct engine *e, int all);
/* Callbacks with the engine as user: a change made (log, audit, timeline),
 * an alarm, the hearing limiter, a connection, the next event line. */
void note_change(void *user, const char *line);
void on_alarm(void *user, const struct alarm *a, int raised);
void on_hearing(void *user, const char *text);
void link_note(void *user, const char *line);
uint64_t next_event(void *user, uint64_t after, char **line, size_t *len);
/* Calls from the wrong thread since the last look: logged as the bug they are. */
void note_thread_violations(struct engine *e);

/* ---- listeners.c ---- */
/* The Janus mountpoints' pin and secret from their files (a made-up
 * secret when none is given). 0, or -errno with the reason. Thread: control. */
int listeners_read_secrets(struct engine *e, const struct config *cfg, char *err, size_t errlen);
/* The listener page's data and script, on a page server just opened. Thread: control. */
void listeners_attach(struct engine *e, const struct config *cfg);

/* ---- dispatch.c ---- */
struct command_context;
/* What a command may reach in this engine, as it is now. */
void engine_command_context(struct engine *e, struct command_context *ctx);
/* Where a request comes from, as the audit and the role checks see it. */
struct origin {
	const char *via;     /* socket, osc, web, signal, coalesced */
	const char *actor;   /* a JSON object's inside, for the audit */
	const char *who;     /* the source, for counting refusals */
	enum role role;
	const char *booth;   /* an interpreter's booth, else NULL */
	const char *refusal; /* why a ROLE_NONE is refused */
};

/* The one way a command runs, whichever path brought it. The reply is
 * left in e->reply. With `quiet`, an accepted read is not audited but
 * reported there (the connection counts it). */
enum command_outcome run_command(struct engine *e, const struct origin *o, const char *line, uint64_t *follow_from,
				 int *quiet);
void publish_routing(struct engine *e);
struct recorder_iface recorder_iface_of(struct engine *e);
void handle_request(void *user, const struct control_peer *peer, const char *line, char **reply,
		    size_t *reply_len, int *follow, uint64_t *follow_from, int *quiet);
int socket_admit(void *user, const struct control_peer *peer);
void socket_refused(void *user, const struct control_peer *peer, const char *why);
void socket_seen(void *user, const struct control_peer *peer, long reads, const char *why);
const char *osc_run(void *user, const char *peer, const char *line, int allowed);
int open_web(struct engine *e, const struct config *cfg, const char *keep_token);
void release_lapsed_coughs(struct engine *e);

/* ---- audio_side.c ---- */
const char *log_dir(const struct engine *e, const struct config *cfg);
/* Where the logs go under --no-record without --log-dir: the recordings
 * folder must get nothing, so $XDG_STATE_HOME/tolk (else
 * ~/.local/state/tolk, else /tmp/tolk-UID/logs), made 0700. 0 or a
 * negative errno. Thread: control. */
int no_record_log_dir(char *buf, size_t len);
void lock_rt_memory(const struct router *r, const struct insert_rack *rack);
int open_mixing(struct engine *e, struct audio *a, const struct config *cfg, const struct state *st, char *err,
		size_t errlen);
int open_recorder(struct engine *e, struct audio *a, const struct config *cfg, char *err, size_t errlen);
int open_loudness(struct engine *e, struct audio *a, const struct config *cfg);
int open_preroll(struct engine *e, struct audio *a, const struct config *cfg);
/* RTP for the phones, when rtp: says so: made, not yet running (rtp_start). */
int open_rtp(struct engine *e, struct audio *a, const struct config *cfg, char *err, size_t errlen);
int rtp_start(struct audio *a);
void audio_free(struct audio *a);
int audio_open(struct engine *e, int quiet);
void audio_close(struct engine *e);
void audio_lost(struct engine *e);
void audio_retry(struct engine *e);
void check_alarms(struct engine *e);
void alarm_readings_of(struct engine *e, struct alarm_readings *in);
/* The JACK server as libjack picks it: --server, JACK_DEFAULT_SERVER, "default". */
const char *jack_server_name(const struct engine *e);

/* ---- service_notify.c ---- */
/* From the environment systemd gives (NOTIFY_SOCKET, WATCHDOG_USEC). */
void service_init(struct engine *e);
/* Every control loop turn: READY once the ports are up, STATUS when it
 * changes, WATCHDOG while both loops run. */
void service_tick(struct engine *e);
void service_stopping(struct engine *e);

/* ---- incidents.c ---- */
#define INCIDENTS_PENDING_MAX 16
const struct incidents_iface *incidents_iface_of(struct engine *e);
/* Every control loop turn: incidents whose post_seconds have passed are
 * collected, finished ones logged. */
void incidents_tick(struct engine *e);
/* The audio side is about to go (server lost, a reload with other
 * channels): incidents take what the pre-roll has now. */
void incidents_audio_going(struct engine *e);
/* An alarm raised: incidents.auto may open one. */
void incidents_on_alarm(struct engine *e, const struct alarm *a);
/* At the end: what is pending is finished with what there is. */
void incidents_stop(struct engine *e);

/* ---- metrics.c ---- */
/* GET /metrics: the room's Prometheus exposition, into w. */
void metrics_of(void *user, struct json_writer *w);

/* ---- midi_consoles.c ---- */
/* The MIDI events the process callback queued, as commands. */
void midi_service(struct engine *e);
/* The consoles' LEDs brought up to date (only what changed is sent). */
void midi_feedback(struct engine *e);
/* After the audio side opens or the room changes: every LED sent again. */
int midi_leds_reset(struct engine *e);

/* ---- reload.c ---- */
/* tolkctl's reload (a command_context callback, the engine as user). */
int reload(void *user, struct json_writer *w);
/* SIGHUPs and reloads that waited their gap, as one reload. */
void reload_waiting(struct engine *e);

#endif
