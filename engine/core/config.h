/* The room as channels.yaml describes it: floor inputs, language channels,
 * booths and their consoles, start-up connections. Loaded once, validated
 * completely, then read-only. It also defines how the room maps onto port
 * indices, which the snapshot, the router and the JACK shell all share. */
#ifndef TOLK_CONFIG_H
#define TOLK_CONFIG_H

#include <stddef.h>

#define TOLK_ID_MAX 32        /* ids and codes, with the terminating NUL */
#define TOLK_NAME_MAX 128     /* language display names (UTF-8 bytes) */
#define TOLK_PORT_NAME_MAX 64 /* our short port names */
#define TOLK_MAX_CONSOLES 8
#define TOLK_BOOTH_OUTPUTS 3  /* A, B, C */
#define TOLK_ERROR_MAX 512
/* What a room file may hold. The bytes and depth keep a bad or hostile
 * file from costing the control thread more than a few milliseconds; the
 * counts keep a room within what Tolk's routing matrix and JACK's client
 * (jackd2 registers at most 2048 ports a client) can take: at the limits
 * a room has 16 + 512 inputs and 1 + 256 + 512 outputs. The file's
 * shape is checked first, in one pass of libyaml's parser, before its
 * loader builds the document: that costs time and memory growing faster
 * than the file. */
#define TOLK_CONFIG_BYTES_MAX (1024 * 1024)
#define TOLK_CONFIG_DEPTH_MAX 32
#define TOLK_CONFIG_NODES_MAX 50000 /* scalars, lists and mappings: a 256-language room has ~6000 */
#define TOLK_LANGUAGES_MAX 256
#define TOLK_BOOTHS_MAX 64
#define TOLK_FLOOR_INPUTS_MAX 16
#define TOLK_MEETING_MAX (TOLK_ID_MAX * 2) /* with the NUL */

enum idle_policy {
	IDLE_FLOOR = 0, /* the channel carries the floor */
	IDLE_SILENCE,   /* the channel is silent */
	IDLE_DUCK,      /* the floor at TOLK_DUCK_DB */
};

#define TOLK_DUCK_DB (-18.0)
#define TOLK_GAIN_DB_MIN (-60.0) /* duck_db, sidetone_db and console volume */

/* Inside a booth: does a new mic take over, or wait for the colleague? */
enum booth_mode { BOOTH_OVERRIDE = 0, BOOTH_INTERLOCK };
/* Between booths on one channel: is it engaged, or taken over? */
enum channel_mode { CHANNEL_INTERLOCK = 0, CHANNEL_OVERRIDE };

/* Inserts: chains of plugins, checked here for form only; the engine
 * checks plugin names and parameters against the plugins themselves and
 * reports with the line and column kept here. */
#define TOLK_PARAM_NAME_MAX 64
struct cfg_param {
	char name[TOLK_PARAM_NAME_MAX];
	double value;
	int line, column;
};
struct cfg_insert {
	char plugin[TOLK_ID_MAX]; /* a built-in plugin's name, or "lv2" */
	char name[TOLK_ID_MAX];   /* name: as written, or "" (then the plugin's own) */
	char *uri;                /* lv2 only */
	struct cfg_param *params;
	int n_params;
	int line, column;
};
struct cfg_chain {
	int set;                  /* written in the file (an empty list counts) */
	struct cfg_insert *items;
	int n;
};

/* The hearing limiter on every headphone feed (phones:), in dB SPL at the
 * ear through the headphone calibration. */
struct cfg_hearing {
	double dbspl_at_0dbfs, ceiling_dbspl, sustained_dbspl, sustained_ms;
	double average_dbspl, warning_dbspl, backoff_db, backoff_minutes;
};

struct cfg_language {
	char code[TOLK_ID_MAX];
	char name[TOLK_NAME_MAX];
	enum idle_policy idle;
	double duck_db; /* level of the floor when idle is duck */
	enum channel_mode channel_mode;
	struct cfg_chain outputs; /* inserts: { outputs: [...] } */
};

struct cfg_booth {
	char id[TOLK_ID_MAX];
	int outputs[TOLK_BOOTH_OUTPUTS]; /* language indices: A, then B and C */
	int n_outputs;
	char (*understands)[TOLK_ID_MAX];
	int n_understands;
	int consoles;
	int first_mic; /* index of console 1 among all mics, booth-major */
	enum booth_mode booth_mode;
	struct cfg_chain mics, phones; /* inserts: { mics: [...], phones: [...] } */
};

struct cfg_connect {
	char port[TOLK_PORT_NAME_MAX]; /* one of our own short port names */
	char *other;                   /* full name of the other JACK port */
	int line, column;              /* for diagnostics at connect time */
};

enum record_format {
	RECORD_WAV = 1 << 0,
	RECORD_FLAC = 1 << 1,
	RECORD_OPUS = 1 << 2,
};

/* The highest Opus complexity at which 128 channels of FLAC and Opus hold
 * on two cores without a growing backlog (make bench shows it: at 4 the
 * ring fills by seconds a minute). */
#define RECORD_OPUS_COMPLEXITY 5

