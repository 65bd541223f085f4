/* Plays systemd's side of sd_notify for the tests: binds a unix datagram
 * socket at PATH (what NOTIFY_SOCKET names) and prints every assignment
 * it receives as "<ms since start> <KEY=value>", one per line, flushed,
 * until killed. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[4096];
	long long start = now_ms();
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof addr.sun_path) {
		fprintf(stderr, "usage: notify_listen PATH\n");
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		perror("notify_listen");
		return 1;
	}
	printf("0 listening\n");
	fflush(stdout);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
		char *line, *save = NULL;
		if (n < 0)
			continue;
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			printf("%lld %s\n", now_ms() - start, line);
		fflush(stdout);
	}
}
