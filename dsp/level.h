/* Decibels and gains, shared by the core (the router's snapshot) and the
 * built-in plugins: one definition of the conversion that every level in
 * Tolk goes through. Header-only, like biquad.h, so that a plugin's shared
 * object needs nothing from the engine at run time. */
#ifndef TOLK_DSP_LEVEL_H
#define TOLK_DSP_LEVEL_H

#include <math.h>

/* In float, as the plugins have always computed it: the hearing
 * limiter's ceiling is compared sample by sample with gains made here,
 * and the same dB must give the same gain wherever it is used. */
static inline float db_to_gain(float db)
{
	return powf(10.0f, db / 20.0f);
}

static inline float gain_to_db(float g)
{
	return g > 1e-10f ? 20.0f * log10f(g) : -200.0f;
}

#endif
