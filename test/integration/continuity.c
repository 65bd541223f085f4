/* continuity: a JACK client that listens to ports until SIGTERM and says
 * whether each signal ran on without a break.
 *   continuity [-s SERVER] [-n CLIENT] PORT:ramp | PORT:smooth:LIMIT ...
 * "ramp" expects tonegen's ramp exactly (2^-16 up each sample, wrapping at
 * 0.5): any other step is a break, a lost or doubled frame, a gap or a
 * gain change. "smooth" expects a continuous signal (a sine through
 * inserts): a break is a second difference above LIMIT, or 2 ms of exact
 * zeros where there was signal. Counting starts once every port is
 * connected and 100 ms have passed, and stops at SIGTERM (the cycles of
 * our own deactivation hear disconnected ports). Prints "ready", then on
 * SIGTERM one line per port: PORT FRAMES BREAKS WORST SLIPS.
 *
 * A ramp that jumps by whole periods exactly at a period's start (a
 * period lost or heard twice) is a slip, not a break: that is what JACK
 * does to every client at an xrun, and no routing fault looks like it
 * except a cycle not run. The tests allow slips only as many as JACK's
 * xruns, and only while tolk's own cycles stayed within their period. */
#include <getopt.h>
#include <jack/jack.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PORTS 16
#define SETTLE 4800

struct watch {
	char source[256];
	int ramp;
	double limit;
	jack_port_t *port;
	/* realtime side */
	float prev, prev2;
	int have;
	uint64_t frames, breaks, zeros, slips;
	double worst;
};

static struct watch w[MAX_PORTS];
static int n;
static _Atomic int armed, stop;
static uint32_t settle = SETTLE;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int process(jack_nframes_t frames, void *arg)
{
	int p;
	jack_nframes_t i;

	(void)arg;
	if (!atomic_load(&armed) || stop)
		return 0;
	if (settle) {
		settle = settle > frames ? settle - frames : 0;
		for (p = 0; p < n; p++)
			w[p].have = 0;
		return 0;
	}
	for (p = 0; p < n; p++) {
		struct watch *x = &w[p];
		const float *y = jack_port_get_buffer(x->port, frames);
		for (i = 0; i < frames; i++) {
			double bad = 0;
			if (x->ramp && x->have >= 1) {
				double step = (double)y[i] - (double)x->prev;
				int wrap = y[i] == -0.5f && x->prev >= 0.5f - 2.0f / 65536.0f;
				double off = step * 65536.0 - 1.0;
				if (!wrap && step != 1.0 / 65536.0)
					bad = fabs(step - 1.0 / 65536.0);
				/* whole periods lost or repeated, at a period's start */
				if (bad > 0 && i == 0 && fmod(fabs(off), (double)frames) == 0.0 && fabs(off) <= 4.0 * frames) {
					x->slips++;
					bad = 0;
				}
			} else if (!x->ramp && x->have >= 2) {
				bad = fabs((double)y[i] - 2.0 * x->prev + x->prev2);
				bad = bad > x->limit ? bad : 0;
				/* a sine cannot tell a lost period from a fault at the
				 * period's start: one there is a slip, left to the xrun
				 * count to explain */
				if (bad > 0 && i <= 1) {
					if (i == 0)
						x->slips++;
					bad = 0;
				}
				x->zeros = y[i] == 0.0f && x->prev != 0.0f ? 1 : y[i] == 0.0f ? x->zeros + 1 : 0;
				if (x->zeros == 96)
					bad = 1.0; /* 2 ms of nothing in a sine */
			}
			if (bad > 0) {
				x->breaks++;
				if (bad > x->worst)
					x->worst = bad;
			}
			x->prev2 = x->prev;
			x->prev = y[i];
			x->have++;
			x->frames++;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *name = "continuity";
	jack_status_t status;
	jack_client_t *c;
	int opt, p;

	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		if (opt == 's')
			server = optarg;
		else if (opt == 'n')
			name = optarg;
		else
			return 2;
	}
	for (; optind < argc && n < MAX_PORTS; optind++, n++) {
		char *spec = strdup(argv[optind]), *kind = strstr(spec, ":ramp"), *smooth = strstr(spec, ":smooth:");
		if (kind && !kind[5]) {
			*kind = '\0';
			w[n].ramp = 1;
		} else if (smooth) {
			*smooth = '\0';
			w[n].limit = atof(smooth + 8);
		} else {
			fprintf(stderr, "continuity: %s: want PORT:ramp or PORT:smooth:LIMIT\n", argv[optind]);
			return 2;
		}
		snprintf(w[n].source, sizeof w[n].source, "%s", spec);
		free(spec);
	}
	c = jack_client_open(name, JackNoStartServer | (server ? JackServerName : 0), &status, server);
	if (!c) {
		fprintf(stderr, "continuity: cannot open client (0x%x)\n", (unsigned)status);
		return 1;
	}
	for (p = 0; p < n; p++) {
		char pn[16];
		snprintf(pn, sizeof pn, "in%d", p + 1);
		w[p].port = jack_port_register(c, pn, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
	}
	jack_set_process_callback(c, process, NULL);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (jack_activate(c))
		return 1;
	for (p = 0; p < n; p++)
		if (jack_connect(c, w[p].source, jack_port_name(w[p].port))) {
			fprintf(stderr, "continuity: cannot connect %s\n", w[p].source);
			return 1;
		}
	atomic_store(&armed, 1);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		usleep(20000);
	jack_deactivate(c);
	for (p = 0; p < n; p++)
		printf("%s %llu %llu %.6f %llu\n", w[p].source, (unsigned long long)w[p].frames,
		       (unsigned long long)w[p].breaks, w[p].worst, (unsigned long long)w[p].slips);
	jack_client_close(c);
	return 0;
}
