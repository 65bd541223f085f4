/* opus_speed: one channel of speech-like signal through each Opus encoder
 * table in one run (Tolk's own Ogg Opus, and libopusenc), timed on the
 * thread's CPU clock so that another load beside it changes nothing.
 *
 *   opus_speed [-s seconds] [-b bitrate] [-c complexity] [-r rate] [-o dir]
 *
 * Prints a line per encoder (x real time, us per 20 ms frame, bytes) and,
 * on fd 3 when it is open, the same as JSON lines. With -o, both files are
 * kept in dir for outside tools. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../engine/disk/encoder.h"

struct counted {
	long long bytes;
	long long pages;
};

static int count_page(void *user, const unsigned char *page, int len)
{
	struct counted *c = user;

	(void)page;
	c->bytes += len;
	c->pages++;
	return 0;
}

static double thread_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Vowels and pauses: a pitch that wanders, three formants, some breath,
 * syllables at about 4 Hz and a pause every few seconds. */
static void make_speech(float *x, long n, uint32_t rate)
{
	double phase = 0, env;
	unsigned seed = 12345;
	long i;

	for (i = 0; i < n; i++) {
		double t = (double)i / rate, f0 = 140 + 30 * sin(2 * M_PI * 0.7 * t);
		double noise;

		phase += 2 * M_PI * f0 / rate;
		seed = seed * 1103515245u + 12345u;
		noise = ((double)(seed >> 9) / (1u << 23)) - 0.5;
		env = 0.5 + 0.5 * sin(2 * M_PI * 4.1 * t);
		if (fmod(t, 5.0) > 4.2)
			env *= 0.02; /* a pause */
		x[i] = (float)(env * (0.25 * sin(phase) + 0.12 * sin(3 * phase + 0.3 * sin(2 * M_PI * 2 * t)) +
				      0.07 * sin(7 * phase) + 0.04 * sin(12 * phase)) + 0.01 * noise);
	}
}

static int run(const struct encoder_ops *ops, const char *label, const float *x, long n,
	       const struct encoder_info *base, const char *dir, FILE *json, int counted)
{
	struct counted c = { 0, 0 };
	struct encoder_info info = *base;
	char err[256], path[512];
	double t0, t1, secs = (double)n / base->rate;
	const long block = 1024; /* the disk thread's blocks are of this order */
	void *enc;
	long i;

	if (dir) {
		snprintf(path, sizeof path, "%s/%s.opus", dir, label);
		info.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (info.fd < 0) {
			fprintf(stderr, "opus_speed: %s: %s\n", path, strerror(errno));
			return -1;
		}
	} else {
		info.sink = count_page;
		info.sink_user = &c;
	}
	t0 = thread_seconds();
	if (!(enc = ops->open(&info, err, sizeof err))) {
		fprintf(stderr, "opus_speed: %s: %s\n", label, err);
		return -1;
	}
	for (i = 0; i < n; i += block)
		if (ops->write(enc, x + i, (uint32_t)(n - i < block ? n - i : block)) < 0) {
			fprintf(stderr, "opus_speed: %s: write failed\n", label);
			ops->close(enc);
			return -1;
		}
	if (ops->close(enc) < 0) {
		fprintf(stderr, "opus_speed: %s: close failed\n", label);
		return -1;
	}
	t1 = thread_seconds();
	if (dir) {
		struct stat st;

		if (stat(path, &st) == 0)
			c.bytes = st.st_size;
	}
	if (!counted)
		return 0;
	printf("  %-12s %7.0fx real time  %6.1f us a 20 ms frame  %8lld bytes%s\n", label, secs / (t1 - t0),
	       1e6 * (t1 - t0) / (secs * 50), c.bytes, dir ? " (file)" : "");
	if (json)
		fprintf(json, "{\"encoder\":\"%s\",\"seconds\":%.0f,\"bitrate\":%d,\"complexity\":%d,"
			"\"realtime_x\":%.1f,\"us_per_frame\":%.2f}\n", label, secs, base->opus_bitrate,
			base->opus_complexity, secs / (t1 - t0), 1e6 * (t1 - t0) / (secs * 50));
	return 0;
}

int main(int argc, char **argv)
{
	struct encoder_info info = {
		.fd = -1, .rate = 48000, .opus_bitrate = 32000, .opus_complexity = 3,
		.title = "bench speech", .language = "", .date = "2026-01-01T00:00:00.000Z",
		.software = "tolk " TOLK_VERSION,
	};
	double seconds = 60;
	const char *dir = NULL;
	FILE *json = fcntl(3, F_GETFD) >= 0 ? fdopen(3, "w") : NULL;
	float *x;
	long n;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "s:b:c:r:o:")) != -1) {
		switch (opt) {
		case 's': seconds = atof(optarg); break;
		case 'b': info.opus_bitrate = atoi(optarg); break;
		case 'c': info.opus_complexity = atoi(optarg); break;
		case 'r': info.rate = (uint32_t)atoi(optarg); break;
		case 'o': dir = optarg; break;
		default:
			fprintf(stderr, "usage: opus_speed [-s seconds] [-b bitrate] [-c complexity] [-r rate] [-o dir]\n");
			return 2;
		}
	}
	if (seconds <= 0 || info.rate < 8000 || info.opus_complexity < 0 || info.opus_complexity > 10) {
		fprintf(stderr, "opus_speed: bad -s, -r or -c\n");
		return 2;
	}
	n = (long)(seconds * info.rate);
	if (!(x = malloc((size_t)n * sizeof *x))) {
		fprintf(stderr, "opus_speed: out of memory\n");
		return 1;
	}
	make_speech(x, n, info.rate);
	/* Each twice, interleaved, the second of each counting: the first warms
	 * the caches and the CPU's clock. */
	ret |= run(&encoder_opus, "tolk", x, n, &info, NULL, NULL, 0);
	ret |= run(&encoder_opus_libopusenc, "libopusenc", x, n, &info, NULL, NULL, 0);
	ret |= run(&encoder_opus, "tolk", x, n, &info, dir, json, 1);
	ret |= run(&encoder_opus_libopusenc, "libopusenc", x, n, &info, dir, json, 1);
	free(x);
	if (json)
		fclose(json);
	return ret ? 1 : 0;
}
