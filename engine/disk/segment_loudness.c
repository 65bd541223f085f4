#include "segment_loudness.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
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

/* The oversampling filter, as libebur128 designs it: 49 taps of a sinc
 * at the input's Nyquist, under a Hann window, split into `factor` phases
 * (output phase p takes taps p, p + factor, ...; tap 4k of phase 0 is the
 * sample itself, the others vanish). */
static void design_true_peak(struct segment_meter *m, uint32_t rate)
{
	const int taps = 49;
	int j;

	m->tp_factor = rate < 96000 ? 4 : rate < 192000 ? 2 : 1;
	memset(m->tp_coef, 0, sizeof m->tp_coef);
	for (j = 0; j < taps && m->tp_factor > 1; j++) {
		const double x = (double)j - (double)(taps - 1) / 2.0;
		double c = fabs(x) > 1e-9 ? sin(x * M_PI / m->tp_factor) / (x * M_PI / m->tp_factor) : 1.0;
		c *= 0.5 * (1.0 - cos(2.0 * M_PI * j / (taps - 1)));
		if (j / m->tp_factor < TRUE_PEAK_TAPS)
			m->tp_coef[j % m->tp_factor][j / m->tp_factor] = (float)c;
	}
}

int segment_meter_init(struct segment_meter *m, uint32_t rate)
{
	memset(m, 0, sizeof *m);
	m->block = rate / 10 ? rate / 10 : 1;
	m->max_m = m->max_s = -1;
	design_true_peak(m, rate);
	m->tp_cap = 8192;
	m->tp_buf = calloc(TRUE_PEAK_TAPS - 1 + m->tp_cap, sizeof *m->tp_buf);
	/* I: the gated integrated loudness (its histogram keeps memory flat
	 * however long the segment); M: a 400 ms buffer, enough for the
	 * 100 ms window read at each block's end. */
	m->st = m->tp_buf ? ebur128_init(1, rate, EBUR128_MODE_I | EBUR128_MODE_M | EBUR128_MODE_HISTOGRAM) : NULL;
	if (!m->st) {
		segment_meter_free(m);
		return -ENOMEM;
	}
	return 0;
}

void segment_meter_free(struct segment_meter *m)
{
	if (m->st)
		ebur128_destroy(&m->st);
	free(m->tp_buf);
	m->tp_buf = NULL;
}

/* The largest |value| among peak and each phase p >= 1 of the
 * oversampled signal over n samples (x[i - k] reaches k samples back).
 * Phase 0 is the samples themselves (its only tap is the centre one).
 * Four outputs at a time with SSE2 (every x86-64 has it), the same sums
 * one at a time elsewhere. A value that is not a number never wins. */
/* Samples [from, n) one at a time. */
static float phases_peak_scalar(const struct segment_meter *m, const float *x, uint32_t from, uint32_t n, float peak)
{
	uint32_t i;
	int p, k;

	for (i = from; i < n; i++) {
		float a = fabsf(x[i]);
		peak = a > peak ? a : peak;
		for (p = 1; p < m->tp_factor; p++) {
			float acc = 0.0f;
			for (k = 0; k < TRUE_PEAK_TAPS; k++)
				acc += m->tp_coef[p][k] * x[(int)i - k];
			acc = fabsf(acc);
			peak = acc > peak ? acc : peak;
		}
	}
	return peak;
}

#if defined(__SSE2__)
#include <emmintrin.h>

static float phases_peak(const struct segment_meter *m, const float *x, uint32_t n, float peak)
{
	const __m128 sign = _mm_set1_ps(-0.0f);
	__m128 best = _mm_set1_ps(peak);
	float lanes[4];
	uint32_t i = 0;
	int p, k;

	for (; i + 4 <= n; i += 4) {
		best = _mm_max_ps(_mm_andnot_ps(sign, _mm_loadu_ps(x + i)), best);
		for (p = 1; p < m->tp_factor; p++) {
			__m128 acc = _mm_setzero_ps();
			for (k = 0; k < TRUE_PEAK_TAPS; k++)
				acc = _mm_add_ps(acc, _mm_mul_ps(_mm_set1_ps(m->tp_coef[p][k]), _mm_loadu_ps(x + (int)i - k)));
			best = _mm_max_ps(_mm_andnot_ps(sign, acc), best);
		}
	}
	_mm_storeu_ps(lanes, best);
	for (k = 0; k < 4; k++)
		peak = lanes[k] > peak ? lanes[k] : peak;
	return phases_peak_scalar(m, x, i, n, peak);
}
#else
static float phases_peak(const struct segment_meter *m, const float *x, uint32_t n, float peak)
{
	return phases_peak_scalar(m, x, 0, n, peak);
}
#endif

/* The largest |value| of the oversampled signal over n new samples, the
 * history before them kept in the buffer. Phase 0 is the samples
 * themselves (its only tap is the centre one). */
static void true_peak_add(struct segment_meter *m, const float *pcm, uint32_t n)
{
	const int h = TRUE_PEAK_TAPS - 1;
	float peak = m->tp_max;

	while (n > 0) {
		const uint32_t take = n < m->tp_cap ? n : m->tp_cap;
		float *x = m->tp_buf + h; /* x[i - k] reaches k samples back */

		memcpy(x, pcm, take * sizeof *x);
		peak = phases_peak(m, x, take, peak);
		memmove(m->tp_buf, x + take - h, (size_t)h * sizeof *x);
		pcm += take;
		n -= take;
	}
	m->tp_max = peak;
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
	true_peak_add(m, pcm, n);
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
	if (m->tp_max > 0)
		out->true_peak = 20.0 * log10((double)m->tp_max);
	/* A segment shorter than a window: the whole of it is the window. */
	whole = m->n_blocks ? m->sum_all / (double)m->n_blocks : 0;
	v = lufs_of(m->max_m >= 0 ? m->max_m : whole);
	out->max_momentary = isfinite(v) ? v : NAN;
	v = lufs_of(m->max_s >= 0 ? m->max_s : whole);
	out->max_short_term = isfinite(v) ? v : NAN;
	if (isfinite(out->integrated))
		out->range = m->lra_count ? loudness_range(m) : 0.0;
}
