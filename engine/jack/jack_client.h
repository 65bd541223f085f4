/* The thin shell between JACK and the pure core: ports, the process
 * callback, start-up connections and server-loss notification. */
#ifndef TOLK_JACK_CLIENT_H
#define TOLK_JACK_CLIENT_H

#include <jack/jack.h>
#include <pthread.h>
#include <stdatomic.h>

#include "../core/xrun_log.h"
#include "../core/capture.h"
#include "../core/midi_map.h"
#include "../core/ring.h"
#include "../core/config.h"
#include "../core/cycle_stats.h"
#include "../core/router.h"
#include "../core/snapshot.h"

#define JACK_SHELL_TAPS 4

/* What the process callback works with: one room's ports, router and
 * captures. A reload builds a new plan beside the running one and
 * switches to it with one atomic store; ports both plans name are the
 * same JACK ports, so their connections stay. */
struct rt_plan {
	const struct config *cfg;
	struct router *router;
	struct snapshot_exchange *exchange;
	jack_port_t **inputs;
	jack_port_t **outputs;
	const float **in_buf; /* per-cycle buffer pointers, preallocated */
	float **out_buf;
	int n_inputs, n_outputs;
	/* Captures fed every cycle: the recorder's, the loudness meter's, the pre-roll's, RTP's. */
	struct {
		struct capture *capture;
		const int *source;   /* per channel: output index, or -(input + 1) */
		const float **buf;   /* per-cycle pointers, preallocated */
	} taps[JACK_SHELL_TAPS];
	int n_taps;
	/* MIDI consoles: their ports, and the mic each belongs to. */
	int n_midi;
	int *midi_mic;
	jack_port_t **midi_in, **midi_out;
	void **midi_out_buf; /* per-cycle, preallocated */
};

#define JACK_SHELL_MIDI_RING 4096 /* bytes each way: 512 events */
#define JACK_SHELL_MIDI_PER_CYCLE 64 /* events read or written per port and cycle, at most */

struct jack_shell {
	jack_client_t *client;
	/* The plan in force: written by the control thread only, under
	 * plan_lock, which JACK's notification thread (the latency callback)
	 * holds while it reads the plan's ports, config and rack. The control
	 * thread never holds it across a call into libjack, which may wait for
	 * that very callback. */
	pthread_mutex_t plan_lock;
	struct rt_plan *plan;
	_Atomic(struct rt_plan *) rt_plan; /* what the next cycle runs */
	_Atomic(struct rt_plan *) rt_done; /* what the last finished cycle ran */
	int active;
	int wake_fd;                 /* written when the server goes away or ports change */
	_Atomic int server_gone;
	_Atomic int ports_changed;   /* a port came or went: connect: entries to re-check */
	_Atomic uint64_t frame_end;  /* the JACK frame after the last cycle, for after the server is gone */
	/* The watchdog's readings, written by each cycle: when it began
	 * (CLOCK_MONOTONIC, ns) and its length in frames. */
	_Atomic uint64_t last_cycle_ns;
	_Atomic uint32_t last_period;
	uint32_t rate;               /* the server's, read at open */
	char server_name[128];       /* for the watchdog's look at its socket */
	uint64_t last_probe_ns;      /* when the watchdog last looked; control thread */
	signed char *linked;         /* per connect: entry: 1 made, 0 not (yet), -1 never tried */
	struct xrun_log xruns;  /* written by the xrun callback only */
	/* MIDI consoles: events in (realtime thread writes, control thread
	 * reads) and LED feedback out (the other way), struct midi_msg each. */
	struct ring midi_in, midi_out;
	_Atomic uint32_t midi_dropped; /* events the in ring had no room for */
	struct cycle_stats cycles;   /* how long each process callback takes */
	char shutdown_reason[256];   /* written before server_gone is set */
};

/* Open the client (never starting a server), register every port.
 * Returns 0, or a negative errno with a message in err. Thread: control. */
int jack_shell_open(struct jack_shell *js, const struct config *cfg, const char *client_name,
		    const char *server_name, int wake_fd, char *err, size_t errlen);

