#include "jack_client.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include <jack/metadata.h>
#include <jack/midiport.h>
#include <jack/uuid.h>

#include "../core/thread_role.h"

static _Atomic int quiet_errors;
static void (*_Atomic jack_log)(const char *line);

/* libjack reports on stderr; while Tolk waits for a server to come back,
 * one failed attempt a second is not news. Through the engine's log when
 * it gave one, so that the journal reads the line's priority. */
static void on_jack_error(const char *msg)
{
	void (*log)(const char *line) = atomic_load(&jack_log);
	char line[512];

	if (atomic_load(&quiet_errors))
		return;
	snprintf(line, sizeof line, "jack: %s", msg);
	if (log)
		log(line);
	else
		fprintf(stderr, "%s\n", line);
}

void jack_shell_log_to(void (*log)(const char *line))
{
	atomic_store(&jack_log, log);
}

void jack_shell_quiet(int quiet)
{
	ASSERT_THREAD(THREAD_CONTROL);
	jack_set_error_function(on_jack_error);
	jack_set_info_function(on_jack_error);
	atomic_store(&quiet_errors, quiet);
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC is vDSO; the thread's CPU clock is a short system
	 * call that never blocks, twice a cycle, so that a cycle preempted
	 * by someone else is not counted as tolk's overrun. */
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The consoles' MIDI: every event in goes to the control thread as a
 * fixed-size message; the LED feedback the control thread queued goes
 * out. Bounded per port and cycle; no allocation, no lock. */
static void realtime_midi(struct jack_shell *js, struct rt_plan *p, jack_nframes_t frames)
{
	struct midi_msg m;
	uint32_t e, count;
	int k;

	for (k = 0; k < p->n_midi; k++) {
		void *in = jack_port_get_buffer(p->midi_in[k], frames);
		count = jack_midi_get_event_count(in);
		for (e = 0; e < count && e < JACK_SHELL_MIDI_PER_CYCLE; e++) {
			jack_midi_event_t ev;
			if (jack_midi_event_get(&ev, in, e) || ev.size < 2 || ev.size > 3)
				continue;
			m = (struct midi_msg){ .mic = (int16_t)p->midi_mic[k], .status = ev.buffer[0], .data1 = ev.buffer[1],
					       .data2 = ev.size > 2 ? ev.buffer[2] : 0 };
			if (!ring_write(&js->midi_in, &m, sizeof m))
				atomic_fetch_add_explicit(&js->midi_dropped, 1, memory_order_relaxed);
		}
		p->midi_out_buf[k] = jack_port_get_buffer(p->midi_out[k], frames);
		jack_midi_clear_buffer(p->midi_out_buf[k]);
	}
	for (e = 0; e < JACK_SHELL_MIDI_PER_CYCLE && ring_read(&js->midi_out, &m, sizeof m); e++)
		for (k = 0; k < p->n_midi; k++)
			if (p->midi_mic[k] == m.mic) {
				const jack_midi_data_t bytes[3] = { m.status, m.data1, m.data2 };
				jack_midi_event_write(p->midi_out_buf[k], 0, bytes, 3);
			}
}

static int on_process(jack_nframes_t frames, void *arg)
{
	struct jack_shell *js = arg;
	const uint64_t start = clock_ns(CLOCK_MONOTONIC), cpu_start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	struct rt_plan *p = atomic_load_explicit(&js->rt_plan, memory_order_acquire);
	struct snapshot *s;
	jack_nframes_t cycle_frame;
	jack_time_t cycle_usecs = 0, next_usecs;
	float period_usecs;
	int i, t;

	ASSERT_THREAD(THREAD_RT);
	if (p->n_midi)
		realtime_midi(js, p, frames);
	for (i = 0; i < p->n_inputs; i++)
		p->in_buf[i] = jack_port_get_buffer(p->inputs[i], frames);
	for (i = 0; i < p->n_outputs; i++)
		p->out_buf[i] = jack_port_get_buffer(p->outputs[i], frames);
	s = exchange_rt_begin(p->exchange);
	router_process(p->router, s, p->in_buf, p->out_buf, frames);
	exchange_rt_end(p->exchange);
	/* When this period's first frame began, on JACK's clock: the
	 * recorder turns it into the UTC time of a segment's first sample. */
	if (p->n_taps && jack_get_cycle_times(js->client, &cycle_frame, &cycle_usecs, &next_usecs, &period_usecs) != 0)
		cycle_usecs = 0;
	for (t = 0; t < p->n_taps; t++) {
		struct capture *c = p->taps[t].capture;
		for (i = 0; i < c->n_channels; i++) {
			int src = p->taps[t].source[i];
			p->taps[t].buf[i] = src >= 0 ? p->out_buf[src] : p->in_buf[-src - 1];
		}
		capture_push(c, p->taps[t].buf, frames, jack_last_frame_time(js->client), cycle_usecs);
	}
#ifdef TOLK_RT_INJECT_MALLOC
	{
		/* test/rtguard's own test: a build that breaks the rule, to show
		 * that the guard sees it. Never in a real build. */
		static void *volatile leak;
		free(leak);
		leak = malloc(16);
	}
#endif
	atomic_store_explicit(&js->frame_end, (uint64_t)jack_last_frame_time(js->client) + frames,
			      memory_order_relaxed);
	atomic_store_explicit(&js->last_period, frames, memory_order_relaxed);
	atomic_store_explicit(&js->last_cycle_ns, start, memory_order_relaxed);
	cycle_stats_add(&js->cycles, clock_ns(CLOCK_MONOTONIC) - start, clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start,
			frames);
	atomic_store_explicit(&js->rt_done, p, memory_order_release);
	return 0;
}

/* What Tolk adds to each port's latency: distribution outputs the padded
 * channel latency; phones their chain after the floor (min) or a relayed
 * channel (max). JACK adds it to what comes before (or after) us. */
static void added_latency(const struct rt_plan *p, int output, jack_latency_range_t *r)
{
	const struct insert_rack *k = p->router->rack;
	const uint32_t channel = k ? k->mic_latency + k->output_latency : 0;
	int phone = output - config_output_of_phones(p->cfg, 0);

	r->min = r->max = channel;
	if (k && phone >= 0) {
		uint32_t chain = rack_chain_delay(k, rack_chain_index(k, CHAIN_PHONES, phone));
		r->min = k->mic_latency + chain;
		r->max = channel + chain;
	}
}

/* Thread: JACK's notification thread. It reads the plan in force under
 * plan_lock, never the one the realtime thread is about to run: a reload
 * frees the old plan, its ports, config and rack once the switch is made,
 * and this callback may run at any moment around it. */
static void on_latency(jack_latency_callback_mode_t mode, void *arg)
{
	struct jack_shell *js = arg;
	const struct rt_plan *p;
	jack_latency_range_t up = { UINT32_MAX, 0 }, range, add;
	int i;

	thread_role_adopt(THREAD_JACK_NOTIFY);
	pthread_mutex_lock(&js->plan_lock);
	p = js->plan;
	if (!p || !p->router)
		goto out;

	if (mode == JackCaptureLatency) {
		for (i = 0; i < p->n_inputs; i++) {
			jack_port_get_latency_range(p->inputs[i], JackCaptureLatency, &range);
			up.min = range.min < up.min ? range.min : up.min;
			up.max = range.max > up.max ? range.max : up.max;
		}
		if (up.min > up.max)
			up.min = up.max;
		for (i = 0; i < p->n_outputs; i++) {
			added_latency(p, i, &add);
			range.min = up.min + add.min;
			range.max = up.max + add.max;
			jack_port_set_latency_range(p->outputs[i], JackCaptureLatency, &range);
		}
	} else {
		jack_latency_range_t most = { 0, 0 };
		/* Only the distribution outputs: the phones path (its chain,
		 * the hearing limiter's lookahead) is said once, on the phones'
		 * capture latency. On the inputs' playback latency it would reach
		 * every path from a mic, and a round-trip tool measuring the
		 * distribution path would count what only the headphones have. */
		const int n_distribution = config_output_of_phones(p->cfg, 0);
		for (i = 0; i < n_distribution && i < p->n_outputs; i++) {
			jack_port_get_latency_range(p->outputs[i], JackPlaybackLatency, &range);
			added_latency(p, i, &add);
			if (i == 0 || range.min + add.min < most.min)
				most.min = range.min + add.min;
			if (range.max + add.max > most.max)
				most.max = range.max + add.max;
		}
		for (i = 0; i < p->n_inputs; i++)
			jack_port_set_latency_range(p->inputs[i], JackPlaybackLatency, &most);
	}
out:
	pthread_mutex_unlock(&js->plan_lock);
}

static void on_thread_init(void *arg)
{
	struct jack_shell *js = arg;
	(void)js;
	thread_role_set(THREAD_RT);
	/* Named for top -H, perf and make bench's CPU by thread. JACK calls
	 * this in each of its threads of ours, before any is realtime; the
	 * process callback's is renamed tolk-rt once it runs (jack_shell_start). */
	pthread_setname_np(pthread_self(), "tolk-jack");
#if defined(__SSE__) || defined(__x86_64__)
	/* Denormals cost a hundred times a normal multiply; flush them. */
	_mm_setcsr(_mm_getcsr() | 0x8040);
#endif
}

static int on_xrun(void *arg)
{
	struct jack_shell *js = arg;

	thread_role_adopt(THREAD_JACK_NOTIFY);
	/* The frame JACK is at now: within a period or two of the one lost. */
	xrun_log_add(&js->xruns, js->client ? jack_frame_time(js->client) : 0);
	return 0;
}

static void wake_control(struct jack_shell *js)
{
	ssize_t ignored;

	if (js->wake_fd >= 0) {
		ignored = write(js->wake_fd, "x", 1); /* a full pipe is awake already */
		(void)ignored;
	}
}

static void on_shutdown(jack_status_t code, const char *reason, void *arg)
{
	struct jack_shell *js = arg;

	thread_role_adopt(THREAD_JACK_NOTIFY);
	if (atomic_load(&js->server_gone))
		return; /* told already, by the other callback */
	snprintf(js->shutdown_reason, sizeof js->shutdown_reason, "%s (status 0x%x)",
		 reason ? reason : "no reason given", (unsigned)code);
	atomic_store(&js->server_gone, 1);
	wake_control(js);
}

/* PipeWire's libjack (0.3.65, Debian 12) calls only this one, the
 * callback without a reason; jackd2 calls on_shutdown. */
static void on_shutdown_plain(void *arg)
{
	on_shutdown(JackServerError, "the server closed the connection", arg);
}

/* JACK's notification thread: jack_connect may not be called from here,
 * so the control thread is told to look. */
static void on_port_registration(jack_port_id_t port, int registered, void *arg)
{
	struct jack_shell *js = arg;

	(void)port;
	(void)registered;
	thread_role_adopt(THREAD_JACK_NOTIFY);
	atomic_store(&js->ports_changed, 1);
	wake_control(js);
}

static void on_port_connect(jack_port_id_t a, jack_port_id_t b, int connected, void *arg)
{
	(void)a;
	(void)b;
	if (!connected)
		on_port_registration(0, 0, arg);
}

int jack_shell_open(struct jack_shell *js, const struct config *cfg, const char *client_name,
		    const char *server_name, int wake_fd, char *err, size_t errlen)
{
	jack_options_t opts = JackNoStartServer | JackUseExactName;
	jack_status_t status = 0;
	int ret;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!js || !cfg || !client_name)
		return -EINVAL;
	memset(js, 0, sizeof *js);
	pthread_mutex_init(&js->plan_lock, NULL);
	js->wake_fd = wake_fd;
	atomic_init(&js->server_gone, 0);
	atomic_init(&js->ports_changed, 0);
	atomic_init(&js->frame_end, 0);
	atomic_init(&js->last_cycle_ns, 0);
	atomic_init(&js->last_period, 0);
	atomic_init(&js->xruns.count, 0);
	cycle_stats_init(&js->cycles);
	atomic_init(&js->midi_dropped, 0);
	if (ring_alloc(&js->midi_in, JACK_SHELL_MIDI_RING) < 0 || ring_alloc(&js->midi_out, JACK_SHELL_MIDI_RING) < 0) {
		snprintf(err, errlen, "out of memory");
		ring_free(&js->midi_in);
		ring_free(&js->midi_out);
		return -ENOMEM;
	}
	if (server_name)
		opts |= JackServerName;
	js->client = server_name ? jack_client_open(client_name, opts, &status, server_name)
				 : jack_client_open(client_name, opts, &status);
	if (!js->client) {
		if (status & JackNameNotUnique)
			snprintf(err, errlen, "a JACK client named '%s' already exists (use --name)",
				 client_name);
		else
			snprintf(err, errlen, "cannot reach JACK server '%s' (status 0x%x)",
				 server_name ? server_name : (getenv("JACK_DEFAULT_SERVER")
								      ? getenv("JACK_DEFAULT_SERVER")
								      : "default"),
				 (unsigned)status);
		ring_free(&js->midi_in);
		ring_free(&js->midi_out);
		return -ECONNREFUSED;
	}
	js->rate = jack_get_sample_rate(js->client);
	snprintf(js->server_name, sizeof js->server_name, "%s",
		 server_name ? server_name : getenv("JACK_DEFAULT_SERVER") ? getenv("JACK_DEFAULT_SERVER") : "default");
	cycle_stats_set_rate(&js->cycles, js->rate);
	js->plan = jack_shell_plan(js, cfg, NULL, NULL, err, errlen);
	if (!js->plan) {
		ret = -EIO;
		goto fail_close;
	}
	atomic_init(&js->rt_plan, js->plan);
	atomic_init(&js->rt_done, NULL);
	js->linked = malloc((size_t)cfg->n_connects + 1);
	if (!js->linked) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail_close;
	}
	memset(js->linked, -1, (size_t)cfg->n_connects + 1);
	return 0;