struct cfg_recording {
	char dir[4096];          /* recordings root; --record-dir overrides */
	unsigned formats;        /* enum record_format bits */
	int opus_bitrate;        /* bits/s per channel */
	int opus_complexity;     /* 0..10: encoder effort per channel */
	double segment_minutes;  /* a new file set every this many minutes */
	double buffer_seconds;   /* per-channel ring */
	int autostart;
	int all_channels;        /* channels: all */
	char (*channels)[TOLK_ID_MAX]; /* otherwise: floor and language codes */
	int n_channels;
	int mics;                /* also each raw console mic */
	int loudness;            /* measure each segment's R128 loudness into bext, tags, manifest */
	char signing_key[4096];  /* Ed25519 secret key file: manifest.json.sig; "" none */
};

/* A user, or a group written "@group", as the control section names them. */
struct cfg_principal {
	char name[64];
	int is_group;
	int line, column; /* for "unknown user" at start-up */
};

struct cfg_control {
	int present;      /* a control: section was given */
	struct cfg_principal *technicians;
	int n_technicians;
	struct cfg_principal *observers;
	int n_observers;
};

struct cfg_alarms {
	double live_silent_db, live_silent_seconds;   /* a live mic this quiet, this long */
	double floor_silent_db, floor_silent_seconds;
	double clip_dbfs;                             /* a peak at or above this */
	double disk_low_minutes;                      /* recording time left */
	double clear_seconds;                         /* gone this long: cleared */
	double recording_behind_seconds;              /* the recorder this far behind */
};

/* OSC for booth consoles: off unless listen is set. */
struct cfg_osc_peer {
	int booth;          /* index */
	char address[64];   /* a peer host allowed to drive that booth */
};

struct cfg_osc {
	int enabled;
	char host[64];      /* default 127.0.0.1 */
	char port[16];
	struct cfg_osc_peer *peers;
	int n_peers;
};

/* The control-room web page: off unless listen is set. A missing
 * technician token is made up at start. */
struct cfg_web {
	int enabled;
	char host[64];      /* default 127.0.0.1 */
	char port[16];
	char technician[128];
	char observer[128];
	char metrics[128];  /* tokens.metrics: GET /metrics only, for a Prometheus scrape */
	char listener[128]; /* tokens.listener: the /listen page only */
	int listen_open;    /* listen_page: open: /listen for anyone who reaches the server */
	/* tls: the page over HTTPS, from these PEM files (read at start) */
	char tls_cert_file[4096], tls_key_file[4096];
	/* tokens.booths: an interpreter's token per booth, by booth index ("" none) */
	char (*booth_tokens)[128];
	int n_booth_tokens;  /* the booths the array covers */
};

/* Listener streams to Icecast: off unless a stream: section is given. */
struct cfg_stream {
	int enabled;
	char host[256];
	int port;
	char user[64];
	char password_file[4096];  /* the password itself is read at start, never kept here */
	char mount_prefix[128];    /* mounts <prefix>/<channel>.opus */
	int all_channels;
	char (*channels)[TOLK_ID_MAX];
	int n_channels;
	int bitrate;
	int page_ms;               /* an Ogg page at least this often: the listeners' delay */
};

/* Low-delay listening on phones: channels as RTP Opus (RFC 7587) to
 * gateways (Janus). Off unless an rtp: section is given. Channel k of
 * the list goes to port_base + 2(k - 1) of every destination. */
struct cfg_rtp_destination {
	char host[256];       /* an address: unicast, or a multicast group */
	int port_base;
	int ttl;              /* multicast hops */
	char interface[32];   /* multicast: the interface to send from; "" the routing table's */
};

struct cfg_rtp {
	int enabled;
	struct cfg_rtp_destination *destinations;
	int n_destinations;
	int all_channels;
	char (*channels)[TOLK_ID_MAX];
	int n_channels;
	int bitrate;
	int payload_type;
	/* janus: what `tolkctl janus-config` writes and /listen opens */
	int janus_id_base;          /* mountpoint id of channel k: id_base + k - 1 */
	char janus_url[256];        /* the gateway's API as the phones reach it; "" same host, :8088/janus */
	char janus_pin_file[4096];  /* the mountpoints' pin, read at start; "" none */
	char janus_secret_file[4096]; /* the mountpoints' secret; "" a new random one per janus-config */
};

/* JACK MIDI control surfaces for consoles: which notes and CC do what.
 * Off unless a midi: section is given. */
struct cfg_midi_map {
	int mic, cough, output_a, output_b, output_c, handover, slower, help, problem; /* notes */
	int volume_cc;
};

struct cfg_midi {
	int enabled;
	int all;            /* consoles: all */
	int *mics;          /* otherwise the consoles listed, as mic indices */
	int n_mics;
	struct cfg_midi_map map;
};

/* Incident reports: how much audio around one, the alarms that open one
 * by themselves, and a site's hook run on each finished folder. */
#define INCIDENT_AUTO_MAX 16
struct cfg_incidents {
	double pre_seconds, post_seconds;
	int audio;                    /* keep the pre-roll: incidents with their audio */
	char command[4096];           /* "" none */
	char auto_kinds[INCIDENT_AUTO_MAX][24];
	int n_auto;
};

