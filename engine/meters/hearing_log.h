/* Hearing protection, as the technician and the archive see it: each
 * console's noise exposure (folded in every second from the realtime
 * sums, appended to exposure.jsonl every minute, carried over a restart
 * within the same day), and the hearing limiter's interventions, sustained
 * limits and back-offs, turned into events. Control thread. */
#ifndef TOLK_HEARING_LOG_H
#define TOLK_HEARING_LOG_H

#include <stdint.h>

#include "../core/config.h"
#include "../core/exposure.h"
#include "../core/insert_rack.h"
#include "../core/router.h"

#define HEARING_EVENT_MIN_MS 10000 /* intervention summaries, per console */

struct hearing_console {
	float interventions, backoffs;  /* as last seen */
	int sustained, backoff;
	float backoff_left_s;           /* of the back-off in force, 0 when none */
	float deepest_db;               /* since the last summary */
	float pending;                  /* interventions not yet told */
	int64_t last_told_ms;
};

struct hearing_log {
	const struct config *cfg;
	const struct router *router;
	const struct insert_rack *rack;
	struct exposure_tracker tracker;
	struct hearing_console *consoles;
	double *totals;
	int fd;                 /* exposure.jsonl, or -1 */
	char path[4200];
	int64_t next_second_ms, next_minute_ms;
	void (*event)(void *user, const char *text);
	void *user;
};

/* dir: where exposure.jsonl goes. Today's lines already there are carried
 * over. Returns 0 or a negative errno with a message. Thread: control. */
int hearing_log_open(struct hearing_log *h, const struct config *cfg, const struct router *router,
		     const struct insert_rack *rack, double rate, const char *dir,
		     void (*event)(void *user, const char *text), void *user, char *err, size_t errlen);

/* Ten times a second or so. Thread: control. */
void hearing_log_tick(struct hearing_log *h, int64_t now_ms);

/* Thread: control. */
void hearing_log_close(struct hearing_log *h);

/* A past day from exposure.jsonl: a JSON list of each console's last
 * line for day (YYYYMMDD). user is the hearing_log. Returns how many
 * consoles it found, or -errno. */
struct json_writer;
/* Thread: control. */
int hearing_log_day(void *user, int day, struct json_writer *w);

/* Local calendar day as YYYYMMDD. Thread: any. */
int hearing_local_day(int64_t utc_ms);

#endif
