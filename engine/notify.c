/* What the engine tells: the log (stderr, a line whole from any thread),
 * the timeline of the recording, the events, and the callbacks through
 * which alarms, the hearing limiter and JACK connections report.
 * Thread: control, but log_line and log_text (any). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/thread_role.h"
#include "core/utc_time.h"
#include "engine.h"

/* Set once at start (log_detect_journal): stderr is systemd's journal. */
static int journal_stream;

void log_detect_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	/* The variable is inherited by children too: only the stream it names
	 * is the journal's (sd_journal_stream_fd(3), systemd.exec(5)). */
	journal_stream = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
			 (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* The alarms that mean the room's audio or its archive is harmed now:
 * errors in the journal; the other alarms are warnings. */
static const char *const severe_alarms[] = { "jack-down", "recording-failed", "recording-drop", "disk-low",
					     "live-silent", NULL };

/* Lines by how they begin, and their syslog priority (3 err, 4 warning,
 * 5 notice); anything else is 6, info. */
static const struct {
	const char *start;
	int priority;
} line_priorities[] = {
	{ "BUG: ", 3 },
	{ "JACK server went away", 3 },
	{ "poll failed", 3 },
	{ "recording not started", 3 },
	{ "cannot ", 4 },
	{ "jack: ", 4 },
	{ "warning", 4 },
	{ "note: cannot", 4 },
	{ "reload: the JACK server did not", 4 },
	{ "cleared ", 5 },
	{ "stream-up ", 5 },
	{ "refused ", 5 },
	{ "JACK server is back", 5 },
};

static int priority_of(const char *line)
{
	size_t i;

	if (!strncmp(line, "ALARM: ", 7)) {
		if (strncmp(line + 7, "alarm ", 6))
			return 3; /* the engine's own: the audit, a recording not resumed */
		for (i = 0; severe_alarms[i]; i++) {
			size_t n = strlen(severe_alarms[i]);
			if (!strncmp(line + 13, severe_alarms[i], n) && (line[13 + n] == ' ' || line[13 + n] == ':' ||
									   !line[13 + n]))
				return 3;
		}
		return 4;
	}
	for (i = 0; i < sizeof line_priorities / sizeof line_priorities[0]; i++)
		if (!strncasecmp(line, line_priorities[i].start, strlen(line_priorities[i].start)))
			return line_priorities[i].priority;
	return 6;
}

void log_line(const char *fmt, ...)
{
	char when[UTC_ISO_MAX], *line = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		line = NULL;
	flockfile(stderr); /* one line whole, whichever thread writes it */
	if (journal_stream) {
		/* The journal stamps the time itself, and reads the priority. */
		fprintf(stderr, "<%d>tolk: %s\n", line ? priority_of(line) : 3, line ? line : "(out of memory)");
	} else {
		utc_iso_ms(utc_now_ms(), when);
		fprintf(stderr, "%s tolk: %s\n", when, line ? line : "(out of memory)");
	}
	funlockfile(stderr);
	free(line);
}

/* A whole line for the log, from any thread (the recovery helper too). */
void log_text(const char *line)
{
	log_line("%s", line);
}

void say(struct engine *e, const char *fmt, ...)
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

void timeline_event(struct engine *e, const char *fields)
{
	if (e->au->rec)
		recorder_event(e->au->rec, jack_shell_frame_now(&e->jack), fields);
}

/* A line of words on the timeline, as an event of this kind. */
void timeline_text(struct engine *e, const char *kind, const char *text)
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
void note_change(void *user, const char *line)
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
void timeline_channels(struct engine *e, int all)
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
		if (e->au->rec) /* the next segment's floor files say it */
			recorder_set_floor_language(e->au->rec, e->state.floor_language);
		strcpy(e->last_floor_language, e->state.floor_language);
		e->last_pinned = e->state.floor_language_pinned;
	}
}

/* An alarm raised or cleared: the log, the events and the timeline. */
void on_alarm(void *user, const struct alarm *a, int raised)
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
	if (raised)
		incidents_on_alarm(e, a);
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

/* The hearing limiter acted: the log, the events and the timeline. */
void on_hearing(void *user, const char *text)
{
	struct engine *e = user;

	log_line("%s", text);
	event_log_add(&e->events, utc_now_ms(), EVENT_HEARING, "", 0, text);
	timeline_text(e, "hearing", text);
}

/* A connect: entry made late, or lost: the log, the events and the
 * timeline. */
void link_note(void *user, const char *line)
{
	struct engine *e = user;

	log_line("%s", line);
	event_log_add(&e->events, utc_now_ms(), EVENT_CHANGE, "", 0, line);
	timeline_text(e, "connection", line);
}

/* For event streams: the event after `after` as a JSON line. */
uint64_t next_event(void *user, uint64_t after, char **line, size_t *len)
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

void note_thread_violations(struct engine *e)
{
	const unsigned long n = atomic_load_explicit(&tolk_thread_violations, memory_order_relaxed);
	const char *first = atomic_load(&tolk_thread_first_violation);

	if (n == e->thread_violations_seen)
		return;
	log_line("BUG: %lu call(s) from the wrong thread so far, the first in %s (see README: Threads)", n,
		 first ? first : "?");
	e->thread_violations_seen = n;
}
