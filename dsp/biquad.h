/* Second-order sections, shared by the router's tone controls and the
 * built-in plugins. Header-only so that a plugin's shared object needs
 * nothing from the engine at run time. Coefficients follow the RBJ audio
 * EQ cookbook, normalised to a0 = 1; the state is transposed direct form
 * II, which keeps its two memories small and well behaved in float. */
#ifndef TOLK_BIQUAD_H
#define TOLK_BIQUAD_H

#include <math.h>
#include <stdint.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

struct biquad {
	float b0, b1, b2, a1, a2;
	float z1, z2;
};

static inline void biquad_set(struct biquad *q, double b0, double b1, double b2, double a0, double a1,
			      double a2)
{
	q->b0 = (float)(b0 / a0);
	q->b1 = (float)(b1 / a0);
	q->b2 = (float)(b2 / a0);
	q->a1 = (float)(a1 / a0);
	q->a2 = (float)(a2 / a0);
}

static inline void biquad_flat(struct biquad *q)
{
	q->b0 = 1.0f;
	q->b1 = q->b2 = q->a1 = q->a2 = 0.0f;
}

static inline void biquad_reset(struct biquad *q)
{
	q->z1 = q->z2 = 0.0f;
}

/* Shelf with slope 1: high != 0 for a treble shelf, else bass. */
static inline void biquad_shelf(struct biquad *q, int high, double db, double f0, double rate)
{
	double A = pow(10.0, db / 40.0), w0 = 2.0 * M_PI * f0 / rate;
	double c = cos(w0), alpha = sin(w0) / 2.0 * sqrt(2.0), sa = 2.0 * sqrt(A) * alpha;

	if (!high)
		biquad_set(q, A * ((A + 1) - (A - 1) * c + sa), 2 * A * ((A - 1) - (A + 1) * c),
			   A * ((A + 1) - (A - 1) * c - sa), (A + 1) + (A - 1) * c + sa,
			   -2 * ((A - 1) + (A + 1) * c), (A + 1) + (A - 1) * c - sa);
	else
		biquad_set(q, A * ((A + 1) + (A - 1) * c + sa), -2 * A * ((A - 1) + (A + 1) * c),
			   A * ((A + 1) + (A - 1) * c - sa), (A + 1) - (A - 1) * c + sa,
			   2 * ((A - 1) - (A + 1) * c), (A + 1) - (A - 1) * c - sa);
}

static inline void biquad_highpass(struct biquad *q, double f0, double Q, double rate)
{
	double w0 = 2.0 * M_PI * f0 / rate, c = cos(w0), alpha = sin(w0) / (2.0 * Q);

	biquad_set(q, (1 + c) / 2, -(1 + c), (1 + c) / 2, 1 + alpha, -2 * c, 1 - alpha);
}

/* In place. The memories are copied into locals for the loop and back;
 * a non-finite memory resets the section, and a denormal one is flushed
 * for hosts that do not set the CPU's flush-to-zero. */
static inline void biquad_run(struct biquad *q, float *y, uint32_t n)
{
	const float b0 = q->b0, b1 = q->b1, b2 = q->b2, a1 = q->a1, a2 = q->a2;
	float z1 = q->z1, z2 = q->z2;
	uint32_t i;

	for (i = 0; i < n; i++) {
		const float x = y[i], out = b0 * x + z1;
		z1 = b1 * x - a1 * out + z2;
		z2 = b2 * x - a2 * out;
		y[i] = out;
	}
	if (!isfinite(z1) || !isfinite(z2))
		z1 = z2 = 0.0f;
	if (fabsf(z1) < 1e-20f)
		z1 = 0.0f;
	if (fabsf(z2) < 1e-20f)
		z2 = 0.0f;
	q->z1 = z1;
	q->z2 = z2;
}

/* Magnitude response at f, for tests and for designing against a target. */
static inline double biquad_magnitude(const struct biquad *q, double f, double rate)
{
	double w = 2.0 * M_PI * f / rate;
	double nr = q->b0 + q->b1 * cos(w) + q->b2 * cos(2 * w), ni = -(q->b1 * sin(w) + q->b2 * sin(2 * w));
	double dr = 1.0 + q->a1 * cos(w) + q->a2 * cos(2 * w), di = -(q->a1 * sin(w) + q->a2 * sin(2 * w));

	return sqrt((nr * nr + ni * ni) / (dr * dr + di * di));
}

#endif
