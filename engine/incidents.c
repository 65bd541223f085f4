/* Incident reports: a folder per incident under <log-dir>/incidents/ with
 * everything a support engineer needs to understand it without asking:
 *
 *   incident.json   who, when, what, the room, Tolk's version, the
 *                   config's SHA-256, JACK, the process times, the
 *                   recording, the alarms, and what the folder holds
 *   status.json     status, record status and meters at the report
 *   events.json     the events (alarms raised and cleared, changes,
 *                   signals) of the minutes around it
 *   audit.jsonl     the audit lines of those minutes
 *   timeline.jsonl  the recording's timeline lines of those minutes
 *   audio/<ch>.flac each affected channel from pre_seconds before the
 *                   report to post_seconds after, from the pre-roll
 *   report.md       the same in sentences
 *
 * The control thread files the incident at once (id, folder, the state
 * as it is), takes the audio and the evidence when post_seconds have
 * passed, and hands the writing and the site's hook to a thread of its
 * own (tolk-incident), so that neither the FLAC encoding nor a slow hook
 * ever holds up a command. Thread: control, but finish_incident (the
 * incident thread). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sndfile.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core/incident_commands.h"
#include "core/thread_role.h"
#include "core/utc_time.h"
#include "disk/sha256_file.h"
#include "engine.h"

extern char **environ;

#define INCIDENT_WINDOW_MS (5 * 60 * 1000) /* "the minutes around it": before the report */
#define INCIDENT_AUTO_GAP_MS (10 * 60 * 1000) /* one automatic incident per alarm and subject */
#define INCIDENT_HOOK_SECONDS 60
#define INCIDENT_TAIL_BYTES (4 << 20) /* of the audit and the timeline, read for the window */
#define INCIDENTS_LISTED 50           /* `incidents` shows the newest; "older" counts the rest */

struct incident {
	char id[24];
	char dir[4400];
	struct incident_request rq;
	int64_t time_ms, due_ms;
	char via[32];
	char actor[320];            /* a JSON object's inside */
	char timeline[4600];        /* the recording's timeline.jsonl, "" none */
	char audit_path[4300];
	char codes[INCIDENT_CHANNELS_MAX][TOLK_ID_MAX]; /* the channels, for the thread */
	char command[4096];         /* incidents.command, "" none */
	char room[TOLK_MEETING_MAX];
	/* audio: pre-roll channels (language + 1; 0 the floor) */
	int has_audio;
	char no_audio[160];
	uint64_t mark;
	uint32_t rate;
	uint64_t pre_frames, post_frames;
	float *audio[INCIDENT_CHANNELS_MAX];
	uint64_t real[INCIDENT_CHANNELS_MAX];
	uint64_t frames;
	int audio_taken;
	/* what the thread writes, made on the control thread */
	struct json_writer head;    /* incident.json's members but state, audio and files */
	struct json_writer report;  /* report.md */
	struct json_writer events;  /* events.json */
	/* the thread */
	pthread_t thread;
	int started;
	_Atomic int done;
	char hook[200];             /* how the hook ended, for the log */
};

struct incident_desk {
	struct incident *pending[INCIDENTS_PENDING_MAX];
	int n;
	/* automatic incidents: when each alarm last opened one */
	struct {
		char key[ALARM_KIND_MAX + ALARM_SUBJECT_MAX];
		int64_t ms;
	} last_auto[32];
	int n_auto;
};

static struct incident_desk desk; /* the control thread's own */

static const char *channel_code(const struct config *cfg, int lang)
{
	return lang < 0 ? "floor" : cfg->languages[lang].code;
}

/* ---- the folder ---------------------------------------------------------- */

static int mkdir_0750(const char *path)
{
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		return -errno;
	return chmod(path, 0750) < 0 ? -errno : 0;
}

/* Writes a whole file, 0640, by a temporary name and a rename: a reader
 * never sees half a file. */
static int write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[4600], tmp[4700];
	int fd;
	ssize_t n = 0;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	while (len && (n = write(fd, text, len)) > 0) {
		text += n;
		len -= (size_t)n;
	}
	if (n < 0 || fsync(fd) < 0 || fchmod(fd, 0640) < 0) {
		int err = errno;
		close(fd);
		unlink(tmp);
		return -err;
	}
	close(fd);
	return rename(tmp, path) < 0 ? -errno : 0;
}

