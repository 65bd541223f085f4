#include "hearing_log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../control/log_file.h"
#include "../core/event_log.h"
#include "../core/json_writer.h"
#include "../core/utc_time.h"

#define RESTORE_TAIL_BYTES (4 << 20) /* a day of minutes for a large room */

int hearing_local_day(int64_t utc_ms)
{
	time_t t = (time_t)(utc_ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static double number_after(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	return p ? strtod(p + strlen(key), NULL) : -1.0;
}

/* Calls fn with each console's last line for day in exposure.jsonl,
 * reading from byte `from` on (the tail, for today). Returns how many
 * consoles had one, or -errno. */
static int last_lines(struct hearing_log *h, int day, off_t from,
		      void (*fn)(struct hearing_log *h, int mic, const char *line, void *arg), void *arg)
{
	char key[40], name[TOLK_ID_MAX + 16], want[TOLK_ID_MAX + 32];
	char **last = calloc(h->cfg->n_mics ? (size_t)h->cfg->n_mics : 1, sizeof *last);
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(h->path, "re");
	int mic, found = 0;

	if (!f || !last) {
		free(last);
		if (f)
			fclose(f);
		return f ? -ENOMEM : -errno;
	}
	if (from > 0 && fseeko(f, from, SEEK_SET) == 0)
		if (getline(&line, &cap, f) < 0) /* a partial line */
			clearerr(f);
	snprintf(key, sizeof key, "\"day\":\"%04d-%02d-%02d\"", day / 10000, day / 100 % 100, day % 100);
	while (getline(&line, &cap, f) > 0) {
		if (!strstr(line, key))
			continue;
		for (mic = 0; mic < h->cfg->n_mics; mic++) {
			config_console_name(h->cfg, mic, name, sizeof name);
			snprintf(want, sizeof want, "\"console\":\"%s\"", name);
			if (strstr(line, want)) {
				free(last[mic]);
				last[mic] = strdup(line);
			}
		}
	}
	for (mic = 0; mic < h->cfg->n_mics; mic++)
		if (last[mic]) {
			fn(h, mic, last[mic], arg);
			free(last[mic]);
			found++;
		}
	free(last);
	free(line);
	fclose(f);
	return found;
}

static void restore_one(struct hearing_log *h, int mic, const char *line, void *arg)
{
	exposure_tracker_restore(&h->tracker, mic, *(const int *)arg, number_after(line, "\"day_laeq_dba\":"),
				 number_after(line, "\"day_seconds\":"));
}

/* Today's last line per console, from the tail of the file. */
static void restore(struct hearing_log *h, int today)
{
	struct stat st;

	if (stat(h->path, &st) < 0)
		return;
	last_lines(h, today, st.st_size > RESTORE_TAIL_BYTES ? st.st_size - RESTORE_TAIL_BYTES : 0, restore_one,
		   &today);
}

static void write_day_one(struct hearing_log *h, int mic, const char *line, void *arg)
{
	struct json_writer *w = arg;
	char name[TOLK_ID_MAX + 16];
	double laeq = number_after(line, "\"day_laeq_dba\":"), seconds = number_after(line, "\"day_seconds\":");

	config_console_name(h->cfg, mic, name, sizeof name);
	jw_raw(w, w->len && w->buf[w->len - 1] == '[' ? "{" : ",{");
	jw_key(w, "console", 1);
	jw_string(w, name);
	jw_printf(w, ",\"seconds\":%.1f,\"laeq_dba\":%.3f,\"dose_percent\":%.6g,\"interventions\":%.0f,"
		     "\"backoffs\":%.0f}",
		  seconds, laeq, number_after(line, "\"dose_percent\":"),
		  number_after(line, "\"interventions\":"), number_after(line, "\"backoffs\":"));
}

int hearing_log_day(void *user, int day, struct json_writer *w)
{
	struct hearing_log *h = user;
	int ret;

	jw_raw(w, "[");
	ret = last_lines(h, day, 0, write_day_one, w);
	jw_raw(w, "]");
	return ret;
}

int hearing_log_open(struct hearing_log *h, const struct config *cfg, const struct router *router,
		     const struct insert_rack *rack, double rate, const char *dir,
		     void (*event)(void *user, const char *text), void *user, char *err, size_t errlen)
{
	int ret;

	memset(h, 0, sizeof *h);
	h->fd = -1;
	h->cfg = cfg;
	h->router = router;
	h->rack = rack;
	h->event = event;
	h->user = user;
	if ((ret = exposure_tracker_init(&h->tracker, cfg->n_mics, cfg->hearing.dbspl_at_0dbfs, rate)) < 0)
		goto fail_memory;
	h->consoles = calloc(cfg->n_mics ? (size_t)cfg->n_mics : 1, sizeof *h->consoles);
	h->totals = calloc(cfg->n_mics ? (size_t)cfg->n_mics : 1, sizeof *h->totals);
	if (!h->consoles || !h->totals) {
		ret = -ENOMEM;
		goto fail_memory;
	}
	/* The day so far, from a previous run, before this run appends. */
	snprintf(h->path, sizeof h->path, "%s/exposure.jsonl", dir);
	restore(h, hearing_local_day(utc_now_ms()));
	h->fd = log_file_open(dir, "exposure.jsonl", h->path, sizeof h->path, err, errlen);
	if (h->fd < 0) {
		ret = h->fd;
		goto fail;
	}
	return 0;

fail_memory:
	snprintf(err, errlen, "out of memory");
fail:
	hearing_log_close(h);
	return ret;
}

static void write_minute(struct hearing_log *h, int64_t now_ms)
{
	char when[UTC_ISO_MAX], name[TOLK_ID_MAX + 16];
	struct json_writer w;
	int mic;

	utc_iso_ms(now_ms, when);
	jw_init(&w);
	for (mic = 0; mic < h->cfg->n_mics; mic++) {
		const struct exposure_console *c = &h->tracker.c[mic];
		double minute = exposure_take_minute(&h->tracker, mic);

		config_console_name(h->cfg, mic, name, sizeof name);
		jw_printf(&w, "{\"time\":\"%s\",\"console\":", when);
		jw_string(&w, name);
		jw_printf(&w, ",\"day\":\"%04d-%02d-%02d\",\"minute_laeq_dba\":%.2f,\"day_laeq_dba\":%.3f,"
			      "\"day_seconds\":%.1f,\"dose_percent\":%.6g,\"limiter\":{\"interventions\":%.0f,"
			      "\"backoffs\":%.0f,\"backoff\":%s,\"backoff_left_s\":%.0f}}\n",
			  c->day / 10000, c->day / 100 % 100, c->day % 100, minute,
			  exposure_leq_db(c->day_energy, c->day_seconds, h->tracker.calibration), c->day_seconds,
			  exposure_dose_percent(c->day_energy, h->tracker.calibration), h->consoles[mic].interventions,
			  h->consoles[mic].backoffs, h->consoles[mic].backoff ? "true" : "false",
			  h->consoles[mic].backoff_left_s);
	}
	if (!w.failed && h->fd >= 0 && write(h->fd, w.buf, w.len) != (ssize_t)w.len)
		h->event(h->user, "exposure.jsonl: write failed; the exposure log is incomplete");
	jw_free(&w);
}

/* The limiter's monitors, turned into events: back-offs and sustained
 * limits at once, interventions summed up at most every 10 s. */
static void watch_limiters(struct hearing_log *h, int64_t now_ms)
{
	const struct cfg_hearing *hr = &h->cfg->hearing;
	char name[TOLK_ID_MAX + 16], text[EVENT_TEXT_MAX];
	int mic;

	for (mic = 0; mic < h->cfg->n_mics; mic++) {
		struct hearing_console *c = &h->consoles[mic];
		const int phones = rack_chain_index(h->rack, CHAIN_PHONES, mic);
		float interventions = rack_last_monitor(h->rack, phones, "interventions");
		float backoffs = rack_last_monitor(h->rack, phones, "backoffs");
		int sustained = rack_last_monitor(h->rack, phones, "sustained") > 0;
		int backoff = rack_last_monitor(h->rack, phones, "backoff") > 0;
		float left = rack_last_monitor(h->rack, phones, "backoff_left_s");
		float depth = rack_last_monitor(h->rack, phones, "reduction_db");

		config_console_name(h->cfg, mic, name, sizeof name);
		if (interventions > c->interventions) {
			c->pending += interventions - c->interventions;
			c->interventions = interventions;
		}
		if (depth > c->deepest_db)
			c->deepest_db = depth;
		if (c->pending > 0 && now_ms - c->last_told_ms >= HEARING_EVENT_MIN_MS) {
			snprintf(text, sizeof text, "limiter %s: %.0f intervention(s), deepest %.1f dB", name,
				 c->pending, c->deepest_db);
			h->event(h->user, text);
			c->pending = 0;
			c->deepest_db = 0;
			c->last_told_ms = now_ms;
		}
		if (sustained != c->sustained) {
			if (sustained) {
				snprintf(text, sizeof text, "limiter %s: above %g dB SPL for %g ms: limit lowered to %g dB SPL",
					 name, hr->sustained_dbspl, hr->sustained_ms, hr->sustained_dbspl);
				h->event(h->user, text);
			}
			c->sustained = sustained;
		}
		if (backoffs > c->backoffs) {
			snprintf(text, sizeof text, "hearing %s: 1-minute average above %g dB SPL: warning beeps, "
				 "everything at the ear %g dB lower for %g min", name, hr->average_dbspl, hr->backoff_db,
				 hr->backoff_minutes);
			h->event(h->user, text);
			c->backoffs = backoffs;
		}
		if (c->backoff && !backoff) {
			snprintf(text, sizeof text, "hearing %s: back-off over, gain restored", name);
			h->event(h->user, text);
		}
		c->backoff = backoff;
		c->backoff_left_s = backoff ? left : 0.0f;
	}
}

void hearing_log_tick(struct hearing_log *h, int64_t now_ms)
{
	uint64_t frames;

	if (!h->tracker.c)
		return;
	if (h->rack)
		watch_limiters(h, now_ms);
	if (now_ms < h->next_second_ms)
		return;
	h->next_second_ms = now_ms + 1000;
	frames = router_exposure(h->router, h->totals);
	exposure_tracker_update(&h->tracker, h->totals, frames, hearing_local_day(now_ms));
	if (!h->next_minute_ms)
		h->next_minute_ms = now_ms + 60000;
	if (now_ms >= h->next_minute_ms) {
		h->next_minute_ms += 60000;
		write_minute(h, now_ms);
	}
}

void hearing_log_close(struct hearing_log *h)
{
	if (!h->cfg)
		return; /* never opened */
	if (h->fd >= 0) {
		/* The part-minute since the last line is not lost either. */
		if (h->tracker.c && h->router) {
			uint64_t frames = router_exposure(h->router, h->totals);
			exposure_tracker_update(&h->tracker, h->totals, frames, hearing_local_day(utc_now_ms()));
			write_minute(h, utc_now_ms());
		}
		close(h->fd);
	}
	exposure_tracker_free(&h->tracker);
	free(h->consoles);
	free(h->totals);
	memset(h, 0, sizeof *h);
	h->fd = -1;
}
