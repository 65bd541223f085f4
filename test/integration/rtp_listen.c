/* rtp_listen: receives RTP on UDP ports of 127.0.0.1 (or a multicast
 * group) for a while and says what came, per port, for the RTP test:
 *   rtp_listen [-v] [-g GROUP [-i INTERFACE]] -t SECONDS PORT...
 * -v tells each marked packet and each timestamp step not one frame (stderr).
 * Prints "ready" once bound, then per port one line:
 *   port P packets N ssrcs K ssrc S pt PT seq_breaks B ts_odd T ts_jumps J markers M bytes_min X bytes_max Y
 * seq_breaks: packets whose sequence number is not the last one's + 1;
 * ts_odd: timestamp steps that are not a whole, positive number of 960s;
 * ts_jumps: steps of more than one frame (a pause, told by time). */
#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PORTS 32

struct port_seen {
	int port, fd;
	unsigned long packets, seq_breaks, ts_odd, ts_jumps, markers;
	uint32_t ssrc, ts;
	uint16_t seq;
	int ssrcs, pt, bytes_min, bytes_max;
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct port_seen p[PORTS] = { 0 };
	struct pollfd fds[PORTS];
	const char *group = NULL, *iface = NULL;
	double seconds = 3, end;
	int n = 0, i, opt, verbose = 0;

	while ((opt = getopt(argc, argv, "g:i:t:v")) != -1) {
		if (opt == 'v') {
			verbose = 1;
			continue;
		}
		if (opt == 'g')
			group = optarg;
		else if (opt == 'i')
			iface = optarg;
		else if (opt == 't')
			seconds = atof(optarg);
		else
			return 2;
	}
	for (; optind < argc && n < PORTS; optind++, n++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[optind])) };
		int one = 1;
		p[n].port = atoi(argv[optind]);
		p[n].bytes_min = 1 << 30;
		p[n].fd = socket(AF_INET, SOCK_DGRAM, 0);
		setsockopt(p[n].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		inet_pton(AF_INET, group ? group : "127.0.0.1", &a.sin_addr);
		if (bind(p[n].fd, (struct sockaddr *)&a, sizeof a) < 0) {
			fprintf(stderr, "rtp_listen: bind %d: %s\n", p[n].port, strerror(errno));
			return 1;
		}
		if (group) {
			struct ip_mreqn m = { .imr_ifindex = iface ? (int)if_nametoindex(iface) : 0 };
			inet_pton(AF_INET, group, &m.imr_multiaddr);
			if (setsockopt(p[n].fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) < 0) {
				fprintf(stderr, "rtp_listen: join %s: %s\n", group, strerror(errno));
				return 1;
			}
		}
		fds[n] = (struct pollfd){ .fd = p[n].fd, .events = POLLIN };
	}
	printf("ready\n");
	fflush(stdout);
	end = now_s() + seconds;
	while (now_s() < end) {
		if (poll(fds, (nfds_t)n, 50) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			unsigned char b[2048];
			ssize_t len;
			if (!(fds[i].revents & POLLIN) || (len = recv(p[i].fd, b, sizeof b, 0)) < 12 || (b[0] & 0xc0) != 0x80)
				continue;
			uint16_t seq = (uint16_t)(b[2] << 8 | b[3]);
			uint32_t ts = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
			uint32_t ssrc = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
			struct port_seen *s = &p[i];
			if (s->packets) {
				uint32_t step = ts - s->ts;
				if (ssrc != s->ssrc)
					s->ssrcs++;
				if ((uint16_t)(s->seq + 1) != seq)
					s->seq_breaks++;
				if (step == 0 || step % 960 || step > 0x7fffffff)
					s->ts_odd++;
				else if (step > 960)
					s->ts_jumps++;
			} else {
				s->ssrcs = 1;
			}
			if (verbose && (b[1] & 0x80 || (s->packets && ts - s->ts != 960)))
				fprintf(stderr, "port %d seq %u ts %u step %d marker %d at %.3f\n", s->port, seq, ts,
					s->packets ? (int)(ts - s->ts) : 0, !!(b[1] & 0x80), now_s());
			s->markers += !!(b[1] & 0x80);
			s->pt = b[1] & 0x7f;
			s->seq = seq;
			s->ts = ts;
			s->ssrc = ssrc;
			s->packets++;
			if (len < s->bytes_min)
				s->bytes_min = (int)len;
			if (len > s->bytes_max)
				s->bytes_max = (int)len;
		}
	}
	for (i = 0; i < n; i++)
		printf("port %d packets %lu ssrcs %d ssrc %u pt %d seq_breaks %lu ts_odd %lu ts_jumps %lu markers %lu "
		       "bytes_min %d bytes_max %d\n",
		       p[i].port, p[i].packets, p[i].ssrcs, p[i].ssrc, p[i].pt, p[i].seq_breaks, p[i].ts_odd, p[i].ts_jumps,
		       p[i].markers, p[i].packets ? p[i].bytes_min : 0, p[i].bytes_max);
	return 0;
}
