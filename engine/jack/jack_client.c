#include "jack_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "../core/thread_role.h"

static _Atomic int quiet_errors;

/* libjack reports on stderr; while Tolk waits for a server to come back,
 * one failed attempt a second is not news. */
static void on_jack_error(const char *msg)
{
	if (!atomic_load(&quiet_errors))
		fprintf(stderr, "jack: %s\n", msg);
}

void jack_shell_quiet(int quiet)
{
	jack_set_error_function(on_jack_error);
	jack_set_info_function(on_jack_error);
	atomic_store(&quiet_errors, quiet);
}

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no system call */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int on_process(jack_nframes_t frames, void *arg)
{
	struct jack_shell *js = arg;
	const uint64_t start = clock_ns();
	struct snapshot *s;
	int i, t;

	for (i = 0; i < js->n_inputs; i++)
		js->in_buf[i] = jack_port_get_buffer(js->inputs[i], frames);
	for (i = 0; i < js->n_outputs; i++)
		js->out_buf[i] = jack_port_get_buffer(js->outputs[i], frames);
	s = exchange_rt_begin(js->exchange);
	router_process(js->router, s, js->in_buf, js->out_buf, frames);
	exchange_rt_end(js->exchange);
	for (t = 0; t < js->n_taps; t++) {
		struct capture *c = js->taps[t].capture;
		for (i = 0; i < c->n_channels; i++) {
			int src = js->taps[t].source[i];
			js->taps[t].buf[i] = src >= 0 ? js->out_buf[src] : js->in_buf[-src - 1];
		}
		capture_push(c, js->taps[t].buf, frames, jack_last_frame_time(js->client));
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
	cycle_stats_add(&js->cycles, clock_ns() - start, frames);
	return 0;
}

/* What Tolk adds to each port's latency: distribution outputs the padded
 * channel latency; phones their chain after the floor (min) or a relayed
 * channel (max). JACK adds it to what comes before (or after) us. */
static void added_latency(const struct jack_shell *js, int output, jack_latency_range_t *r)
{
	const struct insert_rack *k = js->router->rack;
	const uint32_t channel = k ? k->mic_latency + k->output_latency : 0;
	int phone = output - config_output_of_phones(js->cfg, 0);

	r->min = r->max = channel;
	if (k && phone >= 0) {
		uint32_t chain = rack_chain_delay(k, rack_chain_index(k, CHAIN_PHONES, phone));
		r->min = k->mic_latency + chain;
		r->max = channel + chain;
	}
}

static void on_latency(jack_latency_callback_mode_t mode, void *arg)
{
	struct jack_shell *js = arg;
	jack_latency_range_t up = { UINT32_MAX, 0 }, range, add;
	int i;

	if (mode == JackCaptureLatency) {
		for (i = 0; i < js->n_inputs; i++) {
			jack_port_get_latency_range(js->inputs[i], JackCaptureLatency, &range);
			up.min = range.min < up.min ? range.min : up.min;
			up.max = range.max > up.max ? range.max : up.max;
		}
		if (up.min > up.max)
			up.min = up.max;
		for (i = 0; i < js->n_outputs; i++) {
			added_latency(js, i, &add);
			range.min = up.min + add.min;
			range.max = up.max + add.max;
			jack_port_set_latency_range(js->outputs[i], JackCaptureLatency, &range);
		}
	} else {
		jack_latency_range_t most = { 0, 0 };
		for (i = 0; i < js->n_outputs; i++) {
			jack_port_get_latency_range(js->outputs[i], JackPlaybackLatency, &range);
			added_latency(js, i, &add);
			if (i == 0 || range.min + add.min < most.min)
				most.min = range.min + add.min;
			if (range.max + add.max > most.max)
				most.max = range.max + add.max;
		}
		for (i = 0; i < js->n_inputs; i++)
			jack_port_set_latency_range(js->inputs[i], JackPlaybackLatency, &most);
	}
}

static void on_thread_init(void *arg)
{
	struct jack_shell *js = arg;
	(void)js;
	thread_role_set(THREAD_RT);
#if defined(__SSE__) || defined(__x86_64__)
	/* Denormals cost a hundred times a normal multiply; flush them. */
	_mm_setcsr(_mm_getcsr() | 0x8040);
#endif
}

static int on_xrun(void *arg)
{
	struct jack_shell *js = arg;
	atomic_fetch_add_explicit(&js->xruns, 1, memory_order_relaxed);
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

	snprintf(js->shutdown_reason, sizeof js->shutdown_reason, "%s (status 0x%x)",
		 reason ? reason : "no reason given", (unsigned)code);
	atomic_store(&js->server_gone, 1);
	wake_control(js);
}

/* JACK's notification thread: jack_connect may not be called from here,
 * so the control thread is told to look. */
static void on_port_registration(jack_port_id_t port, int registered, void *arg)
{
	struct jack_shell *js = arg;
	(void)port;
	(void)registered;
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
	char name[TOLK_PORT_NAME_MAX];
	int i, ret;

	if (!js || !cfg || !client_name)
		return -EINVAL;
	memset(js, 0, sizeof *js);
	js->cfg = cfg;
	js->wake_fd = wake_fd;
	atomic_init(&js->server_gone, 0);
	atomic_init(&js->ports_changed, 0);
	atomic_init(&js->frame_end, 0);
	atomic_init(&js->xruns, 0);
	cycle_stats_init(&js->cycles);
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
		return -ECONNREFUSED;
	}
	js->n_inputs = config_input_count(cfg);
	js->n_outputs = config_output_count(cfg);
	js->inputs = calloc((size_t)js->n_inputs, sizeof *js->inputs);
	js->outputs = calloc((size_t)js->n_outputs, sizeof *js->outputs);
	js->in_buf = calloc((size_t)js->n_inputs, sizeof *js->in_buf);
	js->out_buf = calloc((size_t)js->n_outputs, sizeof *js->out_buf);
	js->linked = malloc((size_t)cfg->n_connects + 1);
	if (js->linked)
		memset(js->linked, -1, (size_t)cfg->n_connects + 1);
	if (!js->inputs || !js->outputs || !js->in_buf || !js->out_buf || !js->linked) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail_close;
	}
	for (i = 0; i < js->n_inputs; i++) {
		config_input_name(cfg, i, name, sizeof name);
		js->inputs[i] = jack_port_register(js->client, name, JACK_DEFAULT_AUDIO_TYPE,
						   JackPortIsInput, 0);
		if (!js->inputs[i])
			goto fail_port;
	}
	for (i = 0; i < js->n_outputs; i++) {
		config_output_name(cfg, i, name, sizeof name);
		js->outputs[i] = jack_port_register(js->client, name, JACK_DEFAULT_AUDIO_TYPE,
						    JackPortIsOutput, 0);
		if (!js->outputs[i])
			goto fail_port;
	}
	return 0;