fail_close:
	jack_shell_close(js);
	return ret;
}

static void plan_free(struct rt_plan *p)
{
	int i;

	if (!p)
		return;
	free(p->inputs);
	free(p->outputs);
	free(p->in_buf);
	free((void *)p->out_buf);
	free(p->midi_mic);
	free(p->midi_in);
	free(p->midi_out);
	free(p->midi_out_buf);
	for (i = 0; i < p->n_taps; i++)
		free(p->taps[i].buf);
	free(p);
}

/* The port the running plan has under this name and direction, or -1. */
static int port_index(const struct rt_plan *p, const char *name, int input)
{
	char have[TOLK_PORT_NAME_MAX];
	int i, n = input ? p->n_inputs : p->n_outputs;

	for (i = 0; i < n; i++) {
		if (input)
			config_input_name(p->cfg, i, have, sizeof have);
		else
			config_output_name(p->cfg, i, have, sizeof have);
		if (!strcmp(have, name))
			return i;
	}
	return -1;
}

/* A port of the running plan's MIDI consoles by name, or NULL. */
static jack_port_t *midi_port_of(const struct rt_plan *p, const char *name, int input)
{
	int k;

	for (k = 0; p && k < p->n_midi; k++) {
		jack_port_t *port = input ? p->midi_in[k] : p->midi_out[k];
		if (port && !strcmp(jack_port_short_name(port), name))
			return port;
	}
	return NULL;
}

