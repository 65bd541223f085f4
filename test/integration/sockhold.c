/* sockhold: holds connections to a control socket the way an attacker or
 * a careless script would, until SIGTERM.
 *   sockhold -n COUNT -m partial|follow|flood SOCKET
 * partial: sends half a request line and never the newline.
 * follow:  asks for "events --follow" and never reads.
 * flood:   sends "status" lines as fast as the socket takes them, never
 *          reading.
 * Prints "ready CONNECTED" once every connection is made (refused ones
 * are connected too: the engine refuses after accepting), then on
 * SIGTERM "open STILL" (the connections the engine has not closed). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX 256

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Still open from the engine's side: no EOF or reset waiting. */
static int still_open(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return 1;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return 0;
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *mode = "partial";
	int n = 1, fds[MAX], i, opt, made = 0, open_now;
	static const char line[] = "status\n";

	while ((opt = getopt(argc, argv, "n:m:")) != -1) {
		if (opt == 'n')
			n = atoi(optarg) < MAX ? atoi(optarg) : MAX;
		else if (opt == 'm')
			mode = optarg;
		else
			return 2;
	}
	if (optind >= argc || strlen(argv[optind]) >= sizeof addr.sun_path)
		return 2;
	strcpy(addr.sun_path, argv[optind]);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&addr, sizeof addr) < 0) {
			fprintf(stderr, "sockhold: connect: %s\n", strerror(errno));
			return 1;
		}
		made++;
		if (!strcmp(mode, "partial"))
			send(fds[i], "stat", 4, MSG_NOSIGNAL);
		else if (!strcmp(mode, "follow"))
			send(fds[i], "events --follow\n", 16, MSG_NOSIGNAL);
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
	}
	printf("ready %d\n", made);
	fflush(stdout);
	while (!stop) {
		if (!strcmp(mode, "flood"))
			for (i = 0; i < n; i++)
				send(fds[i], line, sizeof line - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		usleep(strcmp(mode, "flood") ? 50000 : 2000);
	}
	for (i = 0, open_now = 0; i < n; i++)
		open_now += still_open(fds[i]);
	printf("open %d\n", open_now);
	return 0;
}
