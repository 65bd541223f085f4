/* filetone: what a recorded file holds, read back through libsndfile.
 *   filetone [-f F1,F2,...] FILE          -> FRAMES FREQ|silence RMS_DBFS
 *   filetone --ramp FILE...              -> FRAMES BREAKS
 *   filetone --ramp-period N FILE...     -> FRAMES BREAKS SLIPS
 *   filetone --smooth LIMIT FILE         -> FRAMES BREAKS [FRAME...]
 * The first form names the candidate frequency with the most energy. The
 * second reads the files one after another as one stream and counts the
 * samples that do not continue tonegen's ramp (2^-16 up each sample,
 * wrapping at 0.5): 0 means no frame lost or doubled across the files.
 * With --ramp-period, a jump of one to four whole periods of N frames (a
 * period the source lost or repeated at an xrun) is a slip, counted apart
 * from the breaks. --smooth finds glitches in a sine: a second difference
 * above LIMIT (a step, a lost or doubled stretch) or 2 ms of exact zeros
 * once the signal has begun (a dropout written as silence); the frames
 * where each break begins follow on the line, so that breaks every
 * channel shares (a period JACK lost at an xrun) can be told from one
 * channel's own. */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *read_file(const char *path, sf_count_t *frames, int *rate)
{
	SF_INFO info = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	sf_count_t cap = 1 << 16, n = 0, got;
	float *x = NULL, buf[4096];

	if (!sf) {
		fprintf(stderr, "filetone: %s: %s\n", path, sf_strerror(NULL));
		return NULL;
	}
	*rate = info.samplerate;
	x = malloc((size_t)cap * sizeof *x);
	/* Read to the end rather than trust the header: after a crash the
	 * header may not know the length. Mono files; take channel 1. */
	while (x && (got = sf_readf_float(sf, buf, 4096 / (info.channels ? info.channels : 1))) > 0) {
		sf_count_t i;
		if (n + got > cap) {
			float *bigger = realloc(x, (size_t)(cap *= 2) * sizeof *x);
			if (!bigger) {
				free(x);
				x = NULL;
				break;
			}
			x = bigger;
		}
		for (i = 0; i < got; i++)
			x[n++] = buf[i * info.channels];
	}
	sf_close(sf);
	*frames = n;
	return x;
}

static double amplitude(const float *x, sf_count_t n, double f, double rate)
{
	double w = 2.0 * M_PI * f / rate, c = 2.0 * cos(w), s1 = 0, s2 = 0;
	sf_count_t i;
	for (i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return 2.0 * sqrt(s1 * s1 + s2 * s2 - c * s1 * s2) / (double)n;
}

int main(int argc, char **argv)
{
	double freqs[32];
	int n_freqs = 0, i, rate;
	sf_count_t frames, k;
	float *x;

	if (argc >= 3 && (!strcmp(argv[1], "--ramp") || (argc >= 4 && !strcmp(argv[1], "--ramp-period")))) {
		long long total = 0, breaks = 0, slips = 0;
		const int period = !strcmp(argv[1], "--ramp") ? 0 : atoi(argv[2]);
		float prev = 0;
		int have_prev = 0;
		for (i = period ? 3 : 2; i < argc; i++) {
			if (!(x = read_file(argv[i], &frames, &rate)))
				return 1;
			for (k = 0; k < frames; k++, total++) {
				if (have_prev) {
					float want = prev + 1.0f / 65536.0f;
					if (want >= 0.5f)
						want = -0.5f;
					double off = ((double)x[k] - (double)want) * 65536.0;
					if (x[k] != want && period && off == floor(off) && fmod(fabs(off), period) == 0.0 &&
					    fabs(off) <= 4.0 * period)
						slips++;
					else if (x[k] != want)
						breaks++;
				}
				prev = x[k];
				have_prev = 1;
			}
			free(x);
		}
		if (period)
			printf("%lld %lld %lld\n", total, breaks, slips);
		else
			printf("%lld %lld\n", total, breaks);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "--smooth")) {
		const double limit = atof(argv[2]);
		long long breaks = 0, zeros = 0, begun = 0, last = -1000;
		char at[4096] = "";
		size_t used = 0;
		if (!(x = read_file(argv[3], &frames, &rate)))
			return 1;
		for (k = 0; k < frames; k++) {
			int broke = 0;
			begun |= x[k] != 0.0f;
			zeros = x[k] == 0.0f && begun ? zeros + 1 : 0;
			broke |= zeros == rate / 500;
			broke |= k >= 2 && fabs((double)x[k] - 2.0 * x[k - 1] + x[k - 2]) > limit;
			if (!broke)
				continue;
			breaks++;
			/* One break is the samples around one step: name it once. */
			if (k - last > 2 && used + 24 < sizeof at)
				used += (size_t)snprintf(at + used, sizeof at - used, " %lld", (long long)k);
			last = k;
		}
		printf("%lld %lld%s\n", (long long)frames, breaks, at);
		free(x);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "-f")) {
		char *list = strdup(argv[2]), *save = NULL, *tok;
		for (tok = strtok_r(list, ",", &save); tok && n_freqs < 32; tok = strtok_r(NULL, ",", &save))
			freqs[n_freqs++] = atof(tok);
		free(list);
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: filetone [-f F1,F2,...] FILE | filetone --ramp FILE...\n");
		return 2;
	}
	if (!(x = read_file(argv[1], &frames, &rate)))
		return 1;
	{
		double energy = 0, best = 0, best_f = 0;
		for (k = 0; k < frames; k++)
			energy += (double)x[k] * x[k];
		energy = frames ? energy / frames : 0;
		for (i = 0; i < n_freqs; i++) {
			double a = amplitude(x, frames, freqs[i], rate);
			if (a > best) {
				best = a;
				best_f = freqs[i];
			}
		}
		if (energy < 1e-7)
			printf("%lld silence %.1f\n", (long long)frames, energy > 0 ? 10 * log10(energy) : -200.0);
		else
			printf("%lld %g %.1f\n", (long long)frames, best_f, 10 * log10(energy));
	}
	free(x);
	return 0;
}
