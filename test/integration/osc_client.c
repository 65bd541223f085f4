/* osc_client: sends one OSC message from its own socket and prints every
 * message that comes back within a while, one line each:
 *   PATH TYPES ARG...
 *   osc_client [-b BINDHOST] [-w MS] [-r COUNT] HOST PORT PATH [TYPES [ARG...]]
 * -r sends the message COUNT times as fast as the socket takes them (a
 * flood), and prints nothing back.
 * TYPES uses i, f and s; a string argument "@N" stands for N bytes of 'x'
 * (for oversized-message tests). */
#include <arpa/inet.h>
#include <lo/lo.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void print_message(const char *path, const char *types, lo_arg **argv, int argc)
{
	int i;
	printf("%s %s", path, *types ? types : "-");
	for (i = 0; i < argc; i++) {
		if (types[i] == 'i')
			printf(" %d", argv[i]->i);
		else if (types[i] == 'f')
			printf(" %.1f", (double)argv[i]->f);
		else if (types[i] == 's')
			printf(" '%s'", &argv[i]->s);
	}
	printf("\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *bind_host = "127.0.0.1";
	int wait_ms = 500, opt, i, fd;
	long repeat = 1, r;
	struct sockaddr_in me = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
	lo_message m;
	struct timespec start, now;
	static char packet[65536];
	void *data;
	size_t size = 0;

	while ((opt = getopt(argc, argv, "b:w:r:")) != -1) {
		if (opt == 'b')
			bind_host = optarg;
		else if (opt == 'r')
			repeat = atol(optarg);
		else if (opt == 'w')
			wait_ms = atoi(optarg);
		else
			return 2;
	}
	if (argc - optind < 3)
		return 2;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, bind_host, &me.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof me) < 0) {
		fprintf(stderr, "osc_client: cannot bind %s\n", bind_host);
		return 1;
	}
	inet_pton(AF_INET, argv[optind], &to.sin_addr);
	to.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	m = lo_message_new();
	if (argc - optind > 3) {
		const char *types = argv[optind + 3];
		for (i = 0; types[i] && optind + 4 + i < argc; i++) {
			const char *a = argv[optind + 4 + i];
			if (types[i] == 'i')
				lo_message_add_int32(m, atoi(a));
			else if (types[i] == 'f')
				lo_message_add_float(m, (float)atof(a));
			else if (a[0] == '@') {
				size_t n = (size_t)atol(a + 1);
				char *big = malloc(n + 1);
				memset(big, 'x', n);
				big[n] = 0;
				lo_message_add_string(m, big);
				free(big);
			} else
				lo_message_add_string(m, a);
		}
	}
	data = lo_message_serialise(m, argv[optind + 2], NULL, &size);
	for (r = 0; r < repeat; r++)
		if (!data || sendto(fd, data, size, 0, (struct sockaddr *)&to, sizeof to) < 0) {
			fprintf(stderr, "osc_client: send failed\n");
			return 1;
		}
	if (repeat > 1)
		wait_ms = 0;
	free(data);
	lo_message_free(m);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = wait_ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = recv(fd, packet, sizeof packet, 0);
		if (n > 0) {
			const char *path = lo_get_path(packet, n);
			lo_message in = path ? lo_message_deserialise(packet, (size_t)n, NULL) : NULL;
			if (in) {
				print_message(path, lo_message_get_types(in), lo_message_get_argv(in), lo_message_get_argc(in));
				lo_message_free(in);
			}
		}
	}
	close(fd);
	return 0;
}
