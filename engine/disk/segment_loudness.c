#include "segment_loudness.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define LRA_LOW (-70.0)      /* Tech 3342's absolute gate, and the histogram's floor */
#define LRA_STEP 0.1

/* BS.1770: loudness of a K-weighted mean square, and back. */
static double lufs_of(double energy)
{
	return energy > 0 ? -0.691 + 10.0 * log10(energy) : -HUGE_VAL;
}

static double energy_of(double lufs)
{
	return isfinite(lufs) ? pow(10.0, (lufs + 0.691) / 10.0) : 0.0;
}

int segment_meter_init(struct segment_meter *m, uint32_t rate)
{
	memset(m, 0, sizeof *m);
	m->block = rate / 10 ? rate / 10 : 1;
	m->max_m = m->max_s = -1;
	/* I: the gated integrated loudness (its histogram keeps memory flat
	 * however long the segment); M: a 400 ms buffer, enough for the
	 * 100 ms window read at each block's end; TRUE_PEAK. */
	m->st = ebur128_init(1, rate, EBUR128_MODE_I | EBUR128_MODE_M | EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_HISTOGRAM);
	return m->st ? 0 : -ENOMEM;
}

void segment_meter_free(struct segment_meter *m)
{
	if (m->st)
		ebur128_destroy(&m->st);
}

static double mean_of_last(const struct segment_meter *m, uint64_t k)
{
	double sum = 0;
	uint64_t i;

	for (i = 0; i < k; i++)
		sum += m->e[(m->n_blocks - 1 - i) % SEGMENT_LOUDNESS_SHORT_BLOCKS];
	return sum / (double)k;
}

/* A 100 ms block is over: its energy, and what it makes of M, S, LRA. */
static void block_done(struct segment_meter *m)
{
	double lufs, energy, s;

	if (ebur128_loudness_window(m->st, 100, &lufs) != EBUR128_SUCCESS)
		return;
	energy = energy_of(lufs);
	m->e[m->n_blocks % SEGMENT_LOUDNESS_SHORT_BLOCKS] = energy;
	m->n_blocks++;
	m->sum_all += energy;
	if (m->n_blocks >= 4 && (s = mean_of_last(m, 4)) > m->max_m)
		m->max_m = s;
	if (m->n_blocks < SEGMENT_LOUDNESS_SHORT_BLOCKS)
		return;
	s = mean_of_last(m, SEGMENT_LOUDNESS_SHORT_BLOCKS);
	if (s > m->max_s)
		m->max_s = s;
	/* The range takes a short-term value each second (2/3 overlap, Tech
	 * 3342's least), as libebur128 does. */
	lufs = lufs_of(s);
	if (m->n_blocks % 10 == 0 && lufs >= LRA_LOW) {
		int bin = (int)((lufs - LRA_LOW) / LRA_STEP);
		m->lra_hist[bin < SEGMENT_LOUDNESS_LRA_BINS ? bin : SEGMENT_LOUDNESS_LRA_BINS - 1]++;
		m->lra_count++;
		m->lra_energy += s;
	}
}

void segment_meter_add(struct segment_meter *m, const float *pcm, uint32_t n)
{
	if (!m->st)
		return;
	while (n > 0) {
		uint32_t piece = m->block - m->phase < n ? m->block - m->phase : n;
		ebur128_add_frames_float(m->st, pcm, piece);
		pcm += piece;
		n -= piece;
		m->phase += piece;
		if (m->phase == m->block) {
			m->phase = 0;
			block_done(m);
		}
	}
}

/* Tech 3342: the short-term values above the absolute gate and 20 LU
 * below their mean; the range from their 10th to their 95th percentile. */
static double loudness_range(const struct segment_meter *m)
{
	double gate;
	uint64_t kept = 0, seen = 0, low_rank, high_rank;
	int first, bin;
	double low = NAN, high = NAN;

	if (!m->lra_count)
		return NAN;
	gate = lufs_of(m->lra_energy / (double)m->lra_count) - 20.0;
	first = gate <= LRA_LOW ? 0 : (int)ceil((gate - LRA_LOW) / LRA_STEP);
	for (bin = first; bin < SEGMENT_LOUDNESS_LRA_BINS; bin++)
		kept += m->lra_hist[bin];
	if (!kept)
		return NAN;
	low_rank = (uint64_t)((double)(kept - 1) * 0.10 + 0.5);
	high_rank = (uint64_t)((double)(kept - 1) * 0.95 + 0.5);
	for (bin = first; bin < SEGMENT_LOUDNESS_LRA_BINS; bin++) {
		uint64_t next = seen + m->lra_hist[bin];
		if (isnan(low) && low_rank < next)
			low = LRA_LOW + (bin + 0.5) * LRA_STEP;
		if (high_rank < next) {
			high = LRA_LOW + (bin + 0.5) * LRA_STEP;
			break;
		}
		seen = next;
	}
	return high - low;
}

void segment_meter_result(struct segment_meter *m, struct segment_loudness *out)
{
	double v, whole;

	*out = (struct segment_loudness){ NAN, NAN, NAN, NAN, NAN };
	if (!m->st)
		return;
	if (ebur128_loudness_global(m->st, &v) == EBUR128_SUCCESS && isfinite(v))
		out->integrated = v;
	if (ebur128_true_peak(m->st, 0, &v) == EBUR128_SUCCESS && v > 0)
		out->true_peak = 20.0 * log10(v);
	/* A segment shorter than a window: the whole of it is the window. */
	whole = m->n_blocks ? m->sum_all / (double)m->n_blocks : 0;
	v = lufs_of(m->max_m >= 0 ? m->max_m : whole);
	out->max_momentary = isfinite(v) ? v : NAN;
	v = lufs_of(m->max_s >= 0 ? m->max_s : whole);
	out->max_short_term = isfinite(v) ? v : NAN;
	if (isfinite(out->integrated))
		out->range = m->lra_count ? loudness_range(m) : 0.0;
}