/* Hold back libjack's own messages (1) or let them through (0). Thread: control. */
void jack_shell_quiet(int quiet);
/* libjack's messages, as "jack: ..." lines, to this log (any thread). */
void jack_shell_log_to(void (*log)(const char *line));

/* Thread: control. */
uint32_t jack_shell_sample_rate(const struct jack_shell *js);

/* Before jack_shell_start: feed these channels to a capture every cycle.
 * sources[] stays the caller's. Returns 0, -ENOSPC or -ENOMEM. Thread: control. */
int jack_shell_add_capture(struct jack_shell *js, struct capture *capture, const int *sources);

/* A reload, control thread. A plan for cfg: the ports the running plan
 * has under the same names are reused, new ones registered. NULL with a
 * message in err. Thread: control. */
struct rt_plan *jack_shell_plan(struct jack_shell *js, const struct config *cfg, struct router *router,
				struct snapshot_exchange *exchange, char *err, size_t errlen);
/* Thread: control. */
int jack_shell_plan_add_capture(struct rt_plan *plan, struct capture *capture, const int *sources);
/* Port by port, the running plan's input and output under the same name
 * in plan (-1 when new). in_map has plan->n_inputs entries, out_map
 * plan->n_outputs. Thread: control. */
void jack_shell_plan_map(const struct jack_shell *js, const struct rt_plan *plan, int *in_map, int *out_map);
/* Drops a plan that was never switched to (its new ports go). Thread: control. */
void jack_shell_plan_discard(struct jack_shell *js, struct rt_plan *plan);
/* Makes plan the one in force and waits (at most timeout_ms) until the
 * realtime thread has run a cycle with it; then the old plan's ports that
 * plan does not name are unregistered, the old plan freed, connect:
 * entries of plan->cfg made, and latencies recomputed. Returns 0 (the old
 * router, exchange and captures are no longer seen by the realtime thread
 * and may go), or -ETIMEDOUT (the realtime thread did not run: nothing of
 * the old plan may be freed). Thread: control. */
int jack_shell_switch(struct jack_shell *js, struct rt_plan *plan, int timeout_ms,
		      void (*note)(void *user, const char *line), void *user);

/* JACK's clock now, in microseconds: what capture blocks' usecs are
 * measured on. Thread: any. */
uint64_t jack_shell_clock_us(void);
/* The current JACK frame, for timeline events from the control thread. Thread: control. */
uint64_t jack_shell_frame_now(const struct jack_shell *js);

/* Activate with the router and exchange ready, then make the connect:
 * entries. A connection that fails is reported through warn, not fatal:
 * jack_shell_relink makes it when its port appears. Thread: control. */
int jack_shell_start(struct jack_shell *js, struct router *router,
		     struct snapshot_exchange *exchange,
		     void (*warn)(void *user, const char *line), void *user);

/* Control thread, after ports_changed: makes every connect: entry that is
 * missing (a port that appeared late, or came back), and tells `note` of
 * each connection made or lost since the last call. Thread: control. */
void jack_shell_relink(struct jack_shell *js, void (*note)(void *user, const char *line), void *user);

/* The watchdog: a server that stops calling the process callback without
 * telling (PipeWire's libjack never calls the shutdown callback) is taken
 * as gone once no cycle has begun for JACK_SHELL_STALL_PERIODS periods or
 * JACK_SHELL_STALL_MIN_MS, whichever is longer, and its socket refuses
 * a connection (a server that is there but stopped or waiting still takes
 * one: that stall is the alarms' and systemd's watchdog's business, and
 * Tolk waits). Armed by the client's first cycle; looks once a second.
 * Sets server_gone with the reason and returns 1 then; 0 otherwise.
 * Thread: control. */
#define JACK_SHELL_STALL_PERIODS 10
#define JACK_SHELL_STALL_MIN_MS 200
int jack_shell_check_stall(struct jack_shell *js);

/* Patchbays' names: every port of the plan in force gets JACK metadata
 * pretty-name and order (config_port_label), the client the meeting's
 * name. jack_shell_start and jack_shell_switch call it; a port that goes
 * loses its properties. Thread: control. */
void jack_shell_describe(struct jack_shell *js);

/* Thread: control. */
void jack_shell_close(struct jack_shell *js);

#endif
