/* One channel's loudness over one segment, as bext and the manifest give
 * it: integrated (EBU R128), loudness range (EBU Tech 3342), true peak,
 * and the largest momentary (400 ms) and short-term (3 s) loudness.
 *
 * libebur128 does the K-weighting and the gated integrated loudness. The
 * true peak is libebur128's method (the signal 4 times oversampled by a
 * 49-tap Hann-windowed sinc, below 96 kHz) done here in float, four
 * outputs at a time: libebur128 filters sample by sample in double, and
 * that was most of a 127-channel room's loudness cost. The rest comes from the K-weighted energy of each 100 ms
 * block (one cheap 100 ms window read per block): momentary and
 * short-term are the mean of the last 4 and 30 blocks (their maxima read
 * every 100 ms), and the loudness range a histogram (0.1 LU bins) of the
 * short-term values taken each second, as libebur128 takes them. Asking
 * libebur128 for the short-term loudness every 100 ms instead sums its
 * whole 3 s buffer each time, which cost a 127-channel room a sixth of a
 * core.
 *
 * Its own small type, as a DSP should be: no thread, no file. One meter
 * is fed by one thread at a time. */
#ifndef TOLK_SEGMENT_LOUDNESS_H
#define TOLK_SEGMENT_LOUDNESS_H

#include <ebur128.h>
#include <stdint.h>

#include "encoder.h"

#define SEGMENT_LOUDNESS_SHORT_BLOCKS 30 /* 3 s of 100 ms blocks */
#define TRUE_PEAK_TAPS 12                /* per phase */
#define SEGMENT_LOUDNESS_LRA_BINS 750    /* -70 to +5 LUFS, 0.1 LU each */

struct segment_meter {
	ebur128_state *st;
	uint32_t block;            /* frames in 100 ms */
	uint32_t phase;            /* frames into the current block */
	double e[SEGMENT_LOUDNESS_SHORT_BLOCKS]; /* the last blocks' mean square, newest at at - 1 */
	uint64_t n_blocks;         /* blocks measured this segment */
	double sum_all;            /* of every block's energy: the whole of a short segment */
	double max_m, max_s;       /* energies; -1 while none */
	/* true peak: each phase's taps, newest sample first; the last taps - 1
	 * samples before the block being filtered */
	int tp_factor;                     /* 4, 2, or 1 (the samples themselves) */
	float tp_coef[4][TRUE_PEAK_TAPS];
	float *tp_buf;                     /* TRUE_PEAK_TAPS - 1 of history, then a block */
	uint32_t tp_cap;                   /* frames the buffer holds after the history */
	float tp_max;
	uint32_t lra_hist[SEGMENT_LOUDNESS_LRA_BINS];
	uint64_t lra_count;        /* short-term values above the absolute gate */
	double lra_energy;         /* and the sum of their energies */
};

/* 0, or -ENOMEM (the meter then measures nothing: every figure NAN). */
int segment_meter_init(struct segment_meter *m, uint32_t rate);
void segment_meter_free(struct segment_meter *m);
void segment_meter_add(struct segment_meter *m, const float *pcm, uint32_t n);
/* What the segment measured so far; NAN where nothing can be said
 * (silence has no integrated loudness). */
void segment_meter_result(struct segment_meter *m, struct segment_loudness *out);

#endif
