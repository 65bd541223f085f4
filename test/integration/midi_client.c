/* midi_client: a JACK MIDI control surface for tests.
 *   midi_client SERVER TO FROM ACTION...
 * Connects its output to TO and FROM to its input, then does each ACTION
 * in turn: "90,3c,7f" sends those bytes as one event, "+300" waits 300 ms.
 * Every event it receives is printed as a line "rx 90 3c 7f". Exit 0, or
 * 1 on JACK errors. */
#include <jack/jack.h>
#include <jack/midiport.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUEUE 64

static jack_port_t *in, *out;
static unsigned char queued[QUEUE][3];
static int queued_len[QUEUE];
static _Atomic int q_write, q_read;
static unsigned char got[1024][3];
static int got_len[1024];
static _Atomic int n_got;

static int process(jack_nframes_t frames, void *arg)
{
	void *ib = jack_port_get_buffer(in, frames), *ob = jack_port_get_buffer(out, frames);
	uint32_t i, count = jack_midi_get_event_count(ib);
	(void)arg;

	jack_midi_clear_buffer(ob);
	while (atomic_load(&q_read) != atomic_load(&q_write)) {
		int k = atomic_load(&q_read) % QUEUE;
		jack_midi_event_write(ob, 0, queued[k], (size_t)queued_len[k]);
		atomic_fetch_add(&q_read, 1);
	}
	for (i = 0; i < count; i++) {
		jack_midi_event_t ev;
		int k = atomic_load(&n_got);
		if (jack_midi_event_get(&ev, ib, i) || k >= 1024)
			continue;
		got_len[k] = ev.size < 3 ? (int)ev.size : 3;
		memcpy(got[k], ev.buffer, (size_t)got_len[k]);
		atomic_store(&n_got, k + 1);
	}
	return 0;
}

/* Every event received and not printed yet, a line each. */
static void print_received(int *printed)
{
	int j;

	for (; *printed < atomic_load(&n_got); (*printed)++) {
		printf("rx");
		for (j = 0; j < got_len[*printed]; j++)
			printf(" %02x", got[*printed][j]);
		printf("\n");
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	jack_client_t *c;
	char name[32];
	int i, printed = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: midi_client SERVER TO FROM ACTION...\n");
		return 1;
	}
	snprintf(name, sizeof name, "midi%d", (int)getpid());
	c = jack_client_open(name, JackNoStartServer | JackServerName, NULL, argv[1]);
	if (!c)
		return 1;
	in = jack_port_register(c, "in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
	out = jack_port_register(c, "out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
	if (!in || !out || jack_set_process_callback(c, process, NULL) || jack_activate(c) ||
	    jack_connect(c, jack_port_name(out), argv[2]) || jack_connect(c, argv[3], jack_port_name(in))) {
		fprintf(stderr, "midi_client: cannot connect %s and %s\n", argv[2], argv[3]);
		jack_client_close(c);
		return 1;
	}
	usleep(200000);
	for (i = 4; i < argc; i++) {
		if (argv[i][0] == '+') {
			usleep((useconds_t)atoi(argv[i] + 1) * 1000);
		} else {
			int k = atomic_load(&q_write) % QUEUE, n = 0;
			char *s = argv[i], *end;
			while (n < 3 && *s) {
				queued[k][n++] = (unsigned char)strtoul(s, &end, 16);
				s = *end == ',' ? end + 1 : end;
			}
			queued_len[k] = n;
			atomic_fetch_add(&q_write, 1);
		}
		print_received(&printed);
	}
	usleep(100000);
	print_received(&printed);
	jack_client_close(c);
	return 0;
}