/* midi_in_<booth>_<n> and midi_out_<booth>_<n> for every MIDI console:
 * the running plan's when they have the same name, else new ones. The
 * name of a port that could not be made is left in name. */
static int plan_midi(struct jack_shell *js, struct rt_plan *p, const struct config *cfg, char *name, size_t len)
{
	int mic, n, b, k = 0, dir;

	for (mic = 0; mic < cfg->n_mics; mic++)
		p->n_midi += config_midi_console(cfg, mic);
	if (!p->n_midi)
		return 0;
	p->midi_mic = calloc((size_t)p->n_midi, sizeof *p->midi_mic);
	p->midi_in = calloc((size_t)p->n_midi, sizeof *p->midi_in);
	p->midi_out = calloc((size_t)p->n_midi, sizeof *p->midi_out);
	p->midi_out_buf = calloc((size_t)p->n_midi, sizeof *p->midi_out_buf);
	if (!p->midi_mic || !p->midi_in || !p->midi_out || !p->midi_out_buf) {
		snprintf(name, len, "(out of memory)");
		return -ENOMEM;
	}
	for (mic = 0; mic < cfg->n_mics; mic++) {
		if (!config_midi_console(cfg, mic))
			continue;
		b = config_booth_of_mic(cfg, mic, &n);
		p->midi_mic[k] = mic;
		for (dir = 0; dir < 2; dir++) {
			jack_port_t **port = dir ? &p->midi_out[k] : &p->midi_in[k];
			snprintf(name, len, "midi_%s_%s_%d", dir ? "out" : "in", cfg->booths[b].id, n);
			*port = midi_port_of(js->plan, name, !dir);
			if (!*port)
				*port = jack_port_register(js->client, name, JACK_DEFAULT_MIDI_TYPE,
							   dir ? JackPortIsOutput : JackPortIsInput, 0);
			if (!*port)
				return -EIO;
		}
		k++;
	}
	return 0;
}

