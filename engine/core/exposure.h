/* Noise exposure at the interpreter's ear. Each headphone feed is
 * A-weighted after the hearing limiter (what reaches the ear) and its
 * energy summed without gaps by the realtime thread; the control thread
 * turns the sums into the equivalent level LAeq in dB(A) SPL, through the
 * headphone calibration, and into the daily dose against the EU lower
 * exposure action value (Directive 2003/10/EC): 80 dB(A) over 8 hours is
 * 100 %. Days are local calendar days. */
#ifndef TOLK_EXPOSURE_H
#define TOLK_EXPOSURE_H

#include <stdint.h>

#include "../../dsp/biquad.h"

#define EXPOSURE_REFERENCE_DBA 80.0
#define EXPOSURE_REFERENCE_SECONDS (8.0 * 3600.0)

/* IEC 61672 A-weighting as three second-order sections for this rate
 * (poles pre-warped), unity gain at 1 kHz. */
void a_weighting_design(struct biquad q[3], double rate);

/* Equivalent level of an energy (mean square at full scale = 1, times
 * seconds) over seconds, in dB SPL with the calibration. -200 for none. */
double exposure_leq_db(double energy, double seconds, double dbspl_at_0dbfs);

/* Daily dose in percent of 80 dB(A) for 8 h, from an energy in the same
 * units. */
double exposure_dose_percent(double energy, double dbspl_at_0dbfs);

struct exposure_console {
	int day;                 /* YYYYMMDD, local */
	double day_energy;       /* full-scale² × s, A-weighted */
	double day_seconds;
	double minute_energy, minute_seconds;
	double last_total;       /* the realtime sum at the last update */
};

struct exposure_tracker {
	int n;
	double calibration;      /* dB SPL at 0 dBFS */
	double rate;
	uint64_t last_frames;
	int started;
	struct exposure_console *c;
};

int exposure_tracker_init(struct exposure_tracker *t, int n, double calibration, double rate);
void exposure_tracker_free(struct exposure_tracker *t);

/* Fold in the realtime sums: totals[i] is feed i's running energy sum,
 * frames the frames summed so far. A new day starts each console afresh. */
void exposure_tracker_update(struct exposure_tracker *t, const double *totals, uint64_t frames, int day);

/* Carry over a day already begun (from the log, after a restart). */
void exposure_tracker_restore(struct exposure_tracker *t, int i, int day, double laeq_db, double seconds);

/* The minute that just ended: its LAeq, and start the next. */
double exposure_take_minute(struct exposure_tracker *t, int i);

#endif