/* <log-dir>/incidents/<UTC stamp>-<YYYYMMDD-NN>: the day's next number. */
static int make_folder(struct incident *inc, const char *log_dir)
{
	char root[4300], day[16], stamp[32];
	struct tm tm;
	time_t t = (time_t)(inc->time_ms / 1000);
	DIR *d;
	struct dirent *de;
	int n = 0, tries, err;

	gmtime_r(&t, &tm);
	strftime(day, sizeof day, "%Y%m%d", &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(root, sizeof root, "%s/incidents", log_dir);
	if ((err = mkdir_0750(root)) < 0)
		return err;
	if ((d = opendir(root))) {
		while ((de = readdir(d))) {
			const char *dash = strchr(de->d_name, '-');
			int k;
			if (dash && !strncmp(dash + 1, day, 8) && dash[9] == '-' && (k = atoi(dash + 10)) > n)
				n = k;
		}
		closedir(d);
	}
	for (tries = 0; tries < 100; tries++) {
		snprintf(inc->id, sizeof inc->id, "%.8s-%02d", day, (n + 1 + tries) % 10000);
		snprintf(inc->dir, sizeof inc->dir, "%s/%s-%s", root, stamp, inc->id);
		if (mkdir(inc->dir, 0750) == 0)
			return chmod(inc->dir, 0750) < 0 ? -errno : 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* ---- what the engine knows, as JSON and as sentences ------------------- */

static void write_time(struct json_writer *w, const char *key, int64_t ms)
{
	char when[UTC_ISO_MAX];

	utc_iso_ms(ms, when);
	jw_key(w, key, 0);
	jw_string(w, when);
}

/* "15:17:02" of a UTC time, for sentences. */
static const char *clock_of(int64_t ms, char buf[16])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 16, "%H:%M:%S", &tm);
	return buf;
}

/* Runs a read command on the one command path without an audit line:
 * the evidence is the engine's own look at itself. */
static void command_json(struct engine *e, const char *line, struct json_writer *w)
{
	struct command_context ctx;
	struct json_writer r;

	engine_command_context(e, &ctx);
	ctx.now_ms = utc_now_ms();
	jw_init(&r);
	command_execute(&ctx, line, &r);
	jw_raw(w, r.buf && !r.failed ? r.buf : "null");
	jw_free(&r);
}

static void head_json(struct engine *e, struct incident *inc)
{
	const struct config *cfg = e->cfg;
	struct json_writer *w = &inc->head;
	char sha[65] = "";
	int i;

	jw_key(w, "id", 1);
	jw_string(w, inc->id);
	write_time(w, "time", inc->time_ms);
	jw_printf(w, ",\"time_ms\":%lld", (long long)inc->time_ms);
	jw_key(w, "via", 0);
	jw_string(w, inc->via);
	jw_printf(w, ",\"actor\":{%s}", inc->actor);
	jw_key(w, "opened_by", 0);
	jw_string(w, inc->rq.opened_by ? inc->rq.opened_by : "command");
	jw_printf(w, ",\"draft\":%s", inc->rq.draft ? "true" : "false");
	jw_key(w, "severity", 0);
	jw_string(w, incident_severity_name(inc->rq.severity));
	jw_key(w, "text", 0);
	jw_string(w, inc->rq.text);
	jw_key(w, "room", 0);
	jw_string(w, cfg->room);
	jw_key(w, "meeting", 0);
	jw_string(w, cfg->meeting);
	jw_key(w, "version", 0);
	jw_string(w, TOLK_VERSION);
	jw_key(w, "config", 0);
	jw_raw(w, "{");
	jw_key(w, "path", 1);
	jw_string(w, e->opt->config);
	jw_key(w, "sha256", 0);
	if (sha256_file(e->opt->config, sha) == 0)
		jw_string(w, sha);
	else
		jw_raw(w, "null");
	jw_raw(w, "}");
	jw_key(w, "channels", 0);
	jw_raw(w, "[");
	for (i = 0; i < inc->rq.n_channels; i++) {
		if (i)
			jw_raw(w, ",");
		jw_string(w, channel_code(cfg, inc->rq.channels[i]));
	}
	jw_raw(w, "]");
	jw_key(w, "jack", 0);
	jw_raw(w, "{");
	jw_key(w, "server", 1);
	jw_string(w, jack_server_name(e));
	jw_printf(w, ",\"up\":%s", e->audio_up ? "true" : "false");
	if (e->audio_up) {
		struct cycle_summary c;
		double period_ns;
		cycle_stats_read(&e->jack.cycles, &c);
		period_ns = c.frames && jack_shell_sample_rate(&e->jack)
				    ? 1e9 * c.frames / jack_shell_sample_rate(&e->jack) : 0;
		jw_printf(w, ",\"sample_rate\":%u,\"period_frames\":%u,\"xruns\":%u}",
			  jack_shell_sample_rate(&e->jack), c.frames, xrun_log_count(&e->jack.xruns));
		jw_printf(w, ",\"process\":{\"cycles\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
			     "\"period_us\":%.1f,\"overruns\":%llu,\"wall_overruns\":%llu}",
			  (unsigned long long)c.cycles, c.p50_ns / 1000, c.p99_ns / 1000, c.max_ns / 1000,
			  period_ns / 1000, (unsigned long long)c.overruns, (unsigned long long)c.wall_overruns);
	} else {
		jw_raw(w, "}");
	}
	jw_key(w, "recording", 0);
	command_json(e, "record status", w);
	jw_key(w, "alarms", 0);
	command_write_alarms(w, &e->alarms);
}

/* The channels an incident is about: the named ones, else those with
 * alarms (a language's code or its out_ port), else every distribution
 * channel. */
static void affected_channels(struct engine *e, struct incident_request *rq)
{
	const struct config *cfg = e->cfg;
	int i, lang, k;

	if (rq->n_channels)
		return;
	for (i = 0; i < e->alarms.n && rq->n_channels < INCIDENT_CHANNELS_MAX; i++) {
		const struct alarm *a = &e->alarms.alarms[i];
		const char *s = a->subject;
		if (a->raised_ms < 0 || !*s)
			continue;
		if (!strncmp(s, "out_", 4))
			s += 4;
		lang = !strcmp(s, "floor") ? -1 : config_find_language(cfg, s);
		if (lang < -1 || (lang == -1 && strcmp(s, "floor")))
			continue;
		for (k = 0; k < rq->n_channels && rq->channels[k] != lang; k++)
			;
		if (k == rq->n_channels)
			rq->channels[rq->n_channels++] = lang;
	}
	if (!rq->n_channels)
		for (lang = -1; lang < cfg->n_languages && rq->n_channels < INCIDENT_CHANNELS_MAX; lang++)
			rq->channels[rq->n_channels++] = lang;
}

/* The events of the window, as JSON, and in sentences for the report. */
static void window_events(struct engine *e, struct incident *inc, struct json_writer *said, struct json_writer *done)
{
	const int64_t from = inc->time_ms - INCIDENT_WINDOW_MS;
	uint64_t seq;
	int any = 0;
	char hhmmss[16];

	jw_raw(&inc->events, "[");
	for (seq = event_log_first(&e->events); seq && seq <= event_log_last(&e->events); seq++) {
		const struct event *ev = event_log_get(&e->events, seq);
		if (!ev || ev->time_ms < from || ev->time_ms > inc->due_ms + 1000)
			continue;
		if (any++)
			jw_raw(&inc->events, ",");
		command_write_event(&inc->events, ev);
		jw_printf(ev->kind == EVENT_CHANGE ? done : said, "- %s %s%s\n", clock_of(ev->time_ms, hhmmss),
			  ev->text, ev->time_ms > inc->time_ms ? " (after the report)" : "");
	}
	jw_raw(&inc->events, "]\n");
}

/* The audit's actor ("uid":0,"user":"root") as words: uid 0, user root. */
static const char *who(const char *actor, char *buf, size_t len)
{
	size_t i = 0;

	for (; *actor && i + 2 < len; actor++) {
		if (*actor == '"')
			continue;
		if (*actor == ':')
			buf[i++] = ' ';
		else if (*actor == ',') {
			buf[i++] = ',';
			buf[i++] = ' ';
		} else
			buf[i++] = *actor;
	}
	buf[i] = '\0';
	return i ? buf : "the engine";
}

/* report.md's first half, as the engine is at the report: who, what,
 * the alarms active, JACK and the recording. */
static void report_at_open(struct engine *e, struct incident *inc)
{
	const struct config *cfg = e->cfg;
	struct json_writer *w = &inc->report;
	char when[UTC_ISO_MAX], hhmmss[16], actor[sizeof inc->actor];
	int i, any = 0;

	utc_iso_ms(inc->time_ms, when);
	jw_printf(w, "# Incident %s: %s\n\n", inc->id, inc->rq.text);
	jw_printf(w, "- **When:** %s\n", when);
	jw_printf(w, "- **Reported by:** %s, via %s%s\n", who(inc->actor, actor, sizeof actor), inc->via,
		  inc->rq.draft ? "; a draft from a console, for a technician to complete" : "");
	jw_printf(w, "- **Severity:** %s\n", incident_severity_name(inc->rq.severity));
	jw_printf(w, "- **Room:** %s, meeting %s\n", cfg->room, cfg->meeting);
	jw_raw(w, "- **Channels:** ");
	for (i = 0; i < inc->rq.n_channels; i++)
		jw_printf(w, "%s%s%s%s%s", i ? ", " : "", channel_code(cfg, inc->rq.channels[i]),
			  inc->rq.channels[i] >= 0 ? " (" : "",
			  inc->rq.channels[i] >= 0 ? cfg->languages[inc->rq.channels[i]].name : "",
			  inc->rq.channels[i] >= 0 ? ")" : "");
	jw_printf(w, "\n- **Tolk:** %s, config %s\n", TOLK_VERSION, e->opt->config);
	if (e->audio_up) {
		struct cycle_summary c;
		cycle_stats_read(&e->jack.cycles, &c);
		jw_printf(w, "- **JACK:** server %s, %u Hz, %u-frame period, up\n",
			  jack_server_name(e), jack_shell_sample_rate(&e->jack), c.frames);
	} else {
		jw_printf(w, "- **JACK:** server %s is DOWN\n", jack_server_name(e));
	}
	jw_printf(w, "\n## What happened\n\n%s\n\n## What the engine saw\n\n", inc->rq.text);
	for (i = 0; i < e->alarms.n; i++) {
		const struct alarm *a = &e->alarms.alarms[i];
		if (a->raised_ms < 0)
			continue;
		if (!any++)
			jw_raw(w, "Alarms active at the report:\n\n");
		jw_printf(w, "- **%s%s%s** since %s: %s\n", a->kind, *a->subject ? " " : "", a->subject,
			  clock_of(a->raised_ms, hhmmss), a->detail);
	}
	if (!any)
		jw_raw(w, "No alarm was active at the report.\n");
	if (e->audio_up) {
		struct cycle_summary c;
		const uint32_t rate = jack_shell_sample_rate(&e->jack);
		cycle_stats_read(&e->jack.cycles, &c);
		jw_printf(w, "\nJACK had reported %u xrun(s) since Tolk connected; Tolk's own cycles: %llu past their "
			     "period in CPU time, p99 %.2f ms of a %.2f ms period.\n",
			  xrun_log_count(&e->jack.xruns), (unsigned long long)c.overruns, c.p99_ns / 1e6,
			  rate ? 1e3 * c.frames / rate : 0.0);
		if (e->au->rec) {
			char meeting[TOLK_MEETING_MAX];
			int segment = 0;
			if (recorder_running(e->au->rec, meeting, sizeof meeting, &segment))
				jw_printf(w, "The recording %s was running (segment %d), %llu frame(s) dropped in all, "
					     "%.2f s not yet written.\n",
					  meeting, segment, (unsigned long long)recorder_dropped(e->au->rec),
					  recorder_backlog_seconds(e->au->rec));
			else
				jw_printf(w, "Nothing was being recorded (%s).\n", recorder_state_name(e->au->rec));
		}
	} else if (e->opt->no_record) {
		jw_raw(w, "\nRecording is disabled for this run (--no-record).\n");
	}
}

/* report.md's second half, once post_seconds have passed: the minutes
 * around the report, what was done, the audio. */
static void report_at_collect(struct engine *e, struct incident *inc)
{
	struct json_writer *w = &inc->report, said, done;
	int i;

	jw_init(&said);
	jw_init(&done);
	window_events(e, inc, &said, &done);
	if (said.len)
		jw_printf(w, "\nAlarms, signals and notices in the 5 minutes before and the %g s after:\n\n%s",
			  e->cfg->incidents.post_seconds, said.buf);
	jw_raw(w, "\n## What was done\n\n");
	jw_raw(w, done.len ? "Changes in the 5 minutes before the report and the time after:\n\n" :
			     "No change was made in the 5 minutes before the report or since.\n");
	if (done.len)
		jw_raw(w, done.buf);
	jw_raw(w, "\n## Audio\n\n");
	if (!inc->has_audio)
		jw_printf(w, "No audio: %s.\n", inc->no_audio);
	for (i = 0; inc->has_audio && i < inc->rq.n_channels; i++)
		jw_printf(w, "- `audio/%s.flac`: %.1f s, the report at %.1f s into it%s\n", inc->codes[i],
			  (double)inc->frames / inc->rate, (double)inc->pre_frames / inc->rate,
			  inc->real[i] < inc->frames ? " (silence where the pre-roll had nothing yet, or no longer)" : "");
	jw_raw(w, "\nThe folder also holds `incident.json` (all of the above as data), `status.json`, "
		  "`events.json`, `audit.jsonl` and, while recording, `timeline.jsonl`.\n");
	jw_free(&said);
	jw_free(&done);
}

/* ---- the audio ----------------------------------------------------------- */

/* From the pre-roll: whatever of the window it has now. */
static void take_audio(struct engine *e, struct incident *inc)
{
	int i;

	if (inc->audio_taken || !inc->has_audio)
		return;
	inc->audio_taken = 1;
	if (!e->audio_up || !e->au->preroll) {
		inc->has_audio = 0;
		snprintf(inc->no_audio, sizeof inc->no_audio, "the audio side went away before it could be taken");
		return;
	}
	inc->frames = inc->pre_frames + inc->post_frames;
	for (i = 0; i < inc->rq.n_channels; i++) {
		const uint64_t from = inc->mark > inc->pre_frames ? inc->mark - inc->pre_frames : 0;
		const uint64_t lead = inc->pre_frames - (inc->mark - from); /* before the pre-roll began */
		inc->audio[i] = calloc(inc->frames + 1, sizeof(float));
		if (!inc->audio[i]) {
			inc->has_audio = 0;
			snprintf(inc->no_audio, sizeof inc->no_audio, "out of memory");
			return;
		}
		inc->real[i] = preroll_copy(e->au->preroll, inc->rq.channels[i] + 1, from, inc->mark + inc->post_frames,
					    inc->audio[i] + lead);
	}
}

static int write_flac(const char *path, const float *audio, uint64_t frames, uint32_t rate)
{
	SF_INFO info = { .samplerate = (int)rate, .channels = 1, .format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16 };
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);
	sf_count_t n;

	if (!f)
		return -EIO;
	n = sf_writef_float(f, audio, (sf_count_t)frames);
	sf_close(f);
	chmod(path, 0640);
	return n == (sf_count_t)frames ? 0 : -EIO;
}