struct rt_plan *jack_shell_plan(struct jack_shell *js, const struct config *cfg, struct router *router,
				struct snapshot_exchange *exchange, char *err, size_t errlen)
{
	struct rt_plan *p = calloc(1, sizeof *p);
	char name[TOLK_PORT_NAME_MAX];
	int i, was;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!p)
		goto fail_memory;
	p->cfg = cfg;
	p->router = router;
	p->exchange = exchange;
	p->n_inputs = config_input_count(cfg);
	p->n_outputs = config_output_count(cfg);
	p->inputs = calloc((size_t)p->n_inputs + 1, sizeof *p->inputs);
	p->outputs = calloc((size_t)p->n_outputs + 1, sizeof *p->outputs);
	p->in_buf = calloc((size_t)p->n_inputs + 1, sizeof *p->in_buf);
	p->out_buf = calloc((size_t)p->n_outputs + 1, sizeof *p->out_buf);
	if (!p->inputs || !p->outputs || !p->in_buf || !p->out_buf)
		goto fail_memory;
	for (i = 0; i < p->n_inputs; i++) {
		config_input_name(cfg, i, name, sizeof name);
		was = js->plan ? port_index(js->plan, name, 1) : -1;
		p->inputs[i] = was >= 0 ? js->plan->inputs[was]
					: jack_port_register(js->client, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
		if (!p->inputs[i])
			goto fail_port;
	}
	for (i = 0; i < p->n_outputs; i++) {
		config_output_name(cfg, i, name, sizeof name);
		was = js->plan ? port_index(js->plan, name, 0) : -1;
		p->outputs[i] = was >= 0 ? js->plan->outputs[was]
					 : jack_port_register(js->client, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
		if (!p->outputs[i])
			goto fail_port;
	}
	if (plan_midi(js, p, cfg, name, sizeof name) < 0)
		goto fail_port;
	return p;

fail_port:
	snprintf(err, errlen, "cannot register JACK port %s", name);
	jack_shell_plan_discard(js, p);
	return NULL;
fail_memory:
	snprintf(err, errlen, "out of memory");
	plan_free(p);
	return NULL;
}

void jack_shell_plan_map(const struct jack_shell *js, const struct rt_plan *plan, int *in_map, int *out_map)
{
	int i, j;

	ASSERT_THREAD(THREAD_CONTROL);
	for (i = 0; i < plan->n_inputs; i++)
		for (in_map[i] = -1, j = 0; js->plan && j < js->plan->n_inputs; j++)
			if (js->plan->inputs[j] == plan->inputs[i])
				in_map[i] = j;
	for (i = 0; i < plan->n_outputs; i++)
		for (out_map[i] = -1, j = 0; js->plan && j < js->plan->n_outputs; j++)
			if (js->plan->outputs[j] == plan->outputs[i])
				out_map[i] = j;
}

static int plan_has(const struct rt_plan *p, const jack_port_t *port)
{
	int i;

	for (i = 0; p && i < p->n_inputs; i++)
		if (p->inputs[i] == port)
			return 1;
	for (i = 0; p && i < p->n_outputs; i++)
		if (p->outputs[i] == port)
			return 1;
	for (i = 0; p && i < p->n_midi; i++)
		if (p->midi_in[i] == port || p->midi_out[i] == port)
			return 1;
	return 0;
}

/* A port's pretty name and order for patchbays (JACK metadata). jackd2
 * keeps properties in a database that outlives the port, so they are
 * removed with it (forget_port). Thread: control. */
static void describe_port(struct jack_shell *js, const struct config *cfg, jack_port_t *port,
			  enum port_label_kind kind, int index)
{
	char pretty[2 * TOLK_PORT_NAME_MAX + 64], order[16];
	int at;

	if (!port || config_port_label(cfg, kind, index, pretty, sizeof pretty, &at) < 0)
		return;
	snprintf(order, sizeof order, "%d", at);
	jack_set_property(js->client, jack_port_uuid(port), JACK_METADATA_PRETTY_NAME, pretty, "text/plain");
	jack_set_property(js->client, jack_port_uuid(port), JACK_METADATA_ORDER, order,
			  "http://www.w3.org/2001/XMLSchema#integer");
}

/* The client's own uuid, for its pretty name; 0 when libjack has none. */
static jack_uuid_t client_uuid(jack_client_t *client)
{
	char *text = jack_get_uuid_for_client_name(client, jack_get_client_name(client));
	jack_uuid_t uuid = 0;

	if (text && jack_uuid_parse(text, &uuid) < 0)
		uuid = 0;
	jack_free(text);
	return uuid;
}

void jack_shell_describe(struct jack_shell *js)
{
	const struct rt_plan *p = js ? js->plan : NULL;
	char pretty[TOLK_MEETING_MAX + 16];
	jack_uuid_t me;
	int i;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!p || !js->client || atomic_load(&js->server_gone))
		return;
	for (i = 0; i < p->n_inputs; i++)
		describe_port(js, p->cfg, p->inputs[i], PORT_LABEL_INPUT, i);
	for (i = 0; i < p->n_outputs; i++)
		describe_port(js, p->cfg, p->outputs[i], PORT_LABEL_OUTPUT, i);
	for (i = 0; i < p->n_midi; i++) {
		describe_port(js, p->cfg, p->midi_in[i], PORT_LABEL_MIDI_IN, p->midi_mic[i]);
		describe_port(js, p->cfg, p->midi_out[i], PORT_LABEL_MIDI_OUT, p->midi_mic[i]);
	}
	me = client_uuid(js->client);
	snprintf(pretty, sizeof pretty, "Tolk: %s", p->cfg->meeting);
	if (me)
		jack_set_property(js->client, me, JACK_METADATA_PRETTY_NAME, pretty, "text/plain");
}

