/* probe: a JACK client that listens to ports and says what each carries.
 *   probe [-s SERVER] [-n CLIENT] [-t SECONDS] [-f F1,F2,...] [-w MS] SOURCE...
 * For each SOURCE port it prints one line:
 *   SOURCE FREQ RMS_DBFS PURITY PEAK_DBFS
 * FREQ is the candidate frequency (-f) holding the most energy, or
 * "silence" below -70 dBFS; PURITY is that tone's share of all the energy
 * (1.0 for a clean tone, lower for a mix). With -w, three more fields
 * follow: the lowest RMS (dBFS) over any window of MS milliseconds, and the
 * dominant frequency of the first and of the last 50 ms, for watching a
 * switch happen without a gap. Exit 0, or 1 on JACK errors. */
#include <getopt.h>
#include <jack/jack.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PORTS 64
#define MAX_FREQS 32
#define SETTLE_FRAMES 2400 /* 50 ms: connections settle, ramps finish */

static jack_port_t *ports[MAX_PORTS];
static float *capture[MAX_PORTS];
static int n_ports;
static jack_nframes_t want, skip = SETTLE_FRAMES;
static _Atomic jack_nframes_t have;
static _Atomic int armed; /* set once every port is connected */

static int process(jack_nframes_t n, void *arg)
{
	jack_nframes_t got = atomic_load(&have), i, take;
	int p;
	(void)arg;
	if (!atomic_load(&armed) || got >= want)
		return 0;
	for (i = 0; i < n && skip; i++)
		skip--;
	take = n - i < want - got ? n - i : want - got;
	for (p = 0; p < n_ports; p++) {
		const float *x = jack_port_get_buffer(ports[p], n);
		memcpy(capture[p] + got, x + i, take * sizeof(float));
	}
	atomic_store(&have, got + take);
	return 0;
}

/* Amplitude of the component at f, by Goertzel over the whole capture. */
static double tone_amplitude(const float *x, jack_nframes_t n, double f, double rate)
{
	double w = 2.0 * M_PI * f / rate, coeff = 2.0 * cos(w), s1 = 0, s2 = 0, re, im;
	jack_nframes_t i;
	for (i = 0; i < n; i++) {
		double s0 = x[i] + coeff * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	re = s1 - s2 * cos(w);
	im = s2 * sin(w);
	return 2.0 * sqrt(re * re + im * im) / (double)n;
}

static double dominant(const float *x, jack_nframes_t n, double rate, const double *freqs, int n_freqs)
{
	double best = 0, best_f = 0;
	int k;
	for (k = 0; k < n_freqs; k++) {
		double a = tone_amplitude(x, n, freqs[k], rate);
		if (a > best) {
			best = a;
			best_f = freqs[k];
		}
	}
	return best_f;
}

static void print_windows(const float *x, jack_nframes_t n, double rate, double window_ms,
			  const double *freqs, int n_freqs)
{
	jack_nframes_t w = (jack_nframes_t)(window_ms * rate / 1000.0), edge = (jack_nframes_t)(0.05 * rate), i;
	double sum = 0, min_rms = 1e9;

	if (w < 1 || w > n || edge > n)
		return;
	/* A sliding window, one sample at a time. */
	for (i = 0; i < n; i++) {
		sum += (double)x[i] * x[i];
		if (i >= w)
			sum -= (double)x[i - w] * x[i - w];
		if (i + 1 >= w) {
			double ms = sum > 0 ? sum / w : 0;
			min_rms = ms < min_rms ? ms : min_rms;
		}
	}
	printf(" %.1f %g %g", min_rms > 0 ? 10.0 * log10(min_rms) : -200.0,
	       dominant(x, edge, rate, freqs, n_freqs), dominant(x + n - edge, edge, rate, freqs, n_freqs));
}

int main(int argc, char **argv)
{
	const char *server = NULL, *name = "probe";
	double seconds = 0.25, freqs[MAX_FREQS], rate, window_ms = 0;
	int n_freqs = 0, opt, p, k;
	jack_status_t status;
	jack_client_t *c;

	while ((opt = getopt(argc, argv, "s:n:t:f:w:")) != -1) {
		if (opt == 's')
			server = optarg;
		else if (opt == 'n')
			name = optarg;
		else if (opt == 't')
			seconds = atof(optarg);
		else if (opt == 'w')
			window_ms = atof(optarg);
		else if (opt == 'f') {
			char *list = strdup(optarg), *save = NULL, *tok;
			for (tok = strtok_r(list, ",", &save); tok && n_freqs < MAX_FREQS;
			     tok = strtok_r(NULL, ",", &save))
				freqs[n_freqs++] = atof(tok);
			free(list);
		} else
			return 2;
	}
	c = jack_client_open(name, JackNoStartServer | (server ? JackServerName : 0), &status, server);
	if (!c) {
		fprintf(stderr, "probe: cannot open client (0x%x)\n", (unsigned)status);
		return 1;
	}
	rate = jack_get_sample_rate(c);
	want = (jack_nframes_t)(seconds * rate);
	for (p = 0; optind + p < argc && p < MAX_PORTS; p++) {
		char pn[32];
		snprintf(pn, sizeof pn, "in%d", p + 1);
		ports[p] = jack_port_register(c, pn, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
		capture[p] = calloc(want, sizeof(float));
	}
	n_ports = p;
	jack_set_process_callback(c, process, NULL);
	if (jack_activate(c))
		return 1;
	for (p = 0; p < n_ports; p++)
		if (jack_connect(c, argv[optind + p], jack_port_name(ports[p]))) {
			fprintf(stderr, "probe: cannot connect from %s\n", argv[optind + p]);
			jack_client_close(c);
			return 1;
		}
	atomic_store(&armed, 1);
	for (k = 0; atomic_load(&have) < want; k++) {
		if (k > 1000 + (int)(seconds * 200)) {
			fprintf(stderr, "probe: timed out waiting for audio\n");
			jack_client_close(c);
			return 1;
		}
		usleep(5000);
	}
	jack_deactivate(c);
	for (p = 0; p < n_ports; p++) {
		double energy = 0, best = 0, best_f = 0, rms_db, peak = 0;
		jack_nframes_t i;
		for (i = 0; i < want; i++) {
			energy += (double)capture[p][i] * capture[p][i];
			peak = fabs(capture[p][i]) > peak ? fabs(capture[p][i]) : peak;
		}
		energy /= want;
		rms_db = energy > 0 ? 10.0 * log10(energy) : -200.0;
		for (k = 0; k < n_freqs; k++) {
			double a = tone_amplitude(capture[p], want, freqs[k], rate);
			if (a > best) {
				best = a;
				best_f = freqs[k];
			}
		}
		if (rms_db < -70.0)
			printf("%s silence %.1f 0.00", argv[optind + p], rms_db);
		else
			printf("%s %g %.1f %.2f", argv[optind + p], best_f, rms_db,
			       energy > 0 ? (best * best / 2.0) / energy : 0.0);
		printf(" %.2f", peak > 0 ? 20.0 * log10(peak) : -200.0);
		if (window_ms > 0)
			print_windows(capture[p], want, rate, window_ms, freqs, n_freqs);
		printf("\n");
	}
	jack_client_close(c);
	return 0;
}
