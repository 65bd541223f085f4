/* routing_bench: the router's cost per period, offline, beside the memcpy
 * bound measured in the same run (one memcpy of every input and output
 * buffer of the room per period), without and with every insert on: a
 * high-pass and a gate on each mic, a leveller on each distribution output
 * and the hearing limiter on each phones feed.
 *   routing_bench [--plugin-dir DIR] ROOM.yaml...
 * Prints one table row and one JSON line (to fd 3 if open) per room and
 * period. No JACK. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "../engine/core/config.h"
#include "../engine/core/insert_rack.h"
#include "../engine/core/router.h"
#include "../engine/core/snapshot.h"
#include "../engine/core/state.h"
#include "../engine/core/thread_role.h"
#include "../engine/inserts/insert_host.h"

#define RATE 48000
#define RUN_NS 400000000LL /* each measurement runs this long */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct room_buffers {
	int n_in, n_out;
	uint32_t period;
	float **in, **out, **copy;
};

static int buffers_make(struct room_buffers *b, const struct config *cfg, uint32_t period)
{
	int i;
	uint32_t k;

	b->n_in = config_input_count(cfg);
	b->n_out = config_output_count(cfg);
	b->period = period;
	b->in = calloc((size_t)b->n_in, sizeof *b->in);
	b->out = calloc((size_t)b->n_out, sizeof *b->out);
	b->copy = calloc((size_t)(b->n_in + b->n_out), sizeof *b->copy);
	if (!b->in || !b->out || !b->copy)
		return -ENOMEM;
	srand(1);
	for (i = 0; i < b->n_in; i++) {
		b->in[i] = malloc(period * sizeof(float));
		for (k = 0; k < period; k++) /* speech-level noise */
			b->in[i][k] = 0.1f * ((float)rand() / (float)RAND_MAX - 0.5f);
	}
	for (i = 0; i < b->n_out; i++)
		b->out[i] = calloc(period, sizeof(float));
	for (i = 0; i < b->n_in + b->n_out; i++)
		b->copy[i] = calloc(period, sizeof(float));
	return 0;
}

static void buffers_free(struct room_buffers *b)
{
	int i;
	for (i = 0; i < b->n_in; i++)
		free(b->in[i]);
	for (i = 0; i < b->n_out; i++)
		free(b->out[i]);
	for (i = 0; i < b->n_in + b->n_out; i++)
		free(b->copy[i]);
	free(b->in);
	free(b->out);
	free(b->copy);
}

/* ns per period of the memcpy bound: every buffer of the room once. */
static double memcpy_ns(struct room_buffers *b)
{
	int64_t start = now_ns(), end;
	long periods = 0;
	int i;

	do {
		for (i = 0; i < b->n_in; i++)
			memcpy(b->copy[i], b->in[i], b->period * sizeof(float));
		for (i = 0; i < b->n_out; i++)
			memcpy(b->copy[b->n_in + i], b->out[i], b->period * sizeof(float));
		__asm__ __volatile__("" ::: "memory"); /* the copies happen */
		periods++;
	} while ((end = now_ns()) - start < RUN_NS);
	return (double)(end - start) / (double)periods;
}

static double router_ns(struct router *r, const struct snapshot *s, struct room_buffers *b)
{
	int64_t start, end;
	long periods = 0;
	int i;

	thread_role_set(THREAD_RT);
	for (i = 0; i < 200; i++) /* settle ramps and meters */
		router_process(r, s, (const float *const *)b->in, b->out, b->period);
	start = now_ns();
	do {
		router_process(r, s, (const float *const *)b->in, b->out, b->period);
		periods++;
	} while ((end = now_ns()) - start < RUN_NS);
	thread_role_set(THREAD_CONTROL);
	return (double)(end - start) / (double)periods;
}

/* Every insert on: the defaults a room would use. */
static int set_chain(struct cfg_chain *c, const char *const *plugins, int n)
{
	int i;

	c->items = calloc((size_t)n, sizeof *c->items);
	if (!c->items)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		snprintf(c->items[i].plugin, sizeof c->items[i].plugin, "%s", plugins[i]);
	c->n = n;
	c->set = 1;
	return 0;
}

