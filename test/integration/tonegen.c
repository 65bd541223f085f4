/* tonegen: a JACK client that plays one sine per output port into the
 * given destination ports until SIGTERM or SIGINT.
 *   tonegen [-s SERVER] [-n CLIENT] DEST:FREQ[:AMP] ...
 * DEST is a full port name (client:port), or "none" to leave the port for
 * others to connect; AMP defaults to 0.5. FREQ
 * "ramp" plays a sawtooth that rises by exactly 2^-16 each sample (from
 * -0.5 to 0.5), exact in 24-bit PCM, so that a recording can be checked
 * for a lost or doubled frame. FREQ "square" plays bursts of a 1 kHz
 * square wave at AMP, 100 ms on and 100 ms off: the acoustic shock. */
#include <getopt.h>
#include <jack/jack.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TONES 256

struct tone {
	jack_port_t *port;
	char dest[256];
	double freq, amp, phase;
	int ramp, square;
	unsigned counter;
};

static struct tone tones[MAX_TONES];
static int n_tones;
static double rate;
static volatile sig_atomic_t stop;

static int process(jack_nframes_t n, void *arg)
{
	int t;
	jack_nframes_t i;
	(void)arg;
	for (t = 0; t < n_tones; t++) {
		float *y = jack_port_get_buffer(tones[t].port, n);
		double ph = tones[t].phase, inc = 2.0 * M_PI * tones[t].freq / rate;
		if (tones[t].square) {
			for (i = 0; i < n; i++, tones[t].counter++) {
				unsigned in_burst = tones[t].counter % (unsigned)(rate / 5);
				unsigned half = (unsigned)(rate / 2000);
				y[i] = in_burst >= (unsigned)(rate / 10) ? 0.0f
				       : (float)((in_burst / half) % 2 ? -tones[t].amp : tones[t].amp);
			}
			continue;
		}
		if (tones[t].ramp) {
			for (i = 0; i < n; i++)
				y[i] = (float)((int)(tones[t].counter++ & 0xffff) - 32768) / 65536.0f;
			continue;
		}
		for (i = 0; i < n; i++) {
			y[i] = (float)(tones[t].amp * sin(ph));
			ph += inc;
		}
		tones[t].phase = fmod(ph, 2.0 * M_PI);
	}
	return 0;
}

static volatile sig_atomic_t server_gone;

static void on_shutdown(void *arg)
{
	(void)arg;
	server_gone = 1;
	stop = 1;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *name = "tonegen";
	jack_status_t status;
	jack_client_t *c;
	int opt, i;

	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		if (opt == 's')
			server = optarg;
		else if (opt == 'n')
			name = optarg;
		else
			return 2;
	}
	for (i = optind; i < argc && n_tones < MAX_TONES; i++) {
		struct tone *t = &tones[n_tones];
		char *spec = strdup(argv[i]), *last = strrchr(spec, ':'), *amp;
		t->amp = 0.5;
		/* DEST:FREQ or DEST:FREQ:AMP; DEST itself holds a colon. */
		*last = '\0';
		amp = last + 1;
		last = strrchr(spec, ':');
		if (last && strchr(spec, ':') != last) {
			*last = '\0';
			t->freq = atof(last + 1);
			t->amp = atof(amp);
		} else {
			t->freq = atof(amp);
		}
		t->ramp = t->freq == 0.0 && strstr(argv[i], ":ramp") != NULL;
		t->square = t->freq == 0.0 && strstr(argv[i], ":square") != NULL;
		snprintf(t->dest, sizeof t->dest, "%s", spec);
		free(spec);
		n_tones++;
	}
	c = jack_client_open(name, JackNoStartServer | (server ? JackServerName : 0), &status, server);
	if (!c) {
		fprintf(stderr, "tonegen: cannot open client (0x%x)\n", (unsigned)status);
		return 1;
	}
	rate = jack_get_sample_rate(c);
	for (i = 0; i < n_tones; i++) {
		char pn[32];
		snprintf(pn, sizeof pn, "tone%d", i + 1);
		tones[i].port = jack_port_register(c, pn, JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
	}
	jack_set_process_callback(c, process, NULL);
	jack_on_shutdown(c, on_shutdown, NULL);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (jack_activate(c))
		return 1;
	for (i = 0; i < n_tones; i++)
		if (strcmp(tones[i].dest, "none") && jack_connect(c, jack_port_name(tones[i].port), tones[i].dest)) {
			fprintf(stderr, "tonegen: cannot connect to %s\n", tones[i].dest);
			return 1;
		}
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		usleep(20000);
	/* Closing a client whose server is gone can hang in libjack. */
	if (!server_gone)
		jack_client_close(c);
	return 0;
}