static void forget_port(struct jack_shell *js, jack_port_t *port)
{
	jack_remove_properties(js->client, jack_port_uuid(port));
}

/* Unregisters the ports of `from` that `keep` does not have, and their
 * properties first. */
static void drop_ports(struct jack_shell *js, const struct rt_plan *from, const struct rt_plan *keep)
{
	jack_port_t *const *lists[] = { from->inputs, from->outputs, from->midi_in, from->midi_out };
	const int counts[] = { from->n_inputs, from->n_outputs, from->n_midi, from->n_midi };
	size_t l;
	int i;

	for (l = 0; l < sizeof lists / sizeof lists[0]; l++)
		for (i = 0; i < counts[l]; i++)
			if (lists[l][i] && !plan_has(keep, lists[l][i])) {
				forget_port(js, lists[l][i]);
				jack_port_unregister(js->client, lists[l][i]);
			}
}

void jack_shell_plan_discard(struct jack_shell *js, struct rt_plan *plan)
{
	ASSERT_THREAD(THREAD_CONTROL);
	if (!plan)
		return;
	if (js->client && !atomic_load(&js->server_gone))
		drop_ports(js, plan, js->plan);
	plan_free(plan);
}

int jack_shell_plan_add_capture(struct rt_plan *p, struct capture *capture, const int *sources)
{
	ASSERT_THREAD(THREAD_CONTROL);
	if (p->n_taps == JACK_SHELL_TAPS)
		return -ENOSPC;
	p->taps[p->n_taps].buf = calloc((size_t)capture->n_channels + 1, sizeof *p->taps[0].buf);
	if (!p->taps[p->n_taps].buf)
		return -ENOMEM;
	p->taps[p->n_taps].source = sources;
	p->taps[p->n_taps].capture = capture;
	p->n_taps++;
	return 0;
}