/* What every interpreter's console shows. */
struct cfg_consoles {
	double shift_minutes; /* a discreet reminder after this long live */
};

struct config {
	char source[256];   /* the file's name, for messages after loading */
	char meeting[TOLK_MEETING_MAX];
	char room[TOLK_MEETING_MAX]; /* room:, else the file's name: metrics and incidents say it */
	char (*floor_inputs)[TOLK_ID_MAX];
	int n_floor_inputs;
	char floor_language[TOLK_ID_MAX];
	struct cfg_language *languages;
	int n_languages;
	struct cfg_booth *booths;
	int n_booths;
	struct cfg_connect *connects;
	int n_connects;
	int n_mics; /* consoles over all booths */
	int sidetone;       /* phones.sidetone_db set: the live mic in its own phones */
	double sidetone_db;
	struct cfg_hearing hearing;
	struct cfg_chain mic_inserts, output_inserts, phones_inserts; /* defaults */
	struct cfg_recording recording;
	struct cfg_control control;
	struct cfg_alarms alarms;
	struct cfg_osc osc;
	struct cfg_web web;
	struct cfg_stream stream;
	struct cfg_rtp rtp;
	struct cfg_consoles consoles;
	struct cfg_midi midi;
	struct cfg_incidents incidents;
};

/* The alarm kinds the engine raises, NULL-terminated: what
 * incidents.auto may name. */
extern const char *const config_alarm_kinds[];

/* The chain that applies: a booth's or language's own, else the default. */
const struct cfg_chain *config_mic_chain(const struct config *cfg, int booth);
const struct cfg_chain *config_phones_chain(const struct config *cfg, int booth);
const struct cfg_chain *config_output_chain(const struct config *cfg, int lang); /* -1: out_floor */

/* Load and validate. On failure returns a negative errno, leaves *cfg
 * empty and writes exactly one line "NAME:LINE:COL: what is wrong" to err.
 * `name` is how the file is called in messages. */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);
int config_load_string(struct config *cfg, const char *text, size_t len, const char *name,
		       char *err, size_t errlen);
void config_free(struct config *cfg);

/* The same values in both rooms for every key of a section's table
 * ("phones", "recording", "control", "alarms", "web", "stream"), but
 * the keys that apply only at start (recording.autostart). The reload
 * diff's equality: a key added to a table is compared with no more code. */
int config_section_equal(const struct config *a, const struct config *b, const char *section);
/* The booth of mic (its console number in *n), or -1. */
int config_booth_of_mic(const struct config *cfg, int mic, int *n);
/* Does this console have JACK MIDI ports (midi: consoles)? */
int config_midi_console(const struct config *cfg, int mic);
/* The same ids in the same order. */
int config_ids_equal(const char (*a)[TOLK_ID_MAX], int na, const char (*b)[TOLK_ID_MAX], int nb);

int config_find_language(const struct config *cfg, const char *code);
int config_find_booth(const struct config *cfg, const char *id);

/* Port layout.
 *   inputs:  floor_<id> for each floor input, then mic_<booth>_<n>
 *   outputs: out_floor, out_<lang> per language, then phones_<booth>_<n>
 * Mics and phones are numbered booth-major, console-minor. */
int config_input_count(const struct config *cfg);
int config_output_count(const struct config *cfg);
int config_output_of_language(const struct config *cfg, int lang);
int config_output_of_phones(const struct config *cfg, int mic);
int config_input_of_mic(const struct config *cfg, int mic);
int config_input_name(const struct config *cfg, int index, char *buf, size_t len);
/* A console as people name it: "<booth>/<n>". */
int config_console_name(const struct config *cfg, int mic, char *buf, size_t len);
int config_output_name(const struct config *cfg, int index, char *buf, size_t len);
/* What a patchbay shows (JACK metadata pretty-name and order): a port's
 * name for people ("Floor: podium", "Français (distribution)", "fr booth 1
 * mic", "fr booth 1 headphones") and its place in the room's order: floor,
 * languages, then the booths console by console (mic, headphones, MIDI).
 * kind: PORT_LABEL_INPUT or _OUTPUT with an input or output index,
 * _MIDI_IN or _MIDI_OUT with a mic. Returns 0 or -EINVAL. */
enum port_label_kind { PORT_LABEL_INPUT, PORT_LABEL_OUTPUT, PORT_LABEL_MIDI_IN, PORT_LABEL_MIDI_OUT };
int config_port_label(const struct config *cfg, enum port_label_kind kind, int index, char *pretty, size_t len,
		      int *order);
/* Finds one of our short port names. Returns 0 and sets *is_input and
 * *index, or -ENOENT. */
int config_find_port(const struct config *cfg, const char *name, int *is_input, int *index);

const char *idle_policy_name(enum idle_policy p);

/* A meeting name names a folder: one safe path component of letters,
 * digits, '-', '_' and '.' (not first), 1 to TOLK_MEETING_MAX - 1 long. */
int config_meeting_chars_ok(const char *name);
int config_meeting_ok(const char *name);

#endif
