/* dsp_load: the JACK server's DSP load, sampled every 50 ms.
 *   dsp_load [-s SERVER] SECONDS
 * Prints "MEAN MAX" in percent. Exit 1 on JACK errors. */
#include <jack/jack.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *server = NULL;
	jack_status_t status;
	jack_client_t *c;
	double sum = 0, max = 0, seconds;
	int opt, n = 0, i;

	while ((opt = getopt(argc, argv, "s:")) != -1)
		if (opt == 's')
			server = optarg;
	seconds = optind < argc ? atof(argv[optind]) : 5;
	c = jack_client_open("dsp_load", JackNoStartServer | (server ? JackServerName : 0), &status, server);
	if (!c || jack_activate(c))
		return 1;
	for (i = 0; i < (int)(seconds * 20); i++) {
		float load = jack_cpu_load(c);
		usleep(50000);
		if (i < 4)
			continue; /* the average settles */
		sum += load;
		max = load > max ? load : max;
		n++;
	}
	printf("%.2f %.2f\n", n ? sum / n : 0.0, max);
	return 0;
}