int jack_shell_switch(struct jack_shell *js, struct rt_plan *plan, int timeout_ms,
		      void (*note)(void *user, const char *line), void *user)
{
	struct rt_plan *old = js->plan;
	signed char *linked;
	int waited = 0;

	ASSERT_THREAD(THREAD_CONTROL);
	atomic_store_explicit(&js->rt_plan, plan, memory_order_release);
	/* The old plan is done with once a cycle has run the new one: cycles
	 * run one after another on one thread. */
	while (atomic_load_explicit(&js->rt_done, memory_order_acquire) != plan) {
		struct timespec ms = { 0, 1000000 };
		if (waited++ >= timeout_ms || atomic_load(&js->server_gone))
			return -ETIMEDOUT;
		nanosleep(&ms, NULL);
	}
	/* From here on the latency callback sees the new plan, and no call of
	 * it can still be reading the old one. */
	pthread_mutex_lock(&js->plan_lock);
	js->plan = plan;
	pthread_mutex_unlock(&js->plan_lock);
	drop_ports(js, old, plan);
	plan_free(old);
	linked = malloc((size_t)plan->cfg->n_connects + 1);
	if (linked) {
		memset(linked, -1, (size_t)plan->cfg->n_connects + 1);
		free(js->linked);
		js->linked = linked;
	}
	jack_recompute_total_latencies(js->client);
	jack_shell_relink(js, note, user);
	jack_shell_describe(js);
	return 0;
}

