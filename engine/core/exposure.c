#include "exposure.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* IEC 61672-1 pole frequencies, Hz. */
#define A_F1 20.598997
#define A_F2 107.65265
#define A_F3 737.86223
#define A_F4 12194.217

/* An analog pole frequency moved so that the bilinear transform puts it
 * back where it belongs. */
static double warp(double f, double rate)
{
	return 2.0 * rate * tan(M_PI * f / rate);
}

void a_weighting_design(struct biquad q[3], double rate)
{
	const double K = 2.0 * rate;
	const double w1 = warp(A_F1, rate), w2 = warp(A_F2, rate), w3 = warp(A_F3, rate), w4 = warp(A_F4, rate);
	double g;
	int i;

	/* s² / (s + w1)²: the double zero at DC with the lowest poles. */
	biquad_set(&q[0], K * K, -2 * K * K, K * K, (K + w1) * (K + w1), 2 * (K + w1) * (w1 - K),
		   (w1 - K) * (w1 - K));
	/* s² / ((s + w2)(s + w3)) */
	biquad_set(&q[1], K * K, -2 * K * K, K * K, (K + w2) * (K + w3), (K + w2) * (w3 - K) + (w2 - K) * (K + w3),
		   (w2 - K) * (w3 - K));
	/* 1 / (s + w4)² */
	biquad_set(&q[2], 1, 2, 1, (K + w4) * (K + w4), 2 * (K + w4) * (w4 - K), (w4 - K) * (w4 - K));
	g = 1.0;
	for (i = 0; i < 3; i++)
		g *= biquad_magnitude(&q[i], 1000.0, rate);
	q[2].b0 = (float)(q[2].b0 / g);
	q[2].b1 = (float)(q[2].b1 / g);
	q[2].b2 = (float)(q[2].b2 / g);
	for (i = 0; i < 3; i++)
		biquad_reset(&q[i]);
}

double exposure_leq_db(double energy, double seconds, double dbspl_at_0dbfs)
{
	if (seconds <= 0 || energy <= 0)
		return -200.0;
	return dbspl_at_0dbfs + 10.0 * log10(energy / seconds);
}

double exposure_dose_percent(double energy, double dbspl_at_0dbfs)
{
	return 100.0 * energy * pow(10.0, (dbspl_at_0dbfs - EXPOSURE_REFERENCE_DBA) / 10.0) /
	       EXPOSURE_REFERENCE_SECONDS;
}

int exposure_tracker_init(struct exposure_tracker *t, int n, double calibration, double rate)
{
	if (!t || n < 0 || rate <= 0)
		return -EINVAL;
	memset(t, 0, sizeof *t);
	t->c = calloc(n ? (size_t)n : 1, sizeof *t->c);
	if (!t->c)
		return -ENOMEM;
	t->n = n;
	t->calibration = calibration;
	t->rate = rate;
	return 0;
}

void exposure_tracker_free(struct exposure_tracker *t)
{
	if (!t)
		return;
	free(t->c);
	memset(t, 0, sizeof *t);
}

void exposure_tracker_update(struct exposure_tracker *t, const double *totals, uint64_t frames, int day)
{
	double seconds = t->started ? (double)(frames - t->last_frames) / t->rate : 0.0;
	int i;

	for (i = 0; i < t->n; i++) {
		struct exposure_console *c = &t->c[i];
		double energy = t->started ? (totals[i] - c->last_total) / t->rate : 0.0;

		if (energy < 0)
			energy = 0;
		if (c->day != day) {
			c->day = day;
			c->day_energy = 0;
			c->day_seconds = 0;
		}
		c->day_energy += energy;
		c->day_seconds += seconds;
		c->minute_energy += energy;
		c->minute_seconds += seconds;
		c->last_total = totals[i];
	}
	t->last_frames = frames;
	t->started = 1;
}

void exposure_tracker_restore(struct exposure_tracker *t, int i, int day, double laeq_db, double seconds)
{
	struct exposure_console *c;

	if (!t || i < 0 || i >= t->n || seconds <= 0 || laeq_db <= -200.0)
		return;
	c = &t->c[i];
	c->day = day;
	c->day_seconds = seconds;
	c->day_energy = seconds * pow(10.0, (laeq_db - t->calibration) / 10.0);
}

double exposure_take_minute(struct exposure_tracker *t, int i)
{
	struct exposure_console *c = &t->c[i];
	double leq = exposure_leq_db(c->minute_energy, c->minute_seconds, t->calibration);

	c->minute_energy = 0;
	c->minute_seconds = 0;
	return leq;
}
