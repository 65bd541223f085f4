/* systemd's service protocol (sd_notify): READY=1 once the ports are up,
 * STATUS= a one-line summary when it changes, WATCHDOG=1 from the control
 * loop, STOPPING=1 at the end. Outside systemd (no NOTIFY_SOCKET) every
 * call is a no-op.
 *
 * The watchdog proves both loops: it is sent from the control loop, and
 * only when the process callback has run since the last one, so a stalled
 * callback (a server that stopped calling it without saying so, a hung
 * realtime thread) stops the pings and systemd restarts the room. While
 * the server is known to be gone (jack-down, waiting to reconnect) the
 * control loop alone answers for the engine: restarting would not bring
 * the server back. Thread: control. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "core/thread_role.h"
#include "core/utc_time.h"
#include "engine.h"

#define STATUS_EVERY_MS 1000

void service_init(struct engine *e)
{
	struct service_notify *s = &e->service;
	uint64_t usec = 0;

	ASSERT_THREAD(THREAD_CONTROL);
	memset(s, 0, sizeof *s);
	s->enabled = getenv("NOTIFY_SOCKET") != NULL;
	if (s->enabled && sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
		s->ping_every_ms = (int64_t)(usec / 2000); /* twice per period, as sd_watchdog_enabled(3) advises */
}

/* The summary: the room, JACK, the recording, the consoles, the alarms. */
static void summary(struct engine *e, char *buf, size_t len)
{
	const char *rec = "recording off";
	char recbuf[TOLK_MEETING_MAX + 32];
	int b, live = 0, alarms = alarm_active_count(&e->alarms);

	if (e->opt && e->opt->no_record)
		rec = "recording disabled (--no-record)";
	else if (e->audio_up && e->au->rec) {
		char meeting[TOLK_MEETING_MAX];
		int segment = 0;
		if (recorder_running(e->au->rec, meeting, sizeof meeting, &segment)) {
			snprintf(recbuf, sizeof recbuf, "recording %s", meeting);
			rec = recbuf;
		} else if (!strcmp(recorder_state_name(e->au->rec), "failed"))
			rec = "RECORDING FAILED";
	} else if (e->resume_recording)
		rec = "recording waits for JACK";
	for (b = 0; b < e->cfg->n_booths; b++)
		live += e->state.booths[b].live > 0;
	snprintf(buf, len, "%s: %s, %s, %d console(s) live, %d alarm(s)", e->cfg->room,
		 e->audio_up ? "JACK up" : "JACK DOWN", rec, live, alarms);
}

void service_tick(struct engine *e)
{
	struct service_notify *s = &e->service;
	const int64_t now = utc_now_ms();
	char status[sizeof s->status];

	ASSERT_THREAD(THREAD_CONTROL);
	if (!s->enabled)
		return;
	if (now >= s->next_status_ms) {
		summary(e, status, sizeof status);
		if (!s->ready && e->audio_up) {
			/* the ports are registered and the client active */
			sd_notifyf(0, "READY=1\nSTATUS=%s", status);
			s->ready = 1;
			snprintf(s->status, sizeof s->status, "%s", status);
		} else if (strcmp(status, s->status)) {
			sd_notifyf(0, "STATUS=%s", status);
			snprintf(s->status, sizeof s->status, "%s", status);
		}
		s->next_status_ms = now + STATUS_EVERY_MS;
	}
	if (s->ping_every_ms && now >= s->next_ping_ms) {
		uint64_t cycles = atomic_load_explicit(&e->jack.cycles.cycles, memory_order_acquire);
		if (!e->audio_up || cycles != s->cycles_seen) {
			sd_notify(0, "WATCHDOG=1");
			s->cycles_seen = cycles;
			s->last_ping_ms = now;
			s->next_ping_ms = now + s->ping_every_ms;
			s->stall_told = 0;
		} else if (!s->stall_told) {
			log_line("ALARM: the process callback has not run for %lld ms while the JACK server is up: "
				 "the watchdog is not fed", (long long)(now - s->last_ping_ms));
			s->stall_told = 1;
		}
	}
}

void service_stopping(struct engine *e)
{
	ASSERT_THREAD(THREAD_CONTROL);
	if (e->service.enabled)
		sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}