uint32_t jack_shell_sample_rate(const struct jack_shell *js)
{
	ASSERT_THREAD(THREAD_CONTROL);
	return jack_get_sample_rate(js->client);
}

int jack_shell_add_capture(struct jack_shell *js, struct capture *capture, const int *sources)
{
	ASSERT_THREAD(THREAD_CONTROL);
	return jack_shell_plan_add_capture(js->plan, capture, sources);
}

uint64_t jack_shell_clock_us(void)
{
	/* Needs no client: JACK's clock, the one the process callback's
	 * cycle times are on. */
	return jack_get_time();
}

uint64_t jack_shell_frame_now(const struct jack_shell *js)
{
	ASSERT_THREAD(THREAD_CONTROL);
	if (!js->client)
		return 0;
	/* A client whose server is gone has no clock to ask. */
	if (atomic_load(&js->server_gone))
		return atomic_load_explicit(&js->frame_end, memory_order_relaxed);
	return jack_frame_time(js->client);
}

/* Makes one connect: entry if it is missing, and describes it in `what`.
 * Returns 1 connected, 0 not. */
static int link_one(struct jack_shell *js, const struct cfg_connect *c, char *what, size_t len)
{
	char ours[TOLK_PORT_NAME_MAX * 2 + 2];
	jack_port_t *port;
	int is_input, index, ret;

	if (config_find_port(js->plan->cfg, c->port, &is_input, &index) < 0)
		return 0; /* the loader refused such a name already */
	snprintf(what, len, "%s -> %s (line %d:%d)", is_input ? c->other : c->port, is_input ? c->port : c->other,
		 c->line, c->column);
	port = is_input ? js->plan->inputs[index] : js->plan->outputs[index];
	if (jack_port_connected_to(port, c->other))
		return 1;
	snprintf(ours, sizeof ours, "%s:%s", jack_get_client_name(js->client), c->port);
	ret = is_input ? jack_connect(js->client, c->other, ours) : jack_connect(js->client, ours, c->other);
	return ret == 0 || ret == EEXIST;
}

void jack_shell_relink(struct jack_shell *js, void (*note)(void *user, const char *line), void *user)
{
	char what[640], line[768];
	int i, now;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!js->client || !js->active || atomic_load(&js->server_gone))
		return;
	atomic_store(&js->ports_changed, 0);
	for (i = 0; i < js->plan->cfg->n_connects; i++) {
		what[0] = line[0] = '\0';
		now = link_one(js, &js->plan->cfg->connects[i], what, sizeof what);
		if (now && js->linked[i] == 0)
			snprintf(line, sizeof line, "connected %s", what);
		else if (!now && js->linked[i] == 1)
			snprintf(line, sizeof line, "connection lost: %s; it is made again when the port is back", what);
		else if (!now && js->linked[i] == -1)
			snprintf(line, sizeof line, "connect %s failed: is the port there? it is made when the port appears",
				 what);
		if (*line && note)
			note(user, line);
		js->linked[i] = (signed char)now;
	}
}

int jack_shell_start(struct jack_shell *js, struct router *router,
		     struct snapshot_exchange *exchange,
		     void (*warn)(void *user, const char *line), void *user)
{
	ASSERT_THREAD(THREAD_CONTROL);
	js->plan->router = router;
	js->plan->exchange = exchange;
	if (jack_set_process_callback(js->client, on_process, js) ||
	    jack_set_thread_init_callback(js->client, on_thread_init, js) ||
	    jack_set_xrun_callback(js->client, on_xrun, js) ||
	    jack_set_latency_callback(js->client, on_latency, js) ||
	    jack_set_port_registration_callback(js->client, on_port_registration, js) ||
	    jack_set_port_connect_callback(js->client, on_port_connect, js))
		return -EIO;
	jack_on_info_shutdown(js->client, on_shutdown, js);
	/* TOLK_JACK_INFO_SHUTDOWN_ONLY=1 leaves the plain callback out, as
	 * Tolk once did: under PipeWire only the watchdog then sees a server
	 * die, which is how test/integration/pipewire_test.sh tests it. */
	if (!getenv("TOLK_JACK_INFO_SHUTDOWN_ONLY"))
		jack_on_shutdown(js->client, on_shutdown_plain, js);
	/* The watchdog is armed by the first cycle: a server that takes the
	 * client but does not run it (a netjack slave whose master is away)
	 * is waited for, not left and joined again every second. */
	atomic_store(&js->last_cycle_ns, 0);
	if (jack_activate(js->client))
		return -EIO;
	js->active = 1;
	pthread_setname_np(jack_client_thread_id(js->client), "tolk-rt");
	jack_shell_relink(js, warn, user);
	jack_shell_describe(js);
	return 0;
}