/* ---- the window's lines of a JSON-lines file --------------------------- */

/* Lines that begin {"time_ms":N with N in [from, to], from the file's last
 * few MiB. */
static void copy_window(const char *src, const char *dir, const char *name, int64_t from, int64_t to)
{
	struct json_writer out;
	char *buf, *line, *next;
	off_t size;
	ssize_t n;
	int fd = open(src, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size < 0 || !(buf = malloc(INCIDENT_TAIL_BYTES + 1))) {
		close(fd);
		return;
	}
	n = pread(fd, buf, INCIDENT_TAIL_BYTES, size > INCIDENT_TAIL_BYTES ? size - INCIDENT_TAIL_BYTES : 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	jw_init(&out);
	for (line = buf; line && *line; line = next) {
		long long t;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "{\"time_ms\":%lld", &t) == 1 && t >= from && t <= to)
			jw_printf(&out, "%s\n", line);
	}
	write_file(dir, name, out.buf ? out.buf : "", out.len);
	jw_free(&out);
	free(buf);
}

/* ---- the site's hook ----------------------------------------------------- */

/* The hook's environment: the engine's, less what systemd gave the engine
 * alone (a hook must not feed the watchdog or speak for the service), and
 * own: the incident's id, severity and room. */
static char **hook_environment(char *own[4])
{
	static const char *const drop[] = { "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=", "LISTEN_FDS=",
					     "LISTEN_PID=", NULL };
	char **env;
	size_t n = 0, k = 0, i, d;

	while (environ[n])
		n++;
	if (!(env = calloc(n + 4, sizeof *env)))
		return NULL;
	for (i = 0; i < n; i++) {
		for (d = 0; drop[d] && strncmp(environ[i], drop[d], strlen(drop[d])); d++)
			;
		if (!drop[d] && strncmp(environ[i], "TOLK_INCIDENT", 13))
			env[k++] = environ[i];
	}
	for (i = 0; i < 3 && own[i]; i++)
		env[k++] = own[i];
	return env;
}