fail_port:
	snprintf(err, errlen, "cannot register JACK port %s", name);
	ret = -EIO;
fail_close:
	jack_shell_close(js);
	return ret;
}

uint32_t jack_shell_sample_rate(const struct jack_shell *js)
{
	return jack_get_sample_rate(js->client);
}

int jack_shell_add_capture(struct jack_shell *js, struct capture *capture, const int *sources)
{
	if (js->n_taps == JACK_SHELL_TAPS)
		return -ENOSPC;
	js->taps[js->n_taps].buf = calloc((size_t)capture->n_channels, sizeof *js->taps[0].buf);
	if (!js->taps[js->n_taps].buf)
		return -ENOMEM;
	js->taps[js->n_taps].source = sources;
	js->taps[js->n_taps].capture = capture;
	js->n_taps++;
	return 0;
}

uint64_t jack_shell_frame_now(const struct jack_shell *js)
{
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

	if (config_find_port(js->cfg, c->port, &is_input, &index) < 0)
		return 0; /* the loader refused such a name already */
	snprintf(what, len, "%s -> %s (line %d:%d)", is_input ? c->other : c->port, is_input ? c->port : c->other,
		 c->line, c->column);
	port = is_input ? js->inputs[index] : js->outputs[index];
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

	if (!js->client || !js->active || atomic_load(&js->server_gone))
		return;
	atomic_store(&js->ports_changed, 0);
	for (i = 0; i < js->cfg->n_connects; i++) {
		what[0] = line[0] = '\0';
		now = link_one(js, &js->cfg->connects[i], what, sizeof what);
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
	js->router = router;
	js->exchange = exchange;
	if (jack_set_process_callback(js->client, on_process, js) ||
	    jack_set_thread_init_callback(js->client, on_thread_init, js) ||
	    jack_set_xrun_callback(js->client, on_xrun, js) ||
	    jack_set_latency_callback(js->client, on_latency, js) ||
	    jack_set_port_registration_callback(js->client, on_port_registration, js) ||
	    jack_set_port_connect_callback(js->client, on_port_connect, js))
		return -EIO;
	jack_on_info_shutdown(js->client, on_shutdown, js);
	if (jack_activate(js->client))
		return -EIO;
	js->active = 1;
	jack_shell_relink(js, warn, user);
	return 0;
}

void jack_shell_close(struct jack_shell *js)
{
	int i;

	if (!js)
		return;
	if (js->client) {
		/* After the server is gone the client is a zombie; closing it still
		 * frees libjack's side. Deactivate first so that RT has stopped
		 * before the router and snapshots go away. */
		if (js->active && !atomic_load(&js->server_gone))
			jack_deactivate(js->client);
		jack_client_close(js->client);
		js->client = NULL;
	}
	js->active = 0;
	free(js->inputs);
	free(js->outputs);
	free(js->in_buf);
	free((void *)js->out_buf);
	free(js->linked);
	js->linked = NULL;
	for (i = 0; i < js->n_taps; i++)
		free(js->taps[i].buf);
	js->n_taps = 0;
	js->inputs = NULL;
	js->outputs = NULL;
	js->in_buf = NULL;
	js->out_buf = NULL;
}