static void row(FILE *json, const char *room, const struct config *cfg, uint32_t period, const char *inserts,
		double ns, double bound)
{
	const double period_ns = 1e9 * period / RATE;

	printf("%-9s %4u  %-8s %4d %4d %4d  %10.0f  %6.2f%%  %7.0f  %5.2fx\n", room, period, inserts,
	       cfg->n_mics, cfg->n_mics, config_output_count(cfg) - cfg->n_mics, ns, 100.0 * ns / period_ns, bound,
	       ns / bound);
	if (json)
		fprintf(json,
			"{\"room\":\"%s\",\"period\":%u,\"inserts\":%s,\"mics\":%d,\"outputs\":%d,\"ns_per_period\":%.0f,"
			"\"period_share\":%.5f,\"memcpy_ns\":%.0f,\"memcpy_ratio\":%.3f}\n",
			room, period, !strcmp(inserts, "on") ? "true" : "false", cfg->n_mics,
			config_output_count(cfg) - cfg->n_mics, ns, ns / period_ns, bound, ns / bound);
}

int main(int argc, char **argv)
{
	static const char *const mics[] = { "highpass", "gate" }, *const outputs[] = { "leveller" };
	static const uint32_t periods[] = { 64, 256 };
	const char *plugin_dir = NULL;
	FILE *json = fcntl(3, F_GETFD) >= 0 ? fdopen(3, "w") : NULL;
	int a = 1, failed = 0;

	thread_role_set(THREAD_CONTROL);
#if defined(__SSE__) || defined(__x86_64__)
	/* As on the engine's realtime thread: denormals flushed to zero. */
	_mm_setcsr(_mm_getcsr() | 0x8040);
#endif
	if (argc > 2 && !strcmp(argv[1], "--plugin-dir")) {
		plugin_dir = argv[2];
		a = 3;
	}
	printf("room    period  inserts  mics phon outs  ns/period  of period  memcpy  ratio\n");
	for (; a < argc; a++) {
		char err[TOLK_ERROR_MAX + 256], room[64];
		const char *base = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
		struct config cfg;
		struct state st;
		struct state_report rep;
		size_t p;
		int b;

		snprintf(room, sizeof room, "%.*s", (int)(strcspn(base, ".")), base);
		if (config_load_file(&cfg, argv[a], err, sizeof err) < 0) {
			fprintf(stderr, "%s\n", err);
			failed = 1;
			continue;
		}
		state_init(&st, &cfg);
		for (b = 0; b < cfg.n_booths; b++) /* every channel interpreted, relays auto */
			state_set_mic(&st, b, 1, 1, &rep);
		set_chain(&cfg.mic_inserts, mics, 2);
		set_chain(&cfg.output_inserts, outputs, 1);
		for (p = 0; p < sizeof periods / sizeof periods[0]; p++) {
			struct room_buffers buf;
			struct router r;
			struct insert_rack rack;
			struct insert_host host;
			struct snapshot *s = snapshot_build(&st);
			double bound, plain, with;

			if (buffers_make(&buf, &cfg, periods[p]) < 0 || router_init(&r, &cfg, RATE) < 0 || !s) {
				fprintf(stderr, "routing_bench: out of memory\n");
				return 1;
			}
			bound = memcpy_ns(&buf);
			plain = router_ns(&r, s, &buf);
			row(json, room, &cfg, periods[p], "off", plain, bound);
			router_free(&r);
			router_init(&r, &cfg, RATE);
			insert_host_init(&host, plugin_dir);
			if (rack_init(&rack, cfg.n_mics, 1 + cfg.n_languages, RATE, ROUTER_CHUNK_MAX) < 0 ||
			    insert_host_build(&host, &cfg, &rack, err, sizeof err) < 0 || router_attach_rack(&r, &rack) < 0) {
				fprintf(stderr, "routing_bench: inserts: %s\n", err);
				return 1;
			}
			with = router_ns(&r, s, &buf);
			row(json, room, &cfg, periods[p], "on", with, bound);
			router_free(&r);
			rack_free(&rack);
			insert_host_close(&host);
			snapshot_free(s);
			buffers_free(&buf);
		}
		state_free(&st);
		config_free(&cfg);
	}
	if (json)
		fclose(json);
	return failed;
}