/* Runs incidents.command with the folder as its argument, its output and
 * exit status to the log; at most a minute. */
static void run_hook(struct incident *inc)
{
	char *argv[] = { inc->command, inc->dir, NULL }, buf[512], *p, *nl, **env;
	char id[64], severity[48], room[TOLK_MEETING_MAX + 24], *own[4] = { id, severity, room, NULL };
	posix_spawn_file_actions_t fa;
	int out[2], status = 0, waited = 0;
	size_t have = 0;
	pid_t pid;

	snprintf(id, sizeof id, "TOLK_INCIDENT_ID=%s", inc->id);
	snprintf(severity, sizeof severity, "TOLK_INCIDENT_SEVERITY=%s", incident_severity_name(inc->rq.severity));
	snprintf(room, sizeof room, "TOLK_INCIDENT_ROOM=%s", inc->room);
	if (!(env = hook_environment(own))) {
		snprintf(inc->hook, sizeof inc->hook, "not run: out of memory");
		return;
	}

	if (pipe2(out, O_CLOEXEC) < 0) {
		snprintf(inc->hook, sizeof inc->hook, "not run: %s", strerror(errno));
		free(env);
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	errno = posix_spawn(&pid, inc->command, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (errno) {
		snprintf(inc->hook, sizeof inc->hook, "not run: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		return;
	}
	close(out[1]);
	for (;;) {
		struct pollfd pf = { out[0], POLLIN, 0 };
		ssize_t n;
		if (poll(&pf, 1, 1000) == 0) {
			if (++waited >= INCIDENT_HOOK_SECONDS) {
				kill(pid, SIGKILL);
				log_line("incident %s: %s ran past %d s: killed", inc->id, inc->command, INCIDENT_HOOK_SECONDS);
				break;
			}
			continue;
		}
		n = read(out[0], buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		/* Each whole line of its output to the log, as it comes. */
		for (p = buf; (nl = strchr(p, '\n')); p = nl + 1) {
			*nl = '\0';
			log_line("incident %s: %s says: %s", inc->id, inc->command, p);
		}
		have = strlen(p);
		memmove(buf, p, have + 1);
		if (have == sizeof buf - 1) {
			log_line("incident %s: %s says: %s", inc->id, inc->command, buf);
			have = 0;
		}
	}
	if (have)
		log_line("incident %s: %s says: %s", inc->id, inc->command, buf);
	close(out[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status))
		snprintf(inc->hook, sizeof inc->hook, "exit %d", WEXITSTATUS(status));
	else
		snprintf(inc->hook, sizeof inc->hook, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* ---- the incident thread -------------------------------------------------- */

static void *finish_incident(void *arg)
{
	struct incident *inc = arg;
	struct json_writer w;
	char path[4800], audio_dir[4500];
	int i, wrote;

	thread_role_set(THREAD_INCIDENT);
	pthread_setname_np(pthread_self(), "tolk-incident");
	jw_init(&w);
	jw_printf(&w, "{%s", inc->head.buf ? inc->head.buf : "");
	jw_key(&w, "audio", 0);
	jw_raw(&w, "[");
	if (inc->has_audio) {
		snprintf(audio_dir, sizeof audio_dir, "%s/audio", inc->dir);
		mkdir_0750(audio_dir);
		for (i = 0, wrote = 0; i < inc->rq.n_channels; i++) {
			snprintf(path, sizeof path, "%s/%s.flac", audio_dir, inc->codes[i]);
			if (write_flac(path, inc->audio[i], inc->frames, inc->rate) < 0) {
				log_line("incident %s: cannot write %s", inc->id, path);
				continue;
			}
			jw_raw(&w, wrote++ ? ",{" : "{");
			jw_key(&w, "channel", 1);
			jw_string(&w, inc->codes[i]);
			jw_printf(&w, ",\"file\":\"audio/%s.flac\",\"seconds\":%.3f,\"report_at_seconds\":%.3f,"
				      "\"audio_seconds\":%.3f}",
				  inc->codes[i], (double)inc->frames / inc->rate, (double)inc->pre_frames / inc->rate,
				  (double)inc->real[i] / inc->rate);
		}
	}
	jw_raw(&w, "]");
	jw_key(&w, "no_audio", 0);
	if (inc->has_audio)
		jw_raw(&w, "null");
	else
		jw_string(&w, inc->no_audio);
	write_file(inc->dir, "events.json", inc->events.buf ? inc->events.buf : "[]\n",
		   inc->events.buf ? inc->events.len : 3);
	copy_window(inc->audit_path, inc->dir, "audit.jsonl", inc->time_ms - INCIDENT_WINDOW_MS, inc->due_ms + 1000);
	if (*inc->timeline)
		copy_window(inc->timeline, inc->dir, "timeline.jsonl", inc->time_ms - INCIDENT_WINDOW_MS,
			    inc->due_ms + 1000);
	write_file(inc->dir, "report.md", inc->report.buf ? inc->report.buf : "", inc->report.len);
	jw_raw(&w, ",\"files\":[\"incident.json\",\"report.md\",\"status.json\",\"events.json\",\"audit.jsonl\"");
	if (*inc->timeline)
		jw_raw(&w, ",\"timeline.jsonl\"");
	jw_raw(&w, "],\"state\":\"complete\"}\n");
	if (!w.failed && write_file(inc->dir, "incident.json", w.buf, w.len) < 0)
		log_line("incident %s: cannot write %s/incident.json", inc->id, inc->dir);
	jw_free(&w);
	/* The folder is complete: now the site's own hook. */
	if (*inc->command)
		run_hook(inc);
	atomic_store_explicit(&inc->done, 1, memory_order_release);
	return NULL;
}

/* ---- the control thread: filing, collecting, finishing ------------------ */

static void incident_free(struct incident *inc)
{
	int i;

	for (i = 0; i < INCIDENT_CHANNELS_MAX; i++)
		free(inc->audio[i]);
	jw_free(&inc->head);
	jw_free(&inc->report);
	jw_free(&inc->events);
	free(inc);
}

/* Files an incident: the folder and what the engine knows now, at once;
 * the audio and the rest when post_seconds have passed (incidents_tick). */
static int file_incident(struct engine *e, struct incident_request *rq, const char *via, const char *actor,
			 struct json_writer *reply)
{
	const struct config *cfg = e->cfg;
	struct incident *inc;
	struct json_writer st;
	char text[EVENT_TEXT_MAX + 64], fields[1400];
	int i, err;

	if (desk.n == INCIDENTS_PENDING_MAX) {
		command_error(reply, "incident: %d incidents are still being collected; try again in %g s",
			      INCIDENTS_PENDING_MAX, cfg->incidents.post_seconds);
		return -EBUSY;
	}
	if (!(inc = calloc(1, sizeof *inc))) {
		command_error(reply, "incident: out of memory");
		return -ENOMEM;
	}
	inc->rq = *rq;
	inc->time_ms = utc_now_ms();
	inc->due_ms = inc->time_ms + (int64_t)(cfg->incidents.post_seconds * 1000);
	snprintf(inc->via, sizeof inc->via, "%s", via);
	snprintf(inc->actor, sizeof inc->actor, "%s", actor);
	snprintf(inc->command, sizeof inc->command, "%s", cfg->incidents.command);
	snprintf(inc->room, sizeof inc->room, "%s", cfg->room);
	snprintf(inc->audit_path, sizeof inc->audit_path, "%s", e->audit.path);
	jw_init(&inc->head);
	jw_init(&inc->report);
	jw_init(&inc->events);
	if ((err = make_folder(inc, log_dir(e, cfg))) < 0) {
		command_error(reply, "incident: cannot make a folder under %s/incidents: %s", log_dir(e, cfg),
			      strerror(-err));
		incident_free(inc);
		return err;
	}
	affected_channels(e, &inc->rq);
	for (i = 0; i < inc->rq.n_channels; i++)
		snprintf(inc->codes[i], sizeof inc->codes[i], "%s", channel_code(cfg, inc->rq.channels[i]));
	if (e->opt->no_record) {
		snprintf(inc->no_audio, sizeof inc->no_audio, "recording is disabled for this run (--no-record)");
	} else if (!cfg->incidents.audio) {
		snprintf(inc->no_audio, sizeof inc->no_audio, "incidents.audio is off in this room");
	} else if (!e->audio_up || !e->au->preroll) {
		snprintf(inc->no_audio, sizeof inc->no_audio, "the JACK server was down");
	} else {
		inc->has_audio = 1;
		inc->rate = e->au->preroll->rate;
		inc->mark = preroll_now(e->au->preroll);
		inc->pre_frames = (uint64_t)(cfg->incidents.pre_seconds * inc->rate);
		inc->post_frames = (uint64_t)(cfg->incidents.post_seconds * inc->rate);
	}
	if (e->audio_up && e->au->rec) {
		char meeting[TOLK_MEETING_MAX];
		int segment;
		if (recorder_running(e->au->rec, meeting, sizeof meeting, &segment))
			snprintf(inc->timeline, sizeof inc->timeline, "%s/%s/timeline.jsonl", e->au->rec->root, meeting);
	}
	head_json(e, inc);
	report_at_open(e, inc);
	/* The state as it was at the report, and incident.json so far. */
	jw_init(&st);
	jw_raw(&st, "{\"status\":");
	command_json(e, "status", &st);
	jw_raw(&st, ",\"record\":");
	command_json(e, "record status", &st);
	jw_raw(&st, ",\"meters\":");
	command_json(e, "meters", &st);
	jw_raw(&st, "}\n");
	write_file(inc->dir, "status.json", st.buf ? st.buf : "{}\n", st.len);
	st.len = 0;
	jw_printf(&st, "{%s,\"state\":\"collecting\",\"complete_at\":", inc->head.buf ? inc->head.buf : "");
	{
		char when[UTC_ISO_MAX];
		utc_iso_ms(inc->due_ms, when);
		jw_printf(&st, "\"%s\"}\n", when);
	}
	write_file(inc->dir, "incident.json", st.buf ? st.buf : "{}\n", st.len);
	jw_free(&st);
	desk.pending[desk.n++] = inc;
	/* The events, the log, the timeline. */
	snprintf(text, sizeof text, "incident %s (%s): %.150s", inc->id, incident_severity_name(inc->rq.severity),
		 inc->rq.text);
	log_line("%s", text);
	event_log_add(&e->events, inc->time_ms, EVENT_CHANGE, "", 0, text);
	{
		struct json_writer t;
		jw_init(&t);
		jw_raw(&t, "\"event\":\"incident\",\"id\":");
		jw_string(&t, inc->id);
		jw_key(&t, "severity", 0);
		jw_string(&t, incident_severity_name(inc->rq.severity));
		jw_key(&t, "text", 0);
		jw_string(&t, inc->rq.text);
		snprintf(fields, sizeof fields, "%s", t.failed ? "\"event\":\"incident\"" : t.buf);
		jw_free(&t);
		timeline_event(e, fields);
	}
	if (e->n_changes < 16) {
		snprintf(e->change_text[e->n_changes], sizeof e->change_text[0], "incident %s filed in %.200s",
			 inc->id, inc->dir);
		e->changes[e->n_changes] = e->change_text[e->n_changes];
		e->n_changes++;
	}
	jw_raw(reply, "{\"ok\":true,\"incident\":{");
	jw_key(reply, "id", 1);
	jw_string(reply, inc->id);
	jw_key(reply, "folder", 0);
	jw_string(reply, inc->dir);
	write_time(reply, "time", inc->time_ms);
	jw_key(reply, "text", 0);
	jw_string(reply, inc->rq.text);
	jw_key(reply, "severity", 0);
	jw_string(reply, incident_severity_name(inc->rq.severity));
	jw_printf(reply, ",\"draft\":%s", inc->rq.draft ? "true" : "false");
	jw_key(reply, "channels", 0);
	jw_raw(reply, "[");
	for (i = 0; i < inc->rq.n_channels; i++) {
		if (i)
			jw_raw(reply, ",");
		jw_string(reply, inc->codes[i]);
	}
	jw_printf(reply, "],\"state\":\"collecting\",\"complete_in_seconds\":%g}}", cfg->incidents.post_seconds);
	return 0;
}

static int iface_open(void *user, const struct incident_request *rq, struct json_writer *reply)
{
	struct engine *e = user;
	struct incident_request copy = *rq;
	const struct origin *o = e->current;

	return file_incident(e, &copy, o ? o->via : "engine", o && o->actor ? o->actor : "", reply);
}

static int is_incident_folder(const struct dirent *d)
{
	return d->d_name[0] != '.' && strchr(d->d_name, '-') != NULL;
}

/* The folders, oldest first (the last INCIDENTS_LISTED of them): their
 * incident.json as they are. */
static int iface_show(void *user, const char *id, struct json_writer *reply)
{
	struct engine *e = user;
	char root[4300], path[4700];
	struct dirent **names = NULL;
	int n, i, any = 0, found = 0, older;

	snprintf(root, sizeof root, "%s/incidents", log_dir(e, e->cfg));
	n = scandir(root, &names, is_incident_folder, alphasort);
	older = !id && n > INCIDENTS_LISTED ? n - INCIDENTS_LISTED : 0;
	jw_raw(reply, id ? "{\"ok\":true,\"incident\":" : "{\"ok\":true,\"incidents\":[");
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name, *dash = strchr(name, '-');
		char *json;
		size_t len;
		if (i < older || (id && strcmp(dash + 1, id))) {
			free(names[i]);
			continue;
		}
		snprintf(path, sizeof path, "%s/%s/incident.json", root, name);
		json = whole_file_read(path);
		free(names[i]);
		if (!json)
			continue;
		for (len = strlen(json); len && (json[len - 1] == '\n' || json[len - 1] == ' '); len--)
			json[len - 1] = '\0';
		if (!id && any++)
			jw_raw(reply, ",");
		jw_raw(reply, *json == '{' ? json : "null");
		found = 1;
		free(json);
		if (id) {
			jw_key(reply, "folder", 0);
			snprintf(path, sizeof path, "%s/%s", root, name);
			jw_string(reply, path);
		}
	}
	free(names);
	if (id && !found) {
		reply->len = 0;
		command_error(reply, "incident: no incident '%s' (incidents lists them)", id);
		return -ENOENT;
	}
	if (id)
		jw_raw(reply, "}");
	else
		jw_printf(reply, "],\"older\":%d}", older);
	return 0;
}

static const struct incidents_iface iface = { NULL, iface_open, iface_show };

const struct incidents_iface *incidents_iface_of(struct engine *e)
{
	static struct incidents_iface bound;

	bound = iface;
	bound.user = e;
	return &bound;
}

/* The evidence and the audio of an incident whose time has come, to its
 * thread. */
static void collect(struct engine *e, struct incident *inc)
{
	take_audio(e, inc);
	report_at_collect(e, inc);
	if (pthread_create(&inc->thread, NULL, finish_incident, inc) == 0) {
		inc->started = 1;
		return;
	}
	log_line("incident %s: cannot start its thread; finishing it here", inc->id);
	finish_incident(inc);
	thread_role_set(THREAD_CONTROL);
}

void incidents_tick(struct engine *e)
{
	const int64_t now = utc_now_ms();
	int i;

	ASSERT_THREAD(THREAD_CONTROL);
	for (i = 0; i < desk.n; i++) {
		struct incident *inc = desk.pending[i];
		if (!inc->started && !atomic_load(&inc->done) && now >= inc->due_ms)
			collect(e, inc);
		if (atomic_load_explicit(&inc->done, memory_order_acquire)) {
			char text[EVENT_TEXT_MAX];
			if (inc->started)
				pthread_join(inc->thread, NULL);
			snprintf(text, sizeof text, "incident %s complete: %.120s", inc->id, inc->dir);
			log_line("%s%s%s", text, *inc->hook ? "; incidents.command: " : "", inc->hook);
			event_log_add(&e->events, now, EVENT_CHANGE, "", 0, text);
			incident_free(inc);
			desk.pending[i--] = desk.pending[--desk.n];
		}
	}
}

void incidents_audio_going(struct engine *e)
{
	int i;

	ASSERT_THREAD(THREAD_CONTROL);
	for (i = 0; i < desk.n; i++)
		if (!desk.pending[i]->started)
			take_audio(e, desk.pending[i]);
}

void incidents_on_alarm(struct engine *e, const struct alarm *a)
{
	const struct config *cfg = e->cfg;
	struct incident_request rq = { .severity = INCIDENT_HIGH, .opened_by = "alarm" };
	struct json_writer reply;
	char key[ALARM_KIND_MAX + ALARM_SUBJECT_MAX], actor[160];
	const int64_t now = utc_now_ms();
	int i, lang;

	ASSERT_THREAD(THREAD_CONTROL);
	for (i = 0; i < cfg->incidents.n_auto && strcmp(cfg->incidents.auto_kinds[i], a->kind); i++)
		;
	if (i == cfg->incidents.n_auto)
		return;
	/* One per alarm and subject in ten minutes: a flapping alarm is one
	 * incident, not a folder a minute. */
	snprintf(key, sizeof key, "%s %s", a->kind, a->subject);
	for (i = 0; i < desk.n_auto && strcmp(desk.last_auto[i].key, key); i++)
		;
	if (i < desk.n_auto && now - desk.last_auto[i].ms < INCIDENT_AUTO_GAP_MS)
		return;
	if (i == desk.n_auto && desk.n_auto < (int)(sizeof desk.last_auto / sizeof desk.last_auto[0]))
		desk.n_auto++;
	if (i < desk.n_auto) {
		snprintf(desk.last_auto[i].key, sizeof desk.last_auto[i].key, "%s", key);
		desk.last_auto[i].ms = now;
	}
	snprintf(rq.text, sizeof rq.text, "alarm %s%s%s: %s", a->kind, *a->subject ? " " : "", a->subject, a->detail);
	lang = config_find_language(cfg, a->subject);
	if (lang >= 0)
		rq.channels[rq.n_channels++] = lang;
	snprintf(actor, sizeof actor, "\"alarm\":\"%s\"", a->kind);
	jw_init(&reply);
	if (file_incident(e, &rq, "alarm", actor, &reply) == 0 &&
	    audit_write(&e->audit, now, "alarm", actor, "incident (incidents.auto)", reply.buf ? reply.buf : "{}",
			NULL, 0) < 0)
		log_line("ALARM: cannot write the audit log %s", e->audit.path);
	jw_free(&reply);
}

void incidents_stop(struct engine *e)
{
	int i;

	ASSERT_THREAD(THREAD_CONTROL);
	/* What is being collected is finished now, with the audio there is. */
	for (i = 0; i < desk.n; i++)
		if (!desk.pending[i]->started && !atomic_load(&desk.pending[i]->done))
			collect(e, desk.pending[i]);
	for (i = 0; i < desk.n; i++) {
		if (desk.pending[i]->started)
			pthread_join(desk.pending[i]->thread, NULL);
		incident_free(desk.pending[i]);
	}
	desk.n = 0;
}
