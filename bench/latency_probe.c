/* latency_probe: what a JACK client adds to a signal path, measured.
 *   latency_probe [-s SERVER] -d DEST SOURCE...
 * Sends an impulse every 100 ms into DEST and, at the same time, into its
 * own reference input; reads each SOURCE. Both paths run through this
 * client's own input, so JACK's own delay cancels: what is left is what the
 * client under test adds. Prints per SOURCE:
 *   SOURCE ADDED_FRAMES REPORTED_FRAMES HITS
 * REPORTED is the difference of JACK's capture latency between SOURCE and
 * DEST, what the client says it adds. Exit 0, 1 on JACK errors, 2 when an
 * impulse never arrived. */
#include <jack/jack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SOURCES 32
#define IMPULSES 20
#define EVERY 4800

static jack_port_t *imp, *ref, *in[MAX_SOURCES];
static int n_in;
static volatile long long sent[IMPULSES], hit_ref[IMPULSES], hit[MAX_SOURCES][IMPULSES];
static volatile int n_sent;
static long long frame;
static volatile int armed;

static int process(jack_nframes_t n, void *arg)
{
	float *o = jack_port_get_buffer(imp, n);
	const float *r = jack_port_get_buffer(ref, n);
	jack_nframes_t i;
	int k;

	(void)arg;
	memset(o, 0, n * sizeof *o);
	for (i = 0; i < n; i++) {
		long long f = frame + i;
		if (armed && f % EVERY == 0 && n_sent < IMPULSES) {
			o[i] = 0.9f;
			sent[n_sent++] = f;
		}
		/* The m-th arrival belongs to the m-th impulse. */
		if (r[i] > 0.3f) {
			for (k = 0; k < IMPULSES && hit_ref[k]; k++)
				;
			if (k < IMPULSES && (k == 0 || f - hit_ref[k - 1] > EVERY / 2))
				hit_ref[k] = f;
		}
		for (int s = 0; s < n_in; s++) {
			const float *x = (const float *)jack_port_get_buffer(in[s], n);
			if (x[i] > 0.3f) {
				for (k = 0; k < IMPULSES && hit[s][k]; k++)
					;
				if (k < IMPULSES && (k == 0 || f - hit[s][k - 1] > EVERY / 2))
					hit[s][k] = f;
			}
		}
	}
	frame += n;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *dest = NULL;
	jack_status_t status;
	jack_client_t *c;
	char name[64];
	int opt, s, k, bad = 0;

	while ((opt = getopt(argc, argv, "s:d:")) != -1) {
		if (opt == 's')
			server = optarg;
		else if (opt == 'd')
			dest = optarg;
		else
			return 1;
	}
	n_in = argc - optind;
	if (!dest || n_in < 1 || n_in > MAX_SOURCES) {
		fprintf(stderr, "usage: latency_probe [-s SERVER] -d DEST SOURCE...\n");
		return 1;
	}
	snprintf(name, sizeof name, "latency%d", (int)getpid());
	c = jack_client_open(name, JackNoStartServer | (server ? JackServerName : 0), &status, server);
	if (!c)
		return 1;
	imp = jack_port_register(c, "imp", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
	ref = jack_port_register(c, "ref", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
	for (s = 0; s < n_in; s++) {
		char pn[16];
		snprintf(pn, sizeof pn, "in%d", s);
		in[s] = jack_port_register(c, pn, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
	}
	jack_set_process_callback(c, process, NULL);
	if (jack_activate(c))
		return 1;
	if (jack_connect(c, jack_port_name(imp), dest) || jack_connect(c, jack_port_name(imp), jack_port_name(ref)))
		return 1;
	for (s = 0; s < n_in; s++)
		if (jack_connect(c, argv[optind + s], jack_port_name(in[s])))
			return 1;
	usleep(300000); /* connections settle, ramps end */
	armed = 1;
	usleep((useconds_t)(IMPULSES * EVERY / 48000.0 * 1e6 + 500000));
	for (s = 0; s < n_in; s++) {
		long long d[IMPULSES];
		jack_latency_range_t src, dst;
		int n = 0;

		for (k = 0; k < IMPULSES; k++)
			if (hit[s][k] && hit_ref[k])
				d[n++] = hit[s][k] - hit_ref[k];
		qsort(d, (size_t)n, sizeof d[0], cmp);
		jack_port_get_latency_range(jack_port_by_name(c, argv[optind + s]), JackCaptureLatency, &src);
		jack_port_get_latency_range(jack_port_by_name(c, dest), JackCaptureLatency, &dst);
		if (n)
			printf("%s %lld %d %d\n", argv[optind + s], d[n / 2], (int)src.max - (int)dst.max, n);
		else {
			printf("%s none %d 0\n", argv[optind + s], (int)src.max - (int)dst.max);
			bad = 1;
		}
	}
	/* Closing a client can hang after a server loss; the process ends anyway. */
	return bad ? 2 : 0;
}