/* Does something listen on this unix socket? 1 yes (a stopped server's
 * backlog takes the connection too), 0 no (refused: its process is
 * gone), -1 no such socket. Never blocks. */
static int socket_answers(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof addr.sun_path || access(path, F_OK) < 0)
		return -1;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1; /* cannot tell: taken as there */
	ret = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0 || errno == EAGAIN || errno == EINPROGRESS;
	close(fd);
	return ret;
}

/* Is the server still there, though it runs no cycle? jackd2 listens on
 * /dev/shm/jack_<server>_<uid>_0, PipeWire on $PIPEWIRE_RUNTIME_DIR or
 * $XDG_RUNTIME_DIR /pipewire-0 (or $PIPEWIRE_REMOTE). A server stopped or
 * waiting (SIGSTOP, a netjack master waiting for a slave) still takes a
 * connection; a dead one refuses, or its socket is gone. */
static int server_answers(const struct jack_shell *js)
{
	const char *dir = getenv("PIPEWIRE_RUNTIME_DIR"), *remote = getenv("PIPEWIRE_REMOTE");
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof path, "/dev/shm/jack_%s_%u_0", js->server_name, (unsigned)getuid());
	if ((ret = socket_answers(path)) >= 0)
		return ret;
	if (!dir || !*dir)
		dir = getenv("XDG_RUNTIME_DIR");
	if (!remote || !*remote)
		remote = "pipewire-0";
	if (*remote == '/')
		snprintf(path, sizeof path, "%s", remote);
	else
		snprintf(path, sizeof path, "%s/%s", dir ? dir : "/run/user", remote);
	return socket_answers(path) == 1;
}

int jack_shell_check_stall(struct jack_shell *js)
{
	uint64_t limit_ns, idle_ns, rate, now;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!js || !js->client || !js->active || atomic_load(&js->server_gone) || !atomic_load(&js->last_cycle_ns))
		return 0;
	/* The rate is read once at open: a server that changes it restarts,
	 * and a restart is a new client. */
	rate = js->rate ? js->rate : 48000;
	limit_ns = (uint64_t)JACK_SHELL_STALL_PERIODS * atomic_load(&js->last_period) * 1000000000u / rate;
	if (limit_ns < (uint64_t)JACK_SHELL_STALL_MIN_MS * 1000000u)
		limit_ns = (uint64_t)JACK_SHELL_STALL_MIN_MS * 1000000u;
	now = clock_ns(CLOCK_MONOTONIC);
	idle_ns = now - atomic_load(&js->last_cycle_ns);
	if (idle_ns <= limit_ns)
		return 0;
	/* Stalled: gone, or there but not running us? Asked once a second. */
	if (now - js->last_probe_ns < 1000000000u)
		return 0;
	js->last_probe_ns = now;
	if (server_answers(js))
		return 0;
	snprintf(js->shutdown_reason, sizeof js->shutdown_reason,
		 "no process cycle for %llu ms (limit %llu ms) and the server's socket refuses: it went without telling",
		 (unsigned long long)(idle_ns / 1000000u), (unsigned long long)(limit_ns / 1000000u));
	atomic_store(&js->server_gone, 1);
	return 1;
}

void jack_shell_close(struct jack_shell *js)
{
	ASSERT_THREAD(THREAD_CONTROL);
	if (!js)
		return;
	if (js->client) {
		/* After the server is gone the client is a zombie; closing it still
		 * frees libjack's side. Deactivate first so that RT has stopped
		 * before the router and snapshots go away. */
		if (js->active && !atomic_load(&js->server_gone)) {
			jack_deactivate(js->client);
			if (js->plan)
				drop_ports(js, js->plan, NULL);
			jack_remove_properties(js->client, client_uuid(js->client));
		}
		jack_client_close(js->client);
		js->client = NULL;
	}
	js->active = 0;
	pthread_mutex_lock(&js->plan_lock);
	plan_free(js->plan);
	js->plan = NULL;
	pthread_mutex_unlock(&js->plan_lock);
	free(js->linked);
	js->linked = NULL;
	ring_free(&js->midi_in);
	ring_free(&js->midi_out);
}
